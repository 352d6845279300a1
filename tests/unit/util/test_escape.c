/* Unit tests for lib/util/escape.c: text from servers made safe to print. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/escape.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static void expect(const char *in, size_t len, bool backslash, const char *want)
{
	rs_buf b = RS_BUF_INIT;
	rs__buf_put_escaped(&b, in, len, backslash);
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, want);
	rs_buf_dispose(&b);
}

static void test_plain_text_unchanged(void **state)
{
	(void)state;
	expect("v1.2.3-alpine", 13, true, "v1.2.3-alpine");
	expect("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xb3", 17, true,
	       "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xb3");
	expect("", 0, true, "");
	assert_false(rs__needs_escape("team/app:v1"));
	assert_false(rs__needs_escape("back\\slash"));
}

static void test_controls(void **state)
{
	(void)state;
	expect("evil\nforged", 11, true, "evil\\nforged");
	expect("a\rb\tc", 5, true, "a\\rb\\tc");
	expect("\x1b[31mred", 8, true, "\\x1b[31mred");
	expect("bell\x07\x7f", 6, true, "bell\\x07\\x7f");
	expect("nul\0after", 9, true, "nul\\x00after");
	assert_true(rs__needs_escape("x\x1b"));
}

static void test_backslash(void **state)
{
	(void)state;
	expect("a\\nb", 4, true, "a\\\\nb");
	/* without doubling: text that already holds escapes stays as it is */
	expect("a\\nb\n", 5, false, "a\\nb\\n");
}

static void test_c1_bidi_and_bad_utf8(void **state)
{
	(void)state;
	expect("c1\xc2\x9b"
	       "2J",
	       6, true, "c1\\u009b2J");
	expect("bidi\xe2\x80\xae"
	       "txt",
	       10, true, "bidi\\u202etxt");
	expect("\xe2\x81\xa6x", 4, true, "\\u2066x");
	/* lone continuation, overlong, surrogate, truncated, beyond U+10FFFF */
	expect("\x80", 1, true, "\\x80");
	expect("\xc0\xaf", 2, true, "\\xc0\\xaf");
	expect("\xed\xa0\x80", 3, true, "\\xed\\xa0\\x80");
	expect("\xe6\x97", 2, true, "\\xe6\\x97");
	expect("\xf4\x90\x80\x80", 4, true, "\\xf4\\x90\\x80\\x80");
	expect("\x9b", 1, true, "\\x9b");
}

static void test_escape_string(void **state)
{
	char *s;
	(void)state;
	s = rs__escape("tag\n\x1b");
	assert_string_equal(s, "tag\\n\\x1b");
	free(s);
	s = rs__escape(NULL);
	assert_string_equal(s, "");
	free(s);
}

static void test_public(void **state)
{
	rs_buf b = RS_BUF_INIT;
	(void)state;
	rs_text_escape(&b, "a\\b\n", RS_ESCAPE_BACKSLASH);
	assert_string_equal(b.ptr, "a\\\\b\\n");
	rs_buf_dispose(&b);
	rs_text_escape(&b, "a\\b\n", 0);
	assert_string_equal(b.ptr, "a\\b\\n");
	rs_buf_dispose(&b);
	rs_text_escape(&b, NULL, 0);
	assert_string_equal(b.ptr, "");
	rs_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_plain_text_unchanged),
	        cmocka_unit_test(test_controls),
	        cmocka_unit_test(test_backslash),
	        cmocka_unit_test(test_c1_bidi_and_bad_utf8),
	        cmocka_unit_test(test_escape_string),
	        cmocka_unit_test(test_public),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
