/* Tests for lib/manifest/descriptor.c */
#include "manifest/testdata.h"

#include "manifest/internal.h"

#define D1 "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"
#define D2 "sha256:1ff8c9d1b1e5f5ed2e7a2a1ef6cb2b3cd7b4b6e1b6d7ea5a0b4d9a8c7e6f5a41"

static json_t *load(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	if (!j)
		fail_msg("bad test JSON: %s", err.text);
	return j;
}

/* Parse text as a descriptor at "manifest layer 3"; returns the error code. */
static int parse(rs_descriptor *d, const char *text)
{
	json_t *j = load(text);
	int error = rs__descriptor_from_json(d, j, "manifest layer 3");
	json_decref(j);
	return error;
}

static void test_full_descriptor(void **state)
{
	rs_descriptor d;
	(void)state;
	assert_int_equal(
	        parse(&d, "{\"mediaType\":\"" RS_MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\","
	                  "\"size\":1054,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\","
	                  "\"variant\":\"v8\",\"os.version\":\"5.15\"},"
	                  "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1.2\","
	                  "\"x\":\"y\"},\"artifactType\":\"application/vnd.example+json\","
	                  "\"urls\":[\"https://example.com/x\"]}"),
	        0);
	assert_string_equal(d.media_type, RS_MT_OCI_MANIFEST);
	assert_string_equal(d.digest, D1);
	assert_int_equal(d.size, 1054);
	assert_non_null(d.platform);
	assert_string_equal(d.platform->os, "linux");
	assert_string_equal(d.platform->architecture, "arm64");
	assert_string_equal(d.platform->variant, "v8"); /* kept as written */
	assert_string_equal(d.platform->os_version, "5.15");
	assert_string_equal(d.ref_name, "v1.2");
	assert_string_equal(d.artifact_type, "application/vnd.example+json");
	rs_descriptor_dispose(&d);
	assert_null(d.digest);
	assert_null(d.platform);
}

static void test_minimal_descriptor(void **state)
{
	rs_descriptor d;
	(void)state;
	assert_int_equal(parse(&d, "{\"mediaType\":\"a/b\",\"digest\":\"" D2 "\",\"size\":0}"), 0);
	assert_int_equal(d.size, 0);
	assert_null(d.platform);
	assert_null(d.ref_name);
	assert_null(d.artifact_type);
	rs_descriptor_dispose(&d);
}

static void expect_error(const char *text, int code, const char *message)
{
	rs_descriptor d;
	assert_int_equal(parse(&d, text), code);
	assert_string_equal(last_message(), message);
	assert_null(d.media_type);
	assert_null(d.digest);
	assert_null(d.platform);
}

