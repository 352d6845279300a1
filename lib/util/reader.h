/* Internal readers (lib/util/reader.c): files by path and the hashing, verifying wrapper.
 * The public part is regship/reader.h; the structure is regship/sys/reader.h. */
#ifndef RS_UTIL_READER_H
#define RS_UTIL_READER_H

#include "regship/reader.h"
#include "regship/sys/reader.h"
#include "util/digest.h"

#include <stdbool.h>
#include <stdint.h>

/* A reader over a file, opened read-only; size from fstat. RS_ENOTFOUND when missing. */
int rs__reader_from_path(rs_reader **out, const char *path);

/*
 * A hashing, verifying reader wrapped around inner. While reading it hashes the bytes
 * (algorithm of expected_digest; sha256 when expected_digest is NULL). It returns
 * RS_EFORMAT as soon as more than expected_size bytes arrive, and at the end of the data
 * RS_EFORMAT when fewer arrived, RS_EDIGEST (naming expected and actual digest) when the
 * digest differs. expected_size -1 / expected_digest NULL: that check is skipped.
 * owned: the wrapper frees inner when freed (only on success; on failure the caller keeps
 * inner). rewind restarts inner and the hash.
 */
int rs__reader_verify(rs_reader **out, rs_reader *inner, const char *expected_digest,
                      int64_t expected_size, bool owned);

/* After a verifying reader reached its end: the digest ("sha256:<hex>") and byte count of
 * what was read. RS_EINVAL when r is not a verifying reader or has not reached the end. */
int rs__reader_verify_result(const rs_reader *r, char digest[RS_DIGEST_MAX], uint64_t *bytes);

/* True when r is an unread verifying reader that checks exactly this digest and size (a
 * store's blob_put can then skip hashing the bytes a second time). */
bool rs__reader_verifies(const rs_reader *r, const char *digest, int64_t size);

#endif
