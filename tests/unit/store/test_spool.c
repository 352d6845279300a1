/* lib/store/spool.c: standard input kept in a file without a name, reread through its path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store.h"
#include "util/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
static int saved_stdin = -1;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/regship-spool-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	saved_stdin = dup(STDIN_FILENO);
	return saved_stdin < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	dup2(saved_stdin, STDIN_FILENO);
	close(saved_stdin);
	return rmdir(dir);
}

static size_t entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Standard input becomes a pipe a child process fills with len bytes of a pattern. */
static pid_t stdin_from_pipe(size_t len)
{
	int fds[2];
	pid_t pid;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned char buf[4096];
		close(fds[0]);
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (unsigned char)(i * 7);
		while (len) {
			size_t n = len < sizeof(buf) ? len : sizeof(buf);
			if (write(fds[1], buf, n) != (ssize_t)n)
				_exit(1);
			len -= n;
		}
		_exit(0);
	}
	close(fds[1]);
	dup2(fds[0], STDIN_FILENO);
	close(fds[0]);
	return pid;
}

static void test_pipe(void **state)
{
	rs__spool sp = RS__SPOOL_INIT;
	size_t len = 300000, got = 0;
	unsigned char buf[4096];
	struct stat st;
	ssize_t n;
	int fd, status;
	pid_t pid = stdin_from_pipe(len);
	(void)state;
	assert_int_equal(rs__spool_stdin(&sp, "docker-archive", dir), 0);
	waitpid(pid, &status, 0);
	/* no name in the directory, mode 0600, close-on-exec */
	assert_int_equal(entries(dir), 0);
	assert_int_equal(fstat(sp.fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(fcntl(sp.fd, F_GETFD) & FD_CLOEXEC);
	/* the path rereads it all, from the start, as often as needed */
	for (int round = 0; round < 2; round++) {
		got = 0;
		fd = open(sp.path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			for (ssize_t i = 0; i < n; i++)
				assert_int_equal(buf[i],
				                 (unsigned char)(((got + (size_t)i) % 4096) * 7));
			got += (size_t)n;
		}
		close(fd);
		assert_int_equal(got, len);
	}
	rs__spool_dispose(&sp);
	assert_int_equal(sp.fd, -1);
	rs__spool_dispose(&sp); /* twice is fine */
}

static void test_empty_and_regular(void **state)
{
	rs__spool sp = RS__SPOOL_INIT;
	char file[128];
	FILE *f;
	int status;
	pid_t pid = stdin_from_pipe(0);
	(void)state;
	assert_int_equal(rs__spool_stdin(&sp, "oci-archive", dir), RS_EFORMAT);
	assert_non_null(strstr(rs_error_last()->message, "oci-archive:-: standard input is empty"));
	assert_int_equal(sp.fd, -1);
	waitpid(pid, &status, 0);
	assert_int_equal(entries(dir), 0);

	/* a regular file on standard input is used in place */
	snprintf(file, sizeof(file), "%s/in.tar", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("hello", f);
	fclose(f);
	assert_non_null(freopen(file, "r", stdin));
	assert_int_equal(rs__spool_stdin(&sp, "docker-archive", "/nonexistent-dir"), 0);
	{
		char got[16] = {0};
		int fd = open(sp.path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(read(fd, got, sizeof(got)), 5);
		assert_string_equal(got, "hello");
		close(fd);
	}
	/* messages naming the spool's path can name "standard input" instead */
	rs__error_set(RS_EFORMAT, "%s: not a tar archive (%s)", sp.path, sp.path);
	assert_int_equal(rs__spool_error(&sp, RS_EFORMAT, "standard input"), RS_EFORMAT);
	assert_string_equal(rs_error_last()->message,
	                    "standard input: not a tar archive (standard input)");
	rs__spool_dispose(&sp);
	unlink(file);

	/* a pipe with no room for its copy: the error names the directory */
	pid = stdin_from_pipe(10);
	assert_int_equal(rs__spool_stdin(&sp, "docker-archive", "/nonexistent-dir"), RS_EIO);
	assert_non_null(strstr(rs_error_last()->message, "/nonexistent-dir"));
	waitpid(pid, &status, 0);
	assert_true(rs__spool_wanted("-"));
	assert_false(rs__spool_wanted("-x"));
	assert_false(rs__spool_wanted(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_pipe),
	        cmocka_unit_test(test_empty_and_regular),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
