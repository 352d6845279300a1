/*
 * The docker-archive store: `docker save` tarballs, read and written.
 *
 * Reading indexes the tar sequentially with libarchive (a first pass over entry names and sizes
 * that also reads manifest.json; a second that reads the configs and peeks at the first bytes
 * of every layer); blob_open re-opens the archive and streams the one entry it needs, as
 * regclient does. manifest_get synthesises the manifest a push sends: layers stored plain in
 * the archive are compressed (in parallel, into temporary files) while their diff_id is checked
 * against the config; layers already compressed pass through unchanged. A compression cache
 * remembers (diff_id, algorithm, level) -> (digest, size) so that a second push of the same
 * archive compresses nothing up front.
 *
 * Writing decompresses incoming layers into <tmpdir>/<diffid-hex>.tar and, at commit, writes
 * a legacy docker-save tar (manifest.json, repositories, <config-hex>.json,
 * <diffid-hex>/{layer.tar,VERSION,json}) next to FILE and renames it over FILE.
 */
#include "store/docker_archive.h"
#include "regship/ref.h"
#include "regship/store.h"
#include "store/compress.h"
#include "store/store.h"
#include "store/tarwrite.h"
#include "util/digest.h"
#include "util/file.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#define DA_BUFSIZE (64 * 1024)
#define DA_JSON_MAX (8 * 1024 * 1024)
#define DA_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"

/* ---- the store's tables ------------------------------------------------------------------ */

typedef struct {
	char *name; /* normalised: no leading "./", no trailing "/" */
	int64_t size;
	const char *kind; /* NULL for a regular file, else "symbolic link", "hard link", ... */
	char *link; /* a link's target, as stored, or NULL */
} da_entry;

/* A layer of an archive being read. */
typedef struct {
	char *path; /* entry in the archive */
	char diff_id[RS_DIGEST_MAX];
	int64_t entry_size;
	rs__compression src; /* as stored in the archive */
	/* once prepared (manifest_get) */
	bool prepared, cache_hit;
	rs__compression out; /* as handed out */
	char digest[RS_DIGEST_MAX];
	int64_t size;
	char *tmp; /* compressed copy, or NULL: stream the entry (or compress it on demand) */
} da_layer;

/* A blob received by a store being written. */
typedef struct {
	char digest[RS_DIGEST_MAX]; /* as received */
	char diff_id[RS_DIGEST_MAX]; /* layers: digest of the uncompressed tar */
	int64_t size; /* as received */
	bool is_layer;
	char *path; /* in the temporary directory: the uncompressed tar, or the bytes as is */
	int64_t file_size;
} da_blob;

typedef struct {
	char *config_path; /* reading: entry name */
	rs_buf config; /* reading: the bytes */
	char config_digest[RS_DIGEST_MAX];
	rs_strlist tags; /* normalised full references */
	size_t *layers; /* indices in layers (reading) or blobs (writing) */
	size_t nlayers;
	rs_buf manifest; /* synthesised (reading) or received (writing); empty until then */
	char *manifest_mt;
	char manifest_digest[RS_DIGEST_MAX];
} da_image;

typedef struct {
	rs_store parent;
	char *file;
	rs__dest dest; /* writing: where the archive goes */
	bool writing, committed;
	rs__compression comp;
	int level;
	unsigned int jobs;
	rs_manifest_format format;
	char *tmp_parent;
	char *tmpdir; /* created on first need */
	char *cache_dir; /* NULL: no cache */

	da_entry *entries; /* reading: sorted by name */
	size_t nentries;
	da_layer *layers;
	size_t nlayers;
	da_image *images;
	size_t nimages;
	da_blob *blobs; /* writing */
	size_t nblobs;

	pthread_mutex_t lock; /* writing: blobs and tmpdir (blob_put may run in parallel) */
	atomic_uint compressions;
} da_store;

static const rs_store_ops da_ops;

/* ---- small helpers ----------------------------------------------------------------------- */

static const char *digest_hex(const char *digest)
{
	const char *colon = strchr(digest, ':');
	return colon ? colon + 1 : digest;
}

static int ensure_tmpdir(da_store *s)
{
	rs_buf b = RS_BUF_INIT;
	if (s->tmpdir)
		return 0;
	rs__buf_printf(&b, "%s/regship-docker-archive-XXXXXX", s->tmp_parent);
	if (!mkdtemp(b.ptr)) {
		int error = rs__error_set(RS_EIO, "cannot create a temporary directory in %s: %s",
		                          s->tmp_parent, strerror(errno));
		rs_buf_dispose(&b);
		return error;
	}
	s->tmpdir = rs__buf_detach(&b);
	return 0;
}

static void remove_tmpdir(da_store *s)
{
	DIR *d;
	struct dirent *de;
	if (!s->tmpdir)
		return;
	/* a flat directory made by mkdtemp: everything in it is ours */
	if ((d = opendir(s->tmpdir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			rs_buf p = RS_BUF_INIT;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			rs__buf_printf(&p, "%s/%s", s->tmpdir, de->d_name);
			unlink(p.ptr);
			rs_buf_dispose(&p);
		}
		closedir(d);
	}
	rmdir(s->tmpdir);
	free(s->tmpdir);
	s->tmpdir = NULL;
}

static int write_all(int fd, const void *data, size_t len, const char *path)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return rs__error_set(RS_EIO, "cannot write %s: %s", path, strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A reference as a normalised full reference ("docker.io/library/ubuntu:latest"). */
static int normalise_ref(char **out, const char *text)
{
	rs_ref *ref = NULL;
	int error;
	if ((error = rs_ref_parse(&ref, text, RS_REF_ANY)) < 0)
		return error;
	*out = rs_ref_format(ref);
	rs_ref_free(ref);
	return 0;
}

static int json_error(const char *file, const char *what, const json_error_t *jerr)
{
	return rs__error_set(RS_EFORMAT, "%s: %s: malformed JSON: %s (line %d)", file, what,
	                     jerr->text, jerr->line);
}

/* ---- archive access ---------------------------------------------------------------------- */

static int archive_open(struct archive **out, const char *file)
{
	struct archive *a = archive_read_new();
	struct stat st;
	int fd;
	if (!a)
		return rs__error_set(RS_ENOMEM, "cannot create an archive reader");
	/* a docker save output may have been compressed as a whole */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	/* O_NONBLOCK: a FIFO is refused below instead of waiting for a writer */
	if ((fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		int e = errno;
		archive_read_free(a);
		if (e == ENOENT)
			return rs__error_set(RS_ENOTFOUND, "%s: no such file", file);
		return rs__error_set(RS_EIO, "cannot open %s: %s", file, strerror(e));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int error =
		        fstat(fd, &st) < 0
		                ? rs__error_set(RS_EIO, "cannot use %s: %s", file, strerror(errno))
		        : S_ISDIR(st.st_mode)
		                ? rs__error_set(RS_EINVAL,
		                                "%s is a directory, not a docker archive (oci:%s "
		                                "names an OCI layout directory)",
		                                file, file)
		                : rs__error_set(RS_EINVAL,
		                                "%s is not a regular file (a FIFO, device or "
		                                "socket is not read as a docker archive)",
		                                file);
		close(fd);
		archive_read_free(a);
		return error;
	}
	close(fd);
	if (archive_read_open_filename(a, file, DA_BUFSIZE) != ARCHIVE_OK) {
		int error = rs__error_set(RS_EFORMAT, "%s: not a tar archive: %s", file,
		                          archive_error_string(a));
		archive_read_free(a);
		return error;
	}
	*out = a;
	return 0;
}

/* The entry name without "./" prefixes and trailing "/"; hostile names are refused. */
static int entry_name(char **out, const char *file, const char *raw)
{
	const char *p = raw, *c;
	size_t len;
	if (!raw)
		return rs__error_set(RS_EFORMAT, "%s: an archive entry has no name", file);
	if (raw[0] == '/')
		return rs__error_set(RS_EFORMAT, "%s: archive entry \"%s\" has an absolute path",
		                     file, raw);
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	len = strlen(p);
	while (len && p[len - 1] == '/')
		len--;
	for (c = p; c < p + len;) {
		const char *slash = memchr(c, '/', (size_t)(p + len - c));
		size_t clen = slash ? (size_t)(slash - c) : (size_t)(p + len - c);
		if (clen == 2 && c[0] == '.' && c[1] == '.')
			return rs__error_set(RS_EFORMAT,
			                     "%s: archive entry \"%s\" leaves the archive (\"..\")",
			                     file, raw);
		c += clen + 1;
	}
	if (len == 1 && p[0] == '.')
		len = 0;
	*out = rs__strndup(p, len);
	return 0;
}

static const char *entry_kind(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return "hard link";
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return NULL;
	case AE_IFLNK:
		return "symbolic link";
	case AE_IFDIR:
		return "directory";
	default:
		return "special file";
	}
}

static int archive_fail(struct archive *a, const char *file)
{
	return rs__error_set(RS_EFORMAT, "%s: cannot read the archive: %s", file,
	                     archive_error_string(a) ? archive_error_string(a) : "read error");
}

/* Read the whole current entry (at most max bytes) into out. */
static int read_entry_data(rs_buf *out, struct archive *a, const char *file, const char *name,
                           int64_t size, size_t max)
{
	char chunk[16384];
	la_ssize_t n;
	if (size < 0 || (uint64_t)size > max)
		return rs__error_set(RS_EFORMAT, "%s: %s is larger than %zu MiB", file, name,
		                     max >> 20);
	while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
		if (out->size + (size_t)n > max)
			return rs__error_set(RS_EFORMAT, "%s: %s is larger than %zu MiB", file,
			                     name, max >> 20);
		rs__buf_put(out, chunk, (size_t)n);
	}
	if (n < 0)
		return archive_fail(a, file);
	return 0;
}

/* Position a fresh archive at the entry name. */
static int archive_seek_entry(struct archive **out, const char *file, const char *name)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	int error, r;
	if ((error = archive_open(&a, file)) < 0)
		return error;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		char *n = NULL;
		bool match;
		if ((error = entry_name(&n, file, archive_entry_pathname(e))) < 0)
			goto fail;
		match = !strcmp(n, name) && !entry_kind(e);
		free(n);
		if (match) {
			*out = a;
			return 0;
		}
		if (archive_read_data_skip(a) < ARCHIVE_WARN) {
			error = archive_fail(a, file);
			goto fail;
		}
	}
	if (r == ARCHIVE_EOF)
		error = rs__error_set(RS_ENOTFOUND, "%s: no entry %s (the archive changed?)", file,
		                      name);
	else
		error = archive_fail(a, file);
