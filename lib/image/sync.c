/* Mirroring (see include/regship/sync.h): choose the tags, find what is already there, and
 * copy the rest in one rs_copy_tags_pairs() batch. */
#include "regship/sync.h"

#include "image/semver.h"
#include "store/store.h"
#include "util/util.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_digest(const char *ref)
{
	return ref && strchr(ref, ':') != NULL;
}

int rs_sync_filter_check(const rs_sync_filter *f)
{
	if (!f)
		return 0;
	if (f->tag_regex) {
		regex_t re;
		int rc = regcomp(&re, f->tag_regex, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char why[128];
			regerror(rc, &re, why, sizeof(why));
			return rs__error_set(RS_EINVAL, "invalid regular expression \"%s\": %s",
			                     f->tag_regex, why);
		}
		regfree(&re);
	}
	if (f->semver) {
		rs__semver_range *r = NULL;
		int error = rs__semver_range_parse(&r, f->semver);
		rs__semver_range_free(r);
		if (error < 0)
			return error;
	}
	return 0;
}

typedef struct select_ctx {
	rs_strlist tags;
	regex_t re;
	bool have_re;
	rs__semver_range *range;
	bool oom;
} select_ctx;

static int select_one(const char *tag, void *payload)
{
	select_ctx *c = payload;
	if (c->have_re && regexec(&c->re, tag, 0, NULL, 0) != 0)
		return 0;
	if (c->range && !rs__semver_range_match(c->range, tag))
		return 0;
	{
		char *copy = rs__strdup(tag);
		char **grown;
		if (!copy) {
			c->oom = true;
			return 1;
		}
		if (c->tags.count == c->tags.alloc) {
			size_t na = c->tags.alloc ? c->tags.alloc * 2 : 16;
			if (!(grown = rs__realloc(c->tags.items, na * sizeof(*grown)))) {
				free(copy);
				c->oom = true;
				return 1;
			}
			c->tags.items = grown;
			c->tags.alloc = na;
		}
		c->tags.items[c->tags.count++] = copy;
	}
	return 0;
}

