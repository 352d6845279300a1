/*
 * retag, semantic-version promotion and untag (see include/regship/retag.h).
 *
 * Same repository: one manifest GET, then one PUT per tag with the same bytes and media type;
 * no blob request at all. Another repository of the same registry: its blobs (and an index's
 * child manifests) are made present first, HEAD else mount, before the first PUT.
 */
#include "regship/retag.h"
#include "regship/manifest.h"

#include "image/semver.h"
#include "registry/registry.h"
#include "util/digest.h"
#include "util/util.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Index nesting followed into another repository (index -> index -> manifest is already rare). */
#define RETAG_MAX_DEPTH 4

/* The empty JSON blob `{}` (OCI 1.1 image spec, "Guidance for an Empty Descriptor"). */
#define EMPTY_BLOB "{}"
#define EMPTY_BLOB_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define PLACEHOLDER_ANNOTATION "org.regship.untag.placeholder"

/* ---- promotion plans ----------------------------------------------------------------------- */

static void step_set(rs_promotion_step *s, char *tag, int move, const char *newer, const char *fmt,
                     ...) RS_PRINTF(5, 6);

static void step_set(rs_promotion_step *s, char *tag, int move, const char *newer, const char *fmt,
                     ...)
{
	rs_buf reason = RS_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	rs__buf_vprintf(&reason, fmt, ap);
	va_end(ap);
	s->tag = tag;
	s->move = move;
	s->newer = newer ? rs__strdup(newer) : NULL;
	s->reason = rs__buf_detach(&reason);
}

static char *printed(const char *fmt, ...) RS_PRINTF(1, 2);

static char *printed(const char *fmt, ...)
{
	rs_buf b = RS_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	rs__buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return rs__buf_detach(&b);
}

/* Keep the highest of the newer releases seen so far. */
static void keep_highest(const char **best, rs__semver *best_v, const char *tag,
                         const rs__semver *v)
{
	if (!*best || rs__semver_cmp(v, best_v) > 0) {
		*best = tag;
		*best_v = *v;
	}
}

int rs_promotion_plan_new(rs_promotion_plan **out, const char *version, const char *const *tags,
                          size_t ntags, unsigned int flags)
{
	rs_promotion_plan *p;
	rs__semver v, bv_minor = {0}, bv_major = {0}, bv_all = {0};
	const char *b_minor = NULL, *b_major = NULL, *b_all = NULL;
	const char *pfx;
	char *t_minor, *t_major, *t_latest;
	int error;

	if (!out)
		return rs__error_set(RS_EINVAL, "rs_promotion_plan_new: no output given");
	*out = NULL;
	if ((error = rs__semver_parse(&v, version)) < 0)
		return error;
	pfx = v.v_prefix ? "v" : "";
	for (size_t i = 0; i < ntags; i++) {
		rs__semver t;
		if (!tags[i] || !rs__semver_try(&t, tags[i]) || t.pre ||
		    rs__semver_cmp(&t, &v) <= 0)
			continue;
		keep_highest(&b_all, &bv_all, tags[i], &t);
		if (t.v_prefix != v.v_prefix || t.major != v.major)
			continue;
		keep_highest(&b_major, &bv_major, tags[i], &t);
		if (t.minor == v.minor)
			keep_highest(&b_minor, &bv_minor, tags[i], &t);
	}

	p = rs__calloc(1, sizeof(*p));
	p->version = rs__strdup(version);
	p->prerelease = v.pre != NULL;
	p->count = 3;
	p->steps = rs__calloc(p->count, sizeof(*p->steps));
	t_minor = printed("%s%llu.%llu", pfx, (unsigned long long)v.major,
	                  (unsigned long long)v.minor);
	t_major = printed("%s%llu", pfx, (unsigned long long)v.major);
	t_latest = rs__strdup("latest");

	if (v.pre) {
		step_set(&p->steps[0], t_minor, 0, NULL, "%s is a pre-release", version);
		step_set(&p->steps[1], t_major, 0, NULL, "%s is a pre-release", version);
		step_set(&p->steps[2], t_latest, 0, NULL, "%s is a pre-release", version);
		*out = p;
		return 0;
	}
	if (b_minor)
		step_set(&p->steps[0], t_minor, 0, b_minor, "%s is newer", b_minor);
	else
		step_set(&p->steps[0], t_minor, 1, NULL, "%s is the highest %s.z", version,
		         t_minor);
	if (b_major)
		step_set(&p->steps[1], t_major, 0, b_major, "%s is newer", b_major);
	else
		step_set(&p->steps[1], t_major, 1, NULL, "%s is the highest %s.y.z", version,
		         t_major);
	if (flags & RS_PROMOTE_NO_LATEST)
		step_set(&p->steps[2], t_latest, 0, NULL, "asked to leave it alone");
	else if (b_all)
		step_set(&p->steps[2], t_latest, 0, b_all, "%s is newer", b_all);
	else
		step_set(&p->steps[2], t_latest, 1, NULL, "%s is the highest release", version);
	*out = p;
	return 0;
}