fail:
	archive_read_free(a);
	return error;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const da_entry *)a)->name, ((const da_entry *)b)->name);
}

static const da_entry *find_entry(const da_store *s, const char *name)
{
	da_entry key = {(char *)(uintptr_t)name, 0, NULL, NULL};
	if (!s->nentries)
		return NULL;
	return bsearch(&key, s->entries, s->nentries, sizeof(da_entry), entry_cmp);
}

/* ---- opening an archive for reading ------------------------------------------------------ */

/* Pass 1: every entry's name, size and kind; the bytes of manifest.json. */
static int index_archive(da_store *s, rs_buf *manifest, bool *has_manifest)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	size_t alloc = 0;
	int error, r;
	*has_manifest = false;
	if ((error = archive_open(&a, s->file)) < 0)
		return error;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		char *name = NULL;
		const char *kind = entry_kind(e);
		if ((error = entry_name(&name, s->file, archive_entry_pathname(e))) < 0)
			goto done;
		if (!name[0]) {
			free(name);
		} else {
			if (s->nentries == alloc) {
				alloc = alloc ? alloc * 2 : 64;
				s->entries = rs__realloc(s->entries, alloc * sizeof(da_entry));
			}
			s->entries[s->nentries].name = name;
			s->entries[s->nentries].size = archive_entry_size(e);
			s->entries[s->nentries].kind = kind;
			s->entries[s->nentries].link = NULL;
			if (archive_entry_symlink(e))
				s->entries[s->nentries].link = rs__strdup(archive_entry_symlink(e));
			else if (archive_entry_hardlink(e))
				s->entries[s->nentries].link =
				        rs__strdup(archive_entry_hardlink(e));
			s->nentries++;
			if (!strcmp(name, "manifest.json")) {
				if (kind) {
					error = rs__error_set(
					        RS_EFORMAT, "%s: manifest.json is a %s, not a file",
					        s->file, kind);
					goto done;
				}
				*has_manifest = true;
				rs__buf_clear(manifest);
				if ((error = read_entry_data(manifest, a, s->file, name,
				                             archive_entry_size(e), DA_JSON_MAX)) <
				    0)
					goto done;
				continue;
			}
		}
		if (archive_read_data_skip(a) < ARCHIVE_WARN) {
			error = archive_fail(a, s->file);
			goto done;
		}
	}
	if (r != ARCHIVE_EOF) {
		error = archive_fail(a, s->file);
		goto done;
	}
	if (s->nentries)
		qsort(s->entries, s->nentries, sizeof(da_entry), entry_cmp);
	for (size_t i = 1; i < s->nentries; i++) {
		if (!strcmp(s->entries[i - 1].name, s->entries[i].name) &&
		    !(s->entries[i].kind && !strcmp(s->entries[i].kind, "directory"))) {
			error = rs__error_set(RS_EFORMAT, "%s: archive entry %s appears twice",
			                      s->file, s->entries[i].name);
			goto done;
		}
	}
done:
	archive_read_free(a);
	return error;
}

/*
 * Where a link entry points, as an entry name: a symbolic link's target is relative to the
 * link's directory, a hard link's to the archive's root. NULL when it leaves the archive.
 */
static char *link_target(const da_entry *e)
{
	rs_strlist parts = RS_STRLIST_INIT;
	rs_buf joined = RS_BUF_INIT, out = RS_BUF_INIT;
	bool hard = !strcmp(e->kind, "hard link");
	char *save = NULL, *result = NULL;
	if (!e->link[0] || e->link[0] == '/')
		return NULL;
	if (!hard && strrchr(e->name, '/'))
		rs__buf_put(&joined, e->name, (size_t)(strrchr(e->name, '/') - e->name) + 1);
	rs__buf_puts(&joined, e->link);
	for (char *c = strtok_r(joined.ptr, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (!parts.count)
				goto done; /* above the archive's root */
			free(parts.items[--parts.count]);
			continue;
		}
		rs__strlist_push(&parts, c);
	}
	for (size_t i = 0; i < parts.count; i++)
		rs__buf_printf(&out, "%s%s", i ? "/" : "", parts.items[i]);
	if (out.size)
		result = rs__buf_detach(&out);
done:
	rs__strlist_dispose(&parts);
	rs_buf_dispose(&joined);
	rs_buf_dispose(&out);
	return result;
}

/*
 * A regular-file entry named by manifest.json, or an error naming the problem. Links inside the
 * archive are followed (docker save links a layer that repeats to its first copy); a link
 * that leaves the archive, or a chain that never ends at a file, is refused.
 */
static int referenced_entry(const da_entry **out, da_store *s, const char *what, const char *name)
{
	const da_entry *e = find_entry(s, name);
	if (!e)
		return rs__error_set(
		        RS_EFORMAT,
		        "%s: manifest.json names %s \"%s\", which is not in the archive", s->file,
		        what, name);
	for (int hops = 0; e->kind && e->link; hops++) {
		char *target = link_target(e);
		const da_entry *next;
		if (!target)
			return rs__error_set(RS_EFORMAT,
			                     "%s: %s \"%s\" is a %s to \"%s\", outside the archive",
			                     s->file, what, name, e->kind, e->link);
		next = hops < 8 ? find_entry(s, target) : NULL;
		if (!next) {
			int error =
			        rs__error_set(RS_EFORMAT,
			                      "%s: %s \"%s\" is a %s to \"%s\", which is not in "
			                      "the archive",
			                      s->file, what, name, e->kind, target);
			free(target);
			return error;
		}
		free(target);
		e = next;
	}
	if (e->kind)
		return rs__error_set(RS_EFORMAT, "%s: %s \"%s\" is a %s, not a file", s->file, what,
		                     name, e->kind);
	*out = e;
	return 0;
}

static size_t add_layer(da_store *s, const char *path, const char *diff_id, int64_t size)
{
	for (size_t i = 0; i < s->nlayers; i++)
		if (!strcmp(s->layers[i].diff_id, diff_id))
			return i;
	s->layers = rs__realloc(s->layers, (s->nlayers + 1) * sizeof(da_layer));
	memset(&s->layers[s->nlayers], 0, sizeof(da_layer));
	s->layers[s->nlayers].path = rs__strdup(path);
	snprintf(s->layers[s->nlayers].diff_id, RS_DIGEST_MAX, "%s", diff_id);
	s->layers[s->nlayers].entry_size = size;
	return s->nlayers++;
}

/* manifest.json: images, their tags and entry names (layers are matched to diff_ids later). */
static int parse_manifest_json(da_store *s, const rs_buf *bytes, rs_strlist *layer_paths,
                               size_t **layer_counts)
{
	json_error_t jerr;
	json_t *root = json_loadb(bytes->ptr ? bytes->ptr : "", bytes->size, 0, &jerr);
	size_t i;
	int error = 0;
	if (!root)
		return json_error(s->file, "manifest.json", &jerr);
	if (!json_is_array(root) || json_array_size(root) == 0) {
		error = rs__error_set(RS_EFORMAT, "%s: manifest.json is not a non-empty array",
		                      s->file);
		goto done;
	}
	s->nimages = json_array_size(root);
	s->images = rs__calloc(s->nimages, sizeof(da_image));
	*layer_counts = rs__calloc(s->nimages, sizeof(size_t));
	for (i = 0; i < s->nimages; i++) {
		json_t *img = json_array_get(root, i), *cfg, *tags, *layers, *v;
		da_image *im = &s->images[i];
		const da_entry *e;
		size_t j;
		cfg = json_object_get(img, "Config");
		tags = json_object_get(img, "RepoTags");
		layers = json_object_get(img, "Layers");
		if (!json_is_object(img) || !json_is_string(cfg) || !json_is_array(layers) ||
		    (tags && !json_is_null(tags) && !json_is_array(tags))) {
			error = rs__error_set(
			        RS_EFORMAT,
			        "%s: manifest.json image %zu: expected an object with "
			        "Config, Layers and RepoTags",
			        s->file, i);
			goto done;
		}
		if ((error = referenced_entry(&e, s, "config", json_string_value(cfg))) < 0)
			goto done;
		im->config_path = rs__strdup(e->name);
		json_array_foreach(tags, j, v)
		{
			char *norm = NULL;
			if (!json_is_string(v) || normalise_ref(&norm, json_string_value(v)) < 0) {
				error = rs__error_set(
				        RS_EFORMAT,
				        "%s: manifest.json image %zu: invalid RepoTag %s", s->file,
				        i, json_is_string(v) ? json_string_value(v) : "");
				goto done;
			}
			if (rs__strlist_contains(&im->tags, norm))
				free(norm);
			else
				rs__strlist_push_owned(&im->tags, norm);
		}
		json_array_foreach(layers, j, v)
		{
			if (!json_is_string(v)) {
				error = rs__error_set(
				        RS_EFORMAT,
				        "%s: manifest.json image %zu: layer %zu is not "
				        "a string",
				        s->file, i, j);
				goto done;
			}
			if ((error = referenced_entry(&e, s, "layer", json_string_value(v))) < 0)
				goto done;
			rs__strlist_push(layer_paths, e->name);
		}
		(*layer_counts)[i] = json_array_size(layers);
	}
done:
	json_decref(root);
	return error;
}

