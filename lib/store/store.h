/* Internal helpers shared by the stores and the copy engine (never installed). */
#ifndef RS_STORE_INTERNAL_H
#define RS_STORE_INTERNAL_H

#include "regship/store.h"
#include "regship/sys/store.h"
#include "util/digest.h"
#include "util/reader.h"
#include "util/util.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * The OCI layout store on a directory, with `name` used in messages instead of the
 * directory ("oci archive img.tar"); name may be NULL.
 */
int rs__oci_layout_open(rs_store **out, const char *dir, unsigned int flags, const char *name);

/* The digests of every index.json entry of an OCI layout store (tagged or not) appended to
 * out; RS_EUNSUPPORTED for another store (the referrers walk of lib/image/referrers.c). */
int rs__oci_layout_digests(rs_store *s, rs_strlist *out);

/* 0 for a usable store (non-NULL, a table of the version this library knows); else RS_EINVAL
 * with a message beginning with `what`. */
int rs__store_check(const rs_store *s, const char *what);

/* The client of a registry store (rs_store_open_registry); NULL for any other store. */
rs_client *rs__store_registry_client(const rs_store *s);

/*
 * An archive read from standard input (FILE "-"; lib/store/spool.c). The stores reread an
 * archive, so a pipe is copied into an unlinked temporary file under tmp_dir (NULL: $TMPDIR,
 * else /tmp), streaming, with mode 0600 and close-on-exec; a regular file on standard input
 * is used as it is. `path` ("/proc/self/fd/N") reopens it with an offset of its own for as
 * long as the spool is not disposed. A terminal on standard input is refused (RS_EINVAL), so
 * is an empty one (RS_EFORMAT); kind ("docker-archive") starts the messages. Cancellation
 * (rs_cancel) stops the copy with RS_EUSER.
 */
typedef struct rs__spool {
	int fd; /* -1 when none */
	char path[32];
} rs__spool;
#define RS__SPOOL_INIT                                                                             \
	{                                                                                          \
		-1,                                                                                \
		{                                                                                  \
			0                                                                          \
		}                                                                                  \
	}
bool rs__spool_wanted(const char *file);
int rs__spool_stdin(rs__spool *out, const char *kind, const char *tmp_dir);
void rs__spool_dispose(rs__spool *sp);
/* The current error (when its code is `error`) with sp->path replaced by `shown` in its
 * message; returns error. */
int rs__spool_error(const rs__spool *sp, int error, const char *shown);
/* Upload a blob to a registry store whose digest and size are learnt from its bytes
 * (rs__blob_upload_streamed, with the store's chunk size). RS_EINVAL for another store. */
int rs__store_registry_upload_streamed(rs_store *s, rs_reader *r, char digest[RS_DIGEST_MAX],
                                       int64_t *size);

/* Remove a directory tree without following symbolic links. Missing: 0. */
int rs__rmtree(const char *path);

#endif
