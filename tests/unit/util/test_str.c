/* Unit tests for lib/util/str.c: string helpers, sizes, base64, URL escaping and files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/util.h"

#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- temporary directory fixture ---- */

typedef struct {
	char dir[64];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (test_tmpdir(f->dir, sizeof(f->dir), "str") < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	test_rm_rf(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* ---- small string predicates ---- */

static void test_predicates(void **state)
{
	(void)state;
	assert_true(rs__str_startswith("application/json", "application/"));
	assert_true(rs__str_startswith("abc", ""));
	assert_false(rs__str_startswith("ab", "abc"));
	assert_false(rs__str_startswith("xabc", "abc"));
	assert_true(rs__str_endswith("image.tar", ".tar"));
	assert_true(rs__str_endswith("x", ""));
	assert_false(rs__str_endswith("tar", ".tar"));
	assert_false(rs__str_endswith("image.tar.gz", ".tar"));
	assert_true(rs__str_iequal("Content-Type", "content-TYPE"));
	assert_false(rs__str_iequal("Content-Type", "Content-Typ"));
	assert_false(rs__str_iequal("Content", "Content-Type"));
	assert_true(rs__str_iequal("", ""));
	assert_true(rs__str_niequal("WWW-Authenticate: x", "www-authenticate", 16));
	assert_false(rs__str_niequal("WWW-Authenticatx", "www-authenticate", 16));
	/* stops at the end of both strings */
	assert_true(rs__str_niequal("ab", "AB", 10));
	assert_false(rs__str_niequal("ab", "abc", 10));
}

/* ---- rs_size_parse ---- */

static uint64_t size_ok(const char *s)
{
	uint64_t v = 12345;
	int rc = rs_size_parse(&v, s);
	if (rc != 0)
		fail_msg("rs_size_parse(\"%s\") = %d (%s)", s, rc,
		         rs_error_last() ? rs_error_last()->message : "");
	return v;
}

static void test_parse_size_units(void **state)
{
	(void)state;
	assert_int_equal(size_ok("0"), 0);
	assert_int_equal(size_ok("512"), 512);
	assert_int_equal(size_ok("7B"), 7);
	assert_int_equal(size_ok("7b"), 7);
	assert_int_equal(size_ok("5k"), 5 * 1024);
	assert_int_equal(size_ok("5K"), 5 * 1024);
	assert_int_equal(size_ok("5KB"), 5 * 1024);
	assert_int_equal(size_ok("512KiB"), 512 * 1024);
	assert_int_equal(size_ok("5m"), 5ULL << 20);
	assert_int_equal(size_ok("5M"), 5ULL << 20);
	assert_int_equal(size_ok("5MB"), 5ULL << 20);
	assert_int_equal(size_ok("5MiB"), 5ULL << 20);
	assert_int_equal(size_ok("3g"), 3ULL << 30);
	assert_int_equal(size_ok("3G"), 3ULL << 30);
	assert_int_equal(size_ok("3GB"), 3ULL << 30);
	assert_int_equal(size_ok("3GiB"), 3ULL << 30);
	assert_true(size_ok("18446744073709551615") == UINT64_MAX);
	assert_true(size_ok("17179869183G") == 17179869183ULL << 30);
}

static void size_bad(const char *s, const char *needle)
{
	uint64_t v = 777;
	rs_error_clear();
	assert_int_equal(rs_size_parse(&v, s), RS_EINVAL);
	assert_int_equal(v, 777); /* untouched on failure */
	assert_error_mentions(RS_EINVAL, needle);
}

static void test_parse_size_errors(void **state)
{
	(void)state;
	size_bad("", "expected a number");
	size_bad("M", "\"M\"");
	size_bad("-1", "\"-1\"");
	size_bad(" 5", "expected a number");
	size_bad("+5", "expected a number");
	size_bad("5X", "unknown unit \"X\"");
	size_bad("5 M", "unknown unit \" M\"");
	size_bad("5Mi", "unknown unit \"Mi\"");
	size_bad("5T", "unknown unit \"T\"");
	size_bad("1.5M", "expected a whole number (for a fraction use a smaller unit");
	size_bad("2,5G", "expected a whole number");
	size_bad("nan", "expected a number");
	size_bad("inf", "expected a number");
	size_bad("1e30G", "unknown unit \"e30G\"");
	size_bad("0x10", "unknown unit \"x10\"");
	size_bad("18446744073709551616", "out of range");
	size_bad("17179869184G", "out of range");
	size_bad("99999999999999999999999", "out of range");
	rs_error_clear();
	assert_int_equal(rs_size_parse(&(uint64_t){0}, NULL), RS_EINVAL);
}

/* ---- base64 ---- */

static const struct {
	const char *plain, *b64;
} rfc4648[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
};

static void test_base64_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		char *enc = rs__base64_encode(rfc4648[i].plain, strlen(rfc4648[i].plain));
		rs_buf dec = RS_BUF_INIT;
		assert_string_equal(enc, rfc4648[i].b64);
		assert_int_equal(rs__base64_decode(&dec, rfc4648[i].b64), 0);
		assert_int_equal(dec.size, strlen(rfc4648[i].plain));
		if (dec.size)
			assert_memory_equal(dec.ptr, rfc4648[i].plain, dec.size);
		free(enc);
		rs_buf_dispose(&dec);
	}
}

static void test_base64_no_padding(void **state)
{
	static const struct {
		const char *in, *plain;
	} cases[] = {{"Zg", "f"}, {"Zm8", "fo"}, {"Zm9vYg", "foob"}, {"Zm9vYmE", "fooba"}};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rs_buf dec = RS_BUF_INIT;
		assert_int_equal(rs__base64_decode(&dec, cases[i].in), 0);
		assert_int_equal(dec.size, strlen(cases[i].plain));
		assert_memory_equal(dec.ptr, cases[i].plain, dec.size);
		rs_buf_dispose(&dec);
	}
}

