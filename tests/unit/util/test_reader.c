#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/digest.h"
#include "util/reader.h"
#include "util/util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char data[] = "hello, registry world\n";

/* A reader handing out one byte per call, counting frees; no rewind. */
typedef struct {
	rs_reader parent;
	const char *p;
	size_t left;
	int *freed;
} drip_reader;

static long long drip_read(rs_reader *r, void *buf, size_t len)
{
	drip_reader *d = (drip_reader *)r;
	(void)len;
	if (!d->left)
		return 0;
	*(char *)buf = *d->p++;
	d->left--;
	return 1;
}

static void drip_free(rs_reader *r)
{
	drip_reader *d = (drip_reader *)r;
	(*d->freed)++;
	free(d);
}

static rs_reader *drip_new(const char *s, size_t n, int *freed)
{
	drip_reader *d = calloc(1, sizeof(*d));
	d->parent.read = drip_read;
	d->parent.free = drip_free;
	d->parent.size = -1;
	d->p = s;
	d->left = n;
	d->freed = freed;
	return &d->parent;
}

/* Read everything; returns the last read's result (0 at a clean end, or an error). */
static long long drain(rs_reader *r, rs_buf *out)
{
	char buf[7];
	long long n;
	while ((n = rs_reader_read(r, buf, sizeof(buf))) > 0)
		rs__buf_put(out, buf, (size_t)n);
	return n;
}

static void test_memory_reader(void **state)
{
	rs_reader *r = NULL;
	rs_buf out = RS_BUF_INIT;
	(void)state;
	assert_int_equal(rs_reader_from_memory(&r, data, strlen(data)), 0);
	assert_int_equal(r->size, (int64_t)strlen(data));
	assert_int_equal(drain(r, &out), 0);
	assert_string_equal(out.ptr, data);
	assert_int_equal(rs_reader_read(r, (char[4]){0}, 4), 0);
	rs__buf_clear(&out);
	assert_int_equal(rs_reader_rewind(r), 0);
	assert_int_equal(drain(r, &out), 0);
	assert_string_equal(out.ptr, data);
	rs_reader_free(r);
	rs_buf_dispose(&out);
	rs_reader_free(NULL);
}

static void test_fd_and_path_readers(void **state)
{
	char path[] = "/tmp/rs-reader-XXXXXX";
	rs_reader *r = NULL;
	rs_buf out = RS_BUF_INIT;
	int fd = mkstemp(path);
	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(rs_reader_from_fd(&r, fd, -5), 0);
	assert_int_equal(r->size, -1);
	assert_int_equal(drain(r, &out), 0);
	assert_string_equal(out.ptr, data);
	assert_int_equal(rs_reader_rewind(r), 0);
	rs__buf_clear(&out);
	assert_int_equal(drain(r, &out), 0);
	assert_string_equal(out.ptr, data);
	rs_reader_free(r); /* closes fd */

	assert_int_equal(rs__reader_from_path(&r, path), 0);
	assert_int_equal(r->size, (int64_t)strlen(data));
	rs__buf_clear(&out);
	assert_int_equal(drain(r, &out), 0);
	assert_string_equal(out.ptr, data);
	rs_reader_free(r);
	unlink(path);

	assert_int_equal(rs__reader_from_path(&r, path), RS_ENOTFOUND);
	assert_non_null(strstr(rs_error_last()->message, path));
	assert_int_equal(rs__reader_from_path(&r, "/tmp"), RS_EINVAL);
	assert_int_equal(rs_reader_from_fd(&r, -1, 0), RS_EINVAL);
	rs_buf_dispose(&out);
}

static void test_null_and_unsupported(void **state)
{
	int freed = 0;
	rs_reader *d = drip_new(data, 3, &freed);
	(void)state;
	assert_int_equal(rs_reader_read(NULL, (char[1]){0}, 1), RS_EINVAL);
	assert_int_equal(rs_reader_rewind(NULL), RS_EINVAL);
	assert_int_equal(rs_reader_rewind(d), RS_EUNSUPPORTED);
	rs_reader_free(d);
	assert_int_equal(freed, 1);
}

static void test_verify_good(void **state)
{
	char want[RS_DIGEST_MAX], got[RS_DIGEST_MAX];
	rs_reader *inner, *v;
	rs_buf out = RS_BUF_INIT;
	uint64_t bytes = 0;
	(void)state;
	rs__sha256_digest(want, data, strlen(data));
	assert_int_equal(rs_reader_from_memory(&inner, data, strlen(data)), 0);
	assert_int_equal(rs__reader_verify(&v, inner, want, (int64_t)strlen(data), true), 0);
	assert_int_equal(v->size, (int64_t)strlen(data));
	/* not at the end yet: no result */
	assert_int_equal(rs__reader_verify_result(v, got, &bytes), RS_EINVAL);
	assert_int_equal(drain(v, &out), 0);
	assert_string_equal(out.ptr, data);
	assert_int_equal(rs__reader_verify_result(v, got, &bytes), 0);
	assert_string_equal(got, want);
	assert_int_equal(bytes, strlen(data));
	/* rewind hashes again from the start */
	assert_int_equal(rs_reader_rewind(v), 0);
	rs__buf_clear(&out);
	assert_int_equal(drain(v, &out), 0);
	assert_string_equal(out.ptr, data);
	rs_reader_free(v); /* frees inner too: leak checkers would see otherwise */
	assert_int_equal(rs__reader_verify_result(NULL, got, NULL), RS_EINVAL);
	rs_buf_dispose(&out);
}

