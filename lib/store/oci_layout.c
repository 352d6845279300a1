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
#include "store/oci_layout.h"
#include "store/store.h"
#include "util/digest.h"
#include "util/escape.h"
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

/* ---- small helpers ------------------------------------------------------------------------ */

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

/* The media type a manifest declares, or one guessed from its fields; NULL if unknown, and
 * when out of memory (then with RS_ENOMEM set and *oom true). */
static char *sniff_media_type(const void *body, size_t len, bool *oom)
{
	json_error_t jerr;
	json_t *j = json_loadb(body, len, 0, &jerr);
	const char *mt;
	char *res = NULL;
	*oom = false;
	if (!j && rs__json_oom(&jerr)) {
		*oom = true;
		rs__oom();
		return NULL;
	}
	if (!json_is_object(j))
		goto done;
	if ((mt = json_string_value(json_object_get(j, "mediaType"))) && *mt)
		res = rs__strdup(mt);
	else if (json_object_get(j, "manifests"))
		res = rs__strdup(RS_MT_OCI_INDEX);
	else if (json_object_get(j, "config") || json_object_get(j, "layers"))
		res = rs__strdup(RS_MT_OCI_MANIFEST);
	else
		goto done;
	if (!res) {
		*oom = true;
		rs__oom();
	}
done:
	json_decref(j);
	return res;
}

static bool is_index_media_type(const char *mt)
{
	return mt && (!strcmp(mt, RS_MT_OCI_INDEX) || !strcmp(mt, RS_MT_DOCKER_LIST));
}

/* ---- manifests ---------------------------------------------------------------------------- */

static void list_images(rs_buf *out, json_t *index)
{
	json_t *m = rs__ol_index_manifests(index);
	for (size_t i = 0; i < json_array_size(m); i++) {
		json_t *e = json_array_get(m, i);
		const char *t = rs__ol_entry_tag(e), *d = rs__ol_entry_digest(e);
		rs__buf_printf(out, "%s%s", i ? ", " : "", t ? t : d ? d : "?");
	}
}

static json_t *find_entry(json_t *index, const char *reference, bool by_digest)
{
	json_t *m = rs__ol_index_manifests(index);
	for (size_t i = 0; i < json_array_size(m); i++) {
		json_t *e = json_array_get(m, i);
		const char *v = by_digest ? rs__ol_entry_digest(e) : rs__ol_entry_tag(e);
		if (v && !strcmp(v, reference))
			return e;
	}
	return NULL;
}

/* "tag not found" and "name one": the message lists the images the layout holds. */
static int no_entry(const oci_layout *l, int code, const char *reference)
{
	rs_buf names = RS_BUF_INIT;
	int error;
	list_images(&names, l->index);
	if (rs__buf_oom(&names))
		return RS_ENOMEM;
	if (reference)
		error = rs__error_set(code, "tag \"%s\" not found in %s (it holds: %s)", reference,
		                      l->name, names.size ? rs__buf_cstr(&names) : "nothing");
	else
		error = rs__error_set(
		        code, "%s holds %zu images (%s): name one with a tag or digest", l->name,
		        json_array_size(rs__ol_index_manifests(l->index)), rs__buf_cstr(&names));
	rs_buf_dispose(&names);
	return error;
}

/* The index.json entry reference names: NULL names the only image; a digest need not have an
 * entry (*entry NULL: a child of an index), a tag must. */
static int select_entry(json_t **entry, const oci_layout *l, const char *reference)
{
	json_t *m = rs__ol_index_manifests(l->index);
	int error;
	*entry = NULL;
	if (!reference) {
		if (json_array_size(m) == 0)
			return rs__error_set(RS_ENOTFOUND, "%s holds no images", l->name);
		if (json_array_size(m) > 1)
			return no_entry(l, RS_EINVAL, NULL);
		*entry = json_array_get(m, 0);
	} else if (is_digest_ref(reference)) {
		if ((error = rs__digest_check(reference)) < 0)
			return error;
		*entry = find_entry(l->index, reference, true);
	} else if (!(*entry = find_entry(l->index, reference, false))) {
		return no_entry(l, RS_ENOTFOUND, reference);
	}
	return 0;
}

/* The manifest blob `want` into raw, checked against its entry's size and its digest. */
static int read_manifest(rs_buf *raw, oci_layout *l, const json_t *entry, const char *want)
{
	json_int_t size = -1;
	char *path = NULL;
	int algfd = -1, error;
	if (entry && json_is_integer(json_object_get(entry, "size")))
		size = json_integer_value(json_object_get(entry, "size"));
	if ((error = rs__ol_blob_path(&path, l, want)) < 0)
		goto done;
	if ((error = rs__ol_alg_dir_open(&algfd, l, want, false)) < 0 ||
	    (error = rs__file_read_regular(raw, algfd, strchr(want, ':') + 1, MANIFEST_MAX,
	                                   l->fflags, path)) < 0) {
		if (error == RS_ENOTFOUND)
			error = rs__error_set(RS_ENOTFOUND, "manifest %s not found in %s", want,
			                      l->name);
		goto done;
	}
	if (size >= 0 && (json_int_t)raw->size != size) {
		error = rs__error_set(RS_EFORMAT,
		                      "manifest %s in %s has %zu bytes, index.json says %lld", want,
		                      l->name, raw->size, (long long)size);
		goto done;
	}
	if ((error = rs__digest_verify(want, raw->ptr ? raw->ptr : "", raw->size)) < 0)
		rs__error_prefix("%s: corrupt manifest blob", l->name);
done:
	if (algfd >= 0)
		close(algfd);
	free(path);
	return error;
}

