/* Tests for lib/manifest/platform.c */
#include "manifest/testdata.h"

#include "manifest/internal.h"

#include <sys/utsname.h>

/* Parse s and compare the formatted result. */
static void expect_parse(const char *s, const char *formatted)
{
	rs_platform *p = NULL;
	char *f;
	if (rs_platform_parse(&p, s) < 0)
		fail_msg("parse \"%s\": %s", s, last_message());
	f = rs_platform_format(p);
	assert_string_equal(f, formatted);
	free(f);
	rs_platform_free(p);
}

static void test_parse_and_normalise(void **state)
{
	(void)state;
	expect_parse("linux/amd64", "linux/amd64");
	expect_parse("linux/arm64", "linux/arm64");
	expect_parse("linux/arm64/v8", "linux/arm64");
	expect_parse("linux/aarch64", "linux/arm64");
	expect_parse("linux/arm64/v9.0", "linux/arm64/v9");
	expect_parse("Linux/X86_64", "linux/amd64");
	expect_parse("linux/x86-64", "linux/amd64");
	expect_parse("linux/amd64/v1", "linux/amd64");
	expect_parse("linux/amd64/v3", "linux/amd64/v3");
	expect_parse("linux/armhf", "linux/arm/v7");
	expect_parse("linux/armel", "linux/arm/v6");
	expect_parse("linux/arm", "linux/arm/v7");
	expect_parse("linux/arm/6", "linux/arm/v6");
	expect_parse("linux/arm/v5", "linux/arm/v5");
	expect_parse("linux/i386", "linux/386");
	expect_parse("linux/ppc64le", "linux/ppc64le");
	expect_parse("windows/amd64", "windows/amd64");
	expect_parse("macos/arm64", "darwin/arm64");
}

static void expect_parse_error(const char *s, const char *message)
{
	rs_platform *p = (rs_platform *)1;
	assert_int_equal(rs_platform_parse(&p, s), RS_EINVAL);
	assert_null(p);
	assert_string_equal(last_message(), message);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_parse_error("", "invalid platform \"\": expected OS/ARCH[/VARIANT]");
	expect_parse_error(NULL, "invalid platform \"\": expected OS/ARCH[/VARIANT]");
	expect_parse_error(
	        "linux",
	        "invalid platform \"linux\": expected OS/ARCH[/VARIANT], e.g. linux/amd64");
	expect_parse_error("linux/", "invalid platform \"linux/\": empty architecture");
	expect_parse_error("/amd64", "invalid platform \"/amd64\": empty os");
	expect_parse_error("linux/arm/", "invalid platform \"linux/arm/\": empty variant");
	expect_parse_error("linux/arm/v7/x", "invalid platform \"linux/arm/v7/x\": too many parts, "
	                                     "expected OS/ARCH[/VARIANT]");
	expect_parse_error("linux/am d64",
	                   "invalid platform \"linux/am d64\": bad character in architecture "
	                   "\"am d64\"");
}

static void test_format(void **state)
{
	rs_platform *p = mkplat("linux", "arm64", "v8");
	char *s;
	(void)state;
	s = rs_platform_format(p);
	assert_string_equal(s, "linux/arm64/v8"); /* as written, not normalised */
	free(s);
	free(p->variant);
	p->variant = NULL;
	s = rs_platform_format(p);
	assert_string_equal(s, "linux/arm64");
	free(s);
	rs_platform_free(p);
	assert_null(rs_platform_format(NULL));
}

static int match(const char *want, rs_platform *have)
{
	rs_platform *w = NULL;
	int m;
	assert_int_equal(rs_platform_parse(&w, want), 0);
	m = rs_platform_match(w, have);
	rs_platform_free(w);
	rs_platform_free(have);
	return m;
}

