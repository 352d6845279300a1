/* Tests of lib/image/semver.c: version ranges (regship sync --semver, images-by-semver). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "image/semver.h"
#include "util/util.h"

static bool m(const char *range, const char *tag)
{
	rs__semver_range *r = NULL;
	bool ok;
	assert_int_equal(rs__semver_range_parse(&r, range), 0);
	ok = rs__semver_range_match(r, tag);
	rs__semver_range_free(r);
	return ok;
}

static void test_operators(void **state)
{
	(void)state;
	assert_true(m(">=2.1", "2.1.0"));
	assert_true(m(">=2.1", "v2.1.5"));
	assert_true(m(">=2.1", "10.0.0"));
	assert_false(m(">=2.1", "2.0.9"));
	assert_false(m(">2.1", "2.1.9"));
	assert_true(m(">2.1", "2.2.0"));
	assert_true(m(">2.1.0", "2.1.1"));
	assert_false(m(">2.1.0", "2.1.0"));
	assert_true(m("<=2", "2.9.9"));
	assert_false(m("<=2", "3.0.0"));
	assert_true(m("<2.1", "2.0.99"));
	assert_false(m("<2.1", "2.1.0"));
	assert_true(m("<=2.1.3", "2.1.3"));
	assert_true(m("=2.1", "2.1.7"));
	assert_false(m("=2.1", "2.2.0"));
	assert_true(m("2.1.3", "2.1.3"));
	assert_false(m("2.1.3", "2.1.4"));
}

static void test_tilde_caret(void **state)
{
	(void)state;
	assert_true(m("~1.2.3", "1.2.9"));
	assert_false(m("~1.2.3", "1.3.0"));
	assert_false(m("~1.2.3", "1.2.2"));
	assert_true(m("~1", "1.9.0"));
	assert_false(m("~1", "2.0.0"));
	assert_true(m("^1.2.3", "1.9.0"));
	assert_false(m("^1.2.3", "2.0.0"));
	assert_true(m("^0.2.3", "0.2.9"));
	assert_false(m("^0.2.3", "0.3.0"));
	assert_true(m("^0.0.3", "0.0.3"));
	assert_false(m("^0.0.3", "0.0.4"));
}

static void test_and_or_spaces(void **state)
{
	(void)state;
	assert_true(m(">=1.2, <2", "1.5.0"));
	assert_false(m(">=1.2, <2", "2.0.0"));
	assert_true(m(">= 1.2 < 2", "1.2.0"));
	assert_false(m(">= 1.2 < 2", "2.1.0"));
	assert_true(m("<1 || >=3", "0.5.0"));
	assert_true(m("<1 || >=3", "3.0.0"));
	assert_false(m("<1 || >=3", "2.0.0"));
}

static void test_prerelease_and_non_versions(void **state)
{
	(void)state;
	assert_false(m(">=2.1", "2.2.0-rc.1"));
	assert_true(m(">=2.2.0-rc.0", "2.2.0-rc.1"));
	assert_false(m(">=2.2.0-rc.0", "2.3.0-rc.1"));
	assert_false(m(">=0", "latest"));
	assert_false(m(">=0", "2.1"));
	assert_true(m(">=0", "0.0.0"));
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {"",       ">=",  "2.x",     ">=2.01", "1.2 | 3",
	                                  "1.2,,2", "=>1", "1.2.3.4", "~"};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rs__semver_range *r = (rs__semver_range *)1;
		assert_int_equal(rs__semver_range_parse(&r, bad[i]), RS_EINVAL);
		assert_null(r);
		assert_non_null(strstr(rs_error_last()->message, "range"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_operators),
	        cmocka_unit_test(test_tilde_caret),
	        cmocka_unit_test(test_and_or_spaces),
	        cmocka_unit_test(test_prerelease_and_non_versions),
	        cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
