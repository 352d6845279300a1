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

/* Step s's manifest is the holder's (a release of its line): moved unless that is newer. */
static int held_by(rs_promotion_step *s, const rs__semver *v, const char *release,
                   const candidate *holder, const char *h)
{
	if (!(s->holder = rs__strdup(h)))
		return rs__oom();
	if (rs__semver_cmp(v, &holder->v) > 0)
		return step_set(s, RS_RETAG_MOVE, "it points at %s, older than %s", h, release);
	if (rs__semver_cmp(v, &holder->v) == 0)
		return step_set(s, RS_RETAG_MOVE, "it points at %s, the same version", h);
	return step_set(s, RS_RETAG_KEEP, "it points at %s, which is newer", h);
}

/* No release of its line points at step s's manifest: refused, unless forced. */
static int held_by_none(rs_promotion_plan *p, rs_promotion_step *s, const rs__semver *v, size_t i,
                        const char *suffix, unsigned int flags)
{
	char *line = scope_name(v, i, suffix);
	int error;
	if (!line)
		return rs__oom();
	if (flags & RS_PROMOTE_FORCE)
		error = step_set(s, RS_RETAG_MOVE,
		                 "forced: it points at %s, which no %s%srelease points at",
		                 s->previous, line, *line ? " " : "");
	else
		error = step_set(s, RS_RETAG_REFUSE,
		                 "it points at %s, which no %s%srelease points at (was that "
		                 "release untagged?); --force moves it anyway",
		                 s->previous, line, *line ? " " : "");
	p->refused = p->refused || !(flags & RS_PROMOTE_FORCE);
	free(line);
	return error;
}

/* What a plan is decided from: the release promoted, and what the registry stores. */
typedef struct plan_input {
	const char *release, *suffix, *digest;
	rs__semver v; /* the release's version */
	const char *const *tags, *const *digests;
	size_t ntags;
	unsigned int flags;
	candidate *cands; /* the releases of the same variant, highest first */
	size_t ncands;
	rs_strlist needed; /* the tags to look up before the plan can be decided */
} plan_input;

/* Which release holds step i's manifest: the highest that points at it (or the releases to look
 * up first, into needed). */
static int decide_step(rs_promotion_plan *p, size_t i, plan_input *in)
{
	rs_promotion_step *s = &p->steps[i];
	const candidate *holder = NULL;
	size_t unknown = 0, known = 0, limit;

	/* the first round asks for the highest release only (usually the holder),
	 * then twice as many as are known so far, at most PROMOTE_BATCH */
	for (size_t k = 0; k < in->ncands; k++) {
		const char *d;
		if (!in_scope(&in->cands[k].v, &in->v, i))
			continue;
		d = in->digests[in->cands[k].idx];
		limit = known < 1 ? 1 : (known < PROMOTE_BATCH ? known : PROMOTE_BATCH);
		if (!d && known >= PROMOTE_MAX_LOOKUPS)
			break; /* the newest ones do not hold it: refused below */
		if (!d) {
			if (unknown >= limit)
				break;
			if (need(&in->needed, in->tags[in->cands[k].idx]) < 0)
				return RS_ENOMEM;
			unknown++;
		} else if (!unknown) {
			known++;
		}
		if (d && *d && !strcmp(d, s->previous)) {
			holder = &in->cands[k];
			break;
		}
	}
	if (unknown)
		return step_set(s, RS_RETAG_KEEP, "not decided yet");
	if (holder)
		return held_by(s, &in->v, in->release, holder, in->tags[holder->idx]);
	return held_by_none(p, s, &in->v, i, in->suffix, in->flags);
}

/* The plan and its three floating tags: X.Y, X and latest (with -suffix: X.Y-suffix, X-suffix
 * and suffix). */
static int plan_new(rs_promotion_plan **out, const plan_input *in)
{
	const rs__semver *v = &in->v;
	const char *pfx = v->v_prefix ? "v" : "", *sfx = in->suffix ? "-" : "";
	const char *suffix = in->suffix ? in->suffix : "";
	rs_promotion_plan *p;
	if (!(*out = p = rs__calloc(1, sizeof(*p))))
		return rs__oom();
	p->version = rs__strdup(in->release);
	p->suffix = in->suffix ? rs__strdup(in->suffix) : NULL;
	p->steps = rs__calloc(3, sizeof(*p->steps));
	if (!p->version || (in->suffix && !p->suffix) || !p->steps)
		return rs__oom();
	p->count = 3;
	p->steps[0].tag = rs__strfmt("%s%llu.%llu%s%s", pfx, (unsigned long long)v->major,
	                             (unsigned long long)v->minor, sfx, suffix);
	p->steps[1].tag = rs__strfmt("%s%llu%s%s", pfx, (unsigned long long)v->major, sfx, suffix);
	p->steps[2].tag = rs__strdup(in->suffix ? in->suffix : "latest");
	if (!p->steps[0].tag || !p->steps[1].tag || !p->steps[2].tag)
		return rs__oom();
	return 0;
}

