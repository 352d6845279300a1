/* Many images at once (see include/regship/copy_tags.h): a pool of image workers over the copy
 * engine, with a shared set of digests claimed and a shared count of free lanes. */
#include "regship/copy_tags.h"
#include "regship/store.h"

#include "image/copy_share.h"
#include "util/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LANES 64

/* ---- the shared set of digests ------------------------------------------------------------ */

enum { SLOT_FREE = 0, SLOT_MOVING, SLOT_DONE, SLOT_FAILED };

typedef struct slot {
	char *digest;
	int state;
} slot;

struct rs__copy_share {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a claimed digest was released */
	slot *slots; /* open addressing, capacity a power of two, at most half full */
	size_t cap, used;
	unsigned int lanes_free;
	/* the share whose lanes this one uses (a batch over several destination stores has one
	 * share of digests per store and one count of lanes), or NULL: its own */
	rs__copy_share *lanes;
};

static size_t hash(const char *s)
{
	size_t h = 14695981039346656037ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static slot *find(rs__copy_share *s, const char *digest, bool insert)
{
	size_t i;
	/* out of memory: the table stays as it is (still with room, or none: NULL) */
	slot *bigger = insert && (s->used + 1) * 2 > s->cap
	                       ? rs__calloc(s->cap ? s->cap * 2 : 64, sizeof(*s->slots))
	                       : NULL;
	if (bigger) {
		slot *old = s->slots;
		size_t oldcap = s->cap;
		s->cap = s->cap ? s->cap * 2 : 64;
		s->slots = bigger;
		for (size_t k = 0; k < oldcap; k++) {
			if (!old[k].digest)
				continue;
			for (i = hash(old[k].digest) & (s->cap - 1); s->slots[i].digest;
			     i = (i + 1) & (s->cap - 1))
				;
			s->slots[i] = old[k];
		}
		free(old);
	}
	if (!s->cap)
		return NULL;
	for (i = hash(digest) & (s->cap - 1); s->slots[i].digest; i = (i + 1) & (s->cap - 1))
		if (!strcmp(s->slots[i].digest, digest))
			return &s->slots[i];
	if (!insert || s->used + 1 >= s->cap || !(s->slots[i].digest = rs__strdup(digest)))
		return NULL;
	s->slots[i].state = SLOT_FREE;
	s->used++;
	return &s->slots[i];
}

bool rs__share_claim(rs__copy_share *s, const char *digest)
{
	bool moved = false;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		slot *e = find(s, digest, true);
		if (!e) /* out of memory: not shared, this image moves it (at worst twice) */
			break;
		if (e->state == SLOT_DONE) {
			moved = true;
			break;
		}
		if (e->state != SLOT_MOVING) {
			/* new, or an earlier move failed: ours to try */
			e->state = SLOT_MOVING;
			break;
		}
		/* another image is moving it: its move ends whatever happens (success, failure,
		 * cancellation), and it holds no claim of ours meanwhile */
		pthread_cond_wait(&s->changed, &s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return moved;
}

void rs__share_release(rs__copy_share *s, const char *digest, bool ok)
{
	slot *e;
	pthread_mutex_lock(&s->lock);
	if ((e = find(s, digest, false)) != NULL)
		e->state = ok ? SLOT_DONE : SLOT_FAILED;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

unsigned int rs__share_lanes_take(rs__copy_share *s, unsigned int wanted)
{
	unsigned int got;
	if (s->lanes)
		s = s->lanes;
	pthread_mutex_lock(&s->lock);
	got = wanted < s->lanes_free ? wanted : s->lanes_free;
	s->lanes_free -= got;
	pthread_mutex_unlock(&s->lock);
	return got;
}

void rs__share_lanes_give(rs__copy_share *s, unsigned int n)
{
	if (s->lanes)
		s = s->lanes;
	pthread_mutex_lock(&s->lock);
	s->lanes_free += n;
	pthread_mutex_unlock(&s->lock);
}

rs__copy_share *rs__share_new(unsigned int lanes_free)
{
	rs__copy_share *s = rs__calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	s->lanes_free = lanes_free;
	return s;
}

void rs__share_free(rs__copy_share *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i].digest);
	free(s->slots);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- the batch ---------------------------------------------------------------------------- */

typedef struct batch {
	const rs_copy_tags_pair *pairs;
	size_t n, next;
	bool stop; /* an image failed (without keep_going): start no new one */
	const rs_copy_tags_options *opts;
	const rs_copy_options *user; /* the caller's per-image options */
	rs_copy_options copy; /* the same, with the serialising callback */
	rs_copy_tags_item *items;
	/* one share of digests per destination store (a blob moved to one repository is not in
	 * another); the first holds the lanes of all */
	rs__copy_share **shares;
	rs_store **share_dst;
	size_t nshares;
	size_t *share_of; /* pair -> its share */
	pthread_mutex_t lock; /* next, stop */
	pthread_mutex_t cb_lock; /* the caller's callbacks, one at a time */
} batch;

static int on_event(const rs_copy_event *ev, void *payload)
{
	batch *b = payload;
	int rc;
	pthread_mutex_lock(&b->cb_lock);
	rc = b->user->callback(ev, b->user->payload);
	pthread_mutex_unlock(&b->cb_lock);
	return rc;
}

typedef struct image_ctx {
	batch *b;
	size_t index;
} image_ctx;

/* opts->event: the caller learns which image an event belongs to */
static int on_image_event(const rs_copy_event *ev, void *payload)
{
	image_ctx *ctx = payload;
	batch *b = ctx->b;
	int rc;
	pthread_mutex_lock(&b->cb_lock);
	rc = b->opts->event(ctx->index, ev, b->opts->event_payload);
	pthread_mutex_unlock(&b->cb_lock);
	return rc;
}

static void copy_one(batch *b, size_t i)
{
	rs_copy_tags_item *it = &b->items[i];
	const rs_copy_tags_pair *p = &b->pairs[i];
	rs_copy_options copy = b->copy;
	image_ctx ctx = {b, i};
	if (b->opts->event) {
		copy.callback = on_image_event;
		copy.payload = &ctx;
	}
	it->attempted = 1;
	it->error = rs__copy_shared(p->dst, p->dst_ref, p->src, p->src_ref, &copy, &it->result,
	                            b->shares[b->share_of[i]]);
	if (it->error < 0) {
		const rs_error *e = rs_error_last();
		if (rs_error_is_set() && e->message[0])
			it->detail = *e;
		else {
			it->detail.code = it->error;
			snprintf(it->detail.message, sizeof(it->detail.message), "%s",
			         rs_strerror(it->error));
		}
		rs_error_clear();
	}
	if (b->opts->done) {
		pthread_mutex_lock(&b->cb_lock);
		b->opts->done(i, it, b->opts->done_payload);
		pthread_mutex_unlock(&b->cb_lock);
	}
}

static void *image_worker(void *arg)
{
	batch *b = arg;
	for (;;) {
		size_t i;
		pthread_mutex_lock(&b->lock);
		if (b->stop || b->next >= b->n || rs_cancelled()) {
			pthread_mutex_unlock(&b->lock);
			break;
		}
		i = b->next++;
		pthread_mutex_unlock(&b->lock);
		copy_one(b, i);
		if (b->items[i].error < 0 && (!b->opts->keep_going || rs_cancelled())) {
			pthread_mutex_lock(&b->lock);
			b->stop = true;
			pthread_mutex_unlock(&b->lock);
		}
	}
	/* this worker's lane is free for the blobs of the images still moving */
	rs__share_lanes_give(b->shares[0], 1);
	return NULL;
}

/* Whether images may be written to dst (and read from src) by several threads at once: a
 * registry destination; a registry or OCI layout source. Archives are written and read
 * through shared state of their own. */
static bool parallel_safe(rs_store *dst, rs_store *src)
{
	const char *d = rs_store_scheme(dst), *s = rs_store_scheme(src);
	return d && s && !strcmp(d, "registry") && (!strcmp(s, "registry") || !strcmp(s, "oci"));
}

void rs_copy_tags_item_dispose(rs_copy_tags_item *item)
{
	if (!item)
		return;
	rs_copy_result_dispose(&item->result);
	memset(item, 0, sizeof(*item));
}

static void batch_dispose(batch *b)
{
	for (size_t i = 0; i < b->nshares; i++)
		rs__share_free(b->shares[i]);
	free(b->shares);
	free(b->share_dst);
	free(b->share_of);
}

/* A share per distinct destination store; the first one counts the lanes. */
static int batch_shares(batch *b, unsigned int lanes_free)
{
	b->shares = rs__calloc(b->n ? b->n : 1, sizeof(*b->shares));
	b->share_dst = rs__calloc(b->n ? b->n : 1, sizeof(*b->share_dst));
	b->share_of = rs__calloc(b->n ? b->n : 1, sizeof(*b->share_of));
	if (!b->shares || !b->share_dst || !b->share_of)
		return rs__oom();
	if (!(b->shares[0] = rs__share_new(lanes_free)))
		return rs__oom();
	b->nshares = 1;
	b->share_dst[0] = b->n ? b->pairs[0].dst : NULL;
	for (size_t i = 0; i < b->n; i++) {
		size_t k;
		for (k = 0; k < b->nshares && b->share_dst[k] != b->pairs[i].dst; k++)
			;
		if (k == b->nshares) {
			if (!(b->shares[k] = rs__share_new(0)))
				return rs__oom();
			b->shares[k]->lanes = b->shares[0];
			b->share_dst[k] = b->pairs[i].dst;
			b->nshares++;
		}
		b->share_of[i] = k;
	}
	return 0;
}

int rs_copy_tags_pairs(const rs_copy_tags_pair *pairs, size_t n, const rs_copy_tags_options *given,
                       rs_copy_tags_item *items)
{
	rs_copy_tags_options defaults = RS_COPY_TAGS_OPTIONS_INIT;
	rs_copy_options copy_defaults = RS_COPY_OPTIONS_INIT;
	pthread_t threads[MAX_LANES];
	unsigned int lanes, workers, started = 0;
	bool parallel = true;
	batch b;
	int error;

	if (given && given->version != RS_COPY_TAGS_OPTIONS_VERSION)
		return rs__error_set(RS_EINVAL, "rs_copy_tags_options: unsupported version %u",
		                     given->version);
	if (n && (!pairs || !items))
		return rs__error_set(RS_EINVAL, "rs_copy_tags: missing argument");
	for (size_t i = 0; i < n; i++)
		if (!pairs[i].dst || !pairs[i].src)
			return rs__error_set(RS_EINVAL, "rs_copy_tags: missing argument");
	if (given && given->copy && given->copy->version != RS_COPY_OPTIONS_VERSION)
		return rs__error_set(RS_EINVAL, "rs_copy_options: unsupported version %u",
		                     given->copy->version);
	memset(&b, 0, sizeof(b));
	if (n)
		memset(items, 0, n * sizeof(*items));
	b.pairs = pairs;
	b.n = n;
	b.opts = given ? given : &defaults;
	b.user = b.opts->copy ? b.opts->copy : &copy_defaults;
	b.copy = *b.user;
	if (b.user->callback) {
		b.copy.callback = on_event;
		b.copy.payload = &b;
	}
	b.items = items;
	lanes = b.user->jobs ? b.user->jobs : 4;
	if (lanes > MAX_LANES)
		lanes = MAX_LANES;
	for (size_t i = 0; i < n && parallel; i++)
		parallel = parallel_safe(pairs[i].dst, pairs[i].src);
	workers = parallel ? lanes : 1;
	if (workers > n)
		workers = n ? (unsigned int)n : 1;
	if ((error = batch_shares(&b, lanes - workers)) < 0) {
		batch_dispose(&b);
		return error;
	}
	pthread_mutex_init(&b.lock, NULL);
	pthread_mutex_init(&b.cb_lock, NULL);

	/* workers - 1 threads, and this one */
	for (; started + 1 < workers; started++)
		if (pthread_create(&threads[started], NULL, image_worker, &b))
			break;
	/* lanes of threads that could not start are free */
	if (started + 1 < workers)
		rs__share_lanes_give(b.shares[0], workers - 1 - started);
	image_worker(&b);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);

	pthread_mutex_destroy(&b.cb_lock);
	pthread_mutex_destroy(&b.lock);
	batch_dispose(&b);

	for (size_t i = 0; i < n; i++) {
		const rs_error *d = &items[i].detail;
		if (items[i].error >= 0)
			continue;
		return rs__error_set_http(d->code ? d->code : items[i].error, d->http_status,
		                          d->registry_code[0] ? d->registry_code : NULL, "%s: %s",
		                          pairs[i].src_ref ? pairs[i].src_ref : "image",
		                          d->message);
	}
	for (size_t i = 0; i < n; i++)
		if (!items[i].attempted)
			return rs__error_set(RS_EUSER, "interrupted");
	return 0;
}

int rs_copy_tags(rs_store *dst, const char *const *dst_refs, rs_store *src,
                 const char *const *src_refs, size_t n, const rs_copy_tags_options *given,
                 rs_copy_tags_item *items)
{
	rs_copy_tags_pair *pairs;
	int error;
	if (!dst || !src || (n && !items))
		return rs__error_set(RS_EINVAL, "rs_copy_tags: missing argument");
	if (!(pairs = rs__calloc(n ? n : 1, sizeof(*pairs))))
		return rs__oom();
	for (size_t i = 0; i < n; i++) {
		pairs[i].dst = dst;
		pairs[i].dst_ref = dst_refs ? dst_refs[i] : NULL;
		pairs[i].src = src;
		pairs[i].src_ref = src_refs ? src_refs[i] : NULL;
	}
	error = rs_copy_tags_pairs(pairs, n, given, items);
	free(pairs);
	return error;
}
