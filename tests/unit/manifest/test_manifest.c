/* Tests for lib/manifest/manifest.c */
#include "manifest/testdata.h"

#include "util/digest.h"

/* sha256sum tests/data/manifest/docker_v2.json */
#define DOCKER_V2_DIGEST "sha256:86028326d57e92ca1501181bda79dbf6ff4843e44f1c29dd74d62e097969f2e5"

#define H1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static rs_manifest *parse_file(const char *name, const char *content_type)
{
	rs_buf b = RS_BUF_INIT;
	rs_manifest *m = NULL;
	load_data(&b, name);
	if (rs_manifest_parse(&m, b.ptr, b.size, content_type) < 0)
		fail_msg("%s: %s", name, last_message());
	rs_buf_dispose(&b);
	return m;
}

static int parse_file_error(const char *name, const char *content_type)
{
	rs_buf b = RS_BUF_INIT;
	rs_manifest *m = (rs_manifest *)1;
	int error;
	load_data(&b, name);
	error = rs_manifest_parse(&m, b.ptr, b.size, content_type);
	assert_null(m);
	rs_buf_dispose(&b);
	return error;
}

static int parse_text_error(const char *text, const char *content_type)
{
	rs_manifest *m = (rs_manifest *)1;
	int error = rs_manifest_parse(&m, text, strlen(text), content_type);
	if (error == 0)
		rs_manifest_free(m);
	else
		assert_null(m);
	return error;
}

static void test_docker_v2(void **state)
{
	rs_buf raw = RS_BUF_INIT;
	rs_manifest *m;
	const rs_descriptor *d;
	const void *bytes;
	size_t len;
	(void)state;

	m = parse_file("docker_v2.json", RS_MT_DOCKER_MANIFEST);
	assert_string_equal(rs_manifest_media_type(m), RS_MT_DOCKER_MANIFEST);
	assert_false(rs_manifest_is_index(m));
	d = rs_manifest_config(m);
	assert_non_null(d);
	assert_string_equal(d->media_type, RS_MT_DOCKER_CONFIG);
	assert_int_equal(d->size, 1472);
	assert_int_equal(rs_manifest_layer_count(m), 1);
	d = rs_manifest_layer(m, 0);
	assert_string_equal(d->media_type, RS_MT_DOCKER_LAYER_GZIP);
	assert_int_equal(d->size, 3408729);
	assert_null(rs_manifest_layer(m, 1));
	assert_int_equal(rs_manifest_child_count(m), 0);
	assert_null(rs_manifest_child(m, 0));
	assert_null(rs_manifest_subject(m));
	assert_null(rs_manifest_annotation(m, "x"));

	/* the exact bytes, and their digest */
	load_data(&raw, "docker_v2.json");
	bytes = rs_manifest_bytes(m, &len);
	assert_int_equal(len, raw.size);
	assert_memory_equal(bytes, raw.ptr, len);
	assert_ptr_not_equal(bytes, raw.ptr);
	assert_string_equal(rs_manifest_digest(m), DOCKER_V2_DIGEST);
	assert_int_equal(rs_manifest_verify(m, DOCKER_V2_DIGEST), 0);
	assert_int_equal(rs_manifest_verify(m, H1), RS_EDIGEST);
	assert_true(rs__str_startswith(last_message(), "manifest: digest mismatch: expected " H1));
	rs_manifest_free(m);

	/* one more byte (a newline) is another manifest with another digest */
	rs__buf_putc(&raw, '\n');
	assert_int_equal(rs_manifest_parse(&m, raw.ptr, raw.size, NULL), 0);
	assert_string_not_equal(rs_manifest_digest(m), DOCKER_V2_DIGEST);
	{
		char expect[RS_DIGEST_MAX];
		rs__sha256_digest(expect, raw.ptr, raw.size);
		assert_string_equal(rs_manifest_digest(m), expect);
	}
	rs_manifest_free(m);
	rs_buf_dispose(&raw);
}

