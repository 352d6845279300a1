/*
 * Manifests and indexes (OCI image manifest/index, docker schema 2 manifest/list).
 * Raw bytes are always kept: a digest is computed over exactly the bytes received,
 * and a manifest is never re-serialised before it is pushed.
 *
 * Threads: a parsed rs_manifest / rs_image_config is immutable, so it may be read from several
 * threads at once; freeing it must wait until they are done. The rest are pure functions.
 */
#ifndef REGSHIP_MANIFEST_H
#define REGSHIP_MANIFEST_H

#include "buf.h"
#include "common.h"

RS_BEGIN_DECL

#define RS_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define RS_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define RS_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define RS_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define RS_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define RS_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define RS_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define RS_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define RS_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define RS_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define RS_MT_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define RS_MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define RS_MT_DOCKER_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* Every manifest media type regship handles, comma-separated, for an Accept header. */
#define RS_MANIFEST_ACCEPT                                                                         \
	RS_MT_OCI_INDEX ", " RS_MT_OCI_MANIFEST ", " RS_MT_DOCKER_LIST ", " RS_MT_DOCKER_MANIFEST

/* A platform; owns its strings (rs_platform_free). */
typedef struct rs_platform {
	char *os; /* "linux" */
	char *architecture; /* "amd64" */
	char *variant; /* "v8" or NULL */
	char *os_version; /* or NULL */
} rs_platform;

/*
 * A descriptor (mediaType, digest, size, ...). Ownership: the strings and the platform are
 * NOT const because a descriptor owns them: they are malloc'd, and rs_descriptor_dispose()
 * frees them (so a descriptor a program fills itself, e.g. for rs_manifest_build, may point
 * at its own strings only if it never disposes it). A `const rs_descriptor *` returned by a
 * getter (rs_manifest_layer, rs_manifest_child, ...) belongs to its manifest: read it, copy
 * it with rs_descriptor_dup(), never free or modify it.
 */
typedef struct rs_descriptor {
	char *media_type;
	char *digest; /* "sha256:<hex>" */
	int64_t size;
	rs_platform *platform; /* index entries only; NULL otherwise */
	char *ref_name; /* annotation org.opencontainers.image.ref.name, or NULL */
	char *artifact_type; /* or NULL */
} rs_descriptor;

/* Media types regship knows besides the ones above. */
#define RS_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define RS_MT_OCI_LAYER_NONDIST_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define RS_MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"

/* The size limit of a manifest (distribution's maxManifestBodySize). */
#define RS_MANIFEST_MAX_SIZE (4 * 1024 * 1024)
/* Deepest JSON nesting accepted in a manifest or image config. */
#define RS_MANIFEST_MAX_DEPTH 64

/* ---- media types ---------------------------------------------------------------------------
 * Arguments may carry parameters ("...; charset=utf-8") and any case; they are ignored. */

/* Non-zero for an OCI image manifest or a docker schema 2 manifest. */
RS_EXTERN(int) rs_mediatype_is_manifest(const char *media_type);
/* Non-zero for an OCI image index or a docker manifest list. */
RS_EXTERN(int) rs_mediatype_is_index(const char *media_type);
/* Non-zero for any manifest or index type regship handles (the four in RS_MANIFEST_ACCEPT). */
RS_EXTERN(int) rs_mediatype_is_known(const char *media_type);
/* Non-zero for a docker schema 1 type (never supported). */
RS_EXTERN(int) rs_mediatype_is_schema1(const char *media_type);
/* Non-zero for a layer type (OCI or docker, any compression, foreign/non-distributable too). */
RS_EXTERN(int) rs_mediatype_is_layer(const char *media_type);
/* Non-zero for a foreign (docker) or non-distributable (OCI) layer type. */
RS_EXTERN(int) rs_mediatype_is_foreign(const char *media_type);

typedef enum { RS_MANIFEST_FORMAT_OCI = 0, RS_MANIFEST_FORMAT_DOCKER = 1 } rs_manifest_format;
typedef enum {
	RS_COMPRESSION_NONE = 0,
	RS_COMPRESSION_GZIP = 1,
	RS_COMPRESSION_ZSTD = 2
} rs_compression;

/* Parse "gzip", "zstd" or "none" (as --compress takes it); RS_EINVAL naming the value
 * otherwise. */
