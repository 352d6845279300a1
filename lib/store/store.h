/* Internal helpers shared by the stores and the copy engine (never installed). */
#ifndef RS_STORE_INTERNAL_H
#define RS_STORE_INTERNAL_H

#include "regship/store.h"
#include "regship/sys/store.h"
#include "util/digest.h"
#include "util/reader.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * The OCI layout store on a directory, with `name` used in messages instead of the
 * directory ("oci archive img.tar"); name may be NULL.
 */
int rs__oci_layout_open(rs_store **out, const char *dir, unsigned int flags, const char *name);

/* 0 for a usable store (non-NULL, a table of the version this library knows); else RS_EINVAL
 * with a message beginning with `what`. */
int rs__store_check(const rs_store *s, const char *what);

/* The client of a registry store (rs_store_open_registry); NULL for any other store. */
rs_client *rs__store_registry_client(const rs_store *s);

/* Upload a blob to a registry store whose digest and size are learnt from its bytes
 * (rs__blob_upload_streamed, with the store's chunk size). RS_EINVAL for another store. */
int rs__store_registry_upload_streamed(rs_store *s, rs_reader *r, char digest[RS_DIGEST_MAX],
                                       int64_t *size);

/* Remove a directory tree without following symbolic links. Missing: 0. */
int rs__rmtree(const char *path);

#endif
