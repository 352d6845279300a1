/* The archive writers' shared pieces: rs__tar_write_member and rs__tar_write_file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/tarwrite.h"
#include "util/util.h"

#include "testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	char dir[64];
	char file[128];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (!f || test_tmpdir(f->dir, sizeof(f->dir), "tarwrite") < 0) {
		free(f);
		return -1;
	}
	snprintf(f->file, sizeof(f->file), "%s/out.tar", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	rs_error_clear();
	assert_int_equal(test_rm_rf(f->dir), 0);
	free(f);
	return 0;
}

/* members for rs__tar_write_file: "d/" (directory), "d/a" (bytes), "d/b" (bytes); member
 * fail_at (when >= 0) fails instead */
typedef struct {
	int fail_at;
	size_t calls;
} members;

static int write_one(void *payload, struct archive *a, size_t i, const char *tmpname,
                     unsigned char *buf)
{
	members *m = payload;
	static const char *const names[] = {"d", "d/a", "d/b"};
	static const char *const data[] = {NULL, "alpha", "bravo!"};
	m->calls++;
	if ((int)i == m->fail_at)
		return rs__error_set(RS_EIO, "member %zu of %s failed on purpose", i, tmpname);
	return rs__tar_write_member(a, tmpname, names[i], i == 0, NULL, data[i],
	                            data[i] ? (int64_t)strlen(data[i]) : 0, buf, RS_TAR_BUFSIZE);
}

/* rs__tar_write_file to a path, as the archive stores do: resolve it, then write. */
static int write_to(const char *file, size_t count, rs__tar_member_fn fn, void *payload)
{
	rs__dest d;
	int error;
	if ((error = rs__dest_resolve(&d, file, "test archive")) < 0)
		return error;
	error = rs__tar_write_file(&d, count, fn, payload);
	rs__dest_dispose(&d);
	return error;
}

static void test_write_file_members_in_order(void **state)
{
	fixture *f = *state;
	members m = {-1, 0};
	struct archive *a;
	struct archive_entry *e;
	const char *want[] = {"d/", "d/a", "d/b"};
	const char *body[] = {NULL, "alpha", "bravo!"};
	struct stat st;
	size_t n = 0;

	assert_int_equal(write_to(f->file, 3, write_one, &m), 0);
	assert_int_equal(m.calls, 3);
	assert_int_equal(stat(f->file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* only the archive: no temporary file left beside it */
	assert_int_equal(test_count_entries(f->dir), 1);

	a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, f->file, 10240), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char got[16] = "";
		assert_true(n < 3);
		assert_string_equal(archive_entry_pathname(e), want[n]);
		assert_int_equal(archive_entry_mtime(e), 0);
		assert_int_equal(archive_entry_uid(e), 0);
		if (body[n]) {
			assert_int_equal(archive_entry_filetype(e), AE_IFREG);
			assert_int_equal(archive_read_data(a, got, sizeof(got)), strlen(body[n]));
			assert_string_equal(got, body[n]);
		} else {
			assert_int_equal(archive_entry_filetype(e), AE_IFDIR);
		}
		n++;
	}
	assert_int_equal(n, 3);
	archive_read_free(a);
}

static void test_failed_member_leaves_nothing(void **state)
{
	fixture *f = *state;
	members m = {1, 0};
	FILE *old;

	/* an archive already there stays as it was */
	old = fopen(f->file, "w");
	assert_non_null(old);
	fputs("previous", old);
	fclose(old);
	assert_int_equal(write_to(f->file, 3, write_one, &m), RS_EIO);
	assert_int_equal(m.calls, 2);
	assert_error_mentions(RS_EIO, "member 1 of");
	assert_int_equal(test_count_entries(f->dir), 1);
	{
		rs_buf b = RS_BUF_INIT;
		assert_int_equal(rs__file_read(&b, f->file, 1024), 0);
		assert_int_equal(b.size, strlen("previous"));
		assert_memory_equal(b.ptr, "previous", b.size);
		rs_buf_dispose(&b);
	}
}