void rs_promotion_plan_free(rs_promotion_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->count; i++) {
		free(plan->steps[i].tag);
		free(plan->steps[i].reason);
		free(plan->steps[i].newer);
	}
	free(plan->steps);
	free(plan->version);
	free(plan);
}

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

/* ---- fetching the source ------------------------------------------------------------------ */

typedef struct source {
	rs_buf body;
	char *media_type;
	char *digest;
	rs_manifest *manifest; /* parsed on need */
} source;

static void source_dispose(source *s)
{
	rs_buf_dispose(&s->body);
	free(s->media_type);
	free(s->digest);
	rs_manifest_free(s->manifest);
	memset(s, 0, sizeof(*s));
}

/* One GET. The media type to PUT with is the Content-Type the registry stored, when it is a
 * manifest type; else the one the body declares or implies. */
static int source_fetch(source *s, rs_client *c, const rs_ref *src, bool parse)
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
		rs__strlist_push(&mv->done, d->digest);
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
		rs__strlist_push(&mv->done, d->digest);
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

static int check_options(rs_retag_options *o, const rs_retag_options *given)
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
	const source *s;
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
	else if (rs_error_last())
		j->detail = *rs_error_last();
	else
		rs__error_set(error, "tag %s: %s", j->e->ref->tag, rs_strerror(error));
	if (error < 0 && !j->detail.message[0])
		j->detail = *rs_error_last();
	j->error = error;
	return NULL;
}

/* Write every entry that is not a kept promotion step: other repositories' content first,
 * then the PUTs. */
