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

/* No gzip stream expands more than 1032 times (deflate's limit), and no zstd stream more than
 * 32768 times (a 128 KiB block, the most a block holds, in a 4-byte RLE block): a layer that
 * expands beyond that from its declared size is not a real layer, and is refused at once instead
 * of filling $TMPDIR. */
#define DA_GZIP_MAX_RATIO 1032
#define DA_ZSTD_MAX_RATIO 32768

static int to_tar(const void *data, size_t len, void *payload)
{
	da_tar_sink *t = payload;
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

int rs__da_blob_in_open(da_blob_in *b, da_store *s, const rs_descriptor *desc)
{
	rs_buf prefix = RS_BUF_INIT;
	int error;
	memset(b, 0, sizeof(*b));
	b->s = s;
	b->desc = desc;
	b->sink.fd = -1;
	b->sink.limit = -1;
	b->sink.digest = desc->digest;
	pthread_mutex_lock(&s->lock);
	error = rs__da_ensure_tmpdir(s);
	pthread_mutex_unlock(&s->lock);
	if (error < 0)
		return error;
	/* O_CLOEXEC, O_EXCL, mode 0600 */
	rs__buf_printf(&prefix, "%s/put-", s->tmpdir);
	if (rs__buf_oom(&prefix))
		return RS_ENOMEM;
	error = rs__file_tmp_at(&b->sink.fd, &b->tmp, AT_FDCWD, prefix.ptr, s->tmpdir);
	rs_buf_dispose(&prefix);
	if (error < 0)
		return error;
	b->sink.path = b->tmp;
	if ((error = rs__hasher_new(&b->hc, strncmp(desc->digest, "sha512:", 7) ? "sha256"
	                                                                        : "sha512")) < 0 ||
	    (error = rs__hasher_new(&b->hu, "sha256")) < 0)
		return error;
	b->sink.hu = b->hu;
	return 0;
}

static int blob_in_decompress(da_blob_in *b, const void *data, size_t len)
{
	int error = rs__decompressor_write(b->dz, data, len);
	if (error < 0 && error != RS_ETOOBIG && error != RS_EUSER)
		rs__error_prefix("blob %s", b->desc->digest);
	return error;
}

/* The first bytes are known: a layer (by media type, else by not being JSON) is decompressed
 * into its tar, bounded by what its compression can produce from its declared size. */
static int blob_in_start(da_blob_in *b)
{
	rs_compression c = RS_COMPRESSION_NONE;
	int64_t ratio;
	int error;
	b->is_layer = is_layer_type(b->desc->media_type, b->head, b->nhead);
	if (b->is_layer)
		c = rs__compress_detect(b->head, b->nhead);
	ratio = c == RS_COMPRESSION_GZIP   ? DA_GZIP_MAX_RATIO
	        : c == RS_COMPRESSION_ZSTD ? DA_ZSTD_MAX_RATIO
	                                   : 0;
	if (ratio && b->desc->size >= 0 && b->desc->size < INT64_MAX / ratio - 1)
		b->sink.limit = b->desc->size * ratio + 64 * 1024;
	if ((error = rs__decompressor_new(&b->dz, c, to_tar, &b->sink)) < 0)
		return error;
	return blob_in_decompress(b, b->head, b->nhead);
}

int rs__da_blob_in_feed(da_blob_in *b, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t off = 0;
	int error;
	if (len > 0) {
		b->total += (int64_t)len;
		if (b->desc->size >= 0 && b->total > b->desc->size)
			return rs__error_set(RS_EDIGEST,
			                     "blob %s: more than the %" PRId64
			                     " bytes announced arrived",
			                     b->desc->digest, b->desc->size);
		rs__hasher_update(b->hc, data, len);
	}
	/* keep the first bytes until the format is known */
	while (!b->dz && b->nhead < sizeof(b->head) && off < len)
		b->head[b->nhead++] = p[off++];
	if (!b->dz && (b->nhead == sizeof(b->head) || len == 0) && (error = blob_in_start(b)) < 0)
		return error;
	if (b->dz && off < len)
		return blob_in_decompress(b, p + off, len - off);
	return 0;
}

/* Record a received blob under its final name (s->lock held). */
static int blob_in_record(da_blob_in *b, const char *got, const char *diff_id)
{
	da_store *s = b->s;
	rs_buf final = RS_BUF_INIT;
	int error = 0;
	rs__buf_printf(&final, "%s/%s.%s", s->tmpdir,
	               rs__da_digest_hex(b->is_layer ? diff_id : b->desc->digest),
	               b->is_layer ? "tar" : "blob");
	if (rs__buf_oom(&final)) {
		error = RS_ENOMEM;
	} else if (rename(b->tmp, final.ptr) < 0) {
		error = rs__error_set(RS_EIO, "cannot rename %s to %s: %s", b->tmp, final.ptr,
		                      strerror(errno));
	} else if (!rs__da_blob_by_digest(s, b->desc->digest)) {
		da_blob *nb = rs__realloc(s->blobs, (s->nblobs + 1) * sizeof(da_blob));
		if (!nb) {
			unlink(final.ptr);
			rs_buf_dispose(&final);
			return rs__oom();
		}
		s->blobs = nb;
		nb = &s->blobs[s->nblobs++];
		memset(nb, 0, sizeof(*nb));
		memcpy(nb->digest, got, RS_DIGEST_MAX);
		memcpy(nb->diff_id, b->is_layer ? diff_id : got, RS_DIGEST_MAX);
		nb->size = b->total;
		nb->is_layer = b->is_layer;
		nb->path = rs__buf_detach(&final);
		nb->file_size = b->sink.size;
	}
	rs_buf_dispose(&final);
	return error;
}

int rs__da_blob_in_finish(da_blob_in *b)
{
	char got[RS_DIGEST_MAX], diff_id[RS_DIGEST_MAX];
	int error;
	if ((error = rs__da_blob_in_feed(b, NULL, 0)) < 0)
		return error;
	if ((error = rs__decompressor_finish(b->dz)) < 0) {
		if (error != RS_ETOOBIG && error != RS_EUSER)
			rs__error_prefix("blob %s", b->desc->digest);
		return error;
	}
	rs__hasher_final(b->hc, got);
	if (strcmp(got, b->desc->digest) || (b->desc->size >= 0 && b->total != b->desc->size))
		return rs__error_set(RS_EDIGEST,
		                     "blob %s: digest mismatch: got %s (%" PRId64 " bytes, %" PRId64
		                     " announced)",
		                     b->desc->digest, got, b->total, b->desc->size);
	rs__hasher_final(b->hu, diff_id);
	if (close(b->sink.fd) < 0) {
		b->sink.fd = -1;
		return rs__error_set(RS_EIO, "cannot write %s: %s", b->tmp, strerror(errno));
	}
	b->sink.fd = -1;
	pthread_mutex_lock(&b->s->lock);
	error = blob_in_record(b, got, diff_id);
	pthread_mutex_unlock(&b->s->lock);
	if (error == 0)
		b->done = true;
	return error;
}

void rs__da_blob_in_dispose(da_blob_in *b)
{
	if (b->sink.fd >= 0)
		close(b->sink.fd);
	b->sink.fd = -1;
	if (!b->done && b->tmp)
		unlink(b->tmp);
	free(b->tmp);
	b->tmp = NULL;
	rs__decompressor_free(b->dz);
	rs__hasher_free(b->hc);
	rs__hasher_free(b->hu);
	b->dz = NULL;
	b->hc = b->hu = NULL;
}

int rs__da_blob_put(rs_store *st, const rs_descriptor *desc, rs_reader *r, rs_transfer_cb cb,
                    void *payload)
{
	da_store *s = (da_store *)st;
	da_blob_in b;
	unsigned char *buf = NULL;
	bool stored;
	int error;

	if (!s->writing || s->committed)
		return rs__error_set(RS_EUNSUPPORTED, "%s is not open for writing", s->file);
	if (!desc || (error = rs__digest_check(desc->digest)) < 0)
		return desc ? error : rs__error_set(RS_EINVAL, "blob_put without a descriptor");
	pthread_mutex_lock(&s->lock);
	stored = rs__da_blob_by_digest(s, desc->digest) != NULL;
	pthread_mutex_unlock(&s->lock);
	if (stored)
		return 0;
	if ((error = rs__da_blob_in_open(&b, s, desc)) < 0)
		goto done;
	if (!(buf = rs__malloc(DA_BUFSIZE))) {
		error = rs__oom();
		goto done;
	}
	for (;;) {
		long long n;
		if ((error = rs__cancel_check()) < 0)
			goto done;
		if ((n = r->read(r, buf, DA_BUFSIZE)) < 0) {
			error = (int)n;
			goto done;
		}
		if ((error = rs__da_blob_in_feed(&b, buf, (size_t)n)) < 0)
			goto done;
		if (n == 0)
			break;
		if (cb && cb((uint64_t)b.total, payload)) {
			error = rs__error_set(RS_EUSER, "blob %s: transfer cancelled",
			                      desc->digest);
			goto done;
		}
	}
	error = rs__da_blob_in_finish(&b);
done:
	rs__da_blob_in_dispose(&b);
	free(buf);
	return error;
}

const da_blob *rs__da_blob_by_digest(const da_store *s, const char *digest)
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
		if (!(*out = rs_ref_format(ref)))
			error = RS_ENOMEM;
	}
	rs_ref_free(ref);
	return error;
}

