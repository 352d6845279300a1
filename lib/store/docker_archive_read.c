/*
 * The docker-archive store, reading: a first pass over the tar's entry names and sizes that
 * also reads manifest.json; a second that reads the configs and peeks at the first bytes of
 * every layer; then the image and layer tables (diff_ids from the configs).
 */
#include "store/docker_archive_int.h"
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/archive_dl.h"

/* ---- archive access ---------------------------------------------------------------------- */

static int archive_open(struct archive **out, const char *file)
{
	struct archive *a = archive_read_new();
	struct stat st;
	int fd;
	if (!a)
		return rs__oom();
	/* a docker save output may have been compressed as a whole */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	/* O_NONBLOCK: a FIFO is refused below instead of waiting for a writer */
	if ((fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		int e = errno;
		archive_read_free(a);
		if (e == ENOENT)
			return rs__error_set(RS_EINVAL, "%s: no such file", file);
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
		int error = archive_errno(a) == ENOMEM
		                    ? rs__oom()
		                    : rs__error_set(RS_EFORMAT, "%s: not a tar archive: %s", file,
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
	return *out ? 0 : rs__oom();
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

int rs__da_archive_fail(struct archive *a, const char *file)
{
	if (archive_errno(a) == ENOMEM)
		return rs__oom();
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
		return rs__da_archive_fail(a, file);
	return rs__buf_oom(out) ? RS_ENOMEM : 0;
}

/* Position a fresh archive at the entry name. */
int rs__da_archive_seek_entry(struct archive **out, const char *file, const char *name)
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
			error = rs__da_archive_fail(a, file);
			goto fail;
		}
	}
	if (r == ARCHIVE_EOF)
		error = rs__error_set(RS_ENOTFOUND, "%s: no entry %s (the archive changed?)", file,
		                      name);
	else
		error = rs__da_archive_fail(a, file);
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
				size_t n = alloc ? alloc * 2 : 64;
				da_entry *entries = rs__realloc(s->entries, n * sizeof(da_entry));
				if (!entries) {
					free(name);
					error = rs__oom();
					goto done;
				}
				s->entries = entries;
				alloc = n;
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
			if ((archive_entry_symlink(e) || archive_entry_hardlink(e)) &&
			    !s->entries[s->nentries - 1].link) {
				error = rs__oom();
				goto done;
			}
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
			error = rs__da_archive_fail(a, s->file);
			goto done;
		}
	}
	if (r != ARCHIVE_EOF) {
		error = rs__da_archive_fail(a, s->file);
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
 * link's directory, a hard link's to the archive's root. NULL when it leaves the archive, or
 * (with RS_ENOMEM set) when out of memory.
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
		if (rs__strlist_push(&parts, c) < 0)
			goto done;
	}
	for (size_t i = 0; i < parts.count; i++)
		rs__buf_printf(&out, "%s%s", i ? "/" : "", parts.items[i]);
	if (out.size && !rs__buf_oom(&joined))
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
		unsigned long serial = rs__error_serial();
		char *target = link_target(e);
		const da_entry *next;
		if (!target && rs__error_serial() != serial) /* out of memory */
			return RS_ENOMEM;
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

