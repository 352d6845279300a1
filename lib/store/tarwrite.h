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

#endif
