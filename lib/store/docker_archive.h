/* Internal hooks of the docker-save archive store (lib/store/docker_archive.c), for tests. */
#ifndef RS_STORE_DOCKER_ARCHIVE_H
#define RS_STORE_DOCKER_ARCHIVE_H

#include "regship/store.h"

#include <stdbool.h>

/* How many layers this store has compressed so far (while synthesising manifests and when
 * compressing on demand for a compression-cache hit); 0 for a store of another kind. */
unsigned int rs__docker_archive_compressions(const rs_store *s);

/* The store's private temporary directory, or NULL when none was created yet. */
const char *rs__docker_archive_tmpdir(const rs_store *s);

/*
 * Streaming compression into a push (the copy engine, lib/image/copy.c). While a copy from the
 * docker archive src to the registry store dst runs (on: before, !on: after; calls nest), layers
 * that need compressing and whose compressed digest the cache does not know are compressed
 * straight into dst's upload when the manifest is synthesised, instead of into temporary files
 * (the digest goes on the upload's final PUT). Nothing for other kinds of stores.
 */
void rs__docker_archive_stream_to(rs_store *src, rs_store *dst, bool on);
/* True when the layer `digest` of the docker archive src was already uploaded to dst that way. */
bool rs__docker_archive_pushed(const rs_store *src, const rs_store *dst, const char *digest);

#endif
