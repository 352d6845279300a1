/*
 * retag, semantic-version promotion and untag (see include/regship/retag.h).
 *
 * Same repository: one manifest GET, then one PUT per tag with the same bytes and media type;
 * no blob request at all. Another repository of the same registry: its blobs (and an index's
 * child manifests) are made present first, HEAD else mount, before the first PUT.
 */
#include "regship/retag.h"
#include "regship/manifest.h"

#include "image/retag_internal.h"
#include "registry/registry.h"
#include "util/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Index nesting followed into another repository (index -> index -> manifest is already rare). */
#define RETAG_MAX_DEPTH 4

/* ---- targets -------------------------------------------------------------------------------- */

int rs_retag_target(rs_ref **out, const rs_ref *src, const char *text)
{
	rs_ref *r = NULL;
	int error;

	if (!out || !src || !text)
		return rs__error_set(RS_EINVAL, "rs_retag_target: missing argument");
	*out = NULL;
	if (!strpbrk(text, "/:@"))
		return rs_ref_with_tag(out, src, text);
	if ((error = rs_ref_parse(&r, text, RS_REF_NO_DEFAULT)) < 0)
		return error;
	if (r->digest) {
		error = rs__error_set(
		        RS_EINVAL, "invalid target \"%s\": a new tag cannot carry a digest", text);
		goto done;
	}
	if (!r->tag) {
		error = rs__error_set(RS_EINVAL, "invalid target \"%s\": it names no tag", text);
		goto done;
	}
	if (strcmp(r->domain, src->domain)) {
		error = rs__error_set(RS_EINVAL,
		                      "invalid target \"%s\": it is on %s, not %s; retag stays "
		                      "within one registry (copy moves images between registries)",
		                      text, r->domain, src->domain);
		goto done;
	}
	*out = r;
	r = NULL;
done:
	rs_ref_free(r);
	return error;
}

/* ---- fetching the source ----------------------------------------------------------------- */

void rs__retag_source_dispose(rs__retag_source *s)
{
	rs_buf_dispose(&s->body);
	free(s->media_type);
	free(s->digest);
	rs_manifest_free(s->manifest);
	memset(s, 0, sizeof(*s));
}

/* One GET. The media type to PUT with is the Content-Type the registry stored, when it is a
 * manifest type; else the one the body declares or implies. */
int rs__retag_source_fetch(rs__retag_source *s, rs_client *c, const rs_ref *src, bool parse)
{
	char *ct = NULL;
	int error;

	if ((error = rs_manifest_fetch(c, src, &s->body, &ct, &s->digest)) < 0)
		goto done;
	if (parse || !ct || !rs_mediatype_is_known(ct)) {
		error = rs_manifest_parse(&s->manifest, rs__buf_cstr(&s->body), s->body.size, ct);
		if (error < 0 && !parse && ct && *ct &&
		    !rs__str_startswith(ct, "application/json")) {
			/* a type regship does not know, put back exactly as stored */
			rs_error_clear();
			error = 0;
		} else if (error < 0) {
			char *name = rs_ref_format(src);
			rs__error_prefix("%s", name);
			free(name);
			goto done;
		}
	}
	if (ct && (rs_mediatype_is_known(ct) || !s->manifest))
		s->media_type = rs__strdup(ct);
	else
		s->media_type = rs__strdup(rs_manifest_media_type(s->manifest));
	if (!s->media_type)
		error = rs__oom();
done:
	free(ct);
	return error;
}

/* ---- making content present in another repository ----------------------------------------- */

typedef struct mover {
	rs_client *client;
	const rs_ref *src;
	const rs_ref *dst;
	rs_strlist done; /* digests already confirmed present in dst */
	rs_retag_result *result;
} mover;

static int ensure_blob(mover *mv, const rs_descriptor *d)
{
	char *upload_url = NULL, *dst_name = NULL;
	int error;

	if (rs_mediatype_is_foreign(d->media_type) || rs__strlist_contains(&mv->done, d->digest))
		return 0;
	error = rs__blob_head(mv->client, mv->dst, d->digest, NULL);
	if (error == RS_ENOTFOUND) {
		rs_error_clear();
		error = rs__blob_mount(mv->client, mv->dst, d->digest, mv->src->path, &upload_url);
		if (error == 0) {
			mv->result->blobs_mounted++;
		} else if (error == RS_ENOTFOUND) {
			dst_name = rs_ref_format_name(mv->dst);
			error = rs__error_set(
			        RS_ERROR,
			        "cannot retag into %s: the registry did not mount blob "
			        "%s from %s (copy moves the blobs themselves)",
			        dst_name, d->digest, mv->src->path);
		}
	}
	if (error == 0)
		error = rs__strlist_push(&mv->done, d->digest);
	free(upload_url);
	free(dst_name);
	return error;
}

