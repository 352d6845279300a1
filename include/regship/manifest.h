/*
 * Manifests and indexes (OCI image manifest/index, docker schema 2 manifest/list).
 * Raw bytes are always kept: a digest is computed over exactly the bytes received,
 * and a manifest is never re-serialised before it is pushed.
 */
#ifndef REGSHIP_MANIFEST_H
#define REGSHIP_MANIFEST_H

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

typedef struct rs_platform {
	char *os; /* "linux" */
	char *architecture; /* "amd64" */
	char *variant; /* "v8" or NULL */
	char *os_version; /* or NULL */
} rs_platform;

typedef struct rs_descriptor {
	char *media_type;
	char *digest; /* "sha256:<hex>" */
	int64_t size;
	rs_platform *platform; /* index entries only; NULL otherwise */
	char *ref_name; /* annotation org.opencontainers.image.ref.name, or NULL */
	char *artifact_type; /* or NULL */
} rs_descriptor;

RS_END_DECL

#endif
