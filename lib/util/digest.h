/* Streaming SHA-256 through OpenSSL EVP, and digest string checks. */
#ifndef RS_DIGEST_H
#define RS_DIGEST_H

#include "regship/digest.h" /* RS_DIGEST_MAX and the public rs_digest_* over these */

#include <stdbool.h>
#include <stddef.h>

typedef struct rs__hasher rs__hasher;

/* algorithm: "sha256" or "sha512". */
int rs__hasher_new(rs__hasher **out, const char *algorithm);
void rs__hasher_update(rs__hasher *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out (RS_DIGEST_MAX bytes); the hasher can be reused after reset. */
void rs__hasher_final(rs__hasher *h, char out[RS_DIGEST_MAX]);
void rs__hasher_reset(rs__hasher *h);
void rs__hasher_free(rs__hasher *h);

/* One-shot sha256 of a buffer: "sha256:<hex>". */
void rs__sha256_digest(char out[RS_DIGEST_MAX], const void *data, size_t len);

/* Well-formed and supported digest: sha256:<64 lowercase hex> or sha512:<128 lowercase hex>.
 * Sets an error naming the problem when not. */
int rs__digest_check(const char *digest);
/* The same test without touching the last error. */
bool rs__digest_valid(const char *digest);
/* True when s[0..len) is exactly 64 lowercase hex digits (a sha256 hex, e.g. in a file name). */
bool rs__is_hex64(const char *s, size_t len);
/* The digest of a buffer with "sha256" or "sha512": "<algorithm>:<hex>" in out. RS_EUNSUPPORTED
 * for another algorithm. */
int rs__digest_compute(char out[RS_DIGEST_MAX], const char *algorithm, const void *data,
                       size_t len);
/* Compare a computed digest with an expected one, using the expected algorithm. */
int rs__digest_verify(const char *expected, const void *data, size_t len);

#endif