static int ensure_content(mover *mv, const rs_manifest *m, int depth);

/* A child manifest of an index: present in dst by digest, else fetched from src (verified),
 * its own content made present, and put by digest. */
static int ensure_child(mover *mv, const rs_descriptor *d, int depth)
{
	rs_ref *in_dst = NULL, *in_src = NULL;
	rs_manifest *child = NULL;
	rs_buf body = RS_BUF_INIT;
	char *ct = NULL;
	int error;

	if (rs__strlist_contains(&mv->done, d->digest))
		return 0;
	if ((error = rs_ref_with_digest(&in_dst, mv->dst, d->digest)) < 0)
		goto done;
	error = rs_manifest_resolve(mv->client, in_dst, NULL, NULL, NULL);
	if (error != RS_ENOTFOUND)
		goto done;
	rs_error_clear();
	if ((error = rs_ref_with_digest(&in_src, mv->src, d->digest)) < 0 ||
	    (error = rs_manifest_fetch(mv->client, in_src, &body, &ct, NULL)) < 0 ||
	    (error = rs_manifest_parse(&child, rs__buf_cstr(&body), body.size, ct)) < 0 ||
	    (error = ensure_content(mv, child, depth + 1)) < 0)
		goto done;
	error = rs_manifest_upload(
	        mv->client, in_dst, rs__buf_cstr(&body), body.size,
	        ct && rs_mediatype_is_known(ct) ? ct : rs_manifest_media_type(child), NULL);
	if (error == 0)
		mv->result->manifests_copied++;
done:
	if (error == 0)
		error = rs__strlist_push(&mv->done, d->digest);
	rs_ref_free(in_dst);
	rs_ref_free(in_src);
	rs_manifest_free(child);
	rs_buf_dispose(&body);
	free(ct);
	return error;
}

static int ensure_content(mover *mv, const rs_manifest *m, int depth)
{
	int error = 0;

	if (depth > RETAG_MAX_DEPTH)
		return rs__error_set(RS_EFORMAT, "indexes nested deeper than %d levels",
		                     RETAG_MAX_DEPTH);
	for (size_t i = 0; i < rs_manifest_blob_count(m) && error == 0; i++)
		error = ensure_blob(mv, rs_manifest_blob(m, i));
	for (size_t i = 0; i < rs_manifest_child_count(m) && error == 0; i++)
		error = ensure_child(mv, rs_manifest_child(m, i), depth);
	return error;
}

/* ---- retag ------------------------------------------------------------------------------- */

static bool same_repo(const rs_ref *a, const rs_ref *b)
{
	return !strcmp(a->domain, b->domain) && !strcmp(a->path, b->path);
}

int rs__retag_check_options(rs_retag_options *o, const rs_retag_options *given)
{
	rs_retag_options defaults = RS_RETAG_OPTIONS_INIT;

	*o = defaults;
	if (!given)
		return 0;
	if (given->version != RS_RETAG_OPTIONS_VERSION)
		return rs__error_set(RS_EINVAL, "rs_retag_options: version %u, expected %u",
		                     given->version, RS_RETAG_OPTIONS_VERSION);
	*o = *given;
	return 0;
}

typedef struct put_job {
	rs_client *c;
	rs_retag_entry *e;
	const rs__retag_source *s;
	int error;
	rs_error detail;
} put_job;