static void test_base64_binary_roundtrip(void **state)
{
	unsigned char data[256];
	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(255 - i);
	/* every length 0..256 exercises each padding case and bytes with the high bit set */
	for (size_t n = 0; n <= sizeof(data); n++) {
		char *enc = rs__base64_encode(data, n);
		rs_buf dec = RS_BUF_INIT;
		assert_int_equal(strlen(enc), 4 * ((n + 2) / 3));
		assert_int_equal(rs__base64_decode(&dec, enc), 0);
		assert_int_equal(dec.size, n);
		if (n)
			assert_memory_equal(dec.ptr, data, n);
		free(enc);
		rs_buf_dispose(&dec);
	}
	/* "user:pass" as in Basic auth and docker config.json */
	{
		char *enc = rs__base64_encode("user:pa:ss", 10);
		assert_string_equal(enc, "dXNlcjpwYTpzcw==");
		free(enc);
	}
}

/*
 * Decoding hostile input runs in a child process, so a crash is reported as a failure of
 * this test rather than taking the whole test program down.
 */
typedef struct {
	int exited; /* child exited normally */
	int rc;
	long long len;
	unsigned char bytes[64];
} decode_outcome;

static decode_outcome decode_in_child(const char *in)
{
	decode_outcome o;
	int fds[2];
	pid_t pid;
	int status = 0;
	memset(&o, 0, sizeof(o));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		rs_buf dec = RS_BUF_INIT;
		decode_outcome c;
		memset(&c, 0, sizeof(c));
		close(fds[0]);
		/* cmocka traps these to fail a test; here the parent must see the crash */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		c.exited = 1;
		c.rc = rs__base64_decode(&dec, in);
		c.len = (long long)dec.size;
		if (dec.size)
			memcpy(c.bytes, dec.ptr,
			       dec.size < sizeof(c.bytes) ? dec.size : sizeof(c.bytes));
		if (write(fds[1], &c, sizeof(c)) != (ssize_t)sizeof(c))
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &o, sizeof(o)) != (ssize_t)sizeof(o))
		memset(&o, 0, sizeof(o));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		o.exited = 0;
	return o;
}

/* Every input must be refused with RS_EFORMAT; all offenders are listed in one failure. */
static void expect_all_refused(const char *const *inputs, size_t n)
{
	rs_buf bad = RS_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		decode_outcome o = decode_in_child(inputs[i]);
		if (!o.exited)
			rs__buf_printf(&bad, "\n  rs__base64_decode(\"%s\") crashed", inputs[i]);
		else if (o.rc != RS_EFORMAT)
			rs__buf_printf(&bad,
			               "\n  rs__base64_decode(\"%s\") = %d with %lld bytes, "
			               "expected RS_EFORMAT",
			               inputs[i], o.rc, o.len);
	}
	if (bad.size) {
		print_error("%s\n", bad.ptr);
		rs_buf_dispose(&bad);
		fail();
	}
}

static void test_base64_invalid(void **state)
{
	/* outside the alphabet, whitespace, base64url characters */
	static const char *const bad_chars[] = {"Zm9v!", "Zm 9v", "Zm9v\n", "Zm-_", "Zm9v\x80"};
	(void)state;
	for (size_t i = 0; i < sizeof(bad_chars) / sizeof(bad_chars[0]); i++) {
		rs_buf dec = RS_BUF_INIT;
		rs_error_clear();
		assert_int_equal(rs__base64_decode(&dec, bad_chars[i]), RS_EFORMAT);
		assert_error_mentions(RS_EFORMAT, "base64");
		rs_buf_dispose(&dec);
	}
}

