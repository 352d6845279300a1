/*
 * Tests of lib/auth/credhelper.c against a fake helper (tests/data/auth/docker-credential-test),
 * copied into a temporary bin/ directory that is put first on PATH.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/credhelper.h"
#include "http/http.h"
#include "util/util.h"

#include "testutil.h"

static char tmpdir[64];
static char state_dir[512];

static int setup(void **state)
{
	(void)state;
	if (test_tmpdir(tmpdir, sizeof(tmpdir), "credhelper") < 0)
		return -1;
	return test_install_credhelper(tmpdir, state_dir, sizeof(state_dir));
}

static int teardown(void **state)
{
	(void)state;
	return test_rm_rf(tmpdir);
}

static char *state_file(const char *name)
{
	rs_buf path = RS_BUF_INIT, content = RS_BUF_INIT;
	rs__buf_printf(&path, "%s/%s", state_dir, name);
	if (rs__file_read(&content, path.ptr, 1 << 20) < 0) {
		rs_buf_dispose(&path);
		return NULL;
	}
	rs_buf_dispose(&path);
	return rs__buf_detach(&content);
}

static void test_run_raw(void **state)
{
	rs_buf out = RS_BUF_INIT;
	int status = 0;
	char *s;
	(void)state;
	unsetenv("TEST_CREDHELPER_MODE");
	assert_int_equal(rs__credhelper_run(&out, &status, "test", "get", "nothing-here", 12), 0);
	assert_int_equal(status, 1);
	/* stdout only: the stderr noise is dropped */
	assert_string_equal(rs__buf_cstr(&out), "credentials not found in native keychain\n");
	s = state_file("last_input");
	assert_string_equal(s, "nothing-here");
	free(s);
	s = state_file("last_action");
	assert_string_equal(s, "get");
	free(s);
	rs_buf_dispose(&out);
}

static void test_store_get_erase(void **state)
{
	rs__credential c = RS__CREDENTIAL_INIT;
	char *s;
	(void)state;
	unsetenv("TEST_CREDHELPER_MODE");
	assert_int_equal(rs__credhelper_get(&c, "test", "myreg:5000"), RS_ENOTFOUND);
	assert_non_null(strstr(rs_error_last()->message, "no credentials for myreg:5000"));
	assert_null(c.username);

	assert_int_equal(rs__credhelper_store("test", "myreg:5000", "alice", "pa\"ss:word"), 0);
	s = state_file("last_input");
	assert_string_equal(s, "{\"ServerURL\":\"myreg:5000\",\"Username\":\"alice\",\"Secret\":"
	                       "\"pa\\\"ss:word\"}");
	free(s);

	assert_int_equal(rs__credhelper_get(&c, "test", "myreg:5000"), 0);
	assert_string_equal(c.username, "alice");
	assert_string_equal(c.password, "pa\"ss:word");
	assert_null(c.identity_token);
	rs__credential_dispose(&c);
	assert_null(c.username);
	assert_null(c.password);

	assert_int_equal(rs__credhelper_erase("test", "myreg:5000"), 0);
	s = state_file("last_input");
	assert_string_equal(s, "myreg:5000");
	free(s);
	assert_int_equal(rs__credhelper_get(&c, "test", "myreg:5000"), RS_ENOTFOUND);
	assert_int_equal(rs__credhelper_erase("test", "myreg:5000"), RS_ENOTFOUND);
}

static void test_identity_token(void **state)
{
	rs__credential c = RS__CREDENTIAL_INIT;
	(void)state;
	unsetenv("TEST_CREDHELPER_MODE");
	assert_int_equal(rs__credhelper_store("test", "https://index.docker.io/v1/", "<token>",
	                                      "refresh-123"),
	                 0);
	assert_int_equal(rs__credhelper_get(&c, "test", "https://index.docker.io/v1/"), 0);
	assert_null(c.username);
	assert_null(c.password);
	assert_string_equal(c.identity_token, "refresh-123");
	rs__credential_dispose(&c);
	rs__credential_dispose(NULL);
}

