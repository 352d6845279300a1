/* The OCI layout store (oci_layout.c): blobs/<alg>/<hex>, checked, read and written inside the
 * layout directory. */
#include "store/oci_layout.h"
#include "store/store.h"
#include "util/digest.h"
#include "util/file.h"
#include "util/json.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

/* blobs/<alg>/<hex> for a digest checked first, so no ".." or "/" can get in. */
int rs__ol_blob_path(char **out, const oci_layout *l, const char *digest)
{
	rs_buf p = RS_BUF_INIT;
	const char *colon;
	int error;
	if ((error = rs__digest_check(digest)) < 0)
		return error;
	colon = strchr(digest, ':');
	rs__buf_printf(&p, "%s/blobs/%.*s/%s", l->dir, (int)(colon - digest), digest, colon + 1);
	*out = rs__buf_detach(&p);
	return *out ? 0 : RS_ENOMEM;
}

static int blob_dir(char **out, const oci_layout *l, const char *digest)
{
	rs_buf p = RS_BUF_INIT;
	const char *colon = strchr(digest, ':');
	rs__buf_printf(&p, "%s/blobs/%.*s", l->dir, (int)(colon - digest), digest);
	*out = rs__buf_detach(&p);
	return *out ? 0 : RS_ENOMEM;
}

int rs__ol_check_writable(const oci_layout *l)
{
	if (!(l->flags & RS_STORE_WRITE))
		return rs__error_set(RS_EINVAL, "%s was opened read-only", l->name);
	return 0;
}

/* ---- blobs -------------------------------------------------------------------------------- */

/* blobs/<alg> of a checked digest, opened inside the layout (created when asked). */
int rs__ol_alg_dir_open(int *fd, const oci_layout *l, const char *digest, bool create)
{
	rs_buf rel = RS_BUF_INIT, shown = RS_BUF_INIT;
	const char *colon = strchr(digest, ':');
	int error;
	rs__buf_printf(&rel, "blobs/%.*s", (int)(colon - digest), digest);
	rs__buf_printf(&shown, "%s/%s", l->dir, rel.ptr);
	if (rs__buf_oom(&rel) || rs__buf_oom(&shown)) {
		rs_buf_dispose(&rel);
		rs_buf_dispose(&shown);
		return rs__oom();
	}
	error = rs__dir_open_at(fd, l->dirfd, rel.ptr, l->fflags | (create ? RS_FILE_CREATE : 0),
	                        0755, shown.ptr);
	rs_buf_dispose(&rel);
	rs_buf_dispose(&shown);
	return error;
}

typedef enum { BLOB_MISSING, BLOB_OK, BLOB_WRONG } blob_state;