RS_EXTERN(int) rs_compression_parse(rs_compression *out, const char *name);

/* The layer media type for a format and compression, or NULL when the format has none
 * (docker schema 2 has no zstd layer type: use OCI). */
RS_EXTERN(const char *) rs_mediatype_layer_for(rs_manifest_format format, rs_compression c);
/* The compression a layer type implies, or -1 when media_type is not a layer type. */
RS_EXTERN(int) rs_mediatype_layer_compression(const char *media_type);
/* The equivalent OCI / docker type for a manifest, index, config or layer type; the type itself
 * (as a static string) when it already is one; NULL when there is no equivalent. */
RS_EXTERN(const char *) rs_mediatype_to_oci(const char *media_type);
RS_EXTERN(const char *) rs_mediatype_to_docker(const char *media_type);

/* ---- platforms ----------------------------------------------------------------------------- */

/* Parse "os/arch[/variant]" ("linux/arm64", "linux/arm/v7"), normalised like containerd:
 * aarch64 -> arm64 (variant v8 dropped), x86_64 -> amd64, armhf -> arm/v7, armel -> arm/v6,
 * arm -> arm/v7, i386 -> 386, everything lowercased. RS_EINVAL with the reason when malformed. */
RS_EXTERN(int) rs_platform_parse(rs_platform **out, const char *s);
/* "os/arch[/variant]" as a malloc'd string the caller releases with free(); NULL for NULL
 * and when out of memory. */
RS_EXTERN(char *) rs_platform_format(const rs_platform *p);
/* The platform of this machine, as docker names it (uname: Linux/x86_64 -> linux/amd64). */
RS_EXTERN(int) rs_platform_host(rs_platform **out);
/* Normalise the fields in place (see rs_platform_parse). 0, or RS_ENOMEM when out of memory
 * (a field being replaced may then be NULL). */
RS_EXTERN(int) rs_platform_normalize(rs_platform *p);
/* Non-zero when `have` satisfies `want`: same os, architecture and variant after normalisation
 * (so linux/arm64 and linux/arm64/v8 match); os_version is compared only when want sets it.
 * Out of memory gives 0 with RS_ENOMEM set as the last error. */
RS_EXTERN(int) rs_platform_match(const rs_platform *want, const rs_platform *have);
/* Non-zero for the unknown/unknown platform buildkit gives attestation manifests. */
RS_EXTERN(int) rs_platform_is_unknown(const rs_platform *p);
/* Deep copy; *out is NULL when src is NULL. */
RS_EXTERN(int) rs_platform_dup(rs_platform **out, const rs_platform *src);
RS_EXTERN(void) rs_platform_free(rs_platform *p);

/* ---- descriptors --------------------------------------------------------------------------- */

/* Deep copy of src into *out (which is overwritten, not freed first). */
RS_EXTERN(int) rs_descriptor_dup(rs_descriptor *out, const rs_descriptor *src);
/* Free the members of d and zero it; the struct itself is the caller's. NULL-safe. */
RS_EXTERN(void) rs_descriptor_dispose(rs_descriptor *d);

/* ---- manifests and indexes ----------------------------------------------------------------- */

typedef struct rs_manifest rs_manifest;

/* Parse a manifest or index from the exact bytes a registry or store gave, with the
 * Content-Type it gave (NULL, "application/json" and other generic types are fine).
 * The media type is the body's "mediaType", else content_type, else detected from the
 * fields ("manifests" -> index, "config" + "layers" -> manifest; OCI when unstated).
 * Errors: RS_ETOOBIG above RS_MANIFEST_MAX_SIZE; RS_EUNSUPPORTED for schema 1 or an unknown
 * media type; RS_EFORMAT for malformed JSON, nesting deeper than RS_MANIFEST_MAX_DEPTH,
 * a content type contradicting "mediaType", or a bad descriptor (the message names it,
 * counting from 0: `manifest layer 3: invalid digest "sha256:zz" ...`). */
RS_EXTERN(int)
rs_manifest_parse(rs_manifest **out, const void *bytes, size_t len, const char *content_type);
RS_EXTERN(void) rs_manifest_free(rs_manifest *m);