static int by_bytes(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rs_sync_select_tags(rs_strarray *out, rs_store *src, const rs_sync_filter *f)
{
	select_ctx c;
	int error = 0;
	size_t k = 0;

	if (!out || !src)
		return rs__error_set(RS_EINVAL, "rs_sync_select_tags: missing argument");
	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if ((error = rs_sync_filter_check(f)) < 0)
		return error;
	if (f && f->tag_count) {
		for (size_t i = 0; i < f->tag_count && !c.oom; i++)
			select_one(f->tags[i], &c);
	} else {
		if (f && f->tag_regex) {
			/* it compiled in rs_sync_filter_check: failing now is REG_ESPACE */
			if (regcomp(&c.re, f->tag_regex, REG_EXTENDED | REG_NOSUB) != 0) {
				error = rs__oom();
				goto done;
			}
			c.have_re = true;
		}
		if (f && f->semver && (error = rs__semver_range_parse(&c.range, f->semver)) < 0)
			goto done;
		error = rs_store_tag_list(src, select_one, &c);
	}
	if (c.oom) {
		error = rs__oom();
		goto done;
	}
	if (error < 0)
		goto done;
	if (c.tags.count)
		qsort(c.tags.items, c.tags.count, sizeof(char *), by_bytes);
	for (size_t i = 0; i < c.tags.count; i++) {
		if (k && !strcmp(c.tags.items[k - 1], c.tags.items[i])) {
			free(c.tags.items[i]);
			continue;
		}
		c.tags.items[k++] = c.tags.items[i];
	}
	out->items = c.tags.items;
	out->count = k;
	c.tags.items = NULL;
	c.tags.count = 0;
done:
	for (size_t i = 0; i < c.tags.count; i++)
		free(c.tags.items[i]);
	free(c.tags.items);
	if (c.have_re)
		regfree(&c.re);
	rs__semver_range_free(c.range);
	return error;
}

char *rs_sync_dest_name(const char *dest, const char *src_name, int scoped)
{
	const char *suffix, *slash;
	size_t n;
	char *out;
	if (!dest || !src_name)
		return NULL;
	slash = strrchr(src_name, '/');
	suffix = scoped || !slash ? src_name : slash + 1;
	n = strlen(dest) + strlen(suffix) + 2;
	if (!(out = rs__malloc(n)))
		return NULL;
	if (!*dest)
		snprintf(out, n, "%s", suffix);
	else
		snprintf(out, n, "%s%s%s", dest, dest[strlen(dest) - 1] == '/' ? "" : "/", suffix);
	return out;
}

void rs_sync_items_free(rs_sync_item *items, size_t count)
{
	if (!items)
		return;
	for (size_t i = 0; i < count; i++) {
		free(items[i].tag);
		free(items[i].digest);
		rs_copy_result_dispose(&items[i].result);
	}
	free(items);
}

/* ---- the run --------------------------------------------------------------------------------- */

typedef struct sync_run {
	const rs_sync_pair *pairs;
	size_t npairs;
	const rs_sync_options *opts;
	rs_sync_item *items;
	size_t count, alloc;
	size_t *batch_item; /* batch index -> item */
	bool stop; /* a failure without keep_going: nothing more is tried */
} sync_run;

static int add_item(sync_run *r, size_t pair, const char *tag, rs_sync_item **out)
{
	rs_sync_item *it;
	if (r->count == r->alloc) {
		size_t na = r->alloc ? r->alloc * 2 : 16;
		rs_sync_item *grown = rs__realloc(r->items, na * sizeof(*grown));
		if (!grown)
			return rs__oom();
		r->items = grown;
		r->alloc = na;
	}
	it = &r->items[r->count];
	memset(it, 0, sizeof(*it));
	it->pair = pair;
	if (tag && !(it->tag = rs__strdup(tag)))
		return rs__oom();
	r->count++;
	if (out)
		*out = it;
	return 0;
}

/* The item failed: keep the message (and clear the thread's error). */
static void item_failed(rs_sync_item *it, int error)
{
	const rs_error *e = rs_error_last();
	it->state = RS_SYNC_FAILED;
	if (rs_error_is_set() && e->message[0]) {
		it->error = *e;
	} else {
		memset(&it->error, 0, sizeof(it->error));
		snprintf(it->error.message, sizeof(it->error.message), "%s", rs_strerror(error));
	}
	it->error.code = error;
	rs_error_clear();
}

static void notify(sync_run *r, const rs_sync_item *it)
{
	if (r->opts->done)
		r->opts->done(it, r->opts->done_payload);
}

/* Where the destination's tag (or digest) points now: *digest, or NULL when it is absent. */
static int dest_digest(rs_store *dst, const char *ref, char **digest)
{
	const rs_ref *repo = dst ? rs_store_registry_ref(dst) : NULL;
	int error;
	*digest = NULL;
	if (!dst)
		return 0; /* a dry run to a destination that does not exist yet */
	if (repo) {
		rs_ref *at = NULL;
		rs_client *client = rs__store_registry_client(dst);
		if (is_digest(ref))
			error = rs_ref_with_digest(&at, repo, ref);
		else
			error = rs_ref_with_tag(&at, repo, ref);
		if (error < 0)
			return error;
		error = rs_registry_manifest_resolve(client, at, digest, NULL, NULL);
		rs_ref_free(at);
	} else {
		rs_buf body = RS_BUF_INIT;
		error = rs_store_manifest_get(dst, ref, &body, NULL, digest);
		rs_buf_dispose(&body);
	}
	if (error == RS_ENOTFOUND) {
		rs_error_clear();
		return 0;
	}
	return error;
}

/* Before copying: up to date already? (dry runs, and local destinations where the copy engine
 * would write the manifest again) */
static int compare(sync_run *r, rs_sync_item *it)
{
	const rs_sync_pair *p = &r->pairs[it->pair];
	rs_buf body = RS_BUF_INIT;
	char *now = NULL;
	int error;
	if ((error = rs_store_manifest_get(p->src, it->tag, &body, NULL, &it->digest)) < 0)
		goto done;
	if ((error = dest_digest(p->dst, it->tag, &now)) < 0)
		goto done;
	if (now && !strcmp(now, it->digest))
		it->state = RS_SYNC_UP_TO_DATE;
	else if (r->opts->dry_run)
		it->state = RS_SYNC_COPY;
done:
	rs_buf_dispose(&body);
	free(now);
	return error;
}

static void batch_done(size_t index, const rs_copy_tags_item *ci, void *payload)
{
	sync_run *r = payload;
	rs_sync_item *it = &r->items[r->batch_item[index]];
	if (ci->error < 0) {
		it->state = RS_SYNC_FAILED;
		it->error = ci->detail;
		if (!it->error.code)
			it->error.code = ci->error;
	} else {
		it->state = ci->result.already ? RS_SYNC_UP_TO_DATE : RS_SYNC_COPIED;
		free(it->digest);
		it->digest = ci->result.digest ? rs__strdup(ci->result.digest) : NULL;
		if (ci->result.digest && !it->digest) { /* copied, but not reportable */
			it->state = RS_SYNC_FAILED;
			rs__oom();
			it->error = *rs_error_last();
		}
	}
	notify(r, it);
}

static int batch_event(size_t index, const rs_copy_event *ev, void *payload)
{
	sync_run *r = payload;
	return r->opts->event(&r->items[r->batch_item[index]], ev, r->opts->event_payload);
}

static int first_failure(sync_run *r)
{
	for (size_t i = 0; i < r->count; i++) {
		const rs_sync_item *it = &r->items[i];
		if (it->state != RS_SYNC_FAILED)
			continue;
		return rs__error_set_http(
		        it->error.code ? it->error.code : RS_ERROR, it->error.http_status,
		        it->error.registry_code[0] ? it->error.registry_code : NULL, "%s: %s",
		        it->tag ? it->tag : "repository", it->error.message);
	}
	return 0;
}

static int check_arguments(const rs_sync_pair *pairs, size_t n, const rs_sync_options *given,
                           rs_sync_item **items, size_t *count)
{
	if (items)
		*items = NULL;
	if (count)
		*count = 0;
	if (given && given->version != RS_SYNC_OPTIONS_VERSION)
		return rs__error_set(RS_EINVAL, "rs_sync_options: unsupported version %u",
		                     given->version);
	if (!items || !count || (n && !pairs))
		return rs__error_set(RS_EINVAL, "rs_sync: missing argument");
	for (size_t i = 0; i < n; i++)
		if (!pairs[i].src || (!pairs[i].dst && !(given && given->dry_run)))
			return rs__error_set(RS_EINVAL, "rs_sync: missing store");
	return 0;
}

/* The tags of every repository, one item each; a repository whose tags cannot be listed is one
 * failed item (tag NULL). < 0: out of memory or cancelled, the run ends. */
static int collect_tags(sync_run *r)
{
	int error = 0;
	for (size_t i = 0; i < r->npairs && !r->stop; i++) {
		rs_strarray tags = {NULL, 0};
		if ((error = rs_sync_select_tags(&tags, r->pairs[i].src, &r->pairs[i].filter)) <
		    0) {
			rs_sync_item *it = NULL;
			if (error == RS_ENOMEM || rs_cancelled())
				return error;
			if ((error = add_item(r, i, NULL, &it)) < 0)
				return error;
			item_failed(it, rs_error_last()->code ? rs_error_last()->code : RS_ERROR);
			notify(r, it);
			r->stop = !r->opts->keep_going;
			continue;
		}
		for (size_t k = 0; k < tags.count && error == 0; k++)
			error = add_item(r, i, tags.items[k], NULL);
		rs_strarray_dispose(&tags);
		if (error < 0)
			return error;
	}
	return 0;
}

/* What is there already: compared first on a dry run and for local destinations; a registry
 * destination's tag is read by the copy itself (one HEAD, nothing moved when it is up to
 * date). < 0: out of memory or cancelled. */
static int compare_all(sync_run *r)
{
	for (size_t i = 0; i < r->count && !r->stop; i++) {
		rs_sync_item *it = &r->items[i];
		const rs_store *dst = r->pairs[it->pair].dst;
		int error;
		if (it->state || !(r->opts->dry_run || !dst || !rs_store_registry_ref(dst)))
			continue;
		if ((error = compare(r, it)) < 0) {
			if (error == RS_ENOMEM || rs_cancelled())
				return error;
			item_failed(it, error);
			r->stop = !r->opts->keep_going;
		}
		if (it->state)
			notify(r, it);
	}
	return 0;
}

/* The items still to copy, as one batch: batch[k] is item r->batch_item[k]. */
static int batch_build(rs_copy_tags_pair **out, size_t *nbatch, sync_run *r)
{
	rs_copy_tags_pair *batch;
	size_t n = 0, k = 0;
	*out = NULL;
	*nbatch = 0;
	for (size_t i = 0; i < r->count; i++)
		if (!r->items[i].state)
			n++;
	if (!n)
		return 0;
	batch = rs__calloc(n, sizeof(*batch));
	r->batch_item = rs__calloc(n, sizeof(*r->batch_item));
	if (!batch || !r->batch_item) {
		free(batch);
		return rs__oom();
	}
	for (size_t i = 0; i < r->count; i++) {
		const rs_sync_item *it = &r->items[i];
		if (it->state)
			continue;
		batch[k].src = r->pairs[it->pair].src;
		batch[k].dst = r->pairs[it->pair].dst;
		batch[k].src_ref = it->tag;
		batch[k].dst_ref = is_digest(it->tag) ? NULL : it->tag;
		r->batch_item[k++] = i;
	}
	*out = batch;
	*nbatch = n;
	return 0;
}

/* Copy what is not decided yet in one rs_copy_tags_pairs() batch; the items' states come from
 * batch_done. A failure of an image is its item's; < 0 only when the batch itself failed (out
 * of memory or bad options before any image was tried) or was cancelled. */
static int copy_all(sync_run *r, const rs_copy_options *copy)
{
	rs_copy_tags_options to = RS_COPY_TAGS_OPTIONS_INIT;
	rs_copy_tags_pair *batch = NULL;
	rs_copy_tags_item *results = NULL;
	size_t nbatch = 0;
	bool image_failed = false;
	int error;
	if ((error = batch_build(&batch, &nbatch, r)) < 0 || !nbatch)
		goto done;
	if (!(results = rs__calloc(nbatch, sizeof(*results)))) {
		error = rs__oom();
		goto done;
	}
	to.copy = copy;
	to.keep_going = r->opts->keep_going;
	to.done = batch_done;
	to.done_payload = r;
	if (r->opts->event) {
		to.event = batch_event;
		to.event_payload = r;
	}
	error = rs_copy_tags_pairs(batch, nbatch, &to, results);
	if (error < 0 && rs_cancelled())
		goto done;
	for (size_t j = 0; j < nbatch; j++) {
		rs_sync_item *it = &r->items[r->batch_item[j]];
		if (!results[j].attempted)
			continue;
		if (results[j].error < 0) {
			image_failed = true;
		} else {
			it->result = results[j].result;
			memset(&results[j].result, 0, sizeof(results[j].result));
		}
	}
	if (error < 0 && !image_failed)
		goto done; /* not any image's failure: the batch's own (its message stays) */
	error = 0;
	rs_error_clear();
done:
	if (results)
		for (size_t j = 0; j < nbatch; j++)
			rs_copy_tags_item_dispose(&results[j]);
	free(results);
	free(batch);
	free(r->batch_item);
	r->batch_item = NULL;
	return error;
}

int rs_sync(const rs_sync_pair *pairs, size_t n, const rs_sync_options *given, rs_sync_item **items,
            size_t *count)
{
	rs_sync_options defaults = RS_SYNC_OPTIONS_INIT;
	rs_copy_options copy_defaults = RS_COPY_OPTIONS_INIT, copy;
	sync_run r;
	int error;

	if ((error = check_arguments(pairs, n, given, items, count)) < 0)
		return error;
	memset(&r, 0, sizeof(r));
	r.pairs = pairs;
	r.npairs = n;
	r.opts = given ? given : &defaults;
	copy = r.opts->copy ? *r.opts->copy : copy_defaults;
	copy.preserve_digests = 1;

	if ((error = collect_tags(&r)) < 0 || (error = compare_all(&r)) < 0)
		goto out;
	if (!r.opts->dry_run && !r.stop && (error = copy_all(&r, &copy)) < 0)
		goto out;
	error = first_failure(&r);
out:
	for (size_t i = 0; i < r.count; i++)
		if (!r.items[i].state)
			r.items[i].state = RS_SYNC_SKIPPED;
	*items = r.items;
	*count = r.count;
	if (error == 0 && rs_cancelled())
		error = rs__error_set(RS_EUSER, "interrupted");
	return error;
}
