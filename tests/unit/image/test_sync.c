/* Tests of lib/image/sync.c through the public API, between OCI layouts in temporary
 * directories: tag selection, first run, re-run (up to date, nothing written), dry runs (also
 * to a destination that does not exist yet), a failing tag with and without keep_going. */
#include "../testutil.h"

#include "regship/sync.h"
#include "util/digest.h"

/* A one-layer image named `name` under `tag`; returns the manifest digest (caller frees). */
static char *image(rs_store *s, const char *name, const char *tag)
{
	rs_buf cfg = RS_BUF_INIT, layer = RS_BUF_INIT, m = RS_BUF_INIT;
	rs_descriptor config = {0}, l = {0};
	char d[RS_DIGEST_MAX];
	rs__buf_printf(&cfg, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"name\":\"%s\"}", name);
	rs__buf_printf(&layer, "layer of %s", name);
	config.media_type = (char *)RS_MT_OCI_CONFIG;
	config.digest = test_put_blob_dup(s, cfg.ptr, cfg.size);
	config.size = (int64_t)cfg.size;
	l.media_type = (char *)RS_MT_OCI_LAYER_GZIP;
	l.digest = test_put_blob_dup(s, layer.ptr, layer.size);
	l.size = (int64_t)layer.size;
	assert_int_equal(rs_manifest_build(&m, RS_MT_OCI_MANIFEST, &config, &l, 1, NULL), 0);
	assert_int_equal(rs_store_manifest_put(s, tag, m.ptr, m.size, RS_MT_OCI_MANIFEST), 0);
	rs__sha256_digest(d, m.ptr, m.size);
	free(config.digest);
	free(l.digest);
	rs_buf_dispose(&cfg);
	rs_buf_dispose(&layer);
	rs_buf_dispose(&m);
	return rs__strdup(d);
}

typedef struct fixture {
	char root[512], src[600], dst[600];
	char *digest[4];
} fixture;

static const char *const tags[] = {"1.0.0", "2.0.0", "2.1.0", "latest"};

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	rs_store *s = NULL;
	assert_non_null(f);
	assert_int_equal(test_tmpdir(f->root, sizeof(f->root), "sync"), 0);
	snprintf(f->src, sizeof(f->src), "%s/src", f->root);
	snprintf(f->dst, sizeof(f->dst), "%s/dst", f->root);
	assert_int_equal(rs_store_open_oci_layout(&s, f->src, RS_STORE_WRITE), 0);
	for (size_t i = 0; i < 4; i++)
		f->digest[i] = image(s, tags[i], tags[i]);
	assert_int_equal(rs_store_commit(s), 0);
	rs_store_free(s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	test_rm_rf(f->root);
	for (size_t i = 0; i < 4; i++)
		free(f->digest[i]);
	free(f);
	return 0;
}

static int run(const fixture *f, const rs_sync_filter *filter, int dry_run, bool dst_exists,
               rs_sync_item **items, size_t *count)
{
	rs_store *src = NULL, *dst = NULL;
	rs_sync_pair pair = {NULL, NULL, {NULL, 0, NULL, NULL}};
	rs_sync_options so = RS_SYNC_OPTIONS_INIT;
	int error;
	assert_int_equal(rs_store_open_oci_layout(&src, f->src, RS_STORE_READ), 0);
	if (dst_exists)
		assert_int_equal(rs_store_open_oci_layout(&dst, f->dst, RS_STORE_WRITE), 0);
	pair.src = src;
	pair.dst = dst;
	if (filter)
		pair.filter = *filter;
	so.dry_run = dry_run;
	error = rs_sync(&pair, 1, &so, items, count);
	if (dst && !dry_run)
		assert_int_equal(rs_store_commit(dst), 0);
	rs_store_free(src);
	rs_store_free(dst);
	return error;
}