static void test_errors_name_the_field(void **state)
{
	(void)state;
	expect_error("{\"digest\":\"" D1 "\",\"size\":1}", RS_EFORMAT,
	             "manifest layer 3: missing \"mediaType\"");
	expect_error("{\"mediaType\":\"\",\"digest\":\"" D1 "\",\"size\":1}", RS_EFORMAT,
	             "manifest layer 3: \"mediaType\" must be a non-empty string");
	expect_error("{\"mediaType\":\"a/b\",\"size\":1}", RS_EFORMAT,
	             "manifest layer 3: missing \"digest\"");
	expect_error("{\"mediaType\":\"a/b\",\"digest\":\"sha256:zz\",\"size\":1}", RS_EFORMAT,
	             "manifest layer 3: invalid digest \"sha256:zz\": expected 64 lowercase hex "
	             "digits");
	expect_error("{\"mediaType\":\"a/b\",\"digest\":\"md5:abc\",\"size\":1}", RS_EFORMAT,
	             "manifest layer 3: invalid digest \"md5:abc\": unsupported algorithm (use "
	             "sha256)");
	expect_error("{\"mediaType\":\"a/b\",\"digest\":7,\"size\":1}", RS_EFORMAT,
	             "manifest layer 3: \"digest\" must be a string");
	expect_error("{\"mediaType\":\"a/b\",\"digest\":\"" D1 "\"}", RS_EFORMAT,
	             "manifest layer 3: missing \"size\"");
	expect_error("{\"mediaType\":\"a/b\",\"digest\":\"" D1 "\",\"size\":-1}", RS_EFORMAT,
	             "manifest layer 3: invalid size -1: must not be negative");
	expect_error("{\"mediaType\":\"a/b\",\"digest\":\"" D1 "\",\"size\":1.5}", RS_EFORMAT,
	             "manifest layer 3: \"size\" must be an integer");
	expect_error("{\"mediaType\":\"a/b\",\"digest\":\"" D1 "\",\"size\":\"12\"}", RS_EFORMAT,
	             "manifest layer 3: \"size\" must be an integer");
	expect_error("{\"mediaType\":\"a/b\",\"digest\":\"" D1 "\",\"size\":1,"
	             "\"platform\":{\"architecture\":\"amd64\"}}",
	             RS_EFORMAT, "manifest layer 3: platform: missing \"os\"");
	expect_error("{\"mediaType\":\"a/b\",\"digest\":\"" D1 "\",\"size\":1,"
	             "\"platform\":\"linux/amd64\"}",
	             RS_EFORMAT, "manifest layer 3: \"platform\" must be an object");
	expect_error("{\"mediaType\":\"a/b\",\"digest\":\"" D1 "\",\"size\":1,"
	             "\"annotations\":{\"k\":1}}",
	             RS_EFORMAT, "manifest layer 3: annotation \"k\" must be a string");
	expect_error("[1]", RS_EFORMAT, "manifest layer 3: descriptor must be a JSON object");
}

static void test_dup_and_dispose(void **state)
{
	rs_descriptor src = mkdesc("a/b", D1, 42, mkplat("linux", "arm", "v7")), copy;
	rs_platform *pcopy = (rs_platform *)1;
	(void)state;
	src.ref_name = rs__strdup("latest");

	assert_int_equal(rs_descriptor_dup(&copy, &src), 0);
	assert_descriptor_equal(&copy, &src);
	assert_ptr_not_equal(copy.digest, src.digest);
	assert_ptr_not_equal(copy.platform, src.platform);
	assert_ptr_not_equal(copy.platform->variant, src.platform->variant);
	rs_descriptor_dispose(&copy);
	assert_null(copy.media_type);
	assert_int_equal(copy.size, 0);
	rs_descriptor_dispose(NULL);

	assert_int_equal(rs_platform_dup(&pcopy, NULL), 0);
	assert_null(pcopy);
	assert_int_equal(rs_platform_dup(&pcopy, src.platform), 0);
	assert_platform_equal(pcopy, src.platform);
	assert_ptr_not_equal(pcopy->os, src.platform->os);
	rs_platform_free(pcopy);
	rs_platform_free(NULL);
	rs_descriptor_dispose(&src);
}

static void test_check(void **state)
{
	rs_descriptor d = mkdesc("a/b", D1, 1, NULL);
	(void)state;
	assert_int_equal(rs__descriptor_check(&d, "layer 1"), 0);
	free(d.digest);
	d.digest = rs__strdup("sha256:abc");
	assert_int_equal(rs__descriptor_check(&d, "layer 1"), RS_EINVAL);
	assert_string_equal(last_message(),
	                    "layer 1: invalid digest \"sha256:abc\": expected 64 lowercase hex "
	                    "digits");
	free(d.digest);
	d.digest = rs__strdup(D1);
	d.size = -3;
	assert_int_equal(rs__descriptor_check(&d, "layer 1"), RS_EINVAL);
	assert_string_equal(last_message(), "layer 1: invalid size -3: must not be negative");
	d.size = 3;
	free(d.media_type);
	d.media_type = NULL;
	assert_int_equal(rs__descriptor_check(&d, "config"), RS_EINVAL);
	assert_string_equal(last_message(), "config: no media type");
	rs_descriptor_dispose(&d);
}

