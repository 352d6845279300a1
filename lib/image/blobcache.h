/*
 * Where this machine has seen blobs: digest -> (registry, repository) pairs, so a later push
 * of the same blob to another repository of that registry can mount it instead of uploading.
 * One small file per digest (lines "DOMAIN REPOSITORY", oldest first, oldest dropped past
 * 64 KiB), changed under an flock of its directory and replaced atomically (unique temporary
 * file, rename): concurrent runs lose no line, a planted symlink or FIFO is never followed or
 * opened, and a deleted cache only means fewer mounts.
 */
#ifndef RS_BLOBCACHE_H
#define RS_BLOBCACHE_H

#include "util/util.h"

/* The cache directory: override, else $XDG_CACHE_HOME/regship/blobs, else ~/.cache/... ;
 * NULL when no home can be found. Caller frees. */
char *rs__blobcache_dir(const char *override);
/* Remember that domain/path holds digest. Failures are ignored (it is only a cache). */
void rs__blobcache_record(const char *dir, const char *digest, const char *domain,
                          const char *path);
/* Repositories of domain known to hold digest (most recent last), excluding `except`. */
void rs__blobcache_lookup(rs_strlist *out, const char *dir, const char *digest, const char *domain,
                          const char *except);

#endif
