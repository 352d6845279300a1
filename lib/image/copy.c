/* The copy engine (see include/regship/copy.h): written once against the store table. */
#include "regship/copy.h"
#include "regship/client.h"
#include "regship/referrers.h"
#include "regship/store.h"

#include "image/blobcache.h"
#include "image/convert.h"
#include "image/copy_share.h"
#include "image/referrers.h"
#include "store/docker_archive.h"
#include "store/store.h"
#include "util/digest.h"
#include "util/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RS_COPY_MAX_JOBS 64
#define RS_COPY_MAX_DEPTH 4

typedef struct engine {
	rs_store *dst, *src;
	const rs_copy_options *opts;
	const rs_ref *dst_reg, *src_reg;
	char *cache_dir;
	pthread_mutex_t lock;
	rs_copy_result *result;
	bool cancelled;
	bool to_oci; /* Docker manifests become OCI ones (image/convert.c) */
	rs__copy_share *share; /* rs_copy_tags(): what the batch's images share, or NULL */
} engine;

typedef struct blob_job {
	engine *e;
	const rs_descriptor *desc;
	size_t result_index;
	int error;
	rs_error error_detail;
} blob_job;

typedef struct blob_batch {
	blob_job *jobs;
	size_t count, next;
	pthread_mutex_t lock;
} blob_batch;

/* A reader that stops with RS_EUSER ("interrupted") once rs_cancel() was called: wrapped
 * around every blob a copy moves, so a download or an upload ends at the next chunk. */
typedef struct cancel_reader {
	rs_reader base;
	rs_reader *inner; /* owned */
} cancel_reader;

static long long cancel_read(rs_reader *r, void *buf, size_t len)
{
	cancel_reader *c = (cancel_reader *)r;
	int error;
	if ((error = rs__cancel_check()) < 0)
		return error;
	return rs_reader_read(c->inner, buf, len);
}

static int cancel_rewind(rs_reader *r)
{
	cancel_reader *c = (cancel_reader *)r;
	int error;
	if ((error = rs__cancel_check()) < 0)
		return error;
	return rs_reader_rewind(c->inner);
}

static void cancel_free(rs_reader *r)
{
	cancel_reader *c = (cancel_reader *)r;
	rs_reader_free(c->inner);
	free(c);
}

static rs_reader *cancel_reader_new(rs_reader *inner)
{
	cancel_reader *c = rs__calloc(1, sizeof(*c));
	if (!c)
		return NULL; /* out of memory: inner stays the caller's */
	c->base.read = cancel_read;
	c->base.rewind = inner->rewind ? cancel_rewind : NULL;
	c->base.free = cancel_free;
	c->base.size = inner->size;
	c->base.vouched_digest = inner->vouched_digest;
	c->inner = inner;
	return &c->base;
}

const char *rs_blob_state_name(rs_blob_state s)
{
	switch (s) {
	case RS_BLOB_WAITING:
		return "waiting";
	case RS_BLOB_CHECKING:
		return "checking";
	case RS_BLOB_TRANSFERRING:
		return "transferring";
	case RS_BLOB_EXISTS:
		return "exists";
	case RS_BLOB_MOUNTED:
		return "mounted";
	case RS_BLOB_COPIED:
		return "copied";
	case RS_BLOB_FAILED:
		return "failed";
	}
	return "unknown";
}

void rs_copy_result_dispose(rs_copy_result *r)
{
	if (!r)
		return;
	free(r->digest);
	free(r->media_type);
	for (size_t i = 0; i < r->blob_count; i++) {
		free(r->blobs[i].digest);
		free(r->blobs[i].media_type);
		free(r->blobs[i].mounted_from);
	}
	free(r->blobs);
	memset(r, 0, sizeof(*r));
}