static void test_blob_list(void **state)
{
	rs_manifest *m = parse_file("oci_manifest.json", RS_MT_OCI_MANIFEST);
	(void)state;
	assert_int_equal(rs_manifest_blob_count(m), 5);
	assert_ptr_equal(rs_manifest_blob(m, 0), rs_manifest_config(m));
	for (size_t i = 0; i < 4; i++)
		assert_ptr_equal(rs_manifest_blob(m, i + 1), rs_manifest_layer(m, i));
	assert_null(rs_manifest_blob(m, 5));
	assert_string_equal(rs_manifest_layer(m, 2)->media_type, RS_MT_OCI_LAYER_ZSTD);
	assert_int_equal(rs_manifest_layer(m, 1)->size, 41362471);
	assert_string_equal(rs_manifest_annotation(m, "org.opencontainers.image.created"),
	                    "2024-05-14T09:12:44Z");
	assert_null(rs_manifest_annotation(m, "org.opencontainers.image.title"));
	assert_null(rs_manifest_annotation(m, NULL));
	rs_manifest_free(m);
}

static void test_missing_media_type(void **state)
{
	rs_manifest *m;
	(void)state;
	/* nothing says what it is: detected, OCI */
	m = parse_file("oci_manifest_no_mediatype.json", NULL);
	assert_string_equal(rs_manifest_media_type(m), RS_MT_OCI_MANIFEST);
	assert_int_equal(rs_manifest_layer_count(m), 4);
	rs_manifest_free(m);
	m = parse_file("oci_manifest_no_mediatype.json", "application/json");
	assert_string_equal(rs_manifest_media_type(m), RS_MT_OCI_MANIFEST);
	rs_manifest_free(m);
	/* the Content-Type decides when the body does not say */
	m = parse_file("oci_manifest_no_mediatype.json", RS_MT_DOCKER_MANIFEST "; charset=utf-8");
	assert_string_equal(rs_manifest_media_type(m), RS_MT_DOCKER_MANIFEST);
	rs_manifest_free(m);

	m = parse_file("oci_index_no_mediatype.json", NULL);
	assert_string_equal(rs_manifest_media_type(m), RS_MT_OCI_INDEX);
	assert_true(rs_manifest_is_index(m));
	assert_int_equal(rs_manifest_child_count(m), 2);
	assert_string_equal(rs_manifest_child(m, 0)->platform->os_version, "10.0.17763.5820");
	assert_string_equal(rs_manifest_child(m, 0)->ref_name, "ltsc2019");
	assert_null(rs_manifest_child(m, 1)->platform);
	rs_manifest_free(m);

	/* the Content-Type says index, the body is a manifest */
	assert_int_equal(parse_file_error("oci_manifest_no_mediatype.json", RS_MT_OCI_INDEX),
	                 RS_EFORMAT);
	assert_string_equal(last_message(), "index has no \"manifests\"");
	/* neither said nor detectable */
	assert_int_equal(parse_text_error("{\"schemaVersion\":2}", NULL), RS_EFORMAT);
	assert_string_equal(last_message(),
	                    "cannot tell what kind of manifest this is: no \"mediaType\", and "
	                    "neither \"manifests\" nor \"config\" and \"layers\"");
}

static void test_docker_list(void **state)
{
	rs_manifest *m = parse_file("docker_list.json", "application/json; charset=utf-8");
	const rs_descriptor *d;
	(void)state;
	assert_string_equal(rs_manifest_media_type(m), RS_MT_DOCKER_LIST);
	assert_true(rs_manifest_is_index(m));
	assert_null(rs_manifest_config(m));
	assert_int_equal(rs_manifest_layer_count(m), 0);
	assert_int_equal(rs_manifest_blob_count(m), 0);
	assert_null(rs_manifest_layer(m, 0));
	assert_int_equal(rs_manifest_child_count(m), 7);
	for (size_t i = 0; i < 7; i++) {
		d = rs_manifest_child(m, i);
		assert_string_equal(d->media_type, RS_MT_DOCKER_MANIFEST);
		assert_non_null(d->platform);
		assert_string_equal(d->platform->os, "linux");
		assert_int_equal(d->size, 527 + (int64_t)i);
	}
	d = rs_manifest_child(m, 2);
	assert_string_equal(d->platform->architecture, "arm");
	assert_string_equal(d->platform->variant, "v7");
	rs_manifest_free(m);
}

