/* Shared by prune.c and prune_plan.c; not installed. */
#ifndef RS_IMAGE_PRUNE_INTERNAL_H
#define RS_IMAGE_PRUNE_INTERNAL_H

#include "regship/manifest.h"
#include "regship/prune.h"

#include "image/semver.h"
#include "util/util.h"

typedef enum {
	RS__PRUNE_STAYS, /* not a candidate: a floating tag, another tag, outside the filter */
	RS__PRUNE_CANDIDATE, /* a release the filter selects */
	RS__PRUNE_REFERRER, /* sha256-<hex>...: goes with its subject */
	RS__PRUNE_ATTACHED, /* no tag: found by subject (referrers API or fallback index) */
} rs__prune_kind;

typedef struct rs__prune_tag {
	rs_prune_item *item;
	rs__prune_kind kind;
	rs__semver v; /* candidates; v.pre is `pre` (the pre-release alone, without a variant) */
	char *line; /* candidates: "" for the plain line, else the variant ("alpine") */
	char *pre; /* candidates: the pre-release ("rc.1"), or NULL for a release */
	char *created; /* RS_PRUNE_BY_CREATED: the config's "created", or NULL */
} rs__prune_tag;

typedef struct rs__prune {
	rs_prune_options o;
	rs__prune_tag *tags; /* one per item of the result */
	size_t n;
	rs_strlist holds; /* digests that stay: held by a tag that stays, or an index's child */
	rs_prune_result *r; /* the result whose items tags[] point at (grows with attached ones) */
	rs_strlist gone; /* digests that go: deleted releases, their index children, referrers */
	rs_strlist signed_oci; /* keep_signed: digests with a signature found by subject */
	rs_strlist children, child_index; /* a child of an index that goes, and that index */
} rs__prune;

/* Split the suffix of X.Y.Z-SUFFIX (NULL: none) into its pre-release and its variant line:
 * SUFFIX is a pre-release when its first identifier (split on '.' and '-') is numeric or a
 * pre-release word (alpha, a, beta, b, rc, pre, preview, dev, snapshot, canary, nightly, next,
 * m, milestone, ea; any case) optionally followed by digits; else it is a variant line named
 * by the whole SUFFIX. A pre-release word with its numeric identifiers, then '-' and a suffix
 * that is no pre-release (rc.1-alpine), is a pre-release of that variant line. *line is ""
 * for the plain line; *pre NULL for a release. 0, or RS_ENOMEM (nothing set). */
int rs__prune_suffix(const char *suffix, char **line, char **pre);

/* Decide every item's action and reason (reads manifests of what stays; configs for
 * RS_PRUNE_BY_CREATED). */
int rs__prune_plan(rs__prune *p, rs_client *c, const rs_ref *repo);

/* lib/image/prune_referrers.c: the referrers found by subject (rs_referrers_list: the API, else
 * the fallback tag index) of what goes -- recursively, and of the children of an index that
 * goes -- added as items without a tag that go with their subject; p->gone filled. */
int rs__prune_attached(rs__prune *p, rs_client *c, const rs_ref *repo);
/* keep_signed: which candidates have a signature referrer by subject (p->signed_oci). */
int rs__prune_find_signed(rs__prune *p, rs_client *c, const rs_ref *repo,
                          const char *const *digests, size_t n);

#endif