/* An OCI artifact (an SBOM, a signature, ...): artifactType, a config that is not an image
 * config, or a layer that is not an image layer. Its type for messages, or NULL. */
static const char *artifact_type(const json_t *root)
{
	const char *at = json_string_value(json_object_get(root, "artifactType"));
	const char *cmt =
	        json_string_value(json_object_get(json_object_get(root, "config"), "mediaType"));
	const json_t *layers = json_object_get(root, "layers");
	if (at)
		return at;
	if (cmt && strcmp(cmt, RS_MT_OCI_CONFIG) && strcmp(cmt, RS_MT_DOCKER_CONFIG))
		return cmt;
	for (size_t j = 0; j < json_array_size(layers); j++) {
		const char *lmt =
		        json_string_value(json_object_get(json_array_get(layers, j), "mediaType"));
		if (lmt && !rs_mediatype_is_layer(lmt))
			return lmt;
	}
	return NULL;
}

/* What a docker archive cannot hold: an index, another kind of manifest, an artifact. */
static int check_manifest_kind(const char **mt, const json_t *root, const char *reference,
                               const char *media_type)
{
	const char *at;
	*mt = json_string_value(json_object_get(root, "mediaType"));
	if (!*mt)
		*mt = media_type;
	if (json_object_get(root, "manifests") ||
	    (*mt && (!strcmp(*mt, RS_MT_OCI_INDEX) || !strcmp(*mt, RS_MT_DOCKER_LIST))))
		return rs__error_set(RS_EUNSUPPORTED,
		                     "docker-archive holds single-platform images; use --platform");
	if (*mt && strcmp(*mt, RS_MT_DOCKER_MANIFEST) && strcmp(*mt, RS_MT_OCI_MANIFEST))
		return rs__error_set(RS_EUNSUPPORTED,
		                     "docker-archive cannot hold a manifest of type %s", *mt);
	if ((at = artifact_type(root)) != NULL)
		return rs__error_set(RS_EUNSUPPORTED,
		                     "%s is an artifact (artifactType %s), not a container image: "
		                     "pull it to oci:",
		                     reference && reference[0] ? reference : "the manifest", at);
	if (!json_is_array(json_object_get(root, "layers")))
		return rs__error_set(RS_EFORMAT, "manifest: no \"layers\" array");
	return 0;
}

