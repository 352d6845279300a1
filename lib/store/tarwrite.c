#include "tarwrite.h"

#include "util/util.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rs__tar_write_member(struct archive *a, const char *archive_name, const char *name, bool dir,
                         const char *path, const void *data, int64_t size, unsigned char *buf,
                         size_t bufsize)
{
	struct archive_entry *e = archive_entry_new();
	rs_buf member = RS_BUF_INIT;
	int fd = -1, error = 0;
	int64_t left = dir ? 0 : size;

	rs__buf_printf(&member, "%s%s", name, dir ? "/" : "");
	archive_entry_copy_pathname(e, member.ptr);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0755 : 0644);
	archive_entry_set_size(e, dir ? 0 : (la_int64_t)size);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (!dir && path && (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		error = rs__error_set(RS_EIO, "cannot open %s: %s", path, strerror(errno));
		goto done;
	}
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		error = rs__error_set(RS_EIO, "cannot write %s into %s: %s", member.ptr,
		                      archive_name, archive_error_string(a));
		goto done;
	}
	if (!dir && !path) {
		if (archive_write_data(a, data, (size_t)size) != (la_ssize_t)size)
			error = rs__error_set(RS_EIO, "cannot write %s into %s: %s", member.ptr,
			                      archive_name, archive_error_string(a));
		goto done;
	}
	while (left > 0) {
		ssize_t n = read(fd, buf, left < (int64_t)bufsize ? (size_t)left : bufsize);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			error = rs__error_set(RS_EIO, "cannot read %s: %s", path,
			                      n < 0 ? strerror(errno) : "shorter than expected");
			goto done;
		}
		if (archive_write_data(a, buf, (size_t)n) != n) {
			error = rs__error_set(RS_EIO, "cannot write %s into %s: %s", member.ptr,
			                      archive_name, archive_error_string(a));
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

int rs__tar_write_file(const char *file, size_t count, rs__tar_member_fn member, void *payload)
{
	struct archive *a = NULL;
	unsigned char *buf = NULL;
	rs_buf tmp = RS_BUF_INIT;
	int fd, error = 0;

	rs__buf_printf(&tmp, "%s.tmp-XXXXXX", file);
	if ((fd = mkstemp(tmp.ptr)) < 0) {
		error = rs__error_set(RS_EIO, "cannot create %s: %s", tmp.ptr, strerror(errno));
		rs_buf_dispose(&tmp);
		return error;
	}
	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		error = rs__error_set(RS_EIO, "cannot write %s: %s", tmp.ptr,
		                      archive_error_string(a));
		goto done;
	}
	buf = rs__malloc(RS_TAR_BUFSIZE);
	for (size_t i = 0; i < count; i++)
		if ((error = member(payload, a, i, tmp.ptr, buf)) < 0)
			goto done;
	if (archive_write_close(a) != ARCHIVE_OK) {
		error = rs__error_set(RS_EIO, "cannot write %s: %s", tmp.ptr,
		                      archive_error_string(a));
		goto done;
	}
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		error = rs__error_set(RS_EIO, "cannot write %s: %s", tmp.ptr, strerror(errno));
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		error = rs__error_set(RS_EIO, "cannot write %s: %s", tmp.ptr, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp.ptr, file) < 0)
		error = rs__error_set(RS_EIO, "cannot rename %s to %s: %s", tmp.ptr, file,
		                      strerror(errno));
done:
	/* not archive_write_fail(): libarchive 3.6 then leaks its output buffer; the trailer
	 * archive_write_free writes goes to the temporary file, which is removed */
	if (a)
		archive_write_free(a);
	if (fd >= 0)
		close(fd);
	if (error < 0)
		unlink(tmp.ptr);
	rs_buf_dispose(&tmp);
	free(buf);
	return error;
}