static bool is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Pass 2: read configs, peek at the first bytes of each layer. */
static int read_configs_and_peek(da_store *s, const rs_strlist *layer_paths,
                                 rs__compression *layer_comp)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	int error, r;
	if ((error = archive_open(&a, s->file)) < 0)
		return error;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		char *name = NULL;
		da_image *first = NULL;
		if ((error = entry_name(&name, s->file, archive_entry_pathname(e))) < 0)
			goto done;
		if (entry_kind(e)) {
			free(name);
			goto skip;
		}
		for (size_t i = 0; i < s->nimages; i++) {
			if (strcmp(s->images[i].config_path, name))
				continue;
			if (!first) {
				first = &s->images[i];
				error = read_entry_data(&first->config, a, s->file, name,
				                        archive_entry_size(e), DA_JSON_MAX);
				if (error < 0) {
					free(name);
					goto done;
				}
			} else {
				rs__buf_put(&s->images[i].config, first->config.ptr,
				            first->config.size);
			}
		}
		if (!first) {
			for (size_t i = 0; i < layer_paths->count; i++) {
				unsigned char magic[RS__COMP_MAGIC_MAX];
				size_t got = 0;
				la_ssize_t n;
				if (strcmp(layer_paths->items[i], name))
					continue;
				while (got < sizeof(magic) &&
				       (n = archive_read_data(a, magic + got,
				                              sizeof(magic) - got)) > 0)
					got += (size_t)n;
				for (size_t j = i; j < layer_paths->count; j++)
					if (!strcmp(layer_paths->items[j], name))
						layer_comp[j] = rs__compress_detect(magic, got);
				break;
			}
		}
		free(name);
	skip:
		if (archive_read_data_skip(a) < ARCHIVE_WARN) {
			error = archive_fail(a, s->file);
			goto done;
		}
	}
	if (r != ARCHIVE_EOF)
		error = archive_fail(a, s->file);
done:
	archive_read_free(a);
	return error;
}

/* Digest, name check and diff_ids of each config; the layer table. */
static int check_images(da_store *s, const rs_strlist *layer_paths, const size_t *layer_counts,
                        const rs__compression *layer_comp)
{
	size_t next = 0;
	int error = 0;
	for (size_t i = 0; i < s->nimages; i++) {
		da_image *im = &s->images[i];
		const char *base = strrchr(im->config_path, '/');
		json_error_t jerr;
		json_t *cfg = NULL, *ids;
		size_t blen;
		rs__sha256_digest(im->config_digest, im->config.ptr ? im->config.ptr : "",
		                  im->config.size);
		/* <hex>.json (legacy) or blobs/sha256/<hex> (OCI-in-tar) name the digest */
		base = base ? base + 1 : im->config_path;
		blen = strlen(base);
		if (blen > 5 && !strcmp(base + blen - 5, ".json"))
			blen -= 5;
		if (is_hex64(base, blen) && strncmp(base, im->config_digest + 7, 64)) {
			error = rs__error_set(RS_EDIGEST,
			                      "%s: config %s: its content has digest %s, its name "
			                      "says sha256:%.64s",
			                      s->file, im->config_path, im->config_digest, base);
			goto done;
		}
		cfg = json_loadb(im->config.ptr ? im->config.ptr : "", im->config.size, 0, &jerr);
		if (!cfg) {
			error = json_error(s->file, im->config_path, &jerr);
			goto done;
		}
		ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
		if (!json_is_array(ids) || json_array_size(ids) != layer_counts[i]) {
			error = rs__error_set(RS_EFORMAT,
			                      "%s: config %s lists %zu diff_ids, manifest.json %zu "
			                      "layers",
			                      s->file, im->config_path,
			                      json_is_array(ids) ? json_array_size(ids) : 0,
			                      layer_counts[i]);
			json_decref(cfg);
			goto done;
		}
		im->nlayers = layer_counts[i];
		im->layers = rs__calloc(im->nlayers ? im->nlayers : 1, sizeof(size_t));
		for (size_t j = 0; j < im->nlayers; j++, next++) {
			const char *id = json_string_value(json_array_get(ids, j));
			const da_entry *e = find_entry(s, layer_paths->items[next]);
			size_t li;
			if (!rs__digest_valid(id)) {
				error = rs__error_set(RS_EFORMAT,
				                      "%s: config %s: invalid diff_id %s", s->file,
				                      im->config_path, id ? id : "");
				json_decref(cfg);
				goto done;
			}
			li = add_layer(s, e->name, id, e->size);
			s->layers[li].src = layer_comp[next];
			im->layers[j] = li;
			if (layer_comp[next] == RS__COMP_BZIP2 || layer_comp[next] == RS__COMP_XZ) {
				error = rs__error_set(RS_EUNSUPPORTED,
				                      "%s: layer %s is %s-compressed (unsupported)",
				                      s->file, e->name,
				                      rs__compress_name(layer_comp[next]));
				json_decref(cfg);
				goto done;
			}
		}
		json_decref(cfg);
	}
done:
	return error;
}

static int open_for_reading(da_store *s)
{
	rs_buf manifest = RS_BUF_INIT;
	rs_strlist layer_paths = RS_STRLIST_INIT;
	size_t *layer_counts = NULL;
	rs__compression *layer_comp = NULL;
	bool has_manifest;
	int error;
	if ((error = index_archive(s, &manifest, &has_manifest)) < 0)
		goto done;
	if (!has_manifest) {
		error = rs__error_set(RS_EFORMAT,
		                      "%s: no manifest.json: not a docker-save archive%s", s->file,
		                      find_entry(s, "index.json")
		                              ? " (it looks like an OCI archive: use oci-archive:)"
		                              : "");
		goto done;
	}
	if ((error = parse_manifest_json(s, &manifest, &layer_paths, &layer_counts)) < 0)
		goto done;
	layer_comp = rs__calloc(layer_paths.count ? layer_paths.count : 1, sizeof(*layer_comp));
	if ((error = read_configs_and_peek(s, &layer_paths, layer_comp)) < 0 ||
	    (error = check_images(s, &layer_paths, layer_counts, layer_comp)) < 0)
		goto done;
done:
	rs_buf_dispose(&manifest);
	rs__strlist_dispose(&layer_paths);
	free(layer_counts);
	free(layer_comp);
	return error;
}

/* ---- preparing layers (compression, hashing, diff_id check) ------------------------------ */

typedef struct {
	int fd;
	const char *path;
	rs__hasher *hc;
	int64_t size;
	int64_t limit; /* more output than this is refused (-1: none) */
	const char *what;
} file_sink;

static int to_file(const void *data, size_t len, void *payload)
{
	file_sink *f = payload;
	int error;
	if ((error = rs__cancel_check()) < 0)
		return error;
	rs__hasher_update(f->hc, data, len);
	f->size += (int64_t)len;
	if (f->limit >= 0 && f->size > f->limit)
		return rs__error_set(RS_ETOOBIG,
		                     "%s: compressing it gave more than %" PRId64
		                     " bytes, beyond what its size allows; refused",
		                     f->what, f->limit);
	return write_all(f->fd, data, len, f->path);
}

/* The most a compressor may produce from n bytes (gzip and zstd add well under 1% to data
 * that does not compress, plus their headers). */
static int64_t compress_bound(int64_t n)
{
	return n + n / 64 + 64 * 1024;
}

static int to_hasher(const void *data, size_t len, void *payload)
{
	rs__hasher_update(payload, data, len);
	return 0;
}

static rs__compression layer_out(const da_store *s, const da_layer *l)
{
	return l->src != RS__COMP_NONE ? l->src : s->comp;
}

/* Read a layer entry once: compress it into a temporary file (plain layers), or hash it and
 * check its diff_id (layers handed out as they are). Runs in a worker thread. */
