/*
 * The retention plan of rs_prune (see include/regship/prune.h): which tags are candidates,
 * which releases stay, what their manifests protect, and what goes by digest or by untag.
 */
#include "image/prune_internal.h"

#include "image/semver.h"
#include "registry/registry.h"
#include "util/util.h"

#include <jansson.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Config blobs read for --by created: larger ones are not configs worth reading. */
#define PRUNE_CONFIG_MAX (1u << 20)

/* sha256-<64 hex>[.<anything>]: the fallback tag schema of referrers; *subject "sha256:<hex>" */
static bool referrer_tag(const char *tag, char **subject)
{
	if (strncmp(tag, "sha256-", 7))
		return false;
	for (size_t i = 0; i < 64; i++) {
		char ch = tag[7 + i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
	}
	if (tag[71] && tag[71] != '.')
		return false;
	*subject = rs__strfmt("sha256:%.64s", tag + 7);
	return true;
}

/* latest, [v]X, [v]X.Y, [v]X-S, [v]X.Y-S: a tag that follows releases. */
static bool floating_tag(const char *tag)
{
	const char *p = tag;
	int parts = 0;
	if (!strcmp(tag, "latest"))
		return true;
	if (*p == 'v')
		p++;
	while (*p >= '0' && *p <= '9') {
		while (*p >= '0' && *p <= '9')
			p++;
		parts++;
		if (*p != '.')
			break;
		p++;
	}
	return parts >= 1 && parts <= 2 && (!*p || *p == '-');
}

/* Set when an allocation failed while planning: the plan is then refused as a whole
 * (RS_ENOMEM), since a hold that could not be recorded might let a kept manifest go. */
static _Thread_local bool plan_oom;

static void hold(rs_strlist *l, const char *digest)
{
	if (rs__strlist_push(l, digest) < 0)
		plan_oom = true;
}

static void item_set(rs_prune_item *it, rs_prune_action a, char *reason)
{
	if (!reason) /* every reason is a new string: NULL is out of memory */
		plan_oom = true;
	free(it->reason);
	it->action = a;
	it->reason = reason;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* An RFC 3339 time ("2025-06-01T10:00:00.5+09:00") as a key that orders by the instant it
 * names when compared with strcmp: UTC seconds since 1970 (offset so they are never negative)
 * and nanoseconds, fixed width. NULL when the text is no RFC 3339 time. */
static char *created_key(const char *s)
{
	int y, mo, d, h, mi, sec, n = 0;
	long long ns = 0, t;
	const char *p;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return NULL;
	n = 0;
	if (sscanf(s + 11, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 8)
		return NULL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || h < 0 ||
	    mi < 0 || sec < 0)
		return NULL;
	p = s + 19;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 9)
				ns = ns * 10 + (*p - '0');
		if (!digits)
			return NULL;
		for (; digits < 9; digits++)
			ns *= 10;
	}
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
	if ((*p == 'Z' || *p == 'z') && !p[1]) {
		/* UTC */
	} else if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
	           p[2] <= '9' && p[3] == ':' && p[4] >= '0' && p[4] <= '9' && p[5] >= '0' &&
	           p[5] <= '9' && !p[6]) {
		long long off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
		                ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		t -= *p == '+' ? off : -off;
	} else {
		return NULL;
	}
	/* years 0000-9999 with any offset: -62,167,305,200 .. 253,402,387,200 */
	return rs__strfmt("%013lld.%09lld", t + 100000000000LL, ns);
}

/* The config's "created" of the image a manifest digest names, as a created_key, or NULL (an
 * index, no date, or no RFC 3339 date). */
