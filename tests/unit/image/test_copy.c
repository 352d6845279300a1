/*
 * Unit tests for the copy engine (lib/image/copy.c), against a fake in-memory store that
 * counts and logs every call (to check the state machine and the order of writes) and
 * against real OCI layout stores in temporary directories.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regship/copy.h"
#include "regship/store.h"
#include "store/store.h"
#include "util/digest.h"
#include "util/util.h"

#include "testutil.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== a fake store ======================================================================= */

#define FAKE_MAX 64

typedef struct mem_blob {
	char *digest;
	rs_buf data;
} mem_blob;

typedef struct mem_manifest {
	char *reference; /* tag or digest it was put under */
	char *digest;
	char *media_type;
	rs_buf bytes;
} mem_manifest;

typedef struct fake_store {
	rs_store base;
	rs_store_ops ops;
	pthread_mutex_t lock;
	mem_blob blobs[FAKE_MAX];
	size_t nblobs;
	mem_manifest manifests[FAKE_MAX];
	size_t nmanifests;
	/* every call, in order: "exists D", "open D", "put D", "mount D", "manifest_put REF" */
	rs_strlist log;
	int exists_calls, open_calls, put_calls, mount_calls, manifest_put_calls;
	/* fault injection */
	const char *fail_put_digest; /* blob_put of it fails with RS_EIO */
	const char *corrupt_digest; /* blob_open of it serves altered bytes (same size) */
	/* a deliberately silent backend: these fail with RS_EIO without setting any message */
	bool silent_put; /* fail_put_digest fails silently */
	const char *silent_exists_digest; /* blob_exists of it */
	const char *silent_read_digest; /* blob_open of it gives a reader whose read fails */
	rs_buf corrupt;
} fake_store;

static void fake_log(fake_store *f, const char *what, const char *arg)
{
	rs_buf b = RS_BUF_INIT;
	rs__buf_printf(&b, "%s %s", what, arg ? arg : "(null)");
	pthread_mutex_lock(&f->lock);
	rs__strlist_push_owned(&f->log, rs__buf_detach(&b));
	pthread_mutex_unlock(&f->lock);
}

static mem_blob *fake_find_blob(fake_store *f, const char *digest)
{
	mem_blob *found = NULL;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nblobs; i++)
		if (!strcmp(f->blobs[i].digest, digest))
			found = &f->blobs[i];
	pthread_mutex_unlock(&f->lock);
	return found;
}

static void fake_add_blob(fake_store *f, const char *digest, const void *data, size_t len)
{
	mem_blob *b;
	if (fake_find_blob(f, digest))
		return;
	pthread_mutex_lock(&f->lock);
	assert_true(f->nblobs < FAKE_MAX);
	b = &f->blobs[f->nblobs++];
	b->digest = rs__strdup(digest);
	memset(&b->data, 0, sizeof(b->data));
	rs__buf_put(&b->data, data, len);
	pthread_mutex_unlock(&f->lock);
}

static const mem_manifest *fake_find_manifest(const fake_store *f, const char *ref)
{
	/* the latest put under that reference, or with that digest */
	for (size_t i = f->nmanifests; i > 0; i--) {
		const mem_manifest *m = &f->manifests[i - 1];
		if (!ref || !strcmp(m->reference, ref) || !strcmp(m->digest, ref))
			return m;
	}
	return NULL;
}

static int fake_manifest_get(rs_store *s, const char *reference, rs_buf *body, char **media_type,
                             char **digest)
{
	fake_store *f = (fake_store *)s;
	const mem_manifest *m = fake_find_manifest(f, reference);
	fake_log(f, "manifest_get", reference);
	if (!m)
		return rs__error_set(RS_ENOTFOUND, "fake: manifest %s not found",
		                     reference ? reference : "(default)");
	rs__buf_put(body, m->bytes.ptr, m->bytes.size);
	if (media_type)
		*media_type = rs__strdup(m->media_type);
	if (digest)
		*digest = rs__strdup(m->digest);
	return 0;
}

