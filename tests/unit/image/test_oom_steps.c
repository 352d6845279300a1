/*
 * Out of memory on the error paths of the functions split into steps (issue 14: no function
 * over ~100 lines): rs_sync, rs__dest_resolve, rs_store_open_docker_archive, an OCI layout's
 * manifest_get and rs_store_blob_stream_from. Each operation runs again and again with the k-th
 * allocation failing (rs__alloc_fail_at), k = 1, 2, ..., until a run with no failure injected
 * succeeds; every failing run must report RS_ENOMEM with the error set, and (under ASan/LSan and
 * valgrind) crash nothing and leak nothing. jansson keeps its own allocator here: its failures
 * are covered by tests/unit/util/test_oom.c.
 */
#include "../testoom.h"
#include "../testtar.h"

#include "regship/copy.h"
#include "regship/inspect.h"
#include "regship/manifest.h"
#include "regship/sync.h"
#include "store/tarwrite.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

/* An expected failure: passes RS_ENOMEM on (the run failed for memory), else must be want. */
#define EXPECT(rc, want)                                                                           \
	do {                                                                                       \
		int rc_ = (rc);                                                                    \
		if (rc_ == RS_ENOMEM)                                                              \
			return rc_;                                                                \
		assert_int_equal(rc_, (want));                                                     \
	} while (0)

/* ---- fixture ------------------------------------------------------------------------------ */

typedef struct fixture {
	char dir[256], src[300], dst[300], archive[300], tmp[300];
	char *layer_digest;
	int64_t layer_size;
} fixture;

/* A layer that is a real tar (one file), so that a docker archive can hold it. */
static void make_layer(rs_buf *out, const char *file, size_t size)
{
	char *data = malloc(size + 1);
	assert_non_null(data);
	for (size_t i = 0; i < size; i++)
		data[i] = (char)('a' + (i * 7 + size) % 26);
	test_tar_one_file(out, file, data, size);
	free(data);
}

