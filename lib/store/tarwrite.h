/* Deterministic tar members for the archive writers (docker archive, OCI archive). */
#ifndef RS_STORE_TARWRITE_H
#define RS_STORE_TARWRITE_H

#include <archive.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Write one member with mtime 0, uid/gid 0, mode 0644 (0755 for a directory): a directory when
 * `dir` (name without the trailing '/'), else the `size` bytes of `data` when `path` is NULL, else
 * the file at `path` (opened without following links; it must still hold `size` bytes).
 * `archive_name` is used in messages; `buf` is scratch space of `bufsize` bytes.
 */
int rs__tar_write_member(struct archive *a, const char *archive_name, const char *name, bool dir,
                         const char *path, const void *data, int64_t size, unsigned char *buf,
                         size_t bufsize);

/*
 * Write the tar file `file` whole or not at all: a temporary file beside it (mode 0644), the
 * `count` members written in order by member(payload, a, i, tmpname, buf) with `buf` a scratch
 * space of RS_TAR_BUFSIZE bytes, then fsync and rename over `file`. On failure nothing is left.
 */
#define RS_TAR_BUFSIZE (64u * 1024)
typedef int (*rs__tar_member_fn)(void *payload, struct archive *a, size_t i, const char *tmpname,
                                 unsigned char *buf);
int rs__tar_write_file(const char *file, size_t count, rs__tar_member_fn member, void *payload);

#endif