static int fake_manifest_put(rs_store *s, const char *reference, const void *body, size_t len,
                             const char *media_type)
{
	fake_store *f = (fake_store *)s;
	mem_manifest *m;
	char d[RS_DIGEST_MAX];
	rs__sha256_digest(d, body, len);
	fake_log(f, "manifest_put", reference);
	pthread_mutex_lock(&f->lock);
	f->manifest_put_calls++;
	assert_true(f->nmanifests < FAKE_MAX);
	m = &f->manifests[f->nmanifests++];
	m->reference = rs__strdup(reference ? reference : d);
	m->digest = rs__strdup(d);
	m->media_type = rs__strdup(media_type);
	memset(&m->bytes, 0, sizeof(m->bytes));
	rs__buf_put(&m->bytes, body, len);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fake_blob_exists(rs_store *s, const rs_descriptor *desc)
{
	fake_store *f = (fake_store *)s;
	pthread_mutex_lock(&f->lock);
	f->exists_calls++;
	pthread_mutex_unlock(&f->lock);
	fake_log(f, "exists", desc->digest);
	if (f->silent_exists_digest && !strcmp(f->silent_exists_digest, desc->digest))
		return RS_EIO;
	if (fake_find_blob(f, desc->digest))
		return 0;
	return rs__error_set(RS_ENOTFOUND, "fake: blob %s not found", desc->digest);
}

/* A reader that fails at once without a message (a careless third-party reader). */
static long long silent_read(rs_reader *r, void *buf, size_t len)
{
	(void)r, (void)buf, (void)len;
	return RS_EIO;
}

static void silent_free(rs_reader *r)
{
	free(r);
}

static int fake_blob_open(rs_reader **out, rs_store *s, const rs_descriptor *desc)
{
	fake_store *f = (fake_store *)s;
	mem_blob *b;
	pthread_mutex_lock(&f->lock);
	f->open_calls++;
	pthread_mutex_unlock(&f->lock);
	fake_log(f, "open", desc->digest);
	if (!(b = fake_find_blob(f, desc->digest)))
		return rs__error_set(RS_ENOTFOUND, "fake: blob %s not found", desc->digest);
	if (f->silent_read_digest && !strcmp(f->silent_read_digest, desc->digest)) {
		rs_reader *r = rs__calloc(1, sizeof(*r));
		r->read = silent_read;
		r->free = silent_free;
		r->size = (int64_t)b->data.size;
		*out = r;
		return 0;
	}
	if (f->corrupt_digest && !strcmp(f->corrupt_digest, desc->digest)) {
		pthread_mutex_lock(&f->lock);
		rs__buf_clear(&f->corrupt);
		rs__buf_put(&f->corrupt, b->data.ptr, b->data.size);
		f->corrupt.ptr[f->corrupt.size / 2] ^= 0x20;
		pthread_mutex_unlock(&f->lock);
		return rs_reader_from_memory(out, f->corrupt.ptr, f->corrupt.size);
	}
	return rs_reader_from_memory(out, b->data.ptr, b->data.size);
}

/* Deliberately no verification of its own: what it gets is what the engine hands it. */
static int fake_blob_put(rs_store *s, const rs_descriptor *desc, rs_reader *r, rs_transfer_cb cb,
                         void *payload)
{
	fake_store *f = (fake_store *)s;
	rs_buf data = RS_BUF_INIT;
	char chunk[1000];
	uint64_t done = 0;
	long long n;
	pthread_mutex_lock(&f->lock);
	f->put_calls++;
	pthread_mutex_unlock(&f->lock);
	fake_log(f, "put", desc->digest);
	if (f->fail_put_digest && !strcmp(f->fail_put_digest, desc->digest) && f->silent_put)
		return RS_EIO;
	if (f->fail_put_digest && !strcmp(f->fail_put_digest, desc->digest))
		return rs__error_set(RS_EIO, "fake: injected write failure for %s", desc->digest);
	while ((n = rs_reader_read(r, chunk, sizeof(chunk))) > 0) {
		rs__buf_put(&data, chunk, (size_t)n);
		done += (uint64_t)n;
		if (cb && cb(done, payload)) {
			rs_buf_dispose(&data);
			return rs__error_set(RS_EUSER, "fake: writing %s cancelled", desc->digest);
		}
	}
	if (n < 0) {
		rs_buf_dispose(&data);
		return (int)n;
	}
	fake_add_blob(f, desc->digest, data.ptr ? data.ptr : "", data.size);
	rs_buf_dispose(&data);
	return 0;
}

/* Would succeed: the engine must not use it for a destination that is not a registry. */
static int fake_blob_mount(rs_store *s, const rs_descriptor *desc, const char *from)
{
	fake_store *f = (fake_store *)s;
	pthread_mutex_lock(&f->lock);
	f->mount_calls++;
	pthread_mutex_unlock(&f->lock);
	fake_log(f, "mount", desc->digest);
	(void)from;
	return 0;
}

static void fake_free(rs_store *s)
{
	fake_store *f = (fake_store *)s;
	for (size_t i = 0; i < f->nblobs; i++) {
		free(f->blobs[i].digest);
		rs_buf_dispose(&f->blobs[i].data);
	}
	for (size_t i = 0; i < f->nmanifests; i++) {
		free(f->manifests[i].reference);
		free(f->manifests[i].digest);
		free(f->manifests[i].media_type);
		rs_buf_dispose(&f->manifests[i].bytes);
	}
	rs__strlist_dispose(&f->log);
	rs_buf_dispose(&f->corrupt);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static fake_store *fake_new(const char *scheme)
{
	fake_store *f = rs__calloc(1, sizeof(*f));
	f->ops.version = RS_STORE_OPS_VERSION;
	f->ops.scheme = scheme;
	f->ops.manifest_get = fake_manifest_get;
	f->ops.manifest_put = fake_manifest_put;
	f->ops.blob_exists = fake_blob_exists;
	f->ops.blob_open = fake_blob_open;
	f->ops.blob_put = fake_blob_put;
	f->ops.blob_mount = fake_blob_mount;
	f->ops.free = fake_free;
	f->base.ops = &f->ops;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

static void fake_reset_counters(fake_store *f)
{
	f->exists_calls = f->open_calls = f->put_calls = f->mount_calls = 0;
	f->manifest_put_calls = 0;
	rs__strlist_dispose(&f->log);
}

static int log_count(const fake_store *f, const char *entry)
{
	int n = 0;
	for (size_t i = 0; i < f->log.count; i++)
		if (!strcmp(f->log.items[i], entry))
			n++;
	return n;
}

/* Index of the first (or last) log entry equal to "what arg"; -1 when absent. */
static long log_index(const fake_store *f, const char *what, const char *arg, bool last)
{
	char entry[256];
	long found = -1;
	snprintf(entry, sizeof(entry), "%s %s", what, arg);
	for (size_t i = 0; i < f->log.count; i++)
		if (!strcmp(f->log.items[i], entry)) {
			found = (long)i;
			if (!last)
				break;
		}
	return found;
}

/* ==== building images into any store ===================================================== */

typedef struct image {
	char *config_digest;
	char *layer_digests[16];
	int64_t layer_sizes[16];
	size_t nlayers;
	char *manifest_digest;
	size_t manifest_size;
	rs_buf manifest;
} image;

static void image_dispose(image *im)
{
	free(im->config_digest);
	for (size_t i = 0; i < im->nlayers; i++)
		free(im->layer_digests[i]);
	free(im->manifest_digest);
	rs_buf_dispose(&im->manifest);
	memset(im, 0, sizeof(*im));
}

/* Layer contents: name-specific, `size` bytes; a shared layer uses the same name everywhere. */
static void layer_bytes(rs_buf *out, const char *name, size_t size)
{
	rs__buf_clear(out);
	while (out->size < size)
		rs__buf_printf(out, "%s:%zu;", name, out->size);
	out->size = size;
	out->ptr[size] = '\0';
}

/*
 * An image of `nlayers` layers (sizes 3000, 3500, ...) named after `name`, plus `shared`
 * (a layer with the same bytes in every image using it) when not NULL. The manifest is put
 * under `tag`, or under its digest when tag is NULL.
 */
static void build_image(image *im, rs_store *s, const char *name, const char *arch, size_t nlayers,
                        const char *shared, const char *tag)
{
	rs_buf cfg = RS_BUF_INIT, data = RS_BUF_INIT, lname = RS_BUF_INIT;
	rs_descriptor config = {0}, layers[16];
	size_t n = 0;
	memset(im, 0, sizeof(*im));
	memset(layers, 0, sizeof(layers));
	rs__buf_printf(&cfg, "{\"architecture\":\"%s\",\"os\":\"linux\",\"name\":\"%s\"}", arch,
	               name);
	im->config_digest = test_put_blob_dup(s, cfg.ptr, cfg.size);
	config.media_type = (char *)RS_MT_OCI_CONFIG;
	config.digest = im->config_digest;
	config.size = (int64_t)cfg.size;
	for (size_t i = 0; i < nlayers + (shared ? 1 : 0); i++) {
		rs__buf_clear(&lname);
		if (i == nlayers)
			rs__buf_puts(&lname, shared);
		else
			rs__buf_printf(&lname, "%s-layer-%zu", name, i);
		layer_bytes(&data, lname.ptr, 3000 + 500 * i);
		im->layer_digests[n] = test_put_blob_dup(s, data.ptr, data.size);
		im->layer_sizes[n] = (int64_t)data.size;
		layers[n].media_type = (char *)RS_MT_OCI_LAYER_GZIP;
		layers[n].digest = im->layer_digests[n];
		layers[n].size = im->layer_sizes[n];
		n++;
	}
	im->nlayers = n;
	assert_int_equal(
	        rs_manifest_build(&im->manifest, RS_MT_OCI_MANIFEST, &config, layers, n, NULL), 0);
	{
		char d[RS_DIGEST_MAX];
		rs__sha256_digest(d, im->manifest.ptr, im->manifest.size);
		im->manifest_digest = rs__strdup(d);
		im->manifest_size = im->manifest.size;
	}
	assert_int_equal(rs_store_manifest_put(s, tag ? tag : im->manifest_digest, im->manifest.ptr,
	                                       im->manifest.size, RS_MT_OCI_MANIFEST),
	                 0);
	rs_buf_dispose(&cfg);
	rs_buf_dispose(&data);
	rs_buf_dispose(&lname);
}

/* An index of two images (amd64, arm64) sharing one layer, put under `tag`. */
typedef struct multi {
	image amd, arm;
	char *index_digest;
	rs_buf index;
} multi;

static void build_multi(multi *mu, rs_store *s, const char *tag)
{
	rs_descriptor children[2];
	rs_platform *pa = NULL, *pb = NULL;
	char d[RS_DIGEST_MAX];
	memset(mu, 0, sizeof(*mu));
	memset(children, 0, sizeof(children));
	build_image(&mu->amd, s, "amd", "amd64", 2, "shared-base", NULL);
	build_image(&mu->arm, s, "arm", "arm64", 2, "shared-base", NULL);
	assert_int_equal(rs_platform_parse(&pa, "linux/amd64"), 0);
	assert_int_equal(rs_platform_parse(&pb, "linux/arm64"), 0);
	children[0].media_type = (char *)RS_MT_OCI_MANIFEST;
	children[0].digest = mu->amd.manifest_digest;
	children[0].size = (int64_t)mu->amd.manifest_size;
	children[0].platform = pa;
	children[1].media_type = (char *)RS_MT_OCI_MANIFEST;
	children[1].digest = mu->arm.manifest_digest;
	children[1].size = (int64_t)mu->arm.manifest_size;
	children[1].platform = pb;
	assert_int_equal(rs_index_build(&mu->index, RS_MT_OCI_INDEX, children, 2), 0);
	rs__sha256_digest(d, mu->index.ptr, mu->index.size);
	mu->index_digest = rs__strdup(d);
	assert_int_equal(
	        rs_store_manifest_put(s, tag, mu->index.ptr, mu->index.size, RS_MT_OCI_INDEX), 0);
	rs_platform_free(pa);
	rs_platform_free(pb);
}

static void multi_dispose(multi *mu)
{
	image_dispose(&mu->amd);
	image_dispose(&mu->arm);
	free(mu->index_digest);
	rs_buf_dispose(&mu->index);
}

/* ==== recording callback ================================================================= */

typedef struct ev {
	rs_copy_event_kind kind;
	char digest[RS_DIGEST_MAX];
	rs_blob_state state;
	uint64_t bytes_done;
	char reference[RS_DIGEST_MAX];
} ev;

typedef struct recorder {
	ev events[4096];
	size_t count;
	/* cancel (return 1) at the first event matching these, when cancel is set */
	bool cancel;
	rs_copy_event_kind cancel_kind;
	rs_blob_state cancel_state;
	const char *cancel_digest; /* or NULL: any */
	bool cancel_needs_bytes; /* only once bytes_done > 0 */
	int cancelled_at; /* index of the event that cancelled, or -1 */
	int calls_after_cancel;
} recorder;

static void recorder_init(recorder *r)
{
	memset(r, 0, sizeof(*r));
	r->cancelled_at = -1;
}

static int record(const rs_copy_event *e, void *payload)
{
	recorder *r = payload;
	ev *x;
	if (r->cancelled_at >= 0)
		r->calls_after_cancel++;
	if (r->count >= sizeof(r->events) / sizeof(r->events[0]))
		return 0;
	x = &r->events[r->count];
	x->kind = e->kind;
	snprintf(x->digest, sizeof(x->digest), "%s", e->digest ? e->digest : "");
	x->state = e->state;
	x->bytes_done = e->bytes_done;
	snprintf(x->reference, sizeof(x->reference), "%s", e->reference ? e->reference : "");
	r->count++;
	if (r->cancel && r->cancelled_at < 0 && e->kind == r->cancel_kind &&
	    (e->kind != RS_COPY_BLOB || e->state == r->cancel_state) &&
	    (!r->cancel_digest || (e->digest && !strcmp(e->digest, r->cancel_digest))) &&
	    (!r->cancel_needs_bytes || e->bytes_done > 0)) {
		r->cancelled_at = (int)(r->count - 1);
		return 1;
	}
	return 0;
}

static rs_copy_options options(unsigned int jobs, recorder *rec)
{
	rs_copy_options o = RS_COPY_OPTIONS_INIT;
	o.jobs = jobs;
	o.no_mount_cache = 1;
	if (rec) {
		o.callback = record;
		o.payload = rec;
	}
	return o;
}

static const rs_copy_blob *result_blob(const rs_copy_result *res, const char *digest)
{
	for (size_t i = 0; i < res->blob_count; i++)
		if (!strcmp(res->blobs[i].digest, digest))
			return &res->blobs[i];
	return NULL;
}

static void assert_error_code(int code)
{
	const rs_error *e = rs_error_last();
	if (!e)
		fail_msg("no error detail set (expected %s)", rs_error_name(code));
	if (e->code != code)
		fail_msg("last error is %s \"%s\", expected %s", rs_error_name(e->code), e->message,
		         rs_error_name(code));
}

/* ==== tests with the fake store ========================================================== */

static void test_fresh_copy_states_and_events(void **state)
{
	fake_store *src = fake_new("fake"), *dst = fake_new("fake");
	const char *const mount_from[] = {"other/repo"};
	recorder *rec = malloc(sizeof(*rec));
	rs_copy_options o = options(1, rec);
	rs_copy_result res = {0};
	image im;
	uint64_t total = 0;
	const char *order[4];
	(void)state;
	recorder_init(rec);
	build_image(&im, &src->base, "solo", "amd64", 3, NULL, "v1");
	fake_reset_counters(src);
	o.mount_from = mount_from;
	o.mount_from_count = 1;

	assert_int_equal(rs_copy(&dst->base, "latest", &src->base, "v1", &o, &res), 0);

	/* every blob checked, then streamed; nothing mounted (not a registry) */
	assert_int_equal(dst->exists_calls, 4);
	assert_int_equal(dst->put_calls, 4);
	assert_int_equal(dst->mount_calls, 0);
	assert_int_equal(src->open_calls, 4);
	/* one manifest, the exact bytes, under the tag, after every blob */
	assert_int_equal(dst->manifest_put_calls, 1);
	assert_string_equal(dst->log.items[dst->log.count - 1], "manifest_put latest");
	{
		const mem_manifest *m = fake_find_manifest(dst, "latest");
		assert_non_null(m);
		assert_int_equal(m->bytes.size, im.manifest.size);
		assert_memory_equal(m->bytes.ptr, im.manifest.ptr, im.manifest.size);
		assert_string_equal(m->media_type, RS_MT_OCI_MANIFEST);
	}
	/* the blobs arrived intact */
	for (size_t i = 0; i < im.nlayers; i++) {
		mem_blob *a = fake_find_blob(src, im.layer_digests[i]);
		mem_blob *b = fake_find_blob(dst, im.layer_digests[i]);
		assert_non_null(b);
		assert_int_equal(a->data.size, b->data.size);
		assert_memory_equal(a->data.ptr, b->data.ptr, a->data.size);
	}

	/* the result: config first, then layers, each copied with its size */
	assert_string_equal(res.digest, im.manifest_digest);
	assert_string_equal(res.media_type, RS_MT_OCI_MANIFEST);
	assert_int_equal(res.blob_count, 4);
	order[0] = im.config_digest;
	for (size_t i = 0; i < 3; i++)
		order[i + 1] = im.layer_digests[i];
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(res.blobs[i].digest, order[i]);
		assert_int_equal(res.blobs[i].state, RS_BLOB_COPIED);
		assert_int_equal(res.blobs[i].bytes_sent, (uint64_t)res.blobs[i].size);
		assert_null(res.blobs[i].mounted_from);
		total += res.blobs[i].bytes_sent;
	}
	for (size_t i = 1; i < 4; i++) {
		assert_int_equal(res.blobs[i].size, im.layer_sizes[i - 1]);
		assert_string_equal(res.blobs[i].media_type, RS_MT_OCI_LAYER_GZIP);
	}
	assert_int_equal(res.bytes_sent, total);

	/* events, per blob: CHECKING, TRANSFERRING from 0 with growing progress, COPIED; then
	 * the manifest, last */
	for (size_t b = 0; b < 4; b++) {
		int phase = 0; /* 0 want CHECKING, 1 want TRANSFERRING, 2 in transfer, 3 copied */
		uint64_t last = 0;
		int progress_events = 0;
		for (size_t i = 0; i < rec->count; i++) {
			const ev *x = &rec->events[i];
			if (x->kind != RS_COPY_BLOB || strcmp(x->digest, order[b]))
				continue;
			if (phase == 0) {
				assert_int_equal(x->state, RS_BLOB_CHECKING);
				phase = 1;
			} else if (phase == 1) {
				assert_int_equal(x->state, RS_BLOB_TRANSFERRING);
				assert_int_equal(x->bytes_done, 0);
				phase = 2;
			} else if (phase == 2 && x->state == RS_BLOB_TRANSFERRING) {
				assert_true(x->bytes_done > last);
				last = x->bytes_done;
				progress_events++;
			} else {
				assert_int_equal(phase, 2);
				assert_int_equal(x->state, RS_BLOB_COPIED);
				assert_int_equal(x->bytes_done, (uint64_t)res.blobs[b].size);
				phase = 3;
			}
		}
		assert_int_equal(phase, 3);
		/* the fake reports every 1000 bytes: layers (3000+ bytes) give several */
		assert_true(progress_events >= (b == 0 ? 1 : 3));
		assert_int_equal(last, (uint64_t)res.blobs[b].size);
	}
	assert_int_equal(rec->events[rec->count - 1].kind, RS_COPY_MANIFEST);
	assert_string_equal(rec->events[rec->count - 1].reference, "latest");
	assert_string_equal(rec->events[rec->count - 1].digest, im.manifest_digest);
	for (size_t i = 0; i + 1 < rec->count; i++)
		assert_int_equal(rec->events[i].kind, RS_COPY_BLOB);

	rs_copy_result_dispose(&res);
	assert_null(res.blobs);
	assert_int_equal(res.blob_count, 0);
	rs_copy_result_dispose(&res); /* twice: harmless */
	rs_copy_result_dispose(NULL);
	image_dispose(&im);
	rs_store_free(&src->base);
	rs_store_free(&dst->base);
	free(rec);
}

static void test_existing_blobs_not_sent(void **state)
{
	fake_store *src = fake_new("fake"), *dst = fake_new("fake");
	recorder *rec = malloc(sizeof(*rec));
	rs_copy_options o = options(1, rec);
	rs_copy_result res = {0};
	image im;
	(void)state;
	recorder_init(rec);
	build_image(&im, &src->base, "solo", "amd64", 3, NULL, "v1");
	/* the destination already has the config and the second layer */
	{
		mem_blob *c = fake_find_blob(src, im.config_digest);
		mem_blob *l = fake_find_blob(src, im.layer_digests[1]);
		fake_add_blob(dst, c->digest, c->data.ptr, c->data.size);
		fake_add_blob(dst, l->digest, l->data.ptr, l->data.size);
	}
	fake_reset_counters(src);

	assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "v1", &o, &res), 0);
	assert_int_equal(dst->exists_calls, 4);
	assert_int_equal(dst->put_calls, 2);
	assert_true(log_index(dst, "put", im.config_digest, false) < 0);
	assert_true(log_index(dst, "put", im.layer_digests[1], false) < 0);
	assert_true(log_index(dst, "put", im.layer_digests[0], false) >= 0);
	assert_true(log_index(dst, "put", im.layer_digests[2], false) >= 0);
	/* the source is not even opened for them */
	assert_int_equal(src->open_calls, 2);
	assert_true(log_index(src, "open", im.config_digest, false) < 0);
	assert_int_equal(dst->manifest_put_calls, 1);

	assert_int_equal(result_blob(&res, im.config_digest)->state, RS_BLOB_EXISTS);
	assert_int_equal(result_blob(&res, im.config_digest)->bytes_sent, 0);
	assert_int_equal(result_blob(&res, im.layer_digests[1])->state, RS_BLOB_EXISTS);
	assert_int_equal(result_blob(&res, im.layer_digests[0])->state, RS_BLOB_COPIED);
	assert_int_equal(result_blob(&res, im.layer_digests[2])->state, RS_BLOB_COPIED);
	assert_int_equal(res.bytes_sent, (uint64_t)(im.layer_sizes[0] + im.layer_sizes[2]));

	/* an existing blob: CHECKING then EXISTS, never TRANSFERRING */
	{
		int checking = 0, exists = 0;
		for (size_t i = 0; i < rec->count; i++) {
			const ev *x = &rec->events[i];
			if (x->kind != RS_COPY_BLOB || strcmp(x->digest, im.layer_digests[1]))
				continue;
			assert_true(x->state == RS_BLOB_CHECKING || x->state == RS_BLOB_EXISTS);
			if (x->state == RS_BLOB_CHECKING) {
				assert_int_equal(exists, 0);
				checking++;
			} else {
				exists++;
			}
		}
		assert_int_equal(checking, 1);
		assert_int_equal(exists, 1);
	}

	/* a second copy moves nothing */
	rs_copy_result_dispose(&res);
	fake_reset_counters(dst);
	assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "v1", &o, &res), 0);
	assert_int_equal(dst->put_calls, 0);
	assert_int_equal(res.bytes_sent, 0);
	for (size_t i = 0; i < res.blob_count; i++)
		assert_int_equal(res.blobs[i].state, RS_BLOB_EXISTS);

	rs_copy_result_dispose(&res);
	image_dispose(&im);
	rs_store_free(&src->base);
	rs_store_free(&dst->base);
	free(rec);
}

