/*
 * The store abstraction, for people writing a new backend (libgit2's sys/ headers). Programs
 * that only use stores include regship/store.h (or regship.h), where rs_store is opaque; this
 * header is not included by regship.h.
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
#include "../store.h"
#include "reader.h"

RS_BEGIN_DECL

/*
 * Errors: a slot returns 0 or a negative RS_E* code and sets a message with rs_error_set()
 * naming what failed. A slot that fails without one gets a generic message from the dispatch
 * ("<scheme> store: <operation> failed: <rs_strerror(code)>"), so callers can always print
 * rs_error_last()->message.
 */
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

/*
 * Initialise the header of a new store (call it from the backend's open function before
 * handing the store out): checks ops->version against RS_STORE_OPS_VERSION (RS_EINVAL
 * "store backend ... was built for table version N" on a mismatch, leaving s untouched) and
 * that the mandatory slots are set. The dispatch checks the version of every call as well.
 */
RS_EXTERN(int) rs_store_init(rs_store *s, const rs_store_ops *ops);

RS_END_DECL

#endif