/* Emit an event under the engine lock; a non-zero callback return cancels. */
static int emit(engine *e, const rs_copy_event *ev)
{
	int rc = 0;
	bool interrupted = rs_cancelled() != 0;
	pthread_mutex_lock(&e->lock);
	if (interrupted)
		e->cancelled = true;
	else if (!e->cancelled && e->opts->callback && e->opts->callback(ev, e->opts->payload))
		e->cancelled = true;
	rc = e->cancelled ? RS_EUSER : 0;
	pthread_mutex_unlock(&e->lock);
	if (rc)
		rs__error_set(RS_EUSER, "%s", rs_cancelled() ? "interrupted" : "copy cancelled");
	return rc;
}

static bool cancelled(engine *e)
{
	bool c;
	if (rs_cancelled())
		return true;
	pthread_mutex_lock(&e->lock);
	c = e->cancelled;
	pthread_mutex_unlock(&e->lock);
	return c;
}

static int blob_event(engine *e, const rs_descriptor *d, rs_blob_state state, uint64_t done,
                      const char *from)
{
	rs_copy_event ev = {0};
	ev.kind = RS_COPY_BLOB;
	ev.digest = d->digest;
	ev.media_type = d->media_type;
	ev.size = d->size;
	ev.state = state;
	ev.bytes_done = done;
	ev.mounted_from = from;
	return emit(e, &ev);
}

/* The result slot of a blob; -1 (and *seen) when an earlier manifest already moved it;
 * SIZE_MAX (RS_ENOMEM set, *seen false) when out of memory. */
static size_t result_slot(engine *e, const rs_descriptor *d, bool *seen)
{
	rs_copy_result *r = e->result;
	size_t i;
	*seen = false;
	pthread_mutex_lock(&e->lock);
	for (i = 0; i < r->blob_count; i++)
		if (!strcmp(r->blobs[i].digest, d->digest)) {
			*seen = true;
			break;
		}
	if (!*seen) {
		rs_copy_blob *blobs =
		        rs__realloc(r->blobs, (r->blob_count + 1) * sizeof(*r->blobs));
		if (!blobs) {
			pthread_mutex_unlock(&e->lock);
			rs__oom();
			return SIZE_MAX;
		}
		r->blobs = blobs;
		memset(&r->blobs[i], 0, sizeof(r->blobs[i]));
		r->blobs[i].digest = rs__strdup(d->digest);
		r->blobs[i].media_type = rs__strdup(d->media_type);
		if (!r->blobs[i].digest || (d->media_type && !r->blobs[i].media_type)) {
			free(r->blobs[i].digest);
			free(r->blobs[i].media_type);
			pthread_mutex_unlock(&e->lock);
			rs__oom();
			return SIZE_MAX;
		}
		r->blobs[i].size = d->size;
		r->blob_count++;
	}
	pthread_mutex_unlock(&e->lock);
	return i;
}

static void set_state(engine *e, size_t slot, rs_blob_state s, uint64_t sent, const char *from)
{
	pthread_mutex_lock(&e->lock);
	e->result->blobs[slot].state = s;
	e->result->blobs[slot].bytes_sent = sent;
	if (from) /* informative: out of memory leaves it NULL */
		e->result->blobs[slot].mounted_from = rs__strdup(from);
	e->result->bytes_sent += sent;
	pthread_mutex_unlock(&e->lock);
}

typedef struct progress_ctx {
	engine *e;
	const rs_descriptor *d;
} progress_ctx;

static int on_progress(uint64_t done, void *payload)
{
	progress_ctx *p = payload;
	rs_copy_event ev = {0};
	ev.kind = RS_COPY_BLOB;
	ev.digest = p->d->digest;
	ev.media_type = p->d->media_type;
	ev.size = p->d->size;
	ev.state = RS_BLOB_TRANSFERRING;
	ev.bytes_done = done;
	return emit(p->e, &ev);
}

