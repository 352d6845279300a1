/* Tests of lib/ref/format.c: formatting, copies, tag/digest replacement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "util/util.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D256 "sha256:" HEX64

static void expect_format(const char *in, unsigned flags, const char *full, const char *name,
                          const char *ident)
{
	rs_ref *ref = NULL;
	char *s;
	assert_int_equal(rs_ref_parse(&ref, in, flags), 0);
	s = rs_ref_format(ref);
	assert_string_equal(s, full);
	free(s);
	s = rs_ref_format_name(ref);
	assert_string_equal(s, name);
	free(s);
	if (ident)
		assert_string_equal(rs_ref_identifier(ref), ident);
	else
		assert_null(rs_ref_identifier(ref));
	rs_ref_free(ref);
}

static void test_format(void **state)
{
	(void)state;
	expect_format("ubuntu", 0, "docker.io/library/ubuntu:latest", "docker.io/library/ubuntu",
	              "latest");
	expect_format("reg:5000/a/b@" D256, 0, "reg:5000/a/b@" D256, "reg:5000/a/b", D256);
	expect_format("reg:5000/a/b:v1@" D256, 0, "reg:5000/a/b:v1@" D256, "reg:5000/a/b", D256);
	expect_format("[::1]:5000/x:t", 0, "[::1]:5000/x:t", "[::1]:5000/x", "t");
	expect_format("ubuntu", RS_REF_NAME_ONLY, "docker.io/library/ubuntu",
	              "docker.io/library/ubuntu", NULL);
	assert_null(rs_ref_format(NULL));
	assert_null(rs_ref_format_name(NULL));
	assert_null(rs_ref_identifier(NULL));
}

static void test_dup_with(void **state)
{
	rs_ref *ref = NULL, *copy = NULL, *tagged = NULL, *pinned = NULL;
	char *s;
	(void)state;
	assert_int_equal(rs_ref_parse(&ref, "reg.io/a/b:v1@" D256, 0), 0);

	assert_int_equal(rs_ref_dup(&copy, ref), 0);
	assert_ptr_not_equal(copy->path, ref->path);
	s = rs_ref_format(copy);
	assert_string_equal(s, "reg.io/a/b:v1@" D256);
	free(s);

	assert_int_equal(rs_ref_with_tag(&tagged, ref, "v2"), 0);
	assert_string_equal(tagged->tag, "v2");
	assert_null(tagged->digest); /* digest cleared */
	assert_string_equal(rs_ref_identifier(tagged), "v2");

	assert_int_equal(rs_ref_with_digest(&pinned, tagged, "sha512:" HEX64 HEX64), 0);
	assert_string_equal(pinned->tag, "v2"); /* tag kept for display */
	assert_string_equal(rs_ref_identifier(pinned), "sha512:" HEX64 HEX64);

	rs_ref_free(pinned);
	pinned = (rs_ref *)&pinned;
	assert_int_equal(rs_ref_with_digest(&pinned, ref, "sha256:abc"), RS_EINVAL);
	assert_null(pinned);
	assert_non_null(strstr(rs_error_last()->message,
	                       "invalid digest \"sha256:abc\": a sha256 digest has 64 hex"));
	assert_int_equal(rs_ref_with_digest(&pinned, ref, NULL), RS_EINVAL);

	rs_ref_free(tagged);
	assert_int_equal(rs_ref_with_tag(&tagged, ref, "-bad"), RS_EINVAL);
	assert_null(tagged);
	assert_non_null(strstr(rs_error_last()->message, "invalid tag \"-bad\": tag must start"));

	rs_ref_free(copy);
	rs_ref_free(ref);
	rs_ref_free(NULL);
}

static void test_check_tag(void **state)
{
	char t[130];
	(void)state;
	assert_int_equal(rs_ref_check_tag("v1.0_rc-1"), 0);
	assert_int_equal(rs_ref_check_tag("_"), 0);
	assert_int_equal(rs_ref_check_tag(""), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "invalid tag \"\": tag is empty"));
	assert_int_equal(rs_ref_check_tag(NULL), RS_EINVAL);
	assert_int_equal(rs_ref_check_tag("a b"), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "invalid character ' ' in tag"));
	memset(t, 'a', 128);
	t[128] = '\0';
	assert_int_equal(rs_ref_check_tag(t), 0);
	t[128] = 'a';
	t[129] = '\0';
	assert_int_equal(rs_ref_check_tag(t), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "129 characters long"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_format),
	        cmocka_unit_test(test_dup_with),
	        cmocka_unit_test(test_check_tag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
