/*
 * Safe access to files beside user data (internal, never installed).
 *
 * Reading: rs__file_open_regular refuses at once, without blocking, anything that is not a
 * regular file (a FIFO, socket, device or directory), and with RS_FILE_NOFOLLOW a symbolic link
 * as the last component. Writing: a unique temporary file made with O_CREAT|O_EXCL|O_NOFOLLOW
 * in the target's directory, fsync, rename over the target, fsync of the directory; no
 * predictable name that a planted symlink could redirect. Every descriptor is close-on-exec.
 *
 * dirfd is a directory descriptor, or AT_FDCWD for a path relative to the working directory
 * (or absolute). `display` names the file in messages ("/x/lay/index.json"); NULL = path.
 * Messages never quote a file's content.
 */
#ifndef RS_UTIL_FILE_H
#define RS_UTIL_FILE_H

#include "util/util.h"

#include <sys/stat.h>

/* Refuse a symbolic link as the last component (for directories: as any component). */
#define RS_FILE_NOFOLLOW 0x1u
/* rs__dir_open_at: create missing directories (mode given). */
#define RS_FILE_CREATE 0x2u
/* Atomic writes: skip the fsyncs (for caches, where losing a write costs nothing). */
#define RS_FILE_NOSYNC 0x4u

/*
 * Open dirfd/path read-only. *out is a blocking descriptor of a regular file; *st (may be
 * NULL) its fstat. RS_ENOTFOUND when it does not exist; RS_EINVAL for a FIFO, socket, device,
 * directory or (RS_FILE_NOFOLLOW) symbolic link, "cannot read PATH: it is a FIFO, not a
 * regular file"; RS_EIO for other failures ("cannot read PATH: Permission denied").
 */
int rs__file_open_regular(int *out, int dirfd, const char *path, unsigned flags,
                          const char *display, struct stat *st);

/* Read a whole regular file (at most max bytes, else RS_ETOOBIG), as rs__file_open_regular. */
int rs__file_read_regular(rs_buf *out, int dirfd, const char *path, size_t max, unsigned flags,
                          const char *display);

/*
 * Open the directory dirfd/path, one component at a time; with RS_FILE_NOFOLLOW no component
 * may be a symbolic link ("refusing to use PATH: COMPONENT is a symbolic link"). With
 * RS_FILE_CREATE missing components are made with mode. RS_ENOTFOUND when missing.
 */
int rs__dir_open_at(int *out, int dirfd, const char *path, unsigned flags, unsigned mode,
                    const char *display);

/*
 * A new temporary file in dirfd named <prefix><random>, mode 0600, opened for writing with
 * O_CREAT|O_EXCL|O_NOFOLLOW. *name (caller frees) is its name relative to dirfd.
 * display_dir names the directory in messages.
 */
int rs__file_tmp_at(int *fd, char **name, int dirfd, const char *prefix, const char *display_dir);

/*
 * Finish a temporary file from rs__file_tmp_at: chmod to mode, fsync, close (*fd becomes -1),
 * rename over dirfd/name and fsync the directory (no fsync with RS_FILE_NOSYNC in flags). Refuses
 * to replace a directory, FIFO, socket or device (a symbolic link at name is replaced, not
 * followed). On failure the temporary file is removed and name is untouched.
 */
int rs__file_commit_at(int *fd, int dirfd, const char *tmpname, const char *name, unsigned mode,
                       unsigned flags, const char *display);

/* Write data to dirfd/name atomically (rs__file_tmp_at + write + rs__file_commit_at).
 * flags: RS_FILE_NOSYNC or 0. */
int rs__file_write_atomic_at(int dirfd, const char *name, const void *data, size_t len,
                             unsigned mode, unsigned flags, const char *display);

/* Write all len bytes of data to fd (retrying short writes and EINTR); RS_EIO naming display
 * ("cannot write DISPLAY: No space left on device") otherwise. */
int rs__write_all(int fd, const void *data, size_t len, const char *display);

/* "a FIFO", "a socket", "a directory", … for a st_mode, for messages. */
const char *rs__file_kind(unsigned st_mode);

#endif