/* one member read from a file that is shorter than the size it was announced with */
static int write_short(void *payload, struct archive *a, size_t i, const char *tmpname,
                       unsigned char *buf)
{
	const char *path = payload;
	(void)i;
	return rs__tar_write_member(a, tmpname, "short", false, path, NULL, 100000, buf,
	                            RS_TAR_BUFSIZE);
}

static void test_short_member_file_leaves_nothing(void **state)
{
	fixture *f = *state;
	char path[160];
	snprintf(path, sizeof(path), "%s/short.bin", f->dir);
	assert_int_equal(rs__file_write_atomic(path, "only this", 9, 0644), 0);
	assert_true(write_to(f->file, 1, write_short, path) < 0);
	assert_true(rs_error_is_set());
	assert_non_null(strstr(rs_error_last()->message, path));
	/* only the member's source file: no archive, no temporary file */
	assert_int_equal(test_count_entries(f->dir), 1);
	assert_int_equal(access(f->file, F_OK), -1);
}

static void test_missing_directory_is_named(void **state)
{
	fixture *f = *state;
	rs__dest d;
	char file[200];
	snprintf(file, sizeof(file), "%s/no/such/dir/out.tar", f->dir);
	assert_int_equal(rs__dest_resolve(&d, file, "test archive"), RS_EINVAL);
	assert_error_mentions(RS_EINVAL, "cannot create");
	assert_error_mentions(RS_EINVAL, "no/such/dir: No such file or directory");
}

/* a symbolic link to a regular file: the file is replaced, the link stays a link */
static void test_symlink_is_followed_and_kept(void **state)
{
	fixture *f = *state;
	members m = {-1, 0};
	char real[200], link[200], target[200];
	struct stat st;
	ssize_t n;
	snprintf(real, sizeof(real), "%s/real.tar", f->dir);
	snprintf(link, sizeof(link), "%s/link.tar", f->dir);
	assert_int_equal(rs__file_write_atomic(real, "old", 3, 0600), 0);
	assert_int_equal(symlink("real.tar", link), 0);
	assert_int_equal(write_to(link, 3, write_one, &m), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	n = readlink(link, target, sizeof(target) - 1);
	assert_int_equal(n, 8);
	target[n] = '\0';
	assert_string_equal(target, "real.tar");
	assert_int_equal(stat(real, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_true(st.st_size > 1024);
	/* the replaced file keeps its mode */
	assert_int_equal(st.st_mode & 0777, 0600);
	/* link, file; no temporary file */
	assert_int_equal(test_count_entries(f->dir), 2);
}

static void test_dangling_symlink_is_refused(void **state)
{
	fixture *f = *state;
	rs__dest d;
	char link[200];
	snprintf(link, sizeof(link), "%s/link.tar", f->dir);
	assert_int_equal(symlink("nowhere/x.tar", link), 0);
	assert_int_equal(rs__dest_resolve(&d, link, "test archive"), RS_EINVAL);
	assert_error_mentions(RS_EINVAL,
	                      "is a symbolic link to nowhere/x.tar, which does not exist");
}

static void test_directory_is_refused(void **state)
{
	fixture *f = *state;
	rs__dest d;
	char dir[200];
	snprintf(dir, sizeof(dir), "%s/sub", f->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(rs__dest_resolve(&d, dir, "test archive"), RS_EINVAL);
	assert_error_mentions(RS_EINVAL, "sub is a directory");
}

/* a FIFO or a character device is written in place, never replaced */
static void test_special_files_stream(void **state)
{
	fixture *f = *state;
	members m = {-1, 0};
	rs__dest d;
	char fifo[200];
	struct stat st;
	snprintf(fifo, sizeof(fifo), "%s/pipe", f->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(rs__dest_resolve(&d, fifo, "test archive"), 0);
	assert_true(rs__dest_streaming(&d));
	assert_false(d.exists);
	rs__dest_dispose(&d);
	assert_int_equal(write_to("/dev/null", 3, write_one, &m), 0);
	assert_int_equal(m.calls, 3);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(lstat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_write_file_members_in_order, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failed_member_leaves_nothing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_short_member_file_leaves_nothing, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_missing_directory_is_named, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_symlink_is_followed_and_kept, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dangling_symlink_is_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_directory_is_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_special_files_stream, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
