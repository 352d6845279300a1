/*
 * OCI 1.1 referrers: the artifacts (signatures, SBOMs, attestations) attached to a manifest by
 * their "subject" field.
 *
 * A registry with the referrers API answers GET /v2/<name>/referrers/<digest> with an image
 * index of descriptors. A registry without it (docker-registry 2.x) is read through the
 * referrers tag schema of the distribution spec: the tag "sha256-<hex>" of the subject's
 * digest names an index listing its referrers, which clients keep up to date when they push a
 * manifest with a subject (the registry store does: see regship/store.h).
 *
 * Ownership: rs_referrers_list fills a caller-provided rs_referrers that the caller empties
 * with rs_referrers_dispose() (also after a failure: it is safe to dispose then). Everything
 * in it is malloc'd and owned by it.
 *
 * Thread safety: the calls use their client like any other call (see client.h); a filled
 * rs_referrers is plain data.
 */
#ifndef REGSHIP_REFERRERS_H
#define REGSHIP_REFERRERS_H

#include "client.h"
#include "common.h"
#include "copy.h"
#include "ref.h"
#include "store.h"

RS_BEGIN_DECL

/* Where the list came from. */
typedef enum rs_referrers_source {
	RS_REFERRERS_API = 0, /* GET /v2/<name>/referrers/<digest> */
	RS_REFERRERS_TAG = 1, /* the fallback tag sha256-<hex> (none: an empty list) */
} rs_referrers_source;

/* One referrer: a descriptor of a manifest whose subject is the image asked about. */
typedef struct rs_referrer {
	char *media_type;
	char *digest; /* "sha256:<hex>" */
	int64_t size;
	char *artifact_type; /* the descriptor's artifactType, or NULL */
	/* annotations as key/value pairs: annotations[2*i] is a key, annotations[2*i+1] its
	 * value; annotation_count pairs (NULL when none) */
	char **annotations;
	size_t annotation_count;
} rs_referrer;

typedef struct rs_referrers {
	char *subject; /* the digest whose referrers these are */
	rs_referrer *items;
	size_t count;
	rs_referrers_source source;
	/* 1: the registry applied the artifactType filter itself (OCI-Filters-Applied); 0: regship
	 * filtered the answer (or no filter was asked for). Either way items match it. */
	int filtered_by_registry;
} rs_referrers;

#define RS_REFERRERS_INIT                                                                          \
	{                                                                                          \
		NULL, NULL, 0, RS_REFERRERS_API, 0                                                 \
	}

/*
 * The referrers of `subject` (a reference with a digest, or a tag, which is resolved first;
 * for an index, the referrers of the index itself, not of its children). artifact_type: only
 * referrers of that artifactType, or NULL for all.
 *
 * The referrers API is asked first; its Link pagination is followed only on the registry's own
 * origin (a Link to another origin, a loop or a malformed answer is RS_EPROTO naming it). When
 * the registry answers 404 (no API), the fallback tag sha256-<hex> is read: absent, the list
 * is empty. out is overwritten (not freed first).
 */
RS_EXTERN(int)
rs_referrers_list(rs_referrers *out, rs_client *client, const rs_ref *subject,
                  const char *artifact_type);

RS_EXTERN(void) rs_referrers_dispose(rs_referrers *referrers);

/* The value of annotation `key` of a referrer, or NULL. */
RS_EXTERN(const char *) rs_referrer_annotation(const rs_referrer *r, const char *key);

/*
 * Keep the fallback tag index of a registry without the referrers API: when `manifest` (the
 * bytes just pushed to `repo`) has a subject, read the index under the tag sha256-<hex> of the
 * subject's digest (absent: a new one), add the manifest's descriptor (mediaType, digest, size,
 * artifactType, annotations) unless it is listed already, and put it back. A manifest without
 * a subject: nothing to do. The registry store does this by itself after a manifest PUT that
 * was not answered with OCI-Subject; call it when pushing manifests some other way.
 */
RS_EXTERN(int)
rs_referrers_tag_update(rs_client *client, const rs_ref *repo, const void *manifest, size_t len,
                        const char *media_type);

/*
 * Copy the referrers of the manifest `digest` (already at dst) from src to dst: its referrers,
 * theirs (a signature of a signature), and for an index those of its children, each with
 * rs_copy by digest (exact bytes: digests are kept). src: a registry (rs_referrers_list) or an
 * OCI layout (its index.json manifests whose subject names the digest). opts: as for rs_copy
 * (jobs, mounts, callback; platform, no_clobber and referrers are ignored), or NULL. *copied
 * (may be NULL): how many referrers were copied. This is what rs_copy does with
 * opts->referrers set; retag into another repository calls it by itself.
 */
RS_EXTERN(int)
rs_copy_referrers(rs_store *dst, rs_store *src, const char *digest, const rs_copy_options *opts,
                  size_t *copied);

RS_END_DECL

#endif