static void test_digest_mismatch_writes_no_manifest(void **state)
{
	fake_store *src = fake_new("fake"), *dst = fake_new("fake");
	recorder *rec = malloc(sizeof(*rec));
	rs_copy_options o = options(1, rec);
	rs_copy_result res = {0};
	image im;
	int rc;
	(void)state;
	recorder_init(rec);
	build_image(&im, &src->base, "solo", "amd64", 3, NULL, "v1");
	src->corrupt_digest = im.layer_digests[1];

	rs_error_clear();
	rc = rs_copy(&dst->base, "v1", &src->base, "v1", &o, &res);
	assert_int_equal(rc, RS_EDIGEST);
	assert_error_code(RS_EDIGEST);
	assert_non_null(strstr(rs_error_last()->message, im.layer_digests[1]));
	/* the bad blob is not kept, and no manifest points at anything */
	assert_int_equal(dst->manifest_put_calls, 0);
	assert_true(log_index(dst, "manifest_put", "v1", false) < 0);
	assert_null(fake_find_blob(dst, im.layer_digests[1]));
	assert_non_null(result_blob(&res, im.layer_digests[1]));
	assert_int_equal(result_blob(&res, im.layer_digests[1])->state, RS_BLOB_FAILED);
	assert_null(res.digest);
	/* the failure is reported to the callback */
	{
		bool failed_event = false;
		for (size_t i = 0; i < rec->count; i++) {
			assert_int_equal(rec->events[i].kind, RS_COPY_BLOB);
			if (!strcmp(rec->events[i].digest, im.layer_digests[1]) &&
			    rec->events[i].state == RS_BLOB_FAILED)
				failed_event = true;
		}
		assert_true(failed_event);
	}
	rs_copy_result_dispose(&res);

	/* the same with several blobs in flight */
	fake_reset_counters(dst);
	dst->ops.scheme = "oci"; /* a scheme the engine parallelises for */
	o = options(4, NULL);
	rs_error_clear();
	assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "v1", &o, NULL), RS_EDIGEST);
	assert_int_equal(dst->manifest_put_calls, 0);
	assert_null(fake_find_blob(dst, im.layer_digests[1]));

	image_dispose(&im);
	rs_store_free(&src->base);
	rs_store_free(&dst->base);
	free(rec);
}

