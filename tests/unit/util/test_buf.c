/* Unit tests for lib/util/buf.c: growable buffers and string lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_empty_buffer(void **state)
{
	rs_buf b = RS_BUF_INIT;
	(void)state;
	assert_null(b.ptr);
	assert_string_equal(rs__buf_cstr(&b), "");
	rs_buf_dispose(&b);
	assert_null(b.ptr);
	assert_int_equal(b.size, 0);
	assert_int_equal(b.asize, 0);
	rs_buf_dispose(NULL); /* NULL-safe */
}

static void test_put_keeps_nul(void **state)
{
	rs_buf b = RS_BUF_INIT;
	(void)state;
	rs__buf_put(&b, "abc", 3);
	assert_non_null(b.ptr);
	assert_int_equal(b.size, 3);
	assert_true(b.asize > 3);
	assert_int_equal(b.ptr[3], '\0');
	assert_string_equal(b.ptr, "abc");
	rs__buf_puts(&b, "de");
	rs__buf_putc(&b, 'f');
	assert_int_equal(b.size, 6);
	assert_string_equal(b.ptr, "abcdef");
	/* a zero-length put on an empty buffer still yields a valid string */
	{
		rs_buf e = RS_BUF_INIT;
		rs__buf_put(&e, NULL, 0);
		assert_non_null(e.ptr);
		assert_int_equal(e.size, 0);
		assert_string_equal(e.ptr, "");
		rs_buf_dispose(&e);
	}
	rs_buf_dispose(&b);
}

static void test_binary_data(void **state)
{
	rs_buf b = RS_BUF_INIT;
	const char bin[5] = {'a', '\0', 'b', '\0', 'c'};
	(void)state;
	rs__buf_put(&b, bin, sizeof(bin));
	assert_int_equal(b.size, 5);
	assert_memory_equal(b.ptr, bin, 5);
	assert_int_equal(b.ptr[5], '\0');
	rs_buf_dispose(&b);
}

static void test_growth(void **state)
{
	rs_buf b = RS_BUF_INIT;
	size_t last_asize = 0, reallocs = 0;
	(void)state;
	for (int i = 0; i < 100000; i++) {
		rs__buf_putc(&b, (char)('a' + i % 26));
		assert_true(b.asize > b.size); /* room for the NUL, always */
		if (b.asize != last_asize) {
			reallocs++;
			last_asize = b.asize;
		}
	}
	assert_int_equal(b.size, 100000);
	assert_int_equal(strlen(b.ptr), 100000);
	for (int i = 0; i < 100000; i++)
		if (b.ptr[i] != (char)('a' + i % 26))
			fail_msg("byte %d corrupted", i);
	/* geometric growth: far fewer reallocations than appends */
	assert_true(reallocs < 40);
	rs_buf_dispose(&b);
}

static void test_grow_reserves(void **state)
{
	rs_buf b = RS_BUF_INIT;
	(void)state;
	rs__buf_grow(&b, 1000);
	assert_true(b.asize >= 1001);
	assert_int_equal(b.size, 0);
	{
		size_t a = b.asize;
		char *p = b.ptr;
		rs__buf_put(&b, "x", 1);
		/* reserved room is used without another allocation */
		assert_int_equal(b.asize, a);
		assert_ptr_equal(b.ptr, p);
	}
	rs_buf_dispose(&b);
}

static void test_printf(void **state)
{
	rs_buf b = RS_BUF_INIT;
	char big[5000];
	(void)state;
	rs__buf_printf(&b, "%s=%d", "n", 42);
	assert_string_equal(b.ptr, "n=42");
	rs__buf_printf(&b, ",%05.1f|%x", 3.14159, 255u);
	assert_string_equal(b.ptr, "n=42,003.1|ff");
	assert_int_equal(b.size, strlen("n=42,003.1|ff"));
	/* output longer than the current allocation */
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rs__buf_printf(&b, "[%s]", big);
	assert_int_equal(b.size, 13 + 2 + 4999);
	assert_int_equal(b.ptr[13], '[');
	assert_int_equal(b.ptr[b.size - 1], ']');
	assert_int_equal(b.ptr[b.size], '\0');
	/* an empty format on an empty buffer */
	{
		rs_buf e = RS_BUF_INIT;
		rs__buf_printf(&e, "%s", "");
		assert_int_equal(e.size, 0);
		assert_string_equal(rs__buf_cstr(&e), "");
		rs_buf_dispose(&e);
	}
	rs_buf_dispose(&b);
}

