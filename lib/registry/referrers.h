/*
 * Referrers internals (lib/registry/referrers.c): the pure parts (answer parsing, the fallback
 * index merge) for the unit tests, and the registry store's hook after a manifest PUT.
 */
#ifndef RS_REGISTRY_REFERRERS_H
#define RS_REGISTRY_REFERRERS_H

#include "regship/referrers.h"
#include "regship/store.h"

#include <jansson.h>
#include <stdbool.h>

/* Referrers answers and fallback indexes larger than this are refused. */
#define RS__REFERRERS_MAX (4u * 1024 * 1024)

/*
 * Append the descriptors of an index (a referrers answer or a fallback tag's index) to out:
 * each needs a mediaType, a valid digest and a size; artifactType and string annotations are
 * kept. Only those of artifact_type (when not NULL); a digest already in out is skipped. what
 * names the answer in messages (RS_EPROTO "WHAT: ...").
 */
int rs__referrers_parse(rs_referrers *out, const void *body, size_t len, const char *artifact_type,
                        const char *what);

/*
 * The descriptor a referrers index lists for a manifest (mediaType, digest, size, artifactType
 * -- the manifest's, else its config's media type unless that is the empty type --, and its
 * annotations), and its subject's digest. No subject: *desc and *subject are NULL (0).
 */
int rs__referrers_descriptor(json_t **desc, char **subject, const void *manifest, size_t len,
                             const char *media_type);

/*
 * The fallback index `old` (NULL: none yet) with desc added: 0 with the new bytes in out; 1
 * when old lists desc's digest already (out untouched). RS_EFORMAT when old is not an index.
 */
int rs__referrers_index_merge(rs_buf *out, const void *old, size_t old_len, const json_t *desc);

/* "<alg>-<hex>" of a digest (the referrers tag schema: alg up to 32, hex up to 64 characters);
 * NULL for a malformed digest or no memory. */
char *rs__referrers_tag(const char *digest);

/* The registry store's hook after a manifest PUT to repo: unless the registry answered with
 * OCI-Subject (api), keep the fallback tag (rs_referrers_tag_update). */
int rs__referrers_after_put(rs_client *c, const rs_ref *repo, const void *body, size_t len,
                            const char *media_type, bool api);

#endif