/* One tag PUT with the source's exact bytes; the digest the bytes hash to must not change. */
static void *put_one(void *arg)
{
	put_job *j = arg;
	char *digest = NULL;
	int error = rs_manifest_upload(j->c, j->e->ref, rs__buf_cstr(&j->s->body), j->s->body.size,
	                               j->s->media_type, &digest);
	if (error == 0 && strcmp(digest, j->s->digest) &&
	    rs__str_startswith(j->s->digest, "sha256:"))
		error = rs__error_set(RS_EDIGEST, "tag %s: the bytes put hash to %s, not %s",
		                      j->e->ref->tag, digest, j->s->digest);
	free(digest);
	if (error == 0)
		j->e->written = 1;
	else if (rs_error_is_set())
		j->detail = *rs_error_last();
	else
		rs__error_set(error, "tag %s: %s", j->e->ref->tag, rs_strerror(error));
	if (error < 0 && !j->detail.message[0])
		j->detail = *rs_error_last();
	j->error = error;
	return NULL;
}

static bool entry_writes(const rs_retag_entry *e)
{
	return e->action != RS_RETAG_KEEP && e->action != RS_RETAG_ALREADY &&
	       e->action != RS_RETAG_REFUSE;
}

/* Write every entry that is not a kept promotion step: other repositories' content first,
 * then the PUTs. */
static int retag_write(rs_retag_result *r, rs_client *c, const rs_ref *src, rs__retag_source *s,
                       const rs_retag_options *o)
{
	rs_strlist repos = RS_STRLIST_INIT;
	int error = 0;

	if (o->dry_run)
		return 0;
	for (size_t i = 0; i < r->count && error == 0; i++) {
		const rs_ref *dst = r->entries[i].ref;
		mover mv = {c, src, dst, RS_STRLIST_INIT, r};
		if (!entry_writes(&r->entries[i]) || same_repo(dst, src) ||
		    rs__strlist_contains(&repos, dst->path))
			continue;
		if (!s->manifest && (error = rs_manifest_parse(&s->manifest, rs__buf_cstr(&s->body),
		                                               s->body.size, s->media_type)) < 0)
			break;
		error = ensure_content(&mv, s->manifest, 0);
		rs__strlist_dispose(&mv.done);
		if (error == 0)
			error = rs__strlist_push(&repos, dst->path);
	}
	/* the tag PUTs are independent: send them at once (one round trip instead of n) */
	if (error == 0) {
		put_job *jobs = rs__calloc(r->count ? r->count : 1, sizeof(*jobs));
		pthread_t *threads = rs__calloc(r->count ? r->count : 1, sizeof(*threads));
		bool *started = rs__calloc(r->count ? r->count : 1, sizeof(*started));
		if (!jobs || !threads || !started) {
			free(jobs);
			free(threads);
			free(started);
			rs__strlist_dispose(&repos);
			return rs__oom();
		}
		for (size_t i = 0; i < r->count; i++) {
			jobs[i].c = c;
			jobs[i].e = &r->entries[i];
			jobs[i].s = s;
			if (!entry_writes(&r->entries[i]))
				continue;
			if (i + 1 < r->count &&
			    pthread_create(&threads[i], NULL, put_one, &jobs[i]) == 0)
				started[i] = true;
			else
				put_one(&jobs[i]); /* the last one (or no thread): here */
		}
		for (size_t i = 0; i < r->count; i++) {
			if (started[i])
				pthread_join(threads[i], NULL);
			if (jobs[i].error < 0 && error == 0) {
				error = jobs[i].error;
				rs__error_set_http(jobs[i].detail.code, jobs[i].detail.http_status,
				                   jobs[i].detail.registry_code, "%s",
				                   jobs[i].detail.message);
			}
		}
		free(jobs);
		free(threads);
		free(started);
	}
	rs__strlist_dispose(&repos);
	return error;
}

rs_retag_result *rs__retag_result_new(const rs__retag_source *s, size_t count)
{
	rs_retag_result *r = rs__calloc(1, sizeof(*r));

	if (!r) {
		rs__oom();
		return NULL;
	}
	r->digest = rs__strdup(s->digest);
	r->media_type = rs__strdup(s->media_type);
	r->size = s->body.size;
	r->entries = count ? rs__calloc(count, sizeof(*r->entries)) : NULL;
	r->count = r->entries ? count : 0;
	if (!r->digest || (s->media_type && !r->media_type) || (count && !r->entries)) {
		rs_retag_result_free(r);
		rs__oom();
		return NULL; /* out of memory, RS_ENOMEM set */
	}
	return r;
}

/* Where each target points now: already at the source (not written), elsewhere (overwritten,
 * or with no_clobber an error), or nowhere. */
/* What each target tag points at now (the HEADs in parallel): "already at", or refused under
 * --no-clobber (the first such target, in the order given). */