/* 0 or RS_ENOMEM */
static int mount_candidates(engine *e, const rs_descriptor *d, rs_strlist *out)
{
	if (!e->dst_reg)
		return 0;
	if (e->src_reg && !strcmp(e->src_reg->domain, e->dst_reg->domain) &&
	    strcmp(e->src_reg->path, e->dst_reg->path) &&
	    rs__strlist_push(out, e->src_reg->path) < 0)
		return RS_ENOMEM;
	for (size_t i = 0; i < e->opts->mount_from_count; i++)
		if (strcmp(e->opts->mount_from[i], e->dst_reg->path) &&
		    !rs__strlist_contains(out, e->opts->mount_from[i]) &&
		    rs__strlist_push(out, e->opts->mount_from[i]) < 0)
			return RS_ENOMEM;
	if (e->cache_dir) {
		rs_strlist cached = RS_STRLIST_INIT;
		rs__blobcache_lookup(&cached, e->cache_dir, d->digest, e->dst_reg->domain,
		                     e->dst_reg->path);
		/* most recent first, and only a few: each failed mount costs a request */
		for (size_t i = cached.count, n = 0; i > 0 && n < 3; i--)
			if (!rs__strlist_contains(out, cached.items[i - 1])) {
				if (rs__strlist_push(out, cached.items[i - 1]) < 0) {
					rs__strlist_dispose(&cached);
					return RS_ENOMEM;
				}
				n++;
			}
		rs__strlist_dispose(&cached);
	}
	return 0;
}

static int copy_blob(engine *e, const rs_descriptor *d, size_t slot)
{
	rs_reader *raw = NULL, *verified = NULL;
	rs_strlist mounts = RS_STRLIST_INIT;
	progress_ctx pc = {e, d};
	uint64_t sent = 0;
	char got[RS_DIGEST_MAX];
	int error;

	if ((error = rs__digest_check(d->digest)) < 0)
		return error;
	if ((error = blob_event(e, d, RS_BLOB_CHECKING, 0, NULL)) < 0)
		goto done;
	if (rs__docker_archive_pushed(e->src, e->dst, d->digest)) {
		/* compressed straight into its upload when the manifest was made */
		sent = d->size > 0 ? (uint64_t)d->size : 0;
		goto copied;
	}
	error = rs_store_blob_exists(e->dst, d);
	if (error == 0) {
		set_state(e, slot, RS_BLOB_EXISTS, 0, NULL);
		blob_event(e, d, RS_BLOB_EXISTS, 0, NULL);
		goto record;
	}
	if (error != RS_ENOTFOUND)
		goto done;
	rs_error_clear();
	if ((error = mount_candidates(e, d, &mounts)) < 0)
		goto done;
	for (size_t i = 0; i < mounts.count; i++) {
		error = rs_store_blob_mount(e->dst, d, mounts.items[i]);
		if (error == 0) {
			set_state(e, slot, RS_BLOB_MOUNTED, 0, mounts.items[i]);
			blob_event(e, d, RS_BLOB_MOUNTED, 0, mounts.items[i]);
			goto record;
		}
		if (error != RS_ENOTFOUND && error != RS_EUNSUPPORTED)
			goto done;
		rs_error_clear();
	}
	if ((error = blob_event(e, d, RS_BLOB_TRANSFERRING, 0, NULL)) < 0)
		goto done;
	if ((error = rs_store_blob_open(&raw, e->src, d)) < 0)
		goto done;
	{
		rs_reader *c = cancel_reader_new(raw);
		if (!c) {
			error = rs__oom();
			goto done;
		}
		raw = c;
	}
	if (raw->vouched_digest && !strcmp(raw->vouched_digest, d->digest) &&
	    raw->size == d->size) {
		/* the source computed this digest over these very bytes as it wrote them */
		if ((error = rs_store_blob_put(e->dst, d, raw, on_progress, &pc)) < 0)
			goto done;
		sent = (uint64_t)d->size;
		goto copied;
	}
	if ((error = rs__reader_verify(&verified, raw, d->digest, d->size, true)) < 0)
		goto done;
	raw = NULL;
	if ((error = rs_store_blob_put(e->dst, d, verified, on_progress, &pc)) < 0)
		goto done;
	if ((error = rs__reader_verify_result(verified, got, &sent)) < 0) {
		/* the destination stopped reading early; it must have verified by itself */
		rs_error_clear();
		error = 0;
		sent = d->size > 0 ? (uint64_t)d->size : 0;
	}
copied:
	set_state(e, slot, RS_BLOB_COPIED, sent, NULL);
	blob_event(e, d, RS_BLOB_COPIED, sent, NULL);
record:
	if (e->dst_reg && e->cache_dir)
		rs__blobcache_record(e->cache_dir, d->digest, e->dst_reg->domain, e->dst_reg->path);
done:
	if (error < 0) {
		set_state(e, slot, RS_BLOB_FAILED, 0, NULL);
		if (error != RS_EUSER) {
			rs_error saved;
			if (!rs_error_is_set()) /* whoever failed said nothing: name the blob */
				rs__error_set(error, "blob %s: %s", d->digest, rs_strerror(error));
			saved = *rs_error_last();
			blob_event(e, d, RS_BLOB_FAILED, 0, NULL);
			rs__error_set_http(saved.code, saved.http_status, saved.registry_code, "%s",
			                   saved.message);
		}
	}
	rs_reader_free(verified);
	rs_reader_free(raw);
	rs__strlist_dispose(&mounts);
	return error;
}

