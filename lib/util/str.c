#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

bool rs__str_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool rs__str_endswith(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

bool rs__str_niequal(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ca = tolower((unsigned char)a[i]), cb = tolower((unsigned char)b[i]);
		if (ca != cb)
			return false;
		if (!ca)
			return true;
	}
	return true;
}

bool rs__str_iequal(const char *a, const char *b)
{
	size_t la = strlen(a);
	return la == strlen(b) && rs__str_niequal(a, b, la);
}

int rs_size_parse(uint64_t *out, const char *s)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;
	if (!s || !isdigit((unsigned char)*s))
		return rs__error_set(RS_EINVAL, "invalid size \"%s\": expected a number",
		                     s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return rs__error_set(RS_EINVAL, "invalid size \"%s\": out of range", s);
	if (*end == '.' || *end == ',')
		return rs__error_set(RS_EINVAL,
		                     "invalid size \"%s\": expected a whole number (for a fraction "
		                     "use a smaller unit: 1536K, not 1.5M)",
		                     s);
	if (*end) {
		const char *u = end;
		if (!strcmp(u, "k") || !strcmp(u, "K") || !strcmp(u, "KiB") || !strcmp(u, "KB"))
			mult = 1024ULL;
		else if (!strcmp(u, "m") || !strcmp(u, "M") || !strcmp(u, "MiB") ||
		         !strcmp(u, "MB"))
			mult = 1024ULL * 1024;
		else if (!strcmp(u, "g") || !strcmp(u, "G") || !strcmp(u, "GiB") ||
		         !strcmp(u, "GB"))
			mult = 1024ULL * 1024 * 1024;
		else if (!strcmp(u, "b") || !strcmp(u, "B"))
			mult = 1;
		else
			return rs__error_set(
			        RS_EINVAL,
			        "invalid size \"%s\": unknown unit \"%s\" (use K, M or G)", s, u);
	}
	if (v > UINT64_MAX / mult)
		return rs__error_set(RS_EINVAL, "invalid size \"%s\": out of range", s);
	*out = (uint64_t)v * mult;
	return 0;
}

char *rs__base64_encode(const void *data, size_t len)
{
	size_t n = 4 * ((len + 2) / 3);
	char *out = rs__malloc(n + 1);
	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	out[n] = '\0';
	return out;
}

int rs__base64_decode(rs_buf *out, const char *s)
{
	size_t len = strlen(s), pad = 0, full, n;
	char *padded;
	unsigned char *tmp;
	int got;
	/* at most two '=' and only at the end; the unpadded length must not be 1 (mod 4) */
	while (pad < len && s[len - pad - 1] == '=')
		pad++;
	if (pad > 2)
		return rs__error_set(RS_EFORMAT, "invalid base64 data: too much padding");
	n = len - pad;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isalnum(c) || c == '+' || c == '/'))
			return rs__error_set(RS_EFORMAT, "invalid base64 data");
	}
	if (n % 4 == 1 || (pad && (n + pad) % 4))
		return rs__error_set(RS_EFORMAT, "invalid base64 data: wrong length");
	if (!n)
		return 0;
	/* EVP_DecodeBlock wants whole quanta */
	full = (n + 3) / 4 * 4;
	padded = rs__malloc(full + 1);
	if (!padded)
		return rs__oom();
	memcpy(padded, s, n);
	memset(padded + n, '=', full - n);
	padded[full] = '\0';
	tmp = rs__malloc(full);
	if (!tmp) {
		rs__memzero(padded, full);
		free(padded);
		return rs__oom();
	}
	got = EVP_DecodeBlock(tmp, (unsigned char *)padded, (int)full);
	if (got < 0 || (size_t)got != full / 4 * 3) {
		rs__memzero(padded, full);
		free(padded);
		free(tmp);
		return rs__error_set(RS_EFORMAT, "invalid base64 data");
	}
	/* the decoder counts padding as data: the real length follows from the unpadded input */
	rs__buf_put(out, tmp, n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0));
	rs__memzero(tmp, full);
	rs__memzero(padded, full);
	free(tmp);
	free(padded);
	return rs__buf_oom(out) ? RS_ENOMEM : 0;
}

char *rs__url_escape(const char *s)
{
	rs_buf b = RS_BUF_INIT;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			rs__buf_putc(&b, (char)c);
		else
			rs__buf_printf(&b, "%%%02X", c);
	}
	return rs__buf_detach(&b);
}

int rs__file_read(rs_buf *out, const char *path, size_t max)
{
	char chunk[16384];
	size_t total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return rs__error_set(RS_ENOTFOUND, "%s: no such file", path);
		return rs__error_set(RS_EIO, "cannot open %s: %s", path, strerror(errno));
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return rs__error_set(RS_EIO, "cannot read %s: %s", path, strerror(errno));
		}
		total += (size_t)n;
		if (total > max) {
			close(fd);
			return rs__error_set(RS_ETOOBIG, "%s: larger than %zu bytes", path, max);
		}
		rs__buf_put(out, chunk, (size_t)n);
	}
	close(fd);
	return rs__buf_oom(out) ? rs__oom() : 0;
}

int rs__mkdir_p(const char *path, unsigned mode)
{
	char *p;
	int error = 0;
	if (!path || !*path)
		return rs__error_set(RS_EINVAL, "cannot create a directory with an empty name");
	p = rs__strdup(path);
	if (!p)
		return rs__oom();
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			struct stat st;
			*s = '\0';
			if (mkdir(p, (mode_t)mode) < 0) {
				if (errno != EEXIST) {
					error = rs__error_set(RS_EIO,
					                      "cannot create directory %s: %s", p,
					                      strerror(errno));
					break;
				}
				if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
					error = rs__error_set(
					        RS_EIO,
					        "cannot create directory %s: %s exists "
					        "and is not a directory",
					        path, p);
					break;
				}
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return error;
}