static void test_failures(void **state)
{
	rs__credential c = RS__CREDENTIAL_INIT;
	rs_buf out = RS_BUF_INIT;
	int status;
	(void)state;

	setenv("TEST_CREDHELPER_MODE", "fail", 1);
	assert_int_equal(rs__credhelper_get(&c, "test", "myreg:5000"), RS_EAUTH);
	assert_string_equal(rs_error_last()->message, "docker-credential-test get for myreg:5000 "
	                                              "failed (exit 3): boom: the keychain is "
	                                              "locked");
	assert_int_equal(rs__credhelper_store("test", "myreg:5000", "u", "TOPSECRET"), RS_EAUTH);
	assert_null(strstr(rs_error_last()->message, "TOPSECRET"));

	/* output that is not JSON: an error that does not quote it */
	setenv("TEST_CREDHELPER_MODE", "garbage", 1);
	assert_int_equal(rs__credhelper_get(&c, "test", "myreg:5000"), RS_EFORMAT);
	assert_non_null(strstr(rs_error_last()->message, "output is not a JSON object"));
	assert_null(strstr(rs_error_last()->message, "SECRET-LOOKING"));

	/* bounded output */
	setenv("TEST_CREDHELPER_MODE", "big", 1);
	assert_int_equal(rs__credhelper_run(&out, &status, "test", "get", "x", 1), RS_ETOOBIG);
	assert_true(out.size <= RS__CREDHELPER_OUTPUT_MAX);
	rs__buf_dispose_secret(&out);

	/* a helper that never reads a large input: no SIGPIPE, its answer still counts */
	setenv("TEST_CREDHELPER_MODE", "noread", 1);
	{
		size_t n = 1 << 20;
		char *big = rs__malloc(n);
		memset(big, 'a', n);
		assert_int_equal(rs__credhelper_run(&out, &status, "test", "get", big, n), 0);
		assert_int_equal(status, 0);
		assert_non_null(strstr(rs__buf_cstr(&out), "\"Username\":\"u\""));
		free(big);
		rs_buf_dispose(&out);
	}
	unsetenv("TEST_CREDHELPER_MODE");
}

static long long elapsed_ms(double since)
{
	return (long long)((rs__http_now() - since) * 1000.0);
}

/* Helpers that never answer, or answer and never exit, are killed at the bound and named. */
static void test_bounds(void **state)
{
	rs__credential c = RS__CREDENTIAL_INIT;
	rs_buf out = RS_BUF_INIT;
	int status = 0;
	double t0;
	(void)state;

	rs__credhelper_limits(300, 0, 0);
	setenv("TEST_CREDHELPER_MODE", "hang", 1);
	t0 = rs__http_now();
	assert_int_equal(rs__credhelper_get(&c, "test", "myreg:5000"), RS_ETIMEOUT);
	assert_true(elapsed_ms(t0) < 5000);
	assert_string_equal(rs_error_last()->message,
	                    "docker-credential-test did not answer within 300ms");

	setenv("TEST_CREDHELPER_MODE", "linger", 1);
	t0 = rs__http_now();
	assert_int_equal(rs__credhelper_run(&out, &status, "test", "get", "x", 1), RS_ETIMEOUT);
	assert_true(elapsed_ms(t0) < 5000);
	assert_string_equal(rs_error_last()->message,
	                    "docker-credential-test closed its output but did not exit within "
	                    "300ms");
	rs__buf_dispose_secret(&out);

	/* the caller's overall deadline comes first: its message */
	rs__credhelper_limits(60000, rs__http_now() + 0.2, 200);
	setenv("TEST_CREDHELPER_MODE", "hang", 1);
	assert_int_equal(rs__credhelper_get(&c, "test", "myreg:5000"), RS_ETIMEOUT);
	assert_string_equal(rs_error_last()->message,
	                    "timed out after 200ms (waiting for docker-credential-test)");

	rs__credhelper_limits(0, 0, 0);
	unsetenv("TEST_CREDHELPER_MODE");
}