static void test_base64_only_padding(void **state)
{
	/* padding and nothing else is malformed; it must be refused, never crash */
	static const char *const inputs[] = {"=", "==", "===="};
	(void)state;
	expect_all_refused(inputs, sizeof(inputs) / sizeof(inputs[0]));
}

static void test_base64_misplaced_padding(void **state)
{
	/*
	 * Structurally invalid base64 (RFC 4648 §3.3): padding inside the data, data after
	 * padding, too much padding, a lone trailing sextet. None decodes to anything right;
	 * each must be refused with RS_EFORMAT rather than yield wrong bytes.
	 */
	static const char *const inputs[] = {
	        "Zm==Zm9v", "Zm9vYg=x", "Zm9v=", "Zg====", "A", "Zm9vY"};
	(void)state;
	expect_all_refused(inputs, sizeof(inputs) / sizeof(inputs[0]));
}

/* ---- URL escaping ---- */

static void test_url_escape(void **state)
{
	char *s;
	(void)state;
	s = rs__url_escape("AZaz09-._~");
	assert_string_equal(s, "AZaz09-._~");
	free(s);
	s = rs__url_escape("repository:library/ubuntu:pull,push");
	assert_string_equal(s, "repository%3Alibrary%2Fubuntu%3Apull%2Cpush");
	free(s);
	s = rs__url_escape("a b+c&d=e?f#g%h");
	assert_string_equal(s, "a%20b%2Bc%26d%3De%3Ff%23g%25h");
	free(s);
	s = rs__url_escape("\xc3\xa9\x01");
	assert_string_equal(s, "%C3%A9%01");
	free(s);
	s = rs__url_escape("");
	assert_string_equal(s, "");
	free(s);
}

/* ---- files ---- */

static void test_file_read(void **state)
{
	fixture *f = *state;
	char path[128];
	const char data[] = "0123456789";
	rs_buf b = RS_BUF_INIT;
	snprintf(path, sizeof(path), "%s/ten", f->dir);
	write_file(path, data, 10);

	assert_int_equal(rs__file_read(&b, path, 10), 0); /* exactly the limit */
	assert_int_equal(b.size, 10);
	assert_string_equal(b.ptr, data);
	rs_buf_dispose(&b);

	rs_error_clear();
	assert_int_equal(rs__file_read(&b, path, 9), RS_ETOOBIG);
	assert_error_mentions(RS_ETOOBIG, path);
	assert_error_mentions(RS_ETOOBIG, "9 bytes");
	rs_buf_dispose(&b);

	snprintf(path, sizeof(path), "%s/missing", f->dir);
	rs_error_clear();
	assert_int_equal(rs__file_read(&b, path, 100), RS_ENOTFOUND);
	assert_error_mentions(RS_ENOTFOUND, path);
	assert_int_equal(b.size, 0);

	/* a directory is not readable as a file, and not "not found" either */
	rs_error_clear();
	{
		int rc = rs__file_read(&b, f->dir, 100);
		assert_true(rc < 0);
		assert_int_not_equal(rc, RS_ENOTFOUND);
		assert_error_mentions(rc, f->dir);
	}
	rs_buf_dispose(&b);
}

static void test_file_read_large_binary(void **state)
{
	fixture *f = *state;
	char path[128];
	size_t n = 100000;
	unsigned char *data = malloc(n);
	rs_buf b = RS_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 7);
	snprintf(path, sizeof(path), "%s/big", f->dir);
	write_file(path, data, n);
	assert_int_equal(rs__file_read(&b, path, n), 0);
	assert_int_equal(b.size, n);
	assert_memory_equal(b.ptr, data, n);
	assert_int_equal(b.ptr[n], '\0');
	rs_buf_dispose(&b);
	/* the limit is checked across reads, not per chunk */
	assert_int_equal(rs__file_read(&b, path, n - 1), RS_ETOOBIG);
	rs_buf_dispose(&b);
	/* empty file */
	snprintf(path, sizeof(path), "%s/empty", f->dir);
	write_file(path, "", 0);
	assert_int_equal(rs__file_read(&b, path, 0), 0);
	assert_int_equal(b.size, 0);
	rs_buf_dispose(&b);
	free(data);
}

