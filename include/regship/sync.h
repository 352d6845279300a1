/*
 * Mirroring repositories (regship sync): which tags of which repositories, read from a
 * skopeo-format YAML file or given by the caller, and copying them all at once through
 * rs_copy_tags_pairs() (regship/copy_tags.h: images in parallel, a blob shared between them
 * moved once, one bound on everything in flight).
 *
 * Ownership: rs_sync_config_* give the caller a config freed with rs_sync_config_free(); the
 * items rs_sync() returns are freed with rs_sync_items_free(). Everything else is borrowed for
 * the length of the call. Errors: 0 or a negative RS_E* code with rs_error_last() describing
 * it. Threads: a config is plain data (read it from any thread); rs_sync() uses the copy
 * engine's threads, calls its callbacks one at a time, and needs the stores it is given for
 * itself during the call.
 */
#ifndef REGSHIP_SYNC_H
#define REGSHIP_SYNC_H

#include "client.h"
#include "common.h"
#include "copy.h"
#include "copy_tags.h"
#include "store.h"

RS_BEGIN_DECL

/* ---- the YAML file (skopeo sync --src yaml) ----------------------------------------------- */

/*
 * One repository entry of a registry:
 *   images:              {REPO: [TAG or DIGEST, ...]}  (an empty list: every tag)
 *   images-by-tag-regex: {REPO: REGEX}   (POSIX extended, unanchored, as skopeo matches)
 *   images-by-semver:    {REPO: RANGE}   (see rs_sync_filter.semver)
 * A repository named under two of them is two entries.
 */
typedef struct rs_sync_repo {
	char *name; /* the repository path under the registry ("library/busybox") */
	char **tags; /* images: the tags or digests listed (tag_count 0: every tag) */
	size_t tag_count;
	char *tag_regex; /* images-by-tag-regex, or NULL */
	char *semver; /* images-by-semver, or NULL */
	unsigned int line; /* where the entry is in the file (from 1) */
} rs_sync_repo;

/* A top-level key: a registry, its repositories and how to reach it. */
typedef struct rs_sync_registry {
	char *name; /* host[:port] as written */
	rs_sync_repo *repos;
	size_t repo_count;
	int tls_verify; /* tls-verify: 1 or 0; -1 when not given (the client's default) */
	char *cert_dir; /* cert-dir, or NULL */
	char *username; /* credentials: {username, password}, or NULL */
	char *password;
	unsigned int line;
} rs_sync_registry;

typedef struct rs_sync_config {
	rs_sync_registry *registries;
	size_t registry_count;
} rs_sync_config;

/*
 * Parse a sync file's text (len bytes; name says where it came from in messages). Anything
 * not in skopeo's format is refused with RS_EINVAL and a message "NAME:LINE: ..." naming the
 * key or value: unknown keys, wrong shapes (a list where a mapping belongs), duplicate keys,
 * invalid regular expressions and version ranges, malformed YAML.
 */
RS_EXTERN(int)
rs_sync_config_parse(rs_sync_config **out, const char *text, size_t len, const char *name);

/* The same from a file (at most 16 MiB); a file that cannot be read is RS_EIO naming it. */
RS_EXTERN(int) rs_sync_config_load(rs_sync_config **out, const char *path);

/* Frees everything, wiping the passwords. NULL-safe. */
RS_EXTERN(void) rs_sync_config_free(rs_sync_config *config);

/* ---- choosing tags -------------------------------------------------------------------------- */

/*
 * Which tags of a repository to mirror. tags: exactly these (tags or digests; nothing is
 * listed). Otherwise every tag the source lists, kept when it matches tag_regex (if set) and
 * semver (if set): a range of comparators >=, >, <=, <, = (or none), ~, ^ with [v]X[.Y[.Z]]
 * versions, joined by ',' (and) or "||" (or): ">=2.1", ">=1.2, <2", "~1.4", "^2". Tags that
 * are not semantic versions never match a range; pre-releases only a range naming one.
 */
typedef struct rs_sync_filter {
	const char *const *tags;
	size_t tag_count;
	const char *tag_regex;
	const char *semver;
} rs_sync_filter;

