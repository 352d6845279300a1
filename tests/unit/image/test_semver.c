/* Tests of lib/image/semver.c: parsing semantic-version tags and their precedence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "image/semver.h"
#include "util/util.h"

static void test_parse_valid(void **state)
{
	rs__semver v;
	(void)state;

	assert_int_equal(rs__semver_parse(&v, "2.1.106"), 0);
	assert_int_equal(v.major, 2);
	assert_int_equal(v.minor, 1);
	assert_int_equal(v.patch, 106);
	assert_false(v.v_prefix);
	assert_null(v.pre);

	assert_int_equal(rs__semver_parse(&v, "v0.0.0"), 0);
	assert_true(v.v_prefix);
	assert_int_equal(v.major, 0);
	assert_int_equal(v.minor, 0);
	assert_int_equal(v.patch, 0);

	assert_int_equal(rs__semver_parse(&v, "10.20.30-rc.1"), 0);
	assert_int_equal(v.major, 10);
	assert_int_equal(v.patch, 30);
	assert_string_equal(v.pre, "rc.1");

	assert_int_equal(rs__semver_parse(&v, "v1.0.0-alpha-beta.0.x-y"), 0);
	assert_string_equal(v.pre, "alpha-beta.0.x-y");

	assert_int_equal(rs__semver_parse(&v, "18446744073709551615.0.1"), 0);
	assert_true(v.major == UINT64_MAX);
}

static void expect_invalid(const char *tag, const char *why)
{
	rs__semver v;
	assert_int_equal(rs__semver_parse(&v, tag), RS_EINVAL);
	assert_true(rs_error_is_set());
	if (!strstr(rs_error_last()->message, why))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", tag, rs_error_last()->message, why);
	assert_false(rs__semver_try(NULL, tag));
}

static void test_parse_invalid(void **state)
{
	(void)state;
	expect_invalid("latest", "\"latest\" is not a semantic version");
	expect_invalid("latest", "the major version is not a number");
	expect_invalid("2.1", "expected X.Y.Z");
	expect_invalid("2", "expected X.Y.Z");
	expect_invalid("", "it is empty");
	expect_invalid("v", "major version is not a number");
	expect_invalid("V1.2.3", "major version is not a number");
	expect_invalid("vv1.2.3", "major version is not a number");
	expect_invalid("1.2.3.4", "unexpected '.' after X.Y.Z");
	expect_invalid("1.2.3_4", "unexpected '_' after X.Y.Z");
	expect_invalid("01.2.3", "the major version has a leading zero");
	expect_invalid("1.02.3", "the minor version has a leading zero");
	expect_invalid("1.2.03", "the patch version has a leading zero");
	expect_invalid("1.2.3-", "empty identifier");
	expect_invalid("1.2.3-rc..1", "empty identifier");
	expect_invalid("1.2.3-rc.", "empty identifier");
	expect_invalid("1.2.3-rc_1", "may not contain '_'");
	expect_invalid("1.2.3-01", "\"01\" has a leading zero");
	expect_invalid("1.-2.3", "minor version is not a number");
	expect_invalid("18446744073709551616.0.0", "the major version is too large");
	expect_invalid("1.2.x", "patch version is not a number");
}

static void test_try(void **state)
{
	rs__semver v;
	(void)state;

	rs_error_clear();
	assert_false(rs__semver_try(&v, "2.1"));
	assert_false(rs_error_is_set()); /* sifting tags sets no error */
	assert_true(rs__semver_try(&v, "v3.4.5-rc.2"));
	assert_true(v.v_prefix);
	assert_int_equal(v.minor, 4);
	assert_string_equal(v.pre, "rc.2");
	assert_true(rs__semver_try(NULL, "0.0.1"));
	assert_false(rs__semver_try(&v, NULL));
}

static int cmp(const char *a, const char *b)
{
	rs__semver va, vb;
	assert_int_equal(rs__semver_parse(&va, a), 0);
	assert_int_equal(rs__semver_parse(&vb, b), 0);
	return rs__semver_cmp(&va, &vb);
}

/* a < b, both ways round */
static void expect_lower(const char *a, const char *b)
{
	if (cmp(a, b) >= 0 || cmp(b, a) <= 0)
		fail_msg("expected %s < %s", a, b);
}

static void test_cmp(void **state)
{
	(void)state;
	/* numbers compare numerically, not as text */
	expect_lower("2.1.9", "2.1.10");
	expect_lower("2.9.0", "2.10.0");
	expect_lower("9.0.0", "10.0.0");
	expect_lower("1.99.99", "2.0.0");
	expect_lower("2.1.106", "2.1.107");
	/* a pre-release is lower than its release, higher than the one before */
	expect_lower("2.1.3-rc.1", "2.1.3");
	expect_lower("2.1.2", "2.1.3-rc.1");
	/* semver.org §11.4's example chain */
	expect_lower("1.0.0-alpha", "1.0.0-alpha.1");
	expect_lower("1.0.0-alpha.1", "1.0.0-alpha.beta");
	expect_lower("1.0.0-alpha.beta", "1.0.0-beta");
	expect_lower("1.0.0-beta", "1.0.0-beta.2");
	expect_lower("1.0.0-beta.2", "1.0.0-beta.11");
	expect_lower("1.0.0-beta.11", "1.0.0-rc.1");
	expect_lower("1.0.0-rc.1", "1.0.0");
	/* the v prefix does not change the order */
	assert_int_equal(cmp("v2.1.3", "2.1.3"), 0);
	expect_lower("v2.1.3", "2.1.4");
	expect_lower("2.1.3", "v2.1.4");
	assert_int_equal(cmp("1.0.0-rc.1", "v1.0.0-rc.1"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_valid),
	        cmocka_unit_test(test_parse_invalid),
	        cmocka_unit_test(test_try),
	        cmocka_unit_test(test_cmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
