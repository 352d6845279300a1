/*
 * Archives read from standard input ("docker-archive:-", "oci-archive:-"): the stores need to
 * read an archive more than once (a docker archive is indexed, then each layer is streamed
 * again), so a pipe is first copied into an unlinked temporary file. The file has no name from
 * the moment it exists (O_TMPFILE, else mkostemp then unlink at once): nothing is left behind
 * by a failure, an interruption or a kill. The stores reopen it as /proc/self/fd/N, which
 * gives each reader its own offset. Standard input that already is a regular file
 * (`< image.tar`) is used as it is, without a copy.
 */
#define _GNU_SOURCE /* O_TMPFILE, mkostemp */
#include "store/store.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_BUF (64u * 1024)

bool rs__spool_wanted(const char *file)
{
	return file && !strcmp(file, "-");
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A new file under dir with no name: O_TMPFILE where the file system has it. */
static int unnamed_file(const char *dir)
{
	rs_buf name = RS_BUF_INIT;
	int fd;
#ifdef O_TMPFILE
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -1;
#endif
	rs__buf_printf(&name, "%s/regship-stdin-XXXXXX", dir);
	if (rs__buf_oom(&name)) {
		errno = ENOMEM;
		return -1;
	}
	/* mkostemp creates the file with mode 0600 */
	if ((fd = mkostemp(name.ptr, O_CLOEXEC)) >= 0)
		unlink(name.ptr);
	rs_buf_dispose(&name);
	return fd;
}

static int copy_stdin(int out, const char *kind, const char *dir, off_t *total)
{
	unsigned char *buf = rs__malloc(SPOOL_BUF);
	int error = 0;
	*total = 0;
	if (!buf)
		return rs__oom();
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, SPOOL_BUF);
		if ((error = rs__cancel_check()) < 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = rs__error_set(RS_EIO, "%s:-: cannot read standard input: %s", kind,
			                      strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (write_all(out, buf, (size_t)n) < 0) {
			error = rs__error_set(
			        RS_EIO, "%s:-: cannot keep a copy of standard input in %s: %s",
			        kind, dir, strerror(errno));
			break;
		}
		*total += n;
	}
	free(buf);
	return error;
}

int rs__spool_stdin(rs__spool *out, const char *kind, const char *tmp_dir)
{
	struct stat st;
	const char *dir = tmp_dir && *tmp_dir ? tmp_dir : getenv("TMPDIR");
	off_t total = 0;
	int error = 0, fd = -1;
	out->fd = -1;
	out->path[0] = '\0';
	if (!dir || !*dir)
		dir = "/tmp";
	if (fstat(STDIN_FILENO, &st) < 0)
		return rs__error_set(RS_EINVAL, "%s:-: standard input is closed (%s)", kind,
		                     strerror(errno));
	if (isatty(STDIN_FILENO))
		return rs__error_set(RS_EINVAL,
		                     "%s:-: refusing to read an archive from a terminal: pipe "
		                     "one into standard input or name a file",
		                     kind);
	if (S_ISDIR(st.st_mode))
		return rs__error_set(RS_EINVAL, "%s:-: standard input is a directory", kind);
	if (S_ISREG(st.st_mode)) {
		/* `< image.tar`: the file itself, from its start */
		if ((fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)) < 0)
			return rs__error_set(RS_EIO, "%s:-: cannot use standard input: %s", kind,
			                     strerror(errno));
		total = st.st_size;
	} else {
		if ((fd = unnamed_file(dir)) < 0)
			return rs__error_set(RS_EIO,
			                     "%s:-: cannot create a temporary file in %s to keep "
			                     "standard input: %s",
			                     kind, dir, strerror(errno));
		if ((error = copy_stdin(fd, kind, dir, &total)) < 0)
			goto fail;
	}
	if (total == 0) {
		error = rs__error_set(RS_EFORMAT,
		                      "%s:-: standard input is empty (no archive was piped in)",
		                      kind);
		goto fail;
	}
	snprintf(out->path, sizeof(out->path), "/proc/self/fd/%d", fd);
	{
		/* the stores reopen the file by this name: make sure they can */
		int probe = open(out->path, O_RDONLY | O_CLOEXEC);
		if (probe < 0) {
			error = rs__error_set(
			        RS_EIO,
			        "%s:-: cannot reopen the copy of standard input as %s "
			        "(is /proc mounted?): %s",
			        kind, out->path, strerror(errno));
			goto fail;
		}
		close(probe);
	}
	out->fd = fd;
	return 0;
fail:
	out->path[0] = '\0';
	close(fd);
	return error;
}

void rs__spool_dispose(rs__spool *sp)
{
	if (!sp)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
	sp->path[0] = '\0';
}

int rs__spool_error(const rs__spool *sp, int error, const char *shown)
{
	const rs_error *e = rs_error_last();
	char msg[sizeof(e->message)];
	size_t plen = strlen(sp->path), used = 0;
	const char *p;
	if (!plen || !rs_error_is_set() || e->code != error || !strstr(e->message, sp->path))
		return error;
	for (p = e->message; *p && used + 1 < sizeof(msg);) {
		if (!strncmp(p, sp->path, plen)) {
			int n = snprintf(msg + used, sizeof(msg) - used, "%s", shown);
			used = n < 0 ? used : used + (size_t)n;
			if (used >= sizeof(msg))
				used = sizeof(msg) - 1;
			p += plen;
		} else {
			msg[used++] = *p++;
		}
	}
	msg[used] = '\0';
	return rs__error_set(error, "%s", msg);
}