static void test_select_and_mirror(void **state)
{
	fixture *f = *state;
	rs_sync_filter filter = {NULL, 0, "^[0-9]", ">=2"};
	rs_sync_item *items = NULL;
	size_t n = 0;

	/* a dry run to a destination that does not exist: everything would be copied */
	assert_int_equal(run(f, &filter, 1, false, &items, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].tag, "2.0.0");
	assert_string_equal(items[1].tag, "2.1.0");
	assert_int_equal(items[0].state, RS_SYNC_COPY);
	assert_string_equal(items[0].digest, f->digest[1]);
	rs_sync_items_free(items, n);

	assert_int_equal(run(f, &filter, 0, true, &items, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(items[i].state, RS_SYNC_COPIED);
		assert_string_equal(items[i].digest, f->digest[i + 1]);
		assert_true(items[i].result.blob_count > 0);
	}
	rs_sync_items_free(items, n);

	/* again, every tag: the two copied are up to date, the others copied */
	assert_int_equal(run(f, NULL, 1, true, &items, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(items[0].state, RS_SYNC_COPY); /* 1.0.0 */
	assert_int_equal(items[1].state, RS_SYNC_UP_TO_DATE);
	assert_int_equal(items[2].state, RS_SYNC_UP_TO_DATE);
	assert_int_equal(items[3].state, RS_SYNC_COPY); /* latest */
	rs_sync_items_free(items, n);
	assert_int_equal(run(f, NULL, 0, true, &items, &n), 0);
	assert_int_equal(items[1].state, RS_SYNC_UP_TO_DATE);
	assert_int_equal(items[1].result.blob_count, 0); /* nothing moved for it */
	assert_int_equal(items[3].state, RS_SYNC_COPIED);
	rs_sync_items_free(items, n);
}

static void test_failures(void **state)
{
	fixture *f = *state;
	static const char *const listed[] = {"1.0.0", "nope", "latest"};
	rs_sync_filter filter = {listed, 3, NULL, NULL};
	rs_sync_item *items = NULL;
	size_t n = 0;
	rs_store *src = NULL, *dst = NULL;
	rs_sync_pair pair = {NULL, NULL, {listed, 3, NULL, NULL}};
	rs_sync_options so = RS_SYNC_OPTIONS_INIT;
	char dst2[700];

	/* a listed tag the source does not have fails; without keep_going nothing after it is
	 * tried (items are in byte order: 1.0.0, latest, nope) */
	assert_int_equal(run(f, &filter, 0, true, &items, &n), RS_ENOTFOUND);
	assert_int_equal(n, 3);
	assert_string_equal(items[2].tag, "nope");
	assert_int_equal(items[2].state, RS_SYNC_FAILED);
	assert_int_equal(items[2].error.code, RS_ENOTFOUND);
	assert_non_null(strstr(rs_error_last()->message, "nope"));
	rs_sync_items_free(items, n);

	/* keep_going: the others are copied, the failure reported */
	snprintf(dst2, sizeof(dst2), "%s/dst2", f->root);
	assert_int_equal(rs_store_open_oci_layout(&src, f->src, RS_STORE_READ), 0);
	assert_int_equal(rs_store_open_oci_layout(&dst, dst2, RS_STORE_WRITE), 0);
	pair.src = src;
	pair.dst = dst;
	so.keep_going = 1;
	assert_int_equal(rs_sync(&pair, 1, &so, &items, &n), RS_ENOTFOUND);
	assert_int_equal(items[0].state, RS_SYNC_COPIED);
	assert_int_equal(items[1].state, RS_SYNC_COPIED);
	assert_int_equal(items[2].state, RS_SYNC_FAILED);
	rs_sync_items_free(items, n);
	rs_store_free(src);
	rs_store_free(dst);

	/* bad arguments */
	assert_int_equal(rs_sync(NULL, 1, NULL, &items, &n), RS_EINVAL);
	so.version = 99;
	assert_int_equal(rs_sync(&pair, 1, &so, &items, &n), RS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_select_and_mirror, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
