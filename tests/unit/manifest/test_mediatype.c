/* Tests for lib/manifest/mediatype.c */
#include "manifest/testdata.h"

#include "manifest/internal.h"

static void test_classification(void **state)
{
	(void)state;
	assert_true(rs_mediatype_is_manifest(RS_MT_OCI_MANIFEST));
	assert_true(rs_mediatype_is_manifest(RS_MT_DOCKER_MANIFEST));
	assert_false(rs_mediatype_is_manifest(RS_MT_OCI_INDEX));
	assert_false(rs_mediatype_is_manifest(RS_MT_DOCKER_V1));
	assert_true(rs_mediatype_is_index(RS_MT_OCI_INDEX));
	assert_true(rs_mediatype_is_index(RS_MT_DOCKER_LIST));
	assert_false(rs_mediatype_is_index(RS_MT_DOCKER_MANIFEST));
	assert_true(rs_mediatype_is_known(RS_MT_DOCKER_LIST));
	assert_true(rs_mediatype_is_known(RS_MT_OCI_MANIFEST));
	assert_false(rs_mediatype_is_known(RS_MT_OCI_CONFIG));
	assert_false(rs_mediatype_is_known("application/vnd.oci.artifact.manifest.v1+json"));
	assert_false(rs_mediatype_is_known(NULL));
	assert_false(rs_mediatype_is_known(""));
	assert_false(rs_mediatype_is_known("application/json"));
	assert_true(rs_mediatype_is_schema1(RS_MT_DOCKER_V1));
	assert_true(rs_mediatype_is_schema1(RS_MT_DOCKER_V1_SIGNED));
	assert_false(rs_mediatype_is_schema1(RS_MT_DOCKER_MANIFEST));
}

static void test_parameters_and_case_ignored(void **state)
{
	(void)state;
	assert_true(rs_mediatype_is_manifest(
	        "application/vnd.oci.image.manifest.v1+json; charset=utf-8"));
	assert_true(rs_mediatype_is_index(" Application/VND.OCI.Image.Index.v1+JSON "));
	assert_false(rs_mediatype_is_manifest("application/vnd.oci.image.manifest.v1+jsonx"));
	assert_false(rs_mediatype_is_manifest("application/vnd.oci.image.manifest.v1"));
}

static void test_base_and_generic(void **state)
{
	char base[64];
	(void)state;
	rs__mediatype_base(base, sizeof(base), "  Application/JSON ; charset=UTF-8");
	assert_string_equal(base, "application/json");
	rs__mediatype_base(base, sizeof(base), NULL);
	assert_string_equal(base, "");
	/* too long for the buffer: empty, never truncated into another type */
	rs__mediatype_base(base, 8, "application/json");
	assert_string_equal(base, "");
	assert_true(rs__mediatype_is_generic(NULL));
	assert_true(rs__mediatype_is_generic(""));
	assert_true(rs__mediatype_is_generic("application/json; charset=utf-8"));
	assert_true(rs__mediatype_is_generic("text/plain"));
	assert_true(rs__mediatype_is_generic("application/octet-stream"));
	assert_false(rs__mediatype_is_generic(RS_MT_OCI_MANIFEST));
	assert_false(rs__mediatype_is_generic("text/html"));
}

static void test_layers(void **state)
{
	(void)state;
	assert_true(rs_mediatype_is_layer(RS_MT_OCI_LAYER));
	assert_true(rs_mediatype_is_layer(RS_MT_OCI_LAYER_ZSTD));
	assert_true(rs_mediatype_is_layer(RS_MT_DOCKER_LAYER_GZIP));
	assert_true(rs_mediatype_is_layer(RS_MT_DOCKER_LAYER_FOREIGN));
	assert_false(rs_mediatype_is_layer(RS_MT_OCI_CONFIG));
	assert_false(rs_mediatype_is_layer(NULL));
	assert_true(rs_mediatype_is_foreign(RS_MT_DOCKER_LAYER_FOREIGN));
	assert_true(rs_mediatype_is_foreign(RS_MT_OCI_LAYER_NONDIST_GZIP));
	assert_false(rs_mediatype_is_foreign(RS_MT_DOCKER_LAYER_GZIP));
	assert_int_equal(rs_mediatype_layer_compression(RS_MT_OCI_LAYER), RS_COMPRESSION_NONE);
	assert_int_equal(rs_mediatype_layer_compression(RS_MT_DOCKER_LAYER), RS_COMPRESSION_NONE);
	assert_int_equal(rs_mediatype_layer_compression(RS_MT_OCI_LAYER_GZIP), RS_COMPRESSION_GZIP);
	assert_int_equal(rs_mediatype_layer_compression(RS_MT_DOCKER_LAYER_GZIP),
	                 RS_COMPRESSION_GZIP);
	assert_int_equal(rs_mediatype_layer_compression(RS_MT_OCI_LAYER_ZSTD), RS_COMPRESSION_ZSTD);
	assert_int_equal(rs_mediatype_layer_compression(RS_MT_OCI_MANIFEST), -1);
}

