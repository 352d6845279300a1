/* Semantic versions in tags (see semver.h). */
#include "image/semver.h"

#include <stdio.h>
#include <string.h>

/* A numeric part: digits, no leading zero, fits in 64 bits. Advances *p. */
static int number(uint64_t *out, const char **p, const char *what, char *why, size_t n)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9') {
		snprintf(why, n, "the %s version is not a number", what);
		return -1;
	}
	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9') {
		snprintf(why, n, "the %s version has a leading zero", what);
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10) {
			snprintf(why, n, "the %s version is too large", what);
			return -1;
		}
		v = v * 10 + d;
	}
	*out = v;
	*p = s;
	return 0;
}

static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int check_pre(const char *pre, char *why, size_t n)
{
	const char *id = pre;

	for (;;) {
		size_t len = strcspn(id, ".");
		if (!len) {
			snprintf(why, n, "the pre-release has an empty identifier");
			return -1;
		}
		for (size_t i = 0; i < len; i++) {
			char c = id[i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') || c == '-')) {
				snprintf(why, n, "the pre-release may not contain '%c'", c);
				return -1;
			}
		}
		if (len > 1 && id[0] == '0' && all_digits(id, len)) {
			snprintf(why, n, "the pre-release identifier \"%.*s\" has a leading zero",
			         (int)len, id);
			return -1;
		}
		if (!id[len])
			return 0;
		id += len + 1;
	}
}

static int parse(rs__semver *out, const char *tag, char *why, size_t n)
{
	const char *p = tag;
	rs__semver v = {0};

	if (!tag || !*tag) {
		snprintf(why, n, "it is empty");
		return -1;
	}
	if (*p == 'v') {
		v.v_prefix = true;
		p++;
	}
	if (number(&v.major, &p, "major", why, n) < 0)
		return -1;
	if (*p != '.') {
		snprintf(why, n, "expected X.Y.Z");
		return -1;
	}
	p++;
	if (number(&v.minor, &p, "minor", why, n) < 0)
		return -1;
	if (*p != '.') {
		snprintf(why, n, "expected X.Y.Z");
		return -1;
	}
	p++;
	if (number(&v.patch, &p, "patch", why, n) < 0)
		return -1;
	if (*p == '-') {
		if (check_pre(p + 1, why, n) < 0)
			return -1;
		v.pre = p + 1;
	} else if (*p) {
		snprintf(why, n, "unexpected '%c' after X.Y.Z", *p);
		return -1;
	}
	*out = v;
	return 0;
}

int rs__semver_parse(rs__semver *out, const char *tag)
{
	char why[128];

	if (parse(out, tag, why, sizeof(why)) < 0)
		return rs__error_set(RS_EINVAL,
		                     "\"%s\" is not a semantic version (X.Y.Z, vX.Y.Z or "
		                     "X.Y.Z-pre): %s",
		                     tag ? tag : "", why);
	return 0;
}

