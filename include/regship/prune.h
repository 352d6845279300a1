/*
 * Retention: keep the newest N releases of a repository and remove the rest, never removing
 * what a kept, out-of-filter or floating tag still needs.
 *
 * Thread safety: an rs_prune call uses its client like any other call (see client.h); plans
 * and results are plain data owned by the caller.
 */
#ifndef REGSHIP_PRUNE_H
#define REGSHIP_PRUNE_H

#include "client.h"
#include "common.h"
#include "ref.h"

RS_BEGIN_DECL

typedef enum rs_prune_order {
	RS_PRUNE_BY_SEMVER = 0, /* semantic-version tags; a pre-release below its release */
	RS_PRUNE_BY_CREATED = 1, /* the image config's "created" (newest first) */
} rs_prune_order;

typedef enum rs_prune_action {
	RS_PRUNE_KEEP = 0, /* stays (reason says why) */
	RS_PRUNE_DELETE = 1, /* the manifest is deleted by digest (with every tag on it) */
	RS_PRUNE_UNTAG = 2, /* only the tag goes: something that stays holds its manifest */
} rs_prune_action;

typedef struct rs_prune_item {
	char *tag; /* NULL for a referrer found by subject (it has no tag of its own) */
	char *digest; /* what the tag points at */
	rs_prune_action action;
	char *reason; /* "one of the 5 newest releases", "held by latest", ... */
	char *subject; /* a referrer (tag sha256-<hex>..., or found by subject): the digest it
	                * goes with (what it is attached to; for a referrer of an index's child,
	                * the index); else NULL */
	int done; /* real run: 1 once removed */
	char *error; /* real run: why it could not be removed, or NULL */
} rs_prune_item;

typedef struct rs_prune_result {
	rs_prune_item *items; /* every tag of the repository, then the referrers found by
	                       * subject of what goes (no tag) */
	size_t count;
	size_t deleted, untagged, failed; /* real run: counts of items */
	int dry_run;
} rs_prune_result;

typedef struct rs_prune_options {
	unsigned int version;
	size_t keep; /* releases (distinct manifests) to keep, in each line */
	rs_prune_order by;
	const char *include; /* POSIX extended regex: only matching tags are candidates */
	const char *exclude; /* ... and no tag matching this one */
	long keep_prereleases; /* <0 (default): a pre-release stays while it is newer than its
	                        * line's newest release (a pending release) and goes otherwise;
	                        * else the newest this many pre-release manifests of each line
	                        * stay. Pre-releases never count against `keep`. */
	int keep_signed; /* keep every image that has a signature referrer (by subject with a
	                  * cosign, notation or sigstore artifactType, or a tag *.sig) */
	int dry_run; /* plan only */
} rs_prune_options;

#define RS_PRUNE_OPTIONS_VERSION 1
#define RS_PRUNE_OPTIONS_INIT                                                                      \
	{                                                                                          \
		RS_PRUNE_OPTIONS_VERSION, 0, RS_PRUNE_BY_SEMVER, NULL, NULL, -1, 0, 0              \
	}

/*
 * Plan, and unless dry_run carry out, the retention of `repo` (a repository; no tag, no
 * digest). One tag listing, the tags' digests in parallel (HEAD), the manifests of what stays
 * (to protect an index's children) and, for RS_PRUNE_BY_CREATED, the candidates' configs.
 *
 * Candidates are the semantic-version tags ([v]X.Y.Z[-SUFFIX]) matching include and not
 * exclude. A SUFFIX whose first identifier (split on '.' and '-') is numeric or a pre-release
 * word (alpha, a, beta, b, rc, pre, preview, dev, snapshot, canary, nightly, next, m,
 * milestone, ea; any case) optionally followed by digits is a pre-release (rc.1, beta2,
 * 0.3.7); any other (alpine, slim-bookworm) names a variant line. A pre-release word with its
 * numbers, '-' and a variant (rc.1-alpine) is a pre-release of that variant's line; any other
 * pre-release belongs to the plain line. Each line (the plain one, each variant) is ranked
 * and pruned on its own: `keep` releases of each line stay, and the pre-releases as
 * keep_prereleases says. Releases are counted as manifests: tags on one digest are one
 * release. Never removed: a
 * manifest held by a kept tag, a tag outside the filter or a floating tag (latest, [v]X,
 * [v]X.Y, variant lines such as 2.1-alpine: any tag that is not a candidate), nor a child of
 * an index that stays. A candidate whose manifest something that stays holds is untagged, not
 * deleted. Referrers go with their subject and never alone: those by tag (sha256-<hex>.sig,
 * .att, .sbom, ...: cosign's), and those attached by "subject", found with rs_referrers_list
 * (the referrers API, else the fallback tag index sha256-<hex>, which goes with its subject
 * too) for every manifest that goes -- recursively (a signature's signature), and for an index
 * that goes, those of its children. keep_signed keeps every image with a signature referrer.
 *
 * Before the first removal the registry is asked whether it deletes at all (RS_EUNSUPPORTED
 * with one message, nothing attempted). A removal that fails does not stop the others: its
 * item has `error`, result->failed counts them, and the call returns RS_ERROR naming them
 * (*out is set in every case where a plan was made).
 */
RS_EXTERN(int)
rs_prune(rs_prune_result **out, rs_client *client, const rs_ref *repo,
         const rs_prune_options *opts);
RS_EXTERN(void) rs_prune_result_free(rs_prune_result *result);

RS_EXTERN(const char *) rs_prune_action_name(rs_prune_action action);

RS_END_DECL

#endif
