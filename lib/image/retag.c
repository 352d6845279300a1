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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Index nesting followed into another repository (index -> index -> manifest is already rare). */
#define RETAG_MAX_DEPTH 4

/* The empty JSON blob `{}` (OCI 1.1 image spec, "Guidance for an Empty Descriptor"). */
#define EMPTY_BLOB "{}"
#define EMPTY_BLOB_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define PLACEHOLDER_ANNOTATION "org.regship.untag.placeholder"

/* ---- promotion plans ----------------------------------------------------------------------- */

/* At most this many releases are looked up per floating tag and round. */
#define PROMOTE_BATCH 16
/* A floating tag whose manifest none of the newest this-many releases of its line point at is
 * refused (as if none did): a line of 100,000 releases is not looked up in full. */
#define PROMOTE_MAX_LOOKUPS 256

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

static void step_set(rs_promotion_step *s, rs_retag_action action, const char *fmt, ...)
        RS_PRINTF(3, 4);

static void step_set(rs_promotion_step *s, rs_retag_action action, const char *fmt, ...)
{
	rs_buf reason = RS_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	rs__buf_vprintf(&reason, fmt, ap);
	va_end(ap);
	free(s->reason);
	s->action = action;
	s->reason = rs__buf_detach(&reason);
}

/* tag is a release of the variant suffix (NULL: plain releases): [v]X.Y.Z[-suffix], no
 * pre-release. */
static bool release_of(rs__semver *out, const char *tag, const char *suffix)
{
	char base[160];
	size_t lt, ls;

	if (!tag)
		return false;
	if (!suffix)
		return rs__semver_try(out, tag) && !out->pre;
	lt = strlen(tag);
	ls = strlen(suffix);
	if (lt <= ls + 1 || tag[lt - ls - 1] != '-' || strcmp(tag + lt - ls, suffix) ||
	    lt - ls - 1 >= sizeof(base))
		return false;
	memcpy(base, tag, lt - ls - 1);
	base[lt - ls - 1] = '\0';
	if (!rs__semver_try(out, base) || out->pre)
		return false;
	out->pre = NULL;
	return true;
}

int rs_promotion_check(const char *release, const char *suffix)
{
	rs__semver v;
	const char *dash;
	size_t lt, ls;
	char *base = NULL;
	int error = 0;

	if (!release || !*release)
		return rs__error_set(RS_EINVAL, "no release to promote");
	if (suffix) {
		/* a variant starting like a version ("1", "v2") would name X or vX itself */
		if (!*suffix || rs_ref_check_tag(suffix) < 0 ||
		    (suffix[0] >= '0' && suffix[0] <= '9') ||
		    (suffix[0] == 'v' && suffix[1] >= '0' && suffix[1] <= '9'))
			return rs__error_set(RS_EINVAL,
			                     "invalid --suffix \"%s\": a variant is a word such as "
			                     "alpine or slim-bookworm, starting with a letter "
			                     "(not a version)",
			                     suffix);
		/* its floating tag would be latest itself, which belongs to the plain releases */
		if (!strcmp(suffix, "latest"))
			return rs__error_set(RS_EINVAL,
			                     "invalid --suffix latest: the variant's own floating "
			                     "tag would be latest, which the releases without a "
			                     "variant hold");
		lt = strlen(release);
		ls = strlen(suffix);
		if (lt <= ls + 1 || release[lt - ls - 1] != '-' ||
		    strcmp(release + lt - ls, suffix))
			return rs__error_set(
			        RS_EINVAL,
			        "cannot promote %s as the %s variant: its tag does not "
			        "end in \"-%s\" (promote X.Y.Z-%s)",
			        release, suffix, suffix, suffix);
		base = rs__strndup(release, lt - ls - 1);
	} else {
		base = rs__strdup(release);
	}
	if (!rs__semver_try(&v, base)) {
		error = rs__semver_parse(&v, base);
		rs__error_prefix("cannot promote %s: it is not a release", release);
		goto done;
	}
	if (v.pre) {
		dash = strchr(base, '-');
		if (suffix)
			error = rs__error_set(RS_EINVAL,
			                      "cannot promote %s: %s is a pre-release, and "
			                      "pre-releases are never promoted",
			                      release, base);
		else
			error = rs__error_set(
			        RS_EINVAL,
			        "cannot promote %s: it is a pre-release, and "
			        "pre-releases are never promoted to X.Y, X or latest; if "
			        "\"%s\" names a variant, use --suffix %s",
			        release, dash + 1, dash + 1);
	}
done:
	free(base);
	return error;
}