static void test_content_type_mismatch(void **state)
{
	(void)state;
	assert_int_equal(parse_file_error("docker_v2.json", RS_MT_OCI_MANIFEST), RS_EFORMAT);
	assert_string_equal(last_message(),
	                    "content type \"" RS_MT_OCI_MANIFEST "\" does not match the manifest's "
	                    "mediaType \"" RS_MT_DOCKER_MANIFEST "\"");
	assert_int_equal(parse_file_error("docker_list.json", "text/html"), RS_EFORMAT);
	assert_non_null(strstr(last_message(), "\"text/html\""));
	/* case and parameters do not make a mismatch */
	{
		rs_manifest *m =
		        parse_file("docker_v2.json",
		                   "Application/vnd.docker.distribution.manifest.v2+json; x=y");
		assert_string_equal(rs_manifest_media_type(m), RS_MT_DOCKER_MANIFEST);
		rs_manifest_free(m);
	}
}

static void test_schema1_and_versions(void **state)
{
	(void)state;
	assert_int_equal(parse_file_error("schema1.json", NULL), RS_EUNSUPPORTED);
	assert_string_equal(last_message(), "docker schema 1 manifests are not supported");
	assert_int_equal(parse_file_error("schema1.json", RS_MT_DOCKER_V1_SIGNED), RS_EUNSUPPORTED);
	assert_string_equal(last_message(), "docker schema 1 manifests are not supported");
	/* the v1 content type is refused even if the body claims otherwise */
	assert_int_equal(parse_file_error("docker_v2.json", RS_MT_DOCKER_V1), RS_EUNSUPPORTED);
	assert_int_equal(parse_text_error("{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_DOCKER_V1
	                                  "\",\"config\":{},\"layers\":[]}",
	                                  NULL),
	                 RS_EUNSUPPORTED);
	assert_string_equal(last_message(), "docker schema 1 manifests are not supported");

	assert_int_equal(parse_text_error("{\"schemaVersion\":3,\"manifests\":[]}", NULL),
	                 RS_EUNSUPPORTED);
	assert_string_equal(last_message(), "unsupported manifest schemaVersion 3 (expected 2)");
	assert_int_equal(parse_text_error("{\"manifests\":[]}", NULL), RS_EFORMAT);
	assert_string_equal(last_message(), "manifest has no \"schemaVersion\"");
	assert_int_equal(parse_text_error("{\"schemaVersion\":\"2\",\"manifests\":[]}", NULL),
	                 RS_EFORMAT);
	assert_string_equal(last_message(), "manifest \"schemaVersion\" must be an integer");
	assert_int_equal(parse_text_error("{\"schemaVersion\":2,\"manifests\":[]}", NULL), 0);

	assert_int_equal(
	        parse_text_error("{\"schemaVersion\":2,\"mediaType\":"
	                         "\"application/vnd.oci.artifact.manifest.v1+json\",\"blobs\":[]}",
	                         NULL),
	        RS_EUNSUPPORTED);
	assert_string_equal(last_message(), "unsupported manifest media type "
	                                    "\"application/vnd.oci.artifact.manifest.v1+json\"");
	assert_int_equal(parse_text_error("{\"schemaVersion\":2,\"layers\":[]}",
	                                  "application/vnd.example+json"),
	                 RS_EUNSUPPORTED);
	assert_string_equal(last_message(),
	                    "unsupported manifest media type \"application/vnd.example+json\"");
}

