/* Safe reads and atomic writes of files beside user data (see file.h). */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_RANDOM 12
#define TMP_TRIES 100

const char *rs__file_kind(unsigned st_mode)
{
	if (S_ISREG(st_mode))
		return "a regular file";
	if (S_ISDIR(st_mode))
		return "a directory";
	if (S_ISFIFO(st_mode))
		return "a FIFO";
	if (S_ISSOCK(st_mode))
		return "a socket";
	if (S_ISCHR(st_mode))
		return "a character device";
	if (S_ISBLK(st_mode))
		return "a block device";
	if (S_ISLNK(st_mode))
		return "a symbolic link";
	return "not a regular file";
}

static const char *shown(const char *display, const char *path)
{
	return display ? display : path;
}

static int refuse_kind(const char *name, unsigned st_mode)
{
	if (S_ISDIR(st_mode))
		return rs__error_set(RS_EINVAL, "cannot read %s: it is a directory", name);
	return rs__error_set(RS_EINVAL, "cannot read %s: it is %s, not a regular file", name,
	                     rs__file_kind(st_mode));
}

int rs__file_open_regular(int *out, int dirfd, const char *path, unsigned flags,
                          const char *display, struct stat *st)
{
	const char *name = shown(display, path);
	bool nofollow = (flags & RS_FILE_NOFOLLOW) != 0;
	struct stat before, after;
	int fd, fl;

	*out = -1;
	/* look first: a device or FIFO is refused without being opened at all */
	if (fstatat(dirfd, path, &before, nofollow ? AT_SYMLINK_NOFOLLOW : 0) < 0) {
		if (errno == ENOENT)
			return rs__error_set(RS_ENOTFOUND, "%s: no such file", name);
		return rs__error_set(RS_EIO, "cannot read %s: %s", name, strerror(errno));
	}
	if (S_ISLNK(before.st_mode))
		return rs__error_set(
		        RS_EINVAL, "cannot read %s: it is a symbolic link (refusing to follow it)",
		        name);
	if (!S_ISREG(before.st_mode))
		return refuse_kind(name, before.st_mode);
	/* O_NONBLOCK: should it have been swapped for a FIFO since, open() still returns */
	fd = openat(dirfd, path,
	            O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0) {
		if (errno == ENOENT)
			return rs__error_set(RS_ENOTFOUND, "%s: no such file", name);
		if (errno == ELOOP && nofollow)
			return rs__error_set(RS_EINVAL,
			                     "cannot read %s: it is a symbolic link (refusing to "
			                     "follow it)",
			                     name);
		return rs__error_set(RS_EIO, "cannot read %s: %s", name, strerror(errno));
	}
	if (fstat(fd, &after) < 0) {
		int e = errno;
		close(fd);
		return rs__error_set(RS_EIO, "cannot read %s: %s", name, strerror(e));
	}
	if (!S_ISREG(after.st_mode)) {
		close(fd);
		return refuse_kind(name, after.st_mode);
	}
	if ((fl = fcntl(fd, F_GETFL)) >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	if (st)
		*st = after;
	*out = fd;
	return 0;
}

int rs__file_read_regular(rs_buf *out, int dirfd, const char *path, size_t max, unsigned flags,
                          const char *display)
{
	const char *name = shown(display, path);
	char chunk[16384];
	size_t total = 0;
	ssize_t n;
	int fd, error;
	if ((error = rs__file_open_regular(&fd, dirfd, path, flags, display, NULL)) < 0)
		return error;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = rs__error_set(RS_EIO, "cannot read %s: %s", name, strerror(errno));
			break;
		}
		total += (size_t)n;
		if (total > max) {
			error = rs__error_set(RS_ETOOBIG, "cannot read %s: larger than %zu bytes",
			                      name, max);
			break;
		}
		rs__buf_put(out, chunk, (size_t)n);
	}
	if (!error && rs__buf_oom(out))
		error = rs__oom();
	rs__memzero(chunk, sizeof(chunk)); /* config files hold secrets */
	close(fd);
	return error;
}