static void test_put_failure_writes_no_manifest(void **state)
{
	fake_store *src = fake_new("fake"), *dst = fake_new("fake");
	rs_copy_options o = options(1, NULL);
	rs_copy_result res = {0};
	image im;
	(void)state;
	build_image(&im, &src->base, "solo", "amd64", 3, NULL, "v1");
	dst->fail_put_digest = im.layer_digests[0];

	rs_error_clear();
	assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "v1", &o, &res), RS_EIO);
	assert_error_code(RS_EIO);
	assert_non_null(strstr(rs_error_last()->message, "injected write failure"));
	assert_int_equal(dst->manifest_put_calls, 0);
	assert_int_equal(result_blob(&res, im.layer_digests[0])->state, RS_BLOB_FAILED);
	/* with one job, nothing after the failure is attempted */
	assert_true(log_index(dst, "exists", im.layer_digests[2], false) < 0);
	rs_copy_result_dispose(&res);

	/* in an index: a failing child leaves neither its manifest nor the index */
	{
		fake_store *src2 = fake_new("fake"), *dst2 = fake_new("fake");
		multi mu;
		build_multi(&mu, &src2->base, "multi");
		dst2->fail_put_digest = mu.arm.layer_digests[0];
		rs_error_clear();
		assert_int_equal(rs_copy(&dst2->base, "multi", &src2->base, "multi", &o, NULL),
		                 RS_EIO);
		assert_true(log_index(dst2, "manifest_put", mu.arm.manifest_digest, false) < 0);
		assert_true(log_index(dst2, "manifest_put", "multi", false) < 0);
		multi_dispose(&mu);
		rs_store_free(&src2->base);
		rs_store_free(&dst2->base);
	}

	image_dispose(&im);
	rs_store_free(&src->base);
	rs_store_free(&dst->base);
}

