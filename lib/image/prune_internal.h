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
} rs__prune_kind;

typedef struct rs__prune_tag {
	rs_prune_item *item;
	rs__prune_kind kind;
	rs__semver v; /* candidates */
	char *created; /* RS_PRUNE_BY_CREATED: the config's "created", or NULL */
} rs__prune_tag;

typedef struct rs__prune {
	rs_prune_options o;
	rs__prune_tag *tags; /* one per item of the result */
	size_t n;
	rs_strlist holds; /* digests that stay: held by a tag that stays, or an index's child */
} rs__prune;

/* Decide every item's action and reason (reads manifests of what stays; configs for
 * RS_PRUNE_BY_CREATED). */
int rs__prune_plan(rs__prune *p, rs_client *c, const rs_ref *repo);

#endif