static void test_match(void **state)
{
	rs_platform *w, *h;
	(void)state;
	assert_true(match("linux/arm64", mkplat("linux", "arm64", "v8")));
	assert_true(match("linux/arm64/v8", mkplat("linux", "arm64", NULL)));
	assert_true(match("linux/aarch64", mkplat("linux", "arm64", "v8")));
	assert_true(match("linux/amd64", mkplat("linux", "amd64", NULL)));
	assert_true(match("linux/arm", mkplat("linux", "arm", "v7")));
	assert_true(match("linux/arm/v7", mkplat("linux", "arm", NULL)));
	assert_false(match("linux/arm/v7", mkplat("linux", "arm", "v6")));
	assert_false(match("linux/amd64", mkplat("linux", "arm64", NULL)));
	assert_false(match("linux/amd64", mkplat("windows", "amd64", NULL)));
	assert_false(match("linux/amd64", mkplat("linux", "amd64", "v3")));
	assert_false(match("linux/arm64", mkplat("linux", "arm64", "v9")));

	/* os.version: only compared when wanted */
	w = mkplat("windows", "amd64", NULL);
	h = mkplat("windows", "amd64", NULL);
	h->os_version = rs__strdup("10.0.17763.5820");
	assert_true(rs_platform_match(w, h));
	w->os_version = rs__strdup("10.0.20348.2461");
	assert_false(rs_platform_match(w, h));
	free(w->os_version);
	w->os_version = rs__strdup("10.0.17763.5820");
	assert_true(rs_platform_match(w, h));
	/* matching leaves the arguments untouched */
	assert_string_equal(h->architecture, "amd64");
	rs_platform_free(w);
	rs_platform_free(h);

	assert_false(rs_platform_match(NULL, NULL));
}

static void test_unknown(void **state)
{
	rs_platform *p = mkplat("unknown", "unknown", NULL);
	(void)state;
	assert_true(rs_platform_is_unknown(p));
	free(p->os);
	p->os = rs__strdup("linux");
	assert_false(rs_platform_is_unknown(p));
	assert_false(rs_platform_is_unknown(NULL));
	rs_platform_free(p);
}

static void expect_uname(const char *sysname, const char *machine, const char *formatted)
{
	rs_platform *p = NULL;
	char *s;
	assert_int_equal(rs__platform_from_uname(&p, sysname, machine), 0);
	s = rs_platform_format(p);
	assert_string_equal(s, formatted);
	free(s);
	rs_platform_free(p);
}

static void test_from_uname(void **state)
{
	rs_platform *p = (rs_platform *)1;
	(void)state;
	expect_uname("Linux", "x86_64", "linux/amd64");
	expect_uname("Linux", "aarch64", "linux/arm64");
	expect_uname("Linux", "armv7l", "linux/arm/v7");
	expect_uname("Linux", "armv8l", "linux/arm/v7");
	expect_uname("Linux", "armv6l", "linux/arm/v6");
	expect_uname("Linux", "i686", "linux/386");
	expect_uname("Linux", "ppc64le", "linux/ppc64le");
	expect_uname("Linux", "s390x", "linux/s390x");
	expect_uname("Linux", "riscv64", "linux/riscv64");
	expect_uname("Darwin", "arm64", "darwin/arm64");
	assert_int_equal(rs__platform_from_uname(&p, "Linux", ""), RS_ERROR);
	assert_null(p);
}

static void test_host(void **state)
{
	rs_platform *host = NULL, *expect = NULL;
	struct utsname u;
	(void)state;
	assert_int_equal(uname(&u), 0);
	assert_int_equal(rs_platform_host(&host), 0);
	assert_int_equal(rs__platform_from_uname(&expect, u.sysname, u.machine), 0);
	assert_platform_equal(host, expect);
	assert_non_null(host->os);
	assert_non_null(host->architecture);
	if (!strcmp(u.machine, "x86_64"))
		assert_string_equal(host->architecture, "amd64");
	rs_platform_free(host);
	rs_platform_free(expect);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_and_normalise),
	        cmocka_unit_test(test_parse_errors),
	        cmocka_unit_test(test_format),
	        cmocka_unit_test(test_match),
	        cmocka_unit_test(test_unknown),
	        cmocka_unit_test(test_from_uname),
	        cmocka_unit_test(test_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
