#include "digest.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct rs__hasher {
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
	const char *name;
};

int rs__hasher_new(rs__hasher **out, const char *algorithm)
{
	rs__hasher *h;
	const EVP_MD *md;
	if (!strcmp(algorithm, "sha256"))
		md = EVP_sha256();
	else if (!strcmp(algorithm, "sha512"))
		md = EVP_sha512();
	else
		return rs__error_set(RS_EUNSUPPORTED, "unsupported digest algorithm \"%s\"",
		                     algorithm);
	h = rs__calloc(1, sizeof(*h));
	if (!h)
		return rs__oom();
	h->ctx = EVP_MD_CTX_new();
	/* OpenSSL fails these only when it cannot allocate */
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, md, NULL)) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return rs__oom();
	}
	h->md = md;
	h->name = md == EVP_sha256() ? "sha256" : "sha512";
	*out = h;
	return 0;
}

void rs__hasher_update(rs__hasher *h, const void *data, size_t len)
{
	if (len)
		EVP_DigestUpdate(h->ctx, data, len);
}

void rs__hasher_final(rs__hasher *h, char out[RS_DIGEST_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t off;
	EVP_DigestFinal_ex(h->ctx, md, &n);
	off = (size_t)snprintf(out, RS_DIGEST_MAX, "%s:", h->name);
	for (unsigned int i = 0; i < n && off + 2 < RS_DIGEST_MAX; i++)
		off += (size_t)snprintf(out + off, RS_DIGEST_MAX - off, "%02x", md[i]);
	EVP_DigestInit_ex(h->ctx, h->md, NULL);
}

void rs__hasher_reset(rs__hasher *h)
{
	EVP_DigestInit_ex(h->ctx, h->md, NULL);
}

void rs__hasher_free(rs__hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void rs__sha256_digest(char out[RS_DIGEST_MAX], const void *data, size_t len)
{
	unsigned char md[32];
	size_t off;
	unsigned int n = 0;
	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	off = (size_t)snprintf(out, RS_DIGEST_MAX, "sha256:");
	for (unsigned int i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, RS_DIGEST_MAX - off, "%02x", md[i]);
}

static bool hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

bool rs__is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool rs__digest_valid(const char *d)
{
	if (!d)
		return false;
	if (!strncmp(d, "sha256:", 7))
		return strlen(d + 7) == 64 && hex_lower(d + 7, 64);
	if (!strncmp(d, "sha512:", 7))
		return strlen(d + 7) == 128 && hex_lower(d + 7, 128);
	return false;
}

int rs__digest_check(const char *d)
{
	const char *colon;
	if (!d || !*d)
		return rs__error_set(RS_EINVAL, "invalid digest \"\": empty");
	if (rs__digest_valid(d))
		return 0;
	colon = strchr(d, ':');
	if (!colon)
		return rs__error_set(RS_EINVAL, "invalid digest \"%s\": expected ALGORITHM:HEX", d);
	if (strncmp(d, "sha256:", 7) && strncmp(d, "sha512:", 7))
		return rs__error_set(
		        RS_EINVAL, "invalid digest \"%s\": unsupported algorithm (use sha256)", d);
	return rs__error_set(RS_EINVAL, "invalid digest \"%s\": expected %d lowercase hex digits",
	                     d, strncmp(d, "sha256:", 7) ? 128 : 64);
}

int rs__digest_compute(char out[RS_DIGEST_MAX], const char *algorithm, const void *data, size_t len)
{
	rs__hasher *h;
	int error;
	if ((error = rs__hasher_new(&h, algorithm)) < 0)
		return error;
	rs__hasher_update(h, data, len);
	rs__hasher_final(h, out);
	rs__hasher_free(h);
	return 0;
}

int rs__digest_verify(const char *expected, const void *data, size_t len)
{
	char got[RS_DIGEST_MAX];
	rs__hasher *h;
	int error;
	if ((error = rs__digest_check(expected)) < 0)
		return error;
	if ((error = rs__hasher_new(&h, strncmp(expected, "sha512:", 7) ? "sha256" : "sha512")) < 0)
		return error;
	rs__hasher_update(h, data, len);
	rs__hasher_final(h, got);
	rs__hasher_free(h);
	if (strcmp(got, expected))
		return rs__error_set(RS_EDIGEST, "digest mismatch: expected %s, got %s", expected,
		                     got);
	return 0;
}

/* ---- the public API (regship/digest.h) ---------------------------------------------------- */

struct rs_digest {
	rs__hasher *h;
};

int rs_digest_new(rs_digest **out, const char *algorithm)
{
	rs__hasher *h;
	int error;
	if (!out)
		return rs__error_set(RS_EINVAL, "digest: NULL output");
	*out = NULL;
	if ((error = rs__hasher_new(&h, algorithm ? algorithm : "sha256")) < 0)
		return error;
	*out = rs__calloc(1, sizeof(**out));
	if (!*out) {
		rs__hasher_free(h);
		return rs__oom();
	}
	(*out)->h = h;
	return 0;
}

int rs_digest_update(rs_digest *d, const void *data, size_t len)
{
	if (!d || (!data && len))
		return rs__error_set(RS_EINVAL, "digest update: NULL %s", d ? "data" : "hasher");
	rs__hasher_update(d->h, data, len);
	return 0;
}

int rs_digest_final(rs_digest *d, char out[RS_DIGEST_MAX])
{
	if (!d || !out)
		return rs__error_set(RS_EINVAL, "digest final: NULL %s", d ? "output" : "hasher");
	rs__hasher_final(d->h, out); /* also starts the hasher again */
	return 0;
}

void rs_digest_free(rs_digest *d)
{
	if (!d)
		return;
	rs__hasher_free(d->h);
	free(d);
}

int rs_digest_buffer(char out[RS_DIGEST_MAX], const void *data, size_t len)
{
	if (!out || (!data && len))
		return rs__error_set(RS_EINVAL, "digest: NULL %s", out ? "data" : "output");
	rs__sha256_digest(out, data, len);
	return 0;
}

int rs_digest_reader(char out[RS_DIGEST_MAX], rs_reader *r, const char *algorithm, uint64_t *bytes)
{
	rs__hasher *h;
	char *chunk;
	uint64_t total = 0;
	long long n;
	int error;
	if (!out || !r)
		return rs__error_set(RS_EINVAL, "digest: NULL %s", out ? "reader" : "output");
	if ((error = rs__hasher_new(&h, algorithm ? algorithm : "sha256")) < 0)
		return error;
	chunk = rs__malloc(65536);
	if (!chunk) {
		rs__hasher_free(h);
		return rs__oom();
	}
	while ((n = rs_reader_read(r, chunk, 65536)) > 0) {
		rs__hasher_update(h, chunk, (size_t)n);
		total += (uint64_t)n;
	}
	free(chunk);
	if (n == 0)
		rs__hasher_final(h, out);
	rs__hasher_free(h);
	if (n < 0)
		return (int)n;
	if (bytes)
		*bytes = total;
	return 0;
}

int rs_digest_check(const char *digest)
{
	return rs__digest_check(digest);
}