static char *created_of(rs_client *c, const rs_ref *repo, const char *digest)
{
	rs_buf body = RS_BUF_INIT, cfg = RS_BUF_INIT;
	rs_manifest *m = NULL;
	rs_ref *ref = NULL;
	rs_reader *rd = NULL;
	const rs_descriptor *d;
	char *ct = NULL, *out = NULL;
	char chunk[16384];
	long long n;

	if (rs_ref_with_digest(&ref, repo, digest) < 0 ||
	    rs_manifest_fetch(c, ref, &body, &ct, NULL) < 0 ||
	    rs_manifest_parse(&m, body.ptr, body.size, ct) < 0 || rs_manifest_is_index(m) ||
	    !(d = rs_manifest_config(m)) || d->size > PRUNE_CONFIG_MAX ||
	    rs__blob_open(&rd, c, repo, d->digest, d->size) < 0)
		goto done;
	while ((n = rs_reader_read(rd, chunk, sizeof(chunk))) > 0 && cfg.size <= PRUNE_CONFIG_MAX)
		rs__buf_put(&cfg, chunk, (size_t)n);
	if (n == 0) {
		json_t *root = json_loadb(cfg.ptr ? cfg.ptr : "", cfg.size, 0, NULL);
		const char *s = json_string_value(json_object_get(root, "created"));
		out = s && *s ? created_key(s) : NULL;
		json_decref(root);
	}
done:
	rs_error_clear();
	rs_reader_free(rd);
	rs_manifest_free(m);
	rs_ref_free(ref);
	rs_buf_dispose(&body);
	rs_buf_dispose(&cfg);
	free(ct);
	return out;
}

/* Order of candidates: newest first. */
static int by_semver(const void *a, const void *b)
{
	const rs__prune_tag *x = *(rs__prune_tag *const *)a, *y = *(rs__prune_tag *const *)b;
	int c = rs__semver_cmp(&y->v, &x->v);
	return c ? c : strcmp(x->item->tag, y->item->tag);
}

static int by_created(const void *a, const void *b)
{
	const rs__prune_tag *x = *(rs__prune_tag *const *)a, *y = *(rs__prune_tag *const *)b;
	int c;
	if (!x->created || !y->created)
		return (x->created ? 1 : 0) - (y->created ? 1 : 0); /* unknown first: kept */
	c = strcmp(y->created, x->created);
	return c ? c : by_semver(a, b);
}

/* The same, grouped by line first (the plain line, then the variants by name). */
static int line_by_semver(const void *a, const void *b)
{
	const rs__prune_tag *x = *(rs__prune_tag *const *)a, *y = *(rs__prune_tag *const *)b;
	int c = strcmp(x->line, y->line);
	return c ? c : by_semver(a, b);
}

static int line_by_created(const void *a, const void *b)
{
	const rs__prune_tag *x = *(rs__prune_tag *const *)a, *y = *(rs__prune_tag *const *)b;
	int c = strcmp(x->line, y->line);
	return c ? c : by_created(a, b);
}

static int compile(regex_t *re, const char *pattern, const char *opt, bool *have)
{
	int rc;
	*have = false;
	if (!pattern)
		return 0;
	if ((rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB))) {
		char why[256];
		regerror(rc, re, why, sizeof(why));
		return rs__error_set(RS_EINVAL, "%s \"%s\": %s", opt, pattern, why);
	}
	*have = true;
	return 0;
}

/* Classify every tag: referrer, candidate release, or something that stays and protects. */
static int classify(rs__prune *p)
{
	regex_t inc, exc;
	bool have_inc, have_exc;
	int error;

	if ((error = compile(&inc, p->o.include, "--include", &have_inc)) < 0)
		return error;
	if ((error = compile(&exc, p->o.exclude, "--exclude", &have_exc)) < 0) {
		if (have_inc)
			regfree(&inc);
		return error;
	}
	for (size_t i = 0; i < p->n; i++) {
		rs__prune_tag *t = &p->tags[i];
		const char *tag = t->item->tag;
		if (referrer_tag(tag, &t->item->subject)) {
			t->kind = RS__PRUNE_REFERRER;
			continue;
		}
		if (!rs__semver_try(&t->v, tag)) {
			t->kind = RS__PRUNE_STAYS;
			item_set(t->item, RS_PRUNE_KEEP,
			         rs__strdup(floating_tag(tag) ? "floating tag"
			                                      : "not a release tag"));
		} else if ((have_inc && regexec(&inc, tag, 0, NULL, 0)) ||
		           (have_exc && !regexec(&exc, tag, 0, NULL, 0))) {
			t->kind = RS__PRUNE_STAYS;
			item_set(t->item, RS_PRUNE_KEEP, rs__strdup("outside --include/--exclude"));
		} else if (rs__prune_suffix(t->v.pre, &t->line, &t->pre) < 0) {
			error = RS_ENOMEM;
			break;
		} else {
			t->kind = RS__PRUNE_CANDIDATE;
			t->v.pre = t->pre; /* ordered by the pre-release alone, within its line */
		}
		if (t->kind == RS__PRUNE_STAYS)
			hold(&p->holds, t->item->digest);
	}
	if (have_inc)
		regfree(&inc);
	if (have_exc)
		regfree(&exc);
	return error;
}