/* Bytes corrupted on the way from a registry are worth fetching again. */
static int copy_blob_attempts(engine *e, const rs_descriptor *d, size_t slot)
{
	int limit = e->opts->retries < 0 ? 2 : e->opts->retries, error;
	for (int attempt = 0;; attempt++) {
		error = copy_blob(e, d, slot);
		if (error == 0 || attempt >= limit)
			return error;
		/* connection trouble was already retried below (requests, downloads, uploads);
		 * what is left is bytes that arrived corrupted */
		if (!(error == RS_EDIGEST && e->src_reg))
			return error;
		pthread_mutex_lock(&e->lock);
		if (e->cancelled) {
			pthread_mutex_unlock(&e->lock);
			return error;
		}
		pthread_mutex_unlock(&e->lock);
		rs_error_clear();
	}
}

/* In a batch (rs_copy_tags), a blob another image moved, or is moving, is not moved again. */
static int copy_blob_retrying(engine *e, const rs_descriptor *d, size_t slot)
{
	int error;
	if (!e->share)
		return copy_blob_attempts(e, d, slot);
	if (rs__share_claim(e->share, d->digest)) {
		set_state(e, slot, RS_BLOB_EXISTS, 0, NULL);
		return blob_event(e, d, RS_BLOB_EXISTS, 0, NULL);
	}
	error = copy_blob_attempts(e, d, slot);
	rs__share_release(e->share, d->digest, error == 0);
	return error;
}

static void *worker(void *arg)
{
	blob_batch *b = arg;
	for (;;) {
		blob_job *j;
		pthread_mutex_lock(&b->lock);
		j = b->next < b->count ? &b->jobs[b->next++] : NULL;
		pthread_mutex_unlock(&b->lock);
		if (!j)
			break;
		pthread_mutex_lock(&j->e->lock);
		if (j->e->cancelled || rs_cancelled()) {
			pthread_mutex_unlock(&j->e->lock);
			j->error = rs__error_set(RS_EUSER, "%s",
			                         rs_cancelled() ? "interrupted" : "cancelled");
			j->error_detail = *rs_error_last();
			continue;
		}
		pthread_mutex_unlock(&j->e->lock);
		j->error = copy_blob_retrying(j->e, j->desc, j->result_index);
		if (j->error < 0) {
			if (!rs_error_is_set())
				rs__error_set(j->error, "%s", rs_strerror(j->error));
			j->error_detail = *rs_error_last();
			/* stop handing out work: the manifest will not be written anyway */
			pthread_mutex_lock(&b->lock);
			b->next = b->count;
			pthread_mutex_unlock(&b->lock);
		}
	}
	return NULL;
}

static unsigned int jobs_for(const engine *e)
{
	unsigned int jobs = e->opts->jobs ? e->opts->jobs : 4;
	const char *scheme = rs_store_scheme(e->dst);
	if (jobs > RS_COPY_MAX_JOBS)
		jobs = RS_COPY_MAX_JOBS;
	/* archive writers collect blobs in one place: feed them one at a time */
	if (scheme && strcmp(scheme, "registry") && strcmp(scheme, "oci"))
		jobs = 1;
	return jobs;
}