/* One image (a config and one layer) tagged `tag`. */
static void build_image(fixture *f, rs_store *s, const char *tag, size_t size)
{
	rs_buf cfg = RS_BUF_INIT, layer = RS_BUF_INIT, manifest = RS_BUF_INIT;
	rs_descriptor config = {0}, l = {0};
	char diff[RS_DIGEST_MAX];
	make_layer(&layer, tag, size);
	rs__sha256_digest(diff, layer.ptr, layer.size);
	l.media_type = (char *)RS_MT_OCI_LAYER;
	l.digest = test_put_blob_dup(s, layer.ptr, layer.size);
	l.size = (int64_t)layer.size;
	rs__buf_printf(&cfg,
	               "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
	               "\"layers\",\"diff_ids\":[\"%s\"]}}",
	               diff);
	config.media_type = (char *)RS_MT_OCI_CONFIG;
	config.digest = test_put_blob_dup(s, cfg.ptr, cfg.size);
	config.size = (int64_t)cfg.size;
	assert_int_equal(rs_manifest_build(&manifest, RS_MT_OCI_MANIFEST, &config, &l, 1, NULL), 0);
	assert_int_equal(
	        rs_store_manifest_put(s, tag, manifest.ptr, manifest.size, RS_MT_OCI_MANIFEST), 0);
	if (!f->layer_digest) {
		f->layer_digest = rs__strdup(l.digest);
		f->layer_size = l.size;
	}
	free(config.digest);
	free(l.digest);
	rs_buf_dispose(&cfg);
	rs_buf_dispose(&layer);
	rs_buf_dispose(&manifest);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	rs_docker_archive_options o = RS_DOCKER_ARCHIVE_OPTIONS_INIT;
	rs_copy_options co = RS_COPY_OPTIONS_INIT;
	rs_copy_result res;
	rs_store *s = NULL, *da = NULL;
	assert_non_null(f);
	assert_int_equal(test_tmpdir_fast(f->dir, sizeof(f->dir), "oomsteps"), 0);
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	snprintf(f->dst, sizeof(f->dst), "%s/dst", f->dir);
	snprintf(f->archive, sizeof(f->archive), "%s/image.tar", f->dir);
	snprintf(f->tmp, sizeof(f->tmp), "%s/tmp", f->dir);
	assert_int_equal(mkdir(f->tmp, 0700), 0);
	assert_int_equal(rs_store_open_oci_layout(&s, f->src, RS_STORE_WRITE), 0);
	build_image(f, s, "1.0.0", 3000);
	build_image(f, s, "2.0.0", 4000);
	assert_int_equal(rs_store_commit(s), 0);
	rs_store_free(s);
	assert_int_equal(rs_store_open_oci_layout(&s, f->src, RS_STORE_READ), 0);
	o.tmp_dir = f->tmp;
	o.cache_dir = "";
	co.jobs = 1;
	assert_int_equal(rs_store_open_docker_archive(&da, f->archive, RS_STORE_WRITE, &o), 0);
	assert_int_equal(rs_copy(da, "app:v1", s, "1.0.0", &co, &res), 0);
	rs_copy_result_dispose(&res);
	assert_int_equal(rs_store_commit(da), 0);
	rs_store_free(da);
	rs_store_free(s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	rs__alloc_fail_at(0);
	assert_int_equal(test_count_entries(f->tmp), 0); /* nothing left by a failed store */
	test_rm_rf(f->dir);
	free(f->layer_digest);
	free(f);
	return 0;
}

/* ---- rs_sync ------------------------------------------------------------------------------ */

static int sync_once(fixture *f, int dry_run, const rs_sync_filter *filter)
{
	rs_store *src = NULL, *dst = NULL;
	rs_sync_pair pair = {NULL, NULL, {NULL, 0, NULL, NULL}};
	rs_sync_options so = RS_SYNC_OPTIONS_INIT;
	rs_copy_options co = RS_COPY_OPTIONS_INIT;
	rs_sync_item *items = NULL;
	size_t n = 0;
	int error;
	co.jobs = 1;
	so.copy = &co;
	so.dry_run = dry_run;
	so.keep_going = 1;
	if (filter)
		pair.filter = *filter;
	assert_int_equal(test_rm_rf(f->dst), 0);
	if ((error = rs_store_open_oci_layout(&src, f->src, RS_STORE_READ)) < 0)
		goto done;
	if ((error = rs_store_open_oci_layout(&dst, f->dst, RS_STORE_WRITE)) < 0)
		goto done;
	pair.src = src;
	pair.dst = dst;
	error = rs_sync(&pair, 1, &so, &items, &n);
	if (!error && !dry_run)
		error = rs_store_commit(dst);
	if (!error) {
		/* done in full: not skipped after a failure swallowed */
		assert_int_equal(n, filter && filter->tag_count ? filter->tag_count : 2);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(items[i].state, dry_run ? RS_SYNC_COPY : RS_SYNC_COPIED);
	}
done:
	rs_sync_items_free(items, n);
	rs_store_free(src);
	rs_store_free(dst);
	return error;
}

static int op_sync(void *ctx)
{
	static const char *const listed[] = {"1.0.0", "2.0.0"};
	/* a dry run choosing tags by pattern and range, then a copy of tags named */
	rs_sync_filter regex = {NULL, 0, "^[0-9]", ">=1"};
	rs_sync_filter by_name = {listed, 2, NULL, NULL};
	int error;
	if ((error = sync_once(ctx, 1, &regex)) == 0)
		error = sync_once(ctx, 0, &by_name);
	return error;
}

/* A tag the source lacks: the run fails for it (RS_ENOTFOUND), or for memory. */
static int op_sync_failing(void *ctx)
{
	static const char *const listed[] = {"1.0.0", "nope"};
	rs_sync_filter by_name = {listed, 2, NULL, NULL};
	EXPECT(sync_once(ctx, 0, &by_name), RS_ENOTFOUND);
	return 0;
}

/* ---- archive destinations ------------------------------------------------------------------ */

static int resolve_one(const char *file, const char *target_suffix)
{
	rs__dest d;
	int error = rs__dest_resolve(&d, file, "docker archive");
	if (!error) {
		assert_non_null(d.shown);
		if (target_suffix) {
			assert_non_null(d.target);
			assert_true(rs__str_endswith(d.target, target_suffix));
		}
	}
	rs__dest_dispose(&d);
	return error;
}

static int op_dest_resolve(void *ctx)
{
	fixture *f = ctx;
	char absent[400], link[400], fifo[400], dangling[400], dir_link[400];
	int error;
	snprintf(absent, sizeof(absent), "%s/absent.tar", f->dir);
	snprintf(link, sizeof(link), "%s/link.tar", f->dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", f->dir);
	snprintf(dangling, sizeof(dangling), "%s/dangling", f->dir);
	snprintf(dir_link, sizeof(dir_link), "%s/dirlink", f->dir);
	if ((error = resolve_one(absent, "absent.tar")) < 0 ||
	    (error = resolve_one(f->archive, "image.tar")) < 0 ||
	    (error = resolve_one(link, "image.tar")) < 0 || (error = resolve_one(fifo, NULL)) < 0 ||
	    (error = resolve_one("/dev/null", NULL)) < 0)
		return error;
	EXPECT(resolve_one(dangling, NULL), RS_EINVAL);
	EXPECT(resolve_one(dir_link, NULL), RS_EINVAL);
	EXPECT(resolve_one(f->dir, NULL), RS_EINVAL);
	return 0;
}

static void test_dest_resolve(void **state)
{
	fixture *f = *state;
	char path[400];
	snprintf(path, sizeof(path), "%s/link.tar", f->dir);
	assert_int_equal(symlink(f->archive, path), 0);
	snprintf(path, sizeof(path), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/dangling", f->dir);
	assert_int_equal(symlink("nowhere", path), 0);
	snprintf(path, sizeof(path), "%s/dirlink", f->dir);
	assert_int_equal(symlink(f->tmp, path), 0);
	assert_true(OOM_LOOP(op_dest_resolve, f) > 5);
}

/* ---- docker archives ------------------------------------------------------------------------ */

static int op_docker_archive_open(void *ctx)
{
	fixture *f = ctx;
	rs_docker_archive_options o = RS_DOCKER_ARCHIVE_OPTIONS_INIT;
	rs_store *s = NULL;
	rs_buf body = RS_BUF_INIT;
	int error;
	o.tmp_dir = f->tmp;
	o.cache_dir = "";
	o.jobs = 1;
	/* reading; a tag it lacks (the message lists the images it holds) */
	if ((error = rs_store_open_docker_archive(&s, f->archive, RS_STORE_READ, &o)) < 0)
		return error;
	error = rs_store_manifest_get(s, "other:v1", &body, NULL, NULL);
	rs_buf_dispose(&body);
	rs_store_free(s);
	s = NULL;
	EXPECT(error, RS_ENOTFOUND);
	/* adding to the archive: its images are read in first */
	o.ca_cert = "/nonexistent/ca.pem";
	o.cache_dir = f->tmp;
	o.compression = RS_COMPRESSION_ZSTD;
	o.format = RS_MANIFEST_FORMAT_OCI;
	if ((error = rs_store_open_docker_archive(&s, f->archive, RS_STORE_WRITE, &o)) < 0)
		return error;
	rs_store_free(s);
	s = NULL;
	/* refused options */
	o.compression = RS_COMPRESSION_ZSTD;
	o.format = RS_MANIFEST_FORMAT_DOCKER;
	EXPECT(rs_store_open_docker_archive(&s, f->archive, RS_STORE_READ, &o), RS_EINVAL);
	assert_null(s);
	return 0;
}

/* ---- OCI layouts ------------------------------------------------------------------------------
 */

static int op_layout_manifest_get(void *ctx)
{
	fixture *f = ctx;
	rs_store *s = NULL;
	rs_buf body = RS_BUF_INIT;
	char *mt = NULL, *digest = NULL;
	int error;
	if ((error = rs_store_open_oci_layout(&s, f->src, RS_STORE_READ)) < 0)
		return error;
	if ((error = rs_store_manifest_get(s, "2.0.0", &body, &mt, &digest)) < 0)
		goto done;
	assert_string_equal(mt, RS_MT_OCI_MANIFEST);
	free(mt);
	mt = NULL;
	if ((error = rs_store_manifest_get(s, digest, &body, &mt, NULL)) < 0)
		goto done;
	/* errors that build a message listing the images */
	if ((error = rs_store_manifest_get(s, NULL, &body, NULL, NULL)) != RS_EINVAL ||
	    (error = rs_store_manifest_get(s, "3.0.0", &body, NULL, NULL)) != RS_ENOTFOUND) {
		if (error != RS_ENOMEM)
			fail_msg("manifest_get: unexpected %d (%s)", error,
			         rs_error_last()->message);
		goto done;
	}
	error = 0;
done:
	free(mt);
	free(digest);
	rs_buf_dispose(&body);
	rs_store_free(s);
	return error;
}

/* ---- verified blob streams ------------------------------------------------------------------ */

static int count_sink(const void *data, size_t len, void *payload)
{
	(void)data;
	*(size_t *)payload += len;
	return 0;
}

static int op_blob_stream(void *ctx)
{
	fixture *f = ctx;
	rs_store *s = NULL;
	rs_descriptor d = {0};
	rs_buf whole = RS_BUF_INIT;
	rs_reader *prefix = NULL;
	uint64_t written = 0;
	size_t got = 0;
	int error;
	d.media_type = (char *)RS_MT_OCI_LAYER;
	d.digest = f->layer_digest;
	d.size = f->layer_size;
	if ((error = rs_store_open_oci_layout(&s, f->src, RS_STORE_READ)) < 0)
		return error;
	if ((error = rs_store_blob_read(s, &d, &whole, 1 << 20)) < 0)
		goto done;
	/* the first 1000 bytes already received: the rest is passed on */
	if ((error = rs_reader_from_memory(&prefix, whole.ptr, 1000)) < 0)
		goto done;
	if ((error = rs_store_blob_stream_from(s, &d, prefix, 1000, count_sink, &got, &written)) <
	    0)
		goto done;
	assert_int_equal(written, whole.size - 1000);
	assert_int_equal(got, whole.size - 1000);
done:
	rs_reader_free(prefix);
	rs_buf_dispose(&whole);
	rs_store_free(s);
	return error;
}

/* ---- the tests ----------------------------------------------------------------------------- */

static void test_sync(void **state)
{
	assert_true(OOM_LOOP_MAY_SUCCEED(op_sync, *state) > 50);
	assert_true(OOM_LOOP_MAY_SUCCEED(op_sync_failing, *state) > 20);
}

static void test_docker_archive_open(void **state)
{
	assert_true(OOM_LOOP(op_docker_archive_open, *state) > 20);
}

static void test_layout_and_blobs(void **state)
{
	assert_true(OOM_LOOP(op_layout_manifest_get, *state) > 10);
	assert_true(OOM_LOOP(op_blob_stream, *state) > 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_sync, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dest_resolve, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_docker_archive_open, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_layout_and_blobs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
