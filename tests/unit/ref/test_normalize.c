/* Tests of lib/ref/normalize.c: registry hosts on their own, docker.io aliases, endpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "util/util.h"

static void expect_domain(const char *in, const char *want)
{
	char *d = NULL;
	int rc = rs_ref_parse_domain(&d, in);
	if (rc != 0)
		fail_msg("\"%s\": %s", in, rs_error_last()->message);
	assert_string_equal(d, want);
	free(d);
}

static void expect_bad_domain(const char *in, const char *fragment)
{
	char *d = (char *)"unchanged";
	assert_int_equal(rs_ref_parse_domain(&d, in), RS_EINVAL);
	assert_null(d);
	assert_true(rs__str_startswith(rs_error_last()->message, "invalid registry \""));
	if (!strstr(rs_error_last()->message, fragment))
		fail_msg("\"%s\": got \"%s\", want \"%s\"", in, rs_error_last()->message, fragment);
}

static void test_parse_domain(void **state)
{
	(void)state;
	expect_domain("registry.local:5000", "registry.local:5000");
	expect_domain("localhost", "localhost");
	expect_domain("myreg", "myreg");
	expect_domain("[::1]:5000", "[::1]:5000");
	expect_domain("https://myreg:5000/", "myreg:5000");
	expect_domain("https://myreg:5000/v1/", "myreg:5000");
	expect_domain("http://myreg", "myreg");
	expect_domain("HTTPS://ghcr.io", "ghcr.io");
	expect_domain("docker.io", "docker.io");
	expect_domain("index.docker.io", "docker.io");
	expect_domain("registry-1.docker.io", "docker.io");
	expect_domain("https://index.docker.io/v1/", "docker.io");

	expect_bad_domain("", "empty");
	expect_bad_domain("https://", "registry host is empty");
	expect_bad_domain("my_reg:5000", "invalid character '_' in registry host \"my_reg\"");
	expect_bad_domain("myreg:", "port number missing");
	expect_bad_domain("myreg:x1", "invalid character 'x' in port");
	expect_bad_domain("myreg:65536", "port 65536 is out of range");
	expect_bad_domain("[::1", "lacks its closing ']'");
	expect_bad_domain("a..b", "empty name component");
}

static void test_is_hub(void **state)
{
	(void)state;
	assert_true(rs__ref_is_hub("docker.io"));
	assert_true(rs__ref_is_hub("index.docker.io"));
	assert_true(rs__ref_is_hub("Registry-1.Docker.io"));
	assert_false(rs__ref_is_hub("docker.io:5000"));
	assert_false(rs__ref_is_hub("mydocker.io"));
	assert_false(rs__ref_is_hub(NULL));
}

static void test_endpoint(void **state)
{
	rs_ref *ref = NULL;
	(void)state;
	assert_string_equal(rs_ref_endpoint("docker.io"), "registry-1.docker.io");
	assert_string_equal(rs_ref_endpoint("index.docker.io"), "registry-1.docker.io");
	assert_string_equal(rs_ref_endpoint("registry.local:5000"), "registry.local:5000");
	assert_string_equal(rs_ref_endpoint("[::1]:5000"), "[::1]:5000");
	assert_null(rs_ref_endpoint(NULL));
	assert_int_equal(rs_ref_parse(&ref, "alpine", 0), 0);
	assert_string_equal(rs_ref_endpoint(ref->domain), "registry-1.docker.io");
	rs_ref_free(ref);
}

static void test_normalize(void **state)
{
	char *d, *p;
	(void)state;
	rs__ref_normalize(&d, &p, NULL, 0, "ubuntu", 6);
	assert_string_equal(d, "docker.io");
	assert_string_equal(p, "library/ubuntu");
	free(d);
	free(p);
	rs__ref_normalize(&d, &p, "index.docker.io", 15, "a/b", 3);
	assert_string_equal(d, "docker.io");
	assert_string_equal(p, "a/b");
	free(d);
	free(p);
	/* only docker.io gets library/ */
	rs__ref_normalize(&d, &p, "myreg:5000", 10, "ubuntu", 6);
	assert_string_equal(d, "myreg:5000");
	assert_string_equal(p, "ubuntu");
	free(d);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_domain),
	        cmocka_unit_test(test_is_hub),
	        cmocka_unit_test(test_endpoint),
	        cmocka_unit_test(test_normalize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