static int copy_blobs(engine *e, const rs_manifest *m)
{
	size_t n = rs_manifest_blob_count(m);
	blob_batch b = {0};
	pthread_t threads[RS_COPY_MAX_JOBS];
	unsigned int nthreads = jobs_for(e), started = 0, extra = 0;
	int error = 0;

	if (!(b.jobs = rs__calloc(n ? n : 1, sizeof(*b.jobs))))
		return rs__oom();
	pthread_mutex_init(&b.lock, NULL);
	for (size_t i = 0; i < n; i++) {
		const rs_descriptor *d = rs_manifest_blob(m, i);
		bool seen;
		size_t slot = result_slot(e, d, &seen);
		if (slot == SIZE_MAX) {
			error = RS_ENOMEM;
			goto done;
		}
		if (seen)
			continue; /* moved for an earlier manifest of this copy */
		if (rs_mediatype_is_foreign(d->media_type)) {
			/* foreign / non-distributable layers are not pushed (as docker does) */
			e->result->blobs[slot].state = RS_BLOB_EXISTS;
			continue;
		}
		b.jobs[b.count].e = e;
		b.jobs[b.count].desc = d;
		b.jobs[b.count].result_index = slot;
		b.count++;
	}
	/* a local source must hold everything its manifest names: check before anything moves,
	 * so a broken layout or archive uploads nothing */
	if (!e->src_reg) {
		for (size_t i = 0; i < b.count; i++) {
			int rc = rs_store_blob_exists(e->src, b.jobs[i].desc);
			if (rc == RS_ENOTFOUND) {
				/* say where it was looked for (the store's own message) */
				const rs_error *why = rs_error_last();
				char where[sizeof(why->message)];
				snprintf(where, sizeof(where), "%s",
				         why && why->message[0] ? why->message : "it is missing");
				rc = rs__error_set(RS_EFORMAT,
				                   "the source's manifest names blob %s, but %s",
				                   b.jobs[i].desc->digest, where);
			}
			if (rc < 0) {
				error = rc;
				goto done;
			}
		}
	}
	if (nthreads > b.count)
		nthreads = (unsigned int)b.count;
	/* in a batch this image holds one lane: more threads only on lanes free now */
	if (e->share && nthreads > 1)
		nthreads = 1 + (extra = rs__share_lanes_take(e->share, nthreads - 1));
	if (nthreads <= 1) {
		worker(&b);
	} else {
		for (; started < nthreads; started++)
			if (pthread_create(&threads[started], NULL, worker, &b))
				break;
		if (!started)
			worker(&b);
		for (unsigned int i = 0; i < started; i++)
			pthread_join(threads[i], NULL);
	}
	if (extra)
		rs__share_lanes_give(e->share, extra);
	for (size_t i = 0; i < b.count; i++) {
		if (b.jobs[i].error < 0 && (error == 0 || error == RS_EUSER)) {
			error = b.jobs[i].error;
			rs__error_set_http(b.jobs[i].error_detail.code,
			                   b.jobs[i].error_detail.http_status,
			                   b.jobs[i].error_detail.registry_code, "%s",
			                   b.jobs[i].error_detail.message);
		}
	}
done:
	pthread_mutex_destroy(&b.lock);
	free(b.jobs);
	return error;
}

static int put_manifest(engine *e, const char *reference, const rs_manifest *m)
{
	size_t len;
	const void *bytes = rs_manifest_bytes(m, &len);
	rs_copy_event ev = {0};
	int error = rs_store_manifest_put(e->dst, reference ? reference : rs_manifest_digest(m),
	                                  bytes, len, rs_manifest_media_type(m));
	if (error < 0)
		return error;
	ev.kind = RS_COPY_MANIFEST;
	ev.digest = rs_manifest_digest(m);
	ev.media_type = rs_manifest_media_type(m);
	ev.size = (int64_t)len;
	ev.reference = reference ? reference : ev.digest;
	return emit(e, &ev);
}