static int retag_write(rs_retag_result *r, rs_client *c, const rs_ref *src, source *s,
                       const rs_retag_options *o)
{
	rs_strlist repos = RS_STRLIST_INIT;
	int error = 0;

	if (o->dry_run)
		return 0;
	for (size_t i = 0; i < r->count && error == 0; i++) {
		const rs_ref *dst = r->entries[i].ref;
		mover mv = {c, src, dst, RS_STRLIST_INIT, r};
		if (r->entries[i].action == RS_RETAG_KEEP || same_repo(dst, src) ||
		    rs__strlist_contains(&repos, dst->path))
			continue;
		if (!s->manifest && (error = rs_manifest_parse(&s->manifest, rs__buf_cstr(&s->body),
		                                               s->body.size, s->media_type)) < 0)
			break;
		error = ensure_content(&mv, s->manifest, 0);
		rs__strlist_dispose(&mv.done);
		rs__strlist_push(&repos, dst->path);
	}
	/* the tag PUTs are independent: send them at once (one round trip instead of n) */
	if (error == 0) {
		put_job *jobs = rs__calloc(r->count ? r->count : 1, sizeof(*jobs));
		pthread_t *threads = rs__calloc(r->count ? r->count : 1, sizeof(*threads));
		bool *started = rs__calloc(r->count ? r->count : 1, sizeof(*started));
		for (size_t i = 0; i < r->count; i++) {
			jobs[i].c = c;
			jobs[i].e = &r->entries[i];
			jobs[i].s = s;
			if (r->entries[i].action == RS_RETAG_KEEP)
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

static rs_retag_result *result_new(const source *s, size_t count)
{
	rs_retag_result *r = rs__calloc(1, sizeof(*r));

	r->digest = rs__strdup(s->digest);
	r->media_type = rs__strdup(s->media_type);
	r->size = s->body.size;
	r->count = count;
	r->entries = count ? rs__calloc(count, sizeof(*r->entries)) : NULL;
	return r;
}

int rs_retag(rs_retag_result **out, rs_client *client, const rs_ref *src,
             const rs_ref *const *targets, size_t ntargets, const rs_retag_options *opts)
{
	rs_retag_options o;
	rs_retag_result *r = NULL;
	source s = {0};
	bool cross = false;
	int error;

	if (!out || !client || !src || (!targets && ntargets))
		return rs__error_set(RS_EINVAL, "rs_retag: missing argument");
	*out = NULL;
	if ((error = check_options(&o, opts)) < 0)
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
	if ((error = source_fetch(&s, client, src, cross && !o.dry_run)) < 0)
		goto done;
	r = result_new(&s, ntargets);
	for (size_t i = 0; i < ntargets; i++) {
		if ((error = rs_ref_dup(&r->entries[i].ref, targets[i])) < 0)
			goto done;
		r->entries[i].action = RS_RETAG_TAG;
	}
	if ((error = retag_write(r, client, src, &s, &o)) < 0)
		goto done;
	*out = r;
	r = NULL;
done:
	rs_retag_result_free(r);
	source_dispose(&s);
	return error;
}

static int collect_tag(const char *tag, void *payload)
{
	rs__strlist_push(payload, tag);
	return 0;
}

int rs_retag_promote(rs_retag_result **out, rs_client *client, const rs_ref *src,
                     const rs_retag_options *opts)
{
	rs_retag_options o;
	rs_retag_result *r = NULL;
	rs_promotion_plan *plan = NULL;
	rs_strlist tags = RS_STRLIST_INIT;
	rs__semver v;
	source s = {0};
	int error;

	if (!out || !client || !src)
		return rs__error_set(RS_EINVAL, "rs_retag_promote: missing argument");
	*out = NULL;
	if ((error = check_options(&o, opts)) < 0)
		return error;
	if (!src->tag)
		return rs__error_set(RS_EINVAL,
		                     "promotion needs a reference with a tag that is a semantic "
		                     "version (X.Y.Z), not only a digest");
	/* nothing is fetched for a tag that cannot be promoted */
	if ((error = rs__semver_parse(&v, src->tag)) < 0)
		return error;
	if ((error = source_fetch(&s, client, src, false)) < 0)
		goto done;
	if ((error = rs_tags_list(client, src, collect_tag, &tags)) < 0)
		goto done;
	if ((error = rs_promotion_plan_new(&plan, src->tag, (const char *const *)tags.items,
	                                   tags.count, o.promote_flags)) < 0)
		goto done;
	r = result_new(&s, plan->count);
	for (size_t i = 0; i < plan->count; i++) {
		const rs_promotion_step *st = &plan->steps[i];
		rs_retag_entry *e = &r->entries[i];
		if ((error = rs_ref_with_tag(&e->ref, src, st->tag)) < 0)
			goto done;
		e->action = st->move ? RS_RETAG_MOVE : RS_RETAG_KEEP;
		e->reason = rs__strdup(st->reason);
		e->newer = st->newer ? rs__strdup(st->newer) : NULL;
	}
	r->plan = plan;
	plan = NULL;
	if ((error = retag_write(r, client, src, &s, &o)) < 0)
		goto done;
	*out = r;
	r = NULL;
done:
	rs_promotion_plan_free(plan);
	rs_retag_result_free(r);
	rs__strlist_dispose(&tags);
	source_dispose(&s);
	return error;
}

void rs_retag_result_free(rs_retag_result *result)
{
	if (!result)
		return;
	for (size_t i = 0; i < result->count; i++) {
		rs_ref_free(result->entries[i].ref);
		free(result->entries[i].reason);
		free(result->entries[i].newer);
	}
	free(result->entries);
	free(result->digest);
	free(result->media_type);
	rs_promotion_plan_free(result->plan);
	free(result);
}

/* ---- untag ------------------------------------------------------------------------------- */

/* DELETE /v2/<name>/manifests/<tag>: the registry's answer, judged by the caller. */
static int delete_by_tag(rs__http_response *resp, rs__endpoint **ep, rs_client *c,
                         const rs_ref *ref)
{
	rs__reg_request req = {0};
	req.method = "DELETE";
	return rs__manifest_request(c, ref, ref->tag, "delete", &req, ep, resp);
}

/* The empty config blob in the repository: HEAD, else a 2-byte upload. */
static int ensure_empty_blob(rs_client *c, const rs_ref *repo)
{
	rs_reader *rd = NULL;
	int error = rs__blob_head(c, repo, EMPTY_BLOB_DIGEST, NULL);

	if (error != RS_ENOTFOUND)
		return error;
	rs_error_clear();
	if ((error = rs_reader_from_memory(&rd, EMPTY_BLOB, 2)) < 0)
		return error;
	error = rs__blob_upload(c, repo, EMPTY_BLOB_DIGEST, 2, rd, NULL, NULL);
	rs_reader_free(rd);
	return error;
}

/* A manifest no other tag can point at: the empty config, no layers, a random annotation. */
static int placeholder_build(rs_buf *out, const char *name, const char *tag)
{
	unsigned char nonce[16];
	char hex[sizeof(nonce) * 2 + 1], *note;
	rs_descriptor config = {0};
	int error;

	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return rs__error_set(RS_ERROR,
		                     "cannot draw random bytes for a placeholder manifest");
	for (size_t i = 0; i < sizeof(nonce); i++)
		snprintf(hex + 2 * i, 3, "%02x", nonce[i]);
	note = printed("regship untag %s:%s %s (deleted right after it was put)", name, tag, hex);
	config.media_type = (char *)RS_MT_OCI_EMPTY;
	config.digest = (char *)EMPTY_BLOB_DIGEST;
	config.size = 2;
	{
		const char *kv[] = {PLACEHOLDER_ANNOTATION, note, NULL};
		error = rs_manifest_build(out, RS_MT_OCI_MANIFEST, &config, NULL, 0, kv);
	}
	free(note);
	return error;
}

static int untag_with_placeholder(rs_untag_result *r, rs_client *c, const rs_ref *ref,
                                  const char *name)
{
	rs_buf body = RS_BUF_INIT;
	rs_ref *by_digest = NULL;
	int error;

	if ((error = ensure_empty_blob(c, ref)) < 0) {
		rs__error_prefix("cannot untag %s:%s: uploading the placeholder's config", name,
		                 ref->tag);
		goto done;
	}
	if ((error = placeholder_build(&body, ref->path, ref->tag)) < 0)
		goto done;
	if ((error = rs_manifest_upload(c, ref, body.ptr, body.size, RS_MT_OCI_MANIFEST,
	                                &r->placeholder)) < 0) {
		rs__error_prefix("cannot untag %s:%s", name, ref->tag);
		goto done;
	}
	r->method = RS_UNTAG_PLACEHOLDER;
	if ((error = rs_ref_with_digest(&by_digest, ref, r->placeholder)) < 0 ||
	    (error = rs_manifest_remove(c, by_digest)) < 0) {
		rs__error_prefix("%s:%s now names the placeholder manifest %s, which could not be "
		                 "deleted",
		                 name, ref->tag, r->placeholder);
		goto done;
	}
done:
	rs_ref_free(by_digest);
	rs_buf_dispose(&body);
	return error;
}

int rs_untag(rs_untag_result **out, rs_client *client, const rs_ref *ref)
{
	rs_untag_result *r = NULL;
	rs__http_response resp = {0};
	rs__endpoint *ep = NULL;
	char *name = NULL;
	const rs_error *last;
	int error;

	if (!out || !client || !ref)
		return rs__error_set(RS_EINVAL, "rs_untag: missing argument");
	*out = NULL;
	name = rs_ref_format_name(ref);
	if (!ref->tag || ref->digest) {
		error = rs__error_set(RS_EINVAL,
		                      "cannot untag %s%s%s: untag removes a tag; name one without "
		                      "a digest",
		                      name, ref->digest ? "@" : "", ref->digest ? ref->digest : "");
		goto done;
	}
	r = rs__calloc(1, sizeof(*r));
	error = rs_manifest_resolve(client, ref, &r->digest, NULL, NULL);
	if (error == RS_ENOTFOUND) {
		last = rs_error_last();
		error = rs__error_set_http(RS_ENOTFOUND, last ? last->http_status : 404,
		                           last && last->registry_code[0] ? last->registry_code
		                                                          : NULL,
		                           "cannot untag %s:%s: no such tag", name, ref->tag);
		goto done;
	}
	if (error < 0)
		goto done;

	/* OCI distribution 1.1: a registry may delete a tag */
	if ((error = delete_by_tag(&resp, &ep, client, ref)) < 0)
		goto done;
	if (resp.status == 202 || resp.status == 200 || resp.status == 204) {
		r->method = RS_UNTAG_DELETED;
		goto done;
	}
	{
		error = rs__registry_errorf(ep, &resp, "cannot untag %s:%s", name, ref->tag);
	}
	last = rs_error_last();
	if (error == RS_EAUTH || error == RS_ENOTFOUND || error == RS_ENET || resp.status == 405 ||
	    (last && !strcmp(last->registry_code, "UNSUPPORTED"))) {
		/* not "this registry cannot delete tags": deletion is off, or not allowed, or
		 * the tag went away, or the registry is in trouble. Nothing was changed. */
		if (resp.status == 405 ||
		    (last && !strcmp(last->registry_code, "UNSUPPORTED") && error != RS_EAUTH))
			error = rs__error_set_http(
			        RS_EUNSUPPORTED, resp.status, "UNSUPPORTED",
			        "cannot untag %s:%s: deletion is disabled on %s (%d; the registry "
			        "operator must enable it, e.g. storage.delete.enabled: true for "
			        "docker-registry)",
			        name, ref->tag, ep->domain, resp.status);
		goto done;
	}
	/* distribution 2.x answers 400 DIGEST_INVALID: it only deletes by digest */
	rs_error_clear();
	error = untag_with_placeholder(r, client, ref, name);
done:
	if (error == 0) {
		*out = r;
		r = NULL;
	}
	rs__http_response_dispose(&resp);
	rs_untag_result_free(r);
	free(name);
	return error;
}

void rs_untag_result_free(rs_untag_result *result)
{
	if (!result)
		return;
	free(result->digest);
	free(result->placeholder);
	free(result);
}
