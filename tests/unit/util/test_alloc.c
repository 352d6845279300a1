/* Unit tests for lib/util/alloc.c: allocation failure returns NULL (no message, no exit), the
 * failure-injection hook fails exactly the n-th allocation; secrets are wiped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Under AddressSanitizer an impossible malloc must return NULL, as libc's does. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static void test_out_of_memory_returns_null(void **state)
{
	void *p;
	(void)state;
	assert_null(rs__malloc(SIZE_MAX / 2));
	assert_null(rs__calloc(SIZE_MAX / 16, 8));
	p = rs__malloc(16);
	assert_non_null(p);
	assert_null(rs__realloc(p, SIZE_MAX / 2)); /* the old block stays valid */
	memset(p, 1, 16);
	free(p);
}

static void test_fail_at(void **state)
{
	char *a, *b;
	(void)state;
	rs__alloc_fail_at(2);
	a = rs__strdup("first");
	b = rs__strdup("second");
	assert_non_null(a);
	assert_null(b);
	b = rs__strdup("third"); /* one failure only */
	assert_non_null(b);
	free(a);
	free(b);
	rs__alloc_fail_at(1);
	assert_null(rs__strndup("x", 1));
	rs__alloc_fail_at(1);
	assert_null(rs__calloc(1, 1));
	rs__alloc_fail_at(1);
	a = rs__malloc(4);
	assert_null(a);
	rs__alloc_fail_at(0);
	a = rs__malloc(4);
	assert_non_null(a);
	free(a);
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
	        cmocka_unit_test(test_out_of_memory_returns_null),
	        cmocka_unit_test(test_fail_at),
	        cmocka_unit_test(test_small_allocations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
