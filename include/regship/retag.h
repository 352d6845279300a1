/*
 * Retagging: put the exact bytes of one manifest under more tags, with no blob traffic
 * (same repository) or after mounting the blobs (another repository of the same registry);
 * semantic-version promotion of the floating tags X.Y, X and latest; and removing one tag
 * while keeping the manifest and its other tags.
 */
#ifndef REGSHIP_RETAG_H
#define REGSHIP_RETAG_H

#include "client.h"
#include "common.h"
#include "ref.h"

RS_BEGIN_DECL

/* ---- promotion: decided by what the registry stores ------------------------------------------
 *
 * Promoting release V = [v]X.Y.Z (or, for a variant S, [v]X.Y.Z-S) to its floating tags
 * [v]X.Y, [v]X and latest (for a variant: [v]X.Y-S, [v]X-S and S). For each floating tag F:
 *   - F does not exist: it is created (moved), unless a release of F's line newer than V
 *     exists (kept: creating F on an older release would start it off backwards);
 *   - F already points at V's manifest: nothing is written (already);
 *   - else the releases that F's line covers ([v]X.Y.z for X.Y, [v]X.y.z for X, every release
 *     of the same variant, with or without "v", for latest) are looked at from the highest
 *     down, and the first that points at F's current manifest is the release F holds now:
 *     F moves when V is at least that release, and is kept when that release is newer;
 *   - no release of F's line points at F's manifest (it was untagged, or F was written by
 *     hand): F is refused, and with it the whole promotion, unless forced. At most the newest
 *     256 releases of a line are looked at; none of them holding it counts as none.
 * Pre-releases are never promoted and never hold a floating tag; tags that are not releases
 * of the same variant are ignored.
 *
 * The plan is pure: it is given the tags with what is known of their digests, and says which
 * digests it still needs (`needed`); the caller looks those up and plans again. */

typedef enum rs_retag_action {
	RS_RETAG_TAG = 0, /* a tag asked for by name (plain retag, or --release) */
	RS_RETAG_MOVE = 1, /* promotion: a floating tag that moves (or is created) */
	RS_RETAG_KEEP = 2, /* promotion: left where it is, a newer release holds it */
	RS_RETAG_ALREADY = 3, /* promotion: already points at the release's manifest */
	RS_RETAG_REFUSE = 4, /* promotion: points at a manifest no release holds */
} rs_retag_action;

typedef struct rs_promotion_step {
	char *tag; /* "2.1", "2", "latest" (or "2.1-alpine", "2-alpine", "alpine") */
	rs_retag_action action;
	char *reason; /* "it points at 2.1.105, older than 2.1.106", ... */
	char *previous; /* the digest it points at now, NULL when it does not exist (or unknown) */
	char *holder; /* the newest release pointing at `previous`, or NULL */
} rs_promotion_step;

typedef struct rs_promotion_plan {
	char *version; /* the release promoted: "2.1.106", "2.1.106-alpine" */
	char *suffix; /* the variant, or NULL */
	rs_promotion_step *steps; /* X.Y, X, latest: in this order */
	size_t count;
	char **needed; /* tags whose digest the plan needs before it can decide; NULL when none */
	size_t nneeded;
	int refused; /* some step is RS_RETAG_REFUSE */
} rs_promotion_plan;

/* Flags of rs_promotion_plan_new. */
#define RS_PROMOTE_NO_LATEST 0x1u /* leave latest alone (a kept step, reason says so) */
#define RS_PROMOTE_FORCE 0x2u /* move the floating tags that would be refused */

/*
 * Check that `release` can be promoted (with the variant `suffix`, or NULL), before any
 * request: RS_EINVAL naming what is wrong and what to use instead, e.g.
 * `2.1.106-alpine is a pre-release ...; if "alpine" names a variant, use --suffix alpine`.
 */
RS_EXTERN(int) rs_promotion_check(const char *release, const char *suffix);

