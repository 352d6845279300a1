/* Readers: streaming byte sources over memory, files, and the hashing/verifying wrapper. */
#include "util/reader.h"
#include "util/digest.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A reader (someone else's, through regship/sys/reader.h) that failed without saying why
 * gets a generic message, so rs_error_last() always describes a failure. */
static long long said(unsigned long serial, long long result, const char *what)
{
	if (result < 0 && rs__error_serial() == serial) {
		int code = result >= INT_MIN ? (int)result : RS_ERROR;
		rs__error_set(code, "%s failed: %s", what, rs_strerror(code));
	}
	return result;
}

long long rs_reader_read(rs_reader *r, void *buf, size_t len)
{
	unsigned long serial = rs__error_serial();
	long long n;
	if (!r || !r->read)
		return rs__error_set(RS_EINVAL, "read from a NULL reader");
	if (len == 0)
		return 0;
	n = r->read(r, buf, len);
	return said(serial, n, "reading a stream");
}

int rs_reader_rewind(rs_reader *r)
{
	if (!r)
		return rs__error_set(RS_EINVAL, "rewind of a NULL reader");
	if (!r->rewind)
		return rs__error_set(RS_EUNSUPPORTED, "this reader cannot start again from byte 0");
	{
		unsigned long serial = rs__error_serial();
		int error = r->rewind(r);
		return (int)said(serial, error, "rewinding a stream");
	}
}

int64_t rs_reader_size(const rs_reader *r)
{
	return r ? r->size : -1;
}

void rs_reader_free(rs_reader *r)
{
	if (r && r->free)
		r->free(r);
}

/* ---- memory ------------------------------------------------------------------------------- */

typedef struct {
	rs_reader parent;
	const unsigned char *data;
	size_t len, pos;
} mem_reader;

static long long mem_read(rs_reader *r, void *buf, size_t len)
{
	mem_reader *m = (mem_reader *)r;
	size_t n = m->len - m->pos;
	if (n > len)
		n = len;
	if (n > (size_t)LLONG_MAX)
		n = (size_t)LLONG_MAX;
	if (n)
		memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (long long)n;
}

static int mem_rewind(rs_reader *r)
{
	((mem_reader *)r)->pos = 0;
	return 0;
}

static void mem_free(rs_reader *r)
{
	free(r);
}

int rs_reader_from_memory(rs_reader **out, const void *data, size_t len)
{
	mem_reader *m;
	if (!out || (!data && len))
		return rs__error_set(RS_EINVAL, "memory reader: NULL %s", out ? "data" : "output");
	m = rs__calloc(1, sizeof(*m));
	if (!m)
		return rs__oom();
	m->parent.read = mem_read;
	m->parent.rewind = mem_rewind;
	m->parent.free = mem_free;
	m->parent.size = (int64_t)len;
	m->data = data;
	m->len = len;
	*out = &m->parent;
	return 0;
}

/* ---- file descriptor ---------------------------------------------------------------------- */

typedef struct {
	rs_reader parent;
	int fd;
} fd_reader;