static int prepare_layer(da_store *s, da_layer *l)
{
	struct archive *a = NULL;
	rs__hasher *hu = NULL, *hc = NULL;
	rs__compressor *z = NULL;
	rs__decompressor *dz = NULL;
	file_sink sink = {-1, NULL, NULL, 0, -1, NULL};
	rs_buf tmp = RS_BUF_INIT, what = RS_BUF_INIT;
	char diff_id[RS_DIGEST_MAX];
	unsigned char *buf = rs__malloc(DA_BUFSIZE);
	int64_t total = 0;
	la_ssize_t n;
	int error;
	l->out = layer_out(s, l);
	if ((error = archive_seek_entry(&a, s->file, l->path)) < 0 ||
	    (error = rs__hasher_new(&hu, "sha256")) < 0 ||
	    (error = rs__hasher_new(&hc, "sha256")) < 0)
		goto done;
	if (l->src == RS__COMP_NONE && l->out != RS__COMP_NONE) {
		rs__buf_printf(&tmp, "%s/%s.%s-XXXXXX", s->tmpdir, digest_hex(l->diff_id),
		               rs__compress_name(l->out));
		if ((sink.fd = mkstemp(tmp.ptr)) < 0) {
			error = rs__error_set(RS_EIO, "cannot create a temporary file in %s: %s",
			                      s->tmpdir, strerror(errno));
			goto done;
		}
		sink.path = tmp.ptr;
		sink.hc = hc;
		sink.limit = compress_bound(l->entry_size);
		rs__buf_printf(&what, "%s: layer %s", s->file, l->path);
		sink.what = what.ptr;
		if ((error = rs__compressor_new(&z, l->out, s->level, to_file, &sink)) < 0)
			goto done;
		atomic_fetch_add(&s->compressions, 1);
	} else if (l->src != RS__COMP_NONE) {
		if ((error = rs__decompressor_new(&dz, l->src, to_hasher, hu)) < 0)
			goto done;
	}
	while ((n = archive_read_data(a, buf, DA_BUFSIZE)) > 0) {
		total += n;
		if ((error = rs__cancel_check()) < 0)
			goto done;
		if (z) {
			rs__hasher_update(hu, buf, (size_t)n);
			error = rs__compressor_write(z, buf, (size_t)n);
		} else if (dz) {
			rs__hasher_update(hc, buf, (size_t)n);
			error = rs__decompressor_write(dz, buf, (size_t)n);
		} else {
			rs__hasher_update(hu, buf, (size_t)n);
		}
		if (error < 0) {
			if (error != RS_EUSER && error != RS_ETOOBIG)
				rs__error_prefix("%s: layer %s", s->file, l->path);
			goto done;
		}
	}
	if (n < 0) {
		error = archive_fail(a, s->file);
		goto done;
	}
	if ((z && (error = rs__compressor_finish(z)) < 0) ||
	    (dz && (error = rs__decompressor_finish(dz)) < 0)) {
		rs__error_prefix("%s: layer %s", s->file, l->path);
		goto done;
	}
	rs__hasher_final(hu, diff_id);
	if (strcmp(diff_id, l->diff_id)) {
		error = rs__error_set(RS_EDIGEST,
		                      "%s: layer %s: diff_id mismatch: the config says %s, the "
		                      "content is %s",
		                      s->file, l->path, l->diff_id, diff_id);
		goto done;
	}
	if (z) {
		rs__hasher_final(hc, l->digest);
		l->size = sink.size;
		if (close(sink.fd) < 0) {
			sink.fd = -1;
			error = rs__error_set(RS_EIO, "cannot write %s: %s", tmp.ptr,
			                      strerror(errno));
			goto done;
		}
		sink.fd = -1;
		l->tmp = rs__buf_detach(&tmp);
		if (s->cache_dir)
			rs__compress_cache_put(s->cache_dir, l->diff_id, l->out, s->level,
			                       l->digest, l->size);
	} else if (dz) {
		rs__hasher_final(hc, l->digest);
		l->size = total;
	} else {
		memcpy(l->digest, diff_id, sizeof(diff_id));
		l->size = total;
	}
	l->prepared = true;
done:
	if (sink.fd >= 0)
		close(sink.fd);
	if (tmp.ptr && error < 0)
		unlink(tmp.ptr);
	rs_buf_dispose(&tmp);
	rs_buf_dispose(&what);
	rs__compressor_free(z);
	rs__decompressor_free(dz);
	rs__hasher_free(hu);
	rs__hasher_free(hc);
	if (a)
		archive_read_free(a);
	free(buf);
	return error;
}

typedef struct {
	da_store *s;
	size_t *todo;
	size_t ntodo, next;
	pthread_mutex_t mu;
	bool failed;
	int code;
	char message[sizeof(((rs_error *)0)->message)];
} prep_pool;

static void *prep_worker(void *arg)
{
	prep_pool *p = arg;
	for (;;) {
		size_t i;
		int error;
		pthread_mutex_lock(&p->mu);
		if (p->failed || p->next >= p->ntodo) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		i = p->todo[p->next++];
		pthread_mutex_unlock(&p->mu);
		if ((error = prepare_layer(p->s, &p->s->layers[i])) < 0) {
			const rs_error *e = rs_error_last();
			pthread_mutex_lock(&p->mu);
			if (!p->failed) {
				p->failed = true;
				p->code = error;
				snprintf(p->message, sizeof(p->message), "%s",
				         e ? e->message : rs_strerror(error));
			}
			pthread_mutex_unlock(&p->mu);
		}
	}
	return NULL;
}