typedef struct candidate {
	size_t idx; /* in tags */
	rs__semver v;
} candidate;

static int candidate_cmp(const void *a, const void *b)
{
	const candidate *x = a, *y = b;
	return -rs__semver_cmp(&x->v, &y->v);
}

static ssize_t tag_index(const char *const *tags, size_t n, const char *tag)
{
	for (size_t i = 0; i < n; i++)
		if (tags[i] && !strcmp(tags[i], tag))
			return (ssize_t)i;
	return -1;
}

/* Does release c belong to the line of floating step i (0: X.Y, 1: X, 2: latest)? */
static bool in_scope(const rs__semver *c, const rs__semver *v, size_t i)
{
	if (i == 2)
		return true;
	if (c->v_prefix != v->v_prefix || c->major != v->major)
		return false;
	return i == 1 || c->minor == v->minor;
}

/* "2.1.z", "v2.y.z", "2.1.z-alpine"; "" for latest ("alpine" for a variant's) */
static char *scope_name(const rs__semver *v, size_t i, const char *suffix)
{
	const char *pfx = v->v_prefix ? "v" : "", *sfx = suffix ? "-" : "";
	if (i == 0)
		return printed("%s%llu.%llu.z%s%s", pfx, (unsigned long long)v->major,
		               (unsigned long long)v->minor, sfx, suffix ? suffix : "");
	if (i == 1)
		return printed("%s%llu.y.z%s%s", pfx, (unsigned long long)v->major, sfx,
		               suffix ? suffix : "");
	return rs__strdup(suffix ? suffix : "");
}

static void need(rs_strlist *needed, const char *tag)
{
	if (!rs__strlist_contains(needed, tag))
		rs__strlist_push(needed, tag);
}

/* A floating tag that does not exist: created, unless a newer release of its line exists
 * (creating it on an older one would start it off backwards). */
static void absent(rs_promotion_step *s, const rs__semver *v, size_t i, const candidate *cands,
                   size_t ncands, const char *const *tags)
{
	for (size_t k = 0; k < ncands; k++)
		if (in_scope(&cands[k].v, v, i) && rs__semver_cmp(&cands[k].v, v) > 0) {
			step_set(s, RS_RETAG_KEEP,
			         "it does not exist, and %s is newer (promote that to create it)",
			         tags[cands[k].idx]);
			return;
		}
	step_set(s, RS_RETAG_MOVE, "it does not exist yet");
}

