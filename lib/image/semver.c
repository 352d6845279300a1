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