/* The media type: the entry's, else the manifest's own mediaType field. */
static int manifest_type(char **type, const oci_layout *l, const json_t *entry, const rs_buf *raw,
                         const char *want)
{
	const char *mt = entry ? json_string_value(json_object_get(entry, "mediaType")) : NULL;
	bool oom = false;
	*type = mt && *mt ? rs__strdup(mt) : sniff_media_type(raw->ptr, raw->size, &oom);
	if (!*type && (oom || (mt && *mt)))
		return rs__oom();
	if (!*type)
		return rs__error_set(RS_EFORMAT, "%s: manifest %s has no media type", l->name,
		                     want);
	return 0;
}

static int layout_manifest_get(rs_store *s, const char *reference, rs_buf *body, char **media_type,
                               char **digest)
{
	oci_layout *l = (oci_layout *)s;
	json_t *entry = NULL;
	rs_buf raw = RS_BUF_INIT;
	const char *want;
	char *type = NULL;
	int error;
	if ((error = select_entry(&entry, l, reference)) < 0)
		goto done;
	want = entry ? rs__ol_entry_digest(entry) : reference;
	if (!want || !rs__digest_valid(want)) {
		error = rs__error_set(RS_EFORMAT, "%s: index.json entry with invalid digest \"%s\"",
		                      l->name, want ? want : "");
		goto done;
	}
	if ((error = read_manifest(&raw, l, entry, want)) < 0 ||
	    (error = manifest_type(&type, l, entry, &raw, want)) < 0)
		goto done;
	rs__buf_clear(body);
	rs__buf_put(body, raw.ptr ? raw.ptr : "", raw.size);
	if (rs__buf_oom(body) || (digest && !(*digest = rs__strdup(want)))) {
		error = rs__oom();
		goto done;
	}
	if (media_type) {
		*media_type = type;
		type = NULL;
	}
done:
	free(type);
	rs_buf_dispose(&raw);
	return error;
}

/* Records the children an index names (they need no index.json entry of their own). 0 or
 * RS_ENOMEM. */
static int note_children(oci_layout *l, const void *body, size_t len)
{
	json_error_t jerr;
	json_t *j = json_loadb(body ? body : "", len, 0, &jerr);
	json_t *m = json_object_get(j, "manifests");
	if (!j && rs__json_oom(&jerr))
		return rs__oom();
	for (size_t i = 0; i < json_array_size(m); i++) {
		const char *d = json_string_value(json_object_get(json_array_get(m, i), "digest"));
		if (d) {
			if (json_object_set_new(l->children, d, json_true()) < 0) {
				json_decref(j);
				return rs__oom();
			}
			json_object_del(l->loose, d);
		}
	}
	json_decref(j);
	return 0;
}

static int layout_manifest_put(rs_store *s, const char *reference, const void *body, size_t len,
                               const char *media_type)
{
	oci_layout *l = (oci_layout *)s;
	char digest[RS_DIGEST_MAX];
	char *mt = NULL;
	bool by_digest = reference && is_digest_ref(reference);
	json_t *desc;
	bool oom = false;
	int error;
	if ((error = rs__ol_check_writable(l)) < 0)
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
	mt = media_type && *media_type ? rs__strdup(media_type) : sniff_media_type(body, len, &oom);
	if (!mt && (oom || (media_type && *media_type)))
		return rs__oom();
	if (!mt) {
		error = rs__error_set(RS_EINVAL, "manifest %s: unknown media type", digest);
		goto done;
	}
	if ((error = rs__ol_blob_put_bytes(l, digest, body ? body : "", len)) < 0)
		goto done;
	desc = json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", digest, "size",
	                 (json_int_t)len);
	if (!desc) { /* the media type was checked as a string: only memory fails here */
		error = rs__utf8_valid(mt)
		                ? rs__oom()
		                : rs__error_set(RS_EINVAL, "manifest %s: media type is not UTF-8",
		                                digest);
		goto done;
	}
	/* a digest reference is a child of an index (blob only), unless it is an index itself or
	 * no index put here names it: commit decides */
	if (by_digest && !is_index_media_type(mt)) {
		if (json_object_set_new(l->loose, digest, desc) < 0)
			error = rs__oom();
		goto done;
	}
	if (!by_digest)
		json_object_del(l->loose, digest);
	if (is_index_media_type(mt) && (error = note_children(l, body, len)) < 0) {
		json_decref(desc);
		goto done;
	}
	if (reference && !by_digest &&
	    json_object_set_new(desc, "annotations", json_pack("{s:s}", REF_NAME, reference)) < 0) {
		json_decref(desc);
		error = rs__oom(); /* the tag was checked: printable ASCII */
		goto done;
	}
	error = rs__ol_journal_add(l, json_pack("{s:s, s:o}", "op", "set", "desc", desc));
