/*
 * Registry-level tag operations of lib/registry/manifests.c that lib/image builds on (untag,
 * prune): removing one tag while keeping its manifest, and whether a registry deletes at all.
 */
#ifndef RS_REGISTRY_MANIFESTS_H
#define RS_REGISTRY_MANIFESTS_H

#include "regship/client.h"
#include "regship/ref.h"

#include <stdbool.h>

/*
 * Remove the tag ref->tag (ref has a tag, no digest), keeping the manifest and its other tags.
 * First DELETE /manifests/<tag> (OCI distribution 1.1). When the registry refuses that with an
 * answer other than "deletion disabled" (405 / UNSUPPORTED), a permission error, not found or a
 * network failure, the tag is pointed at a placeholder (an OCI image manifest with the empty
 * config blob `{}`, uploaded when absent, no layers, a unique annotation) which is then deleted
 * by digest, taking the tag with it. *placeholder: NULL when the tag was deleted directly, else
 * the placeholder's digest (set also when its deletion failed: the error says the tag now names
 * it). RS_EUNSUPPORTED when deletion is disabled.
 */
int rs__manifest_untag(rs_client *c, const rs_ref *ref, char **placeholder);

/*
 * Does the registry of `repo` delete manifests? One DELETE of a digest no manifest has (nothing
 * can be removed by it): 0 when the registry answers "unknown" (deletion works), RS_EUNSUPPORTED
 * with a message saying deletion is disabled (405 / UNSUPPORTED), RS_EAUTH when it is not
 * allowed, other errors as they come.
 */
int rs__manifest_delete_probe(rs_client *c, const rs_ref *repo);

/* rs_registry_manifest_put, also saying (*oci_subject, when not NULL) whether the answer
 * carried OCI-Subject: the registry has the referrers API and indexed the manifest's subject. */
int rs__manifest_put(rs_client *c, const rs_ref *ref, const void *body, size_t len,
                     const char *media_type, char **digest, bool *oci_subject);

#endif