/* The digest of an open file's content. */
static int hash_fd(char out[RS_DIGEST_MAX], int fd, const char *digest, const char *path)
{
	rs__hasher *h = NULL;
	unsigned char *buf = rs__malloc(COPY_BUF);
	int error;
	if (!buf)
		return rs__oom();
	if ((error = rs__hasher_new(&h, strncmp(digest, "sha512:", 7) ? "sha256" : "sha512")) < 0)
		goto done;
	for (;;) {
		ssize_t n = read(fd, buf, COPY_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = rs__error_set(RS_EIO, "cannot read %s: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		rs__hasher_update(h, buf, (size_t)n);
	}
	rs__hasher_final(h, out);
done:
	rs__hasher_free(h);
	free(buf);
	return error;
}

/*
 * What is at a blob's place: BLOB_MISSING, BLOB_OK (a regular file of the expected size, and
 * with verify of the expected digest), or BLOB_WRONG with the error set to what is wrong with
 * it (a wrong size or content; a symbolic link in a layout opened for writing). Fails (< 0)
 * for what must not be replaced or read: a directory, FIFO, socket or device, I/O errors.
 */
static int blob_check(blob_state *state, const oci_layout *l, const char *digest, int64_t size,
                      bool verify)
{
	const char *hex;
	char *path = NULL, got[RS_DIGEST_MAX];
	struct stat st;
	int algfd = -1, fd = -1, error;

	*state = BLOB_MISSING;
	if ((error = rs__ol_blob_path(&path, l, digest)) < 0)
		return error;
	hex = strchr(digest, ':') + 1;
	if ((error = rs__ol_alg_dir_open(&algfd, l, digest, false)) < 0) {
		if (error == RS_ENOTFOUND) {
			rs_error_clear();
			error = 0;
		}
		goto done;
	}
	if (fstatat(algfd, hex, &st, (l->fflags & RS_FILE_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) <
	    0) {
		if (errno != ENOENT)
			error = rs__error_set(RS_EIO, "cannot access %s: %s", path,
			                      strerror(errno));
		goto done;
	}
	if (S_ISLNK(st.st_mode)) {
		/* only a writer sees links: the link is replaced, never followed */
		*state = BLOB_WRONG;
		rs__error_set(RS_EFORMAT, "blob %s in %s is a symbolic link", digest, l->name);
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		error = rs__error_set(RS_EFORMAT, "blob %s in %s: %s is a directory", digest,
		                      l->name, path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		error = rs__error_set(RS_EFORMAT, "blob %s in %s: %s is %s, not a regular file",
		                      digest, l->name, path, rs__file_kind(st.st_mode));
		goto done;
	}
	if (size >= 0 && (int64_t)st.st_size != size) {
		*state = BLOB_WRONG;
		rs__error_set(RS_EFORMAT, "blob %s in %s has %lld bytes, the manifest says %lld",
		              digest, l->name, (long long)st.st_size, (long long)size);
		goto done;
	}
	if (verify) {
		if ((error = rs__file_open_regular(&fd, algfd, hex, l->fflags, path, NULL)) < 0 ||
		    (error = hash_fd(got, fd, digest, path)) < 0)
			goto done;
		if (strcmp(got, digest)) {
			*state = BLOB_WRONG;
			rs__error_set(RS_EFORMAT, "blob %s in %s is corrupt: its content is %s",
			              digest, l->name, got);
			goto done;
		}
	}
	*state = BLOB_OK;
done:
	if (fd >= 0)
		close(fd);
	if (algfd >= 0)
		close(algfd);
	free(path);
	return error;
}

int rs__ol_blob_exists(rs_store *s, const rs_descriptor *desc)
{
	oci_layout *l = (oci_layout *)s;
	bool writer = (l->flags & RS_STORE_WRITE) != 0;
	blob_state state;
	int error;
	if ((error = rs__digest_check(desc->digest)) < 0)
		return error;
	/* a writer trusts what is there only once it hashes right; a reader's blobs are
	 * verified as they are read */
	if ((error = blob_check(&state, l, desc->digest, desc->size, writer)) < 0)
		return error;
	if (state == BLOB_OK)
		return 0;
	if (state == BLOB_WRONG && !writer)
		return RS_EFORMAT; /* the message says what is wrong with it */
	return rs__error_set(RS_ENOTFOUND, "blob %s not found in %s", desc->digest, l->name);
}

int rs__ol_blob_open(rs_reader **out, rs_store *s, const rs_descriptor *desc)
{
	oci_layout *l = (oci_layout *)s;
	char *path = NULL;
	struct stat st;
	int algfd = -1, fd = -1, error;
	if ((error = rs__ol_blob_path(&path, l, desc->digest)) < 0)
		return error;
	if ((error = rs__ol_alg_dir_open(&algfd, l, desc->digest, false)) < 0 ||
	    (error = rs__file_open_regular(&fd, algfd, strchr(desc->digest, ':') + 1, l->fflags,
	                                   path, &st)) < 0) {
		if (error == RS_ENOTFOUND)
			error = rs__error_set(RS_ENOTFOUND, "blob %s not found in %s", desc->digest,
			                      l->name);
		goto done;
	}
	if (desc->size >= 0 && (int64_t)st.st_size != desc->size) {
		error = rs__error_set(
		        RS_EFORMAT, "blob %s in %s has %lld bytes, the manifest says %lld",
		        desc->digest, l->name, (long long)st.st_size, (long long)desc->size);
		goto done;
	}
	if ((error = rs_reader_from_fd(out, fd, (int64_t)st.st_size)) < 0)
		goto done;
	fd = -1;
done:
	if (fd >= 0)
		close(fd);
	if (algfd >= 0)
		close(algfd);
	free(path);
	return error;
}

int rs__ol_blob_put(rs_store *s, const rs_descriptor *desc, rs_reader *r, rs_transfer_cb cb,
                    void *payload)
{
	oci_layout *l = (oci_layout *)s;
	char *path = NULL, *dir = NULL, *tmp = NULL;
	rs_reader *v = NULL;
	unsigned char *buf = NULL;
	uint64_t done = 0;
	blob_state state;
	int algfd = -1, fd = -1, error;
	if ((error = rs__ol_check_writable(l)) < 0 ||
	    (error = rs__ol_blob_path(&path, l, desc->digest)) < 0)
		goto done;
	/* content-addressed, but what is there is checked: a wrong blob is replaced */
	if ((error = blob_check(&state, l, desc->digest, desc->size, true)) < 0)
		goto done;
	if (state == BLOB_OK)
		goto done;
	rs_error_clear();
	if (!r) {
		error = rs__error_set(RS_EINVAL, "blob %s: no data to write", desc->digest);
		goto done;
	}
	if ((error = blob_dir(&dir, l, desc->digest)) < 0)
		goto done;
	if ((error = rs__ol_alg_dir_open(&algfd, l, desc->digest, true)) < 0 ||
	    (error = rs__file_tmp_at(&fd, &tmp, algfd, ".tmp-", dir)) < 0)
		goto done;
	/* verified while streaming; a reader that already verifies this blob is used as is */
	if (!rs__reader_verifies(r, desc->digest, desc->size) &&
	    (error = rs__reader_verify(&v, r, desc->digest, desc->size, false)) < 0)
		goto done;
	if (!(buf = rs__malloc(COPY_BUF))) {
		error = rs__oom();
		goto done;
	}
	for (;;) {
		long long n = rs_reader_read(v ? v : r, buf, COPY_BUF);
		if (n < 0) {
			error = (int)n;
			goto done;
		}
		if (n == 0)
			break;
		if ((error = rs__write_all(fd, buf, (size_t)n, path)) < 0)
			goto done;
		done += (uint64_t)n;
		if (cb && cb(done, payload)) {
			error = rs__error_set(RS_EUSER, "writing blob %s: cancelled", desc->digest);
			goto done;
		}
	}
	error = rs__file_commit_at(&fd, algfd, tmp, strchr(desc->digest, ':') + 1, 0644, 0, path);
	free(tmp);
	tmp = NULL;
done:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlinkat(algfd, tmp, 0);
	if (algfd >= 0)
		close(algfd);
	if (error < 0 && error != RS_EUSER && error != RS_EINVAL && error != RS_EFORMAT)
		rs__error_prefix("%s", l->name);
	rs_reader_free(v);
	free(tmp);
	free(buf);
	free(dir);
	free(path);
	return error;
}

/* A manifest's bytes: written whole (small), atomically, unless the right bytes are there. */
int rs__ol_blob_put_bytes(oci_layout *l, const char *digest, const void *data, size_t len)
{
	char *path = NULL;
	blob_state state;
	int algfd = -1, error;
	if ((error = rs__ol_blob_path(&path, l, digest)) < 0)
		return error;
	if ((error = blob_check(&state, l, digest, (int64_t)len, true)) < 0 || state == BLOB_OK)
		goto done;
	rs_error_clear();
	if ((error = rs__ol_alg_dir_open(&algfd, l, digest, true)) < 0)
		goto done;
	error = rs__file_write_atomic_at(algfd, strchr(digest, ':') + 1, data, len, 0644, 0, path);
done:
	if (algfd >= 0)
		close(algfd);
	free(path);
	return error;
}
