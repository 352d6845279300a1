/* What push, pull and copy share: options, destinations, --all-tags, output. The moving itself
 * is the library's copy engine. */
#ifndef CLI_TRANSFER_H
#define CLI_TRANSFER_H

#include "cli.h"
#include "progress.h"

#include <regship/store.h>

typedef struct transfer_opts {
	int jobs;
	const char *chunk_size;
	const char *compress;
	int compress_level;
	const char *format;
	cli_list mount_from;
	const char *progress;
	bool json;
	const char *platform;
	bool all_platforms;
	bool overwrite; /* --overwrite: replace an existing archive instead of adding to it */
	bool preserve_digests; /* --preserve-digests: no Docker -> OCI conversion into oci: */
	/* parsed */
	uint64_t chunk_bytes;
	progress_mode mode;
	bool keep_going; /* --all-tags: go on past a failed tag (exit 6 when some failed) */
	bool no_clobber; /* --no-clobber: never move an existing registry tag (exit 7) */
	bool referrers; /* --referrers: signatures, SBOMs, ... attached by subject travel too */
} transfer_opts;

#define TRANSFER_OPTS_INIT                                                                         \
	{                                                                                          \
		4, NULL, NULL, 0, NULL, {NULL, 0}, NULL, false, NULL, false, false, false, 0, 0,   \
		        false, false, false                                                        \
	}

#define TRANSFER_COMMON_OPTS(t)                                                                    \
	{CLI_OPT_INT, 'j', "jobs", &(t).jobs, "N", "move N blobs at once (default 4)"},            \
	        {CLI_OPT_STRING, 0,      "progress",                                               \
	         &(t).progress,  "MODE", "auto (default), tty, plain or none"},                    \
	{                                                                                          \
		CLI_OPT_BOOL, 0, "json", &(t).json, NULL,                                          \
		        "print a JSON summary (images, blobs, bytes sent) on stdout"               \
	}

#define TRANSFER_PUSH_OPTS(t)                                                                        \
	{CLI_OPT_STRING,  0,      "chunk-size",                                                      \
	 &(t).chunk_size, "SIZE", "upload in chunks of SIZE (e.g. 8M) instead of one request"},      \
	        {CLI_OPT_STRING,                                                                     \
	         0,                                                                                  \
	         "compress",                                                                         \
	         &(t).compress,                                                                      \
	         "ALGO",                                                                             \
	         "compress uncompressed docker-archive layers: gzip (default), zstd or none"},       \
	        {CLI_OPT_INT,         0,   "compress-level",                                         \
	         &(t).compress_level, "N", "compression level (gzip 1-9, zstd 1-19)"},               \
	        {CLI_OPT_STRING, 0,        "format",                                                 \
	         &(t).format,    "FORMAT", "manifest for docker archives: docker (default) or oci"}, \
	{                                                                                            \
		CLI_OPT_LIST, 0, "mount-from", &(t).mount_from, "REPOSITORY",                        \
		        "try mounting blobs from this repository of the destination registry"        \
	}

#define TRANSFER_PLATFORM_OPTS(t)                                                                  \
	{CLI_OPT_STRING,      0,                                                                   \
	 "platform",          &(t).platform,                                                       \
	 "OS/ARCH[/VARIANT]", "from a multi-platform image, take only this platform"},             \
	{                                                                                          \
		CLI_OPT_BOOL, 0, "all-platforms", &(t).all_platforms, NULL,                        \
		        "take every platform of a multi-platform image (the default for OCI "      \
		        "destinations)"                                                            \
	}

/* --all-tags only */
#define TRANSFER_KEEP_GOING_OPT(t)                                                                 \
	{                                                                                          \
		CLI_OPT_BOOL, 0, "keep-going", &(t).keep_going, NULL,                              \
		        "with --all-tags, copy the other tags when one fails (exit status 6)"      \
	}

/* push and copy */
#define TRANSFER_NO_CLOBBER_OPT(t)                                                                 \
	{                                                                                          \
		CLI_OPT_BOOL, 0, "no-clobber", &(t).no_clobber, NULL,                              \
		        "never overwrite a registry tag that points at another manifest (exit 7)"  \
	}

#define TRANSFER_DEST_OPTS(t)                                                                      \
	{                                                                                          \
		CLI_OPT_BOOL, 0, "overwrite", &(t).overwrite, NULL,                                \
		        "replace an existing archive DESTINATION (default: add the image to it)"   \
	}

/* Validate and parse the option values; prints and returns CLI_EXIT_USAGE when wrong. */
int transfer_check_opts(transfer_opts *t, const char *const *usage);

/* Copy src (already parsed) to dest_text (NULL: the source's own names, docker archives only).
 * verb is "pushed", "pulled" or "copied". Returns an exit code. */
int transfer_run(transfer_opts *t, const char *verb, const rs_location *src, const char *dest_text,
                 bool all_tags, const char *const *usage);

int cmd_push(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_copy(int argc, char **argv);

#endif
