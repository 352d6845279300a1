/*
 * Helpers shared by the unit tests in tests/unit/ (temporary directories, test data, the fake
 * credential helper, error checks). Everything is static inline, so a test pays only for what
 * it calls.
 */
#ifndef RS_TEST_UNIT_TESTUTIL_H
#define RS_TEST_UNIT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "regship/reader.h"
#include "regship/store.h"
#include "util/digest.h"
#include "util/util.h"

/* ---- temporary directories ---------------------------------------------------------------- */

/* Remove path and everything below it, without following symlinks. A path that does not exist
 * is not an error. Returns 0, or -1 when something could not be removed. */
static inline int test_rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(path) + strlen(e->d_name) + 2;
		char *sub;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		sub = malloc(len);
		if (!sub) {
			rc = -1;
			break;
		}
		snprintf(sub, len, "%s/%s", path, e->d_name);
		if (test_rm_rf(sub) < 0)
			rc = -1;
		free(sub);
	}
	closedir(d);
	return rmdir(path) < 0 ? -1 : rc;
}

/* Create a fresh private directory /tmp/rs-<name>-XXXXXX and write its path to buf.
 * Returns 0, or -1 when buf is too small or mkdtemp fails. */
static inline int test_tmpdir(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "/tmp/rs-%s-XXXXXX", name);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return mkdtemp(buf) ? 0 : -1;
}

/* test_tmpdir on tmpfs (/dev/shm) where there is one: for tests that write and fsync hundreds of
 * times (the out-of-memory walks), which a disk makes slow. */
static inline int test_tmpdir_fast(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "/dev/shm/rs-%s-XXXXXX", name);
	if (n >= 0 && (size_t)n < size && access("/dev/shm", W_OK) == 0 && mkdtemp(buf))
		return 0;
	return test_tmpdir(buf, size, name);
}

/* Entries of dir other than "." and "..", or -1 when dir cannot be opened. */
static inline int test_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* ---- test data ---------------------------------------------------------------------------- */

/* The tests/data directory: $REGSHIP_TEST_DATA (set by ctest), else tests/data relative to the
 * current directory. */
static inline const char *test_data_dir(void)
{
	const char *d = getenv("REGSHIP_TEST_DATA");
	return d && *d ? d : "tests/data";
}

/* The contents of tests/data/<name> into out (cleared first), or a test failure. */
static inline void test_data_read(rs_buf *out, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", test_data_dir(), name);
	rs__buf_clear(out);
	if (rs__file_read(out, path, 1 << 20) < 0)
		fail_msg("cannot read %s: %s", path, rs_error_last()->message);
}

/*
 * Install the fake credential helper tests/data/auth/docker-credential-test as
 * <root>/bin/docker-credential-test and put <root>/bin first on PATH. The helper keeps its
 * records in <root>/state, which is created, exported as TEST_CREDHELPER_DIR and written to
 * state_dir. Returns 0, or -1 on any failure.
 */
static inline int test_install_credhelper(const char *root, char *state_dir, size_t size)
{
	char src[512], bin[512], dst[600], path[4096];
	rs_buf script = RS_BUF_INIT;
	const char *old_path = getenv("PATH");
	snprintf(bin, sizeof(bin), "%s/bin", root);
	snprintf(state_dir, size, "%s/state", root);
	if (mkdir(bin, 0700) < 0 || mkdir(state_dir, 0700) < 0)
		return -1;
	snprintf(src, sizeof(src), "%s/auth/docker-credential-test", test_data_dir());
	snprintf(dst, sizeof(dst), "%s/docker-credential-test", bin);
	if (rs__file_read(&script, src, 1 << 20) < 0 ||
	    rs__file_write_atomic(dst, script.ptr, script.size, 0755) < 0) {
		rs_buf_dispose(&script);
		return -1;
	}
	rs_buf_dispose(&script);
	snprintf(path, sizeof(path), "%s:%s", bin, old_path ? old_path : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	setenv("TEST_CREDHELPER_DIR", state_dir, 1);
	return 0;
}

/* ---- stores ------------------------------------------------------------------------------- */

/* Put data (len bytes) into store s as a blob of media type mt (NULL: none), asserting that it
 * worked; its digest goes to digest. */
static inline void test_put_blob(rs_store *s, const void *data, size_t len, const char *mt,
                                 char digest[RS_DIGEST_MAX])
{
	rs_descriptor d = {0};
	rs_reader *r = NULL;
	rs__sha256_digest(digest, data, len);
	d.digest = digest;
	d.size = (int64_t)len;
	d.media_type = (char *)mt;
	assert_int_equal(rs_reader_from_memory(&r, data, len), 0);
	assert_int_equal(rs_store_blob_put(s, &d, r, NULL, NULL), 0);
	rs_reader_free(r);
}

/* test_put_blob, returning the digest as a string the caller frees. */
static inline char *test_put_blob_dup(rs_store *s, const void *data, size_t len)
{
	char d[RS_DIGEST_MAX];
	char *copy;
	test_put_blob(s, data, len, NULL, d);
	copy = rs__strdup(d);
	assert_non_null(copy);
	return copy;
}

/* ---- errors ------------------------------------------------------------------------------- */

/* The last error has this code and its message contains needle. */
static inline void assert_error_mentions(int code, const char *needle)
{
	const rs_error *e = rs_error_last();
	assert_non_null(e);
	assert_int_equal(e->code, code);
	if (!strstr(e->message, needle))
		fail_msg("error message \"%s\" does not mention \"%s\"", e->message, needle);
}

#endif
