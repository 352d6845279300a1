/*
 * oci-archive:FILE — a tar of an OCI image layout.
 *
 * Reading unpacks the layout into a private temporary directory and serves it with the
 * layout store. Only oci-layout, index.json and blobs/<alg>/<hex> are ever written there,
 * as regular files under names built here; every entry is checked first (no absolute
 * paths, no "..", no links leaving the archive, no non-regular blobs, no more content
 * claimed than the archive holds). Writing builds a layout in a temporary directory; commit
 * streams it into FILE.tmp-XXXXXX as a deterministic tar (sorted, mtime 0, uid/gid 0) and
 * renames that over FILE.
 */
#include "store/store.h"
#include "store/tarwrite.h"
#include "util/digest.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/archive_dl.h"

#define COPY_BUF (64u * 1024)

typedef struct {
	rs_store parent;
	rs_store *layout;
	char *file;
	char *tmpdir;
	char *name; /* "oci archive FILE" */
	unsigned int flags;
	rs__dest dest; /* writing: where the tar goes */
} oci_archive;

/* ---- entry checks ------------------------------------------------------------------------- */

/* Normalise an entry name ("./blobs//sha256/x" -> "blobs/sha256/x"); refuse absolute paths
 * and "..". *out is "" for the archive root. */
static int clean_entry_path(char **out, const char *archive, const char *name)
{
	rs_buf b = RS_BUF_INIT;
	const char *p = name;
	if (!name || !*name)
		return rs__error_set(RS_EFORMAT, "%s: entry with an empty name", archive);
	if (*name == '/')
		return rs__error_set(RS_EFORMAT, "%s: unsafe entry \"%s\": absolute path", archive,
		                     name);
	while (*p) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 2 && !strncmp(p, "..", 2)) {
			rs_buf_dispose(&b);
			return rs__error_set(RS_EFORMAT,
			                     "%s: unsafe entry \"%s\": \"..\" leaves the archive",
			                     archive, name);
		}
		if (n && !(n == 1 && *p == '.')) {
			if (b.size)
				rs__buf_putc(&b, '/');
			rs__buf_put(&b, p, n);
		}
		p += n;
		if (*p == '/')
			p++;
	}
	*out = rs__buf_detach(&b);
	return *out ? 0 : RS_ENOMEM;
}

