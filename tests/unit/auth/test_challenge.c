/* Tests of lib/auth/challenge.c (WWW-Authenticate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "auth/challenge.h"
#include "util/util.h"

static void test_registry_bearer(void **state)
{
	rs__challenges l = RS__CHALLENGES_INIT;
	const rs__challenge *c;
	(void)state;
	assert_int_equal(
	        rs__challenges_parse(&l, "Bearer realm=\"http://127.0.0.1:55199/token\","
	                                 "service=\"test-registry\",scope=\"repository:foo/bar:"
	                                 "pull,push repository:other/repo:pull\""),
	        0);
	assert_int_equal(l.count, 1);
	c = &l.items[0];
	assert_string_equal(c->scheme, "bearer");
	assert_string_equal(c->realm, "http://127.0.0.1:55199/token");
	assert_string_equal(c->service, "test-registry");
	assert_string_equal(c->scope, "repository:foo/bar:pull,push repository:other/repo:pull");
	assert_null(c->error);
	assert_null(c->token68);
	assert_int_equal(c->nparams, 3);
	assert_ptr_equal(rs__challenges_pick(&l), c);
	rs__challenges_dispose(&l);
	assert_null(l.items);
	assert_int_equal(l.count, 0);
}

static void test_insufficient_scope_and_case(void **state)
{
	rs__challenges l = RS__CHALLENGES_INIT;
	const rs__challenge *c;
	(void)state;
	assert_int_equal(rs__challenges_parse(&l, "BEARER Realm=\"r\" , SERVICE = svc,"
	                                          "scope=\"repository:foo/bar:pull\","
	                                          "error=\"insufficient_scope\"\r\n"),
	                 0);
	assert_int_equal(l.count, 1);
	c = &l.items[0];
	assert_string_equal(c->scheme, "bearer");
	assert_string_equal(c->realm, "r");
	assert_string_equal(c->service, "svc"); /* token value, BWS around '=' */
	assert_string_equal(c->error, "insufficient_scope");
	assert_string_equal(rs__challenge_param(c, "ERROR"), "insufficient_scope");
	assert_null(rs__challenge_param(c, "nonexistent"));
	assert_null(rs__challenge_param(NULL, "realm"));
	rs__challenges_dispose(&l);
}

static void test_several_in_one_value(void **state)
{
	rs__challenges l = RS__CHALLENGES_INIT;
	(void)state;
	assert_int_equal(
	        rs__challenges_parse(&l, "Basic realm=\"a\", Bearer realm=\"b\",service=\"c\""), 0);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.items[0].scheme, "basic");
	assert_string_equal(l.items[0].realm, "a");
	assert_null(l.items[0].service);
	assert_string_equal(l.items[1].scheme, "bearer");
	assert_string_equal(l.items[1].realm, "b");
	assert_string_equal(l.items[1].service, "c");
	/* bearer preferred even when listed second */
	assert_ptr_equal(rs__challenges_pick(&l), &l.items[1]);
	rs__challenges_dispose(&l);

	/* empty list elements and a scheme without parameters */
	assert_int_equal(rs__challenges_parse(&l, " , Foo, ,Basic realm=x,, "), 0);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.items[0].scheme, "foo");
	assert_int_equal(l.items[0].nparams, 0);
	assert_string_equal(l.items[1].realm, "x");
	rs__challenges_dispose(&l);
}

static void test_several_lines_append(void **state)
{
	rs__challenges l = RS__CHALLENGES_INIT;
	(void)state;
	assert_int_equal(rs__challenges_parse(&l, "Negotiate"), 0);
	assert_int_equal(rs__challenges_parse(&l, "Basic realm=\"basic-realm\""), 0);
	assert_int_equal(l.count, 2);
	assert_ptr_equal(rs__challenges_pick(&l), &l.items[1]);
	assert_string_equal(rs__challenges_pick(&l)->realm, "basic-realm");
	/* the shortcuts stay valid after the list grows */
	for (int i = 0; i < 20; i++)
		assert_int_equal(rs__challenges_parse(&l, "Other a=b"), 0);
	assert_string_equal(l.items[1].realm, "basic-realm");
	assert_int_equal(rs__challenges_parse(&l, "Bearer realm=\"t\""), 0);
	assert_string_equal(rs__challenges_pick(&l)->scheme, "bearer");
	assert_ptr_equal(rs__challenges_find(&l, "NEGOTIATE"), &l.items[0]);
	rs__challenges_dispose(&l);
}

static void test_only_unknown(void **state)
{
	rs__challenges l = RS__CHALLENGES_INIT;
	(void)state;
	assert_null(rs__challenges_pick(&l));
	assert_int_equal(rs__challenges_parse(&l, "Digest realm=\"x\", nonce=\"y\""), 0);
	assert_int_equal(l.count, 1);
	assert_int_equal(l.items[0].nparams, 2);
	assert_null(rs__challenges_pick(&l));
	assert_null(rs__challenges_pick(NULL));
	rs__challenges_dispose(&l);
	rs__challenges_dispose(NULL);
}

