/*
 * The OCI image layout store: a directory holding
 *   oci-layout        {"imageLayoutVersion":"1.0.0"}
 *   index.json        an image index whose entries carry the tag in the
 *                     org.opencontainers.image.ref.name annotation
 *   blobs/<alg>/<hex> every blob and manifest, named by its digest
 *
 * index.json changes are kept in a journal and applied to a fresh read of the file at
 * commit time, so concurrent writers do not lose entries. Writers serialise on an flock of the
 * layout directory itself (no lock file is added): creating the skeleton (oci-layout first) and
 * updating index.json happen under it; blobs are written to unique temporary files and renamed.
 *
 * Everything is reached through a descriptor of the layout directory. A layout opened for
 * writing follows no symbolic link inside it (blobs/, blobs/<alg>/, a blob, index.json,
 * oci-layout): nothing is read or written outside the directory. A layout opened read-only
 * follows links but reads only regular files. A blob already present is trusted by a writer
 * only once its size and digest match; a wrong one is replaced.
 */
#include "store/store.h"
#include "util/digest.h"
#include "util/file.h"
#include "util/json.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define REF_NAME "org.opencontainers.image.ref.name"
#define LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"
#define INDEX_MAX (64u * 1024 * 1024)
#define MANIFEST_MAX (16u * 1024 * 1024)
#define COPY_BUF (64u * 1024)

typedef struct {
	rs_store parent;
	char *dir;
	char *name; /* for messages: "oci layout DIR" */
	unsigned int flags;
	int dirfd; /* the layout directory, for every access inside it */
	unsigned int fflags; /* RS_FILE_NOFOLLOW for a writer, else 0 */
	json_t *index; /* index.json as this store sees it */
	json_t *journal; /* pending index changes, applied to the file at commit */
	json_t *loose; /* digest -> descriptor: manifests put by digest, not (yet) an index's */
	json_t *children; /* digest -> true: the children of the indexes put */
} oci_layout;

/* ---- small helpers ------------------------------------------------------------------------ */

static char *path_join(const char *a, const char *b)
{
	rs_buf p = RS_BUF_INIT;
	rs__buf_printf(&p, "%s/%s", a, b);
	return rs__buf_detach(&p);
}

/* blobs/<alg>/<hex> for a digest checked first, so no ".." or "/" can get in. */
static int blob_path(char **out, const oci_layout *l, const char *digest)
{
	rs_buf p = RS_BUF_INIT;
	const char *colon;
	int error;
	if ((error = rs__digest_check(digest)) < 0)
		return error;
	colon = strchr(digest, ':');
	rs__buf_printf(&p, "%s/blobs/%.*s/%s", l->dir, (int)(colon - digest), digest, colon + 1);
	*out = rs__buf_detach(&p);
	return 0;
}

static int blob_dir(char **out, const oci_layout *l, const char *digest)
{
	rs_buf p = RS_BUF_INIT;
	const char *colon = strchr(digest, ':');
	rs__buf_printf(&p, "%s/blobs/%.*s", l->dir, (int)(colon - digest), digest);
	*out = rs__buf_detach(&p);
	return 0;
}

static int check_writable(const oci_layout *l)
{
	if (!(l->flags & RS_STORE_WRITE))
		return rs__error_set(RS_EINVAL, "%s was opened read-only", l->name);
	return 0;
}

/* A tag as stored in the ref.name annotation: printable ASCII, no blanks. */
static int check_tag(const char *tag)
{
	size_t n = strlen(tag);
	if (!n)
		return rs__error_set(RS_EINVAL, "invalid tag \"\": empty");
	if (n > 255)
		return rs__error_set(RS_EINVAL, "invalid tag \"%.40s...\": longer than 255 bytes",
		                     tag);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)tag[i] <= 0x20 || (unsigned char)tag[i] >= 0x7f)
			return rs__error_set(RS_EINVAL,
			                     "invalid tag \"%s\": character %zu is not printable "
			                     "ASCII",
			                     tag, i + 1);
	return 0;
}

static bool is_digest_ref(const char *reference)
{
	return rs__str_startswith(reference, "sha256:") || rs__str_startswith(reference, "sha512:");
}

static const char *entry_tag(json_t *entry)
{
	return json_string_value(json_object_get(json_object_get(entry, "annotations"), REF_NAME));
}

