/* Internal hooks of the docker-save archive store (lib/store/docker_archive.c), for tests. */
#ifndef RS_STORE_DOCKER_ARCHIVE_H
#define RS_STORE_DOCKER_ARCHIVE_H

#include "regship/store.h"

/* How many layers this store has compressed so far (while synthesising manifests and when
 * compressing on demand for a compression-cache hit); 0 for a store of another kind. */
unsigned int rs__docker_archive_compressions(const rs_store *s);

/* The store's private temporary directory, or NULL when none was created yet. */
const char *rs__docker_archive_tmpdir(const rs_store *s);

#endif
