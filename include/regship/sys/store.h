/*
 * The store abstraction, for people writing a new backend (libgit2's sys/ headers).
 *
 * A store is one place images live: a repository on a registry, an OCI image layout
 * directory, an OCI archive, or a docker-save archive. The copy engine is written once
 * against this table; push, pull, copy and retag only choose two stores.
 *
 * Slots marked optional may be NULL; callers then get RS_EUNSUPPORTED.
 */
#ifndef REGSHIP_SYS_STORE_H
#define REGSHIP_SYS_STORE_H

#include "../buf.h"
#include "../common.h"
#include "../manifest.h"

RS_BEGIN_DECL

/* A streaming byte source. read returns bytes read (>0), 0 at end, or a negative RS_E* code. */
typedef struct rs_reader rs_reader;
struct rs_reader {
	long long (*read)(rs_reader *r, void *buf, size_t len);
	int (*rewind)(rs_reader *r); /* optional: start again from byte 0 */
	void (*free)(rs_reader *r);
	int64_t size; /* total bytes, or -1 when unknown */
	/* Optional (zero it otherwise): set by a store that computed the digest of exactly these
	 * bytes itself while writing them (a temporary file of its own); the copy engine then
	 * does not hash them a second time. Never set for bytes that came from elsewhere. */
	const char *vouched_digest;
};

RS_EXTERN(long long) rs_reader_read(rs_reader *r, void *buf, size_t len);
RS_EXTERN(int) rs_reader_rewind(rs_reader *r);
RS_EXTERN(void) rs_reader_free(rs_reader *r);
/* A reader over a memory range (not copied: it must outlive the reader). */
RS_EXTERN(int) rs_reader_from_memory(rs_reader **out, const void *data, size_t len);
/* A reader over a file (fd owned and closed by the reader). */
RS_EXTERN(int) rs_reader_from_fd(rs_reader **out, int fd, int64_t size);

typedef struct rs_store rs_store;

/* Progress of one blob transfer, reported by blob_put. */
typedef int (*rs_transfer_cb)(uint64_t bytes_done, void *payload);

typedef struct rs_store_ops {
	unsigned int version;
	const char *scheme; /* "registry", "oci", "oci-archive", "docker-archive" */

	/* Manifest by tag or digest (reference NULL: the store's only/default image).
	 * Fills body with the exact bytes, *media_type and *digest (caller frees). */
	int (*manifest_get)(rs_store *s, const char *reference, rs_buf *body, char **media_type,
	                    char **digest);
	/* Store the exact bytes under reference (a tag or the digest itself). */
	int (*manifest_put)(rs_store *s, const char *reference, const void *body, size_t len,
	                    const char *media_type);
	/* Optional. */
	int (*manifest_delete)(rs_store *s, const char *digest);

	/* 0 when present, RS_ENOTFOUND when absent. */
	int (*blob_exists)(rs_store *s, const rs_descriptor *desc);
	/* Open a blob for reading; the reader's bytes are checked against desc->digest by the
	 * consumer (the copy engine), not here. */
	int (*blob_open)(rs_reader **out, rs_store *s, const rs_descriptor *desc);
	/* Write a blob from a reader; must verify desc->digest and desc->size while streaming
	 * and leave nothing under the final name on mismatch. */
	int (*blob_put)(rs_store *s, const rs_descriptor *desc, rs_reader *r, rs_transfer_cb cb,
	                void *payload);
	/* Optional: make a blob held elsewhere on the same backend present here without moving
	 * bytes (cross-repository mount). RS_ENOTFOUND when the source does not hold it. */
	int (*blob_mount)(rs_store *s, const rs_descriptor *desc, const char *from);

	/* Optional: list tags (calls cb for each; non-zero from cb stops with RS_EUSER). */
	int (*tag_list)(rs_store *s, int (*cb)(const char *tag, void *payload), void *payload);

	/* Optional: finish writing (archives: write the index, then rename into place). */
	int (*commit)(rs_store *s);
	void (*free)(rs_store *s);
} rs_store_ops;

#define RS_STORE_OPS_VERSION 1

/* Every store begins with this header. */
struct rs_store {
	const rs_store_ops *ops;
};

RS_END_DECL

#endif
