/* Unit tests for the pure parts of lib/registry/referrers.c: the descriptor a referrers index
 * lists for a pushed manifest, the fallback index merge (new, added, already listed, not an
 * index), the tag schema's name, and the parsing of referrers answers (filter, bad entries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/referrers.h"
#include "util/digest.h"
#include "util/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SUBJ "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define OTHER "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define SIG_TYPE "application/vnd.dev.cosign.artifact.sig.v1+json"

static const char artifact[] =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"artifactType\":\"" SIG_TYPE "\",\"config\":{\"mediaType\":"
        "\"application/vnd.oci.empty.v1+json\",\"digest\":\"sha256:"
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2},"
        "\"layers\":[],\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"digest\":\"" SUBJ "\",\"size\":7},\"annotations\":{\"who\":\"ci\"}}";

static void test_descriptor(void **state)
{
	json_t *desc = NULL;
	char *subject = NULL, digest[RS_DIGEST_MAX];
	(void)state;
	assert_int_equal(
	        rs__referrers_descriptor(&desc, &subject, artifact, strlen(artifact), NULL), 0);
	assert_non_null(desc);
	assert_string_equal(subject, SUBJ);
	rs__sha256_digest(digest, artifact, strlen(artifact));
	assert_string_equal(json_string_value(json_object_get(desc, "digest")), digest);
	assert_int_equal(json_integer_value(json_object_get(desc, "size")), strlen(artifact));
	assert_string_equal(json_string_value(json_object_get(desc, "artifactType")), SIG_TYPE);
	assert_string_equal(json_string_value(json_object_get(desc, "mediaType")),
	                    "application/vnd.oci.image.manifest.v1+json");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(desc, "annotations"), "who")),
	        "ci");
	json_decref(desc);
	free(subject);
}

static void test_descriptor_config_type_and_no_subject(void **state)
{
	static const char sbom[] =
	        "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/spdx+json\","
	        "\"digest\":\"" OTHER "\",\"size\":3},\"layers\":[],\"subject\":{\"mediaType\":"
	        "\"x\",\"digest\":\"" SUBJ "\",\"size\":1}}";
	static const char plain[] = "{\"schemaVersion\":2,\"config\":{},\"layers\":[]}";
	static const char broken[] = "{\"subject\":{\"digest\":\"sha256:zz\"}}";
	json_t *desc = NULL;
	char *subject = NULL;
	(void)state;
	/* no artifactType: the config's media type; the media type given when unstated */
	assert_int_equal(rs__referrers_descriptor(&desc, &subject, sbom, strlen(sbom),
	                                          "application/vnd.oci.image.manifest.v1+json"),
	                 0);
	assert_string_equal(json_string_value(json_object_get(desc, "artifactType")),
	                    "application/spdx+json");
	assert_null(json_object_get(desc, "annotations"));
	json_decref(desc);
	free(subject);
	/* no subject: nothing to list */
	assert_int_equal(rs__referrers_descriptor(&desc, &subject, plain, strlen(plain), NULL), 0);
	assert_null(desc);
	assert_null(subject);
	assert_int_equal(rs__referrers_descriptor(&desc, &subject, broken, strlen(broken), NULL),
	                 RS_EFORMAT);
	assert_null(desc);
}

static void test_merge(void **state)
{
	json_t *desc = NULL, *root, *second;
	char *subject = NULL;
	rs_buf out = RS_BUF_INIT, again = RS_BUF_INIT;
	(void)state;
	assert_int_equal(
	        rs__referrers_descriptor(&desc, &subject, artifact, strlen(artifact), NULL), 0);
	/* no index yet: a new OCI index listing the descriptor */
	assert_int_equal(rs__referrers_index_merge(&out, NULL, 0, desc), 0);
	root = json_loads(out.ptr, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(root, "schemaVersion")), 2);
	assert_string_equal(json_string_value(json_object_get(root, "mediaType")),
	                    "application/vnd.oci.image.index.v1+json");
	assert_int_equal(json_array_size(json_object_get(root, "manifests")), 1);
	assert_true(json_equal(json_array_get(json_object_get(root, "manifests"), 0), desc));
	json_decref(root);
	/* listed already: 1, nothing written */
	assert_int_equal(rs__referrers_index_merge(&again, out.ptr, out.size, desc), 1);
	assert_int_equal(again.size, 0);
	/* another descriptor is appended, the first kept (and the index's other fields) */
	second =
	        json_pack("{s:s, s:s, s:i}", "mediaType",
	                  "application/vnd.oci.image.manifest.v1+json", "digest", OTHER, "size", 9);
	{
		static const char old[] =
		        "{\"schemaVersion\":2,\"mediaType\":"
		        "\"application/vnd.oci.image.index.v1+json\","
		        "\"annotations\":{\"k\":\"v\"},\"manifests\":[{"
		        "\"mediaType\":\"m\",\"digest\":\"" SUBJ "\",\"size\":1}]}";
		assert_int_equal(rs__referrers_index_merge(&again, old, strlen(old), second), 0);
		root = json_loads(again.ptr, 0, NULL);
		assert_int_equal(json_array_size(json_object_get(root, "manifests")), 2);
		assert_string_equal(
		        json_string_value(json_object_get(
		                json_array_get(json_object_get(root, "manifests"), 1), "digest")),
		        OTHER);
		assert_non_null(json_object_get(root, "annotations"));
		json_decref(root);
	}
	/* not an index: refused, never overwritten */
	assert_int_equal(rs__referrers_index_merge(&again, "{\"config\":{}}", 13, second),
	                 RS_EFORMAT);
	assert_int_equal(rs__referrers_index_merge(&again, "not json", 8, second), RS_EFORMAT);
	json_decref(second);
	json_decref(desc);
	free(subject);
	rs_buf_dispose(&out);
	rs_buf_dispose(&again);
}