done:
	free(mt);
	return error;
}

/* Untags: removes the index.json entries for digest; the blob stays. */
static int layout_manifest_delete(rs_store *s, const char *digest)
{
	oci_layout *l = (oci_layout *)s;
	int error;
	if ((error = rs__ol_check_writable(l)) < 0 || (error = rs__digest_check(digest)) < 0)
		return error;
	if (!find_entry(l->index, digest, true))
		return rs__error_set(RS_ENOTFOUND, "manifest %s is not in the index of %s", digest,
		                     l->name);
	return rs__ol_journal_add(l, json_pack("{s:s, s:s}", "op", "delete", "digest", digest));
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int layout_tag_list(rs_store *s, int (*cb)(const char *tag, void *payload), void *payload)
{
	oci_layout *l = (oci_layout *)s;
	json_t *m = rs__ol_index_manifests(l->index);
	rs_strlist tags = RS_STRLIST_INIT;
	int error = 0;
	for (size_t i = 0; i < json_array_size(m); i++) {
		const char *t = rs__ol_entry_tag(json_array_get(m, i));
		if (t && !rs__strlist_contains(&tags, t) && rs__strlist_push(&tags, t) < 0) {
			rs__strlist_dispose(&tags);
			return RS_ENOMEM;
		}
	}
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
        .blob_exists = rs__ol_blob_exists,
        .blob_open = rs__ol_blob_open,
        .blob_put = rs__ol_blob_put,
        .blob_mount = NULL,
        .tag_list = layout_tag_list,
        .commit = rs__ol_commit,
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
	char *path = rs__ol_path_join(l->dir, "oci-layout");
	json_t *j = NULL;
	json_error_t jerr;
	const char *v;
	int error;
	if (!path)
		return rs__oom();
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
	char *layout = rs__ol_path_join(l->dir, "oci-layout");
	char *index = rs__ol_path_join(l->dir, "index.json");
	struct stat st;
	int fd = -1, error;
	if (!layout || !index) {
		error = rs__oom();
		goto done;
	}
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

int rs__oci_layout_digests(rs_store *s, rs_strlist *out)
{
	json_t *m;
	if (!s || s->ops != &layout_ops)
		return rs__error_set(RS_EUNSUPPORTED, "not an OCI layout");
	m = rs__ol_index_manifests(((oci_layout *)s)->index);
	for (size_t i = 0; i < json_array_size(m); i++) {
		const char *d = rs__ol_entry_digest(json_array_get(m, i));
		if (d && !rs__strlist_contains(out, d))
			rs__strlist_push(out, d);
	}
	return 0;
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
	if (!(l = rs__calloc(1, sizeof(*l))))
		return rs__oom();
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
	if (!l->dir || !l->name || !l->journal || !l->loose || !l->children) {
		error = rs__oom();
		goto done;
	}
	/* the directory the user named may be a link; nothing inside it is followed (writer) */
	if ((l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && errno == ENOENT &&
	    write) {
		if ((error = rs__mkdir_p(dir, 0755)) < 0)
			goto done;
		l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (l->dirfd < 0) {
		if (errno == ENOENT)
			error = rs__error_set(RS_EINVAL, "oci layout %s: no such directory", dir);
		else if (errno == ENOTDIR)
			error = rs__error_set(RS_EINVAL, "oci layout %s: not a directory", dir);
		else
			error = rs__error_set(RS_EIO, "cannot access %s: %s", dir, strerror(errno));
		goto done;
	}
	if ((error = rs__ol_lock(l, write)) == 0) {
		locked = true;
	} else if (write) {
		goto done;
	} else {
		rs_error_clear(); /* a reader without locks (say, on NFS) reads as before */
		error = 0;
	}
	if ((error = layout_prepare(l, write)) < 0 ||
	    (error = rs__ol_index_load(&l->index, l, write)) < 0)
		goto done;
	*out = &l->parent;
	l = NULL;
	error = 0;
done:
	if (l) {
		if (locked)
			rs__ol_unlock(l);
		layout_free(&l->parent);
	} else if (locked) {
		rs__ol_unlock((oci_layout *)*out);
	}
	return error;
}

int rs_store_open_oci_layout(rs_store **out, const char *dir, unsigned int flags)
{
	return rs__oci_layout_open(out, dir, flags, NULL);
}