static void test_bad_json(void **state)
{
	rs_manifest *m = (rs_manifest *)1;
	(void)state;
	assert_int_equal(rs_manifest_parse(&m, "", 0, NULL), RS_EFORMAT);
	assert_null(m);
	assert_string_equal(last_message(), "manifest is empty");
	assert_int_equal(parse_text_error("[]", NULL), RS_EFORMAT);
	assert_string_equal(last_message(), "manifest is not a JSON object");
	assert_int_equal(parse_text_error("{\"schemaVersion\":2,", NULL), RS_EFORMAT);
	assert_true(rs__str_startswith(last_message(), "manifest is not valid JSON: "));
	/* a NUL inside the bytes is not the end of the document */
	assert_int_equal(rs_manifest_parse(&m, "{\"schemaVersion\":2}\0xx", 22, NULL), RS_EFORMAT);
	assert_int_equal(parse_text_error("{\"schemaVersion\":2,\"manifests\":{}}", NULL),
	                 RS_EFORMAT);
	assert_string_equal(last_message(), "index \"manifests\" must be an array");
	assert_int_equal(parse_text_error("{\"schemaVersion\":2,\"config\":{}}", NULL), RS_EFORMAT);
	assert_string_equal(last_message(), "manifest has no \"layers\"");
	assert_int_equal(parse_text_error("{\"schemaVersion\":2,\"layers\":[]}", NULL), RS_EFORMAT);
	assert_string_equal(last_message(), "manifest has no \"config\"");
	assert_int_equal(parse_text_error("{\"schemaVersion\":2,\"manifests\":[],"
	                                  "\"annotations\":{\"a\":[]}}",
	                                  NULL),
	                 RS_EFORMAT);
	assert_string_equal(last_message(), "index annotation \"a\" must be a string");
}

static void test_too_big(void **state)
{
	const char *head = "{\"schemaVersion\":2,\"manifests\":[]}";
	size_t n = RS_MANIFEST_MAX_SIZE;
	char *big = rs__malloc(n + 1);
	rs_manifest *m = NULL;
	(void)state;
	/* exactly at the limit (padded with blanks): accepted */
	memset(big, ' ', n + 1);
	memcpy(big, head, strlen(head));
	assert_int_equal(rs_manifest_parse(&m, big, n, NULL), 0);
	assert_true(rs_manifest_is_index(m));
	rs_manifest_free(m);
	/* one byte more: refused before parsing */
	m = (rs_manifest *)1;
	assert_int_equal(rs_manifest_parse(&m, big, n + 1, NULL), RS_ETOOBIG);
	assert_null(m);
	assert_string_equal(last_message(),
	                    "manifest is too big: 4194305 bytes (the limit is 4194304)");
	free(big);
}

/* An index with k nested arrays in a member. */
static int parse_nested_index(int k)
{
	rs_buf b = RS_BUF_INIT;
	int error;
	rs__buf_puts(&b, "{\"schemaVersion\":2,\"manifests\":[],\"x\":");
	for (int i = 0; i < k; i++)
		rs__buf_putc(&b, '[');
	for (int i = 0; i < k; i++)
		rs__buf_putc(&b, ']');
	rs__buf_putc(&b, '}');
	error = parse_text_error(b.ptr, NULL);
	rs_buf_dispose(&b);
	return error;
}

static void test_deeply_nested(void **state)
{
	size_t n = 100000;
	char *deep = rs__malloc(2 * n + 64);
	size_t len = 0;
	(void)state;
	for (size_t i = 0; i < n; i++)
		deep[len++] = '[';
	for (size_t i = 0; i < n; i++)
		deep[len++] = ']';
	{
		rs_manifest *m = (rs_manifest *)1;
		assert_int_equal(rs_manifest_parse(&m, deep, len, NULL), RS_EFORMAT);
		assert_null(m);
		assert_string_equal(last_message(),
		                    "manifest JSON is nested deeper than 64 levels");
	}
	/* unbalanced, never closed */
	{
		rs_manifest *m = (rs_manifest *)1;
		assert_int_equal(rs_manifest_parse(&m, deep, n, NULL), RS_EFORMAT);
	}
	/* inside an otherwise valid index: the object itself is level 1 */
	assert_int_equal(parse_nested_index(63), 0); /* 64 levels */
	assert_int_equal(parse_nested_index(64), RS_EFORMAT);
	assert_string_equal(last_message(), "manifest JSON is nested deeper than 64 levels");
	free(deep);
}

