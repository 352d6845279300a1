#include "tarwrite.h"

#include "regship/copy.h"
#include "store/store.h"
#include "util/file.h"
#include "util/util.h"

#include "util/archive_dl.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Why libarchive could not write: the system's reason when it has one ("No space left on
 * device"), not only its "Write error". */
static const char *write_failure(struct archive *a)
{
	int e = archive_errno(a);
	if (e > 0)
		return strerror(e);
	return archive_error_string(a) ? archive_error_string(a) : "write error";
}

int rs__tar_write_member(struct archive *a, const char *archive_name, const char *name, bool dir,
                         const char *path, const void *data, int64_t size, unsigned char *buf,
                         size_t bufsize)
{
	struct archive_entry *e = archive_entry_new();
	rs_buf member = RS_BUF_INIT;
	int fd = -1, error = 0;
	int64_t left = dir ? 0 : size;

	rs__buf_printf(&member, "%s%s", name, dir ? "/" : "");
	if (!e || rs__buf_oom(&member)) {
		error = rs__oom();
		goto done;
	}
	archive_entry_copy_pathname(e, member.ptr);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0755 : 0644);
	archive_entry_set_size(e, dir ? 0 : (la_int64_t)size);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if ((error = rs__cancel_check()) < 0)
		goto done;
	if (!dir && path && (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		error = rs__error_set(RS_EIO, "cannot open %s: %s", path, strerror(errno));
		goto done;
	}
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		error = rs__error_set(RS_EIO, "cannot write %s into %s: %s", member.ptr,
		                      archive_name, write_failure(a));
		goto done;
	}
	if (!dir && !path) {
		if (archive_write_data(a, data, (size_t)size) != (la_ssize_t)size)
			error = rs__error_set(RS_EIO, "cannot write %s into %s: %s", member.ptr,
			                      archive_name, write_failure(a));
		goto done;
	}
	while (left > 0) {
		ssize_t n;
		if ((error = rs__cancel_check()) < 0)
			goto done;
		n = read(fd, buf, left < (int64_t)bufsize ? (size_t)left : bufsize);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			error = rs__error_set(RS_EIO, "cannot read %s: %s", path,
			                      n < 0 ? strerror(errno) : "shorter than expected");
			goto done;
		}
		if (archive_write_data(a, buf, (size_t)n) != n) {
			error = rs__error_set(RS_EIO, "cannot write %s into %s: %s", member.ptr,
			                      archive_name, write_failure(a));
			goto done;
		}
		left -= n;
	}
done:
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	rs_buf_dispose(&member);
	return error;
}

/* ---- destinations ------------------------------------------------------------------------- */

static const char *what_is(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "a special file";
}

