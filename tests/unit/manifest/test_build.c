/* Tests for lib/manifest/build.c */
#include "manifest/testdata.h"

#include "util/digest.h"

#define H1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static void test_docker_manifest_exact_bytes(void **state)
{
	rs_descriptor config = mkdesc(RS_MT_DOCKER_CONFIG, H1, 1472, NULL);
	rs_descriptor layers[2] = {
	        mkdesc(rs_mediatype_layer_for(RS_MANIFEST_FORMAT_DOCKER, RS_COMPRESSION_GZIP), H2,
	               3408729, NULL),
	        mkdesc(RS_MT_DOCKER_LAYER_GZIP, H3, 32, NULL),
	};
	rs_buf out = RS_BUF_INIT;
	rs_manifest *m = NULL;
	char digest[RS_DIGEST_MAX];
	(void)state;

	assert_int_equal(rs_manifest_build(&out, RS_MT_DOCKER_MANIFEST, &config, layers, 2, NULL),
	                 0);
	assert_string_equal(out.ptr,
	                    "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_DOCKER_MANIFEST "\","
	                    "\"config\":{\"mediaType\":\"" RS_MT_DOCKER_CONFIG "\",\"size\":1472,"
	                    "\"digest\":\"" H1 "\"},"
	                    "\"layers\":[{\"mediaType\":\"" RS_MT_DOCKER_LAYER_GZIP "\","
	                    "\"size\":3408729,\"digest\":\"" H2 "\"},"
	                    "{\"mediaType\":\"" RS_MT_DOCKER_LAYER_GZIP "\",\"size\":32,"
	                    "\"digest\":\"" H3 "\"}]}");

	/* round trip: parses back, same descriptors, digest of exactly these bytes */
	assert_int_equal(rs_manifest_parse(&m, out.ptr, out.size, RS_MT_DOCKER_MANIFEST), 0);
	assert_string_equal(rs_manifest_media_type(m), RS_MT_DOCKER_MANIFEST);
	assert_descriptor_equal(rs_manifest_config(m), &config);
	assert_int_equal(rs_manifest_layer_count(m), 2);
	assert_descriptor_equal(rs_manifest_layer(m, 0), &layers[0]);
	assert_descriptor_equal(rs_manifest_layer(m, 1), &layers[1]);
	rs__sha256_digest(digest, out.ptr, out.size);
	assert_string_equal(rs_manifest_digest(m), digest);
	rs_manifest_free(m);

	/* deterministic: building again gives the same bytes */
	{
		rs_buf again = RS_BUF_INIT;
		assert_int_equal(
		        rs_manifest_build(&again, RS_MT_DOCKER_MANIFEST, &config, layers, 2, NULL),
		        0);
		assert_int_equal(again.size, out.size);
		assert_memory_equal(again.ptr, out.ptr, out.size);
		rs_buf_dispose(&again);
	}
	rs_buf_dispose(&out);
	rs_descriptor_dispose(&config);
	rs_descriptor_dispose(&layers[0]);
	rs_descriptor_dispose(&layers[1]);
}

static void test_oci_manifest_with_annotations(void **state)
{
	rs_descriptor config = mkdesc(RS_MT_OCI_CONFIG, H1, 100, NULL);
	rs_descriptor layer = mkdesc(RS_MT_OCI_LAYER_ZSTD, H2, 200, NULL);
	const char *const ann[] = {"org.opencontainers.image.created", "2024-05-14T09:12:44Z",
	                           "com.example.note", "caf\xc3\xa9", NULL};
	rs_buf out = RS_BUF_INIT;
	rs_manifest *m = NULL;
	(void)state;

	assert_int_equal(rs_manifest_build(&out, RS_MT_OCI_MANIFEST, &config, &layer, 1, ann), 0);
	assert_string_equal(out.ptr,
	                    "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_MANIFEST "\","
	                    "\"config\":{\"mediaType\":\"" RS_MT_OCI_CONFIG "\",\"digest\":\"" H1
	                    "\",\"size\":100},"
	                    "\"layers\":[{\"mediaType\":\"" RS_MT_OCI_LAYER_ZSTD
	                    "\",\"digest\":\"" H2 "\",\"size\":200}],"
	                    "\"annotations\":{\"org.opencontainers.image.created\":"
	                    "\"2024-05-14T09:12:44Z\",\"com.example.note\":\"caf\xc3\xa9\"}}");
	assert_int_equal(rs_manifest_parse(&m, out.ptr, out.size, NULL), 0);
	assert_string_equal(rs_manifest_media_type(m), RS_MT_OCI_MANIFEST);
	assert_descriptor_equal(rs_manifest_config(m), &config);
	assert_descriptor_equal(rs_manifest_layer(m, 0), &layer);
	assert_string_equal(rs_manifest_annotation(m, "com.example.note"), "caf\xc3\xa9");
	rs_manifest_free(m);

	/* no layers at all is a valid manifest */
	rs__buf_clear(&out);
	assert_int_equal(rs_manifest_build(&out, RS_MT_OCI_MANIFEST, &config, NULL, 0, NULL), 0);
	assert_int_equal(rs_manifest_parse(&m, out.ptr, out.size, RS_MT_OCI_MANIFEST), 0);
	assert_int_equal(rs_manifest_layer_count(m), 0);
	assert_int_equal(rs_manifest_blob_count(m), 1);
	rs_manifest_free(m);

	rs_buf_dispose(&out);
	rs_descriptor_dispose(&config);
	rs_descriptor_dispose(&layer);
}