static int targets_check(rs_retag_result *r, rs_client *c, const rs_retag_options *o)
{
	const rs_ref **refs = rs__calloc(r->count ? r->count : 1, sizeof(*refs));
	char **digests = NULL;
	int error = 0;

	if (!refs)
		return rs__oom();
	for (size_t i = 0; i < r->count; i++)
		refs[i] = r->entries[i].ref;
	if ((error = rs__refs_digests(&digests, c, refs, r->count)) < 0)
		goto done;
	for (size_t i = 0; i < r->count; i++) {
		rs_retag_entry *e = &r->entries[i];
		const char *d = digests[i];
		if (!d)
			continue;
		e->previous = digests[i];
		digests[i] = NULL;
		if (!strcmp(d, r->digest)) {
			e->action = RS_RETAG_ALREADY;
			if (!(e->reason = rs__strfmt("already at %s", r->digest))) {
				error = rs__oom();
				goto done;
			}
		} else if (o->no_clobber) {
			char *name = rs_ref_format(e->ref);
			error = rs__error_set(RS_EEXISTS,
			                      "%s exists and points at %s, not %s; not overwritten "
			                      "(--no-clobber)",
			                      name ? name : e->ref->path, d, r->digest);
			free(name);
			goto done;
		}
	}
done:
	rs__retag_digests_free(digests, r->count);
	free(refs);
	return error;
}

/* Whether targets[i] names the repository and tag of an earlier target. */
static bool repeated_target(const rs_ref *const *targets, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (same_repo(targets[j], targets[i]) && !strcmp(targets[j]->tag, targets[i]->tag))
			return true;
	return false;
}

static size_t unique_targets(const rs_ref *const *targets, size_t n)
{
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		u += !repeated_target(targets, i);
	return u;
}

int rs_retag(rs_retag_result **out, rs_client *client, const rs_ref *src,
             const rs_ref *const *targets, size_t ntargets, const rs_retag_options *opts)
{
	rs_retag_options o;
	rs_retag_result *r = NULL;
	rs__retag_source s = {0};
	bool cross = false;
	int error;

	if (!out || !client || !src || (!targets && ntargets))
		return rs__error_set(RS_EINVAL, "rs_retag: missing argument");
	*out = NULL;
	if ((error = rs__retag_check_options(&o, opts)) < 0)
		return error;
	if (!ntargets)
		return rs__error_set(RS_EINVAL, "retag: no tag given");
	/* every target is checked before anything is fetched or written */
	for (size_t i = 0; i < ntargets; i++) {
		const rs_ref *t = targets[i];
		if (!t || !t->tag || t->digest)
			return rs__error_set(RS_EINVAL, "retag: target %zu is not a tag", i);
		if ((error = rs_ref_check_tag(t->tag)) < 0)
			return error;
		if (strcmp(t->domain, src->domain))
			return rs__error_set(RS_EINVAL,
			                     "retag: %s:%s is on %s, not %s; retag stays within "
			                     "one registry",
			                     t->path, t->tag, t->domain, src->domain);
		cross = cross || !same_repo(t, src);
	}
	if ((error = rs__retag_source_fetch(&s, client, src, cross && !o.dry_run)) < 0)
		goto done;
	/* a tag named twice is written once and reported once */
	if (!(r = rs__retag_result_new(&s, unique_targets(targets, ntargets)))) {
		error = RS_ENOMEM;
		goto done;
	}
	for (size_t i = 0, k = 0; i < ntargets; i++) {
		if (repeated_target(targets, i))
			continue;
		if ((error = rs_ref_dup(&r->entries[k].ref, targets[i])) < 0)
			goto done;
		r->entries[k++].action = RS_RETAG_TAG;
	}
	if ((error = targets_check(r, client, &o)) < 0)
		goto done;
	if ((error = retag_write(r, client, src, &s, &o)) < 0)
		goto done;
	*out = r;
	r = NULL;
done:
	rs_retag_result_free(r);
	rs__retag_source_dispose(&s);
	return error;
}

int rs__retag_collect_tag(const char *tag, void *payload)
{
	return rs__strlist_push(payload, tag); /* RS_ENOMEM stops the listing with it */
}

/* ---- many tags' digests in parallel --------------------------------------------------------- */