/* RS_EINVAL, naming the problem, when the regex or the range does not parse. */
RS_EXTERN(int) rs_sync_filter_check(const rs_sync_filter *filter);

/* The tags of src that filter selects (NULL: every tag), in byte order, without duplicates.
 * out is the caller's (rs_strarray_dispose); nothing is left in it on failure. */
RS_EXTERN(int)
rs_sync_select_tags(rs_strarray *out, rs_store *src, const rs_sync_filter *filter);

/*
 * Where a source repository goes, as skopeo sync names it: dest + "/" + the last component
 * of src_name, or with scoped the whole of src_name (its registry included, when it has
 * one). dest "" gives the suffix alone. Caller frees; NULL when out of memory.
 */
RS_EXTERN(char *) rs_sync_dest_name(const char *dest, const char *src_name, int scoped);

/* ---- mirroring ------------------------------------------------------------------------------- */

/* One repository to mirror: every selected tag of src goes under the same tag in dst (a
 * digest listed in filter.tags goes by digest). */
typedef struct rs_sync_pair {
	rs_store *src;
	rs_store *dst; /* NULL on a dry run: a destination that does not exist yet */
	rs_sync_filter filter;
} rs_sync_pair;

typedef enum rs_sync_state {
	RS_SYNC_COPY = 1, /* dry run: would be copied */
	RS_SYNC_COPIED, /* copied */
	RS_SYNC_UP_TO_DATE, /* the destination tag already held the source's manifest */
	RS_SYNC_FAILED, /* see error */
	RS_SYNC_SKIPPED, /* not attempted: an earlier failure stopped the run */
} rs_sync_state;

/* What happened to one tag (or to a repository whose tags could not be listed: tag NULL). */
typedef struct rs_sync_item {
	size_t pair; /* index into the pairs given */
	char *tag; /* the source tag or digest */
	rs_sync_state state;
	char *digest; /* the manifest's (source's on a dry run; NULL when unknown) */
	rs_error error; /* RS_SYNC_FAILED: why (error.code < 0) */
	rs_copy_result result; /* RS_SYNC_COPIED: what moved */
} rs_sync_item;

typedef struct rs_sync_options {
	unsigned int version;
	/* Options of every copy (jobs bounds the whole run, as in rs_copy_tags). Its
	 * preserve_digests is forced to 1: a mirror keeps manifests byte for byte. */
	const rs_copy_options *copy;
	/* Go on past a failed tag or repository (default: start nothing new once one failed). */
	int keep_going;
	/* Copy nothing: find out what would be copied (one manifest read on each side). */
	int dry_run;
	/* Optional: each tag as it is finished (serialised, completion order). */
	void (*done)(const rs_sync_item *item, void *payload);
	void *done_payload;
	/* Optional: copy events, with the item they belong to (serialised); non-zero cancels. */
	int (*event)(const rs_sync_item *item, const rs_copy_event *ev, void *payload);
	void *event_payload;
} rs_sync_options;

#define RS_SYNC_OPTIONS_VERSION 1
#define RS_SYNC_OPTIONS_INIT                                                                       \
	{                                                                                          \
		RS_SYNC_OPTIONS_VERSION, NULL, 0, 0, NULL, NULL, NULL, NULL                        \
	}

/*
 * Mirror every pair. The tags of all pairs are copied in one batch (rs_copy_tags_pairs).
 * A registry destination tag already at the source's manifest costs one HEAD and moves
 * nothing (RS_SYNC_UP_TO_DATE); a local destination (OCI layout) is compared without a
 * request. *items (count in *count, in pair then tag order) is filled even on failure; free
 * it with rs_sync_items_free(). Returns 0 when nothing failed, else the first failure's code
 * (its message prefixed with the source tag). Local destinations are not committed: call
 * rs_store_commit().
 */
RS_EXTERN(int)
rs_sync(const rs_sync_pair *pairs, size_t n, const rs_sync_options *opts, rs_sync_item **items,
        size_t *count);

RS_EXTERN(void) rs_sync_items_free(rs_sync_item *items, size_t count);

RS_END_DECL

#endif