static void test_missing_and_bad_names(void **state)
{
	rs__credential c = RS__CREDENTIAL_INIT;
	(void)state;
	assert_int_equal(rs__credhelper_get(&c, "nonexistent-regship-helper", "x"),
	                 RS_EUNSUPPORTED);
	assert_string_equal(rs_error_last()->message,
	                    "credential helper docker-credential-nonexistent-regship-helper is not "
	                    "on PATH");
	assert_int_equal(rs__credhelper_get(&c, "../../bin/sh", "x"), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "invalid credential helper name"));
	assert_int_equal(rs__credhelper_get(&c, "", "x"), RS_EINVAL);
}

/* ---- descriptors: close-on-exec from birth ------------------------------------------------ */

/* Descriptors this process was given by its parent without close-on-exec (a CI runner's or
 * make's): they reach every child whatever regship does, so the check leaves them out. */
static bool inherited_open(int fd)
{
	int flags = fcntl(fd, F_GETFD);
	return flags >= 0 && !(flags & FD_CLOEXEC);
}

static atomic_bool stop_spawning;

/* Another thread of the host program running helpers (each run creates pipes) while the main
 * thread's helper starts: a pipe created without O_CLOEXEC, even for an instant, can leak. */
static void *spawn_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_spawning)) {
		rs_buf out = RS_BUF_INIT;
		int status;
		rs__credhelper_run(&out, &status, "test", "erase", "x", 1);
		rs_buf_dispose(&out);
		rs_error_clear();
	}
	return NULL;
}

/*
 * A helper starts with its stdin and stdout pipes and /dev/null as stderr, and nothing else of
 * regship's: no other pipe end, neither its own run's nor a concurrent one's.
 */
static void test_no_descriptor_leaks(void **state)
{
	pthread_t th;
	int leaks = 0;
	(void)state;
	atomic_store(&stop_spawning, false);
	assert_int_equal(pthread_create(&th, NULL, spawn_loop, NULL), 0);
	for (int round = 0; round < 10; round++) {
		rs_buf out = RS_BUF_INIT;
		int status = -1;
		char std_target[3][128] = {"", "", ""};
		char *save = NULL, *line;
		setenv("TEST_CREDHELPER_MODE", "fds", 1);
		assert_int_equal(rs__credhelper_run(&out, &status, "test", "get", "x", 1), 0);
		assert_int_equal(status, 0);
		/* fds 0..2 first (ls sorts 0, 1, 10, 11, 2: two passes) */
		for (int pass = 0; pass < 2; pass++) {
			char *copy = rs__strdup(rs__buf_cstr(&out));
			save = NULL;
			for (line = strtok_r(copy, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save)) {
				char *arrow = strstr(line, " -> ");
				int fd;
				const char *target;
				assert_non_null(arrow);
				fd = atoi(line);
				target = arrow + 4;
				if (pass == 0) {
					if (fd <= 2)
						snprintf(std_target[fd], sizeof(std_target[fd]),
						         "%s", target);
					continue;
				}
				/* the shell's own: the script it reads, dash's /dev/null */
				if (fd <= 2 || inherited_open(fd) ||
				    strstr(target, "docker-credential") ||
				    !strcmp(target, "/dev/null"))
					continue;
				print_error("leaked into the helper: fd %s\n", line);
				leaks++;
			}
			free(copy);
		}
		assert_true(rs__str_startswith(std_target[0], "pipe:"));
		assert_true(rs__str_startswith(std_target[1], "pipe:"));
		assert_string_equal(std_target[2], "/dev/null");
		rs_buf_dispose(&out);
	}
	atomic_store(&stop_spawning, true);
	pthread_join(th, NULL);
	unsetenv("TEST_CREDHELPER_MODE");
	assert_int_equal(leaks, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_run_raw),
	        cmocka_unit_test(test_store_get_erase),
	        cmocka_unit_test(test_identity_token),
	        cmocka_unit_test(test_failures),
	        cmocka_unit_test(test_missing_and_bad_names),
	        cmocka_unit_test(test_bounds),
	        cmocka_unit_test(test_no_descriptor_leaks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