static void test_file_write_atomic(void **state)
{
	fixture *f = *state;
	char path[128];
	struct stat st;
	rs_buf b = RS_BUF_INIT;
	mode_t old = umask(022);
	snprintf(path, sizeof(path), "%s/config.json", f->dir);

	assert_int_equal(rs__file_write_atomic(path, "{\"a\":1}", 7, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(rs__file_read(&b, path, 100), 0);
	assert_string_equal(b.ptr, "{\"a\":1}");
	rs_buf_dispose(&b);

	/* replacing: new content and the new mode, even where umask would remove bits */
	umask(077);
	assert_int_equal(rs__file_write_atomic(path, "new", 3, 0644), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(rs__file_read(&b, path, 100), 0);
	assert_int_equal(b.size, 3);
	assert_string_equal(b.ptr, "new");
	rs_buf_dispose(&b);
	umask(old);

	/* no temporary file left behind */
	assert_int_equal(test_count_entries(f->dir), 1);

	/* empty content */
	assert_int_equal(rs__file_write_atomic(path, "", 0, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(test_count_entries(f->dir), 1);
}

static void test_file_write_atomic_fails_cleanly(void **state)
{
	fixture *f = *state;
	char path[160], sub[128];
	rs_buf b = RS_BUF_INIT;
	snprintf(path, sizeof(path), "%s/nodir/file", f->dir);
	rs_error_clear();
	assert_int_equal(rs__file_write_atomic(path, "x", 1, 0600), RS_EIO);
	assert_error_mentions(RS_EIO, "nodir/file");
	assert_int_equal(test_count_entries(f->dir), 0);

	/* rename onto a directory fails: the old target stays and the temp file is removed */
	snprintf(sub, sizeof(sub), "%s/target", f->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/target/inner", f->dir);
	write_file(path, "keep", 4);
	rs_error_clear();
	assert_int_equal(rs__file_write_atomic(sub, "x", 1, 0600), RS_EIO);
	assert_error_mentions(RS_EIO, sub);
	assert_int_equal(test_count_entries(f->dir), 1);
	assert_int_equal(rs__file_read(&b, path, 10), 0);
	assert_string_equal(b.ptr, "keep");
	rs_buf_dispose(&b);
}

static void test_mkdir_p(void **state)
{
	fixture *f = *state;
	char path[160];
	struct stat st;
	mode_t old = umask(0);
	snprintf(path, sizeof(path), "%s/a/b/c", f->dir);
	assert_int_equal(rs__mkdir_p(path, 0700), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/a", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700); /* intermediate ones too */
	umask(old);

	/* existing: fine, twice */
	snprintf(path, sizeof(path), "%s/a/b/c", f->dir);
	assert_int_equal(rs__mkdir_p(path, 0700), 0);
	/* trailing slash and doubled slashes */
	snprintf(path, sizeof(path), "%s/a/b/d/", f->dir);
	assert_int_equal(rs__mkdir_p(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/a//e", f->dir);
	assert_int_equal(rs__mkdir_p(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/a/e", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_mkdir_p_through_file(void **state)
{
	fixture *f = *state;
	char file[128], path[160];
	snprintf(file, sizeof(file), "%s/plain", f->dir);
	write_file(file, "x", 1);
	snprintf(path, sizeof(path), "%s/plain/sub", f->dir);
	rs_error_clear();
	assert_int_equal(rs__mkdir_p(path, 0755), RS_EIO);
	assert_error_mentions(RS_EIO, "plain/sub");
}

static void test_mkdir_p_existing_file(void **state)
{
	/* like mkdir -p: a regular file where the directory should be is an error, not success */
	fixture *f = *state;
	char file[128];
	struct stat st;
	snprintf(file, sizeof(file), "%s/plain", f->dir);
	write_file(file, "x", 1);
	rs_error_clear();
	if (rs__mkdir_p(file, 0755) == 0)
		fail_msg("rs__mkdir_p(\"%s\") returned 0 although it is a regular file", file);
	assert_true(rs_error_is_set());
	assert_int_equal(stat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_predicates),
	        cmocka_unit_test(test_parse_size_units),
	        cmocka_unit_test(test_parse_size_errors),
	        cmocka_unit_test(test_base64_vectors),
	        cmocka_unit_test(test_base64_no_padding),
	        cmocka_unit_test(test_base64_binary_roundtrip),
	        cmocka_unit_test(test_base64_invalid),
	        cmocka_unit_test(test_base64_only_padding),
	        cmocka_unit_test(test_base64_misplaced_padding),
	        cmocka_unit_test(test_url_escape),
	        cmocka_unit_test_setup_teardown(test_file_read, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_file_read_large_binary, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_file_write_atomic, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_file_write_atomic_fails_cleanly, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_mkdir_p_through_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_mkdir_p_existing_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