/* Layers with `urls` that were not stored (the copy engine moves no foreign layer): fetch them
 * now, before the blob table is locked for the manifest. */
static int fetch_foreign_layers(da_store *s, const json_t *layers)
{
	for (size_t j = 0; j < json_array_size(layers); j++) {
		const json_t *v = json_array_get(layers, j);
		const char *d = json_string_value(json_object_get(v, "digest"));
		bool stored;
		int error;
		if (!d || !json_array_size(json_object_get(v, "urls")))
			continue;
		pthread_mutex_lock(&s->lock);
		stored = rs__da_blob_by_digest(s, d) != NULL;
		pthread_mutex_unlock(&s->lock);
		if (!stored && (error = rs__da_fetch_foreign(s, v)) < 0)
			return error;
	}
	return 0;
}

/* The stored config the manifest names, parsed, with one diff_id per layer (s->lock held). */
static int load_config(const da_blob **cfg, json_t **cfgj, da_store *s, const json_t *root,
                       size_t nlayers)
{
	rs_buf bytes = RS_BUF_INIT;
	json_error_t jerr;
	const json_t *ids;
	int error;
	*cfg = rs__da_blob_by_digest(
	        s, json_string_value(json_object_get(json_object_get(root, "config"), "digest")));
	if (!*cfg || (*cfg)->is_layer)
		return rs__error_set(RS_ENOTFOUND,
		                     "%s: the config blob of the manifest was not stored first",
		                     s->file);
	if ((error = rs__file_read_regular(&bytes, AT_FDCWD, (*cfg)->path, DA_JSON_MAX, 0, NULL)) <
	    0)
		return error;
	*cfgj = json_loadb(bytes.ptr, bytes.size, 0, &jerr);
	rs_buf_dispose(&bytes);
	if (!*cfgj)
		return rs__da_json_error(s->file, "config", &jerr);
	ids = json_object_get(json_object_get(*cfgj, "rootfs"), "diff_ids");
	if (!json_is_array(ids) || json_array_size(ids) != nlayers)
		return rs__error_set(RS_EFORMAT, "config %s lists %zu diff_ids for %zu layers",
		                     (*cfg)->digest, json_is_array(ids) ? json_array_size(ids) : 0,
		                     nlayers);
	return 0;
}