/* A symbolic link's target, resolved lexically from the link's directory, must stay inside. */
static int check_symlink(const char *archive, const char *entry, const char *target)
{
	int depth = 0;
	const char *p;
	if (!target || !*target || *target == '/')
		return rs__error_set(RS_EFORMAT,
		                     "%s: unsafe entry \"%s\": symbolic link to \"%s\" outside the "
		                     "archive",
		                     archive, entry, target ? target : "");
	for (p = entry; *p; p++)
		if (*p == '/')
			depth++;
	for (p = target; *p;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 2 && !strncmp(p, "..", 2)) {
			if (--depth < 0)
				return rs__error_set(
				        RS_EFORMAT,
				        "%s: unsafe entry \"%s\": symbolic link to \"%s\" "
				        "outside the archive",
				        archive, entry, target);
		} else if (n && !(n == 1 && *p == '.')) {
			depth++;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

/* The files of a layout: oci-layout, index.json, blobs/<alg>/<hex>. */
static bool layout_member(const char *clean)
{
	const char *slash;
	char digest[RS_DIGEST_MAX + 8];
	if (!strcmp(clean, "oci-layout") || !strcmp(clean, "index.json"))
		return true;
	if (!rs__str_startswith(clean, "blobs/"))
		return false;
	clean += 6;
	if (!(slash = strchr(clean, '/')) || strlen(clean) >= sizeof(digest))
		return false;
	snprintf(digest, sizeof(digest), "%.*s:%s", (int)(slash - clean), clean, slash + 1);
	return rs__digest_valid(digest);
}

/* ---- extract ------------------------------------------------------------------------------ */

static int truncated(const char *file, struct archive *a)
{
	const char *why = archive_error_string(a);
	return rs__error_set(RS_EFORMAT, "%s: truncated or corrupt tar archive (%s)", file,
	                     why ? why : "unexpected end of data");
}

static int extract_file(struct archive *a, const char *file, const char *tmpdir, const char *clean,
                        int64_t claimed, unsigned char *buf)
{
	rs_buf path = RS_BUF_INIT;
	char *slash;
	int64_t got = 0;
	int fd = -1, error = 0;
	rs__buf_printf(&path, "%s/%s", tmpdir, clean);
	if (rs__buf_oom(&path))
		return RS_ENOMEM;
	slash = strrchr(path.ptr, '/');
	*slash = '\0';
	error = rs__mkdir_p(path.ptr, 0700);
	*slash = '/';
	if (error < 0)
		goto done;
	fd = open(path.ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			error = rs__error_set(RS_EFORMAT, "%s: duplicate entry \"%s\"", file,
			                      clean);
		else
			error = rs__error_set(RS_EIO, "cannot create %s: %s", path.ptr,
			                      strerror(errno));
		goto done;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, COPY_BUF);
		if (n < 0) {
			error = truncated(file, a);
			goto done;
		}
		if (n == 0)
			break;
		if ((error = rs__cancel_check()) < 0)
			goto done;
		got += n;
		for (la_ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				error = rs__error_set(RS_EIO, "cannot write %s: %s", path.ptr,
				                      strerror(errno));
				goto done;
			}
			off += w;
		}
	}
	if (got != claimed) {
		error = rs__error_set(RS_EFORMAT,
		                      "%s: truncated or corrupt tar archive (entry \"%s\" claims "
		                      "%lld bytes, holds %lld)",
		                      file, clean, (long long)claimed, (long long)got);
		goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	rs_buf_dispose(&path);
	return error;
}

static int extract(const char *file, const char *tmpdir)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct stat st;
	unsigned char *buf = NULL;
	char *clean = NULL;
	int64_t total = 0;
	int error = 0, r, fd = -1;
	if (!a)
		return rs__oom();
	/* opened once, close-on-exec, and checked on the descriptor (not the name): a FIFO or
	 * device put in its place is never read; O_NONBLOCK so opening a FIFO cannot hang */
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0 ||
	    fstat(fd, &st) < 0) {
		error = rs__error_set(errno == ENOENT ? RS_EINVAL : RS_EIO, "%s: %s", file,
		                      strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		error = rs__error_set(RS_EINVAL, "%s: not a regular file", file);
		goto done;
	}
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, COPY_BUF) != ARCHIVE_OK) {
		error = rs__error_set(RS_EFORMAT, "%s: cannot read as a tar archive: %s", file,
		                      archive_error_string(a));
		goto done;
	}
	if (!(buf = rs__malloc(COPY_BUF))) {
		error = rs__oom();
		goto done;
	}
	while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
		const char *name, *target;
		int64_t claimed;
		unsigned int type;
		if ((error = rs__cancel_check()) < 0)
			goto done;
		if (r < ARCHIVE_WARN) {
			error = truncated(file, a);
			goto done;
		}
		name = archive_entry_pathname(e);
		free(clean);
		clean = NULL;
		if ((error = clean_entry_path(&clean, file, name)) < 0)
			goto done;
		type = archive_entry_filetype(e);
		claimed = archive_entry_size(e);
		if (claimed < 0 || claimed > (int64_t)st.st_size - total) {
			error = rs__error_set(RS_EFORMAT,
			                      "%s: entry \"%s\" claims %lld bytes, more than the "
			                      "archive holds (%lld bytes)",
			                      file, name, (long long)claimed,
			                      (long long)st.st_size);
			goto done;
		}
		total += claimed;
		if ((target = archive_entry_hardlink(e))) {
			char *t = NULL;
			if ((error = clean_entry_path(&t, file, target)) < 0) {
				rs__error_set(
				        RS_EFORMAT,
				        "%s: unsafe entry \"%s\": hard link to \"%s\" outside the "
				        "archive",
				        file, name, target);
				goto done;
			}
			free(t);
		} else if (type == AE_IFLNK) {
			if ((error = check_symlink(file, clean, archive_entry_symlink(e))) < 0)
				goto done;
		}
		if (rs__str_startswith(clean, "blobs/") && type != AE_IFDIR &&
		    (type != AE_IFREG || target)) {
			error = rs__error_set(
			        RS_EFORMAT,
			        "%s: entry \"%s\" is not a regular file (blobs must be)", file,
			        name);
			goto done;
		}
		if (!layout_member(clean))
			continue; /* directories and anything else a layout does not need */
		if (type != AE_IFREG || target) {
			error = rs__error_set(RS_EFORMAT, "%s: entry \"%s\" is not a regular file",
			                      file, name);
			goto done;
		}
		if ((error = extract_file(a, file, tmpdir, clean, claimed, buf)) < 0)
			goto done;
	}
