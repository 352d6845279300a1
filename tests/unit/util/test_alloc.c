/* Unit tests for lib/util/alloc.c: allocation failure ends the process with a message and
 * exit status 1 (not abort() and its core dump); secrets are wiped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Under AddressSanitizer an impossible malloc must return NULL, as libc's does. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* Run fn in a child; its exit status and what it wrote on stderr. */
static int in_child(void (*fn)(void), char *err, size_t size)
{
	int fds[2], st = 0;
	ssize_t n, got = 0;
	pid_t pid;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		fn();
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], err + got, size - 1 - (size_t)got)) > 0)
		got += n;
	err[got] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st)); /* not killed by SIGABRT */
	return WEXITSTATUS(st);
}

static void huge_malloc(void)
{
	void *volatile p = rs__malloc(SIZE_MAX / 2);
	(void)p;
}

static void huge_calloc(void)
{
	void *volatile p = rs__calloc(SIZE_MAX / 16, 8);
	(void)p;
}

/* still reachable (not leaked) when the failed realloc exits the child, so that valgrind's
 * --error-exitcode does not replace the exit status under test */
static void *volatile realloc_block;

static void huge_realloc(void)
{
	realloc_block = rs__malloc(16);
	realloc_block = rs__realloc(realloc_block, SIZE_MAX / 2);
}

static void test_out_of_memory_exits_1(void **state)
{
	char err[256];
	(void)state;
	assert_int_equal(in_child(huge_malloc, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "regship: out of memory"));
	assert_int_equal(in_child(huge_calloc, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "regship: out of memory"));
	assert_int_equal(in_child(huge_realloc, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "regship: out of memory"));
}

static void test_small_allocations(void **state)
{
	char *s, *p;
	(void)state;
	p = rs__malloc(0);
	assert_non_null(p);
	free(p);
	s = rs__strndup("secret-value", 6);
	assert_string_equal(s, "secret");
	rs__memzero(s, 3);
	assert_int_equal(s[0], 0);
	assert_int_equal(s[2], 0);
	assert_int_equal(s[3], 'r');
	free(s);
	rs__free_secret(rs__strdup("wipe me"));
	rs__free_secret(NULL);
	assert_null(rs__strdup(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_out_of_memory_exits_1),
	        cmocka_unit_test(test_small_allocations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