/* A file that does not exist yet: the directory it goes in must. */
static int check_parent(const char *file)
{
	const char *slash = strrchr(file, '/');
	struct stat st;
	char *dir;
	int error = 0;
	if (!slash)
		return 0;
	dir = slash == file ? rs__strdup("/") : rs__strndup(file, (size_t)(slash - file));
	if (!dir)
		return rs__oom();
	if (stat(dir, &st) < 0)
		error = rs__error_set(errno == ENOENT ? RS_EINVAL : RS_EIO,
		                      "cannot create %s: directory %s: %s", file, dir,
		                      strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		error = rs__error_set(RS_EINVAL, "cannot create %s: %s is not a directory", file,
		                      dir);
	free(dir);
	return error;
}

void rs__dest_dispose(rs__dest *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	free(d->shown);
	free(d->target);
	free(d->stream);
	memset(d, 0, sizeof(*d));
	d->fd = -1;
}

bool rs__dest_streaming(const rs__dest *d)
{
	return d->to_stdout || d->stream;
}

/* A symbolic link: the link stays; what it names is written. *st becomes what it names (stat,
 * not realpath, decides what that is: /dev/stdout names a pipe that has no path); *real is the
 * resolved path of a regular file. */
static int follow_link(char **real, struct stat *st, const char *file)
{
	*real = NULL;
	if (stat(file, st) < 0) {
		char link[PATH_MAX];
		int e = errno;
		ssize_t n = readlink(file, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		if (e == ENOENT)
			return rs__error_set(RS_EINVAL,
			                     "%s is a symbolic link to %s, which does not exist "
			                     "(regship creates no file through a link)",
			                     file, link);
		return rs__error_set(RS_EIO, "cannot follow the symbolic link %s: %s", file,
		                     strerror(e));
	}
	if (S_ISREG(st->st_mode) && !(*real = realpath(file, NULL)))
		return rs__error_set(RS_EIO, "cannot follow the symbolic link %s: %s", file,
		                     strerror(errno));
	return 0;
}

/* A character device: opened now, and refused when it is a terminal. */
static int open_device(rs__dest *out, const char *path, const char *file, const char *kind)
{
	if (!(out->stream = rs__strdup(path)))
		return rs__oom();
	out->fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (out->fd < 0)
		return rs__error_set(RS_EIO, "cannot open %s: %s", file, strerror(errno));
	if (isatty(out->fd))
		return rs__error_set(RS_EINVAL,
		                     "refusing to write a %s to the terminal %s: redirect it or "
		                     "name a file",
		                     kind, file);
	/* writes block as on any file */
	(void)fcntl(out->fd, F_SETFL, fcntl(out->fd, F_GETFL) & ~O_NONBLOCK);
	return 0;
}

/* An existing file of type st (path: links resolved): a regular file is replaced, a FIFO or a
 * character device written in place; anything else is refused. */
static int resolve_existing(rs__dest *out, const struct stat *st, const char *path,
                            const char *file, const char *kind, bool via_link)
{
	if (S_ISREG(st->st_mode)) {
		if (!(out->target = rs__strdup(path)))
			return rs__oom();
		out->exists = st->st_size > 0;
		return 0;
	}
	if (S_ISFIFO(st->st_mode)) {
		/* opened when written: it waits for a reader */
		if (!(out->stream = rs__strdup(path)))
			return rs__oom();
		return 0;
	}
	if (S_ISCHR(st->st_mode))
		return open_device(out, path, file, kind);
	return rs__error_set(RS_EINVAL,
	                     "%s is %s%s: a %s is written to a regular file, a FIFO, a character "
	                     "device or - (standard output)",
	                     file, what_is(st->st_mode),
	                     via_link ? " (through a symbolic link)" : "", kind);
}

int rs__dest_resolve(rs__dest *out, const char *file, const char *kind)
{
	struct stat st;
	char *real = NULL;
	int error = 0;
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (!file || !*file)
		return rs__error_set(RS_EINVAL, "%s: no file given", kind);
	if (!(out->shown = rs__strdup(file)))
		return rs__oom();
	if (!strcmp(file, "-")) {
		if (isatty(STDOUT_FILENO))
			error = rs__error_set(RS_EINVAL,
			                      "refusing to write a %s to a terminal: redirect "
			                      "standard output or name a file",
			                      kind);
		else
			out->to_stdout = true;
	} else if (lstat(file, &st) < 0) {
		/* a file to create: in a directory that exists */
		if (errno != ENOENT)
			error = rs__error_set(RS_EIO, "cannot use %s: %s", file, strerror(errno));
		else if ((error = check_parent(file)) == 0 && !(out->target = rs__strdup(file)))
			error = rs__oom();
	} else if (S_ISLNK(st.st_mode)) {
		if ((error = follow_link(&real, &st, file)) == 0)
			error = resolve_existing(out, &st, real ? real : file, file, kind, true);
	} else {
		error = resolve_existing(out, &st, file, file, kind, false);
	}
	free(real);
	if (error < 0)
		rs__dest_dispose(out);
	return error;
}

/* ---- writing a whole tar ------------------------------------------------------------------ */

static int open_stream(int *fd, rs__dest *d, const char *shown)
{
	if (d->fd >= 0) {
		*fd = d->fd;
		d->fd = -1;
	} else if (d->to_stdout) {
		*fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	} else {
		/* a FIFO: blocks until a reader opens it */
		do
			*fd = open(d->stream, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		while (*fd < 0 && errno == EINTR && !rs_cancelled());
	}
	if (*fd < 0)
		return rs__error_set(RS_EIO, "cannot open %s: %s", shown, strerror(errno));
	if (isatty(*fd)) {
		close(*fd);
		*fd = -1;
		return rs__error_set(RS_EINVAL, "refusing to write an archive to the terminal %s",
		                     shown);
	}
	return 0;
}

/* The temporary file beside the target: <dir>/<base>.tmp-<random> (O_EXCL, O_NOFOLLOW,
 * O_CLOEXEC, as util/file.c makes them); *dirfd is the target's directory, *tmpname the name
 * in it and *shown its path for messages. */
static int open_beside(int *fd, int *dirfd, char **tmpname, rs_buf *shown, const rs__dest *dest)
{
	const char *slash = strrchr(dest->target, '/');
	char *dir = slash ? rs__strndup(dest->target,
	                                slash == dest->target ? 1 : (size_t)(slash - dest->target))
	                  : rs__strdup(".");
	const char *base = slash ? slash + 1 : dest->target;
	rs_buf prefix = RS_BUF_INIT;
	int error;
	if (!dir)
		return rs__oom();
	*dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0) {
		error = rs__error_set(RS_EIO, "cannot open the directory %s: %s", dir,
		                      strerror(errno));
	} else {
		rs__buf_printf(&prefix, "%s.tmp-", base);
		if (rs__buf_oom(&prefix))
			error = RS_ENOMEM;
		else if ((error = rs__file_tmp_at(fd, tmpname, *dirfd, prefix.ptr, dir)) == 0)
			rs__buf_printf(shown, "%s%s%s", slash ? dir : "",
			               slash && slash != dest->target ? "/" : "", *tmpname);
		if (!error && rs__buf_oom(shown)) {
			/* the caller removes *tmpname as on any failure */
			error = RS_ENOMEM;
		}
	}
	rs_buf_dispose(&prefix);
	free(dir);
	return error;
}

/* Finish: flush the archive, then (regular file) chmod, fsync and rename over the target. */
static int finish_tar(struct archive *a, int *fd, int dirfd, const char *tmpname, const char *name,
                      mode_t mode, const rs__dest *dest)
{
	const char *base;
	int error;
	if (archive_write_close(a) != ARCHIVE_OK)
		return rs__error_set(RS_EIO, "cannot write %s: %s", name, write_failure(a));
	if (dirfd < 0) {
		/* streaming */
		error = close(*fd) < 0 ? rs__error_set(RS_EIO, "cannot write %s: %s", name,
		                                       strerror(errno))
		                       : 0;
		*fd = -1;
		return error;
	}
	if ((error = rs__cancel_check()) < 0)
		return error;
	base = strrchr(dest->target, '/');
	return rs__file_commit_at(fd, dirfd, tmpname, base ? base + 1 : dest->target, mode, 0,
	                          dest->target);
}

int rs__tar_write_file(rs__dest *dest, size_t count, rs__tar_member_fn member, void *payload)
{
	struct archive *a = NULL;
	unsigned char *buf = NULL;
	rs_buf tmp = RS_BUF_INIT;
	char *tmpname = NULL;
	const char *shown = dest->to_stdout ? "standard output" : dest->shown;
	const char *name; /* what messages call the file being written */
	bool streaming = rs__dest_streaming(dest);
	mode_t mode = 0644;
	int fd = -1, dirfd = -1, error = 0;

	if ((error = rs__cancel_check()) < 0)
		return error;
	if (streaming) {
		if ((error = open_stream(&fd, dest, shown)) < 0)
			return error;
		name = shown;
	} else {
		struct stat st;
		if (stat(dest->target, &st) == 0 && S_ISREG(st.st_mode))
			mode = st.st_mode & 07777;
		if ((error = open_beside(&fd, &dirfd, &tmpname, &tmp, dest)) < 0)
			goto done;
		name = tmp.ptr;
	}
	if (!(a = archive_write_new())) {
		error = rs__oom();
		goto done;
	}
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		error = rs__error_set(RS_EIO, "cannot write %s: %s", name, write_failure(a));
		goto done;
	}
	if (!(buf = rs__malloc(RS_TAR_BUFSIZE))) {
		error = rs__oom();
		goto done;
	}
	for (size_t i = 0; i < count; i++)
		if ((error = member(payload, a, i, name, buf)) < 0)
			goto done;
	error = finish_tar(a, &fd, dirfd, tmpname, name, mode, dest);
done:
	/* not archive_write_fail(): libarchive 3.6 then leaks its output buffer; the trailer
	 * archive_write_free writes goes to the temporary file, which is removed (or, when
	 * streaming, to a reader that already has a broken archive) */
	if (a && error < 0 && streaming && fd >= 0) {
		/* the reader must not get an end-of-archive marker after a failure */
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0) {
			(void)dup2(null, fd);
			close(null);
		}
	}
	if (a)
		archive_write_free(a);
	if (fd >= 0)
		close(fd);
	if (error < 0 && tmpname)
		unlinkat(dirfd, tmpname,
		         0); /* (rs__file_commit_at removed it already if it failed) */
	if (dirfd >= 0)
		close(dirfd);
	free(tmpname);
	rs_buf_dispose(&tmp);
	free(buf);
	return error;
}