static long long fd_read(rs_reader *r, void *buf, size_t len)
{
	fd_reader *f = (fd_reader *)r;
	ssize_t n;
	if (len > (size_t)SSIZE_MAX)
		len = (size_t)SSIZE_MAX;
	do {
		n = read(f->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return rs__error_set(RS_EIO, "cannot read file descriptor %d: %s", f->fd,
		                     strerror(errno));
	return (long long)n;
}

static int fd_rewind(rs_reader *r)
{
	fd_reader *f = (fd_reader *)r;
	if (lseek(f->fd, 0, SEEK_SET) < 0)
		return rs__error_set(RS_EUNSUPPORTED, "cannot seek file descriptor %d: %s", f->fd,
		                     strerror(errno));
	return 0;
}

static void fd_free(rs_reader *r)
{
	fd_reader *f = (fd_reader *)r;
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

int rs_reader_from_fd(rs_reader **out, int fd, int64_t size)
{
	fd_reader *f;
	if (!out || fd < 0)
		return rs__error_set(RS_EINVAL, "file reader: invalid file descriptor %d", fd);
	f = rs__calloc(1, sizeof(*f));
	if (!f)
		return rs__oom();
	f->parent.read = fd_read;
	f->parent.rewind = fd_rewind;
	f->parent.free = fd_free;
	f->parent.size = size < 0 ? -1 : size;
	f->fd = fd;
	*out = &f->parent;
	return 0;
}

int rs__reader_from_path(rs_reader **out, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return rs__error_set(RS_ENOTFOUND, "%s: no such file", path);
		return rs__error_set(RS_EIO, "cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return rs__error_set(RS_EIO, "cannot stat %s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return rs__error_set(RS_EINVAL, "%s: not a regular file", path);
	}
	return rs_reader_from_fd(out, fd, (int64_t)st.st_size);
}

/* ---- hashing, verifying wrapper ----------------------------------------------------------- */

typedef struct {
	rs_reader parent;
	rs_reader *inner;
	bool owned;
	rs__hasher *hasher;
	char *expected; /* or NULL */
	int64_t expected_size; /* or -1 */
	uint64_t done;
	int state; /* 0 reading, 1 verified end, <0 sticky error */
	char actual[RS_DIGEST_MAX];
} verify_reader;

static const char *verify_name(const verify_reader *v)
{
	return v->expected ? v->expected : "blob";
}

static long long verify_read(rs_reader *r, void *buf, size_t len)
{
	verify_reader *v = (verify_reader *)r;
	long long n;
	if (v->state < 0)
		return rs__error_set(v->state, "%s: read after a failed verification",
		                     verify_name(v));
	if (v->state == 1)
		return 0;
	n = rs_reader_read(v->inner, buf, len);
	if (n < 0)
		return v->state = (int)n;
	if (n > 0) {
		rs__hasher_update(v->hasher, buf, (size_t)n);
		v->done += (uint64_t)n;
		if (v->expected_size >= 0 && v->done > (uint64_t)v->expected_size) {
			v->state = RS_EFORMAT;
			return rs__error_set(RS_EFORMAT,
			                     "%s: size mismatch: more than the expected %lld bytes",
			                     verify_name(v), (long long)v->expected_size);
		}
		if (v->expected_size >= 0 && v->done == (uint64_t)v->expected_size) {
			/* The last expected byte: verify now, before handing it out. A consumer
			 * that knows the size (an HTTP upload with Content-Length) never asks again
			 * for the end of the data, so a check at the end would come too late. */
			char extra;
			long long more = rs_reader_read(v->inner, &extra, 1);
			if (more < 0)
				return v->state = (int)more;
			if (more > 0) {
				v->state = RS_EFORMAT;
				return rs__error_set(
				        RS_EFORMAT,
				        "%s: size mismatch: more than the expected %lld bytes",
				        verify_name(v), (long long)v->expected_size);
			}
			rs__hasher_final(v->hasher, v->actual);
			if (v->expected && strcmp(v->expected, v->actual)) {
				v->state = RS_EDIGEST;
				return rs__error_set(RS_EDIGEST,
				                     "digest mismatch: expected %s, got %s",
				                     v->expected, v->actual);
			}
			v->state = 1;
		}
		return n;
	}
	/* end of data: check size, then digest */
	rs__hasher_final(v->hasher, v->actual);
	if (v->expected_size >= 0 && v->done != (uint64_t)v->expected_size) {
		v->state = RS_EFORMAT;
		return rs__error_set(
		        RS_EFORMAT, "%s: size mismatch: expected %lld bytes, got %llu (truncated)",
		        verify_name(v), (long long)v->expected_size, (unsigned long long)v->done);
	}
	if (v->expected && strcmp(v->expected, v->actual)) {
		v->state = RS_EDIGEST;
		return rs__error_set(RS_EDIGEST, "digest mismatch: expected %s, got %s",
		                     v->expected, v->actual);
	}
	v->state = 1;
	return 0;
}

static int verify_rewind(rs_reader *r)
{
	verify_reader *v = (verify_reader *)r;
	int error;
	if ((error = rs_reader_rewind(v->inner)) < 0)
		return error;
	rs__hasher_reset(v->hasher);
	v->done = 0;
	v->state = 0;
	v->actual[0] = '\0';
	return 0;
}

static void verify_free(rs_reader *r)
{
	verify_reader *v = (verify_reader *)r;
	if (v->owned)
		rs_reader_free(v->inner);
	rs__hasher_free(v->hasher);
	free(v->expected);
	free(v);
}

int rs__reader_verify(rs_reader **out, rs_reader *inner, const char *expected_digest,
                      int64_t expected_size, bool owned)
{
	verify_reader *v;
	rs__hasher *h = NULL;
	int error;
	if (!out || !inner)
		return rs__error_set(RS_EINVAL, "verifying reader: NULL %s",
		                     out ? "inner reader" : "output");
	if (expected_digest && (error = rs__digest_check(expected_digest)) < 0)
		return error;
	if ((error = rs__hasher_new(&h, expected_digest && !strncmp(expected_digest, "sha512:", 7)
	                                        ? "sha512"
	                                        : "sha256")) < 0)
		return error;
	v = rs__calloc(1, sizeof(*v));
	if (!v) {
		rs__hasher_free(h);
		return rs__oom();
	}
	v->parent.read = verify_read;
	v->parent.rewind = inner->rewind ? verify_rewind : NULL;
	v->parent.free = verify_free;
	v->parent.size = expected_size >= 0 ? expected_size : inner->size;
	v->inner = inner;
	v->owned = owned;
	v->hasher = h;
	v->expected = expected_digest ? rs__strdup(expected_digest) : NULL;
	if (expected_digest && !v->expected) {
		rs__hasher_free(h);
		free(v);
		return rs__oom();
	}
	v->expected_size = expected_size < 0 ? -1 : expected_size;
	*out = &v->parent;
	return 0;
}

int rs__reader_verify_result(const rs_reader *r, char digest[RS_DIGEST_MAX], uint64_t *bytes)
{
	const verify_reader *v = (const verify_reader *)r;
	if (!r || r->read != verify_read)
		return rs__error_set(RS_EINVAL, "not a verifying reader");
	if (v->state != 1)
		return rs__error_set(RS_EINVAL, "%s: the reader has not been read to its end",
		                     verify_name(v));
	if (digest)
		memcpy(digest, v->actual, RS_DIGEST_MAX);
	if (bytes)
		*bytes = v->done;
	return 0;
}

bool rs__reader_verifies(const rs_reader *r, const char *digest, int64_t size)
{
	const verify_reader *v = (const verify_reader *)r;
	return r && r->read == verify_read && v->state == 0 && v->done == 0 && v->expected &&
	       digest && !strcmp(v->expected, digest) && size >= 0 && v->expected_size == size;
}