/* The releases of the same variant, highest first (the promoted one aside: it points at
 * `digest`). */
static int collect_candidates(plan_input *in)
{
	if (!(in->cands = rs__calloc(in->ntags ? in->ntags : 1, sizeof(*in->cands))))
		return rs__oom();
	for (size_t i = 0; i < in->ntags; i++)
		if (in->tags[i] && strcmp(in->tags[i], in->release) &&
		    release_of(&in->cands[in->ncands].v, in->tags[i], in->suffix))
			in->cands[in->ncands++].idx = i;
	qsort(in->cands, in->ncands, sizeof(*in->cands), candidate_cmp);
	return 0;
}

/* Where floating step i points now; *known false when it is still to be looked up. */
static int read_step(rs_promotion_step *s, size_t i, plan_input *in, bool *known)
{
	ssize_t at = rs__retag_tag_index(in->tags, in->ntags, s->tag);
	const char *d;
	if (i == 2 && (in->flags & RS_PROMOTE_NO_LATEST))
		return step_set(s, RS_RETAG_KEEP, "asked to leave it alone");
	if (at < 0)
		return absent(s, &in->v, i, in->cands, in->ncands, in->tags);
	d = in->digests ? in->digests[at] : NULL;
	if (!d) {
		*known = false;
		if (need(&in->needed, s->tag) < 0)
			return RS_ENOMEM;
		return step_set(s, RS_RETAG_KEEP, "not looked up yet");
	}
	if (!*d)
		return absent(s, &in->v, i, in->cands, in->ncands, in->tags);
	if (!(s->previous = rs__strdup(d)))
		return rs__oom();
	if (!strcmp(d, in->digest))
		return step_set(s, RS_RETAG_ALREADY, "already at %s", in->release);
	return 0;
}

/* Every step's action and reason. */
static int decide_steps(rs_promotion_plan *p, plan_input *in)
{
	bool floats_known = true;
	int error;
	for (size_t i = 0; i < p->count; i++)
		if ((error = read_step(&p->steps[i], i, in, &floats_known)) < 0)
			return error;
	for (size_t i = 0; i < p->count; i++)
		if (!p->steps[i].reason &&
		    (error = step_set(&p->steps[i], RS_RETAG_KEEP, "not decided yet")) < 0)
			return error;
	/* which release holds each floating tag's manifest: the highest that points at it */
	for (size_t i = 0; i < p->count && floats_known; i++) {
		const rs_promotion_step *s = &p->steps[i];
		if (!s->previous || s->action == RS_RETAG_ALREADY ||
		    (i == 2 && (in->flags & RS_PROMOTE_NO_LATEST)))
			continue;
		if ((error = decide_step(p, i, in)) < 0)
			return error;
	}
	return 0;
}

/* The tags to look up (the plan is then not final: nothing is refused yet). */
static int copy_needed(rs_promotion_plan *p, const rs_strlist *needed)
{
	if (!needed->count)
		return 0;
	p->refused = 0;
	if (!(p->needed = rs__calloc(needed->count, sizeof(*p->needed))))
		return rs__oom();
	for (size_t i = 0; i < needed->count; i++) {
		if (!(p->needed[i] = rs__strdup(needed->items[i])))
			return rs__oom();
		p->nneeded = i + 1;
	}
	return 0;
}

int rs_promotion_plan_new(rs_promotion_plan **out, const char *release, const char *suffix,
                          const char *digest, const char *const *tags, const char *const *digests,
                          size_t ntags, unsigned int flags)
{
	rs_promotion_plan *p = NULL;
	plan_input in;
	int error;

	if (!out || !release || !digest || (!tags && ntags))
		return rs__error_set(RS_EINVAL, "rs_promotion_plan_new: missing argument");
	*out = NULL;
	if ((error = rs_promotion_check(release, suffix)) < 0)
		return error;
	memset(&in, 0, sizeof(in));
	in.release = release;
	in.suffix = suffix;
	in.digest = digest;
	in.tags = tags;
	in.digests = digests;
	in.ntags = ntags;
	in.flags = flags;
	in.needed = (rs_strlist)RS_STRLIST_INIT;
	release_of(&in.v, release, suffix);

	if (plan_new(&p, &in) < 0 || collect_candidates(&in) < 0 || decide_steps(p, &in) < 0 ||
	    copy_needed(p, &in.needed) < 0) {
		rs_promotion_plan_free(p);
		p = NULL;
		error = rs__oom();
	}
	rs__strlist_dispose(&in.needed);
	free(in.cands);
	*out = p;
	return error;
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