int rs_promotion_plan_new(rs_promotion_plan **out, const char *release, const char *suffix,
                          const char *digest, const char *const *tags, const char *const *digests,
                          size_t ntags, unsigned int flags)
{
	rs_promotion_plan *p = NULL;
	rs_strlist needed = RS_STRLIST_INIT;
	candidate *cands = NULL;
	size_t ncands = 0;
	rs__semver v;
	const char *pfx, *sfx;
	bool floats_known = true;
	ssize_t fidx[3];
	int error;

	if (!out || !release || !digest || (!tags && ntags))
		return rs__error_set(RS_EINVAL, "rs_promotion_plan_new: missing argument");
	*out = NULL;
	if ((error = rs_promotion_check(release, suffix)) < 0)
		return error;
	release_of(&v, release, suffix);
	pfx = v.v_prefix ? "v" : "";
	sfx = suffix ? "-" : "";

	p = rs__calloc(1, sizeof(*p));
	p->version = rs__strdup(release);
	p->suffix = suffix ? rs__strdup(suffix) : NULL;
	p->count = 3;
	p->steps = rs__calloc(p->count, sizeof(*p->steps));
	p->steps[0].tag = printed("%s%llu.%llu%s%s", pfx, (unsigned long long)v.major,
	                          (unsigned long long)v.minor, sfx, suffix ? suffix : "");
	p->steps[1].tag =
	        printed("%s%llu%s%s", pfx, (unsigned long long)v.major, sfx, suffix ? suffix : "");
	p->steps[2].tag = rs__strdup(suffix ? suffix : "latest");

	/* the releases of the same variant, highest first (the promoted one aside: it points
	 * at `digest`) */
	cands = rs__calloc(ntags ? ntags : 1, sizeof(*cands));
	for (size_t i = 0; i < ntags; i++)
		if (tags[i] && strcmp(tags[i], release) &&
		    release_of(&cands[ncands].v, tags[i], suffix))
			cands[ncands++].idx = i;
	qsort(cands, ncands, sizeof(*cands), candidate_cmp);

	/* where each floating tag points now */
	for (size_t i = 0; i < p->count; i++) {
		rs_promotion_step *s = &p->steps[i];
		const char *d;
		fidx[i] = tag_index(tags, ntags, s->tag);
		if (i == 2 && (flags & RS_PROMOTE_NO_LATEST)) {
			step_set(s, RS_RETAG_KEEP, "asked to leave it alone");
			continue;
		}
		if (fidx[i] < 0) {
			absent(s, &v, i, cands, ncands, tags);
			continue;
		}
		d = digests ? digests[fidx[i]] : NULL;
		if (!d) {
			need(&needed, s->tag);
			floats_known = false;
			step_set(s, RS_RETAG_KEEP, "not looked up yet");
			continue;
		}
		if (!*d) {
			absent(s, &v, i, cands, ncands, tags);
			continue;
		}
		s->previous = rs__strdup(d);
		if (!strcmp(d, digest))
			step_set(s, RS_RETAG_ALREADY, "already at %s", release);
	}

	for (size_t i = 0; i < p->count; i++)
		if (!p->steps[i].reason)
			step_set(&p->steps[i], RS_RETAG_KEEP, "not decided yet");

	/* which release holds each floating tag's manifest: the highest that points at it */
	for (size_t i = 0; i < p->count && floats_known; i++) {
		rs_promotion_step *s = &p->steps[i];
		const candidate *holder = NULL;
		size_t unknown = 0, known = 0, limit;
		if (!s->previous || s->action == RS_RETAG_ALREADY ||
		    (i == 2 && (flags & RS_PROMOTE_NO_LATEST)))
			continue;
		/* the first round asks for the highest release only (usually the holder),
		 * then twice as many as are known so far, at most PROMOTE_BATCH */
		for (size_t k = 0; k < ncands; k++) {
			const char *d;
			if (!in_scope(&cands[k].v, &v, i))
				continue;
			d = digests[cands[k].idx];
			limit = known < 1 ? 1 : (known < PROMOTE_BATCH ? known : PROMOTE_BATCH);
			if (!d && known >= PROMOTE_MAX_LOOKUPS)
				break; /* the newest ones do not hold it: refused below */
			if (!d) {
				if (unknown >= limit)
					break;
				need(&needed, tags[cands[k].idx]);
				unknown++;
			} else if (!unknown) {
				known++;
			}
			if (d && *d && !strcmp(d, s->previous)) {
				holder = &cands[k];
				break;
			}
		}
		if (unknown) {
			step_set(s, RS_RETAG_KEEP, "not decided yet");
			continue;
		}
		if (holder) {
			const char *h = tags[holder->idx];
			s->holder = rs__strdup(h);
			if (rs__semver_cmp(&v, &holder->v) > 0)
				step_set(s, RS_RETAG_MOVE, "it points at %s, older than %s", h,
				         release);
			else if (rs__semver_cmp(&v, &holder->v) == 0)
				step_set(s, RS_RETAG_MOVE, "it points at %s, the same version", h);
			else
				step_set(s, RS_RETAG_KEEP, "it points at %s, which is newer", h);
		} else {
			char *line = scope_name(&v, i, suffix);
			if (flags & RS_PROMOTE_FORCE)
				step_set(s, RS_RETAG_MOVE,
				         "forced: it points at %s, which no %s%srelease points at",
				         s->previous, line, *line ? " " : "");
			else
				step_set(
				        s, RS_RETAG_REFUSE,
				        "it points at %s, which no %s%srelease points at (was that "
				        "release untagged?); --force moves it anyway",
				        s->previous, line, *line ? " " : "");
			p->refused = p->refused || !(flags & RS_PROMOTE_FORCE);
			free(line);
		}
	}
	if (needed.count) {
		p->refused = 0;
		p->nneeded = needed.count;
		p->needed = rs__calloc(needed.count, sizeof(*p->needed));
		for (size_t i = 0; i < needed.count; i++)
			p->needed[i] = rs__strdup(needed.items[i]);
	}
	rs__strlist_dispose(&needed);
	free(cands);
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
		free(plan->steps[i].previous);
		free(plan->steps[i].holder);
	}
	for (size_t i = 0; i < plan->nneeded; i++)
		free(plan->needed[i]);
	free(plan->needed);
	free(plan->steps);
	free(plan->version);
	free(plan->suffix);
	free(plan);
}

