/*
 * Unit tests for rs_check_base (lib/image/checkbase.c) and rs_store_blob_stream_from (the
 * resumed verified blob read of lib/image/inspect.c), against an OCI layout in a temporary
 * directory: a base, an image built on it (annotated), the base moved on, an image index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regship/checkbase.h"
#include "regship/errors.h"
#include "regship/inspect.h"
#include "regship/store.h"
#include "util/digest.h"
#include "util/util.h"

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
	char dir[256];
	rs_store *s;
	char layers[4][RS_DIGEST_MAX];
	char base[RS_DIGEST_MAX], app[RS_DIGEST_MAX], moved[RS_DIGEST_MAX];
	char app_index[RS_DIGEST_MAX];
} fixture;

static const char *const layer_text[] = {"base layer one", "base layer two", "app layer",
                                         "new base layer"};

/* An image of the given layers (indexes into f->layers) under tag, annotated when base_digest */
static void put_image(fixture *f, const char *tag, const int *which, size_t n,
                      const char *base_digest, char *digest_out)
{
	static const char config[] = "{\"architecture\":\"amd64\",\"os\":\"linux\","
	                             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	char cfg_digest[RS_DIGEST_MAX];
	rs_descriptor cfg = {0}, lay[4];
	const char *notes[] = {RS_ANNOTATION_BASE_DIGEST, base_digest, NULL};
	rs_buf m = RS_BUF_INIT;
	memset(lay, 0, sizeof(lay));
	test_put_blob(f->s, config, strlen(config), RS_MT_OCI_CONFIG, cfg_digest);
	cfg.media_type = (char *)RS_MT_OCI_CONFIG;
	cfg.digest = cfg_digest;
	cfg.size = (int64_t)strlen(config);
	for (size_t i = 0; i < n; i++) {
		lay[i].media_type = (char *)RS_MT_OCI_LAYER_GZIP;
		lay[i].digest = f->layers[which[i]];
		lay[i].size = (int64_t)strlen(layer_text[which[i]]);
	}
	assert_int_equal(
	        rs_manifest_build(&m, RS_MT_OCI_MANIFEST, &cfg, lay, n, base_digest ? notes : NULL),
	        0);
	rs__sha256_digest(digest_out, m.ptr, m.size);
	assert_int_equal(rs_store_manifest_put(f->s, tag, m.ptr, m.size, RS_MT_OCI_MANIFEST), 0);
	rs_buf_dispose(&m);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	static const int base[] = {0, 1}, app[] = {0, 1, 2}, moved[] = {3, 1};
	rs_platform plat = {(char *)"linux", (char *)"amd64", NULL, NULL};
	rs_descriptor child = {0};
	rs_buf idx = RS_BUF_INIT, m = RS_BUF_INIT, body = RS_BUF_INIT;
	assert_int_equal(test_tmpdir(f->dir, sizeof(f->dir), "checkbase"), 0);
	assert_int_equal(rs_store_open_oci_layout(&f->s, f->dir, RS_STORE_WRITE), 0);
	for (size_t i = 0; i < 4; i++)
		test_put_blob(f->s, layer_text[i], strlen(layer_text[i]), RS_MT_OCI_LAYER_GZIP,
		              f->layers[i]);
	put_image(f, "base", base, 2, NULL, f->base);
	put_image(f, "app", app, 3, f->base, f->app);
	put_image(f, "plain", app, 3, NULL, f->moved); /* f->moved reset below */
	put_image(f, "moved", moved, 2, NULL, f->moved);
	/* an index holding the app */
	assert_int_equal(rs_store_manifest_get(f->s, "app", &body, NULL, NULL), 0);
	child.media_type = (char *)RS_MT_OCI_MANIFEST;
	child.digest = f->app;
	child.size = (int64_t)body.size;
	child.platform = &plat;
	assert_int_equal(rs_index_build(&idx, RS_MT_OCI_INDEX, &child, 1), 0);
	rs__sha256_digest(f->app_index, idx.ptr, idx.size);
	assert_int_equal(
	        rs_store_manifest_put(f->s, "app-index", idx.ptr, idx.size, RS_MT_OCI_INDEX), 0);
	assert_int_equal(rs_store_commit(f->s), 0);
	rs_buf_dispose(&idx);
	rs_buf_dispose(&m);
	rs_buf_dispose(&body);
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

static void test_up_to_date(void **state)
{
	fixture *f = *state;
	rs_check_base_result *r = NULL;
	assert_int_equal(rs_check_base(&r, f->s, "app", f->s, "base", NULL), 0);
	assert_true(r->up_to_date);
	assert_string_equal(r->digest, f->app);
	assert_string_equal(r->base_digest, f->base);
	assert_int_equal(r->count, 1);
	assert_string_equal(r->items[0].platform, "linux/amd64");
	assert_string_equal(r->items[0].built_on, f->base);
	assert_string_equal(r->items[0].base_digest, f->base);
	assert_int_equal(r->items[0].layers, 3);
	assert_int_equal(r->items[0].base_layers, 2);
	assert_int_equal(r->items[0].matching, 2);
	rs_check_base_result_free(r);
	/* no annotation: built_on NULL, still up to date */
	assert_int_equal(rs_check_base(&r, f->s, "plain", f->s, "base", NULL), 0);
	assert_true(r->up_to_date);
	assert_null(r->items[0].built_on);
	rs_check_base_result_free(r);
}

static void test_moved(void **state)
{
	fixture *f = *state;
	rs_check_base_result *r = NULL;
	assert_int_equal(rs_check_base(&r, f->s, "app", f->s, "moved", NULL), 0);
	assert_false(r->up_to_date);
	assert_false(r->items[0].up_to_date);
	assert_int_equal(r->items[0].matching,
	                 0); /* the first layer differs: nothing after counts */
	assert_string_equal(r->items[0].built_on, f->base);
	assert_string_equal(r->base_digest, f->moved);
	rs_check_base_result_free(r);
	/* the base longer than the image */
	assert_int_equal(rs_check_base(&r, f->s, "base", f->s, "app", NULL), 0);
	assert_false(r->up_to_date);
	assert_int_equal(r->items[0].matching, 2);
	rs_check_base_result_free(r);
}

static void test_index_and_platform(void **state)
{
	fixture *f = *state;
	rs_check_base_result *r = NULL;
	rs_platform *p = NULL;
	assert_int_equal(rs_check_base(&r, f->s, "app-index", f->s, "base", NULL), 0);
	assert_true(r->up_to_date);
	assert_string_equal(r->digest, f->app_index);
	assert_int_equal(r->count, 1);
	assert_string_equal(r->items[0].digest, f->app);
	rs_check_base_result_free(r);
	/* a platform the index does not have: not found, naming it; local: not the registry's */
	assert_int_equal(rs_platform_parse(&p, "linux/s390x"), 0);
	assert_int_equal(rs_check_base(&r, f->s, "app-index", f->s, "base", p), RS_ENOTFOUND);
	assert_null(r);
	assert_non_null(strstr(rs_error_last()->message, "linux/s390x"));
	assert_false(rs_error_last()->remote);
	/* a single image of another platform */
	assert_int_equal(rs_check_base(&r, f->s, "app", f->s, "base", p), RS_ENOTFOUND);
	assert_non_null(strstr(rs_error_last()->message, "single-platform image for linux/amd64"));
	rs_platform_free(p);
	/* a missing image */
	assert_int_equal(rs_check_base(&r, f->s, "nope", f->s, "base", NULL), RS_ENOTFOUND);
	assert_int_equal(rs_check_base(&r, NULL, "app", f->s, "base", NULL), RS_EINVAL);
}

typedef struct collect {
	rs_buf got;
} collect;

static int collect_sink(const void *data, size_t len, void *payload)
{
	rs__buf_put(&((collect *)payload)->got, data, len);
	return 0;
}

static void test_blob_stream_from(void **state)
{
	fixture *f = *state;
	const char *text = layer_text[2];
	size_t len = strlen(text), have = 4;
	rs_descriptor d = {0};
	rs_reader *prefix = NULL;
	collect c = {RS_BUF_INIT};
	uint64_t written = 0;
	d.digest = f->layers[2];
	d.size = -1;
	/* the first 4 bytes already held: only the rest reaches the sink, the whole is verified */
	assert_int_equal(rs_reader_from_memory(&prefix, text, have), 0);
	assert_int_equal(
	        rs_store_blob_stream_from(f->s, &d, prefix, have, collect_sink, &c, &written), 0);
	assert_int_equal(written, len - have);
	assert_int_equal(c.got.size, len - have);
	assert_memory_equal(c.got.ptr, text + have, len - have);
	rs_reader_free(prefix);
	rs_buf_dispose(&c.got);
	/* held bytes that are not the blob's: the whole has another digest */
	assert_int_equal(rs_reader_from_memory(&prefix, "XXXX", have), 0);
	assert_int_equal(rs_store_blob_stream_from(f->s, &d, prefix, have, collect_sink, &c, NULL),
	                 RS_EDIGEST);
	rs_reader_free(prefix);
	rs_buf_dispose(&c.got);
	/* more held than the blob has (size known) */
	d.size = (int64_t)len;
	assert_int_equal(rs_reader_from_memory(&prefix, "0123456789abcdefghijklmnop", 26), 0);
	assert_int_equal(rs_store_blob_stream_from(f->s, &d, prefix, 26, collect_sink, &c, NULL),
	                 RS_EFORMAT);
	rs_reader_free(prefix);
	/* a prefix reader that ends early; none at all */
	assert_int_equal(rs_reader_from_memory(&prefix, text, 2), 0);
	assert_int_equal(rs_store_blob_stream_from(f->s, &d, prefix, have, collect_sink, &c, NULL),
	                 RS_EIO);
	rs_reader_free(prefix);
	assert_int_equal(rs_store_blob_stream_from(f->s, &d, NULL, have, collect_sink, &c, NULL),
	                 RS_EINVAL);
	/* nothing held: the same as rs_store_blob_stream */
	assert_int_equal(rs_store_blob_stream_from(f->s, &d, NULL, 0, collect_sink, &c, &written),
	                 0);
	assert_int_equal(written, len);
	rs_buf_dispose(&c.got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_up_to_date),
	        cmocka_unit_test(test_moved),
	        cmocka_unit_test(test_index_and_platform),
	        cmocka_unit_test(test_blob_stream_from),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