static void test_manifest_build_errors(void **state)
{
	rs_descriptor config = mkdesc(RS_MT_DOCKER_CONFIG, H1, 10, NULL);
	rs_descriptor layers[2] = {mkdesc(RS_MT_DOCKER_LAYER_GZIP, H2, 1, NULL),
	                           mkdesc(RS_MT_DOCKER_LAYER_GZIP, "sha256:abc", 1, NULL)};
	const char *const ann[] = {"k", "v", NULL};
	const char *const dup[] = {"k", "v", "k", "w", NULL};
	const char *const odd[] = {"k", NULL};
	rs_buf out = RS_BUF_INIT;
	(void)state;

	assert_int_equal(rs_manifest_build(&out, RS_MT_DOCKER_MANIFEST, &config, layers, 2, NULL),
	                 RS_EINVAL);
	assert_string_equal(last_message(),
	                    "layer 1: invalid digest \"sha256:abc\": expected 64 lowercase hex "
	                    "digits");
	assert_int_equal(rs_manifest_build(&out, RS_MT_DOCKER_MANIFEST, &config, layers, 1, ann),
	                 RS_EINVAL);
	assert_string_equal(last_message(), "docker schema 2 manifests cannot carry annotations");
	assert_int_equal(rs_manifest_build(&out, RS_MT_OCI_INDEX, &config, layers, 1, NULL),
	                 RS_EINVAL);
	assert_string_equal(last_message(),
	                    "cannot build a manifest of type \"" RS_MT_OCI_INDEX "\"");
	assert_int_equal(rs_manifest_build(&out, RS_MT_OCI_MANIFEST, NULL, layers, 1, NULL),
	                 RS_EINVAL);
	assert_string_equal(last_message(), "cannot build a manifest without a config");
	assert_int_equal(rs_manifest_build(&out, RS_MT_OCI_MANIFEST, &config, layers, 1, dup),
	                 RS_EINVAL);
	assert_string_equal(last_message(), "annotation \"k\" is given twice");
	assert_int_equal(rs_manifest_build(&out, RS_MT_OCI_MANIFEST, &config, layers, 1, odd),
	                 RS_EINVAL);
	assert_string_equal(last_message(), "annotation \"k\" has no value");
	config.size = -1;
	assert_int_equal(rs_manifest_build(&out, RS_MT_OCI_MANIFEST, &config, layers, 1, NULL),
	                 RS_EINVAL);
	assert_string_equal(last_message(), "config: invalid size -1: must not be negative");
	/* nothing written on failure */
	assert_int_equal(out.size, 0);

	rs_descriptor_dispose(&config);
	rs_descriptor_dispose(&layers[0]);
	rs_descriptor_dispose(&layers[1]);
}

