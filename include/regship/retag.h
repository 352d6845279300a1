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

/* ---- promotion plans (pure: no network) ----------------------------------------------------
 *
 * Promoting version V = [v]X.Y.Z moves the floating tags [v]X.Y, [v]X and latest to V, each
 * only forward:
 *   [v]X.Y   moves unless a release [v]X.Y.z newer than V is among the tags;
 *   [v]X     moves unless a release [v]X.y.z newer than V is among the tags;
 *   latest   moves unless a release newer than V is among the tags, with or without "v".
 * The floating tags keep V's spelling: promoting v2.1.3 moves v2.1 and v2, and only v-prefixed
 * releases count against them (2.1.5 does not hold v2.1 back); plain 2.1.3 moves 2.1 and 2.
 * Pre-releases (2.1.3-rc.1) are never promoted and never count as newer. Tags that are not
 * semantic versions (including the floating tags themselves) are ignored. Equal versions are
 * not newer, so promoting the same version again moves the same tags again (idempotent). */

typedef struct rs_promotion_step {
	char *tag; /* "2.1", "2", "latest" */
	int move; /* 1: point it at the promoted version; 0: leave it where it is */
	char *reason; /* "2.1.106 is the highest 2.1.z", "2.1.107 is newer", ... */
	char *newer; /* kept because of a newer release: the highest such tag; else NULL */
} rs_promotion_step;

typedef struct rs_promotion_plan {
	char *version; /* the tag promoted */
	int prerelease; /* it has a pre-release: every step is kept */
	rs_promotion_step *steps; /* [v]X.Y, [v]X, latest: in this order */
	size_t count;
} rs_promotion_plan;

/* Flags of rs_promotion_plan_new. */
#define RS_PROMOTE_NO_LATEST 0x1u /* leave latest alone (a kept step, reason says so) */

/* Plan the promotion of `version` given every tag of the repository (tags may or may not
 * include `version`). RS_EINVAL when version is not a semantic version:
 * `"2.1" is not a semantic version (X.Y.Z, vX.Y.Z or X.Y.Z-pre): expected X.Y.Z`. */
RS_EXTERN(int)
rs_promotion_plan_new(rs_promotion_plan **out, const char *version, const char *const *tags,
                      size_t ntags, unsigned int flags);
RS_EXTERN(void) rs_promotion_plan_free(rs_promotion_plan *plan);

/* ---- retag ----------------------------------------------------------------------------- */

/* Resolve a retag target against the source reference: a bare tag ("1.0") means that tag in
 * the source's repository; anything with '/' or ':' is a full reference, which must name a
 * tag (no digest) in a repository of the same registry. RS_EINVAL with the reason otherwise
 * (`invalid tag "-x": ...`, `... is on docker.io, not registry.local:5000 ...`). */
RS_EXTERN(int) rs_retag_target(rs_ref **out, const rs_ref *src, const char *text);

typedef enum rs_retag_action {
	RS_RETAG_TAG = 0, /* a tag asked for by name */
	RS_RETAG_MOVE = 1, /* promotion: a floating tag that moves */
	RS_RETAG_KEEP = 2, /* promotion: a floating tag left where it is (never written) */
} rs_retag_action;

typedef struct rs_retag_entry {
	rs_ref *ref; /* repository and tag */
	rs_retag_action action;
	char *reason; /* promotions: why (see rs_promotion_step); NULL for RS_RETAG_TAG */
	char *newer; /* RS_RETAG_KEEP for a newer release: that tag; else NULL */
	int written; /* 1 once the registry accepted the PUT */
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
} rs_retag_options;

#define RS_RETAG_OPTIONS_VERSION 1
#define RS_RETAG_OPTIONS_INIT                                                                      \
	{                                                                                          \
		RS_RETAG_OPTIONS_VERSION, 0, 0                                                     \
	}

/*
 * Put the manifest `src` (a tag or a digest) under every target (tags, see rs_retag_target).
 * One manifest GET of src, then one PUT per target with the same bytes and media type; no
 * blob is read, checked or moved. For targets in another repository of the same registry the
 * content is made present there first: every blob (and for an index, every child manifest and
 * its blobs) is checked with HEAD and mounted from src's repository when absent, and all of
 * that happens before the first PUT. On error, *out is NULL; tags written before the failure
 * stay written (the message names the tag that failed).
 */
RS_EXTERN(int)
rs_retag(rs_retag_result **out, rs_client *client, const rs_ref *src, const rs_ref *const *targets,
         size_t ntargets, const rs_retag_options *opts);

/*
 * Semantic-version promotion of src (which must carry a semver tag; a digest too is fine):
 * one GET of the manifest, one listing of the repository's tags, the plan
 * (rs_promotion_plan_new), then one PUT per floating tag that moves. Entries list every step,
 * kept ones included; result->plan holds the plan.
 */
RS_EXTERN(int)
rs_retag_promote(rs_retag_result **out, rs_client *client, const rs_ref *src,
                 const rs_retag_options *opts);

RS_EXTERN(void) rs_retag_result_free(rs_retag_result *result);

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