static void test_bad_descriptors(void **state)
{
	rs_buf b = RS_BUF_INIT;
	(void)state;
	rs__buf_printf(&b,
	               "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" RS_MT_OCI_CONFIG
	               "\",\"digest\":\"" H1 "\",\"size\":10},\"layers\":["
	               "{\"mediaType\":\"%s\",\"digest\":\"" H1 "\",\"size\":1},"
	               "{\"mediaType\":\"%s\",\"digest\":\"" H2 "\",\"size\":2},"
	               "{\"mediaType\":\"%s\",\"digest\":\"" H1 "\",\"size\":3},"
	               "{\"mediaType\":\"%s\",\"digest\":\"sha256:zz\",\"size\":4}]}",
	               RS_MT_OCI_LAYER_GZIP, RS_MT_OCI_LAYER_GZIP, RS_MT_OCI_LAYER_GZIP,
	               RS_MT_OCI_LAYER_GZIP);
	assert_int_equal(parse_text_error(b.ptr, NULL), RS_EFORMAT);
	assert_string_equal(
	        last_message(),
	        "manifest layer 3: invalid digest \"sha256:zz\": expected 64 lowercase hex digits");

	rs__buf_clear(&b);
	rs__buf_printf(&b,
	               "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" RS_MT_OCI_CONFIG
	               "\",\"digest\":\"" H1 "\",\"size\":10},\"layers\":["
	               "{\"mediaType\":\"%s\",\"digest\":\"" H1 "\",\"size\":-5}]}",
	               RS_MT_OCI_LAYER_GZIP);
	assert_int_equal(parse_text_error(b.ptr, NULL), RS_EFORMAT);
	assert_string_equal(last_message(),
	                    "manifest layer 0: invalid size -5: must not be negative");

	assert_int_equal(parse_text_error("{\"schemaVersion\":2,\"config\":{\"digest\":\"" H1
	                                  "\",\"size\":10},\"layers\":[]}",
	                                  NULL),
	                 RS_EFORMAT);
	assert_string_equal(last_message(), "manifest config: missing \"mediaType\"");

	assert_int_equal(parse_text_error("{\"schemaVersion\":2,\"manifests\":["
	                                  "{\"mediaType\":\"a/b\",\"digest\":\"" H1
	                                  "\",\"size\":1},{\"mediaType\":\"a/b\",\"digest\":\"" H2
	                                  "\",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}",
	                                  NULL),
	                 RS_EFORMAT);
	assert_string_equal(last_message(), "index manifest 1: platform: missing \"architecture\"");

	assert_int_equal(parse_text_error("{\"schemaVersion\":2,\"manifests\":[],\"subject\":"
	                                  "{\"mediaType\":\"a/b\",\"digest\":\"" H1 "\"}}",
	                                  NULL),
	                 RS_EFORMAT);
	assert_string_equal(last_message(), "index subject: missing \"size\"");
	rs_buf_dispose(&b);
}

static void test_subject_and_artifact_type(void **state)
{
	rs_manifest *m = parse_file("oci_artifact_subject.json", RS_MT_OCI_MANIFEST);
	const rs_descriptor *s = rs_manifest_subject(m);
	(void)state;
	assert_non_null(s);
	assert_string_equal(s->media_type, RS_MT_OCI_MANIFEST);
	assert_int_equal(s->size, 1054);
	assert_string_equal(rs_manifest_artifact_type(m), "application/vnd.example.sbom.v1+json");
	assert_string_equal(rs_manifest_config(m)->media_type, RS_MT_OCI_EMPTY);
	assert_int_equal(rs_manifest_config(m)->size, 2);
	assert_int_equal(rs_manifest_blob_count(m), 2);
	rs_manifest_free(m);
}

static const rs_descriptor *select_ok(const rs_manifest *m, const char *platform)
{
	rs_platform *want = NULL;
	const rs_descriptor *d = NULL;
	assert_int_equal(rs_platform_parse(&want, platform), 0);
	if (rs_manifest_select_platform(&d, m, want) < 0)
		fail_msg("select %s: %s", platform, last_message());
	rs_platform_free(want);
	return d;
}

static int select_error(const rs_manifest *m, const char *platform)
{
	rs_platform *want = NULL;
	const rs_descriptor *d = (const rs_descriptor *)1;
	int error;
	assert_int_equal(rs_platform_parse(&want, platform), 0);
	error = rs_manifest_select_platform(&d, m, want);
	assert_null(d);
	rs_platform_free(want);
	return error;
}

