/*
 * The docker-archive store, writing: blobs are received into the temporary directory (layers
 * decompressed to their tar), manifests are checked against what was stored, and commit writes
 * the legacy docker-save tar whole or not at all.
 */
#include "regship/ref.h"
#include "store/docker_archive_int.h"
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	return rs__write_all(t->fd, data, len, t->path);
}

int rs__da_blob_put(rs_store *st, const rs_descriptor *desc, rs_reader *r, rs_transfer_cb cb,
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
	if (rs__da_find_blob(s, desc->digest, &c_, &l_, &b_) == 0) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	error = rs__da_ensure_tmpdir(s);
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
			rs_compression c = RS_COMPRESSION_NONE;
			is_layer = is_layer_type(desc->media_type, head, nhead);
			if (is_layer)
				c = rs__compress_detect(head, nhead);
			sink.digest = desc->digest;
			int64_t ratio = c == RS_COMPRESSION_GZIP   ? DA_GZIP_MAX_RATIO
			                : c == RS_COMPRESSION_ZSTD ? DA_ZSTD_MAX_RATIO
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
	rs__buf_printf(&final, "%s/%s.%s", s->tmpdir,
	               rs__da_digest_hex(is_layer ? diff_id : desc->digest),
	               is_layer ? "tar" : "blob");
	pthread_mutex_lock(&s->lock);
	if (rename(tmp.ptr, final.ptr) < 0) {
		error = rs__error_set(RS_EIO, "cannot rename %s to %s: %s", tmp.ptr, final.ptr,
		                      strerror(errno));
	} else if (rs__da_find_blob(s, desc->digest, &c_, &l_, &b_) < 0) {
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

int rs__da_manifest_put(rs_store *st, const char *reference, const void *body, size_t len,
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
		             : rs__da_json_error(s->file, "manifest", &jerr);
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
		error = rs__da_json_error(s->file, "config", &jerr);
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
		rs__buf_printf(&name, "%s.json", rs__da_digest_hex(im->config_digest));
		json_object_set_new(m, "Config", json_string(name.ptr));
		/* one image per config: no two images share this entry */
		e = out_add(list, n, name.ptr);
		e->path = cfg->path;
		e->size = cfg->file_size;
		for (size_t t = 0; t < im->tags.count; t++)
			json_array_append_new(tags, json_string(im->tags.items[t]));
		for (size_t j = 0; j < im->nlayers; j++) {
			const da_blob *b = &s->blobs[im->layers[j]];
			const char *hex = rs__da_digest_hex(b->diff_id);
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

int rs__da_commit(rs_store *st)
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
		rs__da_remove_tmpdir(s);
	}
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		rs_buf_dispose(&list[i].data);
	}
	free(list);
	return error;
}
