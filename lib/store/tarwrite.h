/* Deterministic tar members for the archive writers (docker archive, OCI archive). */
#ifndef RS_STORE_TARWRITE_H
#define RS_STORE_TARWRITE_H

#include "util/archive_dl.h"
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
 * Where an archive writer puts its tar, decided when the store is opened (nothing is written
 * then): "-" is standard output (refused when it is a terminal); a FIFO or a character device
 * is opened and written in place, streaming; a regular file (or a name that does not exist yet,
 * in an existing directory) is replaced atomically; a symbolic link is followed to the regular
 * file, FIFO or character device it names, and the link itself is kept. Directories, sockets,
 * block devices and dangling links are refused with a message saying what the path is.
 */
typedef struct rs__dest {
	char *shown; /* the name as given, for messages */
	char *target; /* the file replaced by rename (links resolved), or NULL when streaming */
	char *stream; /* the path opened for writing in place, or NULL ("-": stdout) */
	bool to_stdout;
	bool exists; /* target is an existing regular file of a non-zero size */
	int fd; /* while streaming: the open descriptor, else -1 */
} rs__dest;

/* kind names the archive in messages ("docker archive"). */
int rs__dest_resolve(rs__dest *out, const char *file, const char *kind);
void rs__dest_dispose(rs__dest *d);
/* True when the destination is written in place (stdout, FIFO, character device). */
bool rs__dest_streaming(const rs__dest *d);

/*
 * Write the tar whole or not at all: for a regular file, a temporary file beside the target
 * (mode 0644, or the mode of the file replaced), the `count` members written in order by
 * member(payload, a, i, tmpname, buf) with `buf` a scratch space of RS_TAR_BUFSIZE bytes, then
 * fsync and rename over the target; on failure nothing is left and the target is untouched.
 * A streaming destination is written in place (a failure leaves what was sent). Checks for
 * cancellation between and inside members (RS_EUSER).
 */
#define RS_TAR_BUFSIZE (64u * 1024)
typedef int (*rs__tar_member_fn)(void *payload, struct archive *a, size_t i, const char *tmpname,
                                 unsigned char *buf);
int rs__tar_write_file(rs__dest *dest, size_t count, rs__tar_member_fn member, void *payload);

#endif
