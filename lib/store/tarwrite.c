#include "tarwrite.h"

#include "util/util.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
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