static void test_tag_name(void **state)
{
	char *t;
	(void)state;
	t = rs__referrers_tag(SUBJ);
	assert_string_equal(
	        t, "sha256-1111111111111111111111111111111111111111111111111111111111111111");
	free(t);
	assert_null(rs__referrers_tag("sha256:xyz"));
	assert_null(rs__referrers_tag(NULL));
}

static void test_parse(void **state)
{
	static const char answer[] = "{\"schemaVersion\":2,\"manifests\":["
	                             "{\"mediaType\":\"m\",\"digest\":\"" SUBJ
	                             "\",\"size\":3,\"artifactType\":\"" SIG_TYPE
	                             "\",\"annotations\":{\"a\":\"1\",\"n\":2}},"
	                             "{\"mediaType\":\"m\",\"digest\":\"" OTHER
	                             "\",\"size\":4,\"artifactType\":\"sbom\"},"
	                             "{\"mediaType\":\"m\",\"digest\":\"" SUBJ "\",\"size\":3}]}";
	rs_referrers rs = RS_REFERRERS_INIT;
	(void)state;
	assert_int_equal(rs__referrers_parse(&rs, answer, strlen(answer), NULL, "t"), 0);
	assert_int_equal(rs.count, 2); /* the repeated digest once */
	assert_string_equal(rs.items[0].artifact_type, SIG_TYPE);
	assert_int_equal(rs.items[0].annotation_count, 1); /* a non-string value is dropped */
	assert_string_equal(rs_referrer_annotation(&rs.items[0], "a"), "1");
	assert_null(rs_referrer_annotation(&rs.items[0], "n"));
	assert_int_equal(rs.items[1].size, 4);
	rs_referrers_dispose(&rs);
	assert_int_equal(rs__referrers_parse(&rs, answer, strlen(answer), "sbom", "t"), 0);
	assert_int_equal(rs.count, 1);
	assert_string_equal(rs.items[0].digest, OTHER);
	rs_referrers_dispose(&rs);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
	        "{\"manifests\": [ {\"digest\": ",
	        "[]",
	        "{\"manifests\": {}}",
	        "{\"manifests\": [{\"mediaType\":\"m\",\"digest\":\"sha256:zz\",\"size\":1}]}",
	        "{\"manifests\": [{\"mediaType\":\"m\",\"digest\":\"" SUBJ "\",\"size\":-1}]}",
	        "{\"manifests\": [{\"digest\":\"" SUBJ "\",\"size\":1}]}",
	        "{\"manifests\": [{\"mediaType\":\"m\",\"digest\":\"" SUBJ
	        "\",\"size\":1,\"artifactType\":5}]}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rs_referrers rs = RS_REFERRERS_INIT;
		assert_int_equal(
		        rs__referrers_parse(&rs, bad[i], strlen(bad[i]), NULL, "referrers of x"),
		        RS_EPROTO);
		assert_non_null(strstr(rs_error_last()->message, "referrers of x"));
		rs_referrers_dispose(&rs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_descriptor),
	        cmocka_unit_test(test_descriptor_config_type_and_no_subject),
	        cmocka_unit_test(test_merge),
	        cmocka_unit_test(test_tag_name),
	        cmocka_unit_test(test_parse),
	        cmocka_unit_test(test_parse_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