/* A backend that returns error codes without setting a message: the engine must not crash
 * (it used to dereference a NULL rs_error_last()) and the caller gets a message naming the
 * backend and the operation, or the blob. */
static void test_silent_backend(void **state)
{
	rs_copy_options o = options(1, NULL);
	rs_copy_result res = RS_COPY_RESULT_INIT;
	image im;
	(void)state;

	/* blob_put fails silently */
	{
		fake_store *src = fake_new("fake"), *dst = fake_new("quiet");
		build_image(&im, &src->base, "solo", "amd64", 2, NULL, "v1");
		dst->fail_put_digest = im.layer_digests[0];
		dst->silent_put = true;
		rs_error_clear();
		assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "v1", &o, &res), RS_EIO);
		assert_true(rs_error_is_set());
		assert_int_equal(rs_error_last()->code, RS_EIO);
		assert_string_equal(rs_error_last()->message,
		                    "quiet store: writing a blob failed: input/output error");
		assert_int_equal(dst->manifest_put_calls, 0);
		assert_int_equal(result_blob(&res, im.layer_digests[0])->state, RS_BLOB_FAILED);
		rs_copy_result_dispose(&res);
		image_dispose(&im);
		rs_store_free(&src->base);
		rs_store_free(&dst->base);
	}

	/* blob_exists fails silently (not RS_ENOTFOUND: a real failure) */
	{
		fake_store *src = fake_new("fake"), *dst = fake_new("quiet");
		build_image(&im, &src->base, "solo", "amd64", 2, NULL, "v1");
		dst->silent_exists_digest = im.config_digest;
		rs_error_clear();
		assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "v1", &o, NULL), RS_EIO);
		assert_string_equal(rs_error_last()->message,
		                    "quiet store: checking for a blob failed: input/output error");
		assert_int_equal(dst->manifest_put_calls, 0);
		image_dispose(&im);
		rs_store_free(&src->base);
		rs_store_free(&dst->base);
	}

	/* the source's reader fails silently: rs_reader_read names the failure */
	{
		fake_store *src = fake_new("fake"), *dst = fake_new("fake");
		build_image(&im, &src->base, "solo", "amd64", 2, NULL, "v1");
		src->silent_read_digest = im.layer_digests[1];
		rs_error_clear();
		assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "v1", &o, &res), RS_EIO);
		assert_int_equal(rs_error_last()->code, RS_EIO);
		assert_non_null(strstr(rs_error_last()->message, "input/output error"));
		assert_int_equal(dst->manifest_put_calls, 0);
		rs_copy_result_dispose(&res);
		image_dispose(&im);
		rs_store_free(&src->base);
		rs_store_free(&dst->base);
	}

	/* several jobs: the worker-thread path saves the message too */
	{
		fake_store *src = fake_new("fake"), *dst = fake_new("quiet");
		rs_copy_options o4 = options(4, NULL);
		build_image(&im, &src->base, "solo", "amd64", 6, NULL, "v1");
		dst->fail_put_digest = im.layer_digests[3];
		dst->silent_put = true;
		rs_error_clear();
		assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "v1", &o4, NULL), RS_EIO);
		assert_string_equal(rs_error_last()->message,
		                    "quiet store: writing a blob failed: input/output error");
		image_dispose(&im);
		rs_store_free(&src->base);
		rs_store_free(&dst->base);
	}
}

/* A backend built for another table version is refused with a message, never called. */
static void test_wrong_ops_version(void **state)
{
	fake_store *src = fake_new("fake"), *dst = fake_new("future");
	rs_copy_result res;
	image im;
	rs_store probe = {NULL};
	(void)state;
	build_image(&im, &src->base, "solo", "amd64", 1, NULL, "v1");
	dst->ops.version = RS_STORE_OPS_VERSION + 1;
	fake_reset_counters(dst);
	memset(&res, 0x5a, sizeof(res)); /* garbage: rs_copy zeroes it before any check */
	rs_error_clear();
	assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "v1", NULL, &res), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "store backend \"future\" was built for "
	                                                 "store table version 2"));
	assert_int_equal(dst->log.count, 0);
	assert_null(res.digest);
	assert_null(res.blobs);
	assert_int_equal(res.blob_count, 0);
	rs_copy_result_dispose(&res);
	/* every generic call checks it too */
	{
		rs_descriptor d = {0};
		assert_int_equal(rs_store_blob_exists(&dst->base, &d), RS_EINVAL);
		assert_non_null(strstr(rs_error_last()->message, "checking for a blob: store "
		                                                 "backend \"future\""));
		assert_int_equal(dst->log.count, 0);
	}
	/* rs_store_init checks before anything is set */
	assert_int_equal(rs_store_init(&probe, &dst->ops), RS_EINVAL);
	assert_null(probe.ops);
	dst->ops.version = RS_STORE_OPS_VERSION;
	assert_int_equal(rs_store_init(&probe, &dst->ops), 0);
	assert_ptr_equal(probe.ops, &dst->ops);
	image_dispose(&im);
	rs_store_free(&src->base);
	rs_store_free(&dst->base);
}

static void test_index_children_first_shared_blob_once(void **state)
{
	fake_store *src = fake_new("fake"), *dst = fake_new("fake");
	rs_copy_options o = options(1, NULL);
	rs_copy_result res = {0};
	multi mu;
	const char *shared;
	long idx_put;
	(void)state;
	build_multi(&mu, &src->base, "multi");
	shared = mu.amd.layer_digests[2];
	assert_string_equal(shared, mu.arm.layer_digests[2]); /* same bytes, same digest */
	fake_reset_counters(src);

	assert_int_equal(rs_copy(&dst->base, "multi", &src->base, "multi", &o, &res), 0);

	/* three manifests: the children by digest, then the index under the tag, last */
	assert_int_equal(dst->manifest_put_calls, 3);
	idx_put = log_index(dst, "manifest_put", "multi", false);
	assert_int_equal(idx_put, (long)dst->log.count - 1);
	{
		const image *kids[2] = {&mu.amd, &mu.arm};
		for (size_t k = 0; k < 2; k++) {
			const image *im = kids[k];
			long child_put = log_index(dst, "manifest_put", im->manifest_digest, false);
			assert_true(child_put >= 0);
			assert_true(child_put < idx_put);
			/* each child after all of its blobs */
			assert_true(log_index(dst, "put", im->config_digest, true) < child_put);
			for (size_t i = 0; i < im->nlayers; i++) {
				long p = log_index(dst, "put", im->layer_digests[i], true);
				assert_true(p >= 0);
				assert_true(p < child_put);
			}
		}
	}
	/* the exact index bytes */
	{
		const mem_manifest *m = fake_find_manifest(dst, "multi");
		assert_int_equal(m->bytes.size, mu.index.size);
		assert_memory_equal(m->bytes.ptr, mu.index.ptr, mu.index.size);
		assert_string_equal(m->media_type, RS_MT_OCI_INDEX);
	}

	/* the shared layer moved once, listed once */
	{
		char entry[RS_DIGEST_MAX + 8];
		snprintf(entry, sizeof(entry), "put %s", shared);
		assert_int_equal(log_count(dst, entry), 1);
		snprintf(entry, sizeof(entry), "open %s", shared);
		assert_int_equal(log_count(src, entry), 1);
	}
	assert_int_equal(res.blob_count, 7); /* 2 configs + 2x2 own layers + 1 shared */
	assert_int_equal(dst->put_calls, 7);
	{
		int listed = 0;
		for (size_t i = 0; i < res.blob_count; i++)
			if (!strcmp(res.blobs[i].digest, shared))
				listed++;
		assert_int_equal(listed, 1);
	}
	assert_string_equal(res.digest, mu.index_digest);
	assert_string_equal(res.media_type, RS_MT_OCI_INDEX);

	rs_copy_result_dispose(&res);
	multi_dispose(&mu);
	rs_store_free(&src->base);
	rs_store_free(&dst->base);
}