static int component_error(const char *name, int dirfd, const char *comp, int err)
{
	struct stat st;
	if (err == ENOENT)
		return rs__error_set(RS_ENOTFOUND, "%s: no such directory", name);
	if ((err == ELOOP || err == ENOTDIR) &&
	    fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return rs__error_set(RS_EINVAL, "refusing to use %s: %s is a symbolic link",
			                     name, comp);
		if (!S_ISDIR(st.st_mode))
			return rs__error_set(RS_EINVAL,
			                     "refusing to use %s: %s is %s, not a "
			                     "directory",
			                     name, comp, rs__file_kind(st.st_mode));
	}
	return rs__error_set(RS_EIO, "cannot open directory %s: %s", name, strerror(err));
}

int rs__dir_open_at(int *out, int dirfd, const char *path, unsigned flags, unsigned mode,
                    const char *display)
{
	const char *name = shown(display, path);
	int oflags =
	        O_RDONLY | O_DIRECTORY | O_CLOEXEC | ((flags & RS_FILE_NOFOLLOW) ? O_NOFOLLOW : 0);
	char *copy = rs__strdup(path), *save = NULL, *comp;
	int fd = -1, error = 0;

	*out = -1;
	if (!copy)
		return rs__oom();
	if (*path == '/') {
		if ((fd = open("/", oflags)) < 0) {
			error = rs__error_set(RS_EIO, "cannot open /: %s", strerror(errno));
			goto done;
		}
	} else if ((fd = openat(dirfd, ".", oflags)) < 0) {
		error = rs__error_set(RS_EIO, "cannot open directory %s: %s", name,
		                      strerror(errno));
		goto done;
	}
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, comp, oflags);
		if (next < 0 && errno == ENOENT && (flags & RS_FILE_CREATE)) {
			if (mkdirat(fd, comp, (mode_t)mode) < 0 && errno != EEXIST) {
				error = rs__error_set(RS_EIO, "cannot create directory %s: %s",
				                      name, strerror(errno));
				goto done;
			}
			next = openat(fd, comp, oflags);
		}
		if (next < 0) {
			error = component_error(name, fd, comp, errno);
			goto done;
		}
		close(fd);
		fd = next;
	}
	*out = fd;
	fd = -1;
done:
	if (fd >= 0)
		close(fd);
	free(copy);
	return error;
}

static void random_suffix(char *out, size_t n)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char raw[32];
	if (n > sizeof(raw))
		n = sizeof(raw);
	if (getentropy(raw, n) < 0) {
		/* no entropy source: the name is only less unpredictable; O_EXCL keeps it safe */
		struct timespec ts;
		unsigned long x;
		clock_gettime(CLOCK_REALTIME, &ts);
		x = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16) ^
		    (unsigned long)(uintptr_t)&ts;
		for (size_t i = 0; i < n; i++) {
			x = x * 6364136223846793005ul + 1442695040888963407ul;
			raw[i] = (unsigned char)(x >> 33);
		}
	}
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[raw[i] % (sizeof(alphabet) - 1)];
	out[n] = '\0';
}

int rs__file_tmp_at(int *fd, char **name, int dirfd, const char *prefix, const char *display_dir)
{
	char suffix[TMP_RANDOM + 1];
	rs_buf n = RS_BUF_INIT;
	*fd = -1;
	*name = NULL;
	for (int i = 0; i < TMP_TRIES; i++) {
		int f;
		random_suffix(suffix, TMP_RANDOM);
		rs__buf_clear(&n);
		rs__buf_printf(&n, "%s%s", prefix, suffix);
		if (rs__buf_oom(&n))
			return rs__oom();
		f = openat(dirfd, n.ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		           0600);
		if (f >= 0) {
			*fd = f;
			*name = rs__buf_detach(&n); /* n holds the name: cannot fail */
			return 0;
		}
		if (errno != EEXIST) {
			int e = errno;
			rs_buf_dispose(&n);
			return rs__error_set(RS_EIO, "cannot create a temporary file in %s: %s",
			                     display_dir ? display_dir : ".", strerror(e));
		}
	}
	rs_buf_dispose(&n);
	return rs__error_set(RS_EIO, "cannot create a temporary file in %s: %d names taken",
	                     display_dir ? display_dir : ".", TMP_TRIES);
}