static void test_oci_index_round_trip(void **state)
{
	rs_descriptor children[3] = {
	        mkdesc(RS_MT_OCI_MANIFEST, H1, 1054, mkplat("linux", "amd64", NULL)),
	        mkdesc(RS_MT_OCI_MANIFEST, H2, 1055, mkplat("linux", "arm64", "v8")),
	        mkdesc(RS_MT_OCI_MANIFEST, H3, 839, mkplat("windows", "amd64", NULL)),
	};
	rs_buf out = RS_BUF_INIT;
	rs_manifest *m = NULL;
	const rs_descriptor *sel = NULL;
	rs_platform *want = NULL;
	(void)state;
	children[0].ref_name = rs__strdup("v1.0");
	children[1].artifact_type = rs__strdup("application/vnd.example+json");
	children[2].platform->os_version = rs__strdup("10.0.17763.5820");

	assert_int_equal(rs_index_build(&out, RS_MT_OCI_INDEX, children, 3), 0);
	assert_true(rs__str_startswith(
	        out.ptr, "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_INDEX "\",\"manifests\":"
	                 "[{\"mediaType\":\"" RS_MT_OCI_MANIFEST "\",\"digest\":\"" H1 "\","
	                 "\"size\":1054,\"annotations\":{\"org.opencontainers.image.ref.name\":"
	                 "\"v1.0\"},\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"));
	assert_int_equal(rs_manifest_parse(&m, out.ptr, out.size, RS_MT_OCI_INDEX), 0);
	assert_true(rs_manifest_is_index(m));
	assert_int_equal(rs_manifest_child_count(m), 3);
	for (size_t i = 0; i < 3; i++)
		assert_descriptor_equal(rs_manifest_child(m, i), &children[i]);
	assert_int_equal(rs_platform_parse(&want, "linux/arm64"), 0);
	assert_int_equal(rs_manifest_select_platform(&sel, m, want), 0);
	assert_ptr_equal(sel, rs_manifest_child(m, 1));
	rs_platform_free(want);
	rs_manifest_free(m);
	rs_buf_dispose(&out);
	for (size_t i = 0; i < 3; i++)
		rs_descriptor_dispose(&children[i]);
}

static void test_docker_list_round_trip(void **state)
{
	rs_descriptor children[2] = {
	        mkdesc(RS_MT_DOCKER_MANIFEST, H1, 527, mkplat("linux", "amd64", NULL)),
	        mkdesc(RS_MT_DOCKER_MANIFEST, H2, 528, mkplat("linux", "arm", "v7")),
	};
	rs_buf out = RS_BUF_INIT;
	rs_manifest *m = NULL;
	(void)state;

	assert_int_equal(rs_index_build(&out, RS_MT_DOCKER_LIST, children, 2), 0);
	assert_string_equal(out.ptr,
	                    "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_DOCKER_LIST "\","
	                    "\"manifests\":[{\"mediaType\":\"" RS_MT_DOCKER_MANIFEST "\","
	                    "\"size\":527,\"digest\":\"" H1 "\",\"platform\":{\"architecture\":"
	                    "\"amd64\",\"os\":\"linux\"}},{\"mediaType\":\"" RS_MT_DOCKER_MANIFEST
	                    "\",\"size\":528,\"digest\":\"" H2 "\",\"platform\":{\"architecture\":"
	                    "\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}}]}");
	assert_int_equal(rs_manifest_parse(&m, out.ptr, out.size, RS_MT_DOCKER_LIST), 0);
	assert_descriptor_equal(rs_manifest_child(m, 0), &children[0]);
	assert_descriptor_equal(rs_manifest_child(m, 1), &children[1]);
	rs_manifest_free(m);

	/* docker lists need a platform on every entry */
	rs_platform_free(children[1].platform);
	children[1].platform = NULL;
	rs__buf_clear(&out);
	assert_int_equal(rs_index_build(&out, RS_MT_DOCKER_LIST, children, 2), RS_EINVAL);
	assert_string_equal(last_message(),
	                    "index entry 1: no platform (docker manifest lists need one)");
	/* OCI indexes do not */
	assert_int_equal(rs_index_build(&out, RS_MT_OCI_INDEX, children, 2), 0);
	assert_int_equal(rs_index_build(&out, RS_MT_OCI_MANIFEST, children, 2), RS_EINVAL);
	assert_string_equal(last_message(),
	                    "cannot build an index of type \"" RS_MT_OCI_MANIFEST "\"");
	rs_buf_dispose(&out);
	rs_descriptor_dispose(&children[0]);
	rs_descriptor_dispose(&children[1]);
}

static void test_empty_index(void **state)
{
	rs_buf out = RS_BUF_INIT;
	(void)state;
	assert_int_equal(rs_index_build(&out, RS_MT_OCI_INDEX, NULL, 0), 0);
	assert_string_equal(out.ptr, "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_INDEX
	                             "\",\"manifests\":[]}");
	rs_buf_dispose(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_docker_manifest_exact_bytes),
	        cmocka_unit_test(test_oci_manifest_with_annotations),
	        cmocka_unit_test(test_manifest_build_errors),
	        cmocka_unit_test(test_oci_index_round_trip),
	        cmocka_unit_test(test_docker_list_round_trip),
	        cmocka_unit_test(test_empty_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