static void test_platform_selects_one_child(void **state)
{
	fake_store *src = fake_new("fake"), *dst = fake_new("fake");
	rs_copy_options o = options(1, NULL);
	rs_copy_result res = {0};
	rs_platform *want = NULL;
	multi mu;
	(void)state;
	build_multi(&mu, &src->base, "multi");
	assert_int_equal(rs_platform_parse(&want, "linux/arm64"), 0);
	o.platform = want;

	assert_int_equal(rs_copy(&dst->base, "arm", &src->base, "multi", &o, &res), 0);
	/* only the arm64 manifest, put under the tag itself */
	assert_int_equal(dst->manifest_put_calls, 1);
	assert_string_equal(dst->log.items[dst->log.count - 1], "manifest_put arm");
	{
		const mem_manifest *m = fake_find_manifest(dst, "arm");
		assert_int_equal(m->bytes.size, mu.arm.manifest.size);
		assert_memory_equal(m->bytes.ptr, mu.arm.manifest.ptr, mu.arm.manifest.size);
		assert_string_equal(m->media_type, RS_MT_OCI_MANIFEST);
	}
	assert_string_equal(res.digest, mu.arm.manifest_digest);
	assert_string_equal(res.media_type, RS_MT_OCI_MANIFEST);
	assert_int_equal(res.blob_count, 4);
	assert_int_equal(dst->put_calls, 4);
	/* nothing of the amd64 image */
	assert_true(log_index(dst, "put", mu.amd.config_digest, false) < 0);
	assert_true(log_index(dst, "exists", mu.amd.layer_digests[0], false) < 0);
	assert_null(result_blob(&res, mu.amd.config_digest));
	rs_copy_result_dispose(&res);
	rs_platform_free(want);

	/* a platform the index lacks: not found, nothing written */
	fake_reset_counters(dst);
	assert_int_equal(rs_platform_parse(&want, "linux/s390x"), 0);
	o.platform = want;
	rs_error_clear();
	assert_int_equal(rs_copy(&dst->base, "s390x", &src->base, "multi", &o, &res), RS_ENOTFOUND);
	assert_error_code(RS_ENOTFOUND);
	assert_non_null(strstr(rs_error_last()->message, "linux/s390x"));
	assert_int_equal(dst->manifest_put_calls, 0);
	assert_int_equal(dst->put_calls, 0);
	rs_copy_result_dispose(&res);
	rs_platform_free(want);

	multi_dispose(&mu);
	rs_store_free(&src->base);
	rs_store_free(&dst->base);
}

static void test_cancel_during_transfer(void **state)
{
	fake_store *src = fake_new("fake"), *dst = fake_new("fake");
	recorder *rec = malloc(sizeof(*rec));
	rs_copy_options o = options(1, rec);
	rs_copy_result res = {0};
	image im;
	(void)state;
	recorder_init(rec);
	build_image(&im, &src->base, "solo", "amd64", 3, NULL, "v1");
	rec->cancel = true;
	rec->cancel_kind = RS_COPY_BLOB;
	rec->cancel_state = RS_BLOB_TRANSFERRING;
	rec->cancel_needs_bytes = true;

	rs_error_clear();
	assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "v1", &o, &res), RS_EUSER);
	assert_error_code(RS_EUSER);
	assert_true(rec->cancelled_at >= 0);
	assert_int_equal(dst->manifest_put_calls, 0);
	/* the blob being sent was abandoned, and no further blob was started */
	assert_int_equal(dst->put_calls, 1);
	assert_int_equal(dst->nblobs, 0);
	/* the callback is not called again once it asked to stop */
	assert_int_equal(rec->calls_after_cancel, 0);
	rs_copy_result_dispose(&res);

	image_dispose(&im);
	rs_store_free(&src->base);
	rs_store_free(&dst->base);
	free(rec);
}

static void test_cancel_while_checking_last_blob(void **state)
{
	/*
	 * The callback asks to stop when the last blob is being checked; that blob is already at
	 * the destination, so no transfer follows that could notice. The copy must still end
	 * with RS_EUSER and without writing the manifest (and so the tag).
	 */
	fake_store *src = fake_new("fake"), *dst = fake_new("fake");
	recorder *rec = malloc(sizeof(*rec));
	rs_copy_options o = options(1, rec);
	image im;
	int rc;
	(void)state;
	recorder_init(rec);
	build_image(&im, &src->base, "solo", "amd64", 2, NULL, "v1");
	for (size_t i = 0; i < src->nblobs; i++)
		fake_add_blob(dst, src->blobs[i].digest, src->blobs[i].data.ptr,
		              src->blobs[i].data.size);
	rec->cancel = true;
	rec->cancel_kind = RS_COPY_BLOB;
	rec->cancel_state = RS_BLOB_CHECKING;
	rec->cancel_digest = im.layer_digests[im.nlayers - 1];

	rs_error_clear();
	rc = rs_copy(&dst->base, "v1", &src->base, "v1", &o, NULL);
	assert_true(rec->cancelled_at >= 0);
	{
		rs_buf problems = RS_BUF_INIT;
		const rs_error *e = rs_error_last();
		if (rc != RS_EUSER)
			rs__buf_printf(&problems, "\n  rs_copy returned %s, expected RS_EUSER",
			               rs_error_name(rc));
		if (dst->manifest_put_calls != 0)
			rs__buf_printf(
			        &problems,
			        "\n  the manifest was written (tag \"v1\", %d call) although "
			        "the callback cancelled",
			        dst->manifest_put_calls);
		if (!e || e->code != RS_EUSER)
			rs__buf_printf(&problems, "\n  last error: %s",
			               e ? e->message : "none set");
		if (problems.size) {
			print_error("%s\n", problems.ptr);
			rs_buf_dispose(&problems);
			fail();
		}
	}

	image_dispose(&im);
	rs_store_free(&src->base);
	rs_store_free(&dst->base);
	free(rec);
}

static void test_cancel_on_child_manifest_event(void **state)
{
	/* stopping when the first child manifest is written: the index is not written */
	fake_store *src = fake_new("fake"), *dst = fake_new("fake");
	recorder *rec = malloc(sizeof(*rec));
	rs_copy_options o = options(1, rec);
	multi mu;
	int rc;
	(void)state;
	recorder_init(rec);
	build_multi(&mu, &src->base, "multi");
	rec->cancel = true;
	rec->cancel_kind = RS_COPY_MANIFEST;

	rs_error_clear();
	rc = rs_copy(&dst->base, "multi", &src->base, "multi", &o, NULL);
	assert_int_equal(rc, RS_EUSER);
	assert_int_equal(dst->manifest_put_calls, 1);
	assert_true(log_index(dst, "manifest_put", "multi", false) < 0);
	/* the arm64 child was not started */
	assert_true(log_index(dst, "exists", mu.arm.config_digest, false) < 0);
	/* and the caller is told why */
	assert_error_code(RS_EUSER);

	multi_dispose(&mu);
	rs_store_free(&src->base);
	rs_store_free(&dst->base);
	free(rec);
}

