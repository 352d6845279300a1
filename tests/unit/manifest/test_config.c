/* Tests for lib/manifest/config.c */
#include "manifest/testdata.h"

#define H1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static void test_docker_config(void **state)
{
	rs_buf b = RS_BUF_INIT;
	rs_image_config *c = NULL;
	const rs_platform *p;
	(void)state;
	load_data(&b, "config_docker.json");
	assert_int_equal(rs_image_config_parse(&c, b.ptr, b.size), 0);
	p = rs_image_config_platform(c);
	assert_string_equal(p->os, "linux");
	assert_string_equal(p->architecture, "arm");
	assert_string_equal(p->variant, "v7");
	assert_null(p->os_version);
	assert_int_equal(rs_image_config_diff_id_count(c), 2);
	assert_true(rs__str_startswith(rs_image_config_diff_id(c, 0), "sha256:"));
	assert_string_not_equal(rs_image_config_diff_id(c, 0), rs_image_config_diff_id(c, 1));
	assert_null(rs_image_config_diff_id(c, 2));
	rs_image_config_free(c);
	rs_image_config_free(NULL);
	rs_buf_dispose(&b);
}

static void test_windows_config(void **state)
{
	const char *text = "{\"architecture\":\"amd64\",\"os\":\"windows\","
	                   "\"os.version\":\"10.0.17763.5820\",\"variant\":\"\","
	                   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" H1 "\"]}}";
	rs_image_config *c = NULL;
	(void)state;
	assert_int_equal(rs_image_config_parse(&c, text, strlen(text)), 0);
	assert_string_equal(rs_image_config_platform(c)->os_version, "10.0.17763.5820");
	assert_null(rs_image_config_platform(c)->variant); /* "" means none */
	assert_string_equal(rs_image_config_diff_id(c, 0), H1);
	rs_image_config_free(c);
}

static void expect_error(const char *text, const char *message)
{
	rs_image_config *c = (rs_image_config *)1;
	assert_int_equal(rs_image_config_parse(&c, text, strlen(text)), RS_EFORMAT);
	assert_null(c);
	assert_string_equal(last_message(), message);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("{\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"layers\","
	             "\"diff_ids\":[]}}",
	             "image config: missing \"os\"");
	expect_error("{\"os\":\"linux\",\"architecture\":7,\"rootfs\":{}}",
	             "image config: \"architecture\" must be a non-empty string");
	expect_error("{\"os\":\"linux\",\"architecture\":\"amd64\"}",
	             "image config: missing \"rootfs\"");
	expect_error("{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"x\"}}",
	             "image config: rootfs.type must be \"layers\", not \"x\"");
	expect_error("{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":"
	             "\"layers\"}}",
	             "image config: missing rootfs.diff_ids");
	expect_error("{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":"
	             "\"layers\",\"diff_ids\":[\"" H1 "\",\"sha256:zz\"]}}",
	             "image config: rootfs.diff_ids[1]: invalid digest \"sha256:zz\": expected 64 "
	             "lowercase hex digits");
	expect_error("{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":"
	             "\"layers\",\"diff_ids\":[3]}}",
	             "image config: rootfs.diff_ids[0] must be a string");
	expect_error("[]", "image config is not a JSON object");
}

static void test_deep_config(void **state)
{
	rs_buf b = RS_BUF_INIT;
	rs_image_config *c = (rs_image_config *)1;
	(void)state;
	for (int i = 0; i < 50000; i++)
		rs__buf_putc(&b, '{');
	assert_int_equal(rs_image_config_parse(&c, b.ptr, b.size), RS_EFORMAT);
	assert_null(c);
	assert_string_equal(last_message(), "image config JSON is nested deeper than 64 levels");
	rs_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_docker_config),
	        cmocka_unit_test(test_windows_config),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_deep_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