/*
 * Plan the promotion of `release` (whose manifest is `digest`) given the repository's tags.
 * digests[i] is what is known of tags[i]: its digest, "" when it turned out not to exist, or
 * NULL when not looked up yet (digests itself may be NULL: nothing known). The release's own
 * tag is taken to point at `digest`. When the plan cannot decide yet, plan->needed lists the
 * tags to look up (floating tags first, then releases from the highest down, a bounded number
 * per round) and the steps are provisional.
 */
RS_EXTERN(int)
rs_promotion_plan_new(rs_promotion_plan **out, const char *release, const char *suffix,
                      const char *digest, const char *const *tags, const char *const *digests,
                      size_t ntags, unsigned int flags);
RS_EXTERN(void) rs_promotion_plan_free(rs_promotion_plan *plan);

/* ---- tag lists for release scripts ----------------------------------------------------------- */

/* Sort tags highest version first (semver precedence: a pre-release is below its release, so
 * 2.1.0, 2.1.0-rc.2, 2.1.0-rc.1, 2.0.9), tags that are not versions last in byte order; equal
 * versions (2.1.0 and v2.1.0) in byte order. */
RS_EXTERN(void) rs_tags_sort_semver(char **tags, size_t n);

/* The highest release (X.Y.Z or vX.Y.Z, no pre-release) among tags, on the line `prefix`
 * when given ("2", "2.1", "v2.1": the release's own spelling must match). RS_EINVAL when
 * prefix is not [v]X or [v]X.Y or [v]X.Y.Z; RS_ENOTFOUND when there is none. *out points into
 * tags. */
RS_EXTERN(int)
rs_tags_latest(const char **out, const char *const *tags, size_t n, const char *prefix);

/* ---- retag ----------------------------------------------------------------------------- */

/* Resolve a retag target against the source reference: a bare tag ("1.0") means that tag in
 * the source's repository; anything with '/' or ':' is a full reference, which must name a
 * tag (no digest) in a repository of the same registry. RS_EINVAL with the reason otherwise
 * (`invalid tag "-x": ...`, `... is on docker.io, not registry.local:5000 ...`). */
RS_EXTERN(int) rs_retag_target(rs_ref **out, const rs_ref *src, const char *text);

typedef struct rs_retag_entry {
	rs_ref *ref; /* repository and tag */
	rs_retag_action action;
	char *reason; /* promotions: why (see rs_promotion_step); NULL for RS_RETAG_TAG */
	char *previous; /* promotions: the digest the tag pointed at before, NULL: it did not exist
	                 */
	char *holder; /* promotions: the newest release pointing at `previous`, or NULL */
	int written; /* 1 once the registry accepted the PUT */
	int rolled_back; /* 1: written, then put back at `previous` (or removed) after a failure */
} rs_retag_entry;

typedef struct rs_retag_result {
	char *digest; /* of the source manifest: what every written tag now points at */
	char *media_type;
	size_t size; /* bytes of the manifest */
	rs_retag_entry *entries;
	size_t count;
	size_t blobs_mounted; /* cross-repository targets only */
	size_t manifests_copied; /* index children put into other repositories */
	rs_promotion_plan *plan; /* rs_retag_promote only, else NULL */
} rs_retag_result;

typedef struct rs_retag_options {
	unsigned int version;
	int dry_run; /* fetch and plan, write nothing (entries keep written = 0) */
	unsigned int promote_flags; /* RS_PROMOTE_* for rs_retag_promote */
	const char *suffix; /* rs_retag_promote: the variant ("alpine"), or NULL */
	const char *release; /* rs_retag_promote of a source given by digest only: the release
	                      * tag to write and promote ("2.1.107") */
	int no_clobber; /* rs_retag: a target tag that exists and points at another manifest is
	                 * an error (RS_EEXISTS naming the tag and both digests), nothing written */
} rs_retag_options;

#define RS_RETAG_OPTIONS_VERSION 1
#define RS_RETAG_OPTIONS_INIT                                                                      \
	{                                                                                          \
		RS_RETAG_OPTIONS_VERSION, 0, 0, NULL, NULL, 0                                      \
	}