static void test_jobs_same_result_fake(void **state)
{
	fake_store *src = fake_new("fake");
	fake_store *dst1 = fake_new("oci"), *dst8 = fake_new("oci");
	rs_copy_options o1 = options(1, NULL), o8 = options(8, NULL);
	rs_copy_result r1 = {0}, r8 = {0};
	image im;
	(void)state;
	build_image(&im, &src->base, "wide", "amd64", 12, NULL, "v1");

	assert_int_equal(rs_copy(&dst1->base, "v1", &src->base, "v1", &o1, &r1), 0);
	assert_int_equal(rs_copy(&dst8->base, "v1", &src->base, "v1", &o8, &r8), 0);
	assert_int_equal(dst1->put_calls, 13);
	assert_int_equal(dst8->put_calls, 13);
	assert_int_equal(dst8->exists_calls, 13);
	assert_int_equal(dst8->manifest_put_calls, 1);
	assert_string_equal(dst8->log.items[dst8->log.count - 1], "manifest_put v1");
	assert_string_equal(r1.digest, r8.digest);
	assert_int_equal(r1.blob_count, r8.blob_count);
	assert_int_equal(r1.bytes_sent, r8.bytes_sent);
	for (size_t i = 0; i < r1.blob_count; i++) {
		assert_string_equal(r1.blobs[i].digest, r8.blobs[i].digest);
		assert_int_equal(r1.blobs[i].state, RS_BLOB_COPIED);
		assert_int_equal(r8.blobs[i].state, RS_BLOB_COPIED);
		assert_int_equal(r1.blobs[i].bytes_sent, r8.blobs[i].bytes_sent);
		{
			mem_blob *a = fake_find_blob(src, r8.blobs[i].digest);
			mem_blob *b = fake_find_blob(dst8, r8.blobs[i].digest);
			assert_non_null(b);
			assert_int_equal(a->data.size, b->data.size);
			assert_memory_equal(a->data.ptr, b->data.ptr, a->data.size);
		}
	}
	rs_copy_result_dispose(&r1);
	rs_copy_result_dispose(&r8);
	image_dispose(&im);
	rs_store_free(&src->base);
	rs_store_free(&dst1->base);
	rs_store_free(&dst8->base);
}

static void test_foreign_layer_not_moved(void **state)
{
	/* Windows base layers: referenced, never pushed (docker does the same) */
	fake_store *src = fake_new("fake"), *dst = fake_new("fake");
	rs_copy_options o = options(1, NULL);
	rs_copy_result res = {0};
	rs_descriptor config = {0}, layers[2];
	rs_buf man = RS_BUF_INIT;
	const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"windows\"}";
	char *cfg_d, *own_d;
	char foreign_d[RS_DIGEST_MAX];
	(void)state;
	memset(layers, 0, sizeof(layers));
	cfg_d = test_put_blob_dup(&src->base, cfg, strlen(cfg));
	own_d = test_put_blob_dup(&src->base, "own layer bytes", 15);
	rs__sha256_digest(foreign_d, "not in any store", 16);
	config.media_type = (char *)RS_MT_DOCKER_CONFIG;
	config.digest = cfg_d;
	config.size = (int64_t)strlen(cfg);
	layers[0].media_type = (char *)RS_MT_DOCKER_LAYER_FOREIGN;
	layers[0].digest = foreign_d;
	layers[0].size = 16;
	layers[1].media_type = (char *)RS_MT_DOCKER_LAYER_GZIP;
	layers[1].digest = own_d;
	layers[1].size = 15;
	assert_int_equal(rs_manifest_build(&man, RS_MT_DOCKER_MANIFEST, &config, layers, 2, NULL),
	                 0);
	assert_int_equal(
	        rs_store_manifest_put(&src->base, "win", man.ptr, man.size, RS_MT_DOCKER_MANIFEST),
	        0);
	fake_reset_counters(src);

	assert_int_equal(rs_copy(&dst->base, "win", &src->base, "win", &o, &res), 0);
	assert_int_equal(dst->put_calls, 2);
	assert_true(log_index(dst, "exists", foreign_d, false) < 0);
	assert_true(log_index(dst, "put", foreign_d, false) < 0);
	assert_true(log_index(src, "open", foreign_d, false) < 0);
	assert_int_equal(res.blob_count, 3);
	assert_int_equal(result_blob(&res, foreign_d)->state, RS_BLOB_EXISTS);
	assert_int_equal(result_blob(&res, foreign_d)->bytes_sent, 0);
	assert_int_equal(result_blob(&res, own_d)->state, RS_BLOB_COPIED);
	assert_int_equal(dst->manifest_put_calls, 1);

	rs_copy_result_dispose(&res);
	rs_buf_dispose(&man);
	free(cfg_d);
	free(own_d);
	rs_store_free(&src->base);
	rs_store_free(&dst->base);
}

static void test_options_checked(void **state)
{
	fake_store *src = fake_new("fake"), *dst = fake_new("fake");
	rs_copy_options o = options(1, NULL);
	image im;
	(void)state;
	build_image(&im, &src->base, "solo", "amd64", 1, NULL, "v1");
	fake_reset_counters(src);
	o.version = 99;
	rs_error_clear();
	assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "v1", &o, NULL), RS_EINVAL);
	assert_error_code(RS_EINVAL);
	assert_int_equal(src->log.count, 0);
	assert_int_equal(dst->log.count, 0);

	/* a missing source image: not found, nothing written */
	o = options(1, NULL);
	rs_error_clear();
	assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "nope", &o, NULL), RS_ENOTFOUND);
	assert_int_equal(dst->log.count, 0);

	/* NULL options mean the defaults; NULL result is fine */
	assert_int_equal(rs_copy(&dst->base, "v1", &src->base, "v1", NULL, NULL), 0);
	assert_int_equal(dst->manifest_put_calls, 1);

	image_dispose(&im);
	rs_store_free(&src->base);
	rs_store_free(&dst->base);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(rs_blob_state_name(RS_BLOB_WAITING), "waiting");
	assert_string_equal(rs_blob_state_name(RS_BLOB_CHECKING), "checking");
	assert_string_equal(rs_blob_state_name(RS_BLOB_TRANSFERRING), "transferring");
	assert_string_equal(rs_blob_state_name(RS_BLOB_EXISTS), "exists");
	assert_string_equal(rs_blob_state_name(RS_BLOB_MOUNTED), "mounted");
	assert_string_equal(rs_blob_state_name(RS_BLOB_COPIED), "copied");
	assert_string_equal(rs_blob_state_name(RS_BLOB_FAILED), "failed");
	assert_string_equal(rs_blob_state_name((rs_blob_state)42), "unknown");
}

/* ==== tests with real OCI layout stores ================================================== */

typedef struct {
	char root[64];
} tmpdir;