static void test_verify_digest_mismatch(void **state)
{
	char want[RS_DIGEST_MAX], actual[RS_DIGEST_MAX];
	rs_reader *inner, *v;
	rs_buf out = RS_BUF_INIT;
	int freed = 0;
	(void)state;
	rs__sha256_digest(want, "something else", 14);
	rs__sha256_digest(actual, data, strlen(data));
	inner = drip_new(data, strlen(data), &freed);
	assert_int_equal(rs__reader_verify(&v, inner, want, (int64_t)strlen(data), false), 0);
	assert_null(v->rewind); /* inner cannot rewind */
	assert_int_equal(drain(v, &out), RS_EDIGEST);
	assert_non_null(strstr(rs_error_last()->message, want));
	assert_non_null(strstr(rs_error_last()->message, actual));
	/* the failure sticks */
	assert_int_equal(rs_reader_read(v, (char[4]){0}, 4), RS_EDIGEST);
	rs_reader_free(v);
	assert_int_equal(freed, 0); /* not owned */
	rs_reader_free(inner);
	assert_int_equal(freed, 1);
	rs_buf_dispose(&out);
}

static void test_verify_size_mismatch(void **state)
{
	char want[RS_DIGEST_MAX];
	rs_reader *inner, *v;
	rs_buf out = RS_BUF_INIT;
	(void)state;
	rs__sha256_digest(want, data, strlen(data));
	/* fewer bytes than announced */
	assert_int_equal(rs_reader_from_memory(&inner, data, strlen(data)), 0);
	assert_int_equal(rs__reader_verify(&v, inner, want, (int64_t)strlen(data) + 1, true), 0);
	assert_int_equal(drain(v, &out), RS_EFORMAT);
	assert_non_null(strstr(rs_error_last()->message, "size mismatch"));
	assert_non_null(strstr(rs_error_last()->message, want));
	rs_reader_free(v);
	/* more bytes than announced: stops as soon as they exceed */
	rs__buf_clear(&out);
	assert_int_equal(rs_reader_from_memory(&inner, data, strlen(data)), 0);
	assert_int_equal(rs__reader_verify(&v, inner, want, 3, true), 0);
	assert_int_equal(drain(v, &out), RS_EFORMAT);
	assert_non_null(strstr(rs_error_last()->message, "more than the expected 3 bytes"));
	rs_reader_free(v);
	rs_buf_dispose(&out);
}

static void test_verify_unchecked_and_invalid(void **state)
{
	char want[RS_DIGEST_MAX], got[RS_DIGEST_MAX];
	rs_reader *inner, *v = NULL;
	rs_buf out = RS_BUF_INIT;
	uint64_t bytes;
	(void)state;
	rs__sha256_digest(want, data, strlen(data));
	assert_int_equal(rs_reader_from_memory(&inner, data, strlen(data)), 0);
	/* no expectations: computes the digest only */
	assert_int_equal(rs__reader_verify(&v, inner, NULL, -1, false), 0);
	assert_int_equal(drain(v, &out), 0);
	assert_int_equal(rs__reader_verify_result(v, got, &bytes), 0);
	assert_string_equal(got, want);
	assert_int_equal(bytes, strlen(data));
	rs_reader_free(v);
	v = NULL;
	assert_int_equal(rs__reader_verify(&v, inner, "sha256:../../etc/passwd", -1, false),
	                 RS_EINVAL);
	assert_null(v);
	assert_int_equal(rs__reader_verify(&v, NULL, want, -1, false), RS_EINVAL);
	rs_reader_free(inner);
	rs_buf_dispose(&out);
}

static void test_verifies(void **state)
{
	char want[RS_DIGEST_MAX];
	rs_reader *inner, *v;
	char buf[4];
	(void)state;
	rs__sha256_digest(want, data, strlen(data));
	assert_int_equal(rs_reader_from_memory(&inner, data, strlen(data)), 0);
	assert_false(rs__reader_verifies(inner, want, (int64_t)strlen(data)));
	assert_int_equal(rs__reader_verify(&v, inner, want, (int64_t)strlen(data), true), 0);
	assert_true(rs__reader_verifies(v, want, (int64_t)strlen(data)));
	assert_false(rs__reader_verifies(v, want, -1));
	assert_false(rs__reader_verifies(v, want, 3));
	assert_false(rs__reader_verifies(v, "sha256:" /* other */, (int64_t)strlen(data)));
	assert_false(rs__reader_verifies(NULL, want, 3));
	/* once read from, it no longer stands for the whole blob */
	assert_int_equal(rs_reader_read(v, buf, sizeof(buf)), 4);
	assert_false(rs__reader_verifies(v, want, (int64_t)strlen(data)));
	rs_reader_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_memory_reader),
	        cmocka_unit_test(test_fd_and_path_readers),
	        cmocka_unit_test(test_null_and_unsupported),
	        cmocka_unit_test(test_verify_good),
	        cmocka_unit_test(test_verify_digest_mismatch),
	        cmocka_unit_test(test_verify_size_mismatch),
	        cmocka_unit_test(test_verify_unchecked_and_invalid),
	        cmocka_unit_test(test_verifies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