/*
 * Before anything moves for the manifest m that goes under the tag dst_reference of a registry:
 * where does that tag point now? At m: *already (nothing to write). Elsewhere, with
 * no_clobber: RS_EEXISTS naming the tag and both digests. Nowhere, or elsewhere without
 * no_clobber: 0, the copy goes on.
 */
static int tag_check(engine *e, const char *dst_reference, const rs_manifest *m, bool *already)
{
	rs_client *client = rs__store_registry_client(e->dst);
	const char *want = rs_manifest_digest(m);
	rs_ref *ref = NULL;
	char *now = NULL;
	int error;

	*already = false;
	/* by digest (as the registry store reads "sha...:..."): nothing to clobber */
	if (!client || !e->dst_reg || !dst_reference || e->to_oci || strchr(dst_reference, ':'))
		return 0;
	if ((error = rs_ref_with_tag(&ref, e->dst_reg, dst_reference)) < 0)
		return error;
	error = rs_registry_manifest_resolve(client, ref, &now, NULL, NULL);
	if (error == RS_ENOTFOUND ||
	    (error < 0 && error != RS_EUSER && !e->opts->no_clobber && !rs_cancelled())) {
		/* not there; or not readable (the PUT will say what is wrong, if anything) */
		rs_error_clear();
		error = 0;
	} else if (error == 0 && !strcmp(now, want)) {
		*already = true;
	} else if (error == 0 && e->opts->no_clobber) {
		char *name = rs_ref_format(ref);
		error = rs__error_set(RS_EEXISTS,
		                      "%s exists and points at %s, not %s; not overwritten "
		                      "(--no-clobber)",
		                      name ? name : dst_reference, now, want);
		free(name);
	}
	free(now);
	rs_ref_free(ref);
	return error;
}

static int copy_manifest(engine *e, const char *src_reference, const char *expected_digest,
                         const char *dst_reference, int depth, rs_manifest **top)
{
	rs_buf body = RS_BUF_INIT;
	char *mt = NULL, *digest = NULL;
	rs_manifest *m = NULL;
	bool claimed = false;
	int error;

	if ((error = rs__cancel_check()) < 0)
		goto done;
	/* in a batch, an index child (put by digest) another image put is not copied again */
	if (e->share && expected_digest && !dst_reference && !top) {
		if (rs__share_claim(e->share, expected_digest))
			return 0;
		claimed = true;
	}
	if (depth > RS_COPY_MAX_DEPTH) {
		error = rs__error_set(RS_EFORMAT, "indexes nested deeper than %d levels",
		                      RS_COPY_MAX_DEPTH);
		goto done;
	}
	if ((error = rs_store_manifest_get(e->src, src_reference, &body, &mt, &digest)) < 0)
		goto done;
	if ((error = rs_manifest_parse(&m, body.ptr, body.size, mt)) < 0) {
		rs__error_prefix("manifest %s", src_reference ? src_reference : "of the source");
		goto done;
	}
	if (expected_digest && (error = rs_manifest_verify(m, expected_digest)) < 0)
		goto done;
	if (dst_reference && !(rs_manifest_is_index(m) && e->opts->platform)) {
		bool already;
		if ((error = rs__convert_check_digest(e->src, m, dst_reference, e->to_oci)) < 0 ||
		    (error = tag_check(e, dst_reference, m, &already)) < 0)
			goto done;
		if (already) {
			/* the registry holds the manifest, so every blob and child it names */
			e->result->already = 1;
			goto written;
		}
	}

	if (rs_manifest_is_index(m)) {
		if (e->opts->platform) {
			const rs_descriptor *child;
			if ((error = rs_manifest_select_platform(&child, m, e->opts->platform)) <
			    0) {
				if (e->src_reg) /* absent from the index a registry served */
					rs__error_mark_remote();
				goto done;
			}
			error = copy_manifest(e, child->digest, child->digest, dst_reference,
			                      depth + 1, top);
			goto done;
		}
		json_t *written = json_object();
		if (!written)
			error = rs__oom();
		for (size_t i = 0; i < rs_manifest_child_count(m) && error == 0; i++) {
			const rs_descriptor *child = rs_manifest_child(m, i);
			rs_manifest *c = NULL;
			error = copy_manifest(e, child->digest, child->digest, NULL, depth + 1, &c);
			if (error == 0)
				error = rs__convert_note_child(written, child->digest, c);
			rs_manifest_free(c);
		}
		if (error == 0 && e->to_oci)
			error = rs__convert_to_oci(&m, written);
		json_decref(written);
		if (error < 0)
			goto done;
	} else if ((error = copy_blobs(e, m)) < 0 ||
	           (e->to_oci && (error = rs__convert_to_oci(&m, NULL)) < 0)) {
		goto done;
	}
	/* every blob (or child) is in place: now the manifest may point at them */
	if (cancelled(e)) {
		error = rs__error_set(RS_EUSER, "%s",
		                      rs_cancelled() ? "interrupted" : "copy cancelled");
		goto done;
	}
	if ((error = put_manifest(e, dst_reference, m)) < 0)
		goto done;
written:
	if (top) {
		*top = m;
		m = NULL;
	}
done:
	if (claimed)
		rs__share_release(e->share, expected_digest, error == 0);
	rs_manifest_free(m);
	rs_buf_dispose(&body);
	free(mt);
	free(digest);
	return error;
}