bool rs__semver_try(rs__semver *out, const char *tag)
{
	rs__semver v;
	char why[128];

	if (parse(&v, tag, why, sizeof(why)) < 0)
		return false;
	if (out)
		*out = v;
	return true;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* §11.4: identifiers compared one by one; numeric < alphanumeric; numbers numerically;
 * a shorter list of equal identifiers is lower. */
static int cmp_pre(const char *a, const char *b)
{
	for (;;) {
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		bool na = all_digits(a, la), nb = all_digits(b, lb);
		int c;

		if (na && nb) {
			/* no leading zeros: the longer number is the larger */
			c = la != lb ? (la < lb ? -1 : 1) : memcmp(a, b, la);
		} else if (na != nb) {
			c = na ? -1 : 1;
		} else {
			c = memcmp(a, b, la < lb ? la : lb);
			if (!c && la != lb)
				c = la < lb ? -1 : 1;
		}
		if (c)
			return c < 0 ? -1 : 1;
		a += la;
		b += lb;
		if (!*a || !*b)
			return !*a && !*b ? 0 : (!*a ? -1 : 1);
		a++;
		b++;
	}
}

int rs__semver_cmp(const rs__semver *a, const rs__semver *b)
{
	int c;

	if ((c = cmp_u64(a->major, b->major)) || (c = cmp_u64(a->minor, b->minor)) ||
	    (c = cmp_u64(a->patch, b->patch)))
		return c;
	if (!a->pre || !b->pre)
		return a->pre ? -1 : (b->pre ? 1 : 0);
	return cmp_pre(a->pre, b->pre);
}

int rs__semver_tag_order(const char *a, const char *b)
{
	rs__semver va, vb;
	bool ha = rs__semver_try(&va, a), hb = rs__semver_try(&vb, b);
	int c;

	if (ha != hb)
		return ha ? -1 : 1;
	if (ha && (c = rs__semver_cmp(&va, &vb)))
		return -c;
	c = strcmp(a, b);
	return c < 0 ? -1 : c > 0;
}

int rs__semver_line_parse(rs__semver_line *out, const char *text)
{
	const char *p = text;
	rs__semver_line l = {{0}, 0, false};
	char why[128];
	static const char *const what[] = {"major", "minor", "patch"};

	if (!text || !*text) {
		snprintf(why, sizeof(why), "it is empty");
		goto bad;
	}
	if (*p == 'v') {
		l.v_prefix = true;
		p++;
	}
	for (;;) {
		if (number(&l.part[l.nparts], &p, what[l.nparts], why, sizeof(why)) < 0)
			goto bad;
		l.nparts++;
		if (!*p)
			break;
		if (*p != '.' || l.nparts == 3) {
			snprintf(why, sizeof(why), "unexpected '%c'; expected X, X.Y or X.Y.Z", *p);
			goto bad;
		}
		p++;
	}
	*out = l;
	return 0;
bad:
	return rs__error_set(RS_EINVAL,
	                     "\"%s\" is not a version line ([v]X, [v]X.Y or [v]X.Y.Z): %s",
	                     text ? text : "", why);
}

bool rs__semver_on_line(const rs__semver *v, const rs__semver_line *line)
{
	const uint64_t parts[3] = {v->major, v->minor, v->patch};

	if (v->v_prefix != line->v_prefix)
		return false;
	for (int i = 0; i < line->nparts; i++)
		if (parts[i] != line->part[i])
			return false;
	return true;
}

/* ---- ranges ------------------------------------------------------------------------------ */

#include <stdlib.h>

enum { OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ };

typedef struct comparator {
	int op;
	rs__semver v; /* v.pre is owned (a copy), v_prefix unused */
	size_t set; /* the "||" alternative it belongs to */
} comparator;

struct rs__semver_range {
	comparator *c;
	size_t n, alloc, nsets;
};

void rs__semver_range_free(rs__semver_range *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free((char *)r->c[i].v.pre);
	free(r->c);
	free(r);
}

static int range_add(rs__semver_range *r, int op, uint64_t ma, uint64_t mi, uint64_t pa,
                     const char *pre, size_t prelen)
{
	comparator *c;
	if (r->n == r->alloc) {
		size_t na = r->alloc ? r->alloc * 2 : 4;
		comparator *g = rs__realloc(r->c, na * sizeof(*g));
		if (!g)
			return rs__oom();
		r->c = g;
		r->alloc = na;
	}
	c = &r->c[r->n];
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->v.major = ma;
	c->v.minor = mi;
	c->v.patch = pa;
	c->set = r->nsets;
	if (pre && !(c->v.pre = rs__strndup(pre, prelen)))
		return rs__oom();
	r->n++;
	return 0;
}

/* One comparator, text[0..len) without surrounding spaces. */
static int range_comparator(rs__semver_range *r, const char *text, size_t len, const char *whole)
{
	char buf[256], why[128];
	const char *p = buf, *pre = NULL;
	int op = OP_EQ, kind = 0; /* 0 plain, '~', '^' */
	uint64_t part[3] = {0, 0, 0};
	int n = 0;
	static const char *const what[] = {"major", "minor", "patch"};

	if (len >= sizeof(buf)) {
		snprintf(why, sizeof(why), "a comparator is too long");
		goto bad;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (!len) {
		snprintf(why, sizeof(why), "an empty comparator");
		goto bad;
	}
	if (!strncmp(p, ">=", 2))
		op = OP_GE, p += 2;
	else if (!strncmp(p, "<=", 2))
		op = OP_LE, p += 2;
	else if (*p == '>')
		op = OP_GT, p++;
	else if (*p == '<')
		op = OP_LT, p++;
	else if (*p == '=')
		p++;
	else if (*p == '~' || *p == '^')
		kind = *p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == 'v')
		p++;
	for (;;) {
		if (number(&part[n], &p, what[n], why, sizeof(why)) < 0)
			goto bad;
		n++;
		if (*p != '.' || n == 3)
			break;
		p++;
	}
	if (*p == '-' && n == 3) {
		if (check_pre(p + 1, why, sizeof(why)) < 0)
			goto bad;
		pre = p + 1;
		p += strlen(p);
	}
	if (*p) {
		snprintf(why, sizeof(why), "unexpected \"%s\" after the version", p);
		goto bad;
	}
	{
		const char *pr = pre ? text + (pre - buf) : NULL;
		size_t pl = pre ? strlen(pre) : 0;
		uint64_t x = part[0], y = part[1], z = part[2];
		/* the version after the last one the partial version stands for */
		uint64_t nx = n == 1 ? x + 1 : x, ny = n == 2 ? y + 1 : (n == 1 ? 0 : y),
		         nz = n == 3 ? z + 1 : 0;
		int e;
		if (kind == '~') {
			if ((e = range_add(r, OP_GE, x, y, z, pr, pl)) < 0)
				return e;
			return n == 1 ? range_add(r, OP_LT, x + 1, 0, 0, NULL, 0)
			              : range_add(r, OP_LT, x, y + 1, 0, NULL, 0);
		}
		if (kind == '^') {
			if ((e = range_add(r, OP_GE, x, y, z, pr, pl)) < 0)
				return e;
			if (x > 0 || n == 1)
				return range_add(r, OP_LT, x + 1, 0, 0, NULL, 0);
			if (y > 0 || n == 2)
				return range_add(r, OP_LT, 0, y + 1, 0, NULL, 0);
			return range_add(r, OP_LT, 0, 0, z + 1, NULL, 0);
		}
		if (n == 3)
			return range_add(r, op, x, y, z, pr, pl);
		switch (op) {
		case OP_GE:
			return range_add(r, OP_GE, x, y, 0, NULL, 0);
		case OP_LT:
			return range_add(r, OP_LT, x, y, 0, NULL, 0);
		case OP_GT:
			return range_add(r, OP_GE, nx, ny, nz, NULL, 0);
		case OP_LE:
			return range_add(r, OP_LT, nx, ny, nz, NULL, 0);
		default:
			if ((e = range_add(r, OP_GE, x, y, 0, NULL, 0)) < 0)
				return e;
			return range_add(r, OP_LT, nx, ny, nz, NULL, 0);
		}
	}
bad:
	return rs__error_set(RS_EINVAL,
	                     "invalid version range \"%s\": \"%.*s\": %s (expected comparators "
	                     "such as >=2.1, <3, ~1.2, ^1.2.3 joined by ',')",
	                     whole, (int)len, text, why);
}

int rs__semver_range_parse(rs__semver_range **out, const char *text)
{
	rs__semver_range *r;
	const char *p = text;
	int error;

	*out = NULL;
	if (!text || !*text)
		return rs__error_set(RS_EINVAL, "invalid version range: it is empty");
	if (!(r = rs__calloc(1, sizeof(*r))))
		return rs__oom();
	for (;;) {
		/* one comparator: up to ',' or "||" or the end, spaces trimmed; spaces inside
		 * separate comparators too (">= 1.2 < 2" as Masterminds reads it) */
		const char *end;
		size_t len;
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ",|");
		len = (size_t)(end - p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		{
			/* split "OP VERSION OP VERSION" at spaces that follow a version */
			size_t start = 0, i = 0;
			while (i <= len) {
				bool cut = i == len;
				if (!cut && (p[i] == ' ' || p[i] == '\t') && i > start) {
					/* a space after an operator joins it to its version */
					char prev = p[i - 1];
					cut = prev != '=' && prev != '<' && prev != '>' &&
					      prev != '~' && prev != '^';
				}
				if (cut) {
					if ((error = range_comparator(r, p + start, i - start,
					                              text)) < 0)
						goto fail;
					while (i < len && (p[i] == ' ' || p[i] == '\t'))
						i++;
					start = i;
					if (i == len)
						break;
					continue;
				}
				i++;
			}
		}
		if (!*end)
			break;
		if (*end == ',') {
			p = end + 1;
		} else if (end[0] == '|' && end[1] == '|') {
			r->nsets++;
			p = end + 2;
		} else {
			error = rs__error_set(RS_EINVAL,
			                      "invalid version range \"%s\": a single '|' (\"||\" "
			                      "means or)",
			                      text);
			goto fail;
		}
	}
	r->nsets++;
	*out = r;
	return 0;
fail:
	rs__semver_range_free(r);
	return error;
}

static bool comparator_match(const comparator *c, const rs__semver *v)
{
	int k = rs__semver_cmp(v, &c->v);
	switch (c->op) {
	case OP_LT:
		return k < 0;
	case OP_LE:
		return k <= 0;
	case OP_GT:
		return k > 0;
	case OP_GE:
		return k >= 0;
	default:
		return k == 0;
	}
}

bool rs__semver_range_match(const rs__semver_range *r, const char *tag)
{
	rs__semver v;
	if (!r || !rs__semver_try(&v, tag))
		return false;
	for (size_t set = 0; set < r->nsets; set++) {
		bool all = true, pre_ok = !v.pre;
		for (size_t i = 0; i < r->n; i++) {
			const comparator *c = &r->c[i];
			if (c->set != set)
				continue;
			if (!comparator_match(c, &v))
				all = false;
			if (c->v.pre && c->v.major == v.major && c->v.minor == v.minor &&
			    c->v.patch == v.patch)
				pre_ok = true;
		}
		if (all && pre_ok)
			return true;
	}
	return false;
}