static void test_select_platform(void **state)
{
	rs_manifest *m = parse_file("docker_list.json", RS_MT_DOCKER_LIST);
	(void)state;
	assert_ptr_equal(select_ok(m, "linux/amd64"), rs_manifest_child(m, 0));
	assert_ptr_equal(select_ok(m, "linux/arm/v6"), rs_manifest_child(m, 1));
	assert_ptr_equal(select_ok(m, "linux/arm/v7"), rs_manifest_child(m, 2));
	assert_ptr_equal(select_ok(m, "linux/armhf"), rs_manifest_child(m, 2));
	assert_ptr_equal(select_ok(m, "linux/arm64"), rs_manifest_child(m, 3));
	assert_ptr_equal(select_ok(m, "linux/aarch64"), rs_manifest_child(m, 3));
	assert_ptr_equal(select_ok(m, "linux/s390x"), rs_manifest_child(m, 6));
	assert_int_equal(select_error(m, "linux/riscv64"), RS_ENOTFOUND);
	assert_string_equal(last_message(),
	                    "no manifest for platform linux/riscv64 in the index; available: "
	                    "linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8, linux/386, "
	                    "linux/ppc64le, linux/s390x");
	assert_int_equal(select_error(m, "windows/amd64"), RS_ENOTFOUND);
	rs_manifest_free(m);
}

static void test_select_skips_attestations(void **state)
{
	rs_manifest *m = parse_file("oci_index_attestations.json", NULL);
	(void)state;
	assert_int_equal(rs_manifest_child_count(m), 4);
	assert_string_equal(rs_manifest_child(m, 2)->platform->os, "unknown");
	assert_ptr_equal(select_ok(m, "linux/amd64"), rs_manifest_child(m, 0));
	assert_ptr_equal(select_ok(m, "linux/arm64/v8"), rs_manifest_child(m, 1));
	assert_int_equal(select_error(m, "linux/s390x"), RS_ENOTFOUND);
	assert_string_equal(last_message(), "no manifest for platform linux/s390x in the index; "
	                                    "available: linux/amd64, linux/arm64/v8");
	assert_int_equal(select_error(m, "unknown/unknown"), RS_ENOTFOUND);
	rs_manifest_free(m);
}

static void test_select_edge_cases(void **state)
{
	rs_manifest *m;
	const rs_descriptor *d = (const rs_descriptor *)1;
	rs_platform *want = NULL;
	(void)state;
	assert_int_equal(rs_platform_parse(&want, "linux/amd64"), 0);

	/* not an index */
	m = parse_file("docker_v2.json", NULL);
	assert_int_equal(rs_manifest_select_platform(&d, m, want), RS_EINVAL);
	assert_null(d);
	assert_string_equal(last_message(),
	                    "cannot select a platform: " RS_MT_DOCKER_MANIFEST " is not an index");
	rs_manifest_free(m);

	/* no platforms at all */
	m = parse_file("oci_index_no_mediatype.json", NULL);
	assert_int_equal(rs_manifest_select_platform(&d, m, want), RS_ENOTFOUND);
	assert_string_equal(last_message(), "no manifest for platform linux/amd64 in the index; "
	                                    "available: windows/amd64");
	rs_manifest_free(m);
	assert_int_equal(parse_text_error("{\"schemaVersion\":2,\"manifests\":[]}", NULL), 0);
	assert_int_equal(rs_manifest_parse(&m, "{\"schemaVersion\":2,\"manifests\":[]}", 34, NULL),
	                 0);
	assert_int_equal(rs_manifest_select_platform(&d, m, want), RS_ENOTFOUND);
	assert_string_equal(last_message(), "no manifest for platform linux/amd64 in the index; "
	                                    "available: none");
	rs_manifest_free(m);
	rs_platform_free(want);
	rs_manifest_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_docker_v2),
	        cmocka_unit_test(test_blob_list),
	        cmocka_unit_test(test_missing_media_type),
	        cmocka_unit_test(test_docker_list),
	        cmocka_unit_test(test_content_type_mismatch),
	        cmocka_unit_test(test_schema1_and_versions),
	        cmocka_unit_test(test_bad_json),
	        cmocka_unit_test(test_too_big),
	        cmocka_unit_test(test_deeply_nested),
	        cmocka_unit_test(test_bad_descriptors),
	        cmocka_unit_test(test_subject_and_artifact_type),
	        cmocka_unit_test(test_select_platform),
	        cmocka_unit_test(test_select_skips_attestations),
	        cmocka_unit_test(test_select_edge_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
