/*
 * Readers: streaming byte sources (a blob being copied, a request body). The library hands
 * them out (rs_store_blob_open) and takes them (rs_store_blob_put); a program makes its own
 * over memory or a file descriptor here. Writing a new kind of reader is for backend authors:
 * the structure is in regship/sys/reader.h.
 *
 * Ownership: the function that creates a reader gives it to the caller, who releases it with
 * rs_reader_free() (NULL-safe). A reader is used by one thread at a time.
 */
#ifndef REGSHIP_READER_H
#define REGSHIP_READER_H

#include "common.h"

RS_BEGIN_DECL

typedef struct rs_reader rs_reader;

/* Progress of a stream being moved (rs_store_blob_put): bytes done so far. A non-zero return
 * cancels the transfer (RS_EUSER). */
typedef int (*rs_transfer_cb)(uint64_t bytes_done, void *payload);

/* Up to len bytes into buf: the count (>0), 0 at the end, or a negative RS_E* code (with
 * rs_error_last() describing it; a reader that fails without a message gets a generic one). */
RS_EXTERN(long long) rs_reader_read(rs_reader *r, void *buf, size_t len);
/* Start again from byte 0; RS_EUNSUPPORTED for a reader that cannot (a network stream). */
RS_EXTERN(int) rs_reader_rewind(rs_reader *r);
/* The total size in bytes, or -1 when unknown (also for a NULL reader). */
RS_EXTERN(int64_t) rs_reader_size(const rs_reader *r);
RS_EXTERN(void) rs_reader_free(rs_reader *r);

/* A reader over a memory range (not copied: it must outlive the reader). */
RS_EXTERN(int) rs_reader_from_memory(rs_reader **out, const void *data, size_t len);
/* A reader over a file descriptor (owned and closed by the reader); size -1 when unknown. */
RS_EXTERN(int) rs_reader_from_fd(rs_reader **out, int fd, int64_t size);

RS_END_DECL

#endif
