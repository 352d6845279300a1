/*
 * Promotion plans and tag lists (see include/regship/retag.h): which floating tags a release
 * moves, decided from what the registry stores; pure, no request.
 */
#include "regship/retag.h"

#include "image/retag_internal.h"
#include "image/semver.h"
#include "util/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---- promotion plans ----------------------------------------------------------------------- */

/* At most this many releases are looked up per floating tag and round. */
#define PROMOTE_BATCH 16
/* A floating tag whose manifest none of the newest this-many releases of its line point at is
 * refused (as if none did): a line of 100,000 releases is not looked up in full. */
#define PROMOTE_MAX_LOOKUPS 256

/* 0, or RS_ENOMEM (set) when the reason could not be built. */
static int step_set(rs_promotion_step *s, rs_retag_action action, const char *fmt, ...)
        RS_PRINTF(3, 4);

static int step_set(rs_promotion_step *s, rs_retag_action action, const char *fmt, ...)
{
	rs_buf reason = RS_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	rs__buf_vprintf(&reason, fmt, ap);
	va_end(ap);
	free(s->reason);
	s->action = action;
	s->reason = rs__buf_detach(&reason);
	return s->reason ? 0 : rs__oom();
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
	if (!base)
		return rs__oom();
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

ssize_t rs__retag_tag_index(const char *const *tags, size_t n, const char *tag)
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
		return rs__strfmt("%s%llu.%llu.z%s%s", pfx, (unsigned long long)v->major,
		                  (unsigned long long)v->minor, sfx, suffix ? suffix : "");
	if (i == 1)
		return rs__strfmt("%s%llu.y.z%s%s", pfx, (unsigned long long)v->major, sfx,
		                  suffix ? suffix : "");
	return rs__strdup(suffix ? suffix : "");
}

static int need(rs_strlist *needed, const char *tag)
{
	if (!rs__strlist_contains(needed, tag))
		return rs__strlist_push(needed, tag);
	return 0;
}

/* A floating tag that does not exist: created, unless a newer release of its line exists
 * (creating it on an older one would start it off backwards). */
static int absent(rs_promotion_step *s, const rs__semver *v, size_t i, const candidate *cands,
                  size_t ncands, const char *const *tags)
{
	for (size_t k = 0; k < ncands; k++)
		if (in_scope(&cands[k].v, v, i) && rs__semver_cmp(&cands[k].v, v) > 0)
			return step_set(
			        s, RS_RETAG_KEEP,
			        "it does not exist, and %s is newer (promote that to create it)",
			        tags[cands[k].idx]);
	return step_set(s, RS_RETAG_MOVE, "it does not exist yet");
}

/* Which release holds step i's manifest: the highest that points at it (or the releases to look
 * up first, into needed). */
