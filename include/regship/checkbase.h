/*
 * Is an image still built on its base's current layers? (`regship check-base`, the "golden
 * image" check a pipeline runs before deploying.) Works on any stores (registry, OCI layout,
 * OCI archive, docker archive), for single images and per platform for indexes.
 */
#ifndef REGSHIP_CHECKBASE_H
#define REGSHIP_CHECKBASE_H

#include "common.h"
#include "manifest.h"
#include "store.h"

RS_BEGIN_DECL

/* The annotation a build records the base image's manifest digest in (OCI image-spec). */
#define RS_ANNOTATION_BASE_DIGEST "org.opencontainers.image.base.digest"
#define RS_ANNOTATION_BASE_NAME "org.opencontainers.image.base.name"

/* One image manifest compared with the base manifest of its platform. */
typedef struct rs_check_base_item {
	char *platform; /* "linux/arm64/v8"; NULL when the image's config names none */
	char *digest; /* the image manifest compared */
	char *base_digest; /* the base manifest it was compared with (the base's current one) */
	/* The image manifest's org.opencontainers.image.base.digest annotation (the base it
	 * was built on), or NULL when it has none. */
	char *built_on;
	size_t layers; /* the image's layer count */
	size_t base_layers; /* the current base's layer count */
	size_t matching; /* leading layers of the image equal (by digest) to the base's */
	int up_to_date; /* non-zero when matching == base_layers */
} rs_check_base_item;

typedef struct rs_check_base_result {
	char *digest; /* the image's top manifest (an index, or the image manifest) */
	char *base_digest; /* the base's top manifest: what its reference points at now */
	rs_check_base_item *items; /* one per platform compared, in the image index's order */
	size_t count;
	int up_to_date; /* non-zero when every item is */
} rs_check_base_result;

/*
 * Compare the image `image_ref` of store `image` with the base `base_ref` of store `base`
 * (references: a tag or digest; NULL: the store's only image). The image is up to date when
 * its layer list starts with every layer of the base's manifest, compared by digest.
 *
 * platform non-NULL: only that platform (selected from an index; a single image must be of
 * that platform). NULL: an image index is compared platform by platform (children whose
 * platform is unknown, such as attestation manifests, are skipped), each with the base's
 * manifest for its platform; a single image with the base's manifest for the image's
 * platform when the base is an index, or with the base itself.
 *
 * A base index without the platform of an image child is RS_ENOTFOUND naming the platform.
 * The caller frees *out with rs_check_base_result_free().
 */
RS_EXTERN(int)
rs_check_base(rs_check_base_result **out, rs_store *image, const char *image_ref, rs_store *base,
              const char *base_ref, const rs_platform *platform);

RS_EXTERN(void) rs_check_base_result_free(rs_check_base_result *r);

RS_END_DECL

#endif