static void test_clear(void **state)
{
	rs_buf b = RS_BUF_INIT;
	(void)state;
	rs__buf_clear(&b); /* never grown: harmless */
	assert_int_equal(b.size, 0);
	rs__buf_puts(&b, "hello");
	rs__buf_clear(&b);
	assert_int_equal(b.size, 0);
	assert_string_equal(b.ptr, "");
	assert_true(b.asize > 0); /* memory kept for reuse */
	rs__buf_puts(&b, "yo");
	assert_string_equal(b.ptr, "yo");
	rs_buf_dispose(&b);
}

static void test_detach(void **state)
{
	rs_buf b = RS_BUF_INIT;
	char *s;
	(void)state;
	rs__buf_puts(&b, "owned");
	s = rs__buf_detach(&b);
	assert_string_equal(s, "owned");
	assert_null(b.ptr);
	assert_int_equal(b.size, 0);
	assert_int_equal(b.asize, 0);
	free(s);
	/* detaching an empty buffer gives "" (never NULL) */
	s = rs__buf_detach(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	/* the buffer is reusable after a detach */
	rs__buf_puts(&b, "again");
	assert_string_equal(b.ptr, "again");
	rs_buf_dispose(&b);
}

static void test_dispose_secret(void **state)
{
	rs_buf b = RS_BUF_INIT;
	(void)state;
	rs__buf_puts(&b, "hunter2");
	rs__buf_dispose_secret(&b);
	assert_null(b.ptr);
	assert_int_equal(b.size, 0);
	assert_int_equal(b.asize, 0);
	rs__buf_dispose_secret(&b); /* twice: harmless */
	rs__buf_dispose_secret(NULL);
}

static void test_memzero(void **state)
{
	unsigned char m[16];
	(void)state;
	memset(m, 0xAB, sizeof(m));
	rs__memzero(m + 4, 8);
	for (size_t i = 0; i < sizeof(m); i++)
		assert_int_equal(m[i], i >= 4 && i < 12 ? 0 : 0xAB);
}

static void test_strlist(void **state)
{
	rs_strlist l = RS_STRLIST_INIT;
	char name[16];
	(void)state;
	assert_false(rs__strlist_contains(&l, "a"));
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "item%d", i);
		rs__strlist_push(&l, name);
	}
	rs__strlist_push_owned(&l, rs__strdup("owned"));
	assert_int_equal(l.count, 51);
	assert_string_equal(l.items[0], "item0");
	assert_string_equal(l.items[49], "item49");
	assert_string_equal(l.items[50], "owned");
	assert_true(rs__strlist_contains(&l, "item17"));
	assert_true(rs__strlist_contains(&l, "owned"));
	assert_false(rs__strlist_contains(&l, "item50"));
	assert_false(rs__strlist_contains(&l, "ITEM1"));
	/* push copies */
	snprintf(name, sizeof(name), "mutable");
	rs__strlist_push(&l, name);
	name[0] = 'X';
	assert_string_equal(l.items[51], "mutable");
	rs__strlist_dispose(&l);
	assert_null(l.items);
	assert_int_equal(l.count, 0);
}

static void test_strdup(void **state)
{
	char *s;
	(void)state;
	assert_null(rs__strdup(NULL));
	assert_null(rs__strndup(NULL, 3));
	s = rs__strndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = rs__strndup("ab", 10); /* n beyond the string */
	assert_string_equal(s, "ab");
	free(s);
	s = rs__strdup("");
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_empty_buffer),   cmocka_unit_test(test_put_keeps_nul),
	        cmocka_unit_test(test_binary_data),    cmocka_unit_test(test_growth),
	        cmocka_unit_test(test_grow_reserves),  cmocka_unit_test(test_printf),
	        cmocka_unit_test(test_clear),          cmocka_unit_test(test_detach),
	        cmocka_unit_test(test_dispose_secret), cmocka_unit_test(test_memzero),
	        cmocka_unit_test(test_strlist),        cmocka_unit_test(test_strdup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
