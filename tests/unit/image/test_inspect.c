/*
 * Unit tests for rs_image_inspect and the verified blob reads (lib/image/inspect.c), against
 * real OCI layout stores in temporary directories.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regship/inspect.h"
#include "regship/store.h"
#include "util/digest.h"
#include "util/util.h"

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char config_json[] =
        "{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\","
        "\"created\":\"2026-01-02T03:04:05Z\",\"config\":{\"Env\":[\"A=1\",\"B=2\"],"
        "\"Entrypoint\":[\"/bin/app\"],\"Cmd\":[\"--serve\"],\"Labels\":{\"k\":\"v\"}},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";

typedef struct fixture {
	char dir[256];
	rs_store *s;
	char config_digest[RS_DIGEST_MAX], layer_digest[RS_DIGEST_MAX];
	char manifest_digest[RS_DIGEST_MAX], index_digest[RS_DIGEST_MAX];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	static const char layer[] = "not really a tar, but bytes with a digest";
	rs_descriptor cfg = {0}, lay = {0}, child = {0};
	rs_platform plat = {(char *)"linux", (char *)"arm64", (char *)"v8", NULL};
	rs_buf m = RS_BUF_INIT, idx = RS_BUF_INIT;
	assert_int_equal(test_tmpdir(f->dir, sizeof(f->dir), "inspect"), 0);
	assert_int_equal(rs_store_open_oci_layout(&f->s, f->dir, RS_STORE_WRITE), 0);
	test_put_blob(f->s, config_json, strlen(config_json), RS_MT_OCI_CONFIG, f->config_digest);
	test_put_blob(f->s, layer, sizeof(layer) - 1, RS_MT_OCI_LAYER_GZIP, f->layer_digest);
	cfg.media_type = (char *)RS_MT_OCI_CONFIG;
	cfg.digest = f->config_digest;
	cfg.size = (int64_t)strlen(config_json);
	lay.media_type = (char *)RS_MT_OCI_LAYER_GZIP;
	lay.digest = f->layer_digest;
	lay.size = (int64_t)sizeof(layer) - 1;
	assert_int_equal(rs_manifest_build(&m, RS_MT_OCI_MANIFEST, &cfg, &lay, 1, NULL), 0);
	rs__sha256_digest(f->manifest_digest, m.ptr, m.size);
	assert_int_equal(rs_store_manifest_put(f->s, "img", m.ptr, m.size, RS_MT_OCI_MANIFEST), 0);
	child.media_type = (char *)RS_MT_OCI_MANIFEST;
	child.digest = f->manifest_digest;
	child.size = (int64_t)m.size;
	child.platform = &plat;
	assert_int_equal(rs_index_build(&idx, RS_MT_OCI_INDEX, &child, 1), 0);
	rs__sha256_digest(f->index_digest, idx.ptr, idx.size);
	assert_int_equal(rs_store_manifest_put(f->s, "multi", idx.ptr, idx.size, RS_MT_OCI_INDEX),
	                 0);
	assert_int_equal(rs_store_commit(f->s), 0);
	rs_buf_dispose(&m);
	rs_buf_dispose(&idx);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	rs_store_free(f->s);
	test_rm_rf(f->dir);
	free(f);
	return 0;
}

static void test_inspect_image(void **state)
{
	fixture *f = *state;
	rs_image_info *info = NULL;
	assert_int_equal(rs_image_inspect(&info, f->s, "img", NULL), 0);
	assert_string_equal(info->digest, f->manifest_digest);
	assert_string_equal(info->media_type, RS_MT_OCI_MANIFEST);
	assert_null(info->index_digest);
	assert_string_equal(info->created, "2026-01-02T03:04:05Z");
	assert_string_equal(info->os, "linux");
	assert_string_equal(info->architecture, "arm64");
	assert_string_equal(info->variant, "v8");
	assert_int_equal(info->env_count, 2);
	assert_string_equal(info->env[1], "B=2");
	assert_int_equal(info->entrypoint_count, 1);
	assert_string_equal(info->cmd[0], "--serve");
	assert_int_equal(info->label_count, 1);
	assert_string_equal(info->labels[0], "k");
	assert_string_equal(info->labels[1], "v");
	assert_int_equal(info->layer_count, 1);
	assert_string_equal(info->layers[0].digest, f->layer_digest);
	assert_int_equal(info->total_size, info->layers[0].size);
	assert_string_equal(info->config_desc.digest, f->config_digest);
	assert_int_equal(info->config.size, strlen(config_json));
	assert_memory_equal(info->config.ptr, config_json, info->config.size);
	rs_image_info_free(info);
}

static void test_inspect_index_and_platform(void **state)
{
	fixture *f = *state;
	rs_image_info *info = NULL;
	rs_platform *want = NULL;
	assert_int_equal(rs_image_inspect(&info, f->s, "multi", NULL), 0);
	assert_string_equal(info->digest, f->index_digest);
	assert_int_equal(info->child_count, 1);
	assert_string_equal(info->children[0].digest, f->manifest_digest);
	assert_int_equal(info->layer_count, 0);
	assert_null(info->config.ptr);
	rs_image_info_free(info);

	assert_int_equal(rs_platform_parse(&want, "linux/arm64"), 0);
	assert_int_equal(rs_image_inspect(&info, f->s, "multi", want), 0);
	assert_string_equal(info->digest, f->manifest_digest);
	assert_string_equal(info->index_digest, f->index_digest);
	assert_string_equal(info->architecture, "arm64");
	rs_image_info_free(info);
	rs_platform_free(want);

	assert_int_equal(rs_platform_parse(&want, "linux/s390x"), 0);
	assert_int_equal(rs_image_inspect(&info, f->s, "multi", want), RS_ENOTFOUND);
	assert_null(info);
	assert_error_mentions(RS_ENOTFOUND, "linux/s390x");
	rs_platform_free(want);
}

static void test_inspect_corrupt_config(void **state)
{
	fixture *f = *state;
	rs_image_info *info = NULL;
	char path[512];
	FILE *fp;
	/* same size, other bytes: the config is refused, never described */
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", f->dir, f->config_digest + 7);
	fp = fopen(path, "r+");
	assert_non_null(fp);
	fputc('[', fp);
	fclose(fp);
	assert_true(rs_image_inspect(&info, f->s, "img", NULL) < 0);
	assert_null(info);
}

