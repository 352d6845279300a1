/*
 * Semantic versions as they appear in image tags: X.Y.Z with an optional leading "v" and an
 * optional pre-release ("-rc.1"). Build metadata ("+meta") cannot occur: '+' is not allowed in
 * a tag. Numbers have no leading zeros (semver.org §2); pre-release identifiers are
 * [0-9A-Za-z-]+ separated by dots, numeric ones without leading zeros (§9).
 */
#ifndef RS_IMAGE_SEMVER_H
#define RS_IMAGE_SEMVER_H

#include "util/util.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rs__semver {
	uint64_t major, minor, patch;
	bool v_prefix; /* written "v1.2.3" */
	const char *pre; /* the pre-release after '-' (points into the parsed tag), or NULL */
} rs__semver;

/* Parse a tag. 0, or RS_EINVAL with a message saying why (`"2.01.3" is not a semantic
 * version: "01" has a leading zero`). out->pre points into tag. */
int rs__semver_parse(rs__semver *out, const char *tag);

/* The same without setting an error (for sifting through a tag list): true when tag is a
 * semantic version, then *out (if out is set) is filled. */
bool rs__semver_try(rs__semver *out, const char *tag);

/* Precedence (semver.org §11): <0, 0, >0. The "v" prefix is ignored; a pre-release is lower
 * than its release. */
int rs__semver_cmp(const rs__semver *a, const rs__semver *b);

/* Order of two tags for a "highest first" listing (qsort-style): versions before other tags,
 * versions by descending precedence, ties and non-versions in byte order. */
int rs__semver_tag_order(const char *a, const char *b);

/* A version line: [v]X, [v]X.Y or [v]X.Y.Z (no pre-release). */
typedef struct rs__semver_line {
	uint64_t part[3];
	int nparts; /* 1..3 */
	bool v_prefix;
} rs__semver_line;

/* Parse a line; RS_EINVAL with a message saying why. */
int rs__semver_line_parse(rs__semver_line *out, const char *text);

/* v is on the line (same spelling of "v", same leading numbers). */
bool rs__semver_on_line(const rs__semver *v, const rs__semver_line *line);

/*
 * A version range, as `regship sync --semver` and skopeo's images-by-semver write it:
 * comparators joined by ',' (and), sets joined by "||" (or). A comparator is an operator
 * (>=, >, <=, <, =, ~, ^, or none for =) and a version [v]X, [v]X.Y or [v]X.Y.Z[-pre], with
 * optional spaces between. A partial version stands for every version it starts (">=2.1" is
 * ">=2.1.0", "=2.1" and "2.1" are ">=2.1.0,<2.2.0", "<=2" is "<3.0.0"); "~1.2.3" is
 * ">=1.2.3,<1.3.0", "~1" is ">=1.0.0,<2.0.0"; "^1.2.3" is ">=1.2.3,<2.0.0", "^0.2.3" is
 * ">=0.2.3,<0.3.0", "^0.0.3" is ">=0.0.3,<0.0.4". Tags are matched whether or not they are
 * written with "v"; a pre-release tag matches only a set with a comparator that names a
 * pre-release of the same X.Y.Z (as npm and Masterminds/semver do), and a tag that is not a
 * semantic version never matches.
 */
typedef struct rs__semver_range rs__semver_range;

/* Parse; RS_EINVAL naming the part that is wrong, RS_ENOMEM. *out is freed with
 * rs__semver_range_free. */
int rs__semver_range_parse(rs__semver_range **out, const char *text);
bool rs__semver_range_match(const rs__semver_range *r, const char *tag);
void rs__semver_range_free(rs__semver_range *r);

#endif