done:
	free(clean);
	free(buf);
	archive_read_free(a);
	if (fd >= 0)
		close(fd);
	return error;
}

/* ---- write -------------------------------------------------------------------------------- */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The members to write, relative to the layout root, sorted ("blobs/" for directories). */
static int list_members(rs_strlist *out, const char *root)
{
	rs_buf p = RS_BUF_INIT;
	DIR *blobs, *alg;
	struct dirent *d, *f;
	int error = 0;
	if ((error = rs__strlist_push(out, "oci-layout")) < 0 ||
	    (error = rs__strlist_push(out, "index.json")) < 0)
		goto done;
	rs__buf_printf(&p, "%s/blobs", root);
	if (rs__buf_oom(&p)) {
		error = RS_ENOMEM;
		goto done;
	}
	if (!(blobs = opendir(p.ptr)))
		goto done; /* no blobs at all */
	if ((error = rs__strlist_push(out, "blobs/")) < 0) {
		closedir(blobs);
		goto done;
	}
	while ((d = readdir(blobs))) {
		if (d->d_name[0] == '.')
			continue;
		rs__buf_clear(&p);
		rs__buf_printf(&p, "%s/blobs/%s", root, d->d_name);
		if (rs__buf_oom(&p)) {
			error = RS_ENOMEM;
			break;
		}
		if (!(alg = opendir(p.ptr)))
			continue;
		rs__buf_clear(&p);
		rs__buf_printf(&p, "blobs/%s/", d->d_name);
		if (rs__buf_oom(&p) || (error = rs__strlist_push(out, p.ptr)) < 0) {
			error = RS_ENOMEM;
			closedir(alg);
			break;
		}
		while ((f = readdir(alg))) {
			rs__buf_clear(&p);
			rs__buf_printf(&p, "blobs/%s/%s", d->d_name, f->d_name);
			if (rs__buf_oom(&p) ||
			    (layout_member(p.ptr) && rs__strlist_push(out, p.ptr) < 0)) {
				error = RS_ENOMEM;
				break;
			}
		}
		closedir(alg);
		if (error < 0)
			break;
	}
	closedir(blobs);
done:
	if (out->count)
		qsort(out->items, out->count, sizeof(*out->items), str_cmp);
	rs_buf_dispose(&p);
	return error;
}

static int write_member(struct archive *a, const char *root, const char *member, unsigned char *buf)
{
	rs_buf path = RS_BUF_INIT, name = RS_BUF_INIT;
	struct stat st;
	bool dir = rs__str_endswith(member, "/");
	int error = 0;
	rs__buf_printf(&path, "%s/%s", root, member);
	rs__buf_put(&name, member, strlen(member) - (dir ? 1 : 0));
	if (rs__buf_oom(&path) || rs__buf_oom(&name))
		error = rs__oom();
	else if (!dir && lstat(path.ptr, &st) < 0)
		error = rs__error_set(RS_EIO, "cannot read %s: %s", path.ptr, strerror(errno));
	else
		error = rs__tar_write_member(a, "the OCI archive", name.ptr, dir, path.ptr, NULL,
		                             dir ? 0 : (int64_t)st.st_size, buf, RS_TAR_BUFSIZE);
	rs_buf_dispose(&path);
	rs_buf_dispose(&name);
	return error;
}

struct members {
	const char *root;
	const rs_strlist *names;
};

static int write_one(void *payload, struct archive *a, size_t i, const char *tmpname,
                     unsigned char *buf)
{
	const struct members *m = payload;
	(void)tmpname;
	return write_member(a, m->root, m->names->items[i], buf);
}

