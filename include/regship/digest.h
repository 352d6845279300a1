/*
 * Content digests ("sha256:<hex>"), computed while streaming, so a program need not call
 * OpenSSL itself. sha256 is what registries use; sha512 is accepted too.
 *
 * Ownership: rs_digest_new gives the caller a hasher released with rs_digest_free(); digests
 * are written into the caller's char[RS_DIGEST_MAX]. A hasher is used by one thread at a
 * time; different hashers are independent.
 */
#ifndef REGSHIP_DIGEST_H
#define REGSHIP_DIGEST_H

#include "common.h"
#include "reader.h"

RS_BEGIN_DECL

/* Room for any digest string regship writes: "sha512:" + 128 hex + NUL, rounded up. */
#define RS_DIGEST_MAX 136

typedef struct rs_digest rs_digest;

/* A streaming hasher; algorithm "sha256", "sha512", or NULL for sha256. RS_EUNSUPPORTED for
 * another algorithm. */
RS_EXTERN(int) rs_digest_new(rs_digest **out, const char *algorithm);
/* Hash len more bytes. */
RS_EXTERN(int) rs_digest_update(rs_digest *d, const void *data, size_t len);
/* "<algorithm>:<hex>" of everything hashed since rs_digest_new or the previous final, into
 * out; the hasher starts again empty. */
RS_EXTERN(int) rs_digest_final(rs_digest *d, char out[RS_DIGEST_MAX]);
RS_EXTERN(void) rs_digest_free(rs_digest *d);

/* One shot: the sha256 digest of a buffer. */
RS_EXTERN(int) rs_digest_buffer(char out[RS_DIGEST_MAX], const void *data, size_t len);
/* One shot: read r to its end (not freed) and digest it with algorithm (NULL: sha256);
 * *bytes (optional) receives how many bytes were read. Memory stays flat. */
RS_EXTERN(int)
rs_digest_reader(char out[RS_DIGEST_MAX], rs_reader *r, const char *algorithm, uint64_t *bytes);

/* 0 for a well-formed supported digest (sha256:<64 lowercase hex>, sha512:<128>); else
 * RS_EINVAL with a message naming the problem. */
RS_EXTERN(int) rs_digest_check(const char *digest);

RS_END_DECL

#endif