/* A signature referrer (tag sha256-<hex>.sig) is attached to digest. */
static bool signed_digest(const rs__prune *p, const char *digest)
{
	for (size_t i = 0; i < p->n; i++) {
		const rs_prune_item *it = p->tags[i].item;
		size_t len = strlen(it->tag);
		if (p->tags[i].kind == RS__PRUNE_REFERRER && !strcmp(it->subject, digest) &&
		    len > 4 && !strcmp(it->tag + len - 4, ".sig"))
			return true;
	}
	/* a signature attached by subject (referrers API or fallback index) */
	return rs__strlist_contains(&p->signed_oci, digest);
}

/* A pre-release identifier: numeric, or a pre-release word optionally followed by digits. */
static bool pre_ident(const char *s, size_t len)
{
	static const char *const words[] = {"alpha",   "a",       "beta", "b",         "rc",
	                                    "pre",     "preview", "dev",  "snapshot",  "canary",
	                                    "nightly", "next",    "m",    "milestone", "ea"};
	size_t letters = 0, k;

	if (!len)
		return false;
	while (letters < len && ((s[letters] >= 'a' && s[letters] <= 'z') ||
	                         (s[letters] >= 'A' && s[letters] <= 'Z')))
		letters++;
	for (k = letters; k < len; k++)
		if (s[k] < '0' || s[k] > '9')
			return false;
	if (!letters)
		return true; /* numeric */
	for (size_t w = 0; w < sizeof(words) / sizeof(*words); w++)
		if (strlen(words[w]) == letters && !strncasecmp(s, words[w], letters))
			return true;
	return false;
}

static bool all_digits(const char *s, size_t len)
{
	for (size_t k = 0; k < len; k++)
		if (s[k] < '0' || s[k] > '9')
			return false;
	return len > 0;
}

int rs__prune_suffix(const char *suffix, char **line, char **pre)
{
	size_t len, end;

	*line = NULL;
	*pre = NULL;
	if (!suffix || !*suffix) {
		if (!(*line = rs__strdup("")))
			return rs__oom();
		return 0;
	}
	len = strcspn(suffix, ".-");
	if (!pre_ident(suffix, len)) {
		if (!(*line = rs__strdup(suffix)))
			return rs__oom();
		return 0;
	}
	/* rc.1-alpine: the first identifier and the numeric ones after it, then '-' and a
	 * suffix that is no pre-release, is a pre-release of that variant line */
	end = len;
	while ((suffix[end] == '.' || suffix[end] == '-') &&
	       all_digits(suffix + end + 1, strcspn(suffix + end + 1, ".-")))
		end += 1 + strcspn(suffix + end + 1, ".-");
	if (suffix[end] == '-' && !pre_ident(suffix + end + 1, strcspn(suffix + end + 1, ".-"))) {
		*pre = rs__strndup(suffix, end);
		*line = rs__strdup(suffix + end + 1);
	} else {
		*pre = rs__strdup(suffix);
		*line = rs__strdup("");
	}
	if (!*pre || !*line) {
		free(*pre);
		free(*line);
		*pre = *line = NULL;
		return rs__oom();
	}
	return 0;
}

/* " of the -alpine line", or "" for the plain line (a new string: NULL is out of memory) */
static char *line_label(const char *line)
{
	return *line ? rs__strfmt(" of the -%s line", line) : rs__strdup("");
}