static int write_tar(oci_archive *o)
{
	rs_strlist names = RS_STRLIST_INIT;
	int error;
	if ((error = list_members(&names, o->tmpdir)) == 0)
		error = rs__tar_write_file(&o->dest, names.count, write_one,
		                           &(struct members){o->tmpdir, &names});
	rs__strlist_dispose(&names);
	return error;
}

/* ---- the store: the layout's operations, plus commit ------------------------------------- */

#define LAYOUT(s) (((oci_archive *)(s))->layout)

static int ociar_manifest_get(rs_store *s, const char *reference, rs_buf *body, char **media_type,
                              char **digest)
{
	return LAYOUT(s)->ops->manifest_get(LAYOUT(s), reference, body, media_type, digest);
}

static int ociar_manifest_put(rs_store *s, const char *reference, const void *body, size_t len,
                              const char *media_type)
{
	return LAYOUT(s)->ops->manifest_put(LAYOUT(s), reference, body, len, media_type);
}

static int ociar_manifest_delete(rs_store *s, const char *digest)
{
	return LAYOUT(s)->ops->manifest_delete(LAYOUT(s), digest);
}

static int ociar_blob_exists(rs_store *s, const rs_descriptor *desc)
{
	return LAYOUT(s)->ops->blob_exists(LAYOUT(s), desc);
}

static int ociar_blob_open(rs_reader **out, rs_store *s, const rs_descriptor *desc)
{
	return LAYOUT(s)->ops->blob_open(out, LAYOUT(s), desc);
}

static int ociar_blob_put(rs_store *s, const rs_descriptor *desc, rs_reader *r, rs_transfer_cb cb,
                          void *payload)
{
	return LAYOUT(s)->ops->blob_put(LAYOUT(s), desc, r, cb, payload);
}

static int ociar_tag_list(rs_store *s, int (*cb)(const char *tag, void *payload), void *payload)
{
	return LAYOUT(s)->ops->tag_list(LAYOUT(s), cb, payload);
}

static int ociar_commit(rs_store *s)
{
	oci_archive *o = (oci_archive *)s;
	int error;
	if (!(o->flags & RS_STORE_WRITE))
		return 0;
	if ((error = o->layout->ops->commit(o->layout)) < 0)
		return error;
	return write_tar(o);
}

static void ociar_free(rs_store *s)
{
	oci_archive *o = (oci_archive *)s;
	if (!o)
		return;
	if (o->layout)
		o->layout->ops->free(o->layout);
	if (o->tmpdir)
		(void)rs__rmtree(o->tmpdir);
	rs__dest_dispose(&o->dest);
	free(o->tmpdir);
	free(o->file);
	free(o->name);
	free(o);
}

static const rs_store_ops ociar_ops = {
        .version = RS_STORE_OPS_VERSION,
        .scheme = "oci-archive",
        .manifest_get = ociar_manifest_get,
        .manifest_put = ociar_manifest_put,
        .manifest_delete = ociar_manifest_delete,
        .blob_exists = ociar_blob_exists,
        .blob_open = ociar_blob_open,
        .blob_put = ociar_blob_put,
        .blob_mount = NULL,
        .tag_list = ociar_tag_list,
        .commit = ociar_commit,
        .free = ociar_free,
};

static char *make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	rs_buf p = RS_BUF_INIT;
	rs__buf_printf(&p, "%s/regship-oci-XXXXXX", base && *base ? base : "/tmp");
	if (rs__buf_oom(&p))
		return NULL; /* RS_ENOMEM set */
	if (!mkdtemp(p.ptr)) {
		rs__error_set(RS_EIO, "cannot create a temporary directory %s: %s", p.ptr,
		              strerror(errno));
		rs_buf_dispose(&p);
		return NULL;
	}
	return rs__buf_detach(&p);
}

/* Whether what is extracted from an existing archive is a layout (an OCI archive must hold
 * one, even one opened to be added to). */
static int check_layout(const oci_archive *o, const char *file)
{
	rs_buf marker = RS_BUF_INIT;
	int error;
	rs__buf_printf(&marker, "%s/oci-layout", o->tmpdir);
	if (rs__buf_oom(&marker))
		return RS_ENOMEM;
	error = access(marker.ptr, F_OK) < 0
	                ? rs__error_set(RS_EFORMAT,
	                                "%s is not an OCI archive (no oci-layout entry)", file)
	                : 0;
	rs_buf_dispose(&marker);
	return error;
}