static void test_layer_for(void **state)
{
	(void)state;
	assert_string_equal(rs_mediatype_layer_for(RS_MANIFEST_FORMAT_OCI, RS_COMPRESSION_NONE),
	                    RS_MT_OCI_LAYER);
	assert_string_equal(rs_mediatype_layer_for(RS_MANIFEST_FORMAT_OCI, RS_COMPRESSION_GZIP),
	                    RS_MT_OCI_LAYER_GZIP);
	assert_string_equal(rs_mediatype_layer_for(RS_MANIFEST_FORMAT_OCI, RS_COMPRESSION_ZSTD),
	                    RS_MT_OCI_LAYER_ZSTD);
	assert_string_equal(rs_mediatype_layer_for(RS_MANIFEST_FORMAT_DOCKER, RS_COMPRESSION_GZIP),
	                    RS_MT_DOCKER_LAYER_GZIP);
	assert_string_equal(rs_mediatype_layer_for(RS_MANIFEST_FORMAT_DOCKER, RS_COMPRESSION_NONE),
	                    RS_MT_DOCKER_LAYER);
	assert_null(rs_mediatype_layer_for(RS_MANIFEST_FORMAT_DOCKER, RS_COMPRESSION_ZSTD));
}

static void test_conversions(void **state)
{
	(void)state;
	assert_string_equal(rs_mediatype_to_oci(RS_MT_DOCKER_MANIFEST), RS_MT_OCI_MANIFEST);
	assert_string_equal(rs_mediatype_to_oci(RS_MT_DOCKER_LIST), RS_MT_OCI_INDEX);
	assert_string_equal(rs_mediatype_to_oci(RS_MT_DOCKER_CONFIG), RS_MT_OCI_CONFIG);
	assert_string_equal(rs_mediatype_to_oci(RS_MT_DOCKER_LAYER_GZIP), RS_MT_OCI_LAYER_GZIP);
	assert_string_equal(rs_mediatype_to_oci(RS_MT_DOCKER_LAYER), RS_MT_OCI_LAYER);
	assert_string_equal(rs_mediatype_to_oci(RS_MT_DOCKER_LAYER_FOREIGN),
	                    RS_MT_OCI_LAYER_NONDIST_GZIP);
	assert_string_equal(rs_mediatype_to_oci(RS_MT_OCI_LAYER_ZSTD), RS_MT_OCI_LAYER_ZSTD);
	assert_string_equal(rs_mediatype_to_oci(RS_MT_OCI_INDEX "; charset=utf-8"),
	                    RS_MT_OCI_INDEX);

	assert_string_equal(rs_mediatype_to_docker(RS_MT_OCI_MANIFEST), RS_MT_DOCKER_MANIFEST);
	assert_string_equal(rs_mediatype_to_docker(RS_MT_OCI_INDEX), RS_MT_DOCKER_LIST);
	assert_string_equal(rs_mediatype_to_docker(RS_MT_OCI_CONFIG), RS_MT_DOCKER_CONFIG);
	assert_string_equal(rs_mediatype_to_docker(RS_MT_OCI_LAYER_GZIP), RS_MT_DOCKER_LAYER_GZIP);
	assert_string_equal(rs_mediatype_to_docker(RS_MT_OCI_LAYER), RS_MT_DOCKER_LAYER);
	assert_string_equal(rs_mediatype_to_docker(RS_MT_OCI_LAYER_NONDIST_GZIP),
	                    RS_MT_DOCKER_LAYER_FOREIGN);
	assert_string_equal(rs_mediatype_to_docker(RS_MT_DOCKER_MANIFEST), RS_MT_DOCKER_MANIFEST);
	assert_null(rs_mediatype_to_docker(RS_MT_OCI_LAYER_ZSTD));
	assert_null(rs_mediatype_to_docker("application/vnd.example.sbom.v1+json"));
	assert_null(rs_mediatype_to_oci(NULL));
	assert_null(rs_mediatype_to_oci(RS_MT_DOCKER_V1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_classification),
	        cmocka_unit_test(test_parameters_and_case_ignored),
	        cmocka_unit_test(test_base_and_generic),
	        cmocka_unit_test(test_layers),
	        cmocka_unit_test(test_layer_for),
	        cmocka_unit_test(test_conversions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
