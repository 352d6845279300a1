/* Unit tests for lib/util/json.c: rs_json_pretty and rs_json_quote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regship/json.h"
#include "util/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void test_pretty_keeps_key_order(void **state)
{
	const char *in = "{\"schemaVersion\":2,\"zeta\":1,\"mediaType\":\"x\",\"alpha\":[1,2],"
	                 "\"config\":{\"size\":3,\"digest\":\"d\"}}";
	rs_buf out = RS_BUF_INIT;
	const char *s, *z, *m, *a, *c, *size, *digest;
	(void)state;
	assert_int_equal(rs_json_pretty(&out, in, strlen(in)), 0);
	s = strstr(out.ptr, "\"schemaVersion\"");
	z = strstr(out.ptr, "\"zeta\"");
	m = strstr(out.ptr, "\"mediaType\"");
	a = strstr(out.ptr, "\"alpha\"");
	c = strstr(out.ptr, "\"config\"");
	size = strstr(out.ptr, "\"size\"");
	digest = strstr(out.ptr, "\"digest\"");
	assert_non_null(s);
	assert_non_null(z);
	assert_non_null(m);
	assert_non_null(a);
	assert_non_null(c);
	assert_non_null(size);
	assert_non_null(digest);
	assert_true(s < z && z < m && m < a && a < c && c < size && size < digest);
	/* re-indented over several lines, ending with a newline */
	assert_non_null(strchr(out.ptr, '\n'));
	assert_true(strchr(out.ptr, '\n') < out.ptr + out.size - 1);
	assert_int_equal(out.ptr[out.size - 1], '\n');
	assert_non_null(strstr(out.ptr, "\n   \"schemaVersion\": 2"));
	rs_buf_dispose(&out);
}

static void test_pretty_same_document(void **state)
{
	const char *in = "{\"a\":\"caf\\u00e9 \\\"q\\\"\",\"n\":-1.5e3,\"t\":true,\"z\":null,"
	                 "\"arr\":[{},[],\"\"]}";
	rs_buf out = RS_BUF_INIT;
	json_t *x, *y;
	(void)state;
	assert_int_equal(rs_json_pretty(&out, in, strlen(in)), 0);
	x = json_loads(in, 0, NULL);
	y = json_loads(out.ptr, 0, NULL);
	assert_non_null(x);
	assert_non_null(y);
	assert_true(json_equal(x, y));
	json_decref(x);
	json_decref(y);
	rs_buf_dispose(&out);
}

static void test_pretty_scalars_and_length(void **state)
{
	rs_buf out = RS_BUF_INIT;
	(void)state;
	/* any JSON value is accepted */
	assert_int_equal(rs_json_pretty(&out, "42", 2), 0);
	assert_string_equal(out.ptr, "42\n");
	rs_buf_dispose(&out);
	assert_int_equal(rs_json_pretty(&out, "\"s\"", 3), 0);
	assert_string_equal(out.ptr, "\"s\"\n");
	rs_buf_dispose(&out);
	/* only len bytes are read: the rest of the memory is not part of the document */
	assert_int_equal(rs_json_pretty(&out, "[1]garbage", 3), 0);
	assert_non_null(strstr(out.ptr, "1"));
	assert_null(strstr(out.ptr, "garbage"));
	rs_buf_dispose(&out);
	/* appends to what is already in the buffer */
	rs__buf_puts(&out, "before:");
	assert_int_equal(rs_json_pretty(&out, "[]", 2), 0);
	assert_string_equal(out.ptr, "before:[]\n");
	rs_buf_dispose(&out);
}

static void test_pretty_rejects_non_json(void **state)
{
	static const char *const bad[] = {"",     "{",   "{\"a\":}", "not json",
	                                  "[1,]", "{}x", "{'a':1}",  "\x89PNG"};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rs_buf out = RS_BUF_INIT;
		rs_error_clear();
		if (rs_json_pretty(&out, bad[i], strlen(bad[i])) != RS_EFORMAT)
			fail_msg("rs_json_pretty accepted \"%s\"", bad[i]);
		assert_true(rs_error_is_set());
		assert_int_equal(rs_error_last()->code, RS_EFORMAT);
		assert_non_null(strstr(rs_error_last()->message, "JSON"));
		assert_int_equal(out.size, 0); /* nothing written */
		rs_buf_dispose(&out);
	}
}

static char *quoted(const char *s)
{
	rs_buf b = RS_BUF_INIT;
	rs_json_quote(&b, s);
	return rs__buf_detach(&b);
}

static void assert_quote(const char *in, const char *expected)
{
	char *q = quoted(in);
	json_error_t jerr;
	json_t *v;
	assert_string_equal(q, expected);
	/* and a JSON parser reads the original string back */
	v = json_loads(q, JSON_DECODE_ANY, &jerr);
	if (!v)
		fail_msg("rs_json_quote(\"%s\") = %s is not valid JSON: %s", in, q, jerr.text);
	assert_true(json_is_string(v));
	assert_string_equal(json_string_value(v), in);
	json_decref(v);
	free(q);
}

static void test_quote(void **state)
{
	(void)state;
	assert_quote("", "\"\"");
	assert_quote("plain", "\"plain\"");
	assert_quote("say \"hi\"", "\"say \\\"hi\\\"\"");
	assert_quote("C:\\path\\", "\"C:\\\\path\\\\\"");
	assert_quote("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
	assert_quote("\x01\x08\x0c\x1f", "\"\\u0001\\u0008\\u000c\\u001f\"");
	assert_quote("\x1b[31mred", "\"\\u001b[31mred\"");
	/* UTF-8 passes through untouched */
	assert_quote("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\xb3",
	             "\"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\xb3\"");
	assert_quote("/ and \x7f", "\"/ and \x7f\"");
}

static void test_quote_appends(void **state)
{
	rs_buf b = RS_BUF_INIT;
	(void)state;
	rs__buf_puts(&b, "{\"k\":");
	rs_json_quote(&b, "v");
	rs__buf_putc(&b, '}');
	assert_string_equal(b.ptr, "{\"k\":\"v\"}");
	rs_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_pretty_keeps_key_order),
	        cmocka_unit_test(test_pretty_same_document),
	        cmocka_unit_test(test_pretty_scalars_and_length),
	        cmocka_unit_test(test_pretty_rejects_non_json),
	        cmocka_unit_test(test_quote),
	        cmocka_unit_test(test_quote_appends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
