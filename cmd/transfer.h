/* What push, pull and copy share: options, destinations, --all-tags, output. The moving itself
 * is the library's copy engine. */
#ifndef CLI_TRANSFER_H
#define CLI_TRANSFER_H

#include "cli.h"
#include "progress.h"

#include <regship/store.h>
#include <signal.h>

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
	struct transfer_creds *creds; /* copy: --src-creds & co. (NULL: none) */
} transfer_opts;

#define TRANSFER_OPTS_INIT                                                                         \
	{                                                                                          \
		4, NULL, NULL, 0, NULL, {NULL, 0}, NULL, false, NULL, false, false, false, 0, 0,   \
		        false, false, false, NULL                                                  \
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

/* --src-creds / --dest-creds USER[:PASS] and --src-password-stdin / --dest-password-stdin:
 * credentials for one side of a copy or sync, in place of docker's config (and of -u). */
typedef struct transfer_creds {
	const char *src_creds, *dest_creds;
	bool src_password_stdin, dest_password_stdin;
	/* read by transfer_creds_read (owned; wiped by transfer_creds_dispose) */
	char *src_user, *src_pass, *dest_user, *dest_pass;
} transfer_creds;

#define TRANSFER_CREDS_OPTS(c)                                                                     \
	{CLI_OPT_STRING, 0,                                                                        \
	 "src-creds",    &(c).src_creds,                                                           \
	 "USER[:PASS]",  "credentials for the source registry (default: docker's config)"},        \
	        {CLI_OPT_STRING,                                                                   \
	         0,                                                                                \
	         "dest-creds",                                                                     \
	         &(c).dest_creds,                                                                  \
	         "USER[:PASS]",                                                                    \
	         "credentials for the destination registry (default: docker's config)"},           \
	        {CLI_OPT_BOOL,                                                                     \
	         0,                                                                                \
	         "src-password-stdin",                                                             \
	         &(c).src_password_stdin,                                                          \
	         NULL,                                                                             \
	         "read the --src-creds password from standard input"},                             \
	{                                                                                          \
		CLI_OPT_BOOL, 0, "dest-password-stdin", &(c).dest_password_stdin, NULL,            \
		        "read the --dest-creds password from standard input"                       \
	}

/* Check the options and read the passwords (standard input, or a prompt on a terminal);
 * prints and returns CLI_EXIT_USAGE when wrong, 0 otherwise. */
int transfer_creds_read(transfer_creds *c, const char *const *usage);
void transfer_creds_dispose(transfer_creds *c);

/* A client for one side: with user, those credentials for every registry it talks to (it
 * talks to that side's registry only); insecure 1 adds --insecure, ca_cert (NULL: --ca-cert)
 * an extra CA bundle. Without user, insecure or ca_cert: cli_client(). Returns an exit code. */
int transfer_client(rs_client **out, const char *user, const char *pass, int insecure,
                    const char *ca_cert);

/* SIGINT, SIGTERM, SIGHUP cancel the transfer (rs_cancel); SIGPIPE and SIGXFSZ are write
 * errors. */
typedef struct transfer_signals_saved {
	struct sigaction old[3];
	struct sigaction pipe;
	struct sigaction xfsz;
} transfer_signals_saved;
void transfer_signals_catch(transfer_signals_saved *saved);
void transfer_signals_restore(const transfer_signals_saved *saved);

/* Validate and parse the option values; prints and returns CLI_EXIT_USAGE when wrong. */
int transfer_check_opts(transfer_opts *t, const char *const *usage);

/* Copy src (already parsed) to dest_text (NULL: the source's own names, docker archives only).
 * verb is "pushed", "pulled" or "copied". Returns an exit code. */
int transfer_run(transfer_opts *t, const char *verb, const rs_location *src, const char *dest_text,
                 bool all_tags, const char *const *usage);

int cmd_push(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_copy(int argc, char **argv);
int cmd_sync(int argc, char **argv);

#endif
