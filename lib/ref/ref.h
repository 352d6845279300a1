/*
 * Internal helpers of the reference parser (lib/ref/), shared by parse.c, normalize.c and
 * format.c. The public API is include/regship/ref.h.
 */
#ifndef RS_REF_INTERNAL_H
#define RS_REF_INTERNAL_H

#include "regship/ref.h"

#include <stdbool.h>
#include <stddef.h>

#define RS__REF_HUB_DOMAIN "docker.io"
#define RS__REF_HUB_ENDPOINT "registry-1.docker.io"
#define RS__REF_PATH_MAX 255 /* characters in the repository path, domain excluded */
#define RS__REF_TAG_MAX 128

/*
 * Grammar checks on s[0..len). Each returns 0 when well formed, else RS_EINVAL after writing a
 * short lowercase reason into why (it does not echo the whole input and does not set the last
 * error: callers wrap the reason into their own message).
 */
int rs__ref_check_domain(const char *s, size_t len, char *why, size_t whylen);
int rs__ref_check_path(const char *s, size_t len, char *why, size_t whylen);
int rs__ref_check_tag(const char *s, size_t len, char *why, size_t whylen);
int rs__ref_check_digest(const char *s, size_t len, char *why, size_t whylen);

/* Is the first path element (before the first '/') a registry host? ('.', ':' or "localhost") */
bool rs__ref_looks_like_domain(const char *s, size_t len);

/* docker.io, index.docker.io or registry-1.docker.io (case-insensitive). */
bool rs__ref_is_hub(const char *domain);

/*
 * Normalise a split name: no domain -> docker.io, index.docker.io -> docker.io, a one-component
 * path on docker.io gets "library/". domain may be NULL. Both outputs are malloc'd; on
 * RS_ENOMEM both are NULL.
 */
int rs__ref_normalize(char **domain_out, char **path_out, const char *domain, size_t dlen,
                      const char *path, size_t plen);

/* A bounded, printable copy of text for error messages (control bytes as \xNN). Free it.
 * NULL when out of memory. */
char *rs__ref_printable(const char *text);

#endif