int rs_store_open_oci_archive(rs_store **out, const char *file, unsigned int flags)
{
	oci_archive *o = NULL;
	struct stat st;
	rs_buf name = RS_BUF_INIT;
	rs__spool spool = RS__SPOOL_INIT;
	const char *shown = file;
	bool write = (flags & RS_STORE_WRITE) != 0;
	int error = 0;
	if (!out)
		return rs__error_set(RS_EINVAL, "oci archive: NULL output");
	*out = NULL;
	if (!file || !*file)
		return rs__error_set(RS_EINVAL, "oci archive: empty file name");
	if (!(flags & (RS_STORE_READ | RS_STORE_WRITE)))
		return rs__error_set(
		        RS_EINVAL, "oci archive %s: open flags name neither read nor write", file);
	if ((flags & RS_STORE_OVERWRITE) && !write)
		return rs__error_set(RS_EINVAL, "oci archive %s: overwrite needs write", file);
	if (!write && rs__spool_wanted(file)) {
		/* oci-archive:- : standard input, unpacked like a file */
		const char *base = getenv("TMPDIR");
		if ((error = rs__spool_stdin(&spool, "oci-archive",
		                             base && *base ? base : "/tmp")) < 0)
			return error;
		shown = "standard input";
	} else if (!write) {
		if (stat(file, &st) < 0)
			return rs__error_set(errno == ENOENT ? RS_EINVAL : RS_EIO,
			                     "oci archive %s: %s", file,
			                     errno == ENOENT ? "no such file" : strerror(errno));
		if (S_ISDIR(st.st_mode))
			return rs__error_set(RS_EINVAL,
			                     "oci archive %s is a directory (use oci:%s "
			                     "for a layout directory)",
			                     file, file);
		if (!S_ISREG(st.st_mode))
			return rs__error_set(RS_EINVAL, "oci archive %s: not a regular file", file);
	}
	if (!(o = rs__calloc(1, sizeof(*o)))) {
		error = rs__oom();
		goto done;
	}
	o->parent.ops = &ociar_ops;
	o->dest.fd = -1;
	o->flags = (flags & ~RS_STORE_OVERWRITE) | RS_STORE_READ;
	rs__buf_printf(&name, "oci archive %s", shown);
	if (!(o->file = rs__strdup(file)) || !name.ptr || !(o->name = rs__buf_detach(&name))) {
		rs_buf_dispose(&name);
		error = rs__oom();
		goto done;
	}
	if (write && (error = rs__dest_resolve(&o->dest, file, "OCI archive")) < 0)
		goto done;
	if (!(o->tmpdir = make_tmpdir())) {
		error = rs_error_last()->code == RS_ENOMEM ? RS_ENOMEM : RS_EIO;
		goto done;
	}
	if (!write) {
		const char *from = spool.fd >= 0 ? spool.path : file;
		if ((error = extract(from, o->tmpdir)) < 0) {
			rs__spool_error(&spool, error, shown);
			goto done;
		}
		if ((error = check_layout(o, shown)) < 0)
			goto done;
	} else if (o->dest.exists && !(flags & RS_STORE_OVERWRITE)) {
		/* add to what it holds: read it all now, before anything is written */
		if ((error = extract(o->dest.target, o->tmpdir)) < 0 ||
		    (error = check_layout(o, file)) < 0) {
			const rs_error *e = rs_error_last();
			char why[sizeof(e->message)];
			if (error == RS_EUSER)
				goto done;
			snprintf(why, sizeof(why), "%s",
			         rs_error_is_set() ? e->message : rs_strerror(error));
			error = rs__error_set(RS_EEXISTS,
			                      "%s exists and is not an OCI archive regship can add "
			                      "to (%s); use --overwrite to replace it",
			                      file, why);
			goto done;
		}
	}
	if ((error = rs__oci_layout_open(&o->layout, o->tmpdir, o->flags, o->name)) < 0)
		goto done;
	*out = &o->parent;
	o = NULL;
done:
	rs__spool_dispose(&spool);
	ociar_free(o ? &o->parent : NULL);
	return error;
}