/*
 * Put the manifest `src` (a tag or a digest) under every target (tags, see rs_retag_target).
 * One manifest GET of src, then one PUT per target with the same bytes and media type; no
 * blob is read, checked or moved. For targets in another repository of the same registry the
 * content is made present there first: every blob (and for an index, every child manifest and
 * its blobs) is checked with HEAD and mounted from src's repository when absent, and all of
 * that happens before the first PUT. Every target is looked up first (HEAD): one that already
 * points at src's manifest is not written (RS_RETAG_ALREADY, `previous` set); one that points
 * elsewhere has `previous` set and is overwritten, unless opts->no_clobber (RS_EEXISTS, nothing
 * written). A registry refusing the overwrite of an immutable tag gives RS_EEXISTS too. A
 * target named twice (same repository and tag) is written and reported once.
 * On error, *out is NULL; tags written before the failure stay written (the message names
 * the tag that failed).
 */
RS_EXTERN(int)
rs_retag(rs_retag_result **out, rs_client *client, const rs_ref *src, const rs_ref *const *targets,
         size_t ntargets, const rs_retag_options *opts);

/*
 * Promotion of a release to its floating tags (see rs_promotion_plan_new). src is
 * repo:RELEASE, repo:RELEASE@DIGEST (the tag must point at DIGEST) or repo@DIGEST with
 * opts->release naming the release (that tag is written too, first). One GET of the manifest,
 * one tag listing, parallel HEADs of the floating tags that exist and of as many releases
 * (highest first) as the decision needs, then one PUT per tag that moves, in order. Nothing
 * is written when a step is refused (RS_ERROR; *out still gets the plan, nothing written).
 * When a PUT fails, the tags already written are put back (or removed, if they were new) and
 * the error says what was moved and rolled back, or what points where if that failed too;
 * *out then holds the entries with written/rolled_back set.
 * Entries: the release tag (--release) and every floating tag, kept ones included.
 */
RS_EXTERN(int)
rs_retag_promote(rs_retag_result **out, rs_client *client, const rs_ref *src,
                 const rs_retag_options *opts);

RS_EXTERN(void) rs_retag_result_free(rs_retag_result *result);

/*
 * The digests of many tags of one repository, looked up in parallel (HEAD with every manifest
 * media type in Accept, over the client's connection pool). (*out)[i] is the digest of
 * tags[i], or NULL when that tag does not exist (or is no valid tag name, which a registry
 * may list but nobody can ask for); free each and the array. Any other error
 * stops the lookups and is returned (*out NULL).
 */
RS_EXTERN(int)
rs_tags_digests(char ***out, rs_client *client, const rs_ref *repo, const char *const *tags,
                size_t n);

/* ---- untag ----------------------------------------------------------------------------- */

typedef enum rs_untag_method {
	RS_UNTAG_DELETED = 0, /* the registry deleted the tag (OCI distribution 1.1) */
	RS_UNTAG_PLACEHOLDER = 1, /* the tag was moved to a unique placeholder manifest, which
	                           * was then deleted by digest (distribution 2.x) */
} rs_untag_method;

typedef struct rs_untag_result {
	char *digest; /* what the tag pointed at; the manifest stays in the repository */
	rs_untag_method method;
	char *placeholder; /* RS_UNTAG_PLACEHOLDER: the placeholder's digest; else NULL */
} rs_untag_result;

/*
 * Remove one tag, leaving the manifest and every other tag in place. ref must have a tag and
 * no digest. RS_ENOTFOUND when the tag does not exist. First DELETE /manifests/<tag>; when
 * the registry answers that with an error other than "deletion disabled" (405) or a
 * permission error, the tag is pointed at a placeholder (an OCI image manifest with the empty
 * config blob `{}`, uploaded when absent, no layers, and a unique annotation) and that
 * placeholder is deleted by digest, which removes the tag with it. Should that last DELETE
 * fail, the error says that the tag now names the placeholder, and which digest it has.
 */
RS_EXTERN(int) rs_untag(rs_untag_result **out, rs_client *client, const rs_ref *ref);
RS_EXTERN(void) rs_untag_result_free(rs_untag_result *result);

RS_END_DECL

#endif