static void test_quoted_escapes(void **state)
{
	rs__challenges l = RS__CHALLENGES_INIT;
	(void)state;
	assert_int_equal(rs__challenges_parse(&l, "Bearer realm=\"a\\\"b\\\\c\\d, e=f\""), 0);
	assert_string_equal(l.items[0].realm, "a\"b\\cd, e=f");
	assert_int_equal(l.items[0].nparams, 1);
	rs__challenges_dispose(&l);
	assert_int_equal(rs__challenges_parse(&l, "Bearer realm=\"\""), 0);
	assert_string_equal(l.items[0].realm, "");
	rs__challenges_dispose(&l);
}

static void test_token68(void **state)
{
	rs__challenges l = RS__CHALLENGES_INIT;
	(void)state;
	assert_int_equal(rs__challenges_parse(&l, "Negotiate abc/+d==, Basic realm=r"), 0);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.items[0].token68, "abc/+d==");
	assert_int_equal(l.items[0].nparams, 0);
	assert_string_equal(l.items[1].realm, "r");
	rs__challenges_dispose(&l);
	assert_int_equal(rs__challenges_parse(&l, "Custom xyz"), 0);
	assert_string_equal(l.items[0].token68, "xyz");
	rs__challenges_dispose(&l);
}

static void expect_malformed(const char *value, const char *fragment)
{
	rs__challenges l = RS__CHALLENGES_INIT;
	assert_int_equal(rs__challenges_parse(&l, "Basic realm=keep"), 0);
	assert_int_equal(rs__challenges_parse(&l, value), RS_EFORMAT);
	/* the list is left as it was */
	assert_int_equal(l.count, 1);
	assert_string_equal(l.items[0].realm, "keep");
	assert_true(rs__str_startswith(rs_error_last()->message, "malformed WWW-Authenticate"));
	if (!strstr(rs_error_last()->message, fragment))
		fail_msg("got \"%s\", want \"%s\"", rs_error_last()->message, fragment);
	rs__challenges_dispose(&l);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_malformed("Bearer realm=\"unterminated", "unterminated quoted string");
	expect_malformed("Bearer realm=\"ends in backslash\\", "unterminated quoted string");
	expect_malformed("Bearer a=b, realm=", "expected a token or a quoted string");
	expect_malformed("Bearer realm=\"a\" service=\"b\"", "expected ',' between parameters");
	expect_malformed("Bearer realm=\"a\"service", "expected ',' between parameters");
	expect_malformed("=Bearer", "expected an authentication scheme");
	expect_malformed("\"Bearer\"", "expected an authentication scheme");
	expect_malformed("Bearer=x", "expected a space after the authentication scheme");
	expect_malformed("Bearer realm=\"a\x01\"", "control character in quoted string");
	expect_malformed("Bearer realm=a\x01", "\\x01");
	expect_malformed("Bearer a b", "expected '=' after a parameter name");
	expect_malformed("Bearer a=b c", "expected ',' between parameters");
	expect_malformed("Bearer a=b,\"x\"", "expected an authentication scheme");
}

/* Every prefix of a valid header, and some byte soup, parses or fails without overreading
 * (run under ASan/valgrind this catches reads past the terminator). */
static void test_garbage(void **state)
{
	const char *good = "Bearer realm=\"http://x/token\",service=\"s\\\"q\",scope=\"a:b:c\", "
	                   "Basic realm=r, Negotiate abc==";
	size_t n = strlen(good);
	char buf[256];
	unsigned seed = 12345;
	(void)state;
	for (size_t i = 0; i <= n; i++) {
		rs__challenges l = RS__CHALLENGES_INIT;
		char *p = rs__strndup(good, i);
		int rc = rs__challenges_parse(&l, p);
		assert_true(rc == 0 || rc == RS_EFORMAT);
		rs__challenges_dispose(&l);
		free(p);
	}
	for (int round = 0; round < 2000; round++) {
		rs__challenges l = RS__CHALLENGES_INIT;
		size_t len = (size_t)(round % 40);
		int rc;
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = "ab =,\"\\\t\x01\xff"[(seed >> 16) % 11];
		}
		buf[len] = '\0';
		rc = rs__challenges_parse(&l, buf);
		assert_true(rc == 0 || rc == RS_EFORMAT);
		rs__challenges_dispose(&l);
	}
	assert_int_equal(rs__challenges_parse(NULL, "Basic"), RS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_registry_bearer),
	        cmocka_unit_test(test_insufficient_scope_and_case),
	        cmocka_unit_test(test_several_in_one_value),
	        cmocka_unit_test(test_several_lines_append),
	        cmocka_unit_test(test_only_unknown),
	        cmocka_unit_test(test_quoted_escapes),
	        cmocka_unit_test(test_token68),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