/* Walk the candidates of one line newest first: the first `keep` release manifests stay. A
 * pre-release never counts against them: with keep_prereleases the newest that many
 * pre-release manifests stay (counted apart); without, a pre-release stays when it is newer
 * than the line's newest release (a pending release) and goes otherwise. */
static void choose_line(rs__prune *p, rs__prune_tag **cands, size_t ncands)
{
	const char *line = ncands ? cands[0]->line : "";
	rs_strlist rel = RS_STRLIST_INIT, pre = RS_STRLIST_INIT;
	const char *newest = NULL; /* the line's newest release (dated, with --by created) */
	char *label = line_label(line);

	if (!label) {
		plan_oom = true;
		return;
	}
	for (size_t i = 0; i < ncands; i++) {
		rs__prune_tag *t = cands[i];
		const char *d = t->item->digest;
		bool is_pre = t->pre != NULL, apart = is_pre && p->o.keep_prereleases >= 0;
		rs_strlist *counted = is_pre ? &pre : &rel;
		size_t limit = apart ? (size_t)p->o.keep_prereleases : p->o.keep;
		bool undated = p->o.by == RS_PRUNE_BY_CREATED && !t->created;

		if (!is_pre && !undated && !newest)
			newest = t->item->tag;
		if (rs__strlist_contains(&rel, d) || rs__strlist_contains(&pre, d)) {
			item_set(t->item, RS_PRUNE_KEEP,
			         rs__strdup("the same manifest as a kept release"));
		} else if (undated) {
			item_set(t->item, RS_PRUNE_KEEP,
			         rs__strdup(
			                 "no created date (an index, no config, or not RFC 3339)"));
		} else if (is_pre && !apart && !newest) {
			hold(counted, d);
			item_set(t->item, RS_PRUNE_KEEP,
			         rs__strfmt("a pre-release newer than every release%s", label));
		} else if ((!is_pre || apart) && counted->count < limit) {
			hold(counted, d);
			item_set(t->item, RS_PRUNE_KEEP,
			         rs__strfmt("one of the %zu newest %s%s", limit,
			                    apart ? "pre-releases" : "releases", label));
		} else if (p->o.keep_signed && signed_digest(p, d)) {
			item_set(t->item, RS_PRUNE_KEEP, rs__strdup("signed (--keep-signed)"));
		} else {
			if (is_pre && !apart)
				item_set(
				        t->item, RS_PRUNE_DELETE,
				        rs__strfmt(
				                "a pre-release older than %s, the newest release%s",
				                newest, label));
			else
				item_set(t->item, RS_PRUNE_DELETE,
				         rs__strfmt("older than the %zu newest %s%s", limit,
				                    apart ? "pre-releases" : "releases", label));
			continue;
		}
		hold(&p->holds, d);
	}
	free(label);
	rs__strlist_dispose(&rel);
	rs__strlist_dispose(&pre);
}

/* Every line (the plain one, each variant) is ranked and pruned on its own: cands are sorted
 * by line, then newest first. */
static void choose(rs__prune *p, rs__prune_tag **cands, size_t ncands)
{
	size_t i = 0;
	while (i < ncands) {
		size_t k = i + 1;
		while (k < ncands && !strcmp(cands[k]->line, cands[i]->line))
			k++;
		choose_line(p, cands + i, k - i);
		i = k;
	}
}

/* An index that stays holds its children: read the manifests of what stays. */
static int protect_children(rs__prune *p, rs_client *c, const rs_ref *repo)
{
	for (size_t i = 0; i < p->holds.count; i++) {
		rs_buf body = RS_BUF_INIT;
		rs_manifest *m = NULL;
		rs_ref *ref = NULL;
		char *ct = NULL;
		int error = rs_ref_with_digest(&ref, repo, p->holds.items[i]);
		if (error == 0)
			error = rs_manifest_fetch(c, ref, &body, &ct, NULL);
		if (error == 0)
			error = rs_manifest_parse(&m, body.ptr, body.size, ct);
		for (size_t k = 0; error == 0 && k < rs_manifest_child_count(m); k++) {
			const char *d = rs_manifest_child(m, k)->digest;
			if (!rs__strlist_contains(&p->holds, d))
				hold(&p->holds, d);
		}
		rs_manifest_free(m);
		rs_ref_free(ref);
		rs_buf_dispose(&body);
		free(ct);
		if (error == RS_EUNSUPPORTED || error == RS_EFORMAT) {
			rs_error_clear(); /* not a manifest regship reads: it holds nothing more */
			continue;
		}
		if (error < 0)
			return error;
	}
	return 0;
}