/* The stored layer for layer j of the manifest, checked against the config's diff_id. */
static int match_layer(size_t *out, const da_store *s, const json_t *layer, const char *diff_id)
{
	const char *d = json_string_value(json_object_get(layer, "digest"));
	const char *mt = json_string_value(json_object_get(layer, "mediaType"));
	const da_blob *b = rs__da_blob_by_digest(s, d);
	if (!b && mt && rs_mediatype_is_foreign(mt))
		return rs__error_set(RS_ENOTFOUND,
		                     "%s: layer %s of the manifest is foreign (%s) and lists no "
		                     "URLs to fetch it from",
		                     s->file, d ? d : "(no digest)", mt);
	if (!b || !b->is_layer)
		return rs__error_set(b ? RS_EUNSUPPORTED : RS_ENOTFOUND,
		                     "%s: layer %s of the manifest %s", s->file,
		                     d ? d : "(no digest)",
		                     b ? "is not an image layer" : "was not stored first");
	if (!diff_id || strcmp(diff_id, b->diff_id))
		return rs__error_set(RS_EDIGEST,
		                     "layer %s: diff_id mismatch: the config says %s, the content "
		                     "is %s",
		                     d, diff_id ? diff_id : "(none)", b->diff_id);
	*out = (size_t)(b - s->blobs);
	return 0;
}

/* A new image for the manifest (s->lock held). */
static int add_image(da_image **out, da_store *s, const da_blob *cfg, const json_t *layers,
                     const json_t *ids, const void *body, size_t len, const char *mt)
{
	size_t n = json_array_size(layers);
	size_t *idx = rs__calloc(n + 1, sizeof(size_t));
	da_image *im;
	char *mtc;
	int error;
	if (!idx)
		return rs__oom();
	for (size_t j = 0; j < n; j++) {
		if ((error = match_layer(&idx[j], s, json_array_get(layers, j),
		                         json_string_value(json_array_get(ids, j)))) < 0) {
			free(idx);
			return error;
		}
	}
	mtc = rs__strdup(mt ? mt : RS_MT_DOCKER_MANIFEST);
	im = mtc ? rs__realloc(s->images, (s->nimages + 1) * sizeof(da_image)) : NULL;
	if (!im) {
		free(mtc);
		free(idx);
		return rs__oom();
	}
	s->images = im;
	im = &s->images[s->nimages++];
	memset(im, 0, sizeof(*im));
	memcpy(im->config_digest, cfg->digest, RS_DIGEST_MAX);
	im->layers = idx;
	im->nlayers = n;
	rs__buf_put(&im->manifest, body, len);
	im->manifest_mt = mtc;
	if (rs__buf_oom(&im->manifest)) { /* nothing half-made stays */
		free(im->manifest_mt);
		free(im->layers);
		s->nimages--;
		return RS_ENOMEM;
	}
	rs__sha256_digest(im->manifest_digest, body, len);
	*out = im;
	return 0;
}