/* The exact bytes parsed (NUL-terminated copy); *len receives their length when len is set. */
RS_EXTERN(const void *) rs_manifest_bytes(const rs_manifest *m, size_t *len);
/* "sha256:<hex>" of exactly those bytes. */
RS_EXTERN(const char *) rs_manifest_digest(const rs_manifest *m);
/* 0 when the bytes have digest `expected` (sha256 or sha512), RS_EDIGEST when not. */
RS_EXTERN(int) rs_manifest_verify(const rs_manifest *m, const char *expected);
/* The resolved media type (one of the four known manifest/index types). */
RS_EXTERN(const char *) rs_manifest_media_type(const rs_manifest *m);
RS_EXTERN(int) rs_manifest_is_index(const rs_manifest *m);
/* Top-level "artifactType", or NULL. */
RS_EXTERN(const char *) rs_manifest_artifact_type(const rs_manifest *m);
/* Top-level annotation value, or NULL. */
RS_EXTERN(const char *) rs_manifest_annotation(const rs_manifest *m, const char *key);
/* The "subject" descriptor (OCI 1.1 referrers), or NULL. */
RS_EXTERN(const rs_descriptor *) rs_manifest_subject(const rs_manifest *m);

/* Image manifests: the config (NULL for an index) and the layers (0 for an index). */
RS_EXTERN(const rs_descriptor *) rs_manifest_config(const rs_manifest *m);
RS_EXTERN(size_t) rs_manifest_layer_count(const rs_manifest *m);
RS_EXTERN(const rs_descriptor *) rs_manifest_layer(const rs_manifest *m, size_t i);
/* Every blob an image manifest references, config first then layers in order (the copy
 * engine's list); 0 for an index, whose children are manifests, not blobs. */
RS_EXTERN(size_t) rs_manifest_blob_count(const rs_manifest *m);
RS_EXTERN(const rs_descriptor *) rs_manifest_blob(const rs_manifest *m, size_t i);

/* Indexes: the child manifests (0 for an image manifest), with platform when given. */
RS_EXTERN(size_t) rs_manifest_child_count(const rs_manifest *m);
RS_EXTERN(const rs_descriptor *) rs_manifest_child(const rs_manifest *m, size_t i);

/* The first child of `index` matching `want` (rs_platform_match), skipping unknown/unknown
 * attestation entries. RS_ENOTFOUND lists what is there:
 * "no manifest for platform linux/s390x in the index; available: linux/amd64, linux/arm64/v8".
 * RS_EINVAL when `index` is not an index. */
RS_EXTERN(int)
rs_manifest_select_platform(const rs_descriptor **out, const rs_manifest *index,
                            const rs_platform *want);

/* ---- builders ------------------------------------------------------------------------------
 * Compact JSON with a fixed key order (schemaVersion, mediaType, config, layers, annotations;
 * descriptors as Go writes them), appended to `out`; the bytes are meant to be pushed as-is. */

/* An image manifest: media_type RS_MT_OCI_MANIFEST or RS_MT_DOCKER_MANIFEST. annotation_kv is
 * NULL or a NULL-terminated list of key, value pairs (OCI only: docker schema 2 has none). */
RS_EXTERN(int)
rs_manifest_build(rs_buf *out, const char *media_type, const rs_descriptor *config,
                  const rs_descriptor *layers, size_t n, const char *const *annotation_kv);
/* An index: media_type RS_MT_OCI_INDEX or RS_MT_DOCKER_LIST (whose entries need a platform). */
RS_EXTERN(int)
rs_index_build(rs_buf *out, const char *media_type, const rs_descriptor *children, size_t n);

/* ---- image configs ------------------------------------------------------------------------- */

typedef struct rs_image_config rs_image_config;

/* Read os, architecture, variant, os.version and rootfs.diff_ids from an image config
 * (OCI or docker). RS_EFORMAT naming the field when one is missing or malformed. */
RS_EXTERN(int) rs_image_config_parse(rs_image_config **out, const void *bytes, size_t len);
RS_EXTERN(void) rs_image_config_free(rs_image_config *c);
/* Its platform (as written, not normalised). */
RS_EXTERN(const rs_platform *) rs_image_config_platform(const rs_image_config *c);
RS_EXTERN(size_t) rs_image_config_diff_id_count(const rs_image_config *c);
RS_EXTERN(const char *) rs_image_config_diff_id(const rs_image_config *c, size_t i);

RS_END_DECL

#endif
