/* Unit tests for lib/util/file.c: regular-file opens, directory walks without links, unique
 * temporary files and atomic writes; and lib/util/json.c's content-free parse errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/file.h"
#include "util/json.h"
#include "util/util.h"

#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	char dir[64];
	int dirfd;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (!f || test_tmpdir(f->dir, sizeof(f->dir), "file") < 0) {
		free(f);
		return -1;
	}
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return f->dirfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	close(f->dirfd);
	test_rm_rf(f->dir);
	free(f);
	return 0;
}

static void put(const fixture *f, const char *name, const char *text)
{
	char path[256];
	FILE *fp;
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static char *slurp(const fixture *f, const char *name)
{
	rs_buf b = RS_BUF_INIT;
	assert_int_equal(rs__file_read_regular(&b, f->dirfd, name, 1 << 20, 0, NULL), 0);
	return rs__buf_detach(&b);
}

static void test_read_regular(void **state)
{
	fixture *f = *state;
	rs_buf b = RS_BUF_INIT;
	char *s;
	put(f, "a", "hello");
	s = slurp(f, "a");
	assert_string_equal(s, "hello");
	free(s);
	/* a limit, and a missing file */
	assert_int_equal(rs__file_read_regular(&b, f->dirfd, "a", 4, 0, "shown/a"), RS_ETOOBIG);
	assert_error_mentions(RS_ETOOBIG, "shown/a");
	rs_buf_dispose(&b);
	assert_int_equal(rs__file_read_regular(&b, f->dirfd, "none", 10, 0, NULL), RS_ENOTFOUND);
	assert_error_mentions(RS_ENOTFOUND, "none");
	rs_buf_dispose(&b);
}