int rs__file_commit_at(int *fd, int dirfd, const char *tmpname, const char *name, unsigned mode,
                       unsigned flags, const char *display)
{
	const char *shown_name = shown(display, name);
	struct stat st;
	int error = 0;
	if (fchmod(*fd, (mode_t)mode) < 0 || (!(flags & RS_FILE_NOSYNC) && fsync(*fd) < 0)) {
		error = rs__error_set(RS_EIO, "cannot write %s: %s", shown_name, strerror(errno));
		goto done;
	}
	if (close(*fd) < 0) {
		*fd = -1;
		error = rs__error_set(RS_EIO, "cannot write %s: %s", shown_name, strerror(errno));
		goto done;
	}
	*fd = -1;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISLNK(st.st_mode)) {
		error = rs__error_set(RS_EIO, "refusing to replace %s: it is %s", shown_name,
		                      rs__file_kind(st.st_mode));
		goto done;
	}
	if (renameat(dirfd, tmpname, dirfd, name) < 0) {
		error = rs__error_set(RS_EIO, "cannot replace %s: %s", shown_name, strerror(errno));
		goto done;
	}
	if (!(flags & RS_FILE_NOSYNC))
		(void)fsync(dirfd);
	return 0;
done:
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	unlinkat(dirfd, tmpname, 0);
	return error;
}

int rs__write_all(int fd, const void *data, size_t len, const char *display)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return rs__error_set(RS_EIO, "cannot write %s: %s", display,
			                     strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int rs__file_write_atomic_at(int dirfd, const char *name, const void *data, size_t len,
                             unsigned mode, unsigned flags, const char *display)
{
	const char *shown_name = shown(display, name);
	char *tmp = NULL;
	rs_buf prefix = RS_BUF_INIT;
	int fd = -1, error;

	if (strchr(name, '/'))
		return rs__error_set(RS_EINVAL, "%s: a name within a directory was expected",
		                     shown_name);
	rs__buf_printf(&prefix, ".%s.tmp-", name);
	if (rs__buf_oom(&prefix)) {
		error = rs__oom();
		goto done;
	}
	if ((error = rs__file_tmp_at(&fd, &tmp, dirfd, prefix.ptr, shown_name)) < 0)
		goto done;
	if ((error = rs__write_all(fd, data, len, shown_name)) < 0) {
		close(fd);
		fd = -1;
		unlinkat(dirfd, tmp, 0);
		goto done;
	}
	error = rs__file_commit_at(&fd, dirfd, tmp, name, mode, flags, display);
done:
	free(tmp);
	rs_buf_dispose(&prefix);
	return error;
}

int rs__file_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	int dirfd, error;
	if (!slash)
		dir = rs__strdup(".");
	else if (slash == path)
		dir = rs__strdup("/");
	else
		dir = rs__strndup(path, (size_t)(slash - path));
	if (!dir)
		return rs__oom();
	if (slash && !slash[1]) {
		free(dir);
		return rs__error_set(RS_EINVAL, "cannot write %s: no file name", path);
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		error = rs__error_set(RS_EIO, "cannot create %s: %s", path, strerror(errno));
		free(dir);
		return error;
	}
	error = rs__file_write_atomic_at(dirfd, slash ? slash + 1 : path, data, len, mode, 0, path);
	close(dirfd);
	free(dir);
	return error;
}