static int prepare_layers(da_store *s, const da_image *im)
{
	prep_pool p;
	pthread_t *threads = NULL;
	size_t started = 0, nthreads;
	int error = 0;
	memset(&p, 0, sizeof(p));
	p.s = s;
	p.todo = rs__calloc(im->nlayers ? im->nlayers : 1, sizeof(size_t));
	for (size_t j = 0; j < im->nlayers; j++) {
		da_layer *l = &s->layers[im->layers[j]];
		bool queued = false;
		if (l->prepared)
			continue;
		for (size_t k = 0; k < p.ntodo; k++)
			queued = queued || p.todo[k] == im->layers[j];
		if (queued)
			continue;
		l->out = layer_out(s, l);
		if (l->src == RS__COMP_NONE && l->out != RS__COMP_NONE && s->cache_dir &&
		    rs__compress_cache_get(l->digest, &l->size, s->cache_dir, l->diff_id, l->out,
		                           s->level) == 0) {
			l->prepared = l->cache_hit = true;
			continue;
		}
		p.todo[p.ntodo++] = im->layers[j];
	}
	if (!p.ntodo)
		goto done;
	/* a temporary copy only for the layers compressed here */
	for (size_t k = 0; k < p.ntodo; k++) {
		const da_layer *l = &s->layers[p.todo[k]];
		if (l->src == RS__COMP_NONE && l->out != RS__COMP_NONE) {
			if ((error = ensure_tmpdir(s)) < 0)
				goto done;
			break;
		}
	}
	pthread_mutex_init(&p.mu, NULL);
	nthreads = s->jobs < p.ntodo ? s->jobs : p.ntodo;
	threads = rs__calloc(nthreads, sizeof(pthread_t));
	for (; started < nthreads; started++)
		if (pthread_create(&threads[started], NULL, prep_worker, &p) != 0)
			break;
	if (!started)
		prep_worker(&p); /* no thread could start: do the work here */
	for (size_t t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	pthread_mutex_destroy(&p.mu);
	if (p.failed)
		error = rs__error_set(p.code, "%s", p.message);
done:
	free(threads);
	free(p.todo);
	return error;
}

static const char *layer_media_type(const da_store *s, rs__compression c)
{
	bool oci = s->format == RS_MANIFEST_FORMAT_OCI;
	switch (c) {
	case RS__COMP_GZIP:
		return oci ? RS_MT_OCI_LAYER_GZIP : RS_MT_DOCKER_LAYER_GZIP;
	case RS__COMP_ZSTD:
		return RS_MT_OCI_LAYER_ZSTD;
	default:
		return oci ? RS_MT_OCI_LAYER : DA_MT_DOCKER_LAYER;
	}
}

static json_t *descriptor_json(const char *mt, int64_t size, const char *digest)
{
	json_t *d = json_object();
	json_object_set_new(d, "mediaType", json_string(mt));
	json_object_set_new(d, "size", json_integer((json_int_t)size));
	json_object_set_new(d, "digest", json_string(digest));
	return d;
}

static int synthesise_manifest(da_store *s, da_image *im)
{
	bool oci = s->format == RS_MANIFEST_FORMAT_OCI;
	json_t *root, *layers;
	char *text;
	int error;
	if (im->manifest.size)
		return 0;
	if ((error = prepare_layers(s, im)) < 0)
		return error;
	root = json_object();
	layers = json_array();
	json_object_set_new(root, "schemaVersion", json_integer(2));
	json_object_set_new(root, "mediaType",
	                    json_string(oci ? RS_MT_OCI_MANIFEST : RS_MT_DOCKER_MANIFEST));
	json_object_set_new(root, "config",
	                    descriptor_json(oci ? RS_MT_OCI_CONFIG : RS_MT_DOCKER_CONFIG,
	                                    (int64_t)im->config.size, im->config_digest));
	for (size_t j = 0; j < im->nlayers; j++) {
		const da_layer *l = &s->layers[im->layers[j]];
		json_array_append_new(
		        layers, descriptor_json(layer_media_type(s, l->out), l->size, l->digest));
	}
	json_object_set_new(root, "layers", layers);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		return rs__error_set(RS_ENOMEM, "cannot serialise a manifest");
	rs__buf_puts(&im->manifest, text);
	free(text);
	im->manifest_mt = rs__strdup(oci ? RS_MT_OCI_MANIFEST : RS_MT_DOCKER_MANIFEST);
	rs__sha256_digest(im->manifest_digest, im->manifest.ptr, im->manifest.size);
	return 0;
}

/* ---- selecting an image ------------------------------------------------------------------ */

static void describe_images(rs_buf *b, const da_store *s)
{
	for (size_t i = 0; i < s->nimages; i++) {
		const da_image *im = &s->images[i];
		rs__buf_printf(b, "%s@%zu", i ? ", " : "", i);
		if (im->tags.count)
			rs__buf_printf(b, " %s", im->tags.items[0]);
		for (size_t t = 1; t < im->tags.count; t++)
			rs__buf_printf(b, " %s", im->tags.items[t]);
		if (!im->tags.count)
			rs__buf_puts(b, " (untagged)");
	}
}

static int select_image(da_image **out, da_store *s, const char *reference)
{
	rs_buf list = RS_BUF_INIT;
	char *norm = NULL;
	int error = 0;
	if (!reference || !reference[0]) {
		if (s->nimages == 1) {
			*out = &s->images[0];
			return 0;
		}
		describe_images(&list, s);
		error = rs__error_set(s->nimages ? RS_EINVAL : RS_ENOTFOUND,
		                      "%s holds %zu images (%s): name one by RepoTag or @N",
		                      s->file, s->nimages, rs__buf_cstr(&list));
		goto done;
	}
	if (reference[0] == '@') {
		char *end;
		unsigned long long n;
		errno = 0;
		n = strtoull(reference + 1, &end, 10);
		if (!reference[1] || *end || errno || reference[1] == '-' || reference[1] == '+') {
			error = rs__error_set(RS_EINVAL,
			                      "invalid image index \"%s\": expected @N, N from 0",
			                      reference);
			goto done;
		}
		if (n >= s->nimages) {
			error = rs__error_set(RS_ENOTFOUND, "%s has no image %s (it holds %zu)",
			                      s->file, reference, s->nimages);
			goto done;
		}
		*out = &s->images[n];
		return 0;
	}
	if (rs__digest_valid(reference)) {
		for (size_t i = 0; i < s->nimages; i++) {
			if (!strcmp(s->images[i].manifest_digest, reference) ||
			    !strcmp(s->images[i].config_digest, reference)) {
				*out = &s->images[i];
				return 0;
			}
		}
		error = rs__error_set(RS_ENOTFOUND, "%s has no image with digest %s", s->file,
		                      reference);
		goto done;
	}
	if ((error = normalise_ref(&norm, reference)) < 0)
		goto done;
	for (size_t i = 0; i < s->nimages; i++) {
		if (rs__strlist_contains(&s->images[i].tags, norm)) {
			*out = &s->images[i];
			goto done;
		}
	}
	describe_images(&list, s);
	error = rs__error_set(RS_ENOTFOUND, "%s has no image tagged %s (it holds: %s)", s->file,
	                      norm, list.size ? list.ptr : "nothing");
done:
	free(norm);
	rs_buf_dispose(&list);
	return error;
}

/* ---- readers ----------------------------------------------------------------------------- */

/* A layer entry streamed from the archive, as is or compressed on demand. */
typedef struct {
	rs_reader parent;
	char *file, *name;
	struct archive *a;
	/* compression on demand (cache hit) */
	bool compress;
	rs__compression comp;
	int level;
	char *cache_dir;
	char diff_id[RS_DIGEST_MAX], digest[RS_DIGEST_MAX];
	int64_t expected_size, produced;
	atomic_uint *counter;
	rs__compressor *z;
	rs__hasher *hu, *hc;
	rs_buf pending;
	size_t pending_off;
	bool done;
	unsigned char in[DA_BUFSIZE];
} entry_reader;

static int pending_sink(const void *data, size_t len, void *payload)
{
	entry_reader *er = payload;
	rs__hasher_update(er->hc, data, len);
	er->produced += (int64_t)len;
	rs__buf_put(&er->pending, data, len);
	return 0;
}

static void entry_reader_close(entry_reader *er)
{
	if (er->a)
		archive_read_free(er->a);
	er->a = NULL;
	rs__compressor_free(er->z);
	er->z = NULL;
	rs__hasher_free(er->hu);
	rs__hasher_free(er->hc);
	er->hu = er->hc = NULL;
	rs_buf_dispose(&er->pending);
	er->pending_off = 0;
	er->produced = 0;
	er->done = false;
}

static int entry_reader_start(entry_reader *er)
{
	int error;
	if ((error = archive_seek_entry(&er->a, er->file, er->name)) < 0)
		return error;
	if (!er->compress)
		return 0;
	if ((error = rs__hasher_new(&er->hu, "sha256")) < 0 ||
	    (error = rs__hasher_new(&er->hc, "sha256")) < 0 ||
	    (error = rs__compressor_new(&er->z, er->comp, er->level, pending_sink, er)) < 0)
		return error;
	atomic_fetch_add(er->counter, 1);
	return 0;
}

/* End of the entry: the result must be what the compression cache promised. */
static int entry_reader_check(entry_reader *er)
{
	char diff_id[RS_DIGEST_MAX], digest[RS_DIGEST_MAX];
	rs__hasher_final(er->hu, diff_id);
	rs__hasher_final(er->hc, digest);
	if (strcmp(diff_id, er->diff_id))
		return rs__error_set(RS_EDIGEST,
		                     "%s: layer %s: diff_id mismatch: the config says %s, the "
		                     "content is %s",
		                     er->file, er->name, er->diff_id, diff_id);
	if (strcmp(digest, er->digest) || er->produced != er->expected_size) {
		rs__compress_cache_remove(er->cache_dir, er->diff_id, er->comp, er->level);
		return rs__error_set(RS_EDIGEST,
		                     "%s: layer %s: compressing again gave %s (%" PRId64
		                     " bytes), the compression cache said %s (%" PRId64
		                     " bytes); the cache entry was removed, try again",
		                     er->file, er->name, digest, er->produced, er->digest,
		                     er->expected_size);
	}
	return 0;
}

static long long entry_read(rs_reader *r, void *buf, size_t len)
{
	entry_reader *er = (entry_reader *)r;
	la_ssize_t n;
	int error;
	if (!er->a)
		return rs__error_set(RS_EINVAL, "read from a failed reader");
	if (!er->compress) {
		n = archive_read_data(er->a, buf, len);
		return n < 0 ? archive_fail(er->a, er->file) : (long long)n;
	}
	while (er->pending_off == er->pending.size && !er->done) {
		rs__buf_clear(&er->pending);
		er->pending_off = 0;
		n = archive_read_data(er->a, er->in, sizeof(er->in));
		if (n < 0)
			return archive_fail(er->a, er->file);
		if (n > 0) {
			rs__hasher_update(er->hu, er->in, (size_t)n);
			if ((error = rs__compressor_write(er->z, er->in, (size_t)n)) < 0)
				return error;
			continue;
		}
		if ((error = rs__compressor_finish(er->z)) < 0)
			return error;
		er->done = true;
		if ((error = entry_reader_check(er)) < 0)
			return error;
	}
	n = (la_ssize_t)(er->pending.size - er->pending_off);
	if ((size_t)n > len)
		n = (la_ssize_t)len;
	if (n > 0)
		memcpy(buf, er->pending.ptr + er->pending_off, (size_t)n);
	er->pending_off += (size_t)n;
	return (long long)n;
}

static int entry_rewind(rs_reader *r)
{
	entry_reader *er = (entry_reader *)r;
	entry_reader_close(er);
	return entry_reader_start(er);
}

static void entry_free(rs_reader *r)
{
	entry_reader *er = (entry_reader *)r;
	entry_reader_close(er);
	free(er->file);
	free(er->name);
	free(er->cache_dir);
	free(er);
}

static int entry_reader_new(rs_reader **out, da_store *s, const da_layer *l)
{
	entry_reader *er = rs__calloc(1, sizeof(*er));
	int error;
	er->parent.read = entry_read;
	er->parent.rewind = entry_rewind;
	er->parent.free = entry_free;
	er->parent.size = l->cache_hit ? l->size : l->entry_size;
	er->file = rs__strdup(s->file);
	er->name = rs__strdup(l->path);
	er->counter = &s->compressions;
	if (l->cache_hit) {
		er->compress = true;
		er->comp = l->out;
		er->level = s->level;
		er->cache_dir = rs__strdup(s->cache_dir);
		memcpy(er->diff_id, l->diff_id, RS_DIGEST_MAX);
		memcpy(er->digest, l->digest, RS_DIGEST_MAX);
		er->expected_size = l->size;
	}
	if ((error = entry_reader_start(er)) < 0) {
		entry_free(&er->parent);
		return error;
	}
	*out = &er->parent;
	return 0;
}

/* ---- reading: the store operations ------------------------------------------------------- */

static int da_manifest_get(rs_store *st, const char *reference, rs_buf *body, char **media_type,
                           char **digest)
{
	da_store *s = (da_store *)st;
	da_image *im = NULL;
	int error;
	if (s->writing) {
		/* what was stored so far */
		if (!reference || !s->nimages || (error = select_image(&im, s, reference)) < 0 ||
		    !im->manifest.size)
			return rs__error_set(RS_ENOTFOUND, "%s: no manifest %s stored yet", s->file,
			                     reference ? reference : "");
	} else if ((error = select_image(&im, s, reference)) < 0 ||
	           (error = synthesise_manifest(s, im)) < 0) {
		return error;
	}
	if (body) {
		rs__buf_clear(body);
		rs__buf_put(body, im->manifest.ptr, im->manifest.size);
	}
	if (media_type)
		*media_type = rs__strdup(im->manifest_mt);
	if (digest)
		*digest = rs__strdup(im->manifest_digest);
	return 0;
}

static int find_blob(const da_store *s, const char *digest, const da_image **cfg,
                     const da_layer **layer, const da_blob **blob)
{
	*cfg = NULL;
	*layer = NULL;
	*blob = NULL;
	if (!digest)
		return rs__error_set(RS_EINVAL, "a blob descriptor without a digest");
	if (s->writing) {
		for (size_t i = 0; i < s->nblobs; i++)
			if (!strcmp(s->blobs[i].digest, digest)) {
				*blob = &s->blobs[i];
				return 0;
			}
	} else {
		for (size_t i = 0; i < s->nimages; i++)
			if (!strcmp(s->images[i].config_digest, digest)) {
				*cfg = &s->images[i];
				return 0;
			}
		for (size_t i = 0; i < s->nlayers; i++)
			if (s->layers[i].prepared && !strcmp(s->layers[i].digest, digest)) {
				*layer = &s->layers[i];
				return 0;
			}
	}
	return rs__error_set(RS_ENOTFOUND, "%s: no blob %s%s", s->file, digest,
	                     s->writing ? "" : " (layer digests exist once the manifest was read)");
}

static int da_blob_exists(rs_store *st, const rs_descriptor *desc)
{
	da_store *s = (da_store *)st;
	const da_image *cfg;
	const da_layer *l;
	const da_blob *b;
	int error;
	if (s->writing)
		pthread_mutex_lock(&s->lock);
	error = find_blob(s, desc ? desc->digest : NULL, &cfg, &l, &b);
	if (s->writing)
		pthread_mutex_unlock(&s->lock);
	return error;
}

static int da_blob_open(rs_reader **out, rs_store *st, const rs_descriptor *desc)
{
	da_store *s = (da_store *)st;
	const da_image *cfg;
	const da_layer *l;
	const da_blob *b;
	char *path = NULL;
	int error;
	if (s->writing) {
		/* writing: layers are kept uncompressed, so only configs read back as put */
		pthread_mutex_lock(&s->lock);
		if ((error = find_blob(s, desc ? desc->digest : NULL, &cfg, &l, &b)) == 0) {
			if (b->is_layer)
				error = rs__error_set(
				        RS_EUNSUPPORTED,
				        "%s: layer %s is stored uncompressed and cannot "
				        "be read back before commit",
				        s->file, b->digest);
			else
				path = rs__strdup(b->path);
		}
		pthread_mutex_unlock(&s->lock);
		if (error == 0)
			error = rs__reader_from_path(out, path);
		free(path);
		return error;
	}
	if ((error = find_blob(s, desc ? desc->digest : NULL, &cfg, &l, &b)) < 0)
		return error;
	if (cfg)
		return rs_reader_from_memory(out, cfg->config.ptr ? cfg->config.ptr : "",
		                             cfg->config.size);
	if (l->tmp) {
		/* our own compressed copy: its digest was computed as it was written */
		if ((error = rs__reader_from_path(out, l->tmp)) == 0)
			(*out)->vouched_digest = l->digest;
		return error;
	}
	return entry_reader_new(out, s, l);
}

static int da_tag_list(rs_store *st, int (*cb)(const char *tag, void *payload), void *payload)
{
	da_store *s = (da_store *)st;
	for (size_t i = 0; i < s->nimages; i++)
		for (size_t t = 0; t < s->images[i].tags.count; t++)
			if (cb(s->images[i].tags.items[t], payload))
				return rs__error_set(RS_EUSER, "tag listing stopped by the caller");
	return 0;
}

/* ---- writing ----------------------------------------------------------------------------- */

static bool is_layer_type(const char *mt, const unsigned char *head, size_t len)
{
	if (mt)
		return strstr(mt, ".layer.") || strstr(mt, "rootfs.diff") ||
		       strstr(mt, "rootfs.foreign");
	/* no media type: JSON is a config, anything else a layer */
	return !(len && head[0] == '{');
}

typedef struct {
	int fd;
	const char *path;
	rs__hasher *hu;
	int64_t size;
	int64_t limit; /* -1: none */
	const char *digest;
} tar_sink;

/* No gzip stream expands more than 1032 times (deflate's limit), and no zstd stream more than
 * 32768 times (a 128 KiB block, the most a block holds, in a 4-byte RLE block): a layer that
 * expands beyond that from its declared size is not a real layer, and is refused at once instead
 * of filling $TMPDIR. */
#define DA_GZIP_MAX_RATIO 1032
#define DA_ZSTD_MAX_RATIO 32768

static int to_tar(const void *data, size_t len, void *payload)
{
	tar_sink *t = payload;
	rs__hasher_update(t->hu, data, len);
	t->size += (int64_t)len;
	if (t->limit >= 0 && t->size > t->limit)
		return rs__error_set(
		        RS_ETOOBIG,
		        "blob %s: it expands to more than %" PRId64
		        " bytes, more than its compression can produce from its size; refused",
		        t->digest, t->limit);
	return write_all(t->fd, data, len, t->path);
}

static int da_blob_put(rs_store *st, const rs_descriptor *desc, rs_reader *r, rs_transfer_cb cb,
                       void *payload)
{
	da_store *s = (da_store *)st;
	const da_image *c_;
	const da_layer *l_;
	const da_blob *b_;
	rs__hasher *hc = NULL, *hu = NULL;
	rs__decompressor *dz = NULL;
	tar_sink sink = {-1, NULL, NULL, 0, -1, NULL};
	rs_buf tmp = RS_BUF_INIT, final = RS_BUF_INIT;
	unsigned char head[RS__COMP_MAGIC_MAX];
	size_t nhead = 0;
	unsigned char *buf = NULL;
	char got[RS_DIGEST_MAX], diff_id[RS_DIGEST_MAX];
	int64_t total = 0;
	bool is_layer = false;
	int error;

	if (!s->writing || s->committed)
		return rs__error_set(RS_EUNSUPPORTED, "%s is not open for writing", s->file);
	if (!desc || (error = rs__digest_check(desc->digest)) < 0)
		return desc ? error : rs__error_set(RS_EINVAL, "blob_put without a descriptor");
	pthread_mutex_lock(&s->lock);
	if (find_blob(s, desc->digest, &c_, &l_, &b_) == 0) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	error = ensure_tmpdir(s);
	pthread_mutex_unlock(&s->lock);
	if (error < 0)
		return error;
	rs__buf_printf(&tmp, "%s/put-XXXXXX", s->tmpdir);
	if ((sink.fd = mkstemp(tmp.ptr)) < 0) {
		error = rs__error_set(RS_EIO, "cannot create a temporary file in %s: %s", s->tmpdir,
		                      strerror(errno));
		goto done;
	}
	sink.path = tmp.ptr;
	if ((error = rs__hasher_new(&hc, strncmp(desc->digest, "sha512:", 7) ? "sha256"
	                                                                     : "sha512")) < 0 ||
	    (error = rs__hasher_new(&hu, "sha256")) < 0)
		goto done;
	sink.hu = hu;
	buf = rs__malloc(DA_BUFSIZE);
	for (;;) {
		long long n;
		size_t off = 0;
		if ((error = rs__cancel_check()) < 0)
			goto done;
		n = r->read(r, buf, DA_BUFSIZE);
		if (n < 0) {
			error = (int)n;
			goto done;
		}
		if (n > 0) {
			total += n;
			if (desc->size >= 0 && total > desc->size) {
				error = rs__error_set(RS_EDIGEST,
				                      "blob %s: more than the %" PRId64
				                      " bytes announced arrived",
				                      desc->digest, desc->size);
				goto done;
			}
			rs__hasher_update(hc, buf, (size_t)n);
		}
		/* keep the first bytes until the format is known */
		while (!dz && nhead < sizeof(head) && off < (size_t)n)
			head[nhead++] = buf[off++];
		if (!dz && (nhead == sizeof(head) || n == 0)) {
			rs__compression c = RS__COMP_NONE;
			is_layer = is_layer_type(desc->media_type, head, nhead);
			if (is_layer)
				c = rs__compress_detect(head, nhead);
			sink.digest = desc->digest;
			int64_t ratio = c == RS__COMP_GZIP   ? DA_GZIP_MAX_RATIO
			                : c == RS__COMP_ZSTD ? DA_ZSTD_MAX_RATIO
			                                     : 0;
			if (ratio && desc->size >= 0 && desc->size < INT64_MAX / ratio - 1)
				sink.limit = desc->size * ratio + 64 * 1024;
			if ((error = rs__decompressor_new(&dz, c, to_tar, &sink)) < 0)
				goto done;
			if ((error = rs__decompressor_write(dz, head, nhead)) < 0)
				goto blob_error;
		}
		if (dz && off < (size_t)n &&
		    (error = rs__decompressor_write(dz, buf + off, (size_t)n - off)) < 0)
			goto blob_error;
		if (n == 0)
			break;
		if (cb && cb((uint64_t)total, payload)) {
			error = rs__error_set(RS_EUSER, "blob %s: transfer cancelled",
			                      desc->digest);
			goto done;
		}
	}
	if ((error = rs__decompressor_finish(dz)) < 0)
		goto blob_error;
	rs__hasher_final(hc, got);
	if (strcmp(got, desc->digest) || (desc->size >= 0 && total != desc->size)) {
		error = rs__error_set(RS_EDIGEST,
		                      "blob %s: digest mismatch: got %s (%" PRId64
		                      " bytes, %" PRId64 " announced)",
		                      desc->digest, got, total, desc->size);
		goto done;
	}
	rs__hasher_final(hu, diff_id);
	if (close(sink.fd) < 0) {
		sink.fd = -1;
		error = rs__error_set(RS_EIO, "cannot write %s: %s", tmp.ptr, strerror(errno));
		goto done;
	}
	sink.fd = -1;
	rs__buf_printf(&final, "%s/%s.%s", s->tmpdir, digest_hex(is_layer ? diff_id : desc->digest),
	               is_layer ? "tar" : "blob");
	pthread_mutex_lock(&s->lock);
	if (rename(tmp.ptr, final.ptr) < 0) {
		error = rs__error_set(RS_EIO, "cannot rename %s to %s: %s", tmp.ptr, final.ptr,
		                      strerror(errno));
	} else if (find_blob(s, desc->digest, &c_, &l_, &b_) < 0) {
		da_blob *b;
		s->blobs = rs__realloc(s->blobs, (s->nblobs + 1) * sizeof(da_blob));
		b = &s->blobs[s->nblobs++];
		memset(b, 0, sizeof(*b));
		memcpy(b->digest, got, sizeof(got));
		memcpy(b->diff_id, is_layer ? diff_id : got, sizeof(diff_id));
		b->size = total;
		b->is_layer = is_layer;
		b->path = rs__buf_detach(&final);
		b->file_size = sink.size;
		error = 0;
	}
	pthread_mutex_unlock(&s->lock);
	goto done;
blob_error:
	if (error != RS_ETOOBIG && error != RS_EUSER)
		rs__error_prefix("blob %s", desc->digest);
done:
	if (sink.fd >= 0)
		close(sink.fd);
	if (error < 0 && tmp.ptr)
		unlink(tmp.ptr);
	rs_buf_dispose(&tmp);
	rs_buf_dispose(&final);
	rs__decompressor_free(dz);
	rs__hasher_free(hc);
	rs__hasher_free(hu);
	free(buf);
	return error;
}

static const da_blob *blob_by_digest(const da_store *s, const char *digest)
{
	for (size_t i = 0; digest && i < s->nblobs; i++)
		if (!strcmp(s->blobs[i].digest, digest))
			return &s->blobs[i];
	return NULL;
}

/* The tag to record for reference (NULL: none). */
static int repo_tag(char **out, const char *reference)
{
	rs_ref *ref = NULL;
	int error;
	*out = NULL;
	if (!reference || !reference[0] || rs__digest_valid(reference))
		return 0;
	if ((error = rs_ref_parse(&ref, reference, RS_REF_NO_DEFAULT)) < 0)
		return error;
	if (ref->tag) {
		free(ref->digest);
		ref->digest = NULL;
		*out = rs_ref_format(ref);
	}
	rs_ref_free(ref);
	return 0;
}

static int da_manifest_put(rs_store *st, const char *reference, const void *body, size_t len,
                           const char *media_type)
{
	da_store *s = (da_store *)st;
	json_error_t jerr;
	json_t *root = NULL, *cfgj = NULL, *layers, *ids, *v;
	const da_blob *cfg;
	rs_buf cfgbytes = RS_BUF_INIT;
	char *tag = NULL, digest[RS_DIGEST_MAX];
	const char *mt;
	da_image *im = NULL;
	size_t j;
	bool locked = false;
	int error = 0;

	if (!s->writing || s->committed)
		return rs__error_set(RS_EUNSUPPORTED, "%s is not open for writing", s->file);
	if (!(root = json_loadb(body, len, 0, &jerr)) || !json_is_object(root)) {
		error = root ? rs__error_set(RS_EFORMAT, "manifest: not a JSON object")
		             : json_error(s->file, "manifest", &jerr);
		goto done;
	}
	mt = json_string_value(json_object_get(root, "mediaType"));
	if (!mt)
		mt = media_type;
	if (json_object_get(root, "manifests") ||
	    (mt && (!strcmp(mt, RS_MT_OCI_INDEX) || !strcmp(mt, RS_MT_DOCKER_LIST)))) {
		error = rs__error_set(
		        RS_EUNSUPPORTED,
		        "docker-archive holds single-platform images; use --platform");
		goto done;
	}
	if (mt && strcmp(mt, RS_MT_DOCKER_MANIFEST) && strcmp(mt, RS_MT_OCI_MANIFEST)) {
		error = rs__error_set(RS_EUNSUPPORTED,
		                      "docker-archive cannot hold a manifest of type %s", mt);
		goto done;
	}
	if ((error = repo_tag(&tag, reference)) < 0)
		goto done;
	layers = json_object_get(root, "layers");
	if (!json_is_array(layers)) {
		error = rs__error_set(RS_EFORMAT, "manifest: no \"layers\" array");
		goto done;
	}
	/* the blob table may grow under parallel blob_put calls: hold the lock from here */
	pthread_mutex_lock(&s->lock);
	locked = true;
	cfg = blob_by_digest(
	        s, json_string_value(json_object_get(json_object_get(root, "config"), "digest")));
	if (!cfg || cfg->is_layer) {
		error = rs__error_set(RS_ENOTFOUND,
		                      "%s: the config blob of the manifest was not stored first",
		                      s->file);
		goto done;
	}
	if ((error = rs__file_read_regular(&cfgbytes, AT_FDCWD, cfg->path, DA_JSON_MAX, 0, NULL)) <
	    0)
		goto done;
	if (!(cfgj = json_loadb(cfgbytes.ptr, cfgbytes.size, 0, &jerr))) {
		error = json_error(s->file, "config", &jerr);
		goto done;
	}
	ids = json_object_get(json_object_get(cfgj, "rootfs"), "diff_ids");
	if (!json_is_array(ids) || json_array_size(ids) != json_array_size(layers)) {
		error = rs__error_set(RS_EFORMAT, "config %s lists %zu diff_ids for %zu layers",
		                      cfg->digest, json_is_array(ids) ? json_array_size(ids) : 0,
		                      json_array_size(layers));
		goto done;
	}
	/* same config: the same image, one more tag */
	for (size_t i = 0; i < s->nimages && !im; i++)
		if (!strcmp(s->images[i].config_digest, cfg->digest))
			im = &s->images[i];
	if (!im) {
		size_t *idx = rs__calloc(json_array_size(layers) + 1, sizeof(size_t));
		json_array_foreach(layers, j, v)
		{
			const char *d = json_string_value(json_object_get(v, "digest"));
			const char *id = json_string_value(json_array_get(ids, j));
			const da_blob *b = blob_by_digest(s, d);
			if (!b || !b->is_layer) {
				error = rs__error_set(b ? RS_EUNSUPPORTED : RS_ENOTFOUND,
				                      "%s: layer %s of the manifest %s", s->file,
				                      d ? d : "(no digest)",
				                      b ? "is not an image layer"
				                        : "was not stored first");
			} else if (!id || strcmp(id, b->diff_id)) {
				error = rs__error_set(
				        RS_EDIGEST,
				        "layer %s: diff_id mismatch: the config says %s, "
				        "the content is %s",
				        d, id ? id : "(none)", b->diff_id);
			}
			if (error < 0) {
				free(idx);
				goto done;
			}
			idx[j] = (size_t)(b - s->blobs);
		}
		s->images = rs__realloc(s->images, (s->nimages + 1) * sizeof(da_image));
		im = &s->images[s->nimages++];
		memset(im, 0, sizeof(*im));
		memcpy(im->config_digest, cfg->digest, RS_DIGEST_MAX);
		im->layers = idx;
		im->nlayers = json_array_size(layers);
		rs__sha256_digest(digest, body, len);
		rs__buf_put(&im->manifest, body, len);
		im->manifest_mt = rs__strdup(mt ? mt : RS_MT_DOCKER_MANIFEST);
		memcpy(im->manifest_digest, digest, RS_DIGEST_MAX);
	}
	if (tag) {
		/* a tag names one image: move it */
		for (size_t i = 0; i < s->nimages; i++) {
			rs_strlist *l = &s->images[i].tags;
			for (size_t t = 0; t < l->count; t++) {
				if (strcmp(l->items[t], tag))
					continue;
				free(l->items[t]);
				memmove(&l->items[t], &l->items[t + 1],
				        (l->count - t - 1) * sizeof(char *));
				l->count--;
				break;
			}
		}
		rs__strlist_push_owned(&im->tags, tag);
		tag = NULL;
	}
done:
	if (locked)
		pthread_mutex_unlock(&s->lock);
	free(tag);
	json_decref(root);
	json_decref(cfgj);
	rs_buf_dispose(&cfgbytes);
	return error;
}

/* One member of the archive being written: bytes in memory or a file's contents. */
typedef struct {
	char *name;
	bool dir;
	const char *path; /* file contents, or NULL */
	rs_buf data;
	int64_t size;
} out_entry;

static int out_cmp(const void *a, const void *b)
{
	return strcmp(((const out_entry *)a)->name, ((const out_entry *)b)->name);
}

static out_entry *out_add(out_entry **list, size_t *n, const char *name)
{
	out_entry *e;
	*list = rs__realloc(*list, (*n + 1) * sizeof(out_entry));
	e = &(*list)[(*n)++];
	memset(e, 0, sizeof(*e));
	e->name = rs__strdup(name);
	return e;
}

static void out_add_json(out_entry **list, size_t *n, const char *name, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	out_entry *e = out_add(list, n, name);
	rs__buf_puts(&e->data, text ? text : "null");
	e->size = (int64_t)e->data.size;
	free(text);
}

static bool layer_listed(const da_store *s, size_t blob, size_t upto_image, size_t upto_layer)
{
	for (size_t i = 0; i <= upto_image && i < s->nimages; i++)
		for (size_t j = 0; j < s->images[i].nlayers; j++) {
			if (i == upto_image && j >= upto_layer)
				return false;
			if (!strcmp(s->blobs[s->images[i].layers[j]].diff_id,
			            s->blobs[blob].diff_id))
				return true;
		}
	return false;
}

static void build_entries(out_entry **list, size_t *n, const da_store *s)
{
	json_t *manifest = json_array(), *repos = json_object();
	rs_buf name = RS_BUF_INIT;
	for (size_t i = 0; i < s->nimages; i++) {
		const da_image *im = &s->images[i];
		const da_blob *cfg = blob_by_digest(s, im->config_digest);
		json_t *m = json_object(), *tags = json_array(), *layers = json_array();
		const char *parent = NULL;
		out_entry *e;
		rs__buf_clear(&name);
		rs__buf_printf(&name, "%s.json", digest_hex(im->config_digest));
		json_object_set_new(m, "Config", json_string(name.ptr));
		/* one image per config: no two images share this entry */
		e = out_add(list, n, name.ptr);
		e->path = cfg->path;
		e->size = cfg->file_size;
		for (size_t t = 0; t < im->tags.count; t++)
			json_array_append_new(tags, json_string(im->tags.items[t]));
		for (size_t j = 0; j < im->nlayers; j++) {
			const da_blob *b = &s->blobs[im->layers[j]];
			const char *hex = digest_hex(b->diff_id);
			rs__buf_clear(&name);
			rs__buf_printf(&name, "%s/layer.tar", hex);
			json_array_append_new(layers, json_string(name.ptr));
			if (!layer_listed(s, im->layers[j], i, j)) {
				json_t *v1 = json_object();
				e = out_add(list, n, hex);
				e->dir = true;
				e = out_add(list, n, name.ptr);
				e->path = b->path;
				e->size = b->file_size;
				rs__buf_clear(&name);
				rs__buf_printf(&name, "%s/VERSION", hex);
				e = out_add(list, n, name.ptr);
				rs__buf_puts(&e->data, "1.0");
				e->size = 3;
				json_object_set_new(v1, "id", json_string(hex));
				if (parent)
					json_object_set_new(v1, "parent", json_string(parent));
				rs__buf_clear(&name);
				rs__buf_printf(&name, "%s/json", hex);
				out_add_json(list, n, name.ptr, v1);
				json_decref(v1);
			}
			parent = hex;
		}
		json_object_set_new(m, "RepoTags", im->tags.count ? tags : json_null());
		if (!im->tags.count)
			json_decref(tags);
		json_object_set_new(m, "Layers", layers);
		json_array_append_new(manifest, m);
		/* repositories: {"name": {"tag": "<top layer id>"}} */
		for (size_t t = 0; t < im->tags.count && parent; t++) {
			const char *full = im->tags.items[t], *colon = strrchr(full, ':');
			char *repo = rs__strndup(full, (size_t)(colon - full));
			json_t *r = json_object_get(repos, repo);
			if (!r)
				json_object_set_new(repos, repo, r = json_object());
			json_object_set_new(r, colon + 1, json_string(parent));
			free(repo);
		}
	}
	out_add_json(list, n, "manifest.json", manifest);
	out_add_json(list, n, "repositories", repos);
	json_decref(manifest);
	json_decref(repos);
	rs_buf_dispose(&name);
	if (*n)
		qsort(*list, *n, sizeof(out_entry), out_cmp);
}

/* payload: the out_entry list */
static int write_entry(void *payload, struct archive *a, size_t i, const char *tmpname,
                       unsigned char *buf)
{
	const out_entry *oe = (const out_entry *)payload + i;
	return rs__tar_write_member(a, tmpname, oe->name, oe->dir, oe->path, oe->data.ptr,
	                            oe->path ? oe->size : (int64_t)oe->data.size, buf,
	                            RS_TAR_BUFSIZE);
}

static int da_commit(rs_store *st)
{
	da_store *s = (da_store *)st;
	out_entry *list = NULL;
	size_t n = 0;
	int error;
	if (!s->writing || s->committed)
		return 0;
	if (!s->nimages)
		return rs__error_set(RS_EINVAL, "%s: nothing to write: no image was stored",
		                     s->file);
	build_entries(&list, &n, s);
	if ((error = rs__tar_write_file(&s->dest, n, write_entry, list)) == 0) {
		s->committed = true;
		remove_tmpdir(s);
	}
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		rs_buf_dispose(&list[i].data);
	}
	free(list);
	return error;
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void da_free(rs_store *st)
{
	da_store *s = (da_store *)st;
	if (!s)
		return;
	remove_tmpdir(s);
	for (size_t i = 0; i < s->nentries; i++) {
		free(s->entries[i].name);
		free(s->entries[i].link);
	}
	free(s->entries);
	for (size_t i = 0; i < s->nlayers; i++) {
		free(s->layers[i].path);
		free(s->layers[i].tmp);
	}
	free(s->layers);
	for (size_t i = 0; i < s->nimages; i++) {
		da_image *im = &s->images[i];
		free(im->config_path);
		rs_buf_dispose(&im->config);
		rs__strlist_dispose(&im->tags);
		free(im->layers);
		rs_buf_dispose(&im->manifest);
		free(im->manifest_mt);
	}
	free(s->images);
	for (size_t i = 0; i < s->nblobs; i++)
		free(s->blobs[i].path);
	free(s->blobs);
	pthread_mutex_destroy(&s->lock);
	rs__dest_dispose(&s->dest);
	free(s->file);
	free(s->tmp_parent);
	free(s->cache_dir);
	free(s);
}

/* ---- adding to an existing archive -------------------------------------------------------- */

/* One image of the old archive, stored again in s under every tag it had (or untagged). */
static int import_image(da_store *s, rs_store *old, size_t index)
{
	rs_buf body = RS_BUF_INIT, ref = RS_BUF_INIT;
	rs_manifest *m = NULL;
	char *mt = NULL;
	const da_image *im;
	int error;
	rs__buf_printf(&ref, "@%zu", index);
	if ((error = da_manifest_get(old, ref.ptr, &body, &mt, NULL)) < 0 ||
	    (error = rs_manifest_parse(&m, body.ptr, body.size, mt)) < 0)
		goto done;
	for (size_t i = 0; i < rs_manifest_blob_count(m); i++) {
		const rs_descriptor *d = rs_manifest_blob(m, i);
		rs_reader *r = NULL;
		if ((error = rs__cancel_check()) < 0 || (error = da_blob_open(&r, old, d)) < 0)
			goto done;
		error = da_blob_put(&s->parent, d, r, NULL, NULL);
		rs_reader_free(r);
		if (error < 0)
			goto done;
	}
	im = &((da_store *)old)->images[index];
	if (!im->tags.count)
		error = da_manifest_put(&s->parent, NULL, body.ptr, body.size, mt);
	for (size_t t = 0; t < im->tags.count && error == 0; t++)
		error = da_manifest_put(&s->parent, im->tags.items[t], body.ptr, body.size, mt);
done:
	rs_manifest_free(m);
	rs_buf_dispose(&body);
	rs_buf_dispose(&ref);
	free(mt);
	return error;
}

/*
 * The archive FILE already holds: every image is read into the temporary directory now,
 * before anything is written, so the new archive keeps them all (and copying an archive onto
 * itself loses nothing). A file that is not a docker archive is refused.
 */
static int import_existing(da_store *s)
{
	rs_docker_archive_options o = RS_DOCKER_ARCHIVE_OPTIONS_INIT;
	rs_store *old = NULL;
	int error;
	o.compression = RS_COMPRESSION_NONE; /* layers are kept as the archive stores them */
	o.tmp_dir = s->tmp_parent;
	o.cache_dir = "";
	o.jobs = s->jobs;
	if ((error = rs_store_open_docker_archive(&old, s->dest.target, RS_STORE_READ, &o)) < 0) {
		const rs_error *e = rs_error_last();
		char why[sizeof(e->message)];
		if (error == RS_EUSER)
			return error;
		snprintf(why, sizeof(why), "%s", e ? e->message : rs_strerror(error));
		return rs__error_set(RS_EEXISTS,
		                     "%s exists and is not a docker archive regship can add to "
		                     "(%s); use --overwrite to replace it",
		                     s->file, why);
	}
	if ((error = ensure_tmpdir(s)) < 0)
		goto done;
	for (size_t i = 0; i < ((da_store *)old)->nimages; i++) {
		if ((error = import_image(s, old, i)) < 0) {
			if (error != RS_EUSER)
				rs__error_prefix("%s: reading the images it already holds",
				                 s->file);
			goto done;
		}
	}
done:
	rs_store_free(old);
	return error;
}

static const rs_store_ops da_ops = {
        RS_STORE_OPS_VERSION,
        "docker-archive",
        da_manifest_get,
        da_manifest_put,
        NULL, /* manifest_delete */
        da_blob_exists,
        da_blob_open,
        da_blob_put,
        NULL, /* blob_mount */
        da_tag_list,
        da_commit,
        da_free,
};

int rs_store_open_docker_archive(rs_store **out, const char *file, unsigned int flags,
                                 const rs_docker_archive_options *given)
{
	rs_docker_archive_options opts = RS_DOCKER_ARCHIVE_OPTIONS_INIT;
	da_store *s;
	const char *tmp;
	int error;
	if (!out || !file || !file[0])
		return rs__error_set(RS_EINVAL, "docker-archive: no file given");
	*out = NULL;
	if (given) {
		if (given->version != RS_DOCKER_ARCHIVE_OPTIONS_VERSION)
			return rs__error_set(
			        RS_EINVAL,
			        "rs_docker_archive_options version %u is not supported "
			        "(expected %u)",
			        given->version, RS_DOCKER_ARCHIVE_OPTIONS_VERSION);
		opts = *given;
	}
	if (!(flags & (RS_STORE_READ | RS_STORE_WRITE)) ||
	    (flags & ~(RS_STORE_READ | RS_STORE_WRITE | RS_STORE_OVERWRITE)) ||
	    ((flags & RS_STORE_OVERWRITE) && !(flags & RS_STORE_WRITE)))
		return rs__error_set(RS_EINVAL, "docker-archive %s: invalid open flags 0x%x", file,
		                     flags);
	s = rs__calloc(1, sizeof(*s));
	s->parent.ops = &da_ops;
	s->dest.fd = -1;
	s->file = rs__strdup(file);
	s->writing = (flags & RS_STORE_WRITE) != 0;
	s->format = opts.format;
	s->jobs = opts.jobs ? opts.jobs : 4;
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->compressions, 0);
	switch (opts.compression) {
	case RS_COMPRESSION_GZIP:
		s->comp = RS__COMP_GZIP;
		break;
	case RS_COMPRESSION_ZSTD:
		s->comp = RS__COMP_ZSTD;
		break;
	case RS_COMPRESSION_NONE:
		s->comp = RS__COMP_NONE;
		break;
	default:
		error = rs__error_set(RS_EINVAL, "docker-archive: unknown compression %d",
		                      (int)opts.compression);
		goto fail;
	}
	if (opts.format != RS_MANIFEST_FORMAT_DOCKER && opts.format != RS_MANIFEST_FORMAT_OCI) {
		error = rs__error_set(RS_EINVAL, "docker-archive: unknown manifest format %d",
		                      (int)opts.format);
		goto fail;
	}
	if (s->comp == RS__COMP_ZSTD && opts.format == RS_MANIFEST_FORMAT_DOCKER) {
		error = rs__error_set(RS_EINVAL, "zstd layers need the OCI manifest format "
		                                 "(docker schema 2 has no zstd layer type)");
		goto fail;
	}
	if ((error = rs__compress_level(&s->level, s->comp, opts.level)) < 0)
		goto fail;
	tmp = opts.tmp_dir ? opts.tmp_dir : getenv("TMPDIR");
	s->tmp_parent = rs__strdup(tmp && tmp[0] ? tmp : "/var/tmp");
	if (!opts.cache_dir)
		s->cache_dir = rs__compress_cache_dir();
	else if (opts.cache_dir[0])
		s->cache_dir = rs__strdup(opts.cache_dir);
	if (!s->writing && (error = open_for_reading(s)) < 0)
		goto fail;
	if (s->writing) {
		if ((error = rs__dest_resolve(&s->dest, file, "docker archive")) < 0)
			goto fail;
		if (s->dest.exists && !(flags & RS_STORE_OVERWRITE) &&
		    (error = import_existing(s)) < 0)
			goto fail;
	}
	*out = &s->parent;
	return 0;
fail:
	da_free(&s->parent);
	return error;
}

unsigned int rs__docker_archive_compressions(const rs_store *st)
{
	da_store *s = (da_store *)(uintptr_t)st;
	if (!st || st->ops != &da_ops)
		return 0;
	return atomic_load(&s->compressions);
}

const char *rs__docker_archive_tmpdir(const rs_store *st)
{
	if (!st || st->ops != &da_ops)
		return NULL;
	return ((const da_store *)st)->tmpdir;
}