static const char *entry_digest(json_t *entry)
{
	return json_string_value(json_object_get(entry, "digest"));
}

static json_t *index_manifests(json_t *index)
{
	json_t *m = json_object_get(index, "manifests");
	if (!json_is_array(m)) {
		m = json_array();
		json_object_set_new(index, "manifests", m);
	}
	return m;
}

static json_t *index_new(void)
{
	return json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", RS_MT_OCI_INDEX,
	                 "manifests");
}

/* The media type a manifest declares, or one guessed from its fields; NULL if unknown. */
static char *sniff_media_type(const void *body, size_t len)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	const char *mt;
	char *res = NULL;
	if (!json_is_object(j))
		goto done;
	if ((mt = json_string_value(json_object_get(j, "mediaType"))) && *mt)
		res = rs__strdup(mt);
	else if (json_object_get(j, "manifests"))
		res = rs__strdup(RS_MT_OCI_INDEX);
	else if (json_object_get(j, "config") || json_object_get(j, "layers"))
		res = rs__strdup(RS_MT_OCI_MANIFEST);
done:
	json_decref(j);
	return res;
}

static bool is_index_media_type(const char *mt)
{
	return mt && (!strcmp(mt, RS_MT_OCI_INDEX) || !strcmp(mt, RS_MT_DOCKER_LIST));
}

/* ---- index.json: load, journal, sort, write ---------------------------------------------- */

static int index_load(json_t **out, const oci_layout *l, bool missing_ok)
{
	rs_buf raw = RS_BUF_INIT;
	json_error_t jerr;
	json_t *j = NULL;
	char *path = path_join(l->dir, "index.json");
	int error;
	if ((error = rs__file_read_regular(&raw, l->dirfd, "index.json", INDEX_MAX, l->fflags,
	                                   path)) < 0) {
		if (error == RS_ENOTFOUND && missing_ok) {
			*out = index_new();
			error = 0;
		} else if (error == RS_ENOTFOUND) {
			error = rs__error_set(RS_EFORMAT,
			                      "%s is not a valid OCI layout: %s is missing",
			                      l->name, path);
		}
		goto done;
	}
	j = json_loadb(rs__buf_cstr(&raw), raw.size, 0, &jerr);
	if (!j) {
		error = rs__json_error(path, &jerr);
		goto done;
	}
	if (!json_is_object(j) ||
	    (json_object_get(j, "manifests") && !json_is_array(json_object_get(j, "manifests")))) {
		error = rs__error_set(RS_EFORMAT,
		                      "%s: not an image index (expected an object with a "
		                      "\"manifests\" array)",
		                      path);
		goto done;
	}
	index_manifests(j);
	*out = j;
	j = NULL;
done:
	json_decref(j);
	rs_buf_dispose(&raw);
	free(path);
	return error;
}

/* op: {"op":"set","desc":{...}} or {"op":"delete","digest":"..."} */
static void index_apply(json_t *index, json_t *op)
{
	json_t *m = index_manifests(index);
	const char *kind = json_string_value(json_object_get(op, "op"));
	if (!strcmp(kind, "delete")) {
		const char *digest = json_string_value(json_object_get(op, "digest"));
		for (size_t i = json_array_size(m); i-- > 0;) {
			const char *d = entry_digest(json_array_get(m, i));
			if (d && !strcmp(d, digest))
				json_array_remove(m, i);
		}
	} else {
		json_t *desc = json_object_get(op, "desc");
		const char *tag = entry_tag(desc);
		const char *digest = entry_digest(desc);
		for (size_t i = json_array_size(m); i-- > 0;) {
			json_t *e = json_array_get(m, i);
			const char *t = entry_tag(e), *d = entry_digest(e);
			if (tag && t && !strcmp(t, tag))
				json_array_remove(m, i);
			else if (!tag && d && !strcmp(d, digest))
				return; /* the manifest is already there (untagged or tagged) */
		}
		json_array_append(m, desc);
	}
}

static int entry_cmp(const void *pa, const void *pb)
{
	json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	const char *ta = entry_tag(a), *tb = entry_tag(b);
	const char *da = entry_digest(a), *db = entry_digest(b);
	int c;
	if (ta && !tb)
		return -1;
	if (!ta && tb)
		return 1;
	if (ta && (c = strcmp(ta, tb)))
		return c;
	return strcmp(da ? da : "", db ? db : "");
}