/* The layer's index; SIZE_MAX (RS_ENOMEM set) when out of memory. */
static size_t add_layer(da_store *s, const char *path, const char *diff_id, int64_t size)
{
	da_layer *layers;
	for (size_t i = 0; i < s->nlayers; i++)
		if (!strcmp(s->layers[i].diff_id, diff_id))
			return i;
	if (!(layers = rs__realloc(s->layers, (s->nlayers + 1) * sizeof(da_layer)))) {
		rs__oom();
		return SIZE_MAX;
	}
	s->layers = layers;
	memset(&s->layers[s->nlayers], 0, sizeof(da_layer));
	if (!(s->layers[s->nlayers].path = rs__strdup(path))) {
		rs__oom();
		return SIZE_MAX;
	}
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
		return rs__da_json_error(s->file, "manifest.json", &jerr);
	if (!json_is_array(root) || json_array_size(root) == 0) {
		error = rs__error_set(RS_EFORMAT, "%s: manifest.json is not a non-empty array",
		                      s->file);
		goto done;
	}
	s->images = rs__calloc(json_array_size(root), sizeof(da_image));
	*layer_counts = rs__calloc(json_array_size(root), sizeof(size_t));
	if (!s->images || !*layer_counts) {
		error = rs__oom();
		goto done;
	}
	s->nimages = json_array_size(root);
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
		if (!(im->config_path = rs__strdup(e->name))) {
			error = rs__oom();
			goto done;
		}
		json_array_foreach(tags, j, v)
		{
			char *norm = NULL;
			if (json_is_string(v) &&
			    (error = rs__da_normalise_ref(&norm, json_string_value(v))) ==
			            RS_ENOMEM)
				goto done;
			if (!json_is_string(v) || error < 0) {
				error = rs__error_set(
				        RS_EFORMAT,
				        "%s: manifest.json image %zu: invalid RepoTag %s", s->file,
				        i, json_is_string(v) ? json_string_value(v) : "");
				goto done;
			}
			if (rs__strlist_contains(&im->tags, norm))
				free(norm);
			else if ((error = rs__strlist_push_owned(&im->tags, norm)) < 0)
				goto done;
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
			if ((error = rs__strlist_push(layer_paths, e->name)) < 0)
				goto done;
		}
		(*layer_counts)[i] = json_array_size(layers);
	}
done:
	json_decref(root);
	return error;
}

/* Pass 2: read configs, peek at the first bytes of each layer. */
static int read_configs_and_peek(da_store *s, const rs_strlist *layer_paths,
                                 rs_compression *layer_comp)
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
				if (rs__buf_oom(&s->images[i].config)) {
					free(name);
					error = RS_ENOMEM;
					goto done;
				}
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
			error = rs__da_archive_fail(a, s->file);
			goto done;
		}
	}
	if (r != ARCHIVE_EOF)
		error = rs__da_archive_fail(a, s->file);
done:
	archive_read_free(a);
	return error;
}

/* Digest, name check and diff_ids of each config; the layer table. */
static int check_images(da_store *s, const rs_strlist *layer_paths, const size_t *layer_counts,
                        const rs_compression *layer_comp)
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
		if (rs__is_hex64(base, blen) && strncmp(base, im->config_digest + 7, 64)) {
			error = rs__error_set(RS_EDIGEST,
			                      "%s: config %s: its content has digest %s, its name "
			                      "says sha256:%.64s",
			                      s->file, im->config_path, im->config_digest, base);
			goto done;
		}
		cfg = json_loadb(im->config.ptr ? im->config.ptr : "", im->config.size, 0, &jerr);
		if (!cfg) {
			error = rs__da_json_error(s->file, im->config_path, &jerr);
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
		im->layers = rs__calloc(layer_counts[i] ? layer_counts[i] : 1, sizeof(size_t));
		if (!im->layers) {
			error = rs__oom();
			json_decref(cfg);
			goto done;
		}
		im->nlayers = layer_counts[i];
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
			if ((li = add_layer(s, e->name, id, e->size)) == SIZE_MAX) {
				error = RS_ENOMEM;
				json_decref(cfg);
				goto done;
			}
			s->layers[li].src = layer_comp[next];
			im->layers[j] = li;
			if (layer_comp[next] == RS__COMPRESSION_BZIP2 ||
			    layer_comp[next] == RS__COMPRESSION_XZ) {
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

int rs__da_open_for_reading(da_store *s)
{
	rs_buf manifest = RS_BUF_INIT;
	rs_strlist layer_paths = RS_STRLIST_INIT;
	size_t *layer_counts = NULL;
	rs_compression *layer_comp = NULL;
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
	if (!layer_comp) {
		error = rs__oom();
		goto done;
	}
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