static int decide_step(rs_promotion_plan *p, size_t i, const rs__semver *v, const char *release,
                       const char *suffix, const candidate *cands, size_t ncands,
                       const char *const *tags, const char *const *digests, unsigned int flags,
                       rs_strlist *needed)
{
	rs_promotion_step *s = &p->steps[i];
	const candidate *holder = NULL;
	size_t unknown = 0, known = 0, limit;

	/* the first round asks for the highest release only (usually the holder),
	 * then twice as many as are known so far, at most PROMOTE_BATCH */
	for (size_t k = 0; k < ncands; k++) {
		const char *d;
		if (!in_scope(&cands[k].v, v, i))
			continue;
		d = digests[cands[k].idx];
		limit = known < 1 ? 1 : (known < PROMOTE_BATCH ? known : PROMOTE_BATCH);
		if (!d && known >= PROMOTE_MAX_LOOKUPS)
			break; /* the newest ones do not hold it: refused below */
		if (!d) {
			if (unknown >= limit)
				break;
			if (need(needed, tags[cands[k].idx]) < 0)
				return RS_ENOMEM;
			unknown++;
		} else if (!unknown) {
			known++;
		}
		if (d && *d && !strcmp(d, s->previous)) {
			holder = &cands[k];
			break;
		}
	}
	if (unknown)
		return step_set(s, RS_RETAG_KEEP, "not decided yet");
	if (holder) {
		const char *h = tags[holder->idx];
		if (!(s->holder = rs__strdup(h)))
			return rs__oom();
		if (rs__semver_cmp(v, &holder->v) > 0)
			return step_set(s, RS_RETAG_MOVE, "it points at %s, older than %s", h,
			                release);
		else if (rs__semver_cmp(v, &holder->v) == 0)
			return step_set(s, RS_RETAG_MOVE, "it points at %s, the same version", h);
		else
			return step_set(s, RS_RETAG_KEEP, "it points at %s, which is newer", h);
	} else {
		char *line = scope_name(v, i, suffix);
		int error;
		if (!line)
			return rs__oom();
		if (flags & RS_PROMOTE_FORCE)
			error = step_set(s, RS_RETAG_MOVE,
			                 "forced: it points at %s, which no %s%srelease points at",
			                 s->previous, line, *line ? " " : "");
		else
			error = step_set(
			        s, RS_RETAG_REFUSE,
			        "it points at %s, which no %s%srelease points at (was that "
			        "release untagged?); --force moves it anyway",
			        s->previous, line, *line ? " " : "");
		p->refused = p->refused || !(flags & RS_PROMOTE_FORCE);
		free(line);
		return error;
	}
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

	if (!(p = rs__calloc(1, sizeof(*p))))
		return rs__oom();
	p->version = rs__strdup(release);
	p->suffix = suffix ? rs__strdup(suffix) : NULL;
	p->steps = rs__calloc(3, sizeof(*p->steps));
	if (!p->version || (suffix && !p->suffix) || !p->steps)
		goto oom;
	p->count = 3;
	p->steps[0].tag = rs__strfmt("%s%llu.%llu%s%s", pfx, (unsigned long long)v.major,
	                             (unsigned long long)v.minor, sfx, suffix ? suffix : "");
	p->steps[1].tag = rs__strfmt("%s%llu%s%s", pfx, (unsigned long long)v.major, sfx,
	                             suffix ? suffix : "");
	p->steps[2].tag = rs__strdup(suffix ? suffix : "latest");
	if (!p->steps[0].tag || !p->steps[1].tag || !p->steps[2].tag)
		goto oom;

	/* the releases of the same variant, highest first (the promoted one aside: it points
	 * at `digest`) */
	if (!(cands = rs__calloc(ntags ? ntags : 1, sizeof(*cands))))
		goto oom;
	for (size_t i = 0; i < ntags; i++)
		if (tags[i] && strcmp(tags[i], release) &&
		    release_of(&cands[ncands].v, tags[i], suffix))
			cands[ncands++].idx = i;
	qsort(cands, ncands, sizeof(*cands), candidate_cmp);

	/* where each floating tag points now */
	for (size_t i = 0; i < p->count; i++) {
		rs_promotion_step *s = &p->steps[i];
		const char *d;
		fidx[i] = rs__retag_tag_index(tags, ntags, s->tag);
		if (i == 2 && (flags & RS_PROMOTE_NO_LATEST)) {
			if (step_set(s, RS_RETAG_KEEP, "asked to leave it alone") < 0)
				goto oom;
			continue;
		}
		if (fidx[i] < 0) {
			if (absent(s, &v, i, cands, ncands, tags) < 0)
				goto oom;
			continue;
		}
		d = digests ? digests[fidx[i]] : NULL;
		if (!d) {
			if (need(&needed, s->tag) < 0)
				goto oom;
			floats_known = false;
			if (step_set(s, RS_RETAG_KEEP, "not looked up yet") < 0)
				goto oom;
			continue;
		}
		if (!*d) {
			if (absent(s, &v, i, cands, ncands, tags) < 0)
				goto oom;
			continue;
		}
		if (!(s->previous = rs__strdup(d)))
			goto oom;
		if (!strcmp(d, digest) &&
		    step_set(s, RS_RETAG_ALREADY, "already at %s", release) < 0)
			goto oom;
	}

	for (size_t i = 0; i < p->count; i++)
		if (!p->steps[i].reason &&
		    step_set(&p->steps[i], RS_RETAG_KEEP, "not decided yet") < 0)
			goto oom;

	/* which release holds each floating tag's manifest: the highest that points at it */
	for (size_t i = 0; i < p->count && floats_known; i++) {
		rs_promotion_step *s = &p->steps[i];
		if (!s->previous || s->action == RS_RETAG_ALREADY ||
		    (i == 2 && (flags & RS_PROMOTE_NO_LATEST)))
			continue;
		if (decide_step(p, i, &v, release, suffix, cands, ncands, tags, digests, flags,
		                &needed) < 0)
			goto oom;
	}
	if (needed.count) {
		p->refused = 0;
		if (!(p->needed = rs__calloc(needed.count, sizeof(*p->needed))))
			goto oom;
		for (size_t i = 0; i < needed.count; i++) {
			if (!(p->needed[i] = rs__strdup(needed.items[i])))
				goto oom;
			p->nneeded = i + 1;
		}
	}
	rs__strlist_dispose(&needed);
	free(cands);
	*out = p;
	return 0;
oom:
	rs__strlist_dispose(&needed);
	free(cands);
	rs_promotion_plan_free(p);
	return rs__oom();
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
	if (!best) {
		/* absent from the registry's tag listing */
		rs__error_set(RS_ENOTFOUND, "no release%s%s%s among %zu tag%s",
		              prefix ? " on the line " : "", prefix ? prefix : "",
		              prefix ? "" : " (X.Y.Z or vX.Y.Z)", n, n == 1 ? "" : "s");
		return rs__error_mark_remote();
	}
	*out = best;
	return 0;
}
