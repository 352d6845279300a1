/*
 * Reading an image without pulling it: what `regship inspect` shows (skopeo inspect's content),
 * and verified reads of single blobs (`regship config`, `regship blob`). Works on any store
 * (registry, OCI layout, OCI archive, docker archive).
 */
#ifndef REGSHIP_INSPECT_H
#define REGSHIP_INSPECT_H

#include "buf.h"
#include "common.h"
#include "manifest.h"
#include "reader.h"
#include "store.h"

RS_BEGIN_DECL

/* A configuration blob above this size is refused (an image config is a few KiB). */
#define RS_CONFIG_MAX_SIZE (16 * 1024 * 1024)

typedef struct rs_image_info {
	/* The manifest described: an image manifest, or an index when no platform was asked
	 * for and the reference names an index. */
	char *digest;
	char *media_type;
	rs_buf manifest; /* its exact bytes */
	/* When a platform was selected from an index: the index it came from; else NULL. */
	char *index_digest;
	char *index_media_type;

	/* An index: its children (with platforms when given). 0 for an image. */
	rs_descriptor *children;
	size_t child_count;

	/* An image: the config (verified against its digest) and what it says. */
	rs_descriptor config_desc;
	rs_buf config; /* exact bytes */
	char *created; /* or NULL */
	char *os, *architecture, *variant; /* variant may be NULL */
	char **labels; /* key, value, key, value, ... (label_count pairs) */
	size_t label_count;
	char **env;
	size_t env_count;
	char **entrypoint;
	size_t entrypoint_count;
	char **cmd;
	size_t cmd_count;
	rs_descriptor *layers;
	size_t layer_count;
	int64_t total_size; /* sum of the layer sizes (compressed, as stored) */
} rs_image_info;

/*
 * Describe the image `reference` of store s (a tag or digest; NULL: the store's default).
 * platform: from an index, describe the child for this platform; NULL: an index is described
 * as such (children listed, no config read). The config blob is read and verified against the
 * manifest's digest and size. The caller frees *out with rs_image_info_free().
 */
RS_EXTERN(int)
rs_image_inspect(rs_image_info **out, rs_store *s, const char *reference,
                 const rs_platform *platform);
RS_EXTERN(void) rs_image_info_free(rs_image_info *info);

/*
 * Read a whole blob into out (at most max bytes: RS_ETOOBIG above), verifying desc->digest
 * (and desc->size when >= 0). Nothing is left in out on failure.
 */
RS_EXTERN(int) rs_store_blob_read(rs_store *s, const rs_descriptor *desc, rs_buf *out, size_t max);

/*
 * Stream a blob to sink (called with each chunk; a negative RS_E* return stops with that error,
 * a positive one with RS_EUSER),
 * hashing on the way. Returns RS_EDIGEST when the bytes do not have desc->digest (the sink
 * has then seen them: write to a temporary file and rename only on success), RS_EFORMAT when
 * the size differs from desc->size (when >= 0). *written receives the byte count when set.
 */
RS_EXTERN(int)
rs_store_blob_stream(rs_store *s, const rs_descriptor *desc,
                     int (*sink)(const void *data, size_t len, void *payload), void *payload,
                     uint64_t *written);

/*
 * Continue a blob of which the first `have` bytes were received before (a partial file, as
 * `regship blob -o` keeps one): `prefix` reads those bytes again (they are hashed, not passed
 * to sink); the rest is fetched from byte `have` on — from a registry with a Range request,
 * as a broken download is resumed (a server that ignores the range sends the whole blob, and
 * its first `have` bytes are dropped), from a local store by reading past them — and passed to
 * sink; the whole is verified against desc->digest (and desc->size when >= 0). RS_EDIGEST
 * means the blob as a whole is wrong: the partial bytes may be at fault, start again from
 * zero. have 0 (prefix may be NULL) is rs_store_blob_stream. *written: the bytes passed to sink.
 */
RS_EXTERN(int)
rs_store_blob_stream_from(rs_store *s, const rs_descriptor *desc, rs_reader *prefix, uint64_t have,
                          int (*sink)(const void *data, size_t len, void *payload), void *payload,
                          uint64_t *written);

/* ---- rate limits (Docker Hub's RateLimit-* headers) ---- */

struct rs_client;
struct rs_ref;

typedef struct rs_ratelimit {
	int present; /* non-zero when the registry sent RateLimit-Limit or RateLimit-Remaining */
	long limit; /* requests per window, -1 when not sent */
	long limit_window; /* seconds ("w=21600"), -1 when not sent */
	long remaining; /* -1 when not sent */
	long remaining_window;
	char *source; /* Docker-RateLimit-Source (the address counted), or NULL */
} rs_ratelimit;

/*
 * HEAD the manifest ref names (authenticated as any pull) and read the RateLimit-Limit,
 * RateLimit-Remaining ("100;w=21600") and Docker-RateLimit-Source headers. A registry that
 * sends none gives present == 0 (not an error). Dispose with rs_ratelimit_dispose().
 */
RS_EXTERN(int)
rs_ratelimit_get(rs_ratelimit *out, struct rs_client *client, const struct rs_ref *ref);
RS_EXTERN(void) rs_ratelimit_dispose(rs_ratelimit *rl);

RS_END_DECL

#endif
