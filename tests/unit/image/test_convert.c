/* Unit tests for lib/image/convert.c: Docker manifests and lists rewritten for OCI layouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image/convert.h"
#include "regship/manifest.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char docker_manifest[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_DOCKER_MANIFEST "\","
        "\"config\":{\"mediaType\":\"" RS_MT_DOCKER_CONFIG "\",\"size\":10,\"digest\":\"" D1
        "\"},\"layers\":[{\"mediaType\":\"" RS_MT_DOCKER_LAYER_GZIP "\",\"size\":20,"
        "\"digest\":\"" D2 "\"},{\"mediaType\":\"" RS_MT_DOCKER_LAYER_FOREIGN "\",\"size\":30,"
        "\"digest\":\"" D3 "\",\"urls\":[\"https://example.com/l\"]}]}";

static rs_manifest *parse(const char *text)
{
	rs_manifest *m = NULL;
	assert_int_equal(rs_manifest_parse(&m, text, strlen(text), NULL), 0);
	return m;
}

static json_t *body(const rs_manifest *m)
{
	size_t len;
	const void *b = rs_manifest_bytes(m, &len);
	json_t *j = json_loadb(b, len, 0, NULL);
	assert_non_null(j);
	return j;
}

static void test_wanted(void **state)
{
	(void)state;
	assert_true(rs__convert_wanted("oci"));
	assert_true(rs__convert_wanted("oci-archive"));
	assert_false(rs__convert_wanted("registry"));
	assert_false(rs__convert_wanted("docker-archive"));
	assert_false(rs__convert_wanted(NULL));
}

static void test_manifest(void **state)
{
	rs_manifest *m = parse(docker_manifest);
	const char *before = strdup(rs_manifest_digest(m));
	json_t *j, *layers;
	(void)state;
	assert_int_equal(rs__convert_to_oci(&m, NULL), 0);
	assert_string_equal(rs_manifest_media_type(m), RS_MT_OCI_MANIFEST);
	assert_string_not_equal(rs_manifest_digest(m), before);
	free((void *)before);
	j = body(m);
	assert_string_equal(json_string_value(json_object_get(j, "mediaType")), RS_MT_OCI_MANIFEST);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(j, "config"), "mediaType")),
	        RS_MT_OCI_CONFIG);
	/* the blobs are the same: digests, sizes, urls kept */
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(j, "config"), "digest")), D1);
	layers = json_object_get(j, "layers");
	assert_string_equal(
	        json_string_value(json_object_get(json_array_get(layers, 0), "mediaType")),
	        RS_MT_OCI_LAYER_GZIP);
	assert_string_equal(
	        json_string_value(json_object_get(json_array_get(layers, 1), "mediaType")),
	        RS_MT_OCI_LAYER_NONDIST_GZIP);
	assert_int_equal(json_array_size(json_object_get(json_array_get(layers, 1), "urls")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(layers, 1), "size")),
	                 30);
	json_decref(j);
	/* an OCI manifest stays as it is */
	before = strdup(rs_manifest_digest(m));
	{
		rs_manifest *same = m;
		assert_int_equal(rs__convert_to_oci(&m, NULL), 0);
		assert_ptr_equal(m, same);
	}
	free((void *)before);
	rs_manifest_free(m);
}

static void test_index(void **state)
{
	rs_manifest *child = parse(docker_manifest), *list;
	char *old_child = strdup(rs_manifest_digest(child));
	json_t *written = json_object(), *j, *entry;
	char text[2048];
	(void)state;
	snprintf(text, sizeof(text),
	         "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_DOCKER_LIST "\",\"manifests\":["
	         "{\"mediaType\":\"" RS_MT_DOCKER_MANIFEST "\",\"size\":%zu,\"digest\":\"%s\","
	         "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
	         "{\"mediaType\":\"" RS_MT_OCI_MANIFEST "\",\"size\":5,\"digest\":\"" D3 "\","
	         "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}",
	         strlen(docker_manifest), old_child);
	list = parse(text);
	assert_int_equal(rs__convert_to_oci(&child, NULL), 0);
	rs__convert_note_child(written, old_child, child);
	assert_int_equal(rs__convert_to_oci(&list, written), 0);
	assert_string_equal(rs_manifest_media_type(list), RS_MT_OCI_INDEX);
	j = body(list);
	entry = json_array_get(json_object_get(j, "manifests"), 0);
	assert_string_equal(json_string_value(json_object_get(entry, "digest")),
	                    rs_manifest_digest(child));
	assert_string_equal(json_string_value(json_object_get(entry, "mediaType")),
	                    RS_MT_OCI_MANIFEST);
	{
		size_t len;
		(void)rs_manifest_bytes(child, &len);
		assert_int_equal(json_integer_value(json_object_get(entry, "size")),
		                 (json_int_t)len);
	}
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(entry, "platform"), "variant")),
	        "v8");
	/* the child not converted keeps its entry */
	entry = json_array_get(json_object_get(j, "manifests"), 1);
	assert_string_equal(json_string_value(json_object_get(entry, "digest")), D3);
	json_decref(j);
	json_decref(written);
	free(old_child);
	rs_manifest_free(child);
	rs_manifest_free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_wanted),
	        cmocka_unit_test(test_manifest),
	        cmocka_unit_test(test_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