/* ---- tag lists for release scripts --------------------------------------------------------- */

static int tag_order(const void *a, const void *b)
{
	return rs__semver_tag_order(*(char *const *)a, *(char *const *)b);
}

void rs_tags_sort_semver(char **tags, size_t n)
{
	if (tags && n > 1)
		qsort(tags, n, sizeof(*tags), tag_order);
}

int rs_tags_latest(const char **out, const char *const *tags, size_t n, const char *prefix)
{
	rs__semver_line line;
	rs__semver best_v = {0};
	const char *best = NULL;
	int error;

	if (!out || (!tags && n))
		return rs__error_set(RS_EINVAL, "rs_tags_latest: missing argument");
	*out = NULL;
	if (prefix && (error = rs__semver_line_parse(&line, prefix)) < 0)
		return error;
	for (size_t i = 0; i < n; i++) {
		rs__semver t;
		int c;
		if (!release_of(&t, tags[i], NULL) || (prefix && !rs__semver_on_line(&t, &line)))
			continue;
		if (!best || (c = rs__semver_cmp(&t, &best_v)) > 0 ||
		    (c == 0 && strcmp(tags[i], best) < 0)) {
			best = tags[i];
			best_v = t;
		}
	}
	if (!best)
		return rs__error_set(RS_ENOTFOUND, "no release%s%s%s among %zu tag%s",
		                     prefix ? " on the line " : "", prefix ? prefix : "",
		                     prefix ? "" : " (X.Y.Z or vX.Y.Z)", n, n == 1 ? "" : "s");
	*out = best;
	return 0;
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

/* ---- many tags' digests in parallel --------------------------------------------------------- */

/* Lookups in flight at once: enough to hide the round trips, few enough for any registry. */
#define HEAD_JOBS 8

typedef struct head_pool {
	rs_client *c;
	const rs_ref *repo;
	const char *const *tags;
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
		if (rs_ref_with_tag(&t, p->repo, p->tags[i]) < 0) {
			rs_error_clear();
			continue;
		}
		error = rs_manifest_resolve(p->c, t, &d, NULL, NULL);
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
				if (e)
					p->detail = *e;
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

int rs_tags_digests(char ***out, rs_client *client, const rs_ref *repo, const char *const *tags,
                    size_t n)
{
	head_pool p;
	pthread_t threads[HEAD_JOBS - 1];
	size_t started = 0;

	if (!out || !client || !repo || (!tags && n))
		return rs__error_set(RS_EINVAL, "rs_tags_digests: missing argument");
	memset(&p, 0, sizeof(p));
	p.c = client;
	p.repo = repo;
	p.tags = tags;
	p.n = n;
	p.out = rs__calloc(n ? n : 1, sizeof(*p.out));
	pthread_mutex_init(&p.lock, NULL);
	for (size_t i = 0; i + 1 < HEAD_JOBS && i + 1 < n; i++)
		if (pthread_create(&threads[started], NULL, head_worker, &p) == 0)
			started++;
	head_worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&p.lock);
	if (p.error) {
		for (size_t i = 0; i < n; i++)
			free(p.out[i]);
		free(p.out);
		*out = NULL;
		return rs__error_set_http(p.detail.code ? p.detail.code : p.error,
		                          p.detail.http_status,
		                          p.detail.registry_code[0] ? p.detail.registry_code : NULL,
		                          "%s", p.detail.message);
	}
	*out = p.out;
	return 0;
}

static void digests_free(char **d, size_t n)
{
	if (!d)
		return;
	for (size_t i = 0; i < n; i++)
		free(d[i]);
	free(d);
}

/* ---- promotion ------------------------------------------------------------------------------ */

/* The manifest a tag pointed at before, kept to put it back. */
typedef struct saved {
	char *digest;
	rs_buf body;
	char *media_type;
} saved;

/* Look up, in one parallel round, the tags the plan needs; unknown -> digest or "" */
static int promote_lookup(rs_client *c, const rs_ref *src, const rs_promotion_plan *plan,
                          const rs_strlist *tags, char **known)
{
	char **found = NULL;
	int error;

	if ((error = rs_tags_digests(&found, c, src, (const char *const *)plan->needed,
	                             plan->nneeded)) < 0)
		return error;
	for (size_t i = 0; i < plan->nneeded; i++) {
		ssize_t k =
		        tag_index((const char *const *)tags->items, tags->count, plan->needed[i]);
		if (k >= 0 && !known[k]) {
			known[k] = found[i] ? found[i] : rs__strdup("");
			found[i] = NULL;
		}
	}
	digests_free(found, plan->nneeded);
	return 0;
}

/* Put tag e back where it was: the saved bytes under it, or untag it if it was new. */
static int rollback_one(rs_client *c, rs_retag_entry *e, const saved *saves, size_t nsaves)
{
	rs_untag_result *u = NULL;
	int error;

	if (!e->previous) {
		error = rs_untag(&u, c, e->ref);
		rs_untag_result_free(u);
		return error;
	}
	for (size_t i = 0; i < nsaves; i++)
		if (!strcmp(saves[i].digest, e->previous))
			return rs_manifest_upload(c, e->ref, rs__buf_cstr(&saves[i].body),
			                          saves[i].body.size, saves[i].media_type, NULL);
	return rs__error_set(RS_ERROR, "the manifest %s was not kept", e->previous);
}

static bool entry_writes(const rs_retag_entry *e)
{
	return e->action == RS_RETAG_MOVE || e->action == RS_RETAG_TAG;
}

/* Write the entries in order; on a failure put the written ones back. */
static int promote_write(rs_retag_result *r, rs_client *c, const source *s, const char *name)
{
	saved *saves = rs__calloc(r->count, sizeof(*saves));
	size_t nsaves = 0, failed = r->count;
	rs_buf msg = RS_BUF_INIT, moved = RS_BUF_INIT;
	rs_error first = {0};
	int error = 0;

	/* every manifest a tag may have to be put back on is fetched before the first write */
	for (size_t i = 0; i < r->count && error == 0; i++) {
		rs_retag_entry *e = &r->entries[i];
		rs_ref *by_digest = NULL;
		bool have = false;
		if (!entry_writes(e) || !e->previous)
			continue;
		for (size_t k = 0; k < nsaves; k++)
			have = have || !strcmp(saves[k].digest, e->previous);
		if (have)
			continue;
		saves[nsaves].digest = rs__strdup(e->previous);
		if ((error = rs_ref_with_digest(&by_digest, e->ref, e->previous)) == 0)
			error = rs_manifest_fetch(c, by_digest, &saves[nsaves].body,
			                          &saves[nsaves].media_type, NULL);
		rs_ref_free(by_digest);
		nsaves++;
		if (error < 0)
			rs__error_prefix(
			        "cannot promote %s: keeping %s's manifest %s to put it back "
			        "on failure; nothing was written",
			        name, e->ref->tag, e->previous);
	}
	for (size_t i = 0; i < r->count && error == 0; i++) {
		rs_retag_entry *e = &r->entries[i];
		char *digest = NULL;
		if (!entry_writes(e))
			continue;
		error = rs_manifest_upload(c, e->ref, rs__buf_cstr(&s->body), s->body.size,
		                           s->media_type, &digest);
		if (error == 0 && strcmp(digest, s->digest) &&
		    rs__str_startswith(s->digest, "sha256:"))
			error = rs__error_set(RS_EDIGEST, "the bytes put hash to %s, not %s",
			                      digest, s->digest);
		free(digest);
		if (error == 0)
			e->written = 1;
		else
			failed = i;
	}
	if (error == 0 || failed == r->count)
		goto done;
	first = *rs_error_last();
	/* undo, newest write first */
	for (size_t i = failed; i > 0; i--) {
		rs_retag_entry *e = &r->entries[i - 1];
		if (!e->written)
			continue;
		rs__buf_printf(&moved, "%s%s", moved.size ? ", " : "", e->ref->tag);
		if (rollback_one(c, e, saves, nsaves) == 0) {
			e->rolled_back = 1;
			continue;
		}
		rs__buf_printf(&msg, "; rollback failed: %s now points at %s instead of %s (%s)",
		               e->ref->tag, r->digest, e->previous ? e->previous : "not existing",
		               rs_error_last() ? rs_error_last()->message : "error");
	}
	if (!moved.size)
		error = rs__error_set_http(first.code, first.http_status,
		                           first.registry_code[0] ? first.registry_code : NULL,
		                           "cannot promote %s: writing %s: %s; nothing was moved",
		                           name, r->entries[failed].ref->tag, first.message);
	else
		error = rs__error_set_http(RS_ERROR, first.http_status,
		                           first.registry_code[0] ? first.registry_code : NULL,
		                           "cannot promote %s: writing %s: %s; moved %s, %s%s",
		                           name, r->entries[failed].ref->tag, first.message,
		                           moved.ptr,
		                           msg.size ? "then tried to put them back"
		                                    : "then put "
		                                      "them back",
		                           msg.size ? msg.ptr : "");
done:
	for (size_t i = 0; i < nsaves; i++) {
		free(saves[i].digest);
		rs_buf_dispose(&saves[i].body);
		free(saves[i].media_type);
	}
	free(saves);
	rs_buf_dispose(&msg);
	rs_buf_dispose(&moved);
	return error;
}

/* The source must be where it says: REPO:TAG@DIGEST needs TAG on DIGEST. */
static int check_source_tag(rs_client *c, const rs_ref *src, const char *name)
{
	rs_ref *t = NULL;
	char *d = NULL;
	int error;

	if ((error = rs_ref_with_tag(&t, src, src->tag)) < 0)
		return error;
	error = rs_manifest_resolve(c, t, &d, NULL, NULL);
	if (error == RS_ENOTFOUND)
		error = rs__error_set(RS_ENOTFOUND,
		                      "cannot promote %s:%s@%s: tag %s does not exist", name,
		                      src->tag, src->digest, src->tag);
	else if (error == 0 && strcmp(d, src->digest))
		error = rs__error_set(RS_ERROR,
		                      "cannot promote %s:%s@%s: %s points at %s, not at the digest "
		                      "given; nothing was written",
		                      name, src->tag, src->digest, src->tag, d);
	free(d);
	rs_ref_free(t);
	return error;
}

int rs_retag_promote(rs_retag_result **out, rs_client *client, const rs_ref *src,
                     const rs_retag_options *opts)
{
	rs_retag_options o;
	rs_retag_result *r = NULL;
	rs_promotion_plan *plan = NULL;
	rs_strlist tags = RS_STRLIST_INIT;
	char **known = NULL, *name = NULL, *release_previous = NULL;
	const char *release;
	size_t first = 0;
	source s = {0};
	int error;

	if (!out || !client || !src)
		return rs__error_set(RS_EINVAL, "rs_retag_promote: missing argument");
	*out = NULL;
	if ((error = check_options(&o, opts)) < 0)
		return error;
	if (src->tag && o.release)
		return rs__error_set(RS_EINVAL, "--release goes with a source given by digest only "
		                                "(REPOSITORY@DIGEST): the source's tag names the "
		                                "release");
	if (!src->tag && !o.release)
		return rs__error_set(
		        RS_EINVAL,
		        "promotion needs a reference with a tag that is a release "
		        "(X.Y.Z), not only a digest; or name the release with --release");
	release = src->tag ? src->tag : o.release;
	if (o.release && (error = rs_ref_check_tag(o.release)) < 0)
		return error;
	/* nothing is fetched for a tag that cannot be promoted */
	if ((error = rs_promotion_check(release, o.suffix)) < 0)
		return error;
	name = rs_ref_format_name(src);
	if ((error = source_fetch(&s, client, src, false)) < 0)
		goto done;
	if (src->tag && src->digest && (error = check_source_tag(client, src, name)) < 0)
		goto done;
	if ((error = rs_tags_list(client, src, collect_tag, &tags)) < 0)
		goto done;
	known = rs__calloc(tags.count ? tags.count : 1, sizeof(*known));
	if (o.release) {
		/* the release tag itself: new, already right, or (only with --force) moved */
		ssize_t k = tag_index((const char *const *)tags.items, tags.count, o.release);
		if (k >= 0) {
			char **d = NULL;
			const char *one[] = {o.release};
			if ((error = rs_tags_digests(&d, client, src, one, 1)) < 0)
				goto done;
			release_previous = d[0];
			free(d);
		}
		if (release_previous && strcmp(release_previous, s.digest) &&
		    !(o.promote_flags & RS_PROMOTE_FORCE)) {
			error = rs__error_set(RS_ERROR,
			                      "cannot promote %s@%s as %s: tag %s points at %s; a "
			                      "release tag is not moved without --force",
			                      name, s.digest, o.release, o.release,
			                      release_previous);
			goto done;
		}
	}
	for (;;) {
		if ((error = rs_promotion_plan_new(
		             &plan, release, o.suffix, s.digest, (const char *const *)tags.items,
		             (const char *const *)known, tags.count, o.promote_flags)) < 0)
			goto done;
		if (!plan->nneeded)
			break;
		if ((error = promote_lookup(client, src, plan, &tags, known)) < 0)
			goto done;
		rs_promotion_plan_free(plan);
		plan = NULL;
	}
	first = o.release ? 1 : 0;
	r = result_new(&s, plan->count + first);
	if (o.release) {
		rs_retag_entry *e = &r->entries[0];
		if ((error = rs_ref_with_tag(&e->ref, src, o.release)) < 0)
			goto done;
		e->previous = release_previous;
		release_previous = NULL;
		if (e->previous && !strcmp(e->previous, s.digest)) {
			e->action = RS_RETAG_ALREADY;
			e->reason = printed("already at %s", o.release);
		} else {
			e->action = RS_RETAG_TAG;
			e->reason = e->previous ? printed("forced: it pointed at %s", e->previous)
			                        : printed("the release, named by --release");
		}
	}
	for (size_t i = 0; i < plan->count; i++) {
		const rs_promotion_step *st = &plan->steps[i];
		rs_retag_entry *e = &r->entries[first + i];
		if ((error = rs_ref_with_tag(&e->ref, src, st->tag)) < 0)
			goto done;
		e->action = st->action;
		e->reason = rs__strdup(st->reason);
		e->previous = st->previous ? rs__strdup(st->previous) : NULL;
		e->holder = st->holder ? rs__strdup(st->holder) : NULL;
	}
	r->plan = plan;
	plan = NULL;
	if (r->plan->refused) {
		rs_buf which = RS_BUF_INIT;
		size_t n = 0;
		for (size_t i = 0; i < r->plan->count; i++)
			if (r->plan->steps[i].action == RS_RETAG_REFUSE)
				rs__buf_printf(&which, "%s%s", n++ ? ", " : "",
				               r->plan->steps[i].tag);
		error = rs__error_set(RS_ERROR,
		                      "cannot promote %s:%s: %s %s at a manifest that no release "
		                      "of %s line points at; nothing was written (--force moves "
		                      "%s anyway)",
		                      name, release, which.ptr, n == 1 ? "points" : "point",
		                      n == 1 ? "its" : "their", n == 1 ? "it" : "them");
		rs_buf_dispose(&which);
		*out = r;
		r = NULL;
		goto done;
	}
	if (!o.dry_run && (error = promote_write(r, client, &s, name)) < 0) {
		*out = r;
		r = NULL;
		goto done;
	}
	*out = r;
	r = NULL;
done:
	rs_promotion_plan_free(plan);
	rs_retag_result_free(r);
	digests_free(known, tags.count);
	rs__strlist_dispose(&tags);
	source_dispose(&s);
	free(release_previous);
	free(name);
	return error;
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