/* Lookups in flight at once: enough to hide the round trips, few enough for any registry. */
#define HEAD_JOBS 8

typedef struct head_pool {
	rs_client *c;
	const rs_ref *repo; /* with tags: the tags of one repository */
	const char *const *tags;
	const rs_ref *const *refs; /* or: references, each its own */
	char **out;
	size_t n, next;
	int error;
	rs_error detail;
	pthread_mutex_t lock;
} head_pool;

static void *head_worker(void *arg)
{
	head_pool *p = arg;

	for (;;) {
		rs_ref *t = NULL;
		char *d = NULL;
		size_t i;
		int error;

		pthread_mutex_lock(&p->lock);
		if (p->error || p->next >= p->n) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		/* a name that is no valid tag (a registry may list anything) names no manifest
		 * that could be asked for: not found */
		if (!p->refs && rs_ref_with_tag(&t, p->repo, p->tags[i]) < 0) {
			rs_error_clear();
			continue;
		}
		error = rs_manifest_resolve(p->c, p->refs ? p->refs[i] : t, &d, NULL, NULL);
		rs_ref_free(t);
		if (error == RS_ENOTFOUND) {
			rs_error_clear();
			continue;
		}
		if (error < 0) {
			const rs_error *e = rs_error_last();
			pthread_mutex_lock(&p->lock);
			if (!p->error) {
				p->error = error;
				if (rs_error_is_set())
					p->detail = *e;
				else if (p->refs)
					snprintf(p->detail.message, sizeof(p->detail.message),
					         "%s:%s: %s", p->refs[i]->path,
					         p->refs[i]->tag ? p->refs[i]->tag : "",
					         rs_strerror(error));
				else
					snprintf(p->detail.message, sizeof(p->detail.message),
					         "tag %s: %s", p->tags[i], rs_strerror(error));
			}
			pthread_mutex_unlock(&p->lock);
			continue;
		}
		p->out[i] = d;
	}
	return NULL;
}

/* Every lookup of p (p->n of them) at once, HEAD_JOBS at a time; *out[i] is NULL where the
 * registry has no such manifest. */
static int heads_run(char ***out, head_pool *p)
{
	pthread_t threads[HEAD_JOBS - 1];
	size_t started = 0, n = p->n;

	if (!(p->out = rs__calloc(n ? n : 1, sizeof(*p->out))))
		return rs__oom();
	pthread_mutex_init(&p->lock, NULL);
	for (size_t i = 0; i + 1 < HEAD_JOBS && i + 1 < n; i++)
		if (pthread_create(&threads[started], NULL, head_worker, p) == 0)
			started++;
	head_worker(p);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	if (p->error) {
		rs__retag_digests_free(p->out, n);
		*out = NULL;
		return rs__error_set_http(
		        p->detail.code ? p->detail.code : p->error, p->detail.http_status,
		        p->detail.registry_code[0] ? p->detail.registry_code : NULL, "%s",
		        p->detail.message);
	}
	*out = p->out;
	return 0;
}

int rs_tags_digests(char ***out, rs_client *client, const rs_ref *repo, const char *const *tags,
                    size_t n)
{
	head_pool p;

	if (!out || !client || !repo || (!tags && n))
		return rs__error_set(RS_EINVAL, "rs_tags_digests: missing argument");
	memset(&p, 0, sizeof(p));
	p.c = client;
	p.repo = repo;
	p.tags = tags;
	p.n = n;
	return heads_run(out, &p);
}

int rs__refs_digests(char ***out, rs_client *client, const rs_ref *const *refs, size_t n)
{
	head_pool p;

	memset(&p, 0, sizeof(p));
	p.c = client;
	p.refs = refs;
	p.n = n;
	return heads_run(out, &p);
}

void rs__retag_digests_free(char **d, size_t n)
{
	if (!d)
		return;
	for (size_t i = 0; i < n; i++)
		free(d[i]);
	free(d);
}

void rs_retag_result_free(rs_retag_result *result)
{
	if (!result)
		return;
	for (size_t i = 0; i < result->count; i++) {
		rs_ref_free(result->entries[i].ref);
		free(result->entries[i].reason);
		free(result->entries[i].previous);
		free(result->entries[i].holder);
	}
	free(result->entries);
	free(result->digest);
	free(result->media_type);
	rs_promotion_plan_free(result->plan);
	free(result);
}