static char *dump_descriptor(const rs_descriptor *d, bool docker)
{
	json_t *j = NULL;
	char *s;
	assert_int_equal(rs__descriptor_to_json(&j, d, docker, "x"), 0);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

static void test_to_json_key_order(void **state)
{
	rs_descriptor d = mkdesc("a/b", D1, 7, mkplat("linux", "arm64", "v8"));
	char *s;
	(void)state;
	d.ref_name = rs__strdup("v1");
	d.artifact_type = rs__strdup("t/x");
	s = dump_descriptor(&d, false);
	assert_string_equal(s, "{\"mediaType\":\"a/b\",\"digest\":\"" D1 "\",\"size\":7,"
	                       "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"},"
	                       "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\","
	                       "\"variant\":\"v8\"},\"artifactType\":\"t/x\"}");
	free(s);
	s = dump_descriptor(&d, true);
	assert_string_equal(s, "{\"mediaType\":\"a/b\",\"size\":7,\"digest\":\"" D1 "\","
	                       "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\","
	                       "\"variant\":\"v8\"}}");
	free(s);
	rs_descriptor_dispose(&d);
}

static void test_to_json_rejects_bad_utf8(void **state)
{
	rs_descriptor d = mkdesc("a/\xff", D1, 7, NULL);
	json_t *j = (json_t *)1;
	(void)state;
	assert_int_equal(rs__descriptor_to_json(&j, &d, false, "layer 0"), RS_EINVAL);
	assert_null(j);
	assert_string_equal(last_message(), "layer 0: \"mediaType\" is not valid UTF-8");
	rs_descriptor_dispose(&d);
}

static void test_depth_check(void **state)
{
	char buf[512];
	size_t n = 0;
	(void)state;
	for (int i = 0; i < 64; i++)
		buf[n++] = '[';
	for (int i = 0; i < 64; i++)
		buf[n++] = ']';
	assert_int_equal(rs__json_check_depth(buf, n, 64, "manifest"), 0);
	memmove(buf + 1, buf, n);
	buf[0] = '{';
	buf[n + 1] = '}';
	assert_int_equal(rs__json_check_depth(buf, n + 2, 64, "manifest"), RS_EFORMAT);
	assert_string_equal(last_message(), "manifest JSON is nested deeper than 64 levels");

	/* brackets inside strings, also after escaped quotes, do not count */
	{
		const char *s = "{\"a\":\"[[[[\\\"[[[[\",\"b\":[[1]]}";
		assert_int_equal(rs__json_check_depth(s, strlen(s), 3, "x"), 0);
		assert_int_equal(rs__json_check_depth(s, strlen(s), 2, "x"), RS_EFORMAT);
	}
}

static void test_parse_object(void **state)
{
	json_t *j = (json_t *)1;
	(void)state;
	assert_int_equal(rs__json_parse_object(&j, "{\"a\":1}", 7, "manifest"), 0);
	assert_true(json_is_object(j));
	json_decref(j);

	assert_int_equal(rs__json_parse_object(&j, "", 0, "manifest"), RS_EFORMAT);
	assert_null(j);
	assert_string_equal(last_message(), "manifest is empty");
	assert_int_equal(rs__json_parse_object(&j, "[1,2]", 5, "manifest"), RS_EFORMAT);
	assert_string_equal(last_message(), "manifest is not a JSON object");
	assert_int_equal(rs__json_parse_object(&j, "{\"a\":", 5, "image config"), RS_EFORMAT);
	assert_true(rs__str_startswith(last_message(), "image config is not valid JSON: "));
	assert_int_equal(rs__json_parse_object(&j, "{\"a\":1,\"a\":2}", 13, "manifest"),
	                 RS_EFORMAT);
	assert_non_null(strstr(last_message(), "duplicate"));
	assert_null(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_full_descriptor),
	        cmocka_unit_test(test_minimal_descriptor),
	        cmocka_unit_test(test_errors_name_the_field),
	        cmocka_unit_test(test_dup_and_dispose),
	        cmocka_unit_test(test_check),
	        cmocka_unit_test(test_to_json_key_order),
	        cmocka_unit_test(test_to_json_rejects_bad_utf8),
	        cmocka_unit_test(test_depth_check),
	        cmocka_unit_test(test_parse_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