/* A tag names one image: take it from any other (s->lock held). Takes tag. 0 or RS_ENOMEM
 * (the tag then names no image). */
static int move_tag(da_store *s, da_image *im, char *tag)
{
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
	return rs__strlist_push_owned(&im->tags, tag);
}

int rs__da_manifest_put(rs_store *st, const char *reference, const void *body, size_t len,
                        const char *media_type)
{
	da_store *s = (da_store *)st;
	json_error_t jerr;
	json_t *root = NULL, *cfgj = NULL, *layers;
	const da_blob *cfg;
	char *tag = NULL;
	const char *mt;
	da_image *im = NULL;
	bool locked = false;
	int error = 0;

	if (!s->writing || s->committed)
		return rs__error_set(RS_EUNSUPPORTED, "%s is not open for writing", s->file);
	if (!(root = json_loadb(body, len, 0, &jerr)) || !json_is_object(root)) {
		error = root ? rs__error_set(RS_EFORMAT, "manifest: not a JSON object")
		             : rs__da_json_error(s->file, "manifest", &jerr);
		goto done;
	}
	layers = json_object_get(root, "layers");
	if ((error = check_manifest_kind(&mt, root, reference, media_type)) < 0 ||
	    (error = repo_tag(&tag, reference)) < 0 ||
	    (error = fetch_foreign_layers(s, layers)) < 0)
		goto done;
	/* the blob table may grow under parallel blob_put calls: hold the lock from here */
	pthread_mutex_lock(&s->lock);
	locked = true;
	if ((error = load_config(&cfg, &cfgj, s, root, json_array_size(layers))) < 0)
		goto done;
	/* same config: the same image, one more tag */
	for (size_t i = 0; i < s->nimages && !im; i++)
		if (!strcmp(s->images[i].config_digest, cfg->digest))
			im = &s->images[i];
	if (!im && (error = add_image(&im, s, cfg, layers,
	                              json_object_get(json_object_get(cfgj, "rootfs"), "diff_ids"),
	                              body, len, mt)) < 0)
		goto done;
	if (tag) {
		error = move_tag(s, im, tag);
		tag = NULL;
	}
done:
	if (locked)
		pthread_mutex_unlock(&s->lock);
	free(tag);
	json_decref(root);
	json_decref(cfgj);
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

/* Out of memory: *oom is set and a scratch entry (never listed) is returned, so that the
 * caller goes on and checks *oom once at the end. */
static _Thread_local out_entry scratch;

static out_entry *out_add(out_entry **list, size_t *n, const char *name, bool *oom)
{
	out_entry *e = *oom ? NULL : rs__realloc(*list, (*n + 1) * sizeof(out_entry));
	char *copy;
	if (e)
		*list = e; /* the old block is gone either way */
	copy = e ? rs__strdup(name) : NULL;
	if (!e || !copy) {
		free(copy);
		*oom = true;
		rs_buf_dispose(&scratch.data);
		memset(&scratch, 0, sizeof(scratch));
		return &scratch;
	}
	*list = e;
	e = &(*list)[(*n)++];
	memset(e, 0, sizeof(*e));
	e->name = copy;
	return e;
}

static void out_add_json(out_entry **list, size_t *n, const char *name, json_t *j, bool *oom)
{
	char *text = j && !*oom ? json_dumps(j, JSON_COMPACT) : NULL;
	out_entry *e;
	if (!text) {
		*oom = true;
		return;
	}
	e = out_add(list, n, name, oom);
	rs__buf_puts(&e->data, text);
	e->size = (int64_t)e->data.size;
	*oom = *oom || rs__buf_oom(&e->data);
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

/* 0 or RS_ENOMEM (whatever was listed is the caller's to free either way) */
static int build_entries(out_entry **list, size_t *n, const da_store *s)
{
	json_t *manifest = json_array(), *repos = json_object();
	rs_buf name = RS_BUF_INIT;
	bool oom = !manifest || !repos;
	for (size_t i = 0; i < s->nimages; i++) {
		const da_image *im = &s->images[i];
		const da_blob *cfg = rs__da_blob_by_digest(s, im->config_digest);
		json_t *m = json_object(), *tags = json_array(), *layers = json_array();
		const char *parent = NULL;
		out_entry *e;
		rs__buf_clear(&name);
		rs__buf_printf(&name, "%s.json", rs__da_digest_hex(im->config_digest));
		oom |= !m || !tags || !layers || rs__buf_oom(&name);
		oom |= json_object_set_new(m, "Config", json_string(name.ptr)) < 0;
		/* one image per config: no two images share this entry */
		e = out_add(list, n, name.ptr, &oom);
		e->path = cfg->path;
		e->size = cfg->file_size;
		for (size_t t = 0; t < im->tags.count; t++)
			oom |= json_array_append_new(tags, json_string(im->tags.items[t])) < 0;
		for (size_t j = 0; j < im->nlayers; j++) {
			const da_blob *b = &s->blobs[im->layers[j]];
			const char *hex = rs__da_digest_hex(b->diff_id);
			rs__buf_clear(&name);
			rs__buf_printf(&name, "%s/layer.tar", hex);
			oom |= json_array_append_new(layers, json_string(name.ptr)) < 0;
			if (!layer_listed(s, im->layers[j], i, j)) {
				json_t *v1 = json_object();
				e = out_add(list, n, hex, &oom);
				e->dir = true;
				e = out_add(list, n, name.ptr, &oom);
				e->path = b->path;
				e->size = b->file_size;
				rs__buf_clear(&name);
				rs__buf_printf(&name, "%s/VERSION", hex);
				e = out_add(list, n, name.ptr, &oom);
				rs__buf_puts(&e->data, "1.0");
				oom |= rs__buf_oom(&e->data);
				e->size = 3;
				oom |= json_object_set_new(v1, "id", json_string(hex)) < 0;
				if (parent)
					oom |= json_object_set_new(v1, "parent",
					                           json_string(parent)) < 0;
				rs__buf_clear(&name);
				rs__buf_printf(&name, "%s/json", hex);
				out_add_json(list, n, name.ptr, v1, &oom);
				json_decref(v1);
			}
			parent = hex;
		}
		oom |= json_object_set_new(m, "RepoTags", im->tags.count ? tags : json_null()) < 0;
		if (!im->tags.count)
			json_decref(tags);
		oom |= json_object_set_new(m, "Layers", layers) < 0;
		oom |= json_array_append_new(manifest, m) < 0;
		/* repositories: {"name": {"tag": "<top layer id>"}} */
		for (size_t t = 0; t < im->tags.count && parent; t++) {
			const char *full = im->tags.items[t], *colon = strrchr(full, ':');
			char *repo = rs__strndup(full, (size_t)(colon - full));
			json_t *r = repo ? json_object_get(repos, repo) : NULL;
			if (!repo) {
				oom = true;
				break;
			}
			if (!r && json_object_set_new(repos, repo, r = json_object()) < 0) {
				oom = true; /* r went with the failed call */
				free(repo);
				break;
			}
			oom |= json_object_set_new(r, colon + 1, json_string(parent)) < 0;
			free(repo);
		}
	}
	out_add_json(list, n, "manifest.json", manifest, &oom);
	out_add_json(list, n, "repositories", repos, &oom);
	json_decref(manifest);
	json_decref(repos);
	oom |= rs__buf_oom(&name);
	rs_buf_dispose(&name);
	rs_buf_dispose(&scratch.data);
	if (oom)
		return rs__oom();
	if (*n)
		qsort(*list, *n, sizeof(out_entry), out_cmp);
	return 0;
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
	if ((error = build_entries(&list, &n, s)) == 0 &&
	    (error = rs__tar_write_file(&s->dest, n, write_entry, list)) == 0) {
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