/* Who holds digest: the first tag that stays on it, else "an index that stays". */
static char *holder_of(const rs__prune *p, const char *digest)
{
	for (size_t i = 0; i < p->n; i++) {
		const rs_prune_item *it = p->tags[i].item;
		if (p->tags[i].kind != RS__PRUNE_REFERRER && it->action == RS_PRUNE_KEEP &&
		    !strcmp(it->digest, digest))
			return rs__strfmt("its manifest is held by %s (%s)", it->tag, it->reason);
	}
	return rs__strdup("its manifest is a child of an index that stays");
}

int rs__prune_plan(rs__prune *p, rs_client *c, const rs_ref *repo)
{
	rs__prune_tag **cands = rs__calloc(p->n ? p->n : 1, sizeof(*cands));
	size_t ncands = 0;
	int error;

	plan_oom = false;
	if (!cands)
		return rs__oom();
	if ((error = classify(p)) < 0)
		goto done;
	for (size_t i = 0; i < p->n; i++)
		if (p->tags[i].kind == RS__PRUNE_CANDIDATE) {
			cands[ncands++] = &p->tags[i];
			if (p->o.by == RS_PRUNE_BY_CREATED)
				p->tags[i].created = created_of(c, repo, p->tags[i].item->digest);
		}
	qsort(cands, ncands, sizeof(*cands),
	      p->o.by == RS_PRUNE_BY_CREATED ? line_by_created : line_by_semver);
	if (p->o.keep_signed) {
		const char **digests = rs__calloc(ncands ? ncands : 1, sizeof(*digests));
		if (!digests) {
			error = rs__oom();
			goto done;
		}
		for (size_t i = 0; i < ncands; i++)
			digests[i] = cands[i]->item->digest;
		error = rs__prune_find_signed(p, c, repo, digests, ncands);
		free(digests);
		if (error < 0)
			goto done;
	}
	choose(p, cands, ncands);
	if ((error = protect_children(p, c, repo)) < 0)
		goto done;
	for (size_t i = 0; i < ncands; i++) {
		rs_prune_item *it = cands[i]->item;
		if (it->action == RS_PRUNE_DELETE && rs__strlist_contains(&p->holds, it->digest))
			item_set(it, RS_PRUNE_UNTAG, holder_of(p, it->digest));
	}
	/* what goes takes its referrers by subject along (p->tags grows: cands is stale now) */
	if ((error = rs__prune_attached(p, c, repo)) < 0)
		goto done;
	/* referrers go with their subject, never alone */
	for (size_t i = 0; i < p->n; i++) {
		rs_prune_item *it = p->tags[i].item;
		bool goes = false;
		if (p->tags[i].kind != RS__PRUNE_REFERRER)
			continue;
		/* a release that goes, a child of an index that goes, or a referrer that goes
		 * (the fallback tag sha256-<hex> of a signature goes with the signature) */
		goes = rs__strlist_contains(&p->gone, it->subject);
		if (goes && !rs__strlist_contains(&p->holds, it->digest))
			item_set(it, RS_PRUNE_DELETE,
			         rs__strfmt("referrer of %s, which goes", it->subject));
		else
			item_set(it, RS_PRUNE_KEEP,
			         goes ? rs__strdup("referrer, also held by a tag that stays")
			              : rs__strfmt("referrer of %s, which stays", it->subject));
	}
	if (plan_oom)
		error = rs__oom();
done:
	free(cands);
	return error;
}
