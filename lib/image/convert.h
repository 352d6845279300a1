/* Docker schema 2 manifests and manifest lists rewritten with OCI media types, for the OCI
 * layouts and archives others read (as skopeo writes them). Private to the copy engine. */
#ifndef RS_IMAGE_CONVERT_H
#define RS_IMAGE_CONVERT_H

#include "regship/manifest.h"
#include "regship/store.h"

#include <jansson.h>
#include <stdbool.h>

/* True when copies into this store convert Docker manifests to OCI (oci, oci-archive). */
bool rs__convert_wanted(const char *dest_scheme);

/*
 * Record what a child manifest of an index became: children maps the child's original
 * digest to {"digest", "size", "mediaType"} of the manifest written. 0 or RS_ENOMEM.
 */
int rs__convert_note_child(json_t *children, const char *original_digest,
                           const rs_manifest *written);

/*
 * *m rewritten for an OCI layout: a Docker manifest gets the OCI manifest type, its config
 * and layers the OCI equivalents (the blobs stay byte for byte the same); an index (Docker
 * list or OCI) gets the OCI index type and the digests, sizes and types of its children as
 * `children` (may be NULL) records them. Anything else, or nothing to change: *m untouched.
 * On a change *m is replaced by the parsed new bytes (the old one freed).
 */
int rs__convert_to_oci(rs_manifest **m, json_t *children);

/*
 * A destination named by digest (dst_reference "sha256:..."; anything else: 0) must get a
 * manifest with that digest: RS_EINVAL up front, before anything is copied, naming both
 * digests, when m (the source manifest) has another one, or when converting (copying into
 * an OCI destination without preserve_digests) would change it; the message suggests
 * --preserve-digests. The children of an index are read from src to work out its digest.
 */
int rs__convert_check_digest(rs_store *src, const rs_manifest *m, const char *dst_reference,
                             bool converting);

#endif