/* Tagged entries by tag, then untagged ones by digest. */
static void index_sort(json_t *index)
{
	json_t *m = index_manifests(index), *sorted = json_array();
	size_t n = json_array_size(m);
	json_t **v = rs__calloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(m, i);
	if (n)
		qsort(v, n, sizeof(*v), entry_cmp);
	for (size_t i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	json_object_set_new(index, "manifests", sorted);
	free(v);
}

static void journal_add(oci_layout *l, json_t *op)
{
	index_apply(l->index, op);
	json_array_append_new(l->journal, op);
}

static int index_write(const oci_layout *l, json_t *index)
{
	char *path = path_join(l->dir, "index.json");
	char *text;
	int error;
	index_sort(index);
	text = json_dumps(index, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		free(path);
		return rs__error_set(RS_ENOMEM, "cannot serialise %s/index.json", l->dir);
	}
	error = rs__file_write_atomic_at(l->dirfd, "index.json", text, strlen(text), 0644, 0, path);
	free(text);
	free(path);
	return error;
}

/* Serialise with the other writers of this layout: an flock of the directory itself
 * (exclusive; shared for a reader's open, so it never sees a half-made skeleton). */
static int layout_lock(const oci_layout *l, bool exclusive)
{
	while (flock(l->dirfd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EINTR)
			return rs__error_set(RS_EIO, "cannot lock %s: %s", l->name,
			                     strerror(errno));
	}
	return 0;
}

static void layout_unlock(const oci_layout *l)
{
	(void)flock(l->dirfd, LOCK_UN);
}

static int layout_commit(rs_store *s)
{
	oci_layout *l = (oci_layout *)s;
	json_t *disk = NULL;
	int error = 0;
	bool locked = false;
	const char *key;
	json_t *desc;
	if (!(l->flags & RS_STORE_WRITE))
		return 0;
	/* a manifest put by digest that no index put here names is the image itself (pulled by
	 * digest, no tag): an untagged entry, or the layout would not hold it at all */
	json_object_foreach(l->loose, key, desc)
	{
		if (!json_object_get(l->children, key))
			journal_add(l, json_pack("{s:s, s:O}", "op", "set", "desc", desc));
	}
	json_object_clear(l->loose);
	json_object_clear(l->children);
	if (json_array_size(l->journal) == 0)
		return 0;
	/* load, modify, write under the lock: no writer's entries are lost */
	if ((error = layout_lock(l, true)) < 0)
		goto done;
	locked = true;
	if ((error = index_load(&disk, l, true)) < 0)
		goto done;
	for (size_t i = 0; i < json_array_size(l->journal); i++)
		index_apply(disk, json_array_get(l->journal, i));
	if ((error = index_write(l, disk)) < 0)
		goto done;
	json_decref(l->index);
	l->index = disk;
	disk = NULL;
	json_array_clear(l->journal);
done:
	if (locked)
		layout_unlock(l);
	json_decref(disk);
	return error;
}

/* ---- blobs -------------------------------------------------------------------------------- */

/* blobs/<alg> of a checked digest, opened inside the layout (created when asked). */
static int alg_dir_open(int *fd, const oci_layout *l, const char *digest, bool create)
{
	rs_buf rel = RS_BUF_INIT, shown = RS_BUF_INIT;
	const char *colon = strchr(digest, ':');
	int error;
	rs__buf_printf(&rel, "blobs/%.*s", (int)(colon - digest), digest);
	rs__buf_printf(&shown, "%s/%s", l->dir, rel.ptr);
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
	if ((error = blob_path(&path, l, digest)) < 0)
		return error;
	hex = strchr(digest, ':') + 1;
	if ((error = alg_dir_open(&algfd, l, digest, false)) < 0) {
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

static int layout_blob_exists(rs_store *s, const rs_descriptor *desc)
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

static int layout_blob_open(rs_reader **out, rs_store *s, const rs_descriptor *desc)
{
	oci_layout *l = (oci_layout *)s;
	char *path = NULL;
	struct stat st;
	int algfd = -1, fd = -1, error;
	if ((error = blob_path(&path, l, desc->digest)) < 0)
		return error;
	if ((error = alg_dir_open(&algfd, l, desc->digest, false)) < 0 ||
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

static int layout_blob_put(rs_store *s, const rs_descriptor *desc, rs_reader *r, rs_transfer_cb cb,
                           void *payload)
{
	oci_layout *l = (oci_layout *)s;
	char *path = NULL, *dir = NULL, *tmp = NULL;
	rs_reader *v = NULL;
	unsigned char *buf = NULL;
	uint64_t done = 0;
	blob_state state;
	int algfd = -1, fd = -1, error;
	if ((error = check_writable(l)) < 0 || (error = blob_path(&path, l, desc->digest)) < 0)
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
	blob_dir(&dir, l, desc->digest);
	if ((error = alg_dir_open(&algfd, l, desc->digest, true)) < 0 ||
	    (error = rs__file_tmp_at(&fd, &tmp, algfd, ".tmp-", dir)) < 0)
		goto done;
	/* verified while streaming; a reader that already verifies this blob is used as is */
	if (!rs__reader_verifies(r, desc->digest, desc->size) &&
	    (error = rs__reader_verify(&v, r, desc->digest, desc->size, false)) < 0)
		goto done;
	buf = rs__malloc(COPY_BUF);
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
static int blob_put_bytes(oci_layout *l, const char *digest, const void *data, size_t len)
{
	char *path = NULL;
	blob_state state;
	int algfd = -1, error;
	if ((error = blob_path(&path, l, digest)) < 0)
		return error;
	if ((error = blob_check(&state, l, digest, (int64_t)len, true)) < 0 || state == BLOB_OK)
		goto done;
	rs_error_clear();
	if ((error = alg_dir_open(&algfd, l, digest, true)) < 0)
		goto done;
	error = rs__file_write_atomic_at(algfd, strchr(digest, ':') + 1, data, len, 0644, 0, path);
done:
	if (algfd >= 0)
		close(algfd);
	free(path);
	return error;
}

/* ---- manifests ---------------------------------------------------------------------------- */

static void list_images(rs_buf *out, json_t *index)
{
	json_t *m = index_manifests(index);
	for (size_t i = 0; i < json_array_size(m); i++) {
		json_t *e = json_array_get(m, i);
		const char *t = entry_tag(e), *d = entry_digest(e);
		rs__buf_printf(out, "%s%s", i ? ", " : "", t ? t : d ? d : "?");
	}
}

static json_t *find_entry(json_t *index, const char *reference, bool by_digest)
{
	json_t *m = index_manifests(index);
	for (size_t i = 0; i < json_array_size(m); i++) {
		json_t *e = json_array_get(m, i);
		const char *v = by_digest ? entry_digest(e) : entry_tag(e);
		if (v && !strcmp(v, reference))
			return e;
	}
	return NULL;
}

static int layout_manifest_get(rs_store *s, const char *reference, rs_buf *body, char **media_type,
                               char **digest)
{
	oci_layout *l = (oci_layout *)s;
	json_t *m = index_manifests(l->index), *entry = NULL;
	rs_buf raw = RS_BUF_INIT, names = RS_BUF_INIT;
	const char *want, *mt;
	char *path = NULL, *type = NULL;
	json_int_t size = -1;
	int algfd = -1, error = 0;
	if (!reference) {
		if (json_array_size(m) == 1) {
			entry = json_array_get(m, 0);
		} else if (json_array_size(m) == 0) {
			error = rs__error_set(RS_ENOTFOUND, "%s holds no images", l->name);
			goto done;
		} else {
			list_images(&names, l->index);
			error = rs__error_set(
			        RS_EINVAL,
			        "%s holds %zu images (%s): name one with a tag or digest", l->name,
			        json_array_size(m), rs__buf_cstr(&names));
			goto done;
		}
	} else if (is_digest_ref(reference)) {
		if ((error = rs__digest_check(reference)) < 0)
			goto done;
		entry = find_entry(l->index, reference, true);
	} else if (!(entry = find_entry(l->index, reference, false))) {
		list_images(&names, l->index);
		error = rs__error_set(RS_ENOTFOUND, "tag \"%s\" not found in %s (it holds: %s)",
		                      reference, l->name,
		                      names.size ? rs__buf_cstr(&names) : "nothing");
		goto done;
	}
	want = entry ? entry_digest(entry) : reference;
	if (!want || !rs__digest_valid(want)) {
		error = rs__error_set(RS_EFORMAT, "%s: index.json entry with invalid digest \"%s\"",
		                      l->name, want ? want : "");
		goto done;
	}
	if (entry && json_is_integer(json_object_get(entry, "size")))
		size = json_integer_value(json_object_get(entry, "size"));
	if ((error = blob_path(&path, l, want)) < 0)
		goto done;
	if ((error = alg_dir_open(&algfd, l, want, false)) < 0 ||
	    (error = rs__file_read_regular(&raw, algfd, strchr(want, ':') + 1, MANIFEST_MAX,
	                                   l->fflags, path)) < 0) {
		if (error == RS_ENOTFOUND)
			error = rs__error_set(RS_ENOTFOUND, "manifest %s not found in %s", want,
			                      l->name);
		goto done;
	}
	if (size >= 0 && (json_int_t)raw.size != size) {
		error = rs__error_set(RS_EFORMAT,
		                      "manifest %s in %s has %zu bytes, index.json says %lld", want,
		                      l->name, raw.size, (long long)size);
		goto done;
	}
	if ((error = rs__digest_verify(want, raw.ptr ? raw.ptr : "", raw.size)) < 0) {
		rs__error_prefix("%s: corrupt manifest blob", l->name);
		goto done;
	}
	mt = entry ? json_string_value(json_object_get(entry, "mediaType")) : NULL;
	type = mt && *mt ? rs__strdup(mt) : sniff_media_type(raw.ptr, raw.size);
	if (!type) {
		error = rs__error_set(RS_EFORMAT, "%s: manifest %s has no media type", l->name,
		                      want);
		goto done;
	}
	rs__buf_clear(body);
	rs__buf_put(body, raw.ptr ? raw.ptr : "", raw.size);
	if (media_type) {
		*media_type = type;
		type = NULL;
	}
	if (digest)
		*digest = rs__strdup(want);
done:
	if (algfd >= 0)
		close(algfd);
	free(type);
	free(path);
	rs_buf_dispose(&raw);
	rs_buf_dispose(&names);
	return error;
}

/* Records the children an index names (they need no index.json entry of their own). */
static void note_children(oci_layout *l, const void *body, size_t len)
{
	json_t *j = json_loadb(body ? body : "", len, 0, NULL);
	json_t *m = json_object_get(j, "manifests");
	for (size_t i = 0; i < json_array_size(m); i++) {
		const char *d = json_string_value(json_object_get(json_array_get(m, i), "digest"));
		if (d) {
			json_object_set_new(l->children, d, json_true());
			json_object_del(l->loose, d);
		}
	}
	json_decref(j);
}

static int layout_manifest_put(rs_store *s, const char *reference, const void *body, size_t len,
                               const char *media_type)
{
	oci_layout *l = (oci_layout *)s;
	char digest[RS_DIGEST_MAX];
	char *mt = NULL;
	bool by_digest = reference && is_digest_ref(reference);
	json_t *desc;
	int error;
	if ((error = check_writable(l)) < 0)
		return error;
	if (!body && len)
		return rs__error_set(RS_EINVAL, "manifest_put: NULL body");
	if (by_digest) {
		if ((error = rs__digest_verify(reference, body ? body : "", len)) < 0)
			return error;
		snprintf(digest, sizeof(digest), "%s", reference);
	} else {
		if (reference && (error = check_tag(reference)) < 0)
			return error;
		rs__sha256_digest(digest, body ? body : "", len);
	}
	mt = media_type && *media_type ? rs__strdup(media_type) : sniff_media_type(body, len);
	if (!mt) {
		error = rs__error_set(RS_EINVAL, "manifest %s: unknown media type", digest);
		goto done;
	}
	if ((error = blob_put_bytes(l, digest, body ? body : "", len)) < 0)
		goto done;
	desc = json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", digest, "size",
	                 (json_int_t)len);
	/* a digest reference is a child of an index (blob only), unless it is an index itself or
	 * no index put here names it: commit decides */
	if (by_digest && !is_index_media_type(mt)) {
		json_object_set_new(l->loose, digest, desc);
		goto done;
	}
	if (!by_digest)
		json_object_del(l->loose, digest);
	if (is_index_media_type(mt))
		note_children(l, body, len);
	if (reference && !by_digest)
		json_object_set_new(desc, "annotations", json_pack("{s:s}", REF_NAME, reference));
	journal_add(l, json_pack("{s:s, s:o}", "op", "set", "desc", desc));
done:
	free(mt);
	return error;
}

/* Untags: removes the index.json entries for digest; the blob stays. */
static int layout_manifest_delete(rs_store *s, const char *digest)
{
	oci_layout *l = (oci_layout *)s;
	int error;
	if ((error = check_writable(l)) < 0 || (error = rs__digest_check(digest)) < 0)
		return error;
	if (!find_entry(l->index, digest, true))
		return rs__error_set(RS_ENOTFOUND, "manifest %s is not in the index of %s", digest,
		                     l->name);
	journal_add(l, json_pack("{s:s, s:s}", "op", "delete", "digest", digest));
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int layout_tag_list(rs_store *s, int (*cb)(const char *tag, void *payload), void *payload)
{
	oci_layout *l = (oci_layout *)s;
	json_t *m = index_manifests(l->index);
	rs_strlist tags = RS_STRLIST_INIT;
	int error = 0;
	for (size_t i = 0; i < json_array_size(m); i++) {
		const char *t = entry_tag(json_array_get(m, i));
		if (t && !rs__strlist_contains(&tags, t))
			rs__strlist_push(&tags, t);
	}
	if (tags.count)
		if (tags.count)
			qsort(tags.items, tags.count, sizeof(*tags.items), str_cmp);
	for (size_t i = 0; i < tags.count; i++) {
		if (cb(tags.items[i], payload)) {
			error = rs__error_set(RS_EUSER, "tag listing of %s stopped by the callback",
			                      l->name);
			break;
		}
	}
	rs__strlist_dispose(&tags);
	return error;
}

static void layout_free(rs_store *s)
{
	oci_layout *l = (oci_layout *)s;
	json_decref(l->index);
	json_decref(l->journal);
	json_decref(l->loose);
	json_decref(l->children);
	if (l->dirfd >= 0)
		close(l->dirfd);
	free(l->dir);
	free(l->name);
	free(l);
}

static const rs_store_ops layout_ops = {
        .version = RS_STORE_OPS_VERSION,
        .scheme = "oci",
        .manifest_get = layout_manifest_get,
        .manifest_put = layout_manifest_put,
        .manifest_delete = layout_manifest_delete,
        .blob_exists = layout_blob_exists,
        .blob_open = layout_blob_open,
        .blob_put = layout_blob_put,
        .blob_mount = NULL,
        .tag_list = layout_tag_list,
        .commit = layout_commit,
        .free = layout_free,
};

/* ---- open --------------------------------------------------------------------------------- */

/* 1 when the directory has no entries, 0 when it has some. */
static int dir_is_empty(const oci_layout *l)
{
	int fd = openat(l->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	int empty = 1;
	if (!d) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return rs__error_set(RS_EIO, "cannot read directory %s: %s", l->dir, strerror(err));
	}
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

static int check_layout_file(const oci_layout *l)
{
	rs_buf raw = RS_BUF_INIT;
	char *path = path_join(l->dir, "oci-layout");
	json_t *j = NULL;
	json_error_t jerr;
	const char *v;
	int error;
	if ((error = rs__file_read_regular(&raw, l->dirfd, "oci-layout", 65536, l->fflags, path)) <
	    0)
		goto done;
	if (!(j = json_loadb(rs__buf_cstr(&raw), raw.size, 0, &jerr))) {
		error = rs__json_error(path, &jerr);
		goto done;
	}
	v = json_string_value(json_object_get(j, "imageLayoutVersion"));
	if (!v)
		error = rs__error_set(RS_EFORMAT, "%s: expected {\"imageLayoutVersion\":\"1.0.0\"}",
		                      path);
	else if (!rs__str_startswith(v, "1."))
		error = rs__error_set(RS_EUNSUPPORTED,
		                      "%s: unsupported imageLayoutVersion \"%.40s\" (expected 1.x)",
		                      path, v);
done:
	json_decref(j);
	rs_buf_dispose(&raw);
	free(path);
	return error;
}

/* The skeleton of a new layout, under the lock: oci-layout first, then blobs/sha256 and an
 * empty index.json. */
static int layout_create(const oci_layout *l)
{
	static const char empty[] =
	        "{\"manifests\":[],\"mediaType\":\"" RS_MT_OCI_INDEX "\",\"schemaVersion\":2}";
	char *layout = path_join(l->dir, "oci-layout");
	char *index = path_join(l->dir, "index.json");
	struct stat st;
	int fd = -1, error;
	if ((error = rs__file_write_atomic_at(l->dirfd, "oci-layout", LAYOUT_JSON,
	                                      strlen(LAYOUT_JSON), 0644, 0, layout)) < 0)
		goto done;
	if ((error = rs__dir_open_at(&fd, l->dirfd, "blobs/sha256",
	                             RS_FILE_NOFOLLOW | RS_FILE_CREATE, 0755, l->dir)) < 0)
		goto done;
	if (fstatat(l->dirfd, "index.json", &st, AT_SYMLINK_NOFOLLOW) < 0)
		error = rs__file_write_atomic_at(l->dirfd, "index.json", empty, strlen(empty), 0644,
		                                 0, index);
done:
	if (fd >= 0)
		close(fd);
	free(layout);
	free(index);
	return error;
}

/* Under the lock for a writer: an OCI layout, or an empty directory made one. */
static int layout_prepare(oci_layout *l, bool write)
{
	struct stat st;
	int error;
	if (fstatat(l->dirfd, "oci-layout", &st, write ? AT_SYMLINK_NOFOLLOW : 0) == 0)
		return check_layout_file(l);
	if (errno != ENOENT)
		return rs__error_set(RS_EIO, "cannot access %s/oci-layout: %s", l->dir,
		                     strerror(errno));
	if ((error = dir_is_empty(l)) < 0)
		return error;
	if (error == 1 && write)
		return layout_create(l);
	if (write)
		return rs__error_set(RS_EINVAL,
		                     "refusing to write into %s: the directory is not empty "
		                     "and is not an OCI layout (no oci-layout file)",
		                     l->dir);
	return rs__error_set(RS_EINVAL, "%s is not an OCI layout (no oci-layout file)", l->dir);
}

int rs__oci_layout_open(rs_store **out, const char *dir, unsigned int flags, const char *name)
{
	oci_layout *l = NULL;
	bool write = (flags & RS_STORE_WRITE) != 0, locked = false;
	int error = 0;
	if (!out)
		return rs__error_set(RS_EINVAL, "oci layout: NULL output");
	*out = NULL;
	if (!dir || !*dir)
		return rs__error_set(RS_EINVAL, "oci layout: empty directory name");
	if (!(flags & (RS_STORE_READ | RS_STORE_WRITE)))
		return rs__error_set(RS_EINVAL,
		                     "oci layout %s: open flags name neither read nor "
		                     "write",
		                     dir);
	l = rs__calloc(1, sizeof(*l));
	l->parent.ops = &layout_ops;
	l->dir = rs__strdup(dir);
	l->dirfd = -1;
	l->fflags = write ? RS_FILE_NOFOLLOW : 0;
	if (name) {
		l->name = rs__strdup(name);
	} else {
		rs_buf n = RS_BUF_INIT;
		rs__buf_printf(&n, "oci layout %s", dir);
		l->name = rs__buf_detach(&n);
	}
	l->flags = flags | RS_STORE_READ;
	l->journal = json_array();
	l->loose = json_object();
	l->children = json_object();
	/* the directory the user named may be a link; nothing inside it is followed (writer) */
	if ((l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && errno == ENOENT &&
	    write) {
		if ((error = rs__mkdir_p(dir, 0755)) < 0)
			goto done;
		l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (l->dirfd < 0) {
		if (errno == ENOENT)
			error = rs__error_set(RS_ENOTFOUND, "oci layout %s: no such directory",
			                      dir);
		else if (errno == ENOTDIR)
			error = rs__error_set(RS_EINVAL, "oci layout %s: not a directory", dir);
		else
			error = rs__error_set(RS_EIO, "cannot access %s: %s", dir, strerror(errno));
		goto done;
	}
	if ((error = layout_lock(l, write)) == 0) {
		locked = true;
	} else if (write) {
		goto done;
	} else {
		rs_error_clear(); /* a reader without locks (say, on NFS) reads as before */
		error = 0;
	}
	if ((error = layout_prepare(l, write)) < 0 || (error = index_load(&l->index, l, write)) < 0)
		goto done;
	*out = &l->parent;
	l = NULL;
	error = 0;
done:
	if (l) {
		if (locked)
			layout_unlock(l);
		layout_free(&l->parent);
	} else if (locked) {
		layout_unlock((oci_layout *)*out);
	}
	return error;
}

int rs_store_open_oci_layout(rs_store **out, const char *dir, unsigned int flags)
{
	return rs__oci_layout_open(out, dir, flags, NULL);
}