static void test_refuses_special_files_at_once(void **state)
{
	fixture *f = *state;
	struct sockaddr_un sa = {0};
	char path[256];
	rs_buf b = RS_BUF_INIT;
	time_t t0 = time(NULL);
	int fd, s;
	/* a FIFO with no writer: open() must not block */
	snprintf(path, sizeof(path), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(rs__file_open_regular(&fd, f->dirfd, "fifo", 0, path, NULL), RS_EINVAL);
	assert_int_equal(fd, -1);
	assert_error_mentions(RS_EINVAL, "it is a FIFO, not a regular file");
	assert_error_mentions(RS_EINVAL, path);
	assert_int_equal(rs__file_read_regular(&b, AT_FDCWD, path, 10, 0, NULL), RS_EINVAL);
	/* a socket */
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", f->dir);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	assert_int_equal(rs__file_read_regular(&b, f->dirfd, "sock", 10, 0, NULL), RS_EINVAL);
	assert_error_mentions(RS_EINVAL, "it is a socket");
	/* a device (through a link, which is followed without RS_FILE_NOFOLLOW) */
	snprintf(path, sizeof(path), "%s/zero", f->dir);
	assert_int_equal(symlink("/dev/zero", path), 0);
	assert_int_equal(rs__file_read_regular(&b, f->dirfd, "zero", 10, 0, NULL), RS_EINVAL);
	assert_error_mentions(RS_EINVAL, "character device");
	/* a directory */
	snprintf(path, sizeof(path), "%s/d", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(rs__file_read_regular(&b, f->dirfd, "d", 10, 0, NULL), RS_EINVAL);
	assert_error_mentions(RS_EINVAL, "it is a directory");
	assert_true(time(NULL) - t0 < 5);
	rs_buf_dispose(&b);
}

static void test_nofollow(void **state)
{
	fixture *f = *state;
	char path[256];
	rs_buf b = RS_BUF_INIT;
	put(f, "target", "secret");
	snprintf(path, sizeof(path), "%s/link", f->dir);
	assert_int_equal(symlink("target", path), 0);
	assert_int_equal(rs__file_read_regular(&b, f->dirfd, "link", 100, RS_FILE_NOFOLLOW, NULL),
	                 RS_EINVAL);
	assert_error_mentions(RS_EINVAL, "symbolic link");
	assert_null(b.ptr);
	/* followed without the flag */
	assert_int_equal(rs__file_read_regular(&b, f->dirfd, "link", 100, 0, NULL), 0);
	assert_string_equal(b.ptr, "secret");
	rs_buf_dispose(&b);
}

static void test_dir_open_at(void **state)
{
	fixture *f = *state;
	char path[256], other[256];
	int fd;
	/* created when asked */
	assert_int_equal(rs__dir_open_at(&fd, f->dirfd, "x/y/z", RS_FILE_CREATE | RS_FILE_NOFOLLOW,
	                                 0755, NULL),
	                 0);
	close(fd);
	assert_int_equal(rs__dir_open_at(&fd, f->dirfd, "x/y/z", RS_FILE_NOFOLLOW, 0, NULL), 0);
	close(fd);
	assert_int_equal(rs__dir_open_at(&fd, f->dirfd, "x/none", RS_FILE_NOFOLLOW, 0, NULL),
	                 RS_ENOTFOUND);
	/* a link as any component is refused, and nothing is made behind it */
	snprintf(other, sizeof(other), "%s/other", f->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	snprintf(path, sizeof(path), "%s/x/link", f->dir);
	assert_int_equal(symlink(other, path), 0);
	assert_int_equal(rs__dir_open_at(&fd, f->dirfd, "x/link/sub",
	                                 RS_FILE_CREATE | RS_FILE_NOFOLLOW, 0755, "L/x/link/sub"),
	                 RS_EINVAL);
	assert_error_mentions(RS_EINVAL, "refusing to use L/x/link/sub: link is a symbolic link");
	assert_int_equal(test_count_entries(other), 0);
	/* a file where a directory belongs */
	put(f, "x/file", "");
	assert_int_equal(rs__dir_open_at(&fd, f->dirfd, "x/file/sub", RS_FILE_CREATE, 0755, NULL),
	                 RS_EINVAL);
	assert_error_mentions(RS_EINVAL, "not a directory");
	/* followed without RS_FILE_NOFOLLOW */
	assert_int_equal(rs__dir_open_at(&fd, f->dirfd, "x/link", 0, 0, NULL), 0);
	close(fd);
}

static void test_tmp_names_unique_and_exclusive(void **state)
{
	fixture *f = *state;
	char *names[20];
	int fds[20];
	for (int i = 0; i < 20; i++) {
		assert_int_equal(rs__file_tmp_at(&fds[i], &names[i], f->dirfd, ".t-", f->dir), 0);
		assert_true(rs__str_startswith(names[i], ".t-"));
		assert_int_equal(strlen(names[i]), 3 + 12);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(names[i], names[j]);
	}
	for (int i = 0; i < 20; i++) {
		struct stat st;
		assert_int_equal(fstat(fds[i], &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		close(fds[i]);
		unlinkat(f->dirfd, names[i], 0);
		free(names[i]);
	}
	assert_int_equal(test_count_entries(f->dir), 0);
}

static void test_write_atomic_replaces_links_not_targets(void **state)
{
	fixture *f = *state;
	char path[256], target[256];
	char *s;
	struct stat st;
	put(f, "victim", "precious");
	snprintf(target, sizeof(target), "%s/victim", f->dir);
	snprintf(path, sizeof(path), "%s/out", f->dir);
	assert_int_equal(symlink(target, path), 0);
	/* the old predictable name, planted */
	snprintf(path, sizeof(path), "%s/out.tmp.%ld", f->dir, (long)getpid());
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(rs__file_write_atomic_at(f->dirfd, "out", "new", 3, 0640, 0, NULL), 0);
	s = slurp(f, "victim");
	assert_string_equal(s, "precious");
	free(s);
	assert_int_equal(fstatat(f->dirfd, "out", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0640);
	s = slurp(f, "out");
	assert_string_equal(s, "new");
	free(s);
	/* the path form, too */
	snprintf(path, sizeof(path), "%s/out", f->dir);
	assert_int_equal(rs__file_write_atomic(path, "again", 5, 0600), 0);
	s = slurp(f, "out");
	assert_string_equal(s, "again");
	free(s);
	/* victim, out, the planted link: nothing else */
	assert_int_equal(test_count_entries(f->dir), 3);
}

static void test_write_atomic_refuses_special_targets(void **state)
{
	fixture *f = *state;
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(rs__file_write_atomic(path, "x", 1, 0600), RS_EIO);
	assert_error_mentions(RS_EIO, "refusing to replace");
	assert_error_mentions(RS_EIO, "a FIFO");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(test_count_entries(f->dir), 1);
	assert_int_equal(rs__file_write_atomic_at(f->dirfd, "a/b", "x", 1, 0600, 0, NULL),
	                 RS_EINVAL);
	snprintf(path, sizeof(path), "%s/", f->dir);
	assert_int_equal(rs__file_write_atomic(path, "x", 1, 0600), RS_EINVAL);
}

static void test_json_errors_quote_nothing(void **state)
{
	static const char *const inputs[] = {
	        "root:$6$secretword:19000",  "{\"a\": secretword}", "[1, 2,",
	        "{\"a\":1} secretword",      "\"secretword",        "{\"a\":\"\\u00zz\"}",
	        "{\"a\": 1e99999999999999}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		json_error_t jerr;
		json_t *j = json_loads(inputs[i], 0, &jerr);
		assert_null(j);
		assert_int_equal(rs__json_error("/x/index.json", &jerr), RS_EFORMAT);
		assert_error_mentions(RS_EFORMAT, "/x/index.json: invalid JSON at line 1, column ");
		if (strstr(rs_error_last()->message, "secret") ||
		    strstr(rs_error_last()->message, "root") ||
		    strstr(rs_error_last()->message, "zz"))
			fail_msg("the message quotes the input: %s", rs_error_last()->message);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_read_regular, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refuses_special_files_at_once, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_nofollow, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dir_open_at, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_tmp_names_unique_and_exclusive, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_write_atomic_replaces_links_not_targets, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_write_atomic_refuses_special_targets, setup,
	                                        teardown),
	        cmocka_unit_test(test_json_errors_quote_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
