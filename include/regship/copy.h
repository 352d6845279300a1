/*
 * The copy engine: the one piece of code that moves images between stores. push, pull and
 * copy choose a source and a destination store and call rs_copy().
 *
 * For every blob of every manifest: already at the destination? skip. Mountable from another
 * repository of the same registry? mount. Else stream it from the source, verifying its digest
 * and size on the way. Blobs move in parallel. A manifest is put only after every blob it
 * references is confirmed present, children before the index that lists them: a failure leaves
 * no manifest (and so no tag) pointing at missing content.
 */
#ifndef REGSHIP_COPY_H
#define REGSHIP_COPY_H

#include "cancel.h"
#include "common.h"
#include "manifest.h"
#include "store.h"

RS_BEGIN_DECL

typedef enum rs_blob_state {
	RS_BLOB_WAITING = 0,
	RS_BLOB_CHECKING,
	RS_BLOB_TRANSFERRING,
	RS_BLOB_EXISTS, /* the destination already held it: nothing sent */
	RS_BLOB_MOUNTED, /* mounted from another repository of the same registry */
	RS_BLOB_COPIED, /* streamed from the source */
	RS_BLOB_FAILED,
} rs_blob_state;

typedef enum rs_copy_event_kind {
	RS_COPY_BLOB, /* a blob changed state or made progress */
	RS_COPY_MANIFEST, /* a manifest was written */
} rs_copy_event_kind;

typedef struct rs_copy_event {
	rs_copy_event_kind kind;
	const char *digest;
	const char *media_type;
	int64_t size;
	rs_blob_state state; /* RS_COPY_BLOB */
	uint64_t bytes_done; /* RS_COPY_BLOB: bytes moved so far */
	const char *reference; /* RS_COPY_MANIFEST: tag or digest it was put under */
	const char *mounted_from; /* RS_BLOB_MOUNTED: the source repository */
} rs_copy_event;

/* Called from worker threads, but never concurrently (the engine serialises calls). A
 * non-zero return cancels the copy (RS_EUSER). */
typedef int (*rs_copy_cb)(const rs_copy_event *event, void *payload);

typedef struct rs_copy_options {
	unsigned int version;
	/* From an index, copy only the manifest for this platform, put under the destination
	 * reference by itself. NULL: the whole index with every child. */
	const rs_platform *platform;
	/* Blobs moved at once (default 4). */
	unsigned int jobs;
	/* Repositories (paths on the destination registry) to try mounting blobs from. */
	const char *const *mount_from;
	size_t mount_from_count;
	/* With mount_cache set, 1 turns the blob-location cache off again. */
	int no_mount_cache;
	/* The blob-location cache's directory; NULL: $XDG_CACHE_HOME/regship/blobs. */
	const char *cache_dir;
	rs_copy_cb callback;
	void *payload;
	/* A blob that arrived corrupted from a registry (digest mismatch) or whose transfer broke
	 * is moved again up to this many times. -1: the default (2). */
	int retries;
	/* Into an OCI layout or archive, Docker schema 2 manifests and manifest lists are
	 * converted to OCI media types (as skopeo does: what umoci and other OCI tools read),
	 * giving new manifest digests; the blobs stay the same. Set 1 to keep the exact bytes
	 * and digests instead. Other destinations always get the exact bytes. */
	int preserve_digests;
	/* 1: remember in the blob-location cache (cache_dir) where blobs were pushed, and mount
	 * from there automatically next time. 0 (the default): no cache is read or written; the
	 * library touches no file of the user's unless asked. The CLI sets it. */
	int mount_cache;
	/* A registry destination tag is read first (one HEAD), before any blob moves. Already at
	 * the manifest this copy would write: nothing is written (rs_copy_result.already). At
	 * another manifest: overwritten, or with no_clobber 1 the copy fails with RS_EEXISTS
	 * naming the tag and both digests, having moved and written nothing. A lookup that fails
	 * (other than "not found") fails the copy only with no_clobber. */
	int no_clobber;
	/* 1: the referrers (signatures, SBOMs, attestations attached by "subject") of the image
	 * travel with it, recursively (a signature of a signature), and for an index those of its
	 * children too, each by digest with its exact bytes (digests are kept, so Docker manifests
	 * are not converted into OCI layouts). The source must be a registry (read through
	 * rs_referrers_list) or an OCI layout (its manifests with a subject). A registry
	 * destination without the referrers API gets the fallback tags (regship/referrers.h); an
	 * OCI layout keeps them as index.json entries without a ref name; a docker archive cannot
	 * hold them (RS_EUNSUPPORTED before anything moves). */
	int referrers;
} rs_copy_options;

#define RS_COPY_OPTIONS_VERSION 1
#define RS_COPY_OPTIONS_INIT                                                                       \
	{                                                                                          \
		RS_COPY_OPTIONS_VERSION, NULL, 4, NULL, 0, 0, NULL, NULL, NULL, -1, 0, 0, 0, 0     \
	}

/* Per blob, what happened. */
typedef struct rs_copy_blob {
	char *digest;
	char *media_type;
	int64_t size;
	rs_blob_state state;
	uint64_t bytes_sent;
	char *mounted_from;
} rs_copy_blob;

typedef struct rs_copy_result {
	char *digest; /* of the top manifest written (the one a tag points at) */
	char *media_type;
	rs_copy_blob *blobs;
	size_t blob_count;
	uint64_t bytes_sent;
	/* 1: the destination tag already pointed at digest; nothing was written or moved */
	int already;
} rs_copy_result;
#define RS_COPY_RESULT_INIT                                                                        \
	{                                                                                          \
		NULL, NULL, NULL, 0, 0, 0                                                          \
	}

/*
 * Copy the image src_reference of src (tag, digest, NULL = its default) to dst under
 * dst_reference (a tag; NULL = by digest only). The destination is not committed: call
 * rs_store_commit().
 *
 * result may be NULL. Else rs_copy zeroes it before anything else (it need not be
 * initialised, though RS_COPY_RESULT_INIT is tidy) and fills it as blobs move; the caller
 * releases it with rs_copy_result_dispose() whether the copy succeeded or FAILED (a failed
 * copy's result holds the blobs tried so far and their states).
 *
 * Threads: the blobs move on worker threads that call the stores' blob operations
 * concurrently; the callback is never called concurrently. Different copies may run at once
 * on different threads with different stores.
 */
RS_EXTERN(int)
rs_copy(rs_store *dst, const char *dst_reference, rs_store *src, const char *src_reference,
        const rs_copy_options *opts, rs_copy_result *result);

RS_EXTERN(void) rs_copy_result_dispose(rs_copy_result *result);

RS_EXTERN(const char *) rs_blob_state_name(rs_blob_state state);

/* rs_store_open_location() and rs_open_options: see regship/store.h. */

/* rs_cancel(), rs_cancelled(), rs_cancel_reset(): see regship/cancel.h. */

RS_END_DECL

#endif