static int setup_tmp(void **state)
{
	tmpdir *t = calloc(1, sizeof(*t));
	if (test_tmpdir(t->root, sizeof(t->root), "copy") < 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown_tmp(void **state)
{
	tmpdir *t = *state;
	rs__rmtree(t->root);
	free(t);
	return 0;
}

static char *sub(const tmpdir *t, const char *name)
{
	rs_buf b = RS_BUF_INIT;
	rs__buf_printf(&b, "%s/%s", t->root, name);
	return rs__buf_detach(&b);
}

static void assert_same_blob(rs_store *a, rs_store *b, const char *digest, int64_t size)
{
	rs_descriptor d = {0};
	rs_reader *ra = NULL, *rb = NULL;
	char ba[4096], bb[4096];
	long long na, nb;
	d.digest = (char *)digest;
	d.size = size;
	assert_int_equal(rs_store_blob_exists(b, &d), 0);
	assert_int_equal(rs_store_blob_open(&ra, a, &d), 0);
	assert_int_equal(rs_store_blob_open(&rb, b, &d), 0);
	do {
		na = rs_reader_read(ra, ba, sizeof(ba));
		nb = 0;
		while (nb < na) {
			long long n = rs_reader_read(rb, bb + nb, (size_t)(na - nb));
			assert_true(n > 0);
			nb += n;
		}
		assert_true(na >= 0);
		assert_memory_equal(ba, bb, (size_t)na);
	} while (na > 0);
	assert_int_equal(rs_reader_read(rb, bb, sizeof(bb)), 0);
	rs_reader_free(ra);
	rs_reader_free(rb);
}

static void test_oci_layout_to_oci_layout(void **state)
{
	tmpdir *t = *state;
	char *sdir = sub(t, "src"), *ddir = sub(t, "dst");
	rs_store *src = NULL, *dst = NULL;
	rs_copy_options o = options(4, NULL);
	rs_copy_result res = {0};
	rs_buf body = RS_BUF_INIT;
	char *mt = NULL, *dg = NULL;
	image im;

	assert_int_equal(rs_store_open_oci_layout(&src, sdir, RS_STORE_WRITE), 0);
	build_image(&im, src, "layout", "amd64", 3, NULL, "v1");
	assert_int_equal(rs_store_commit(src), 0);
	rs_store_free(src);

	assert_int_equal(rs_store_open_oci_layout(&src, sdir, RS_STORE_READ), 0);
	assert_int_equal(rs_store_open_oci_layout(&dst, ddir, RS_STORE_WRITE), 0);
	assert_int_equal(rs_copy(dst, "copied", src, "v1", &o, &res), 0);
	assert_int_equal(rs_store_commit(dst), 0);
	assert_string_equal(res.digest, im.manifest_digest);
	assert_int_equal(res.blob_count, 4);
	for (size_t i = 0; i < res.blob_count; i++)
		assert_int_equal(res.blobs[i].state, RS_BLOB_COPIED);
	rs_copy_result_dispose(&res);
	rs_store_free(dst);

	/* read back: the tag names the same bytes, every blob is there and identical */
	assert_int_equal(rs_store_open_oci_layout(&dst, ddir, RS_STORE_READ), 0);
	assert_int_equal(rs_store_manifest_get(dst, "copied", &body, &mt, &dg), 0);
	assert_int_equal(body.size, im.manifest.size);
	assert_memory_equal(body.ptr, im.manifest.ptr, body.size);
	assert_string_equal(dg, im.manifest_digest);
	assert_string_equal(mt, RS_MT_OCI_MANIFEST);
	assert_same_blob(src, dst, im.config_digest, -1);
	for (size_t i = 0; i < im.nlayers; i++)
		assert_same_blob(src, dst, im.layer_digests[i], im.layer_sizes[i]);
	rs_store_free(dst);

	/* again into the same layout: everything exists, nothing is sent */
	assert_int_equal(rs_store_open_oci_layout(&dst, ddir, RS_STORE_WRITE), 0);
	assert_int_equal(rs_copy(dst, "again", src, "v1", &o, &res), 0);
	assert_int_equal(rs_store_commit(dst), 0);
	assert_int_equal(res.bytes_sent, 0);
	for (size_t i = 0; i < res.blob_count; i++)
		assert_int_equal(res.blobs[i].state, RS_BLOB_EXISTS);
	rs_copy_result_dispose(&res);

	rs_buf_dispose(&body);
	free(mt);
	free(dg);
	image_dispose(&im);
	rs_store_free(src);
	rs_store_free(dst);
	free(sdir);
	free(ddir);
}

static void test_oci_layout_index_and_jobs(void **state)
{
	tmpdir *t = *state;
	char *sdir = sub(t, "src"), *d1 = sub(t, "jobs1"), *d8 = sub(t, "jobs8");
	rs_store *src = NULL, *dst1 = NULL, *dst8 = NULL;
	rs_copy_options o1 = options(1, NULL), o8 = options(8, NULL);
	rs_copy_result r1 = {0}, r8 = {0};
	rs_buf body = RS_BUF_INIT;
	char *mt = NULL, *dg = NULL;
	multi mu;

	assert_int_equal(rs_store_open_oci_layout(&src, sdir, RS_STORE_WRITE), 0);
	build_multi(&mu, src, "multi");
	assert_int_equal(rs_store_commit(src), 0);

	assert_int_equal(rs_store_open_oci_layout(&dst1, d1, RS_STORE_WRITE), 0);
	assert_int_equal(rs_store_open_oci_layout(&dst8, d8, RS_STORE_WRITE), 0);
	assert_int_equal(rs_copy(dst1, "multi", src, "multi", &o1, &r1), 0);
	assert_int_equal(rs_copy(dst8, "multi", src, "multi", &o8, &r8), 0);
	assert_int_equal(rs_store_commit(dst1), 0);
	assert_int_equal(rs_store_commit(dst8), 0);

	/* the same result either way */
	assert_string_equal(r1.digest, mu.index_digest);
	assert_string_equal(r8.digest, mu.index_digest);
	assert_string_equal(r8.media_type, RS_MT_OCI_INDEX);
	assert_int_equal(r1.blob_count, 7);
	assert_int_equal(r8.blob_count, 7);
	assert_int_equal(r1.bytes_sent, r8.bytes_sent);
	for (size_t i = 0; i < r1.blob_count; i++) {
		const rs_copy_blob *b = result_blob(&r8, r1.blobs[i].digest);
		assert_non_null(b);
		assert_int_equal(b->state, r1.blobs[i].state);
		assert_int_equal(b->state, RS_BLOB_COPIED);
		assert_int_equal(b->bytes_sent, r1.blobs[i].bytes_sent);
		assert_int_equal(b->size, r1.blobs[i].size);
	}
	rs_store_free(dst1);
	rs_store_free(dst8);

	/* both destinations hold the index and its children */
	{
		char *dirs[2] = {d1, d8};
		for (size_t k = 0; k < 2; k++) {
			rs_store *d = NULL;
			assert_int_equal(rs_store_open_oci_layout(&d, dirs[k], RS_STORE_READ), 0);
			rs__buf_clear(&body);
			free(mt);
			free(dg);
			assert_int_equal(rs_store_manifest_get(d, "multi", &body, &mt, &dg), 0);
			assert_string_equal(dg, mu.index_digest);
			assert_int_equal(body.size, mu.index.size);
			assert_memory_equal(body.ptr, mu.index.ptr, body.size);
			rs__buf_clear(&body);
			free(mt);
			free(dg);
			assert_int_equal(
			        rs_store_manifest_get(d, mu.arm.manifest_digest, &body, &mt, &dg),
			        0);
			assert_int_equal(body.size, mu.arm.manifest.size);
			assert_same_blob(src, d, mu.arm.config_digest, -1);
			assert_same_blob(src, d, mu.amd.layer_digests[2], mu.amd.layer_sizes[2]);
			rs_store_free(d);
		}
	}

	rs_copy_result_dispose(&r1);
	rs_copy_result_dispose(&r8);
	rs_buf_dispose(&body);
	free(mt);
	free(dg);
	multi_dispose(&mu);
	rs_store_free(src);
	free(sdir);
	free(d1);
	free(d8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fresh_copy_states_and_events),
	        cmocka_unit_test(test_existing_blobs_not_sent),
	        cmocka_unit_test(test_digest_mismatch_writes_no_manifest),
	        cmocka_unit_test(test_put_failure_writes_no_manifest),
	        cmocka_unit_test(test_silent_backend),
	        cmocka_unit_test(test_wrong_ops_version),
	        cmocka_unit_test(test_index_children_first_shared_blob_once),
	        cmocka_unit_test(test_platform_selects_one_child),
	        cmocka_unit_test(test_cancel_during_transfer),
	        cmocka_unit_test(test_cancel_while_checking_last_blob),
	        cmocka_unit_test(test_cancel_on_child_manifest_event),
	        cmocka_unit_test(test_jobs_same_result_fake),
	        cmocka_unit_test(test_foreign_layer_not_moved),
	        cmocka_unit_test(test_options_checked),
	        cmocka_unit_test(test_state_names),
	        cmocka_unit_test_setup_teardown(test_oci_layout_to_oci_layout, setup_tmp,
	                                        teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_oci_layout_index_and_jobs, setup_tmp,
	                                        teardown_tmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