int rs_copy(rs_store *dst, const char *dst_reference, rs_store *src, const char *src_reference,
            const rs_copy_options *given, rs_copy_result *result)
{
	return rs__copy_shared(dst, dst_reference, src, src_reference, given, result, NULL);
}

int rs__copy_shared(rs_store *dst, const char *dst_reference, rs_store *src,
                    const char *src_reference, const rs_copy_options *given, rs_copy_result *result,
                    rs__copy_share *share)
{
	rs_copy_options defaults = RS_COPY_OPTIONS_INIT;
	rs_copy_result local = RS_COPY_RESULT_INIT;
	rs_manifest *top = NULL;
	engine e = {0};
	int error;

	/* a result is always safe to dispose, whatever fails below */
	if (result)
		memset(result, 0, sizeof(*result));
	if (given && given->version != RS_COPY_OPTIONS_VERSION)
		return rs__error_set(RS_EINVAL, "rs_copy_options: unsupported version %u",
		                     given->version);
	if ((error = rs__store_check(src, "copy source")) < 0 ||
	    (error = rs__store_check(dst, "copy destination")) < 0)
		return error;
	e.opts = given ? given : &defaults;
	e.dst = dst;
	e.src = src;
	e.dst_reg = rs_store_registry_ref(dst);
	e.src_reg = rs_store_registry_ref(src);
	e.share = share;
	e.result = result ? result : &local;
	e.to_oci = !e.opts->preserve_digests && !e.opts->referrers &&
	           rs__convert_wanted(rs_store_scheme(dst));
	memset(e.result, 0, sizeof(*e.result));
	if (e.opts->mount_cache && !e.opts->no_mount_cache)
		e.cache_dir = rs__blobcache_dir(e.opts->cache_dir);
	pthread_mutex_init(&e.lock, NULL);

	rs__docker_archive_stream_to(src, dst, true);
	/* --referrers: refused before anything moves where they cannot be read or kept */
	if (!e.opts->referrers || (error = rs__referrers_copy_check(dst, src)) == 0)
		error = copy_manifest(&e, src_reference, NULL, dst_reference, 0, &top);
	rs__docker_archive_stream_to(src, dst, false);
	/* the image is in place: now what is attached to it (regship/referrers.h) */
	if (error == 0 && top && e.opts->referrers)
		error = rs_copy_referrers(dst, src, rs_manifest_digest(top), e.opts, NULL);
	if (error == 0 && top) {
		e.result->digest = rs__strdup(rs_manifest_digest(top));
		e.result->media_type = rs__strdup(rs_manifest_media_type(top));
		/* the manifest is written: the copy happened, only its record is short */
		if (!e.result->digest || !e.result->media_type)
			error = rs__oom();
	}
	rs_manifest_free(top);
	pthread_mutex_destroy(&e.lock);
	free(e.cache_dir);
	rs_copy_result_dispose(&local);
	return error;
}