static void test_blob_read_limits_and_digest(void **state)
{
	fixture *f = *state;
	rs_buf out = RS_BUF_INIT;
	rs_descriptor d = {0};
	char other[RS_DIGEST_MAX];
	d.digest = f->layer_digest;
	d.size = -1;
	assert_int_equal(rs_store_blob_read(f->s, &d, &out, 1024), 0);
	assert_true(out.size > 0);
	rs_buf_dispose(&out);
	/* too big for max: nothing left in out */
	assert_int_equal(rs_store_blob_read(f->s, &d, &out, 4), RS_ETOOBIG);
	assert_null(out.ptr);
	/* a wrong expected size */
	d.size = 3;
	assert_true(rs_store_blob_read(f->s, &d, &out, 1024) < 0);
	assert_null(out.ptr);
	/* a digest the store does not hold */
	rs__sha256_digest(other, "x", 1);
	d.digest = other;
	d.size = -1;
	assert_int_equal(rs_store_blob_read(f->s, &d, &out, 1024), RS_ENOTFOUND);
	/* not a digest */
	d.digest = (char *)"sha256:zz";
	assert_int_equal(rs_store_blob_stream(f->s, &d, NULL, NULL, NULL), RS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_inspect_image, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_inspect_index_and_platform, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_inspect_corrupt_config, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_blob_read_limits_and_digest, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
