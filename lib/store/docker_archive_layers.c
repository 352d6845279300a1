/*
 * The docker-archive store, layer preparation: layers stored plain are compressed by a pool of
 * worker threads into temporary files (hashing both sides, checking the diff_id), layers
 * already compressed are hashed as they are; the compression cache lets a later push skip the
 * up-front compression and compress on demand in the layer reader instead. During a push to a
 * registry (rs__docker_archive_stream_to), the workers compress straight into the uploads
 * instead of into temporary files: the digest is learnt at the end and given on the final PUT.
 */
#include "store/docker_archive_int.h"
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	return rs__write_all(f->fd, data, len, f->path);
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

static rs_compression layer_out(const da_store *s, const da_layer *l)
{
	return l->src != RS_COMPRESSION_NONE ? l->src : s->comp;
}

/* One layer being prepared. */
typedef struct {
	struct archive *a;
	rs__hasher *hu, *hc; /* the tar (diff_id), the compressed bytes */
	rs__compressor *z; /* plain layers: compressing into sink */
	rs__decompressor *dz; /* compressed layers: decompressing to hash the tar */
	file_sink sink;
	char *tmp; /* the compressed copy (plain layers) */
	rs_buf what;
	int64_t total;
} prep;

/* Open the entry, the hashers and, for a plain layer, its temporary file and compressor. */
static int prep_open(prep *p, da_store *s, da_layer *l)
{
	rs_buf prefix = RS_BUF_INIT;
	int error;
	l->out = layer_out(s, l);
	if ((error = rs__da_archive_seek_entry(&p->a, s->file, l->path)) < 0 ||
	    (error = rs__hasher_new(&p->hu, "sha256")) < 0 ||
	    (error = rs__hasher_new(&p->hc, "sha256")) < 0)
		return error;
	if (l->src != RS_COMPRESSION_NONE)
		return rs__decompressor_new(&p->dz, l->src, to_hasher, p->hu);
	if (l->out == RS_COMPRESSION_NONE)
		return 0;
	rs__buf_printf(&prefix, "%s/%s.%s-", s->tmpdir, rs__da_digest_hex(l->diff_id),
	               rs__compress_name(l->out));
	if (rs__buf_oom(&prefix))
		return RS_ENOMEM;
	error = rs__file_tmp_at(&p->sink.fd, &p->tmp, AT_FDCWD, prefix.ptr, s->tmpdir);
	rs_buf_dispose(&prefix);
	if (error < 0)
		return error;
	p->sink.path = p->tmp;
	p->sink.hc = p->hc;
	p->sink.limit = compress_bound(l->entry_size);
	rs__buf_printf(&p->what, "%s: layer %s", s->file, l->path);
	if (rs__buf_oom(&p->what))
		return RS_ENOMEM;
	p->sink.what = p->what.ptr;
	if ((error = rs__compressor_new(&p->z, l->out, s->level, to_file, &p->sink)) < 0)
		return error;
	atomic_fetch_add(&s->compressions, 1);
	return 0;
}

/* Read the entry through: hash (and compress or decompress) every byte. */
static int prep_stream(prep *p, const da_store *s, const da_layer *l)
{
	unsigned char *buf = rs__malloc(DA_BUFSIZE);
	la_ssize_t n;
	int error = 0;
	if (!buf)
		return rs__oom();
	while ((n = archive_read_data(p->a, buf, DA_BUFSIZE)) > 0) {
		p->total += n;
		if ((error = rs__cancel_check()) < 0)
			break;
		if (p->z) {
			rs__hasher_update(p->hu, buf, (size_t)n);
			error = rs__compressor_write(p->z, buf, (size_t)n);
		} else if (p->dz) {
			rs__hasher_update(p->hc, buf, (size_t)n);
			error = rs__decompressor_write(p->dz, buf, (size_t)n);
		} else {
			rs__hasher_update(p->hu, buf, (size_t)n);
		}
		if (error < 0) {
			if (error != RS_EUSER && error != RS_ETOOBIG)
				rs__error_prefix("%s: layer %s", s->file, l->path);
			break;
		}
	}
	free(buf);
	if (error == 0 && n < 0)
		error = rs__da_archive_fail(p->a, s->file);
	if (error == 0 && ((p->z && (error = rs__compressor_finish(p->z)) < 0) ||
	                   (p->dz && (error = rs__decompressor_finish(p->dz)) < 0)))
		rs__error_prefix("%s: layer %s", s->file, l->path);
	return error;
}

/* Check the diff_id; record the digest and size handed out (and the compressed copy). */
static int prep_finish(prep *p, da_store *s, da_layer *l)
{
	char diff_id[RS_DIGEST_MAX];
	rs__hasher_final(p->hu, diff_id);
	if (strcmp(diff_id, l->diff_id))
		return rs__error_set(RS_EDIGEST,
		                     "%s: layer %s: diff_id mismatch: the config says %s, the "
		                     "content is %s",
		                     s->file, l->path, l->diff_id, diff_id);
	if (p->z) {
		rs__hasher_final(p->hc, l->digest);
		l->size = p->sink.size;
		if (close(p->sink.fd) < 0) {
			p->sink.fd = -1;
			return rs__error_set(RS_EIO, "cannot write %s: %s", p->tmp,
			                     strerror(errno));
		}
		p->sink.fd = -1;
		l->tmp = p->tmp;
		p->tmp = NULL;
		if (s->cache_dir)
			rs__compress_cache_put(s->cache_dir, l->diff_id, l->out, s->level,
			                       l->digest, l->size);
	} else if (p->dz) {
		rs__hasher_final(p->hc, l->digest);
		l->size = p->total;
	} else {
		memcpy(l->digest, diff_id, sizeof(diff_id));
		l->size = p->total;
	}
	l->prepared = true;
	return 0;
}

static int stream_layer(da_store *s, da_layer *l, rs_store *dst);

/* Read a layer entry once: compress it into a temporary file (plain layers) or into the upload
 * to dst (plain layers, dst non-NULL), or hash it and check its diff_id (layers handed out as
 * they are). Runs in a worker thread. */
static int prepare_layer(da_store *s, da_layer *l, rs_store *dst)
{
	prep p;
	int error;
	if (dst && l->src == RS_COMPRESSION_NONE && layer_out(s, l) != RS_COMPRESSION_NONE)
		return stream_layer(s, l, dst);
	memset(&p, 0, sizeof(p));
	p.sink.fd = -1;
	p.sink.limit = -1;
	if ((error = prep_open(&p, s, l)) == 0 && (error = prep_stream(&p, s, l)) == 0)
		error = prep_finish(&p, s, l);
	if (p.sink.fd >= 0)
		close(p.sink.fd);
	if (p.tmp)
		unlink(p.tmp); /* not handed to the layer: a failure */
	free(p.tmp);
	rs_buf_dispose(&p.what);
	rs__compressor_free(p.z);
	rs__decompressor_free(p.dz);
	rs__hasher_free(p.hu);
	rs__hasher_free(p.hc);
	if (p.a)
		archive_read_free(p.a);
	return error;
}

typedef struct {
	da_store *s;
	rs_store *dst; /* compress into uploads to this registry store, or NULL */
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
		if ((error = prepare_layer(p->s, &p->s->layers[i], p->dst)) < 0) {
			const rs_error *e = rs_error_last();
			pthread_mutex_lock(&p->mu);
			if (!p->failed) {
				p->failed = true;
				p->code = error;
				snprintf(p->message, sizeof(p->message), "%s",
				         rs_error_is_set() ? e->message : rs_strerror(error));
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
	pthread_mutex_lock(&s->lock);
	p.dst = s->push_to;
	pthread_mutex_unlock(&s->lock);
	if (!(p.todo = rs__calloc(im->nlayers ? im->nlayers : 1, sizeof(size_t))))
		return rs__oom();
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
		if (l->src == RS_COMPRESSION_NONE && l->out != RS_COMPRESSION_NONE &&
		    s->cache_dir &&
		    rs__compress_cache_get(l->digest, &l->size, s->cache_dir, l->diff_id, l->out,
		                           s->level) == 0) {
			l->prepared = l->cache_hit = true;
			continue;
		}
		p.todo[p.ntodo++] = im->layers[j];
	}
	if (!p.ntodo)
		goto done;
	/* a temporary copy only for the layers compressed here, not into an upload */
	for (size_t k = 0; k < p.ntodo && !p.dst; k++) {
		const da_layer *l = &s->layers[p.todo[k]];
		if (l->src == RS_COMPRESSION_NONE && l->out != RS_COMPRESSION_NONE) {
			if ((error = rs__da_ensure_tmpdir(s)) < 0)
				goto done;
			break;
		}
	}
	pthread_mutex_init(&p.mu, NULL);
	nthreads = s->jobs < p.ntodo ? s->jobs : p.ntodo;
	if (!(threads = rs__calloc(nthreads, sizeof(pthread_t)))) {
		pthread_mutex_destroy(&p.mu);
		error = rs__oom();
		goto done;
	}
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

/* The layer media type of the synthesised manifest (zstd has only an OCI name). */
static const char *layer_media_type(const da_store *s, rs_compression c)
{
	const char *mt = rs_mediatype_layer_for(s->format, c);
	return mt ? mt : rs_mediatype_layer_for(RS_MANIFEST_FORMAT_OCI, c);
}

static json_t *descriptor_json(const char *mt, int64_t size, const char *digest)
{
	json_t *d = json_object();
	if (json_object_set_new(d, "mediaType", json_string(mt)) < 0 ||
	    json_object_set_new(d, "size", json_integer((json_int_t)size)) < 0 ||
	    json_object_set_new(d, "digest", json_string(digest)) < 0) {
		json_decref(d);
		return NULL; /* out of memory: the strings are ours, valid UTF-8 */
	}
	return d;
}

int rs__da_synthesise_manifest(da_store *s, da_image *im)
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
	if (json_object_set_new(root, "schemaVersion", json_integer(2)) < 0 ||
	    json_object_set_new(root, "mediaType",
	                        json_string(oci ? RS_MT_OCI_MANIFEST : RS_MT_DOCKER_MANIFEST)) <
	            0 ||
	    json_object_set_new(root, "config",
	                        descriptor_json(oci ? RS_MT_OCI_CONFIG : RS_MT_DOCKER_CONFIG,
	                                        (int64_t)im->config.size, im->config_digest)) < 0)
		goto oom;
	for (size_t j = 0; j < im->nlayers; j++) {
		const da_layer *l = &s->layers[im->layers[j]];
		if (json_array_append_new(layers, descriptor_json(layer_media_type(s, l->out),
		                                                  l->size, l->digest)) < 0)
			goto oom;
	}
	error = json_object_set_new(root, "layers", layers);
	layers = NULL;
	if (error < 0)
		goto oom;
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		return rs__oom();
	free(im->manifest_mt);
	im->manifest_mt = rs__strdup(oci ? RS_MT_OCI_MANIFEST : RS_MT_DOCKER_MANIFEST);
	rs__buf_puts(&im->manifest, text);
	free(text);
	if (!im->manifest_mt || rs__buf_oom(&im->manifest)) {
		/* nothing half-made stays: the next manifest_get tries again */
		rs_buf_dispose(&im->manifest);
		free(im->manifest_mt);
		im->manifest_mt = NULL;
		return rs__oom();
	}
	rs__sha256_digest(im->manifest_digest, im->manifest.ptr, im->manifest.size);
	return 0;
oom:
	json_decref(layers);
	json_decref(root);
	return rs__oom();
}

/* ---- readers ----------------------------------------------------------------------------- */

/* A layer entry streamed from the archive, as is or compressed on demand. */
typedef struct {
	rs_reader parent;
	char *file, *name;
	struct archive *a;
	/* compression on demand (cache hit; learn: the digest is not known yet) */
	bool compress, learn;
	rs_compression comp;
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
	if (er->hc)
		rs__hasher_update(er->hc, data, len);
	er->produced += (int64_t)len;
	rs__buf_put(&er->pending, data, len);
	return rs__buf_oom(&er->pending) ? RS_ENOMEM : 0;
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
	if ((error = rs__da_archive_seek_entry(&er->a, er->file, er->name)) < 0)
		return error;
	if (!er->compress)
		return 0;
	/* learning, the upload hashes the compressed bytes itself: no second pass here */
	if ((error = rs__hasher_new(&er->hu, "sha256")) < 0 ||
	    (!er->learn && (error = rs__hasher_new(&er->hc, "sha256")) < 0) ||
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
	if (strcmp(diff_id, er->diff_id))
		return rs__error_set(RS_EDIGEST,
		                     "%s: layer %s: diff_id mismatch: the config says %s, the "
		                     "content is %s",
		                     er->file, er->name, er->diff_id, diff_id);
	if (er->learn) {
		er->expected_size = er->produced;
		return 0;
	}
	rs__hasher_final(er->hc, digest);
	if (strcmp(digest, er->digest) || er->produced != er->expected_size) {
		if (er->cache_dir)
			rs__compress_cache_remove(er->cache_dir, er->diff_id, er->comp, er->level);
		return rs__error_set(RS_EDIGEST,
		                     "%s: layer %s: compressing again gave %s (%" PRId64
		                     " bytes), the compression cache said %s (%" PRId64
		                     " bytes); the cache entry (if any) was removed, try again",
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
		return n < 0 ? rs__da_archive_fail(er->a, er->file) : (long long)n;
	}
	while (er->pending_off == er->pending.size && !er->done) {
		rs__buf_clear(&er->pending);
		er->pending_off = 0;
		n = archive_read_data(er->a, er->in, sizeof(er->in));
		if (n < 0)
			return rs__da_archive_fail(er->a, er->file);
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

/* An entry reader; learn: compress l into out without knowing the result (stream_layer). */
static int entry_reader_open(entry_reader **out, da_store *s, const da_layer *l, bool learn)
{
	entry_reader *er = rs__calloc(1, sizeof(*er));
	int error;
	if (!er)
		return rs__oom();
	er->parent.read = entry_read;
	er->parent.rewind = entry_rewind;
	er->parent.free = entry_free;
	er->parent.size = learn ? -1 : l->cache_hit ? l->size : l->entry_size;
	er->file = rs__strdup(s->file);
	er->name = rs__strdup(l->path);
	er->counter = &s->compressions;
	if (!er->file || !er->name) {
		entry_free(&er->parent);
		return rs__oom();
	}
	if (l->cache_hit || learn) {
		er->compress = true;
		er->learn = learn;
		er->comp = l->out;
		er->level = s->level;
		if (s->cache_dir && !(er->cache_dir = rs__strdup(s->cache_dir))) {
			entry_free(&er->parent);
			return rs__oom();
		}
		memcpy(er->diff_id, l->diff_id, RS_DIGEST_MAX);
		memcpy(er->digest, l->digest, RS_DIGEST_MAX);
		er->expected_size = l->size;
	}
	if (!er->file || !er->name || (l->cache_hit && s->cache_dir && !er->cache_dir)) {
		entry_free(&er->parent);
		return rs__oom();
	}
	if ((error = entry_reader_start(er)) < 0) {
		entry_free(&er->parent);
		return error;
	}
	*out = er;
	return 0;
}

int rs__da_entry_reader_new(rs_reader **out, da_store *s, const da_layer *l)
{
	entry_reader *er = NULL;
	int error = entry_reader_open(&er, s, l, false);
	if (error == 0)
		*out = &er->parent;
	return error;
}

/* ---- compressing into a push ------------------------------------------------------------- */

/* Compress the plain layer l straight into an upload to the registry store dst: the digest
 * and size are learnt on the way (the upload hashes the bytes it sends), the diff_id is
 * checked before the final PUT, and the compression cache learns the result so a later push
 * finds the blob with a HEAD without compressing. Runs in a worker thread. */
static int stream_layer(da_store *s, da_layer *l, rs_store *dst)
{
	entry_reader *er = NULL;
	char digest[RS_DIGEST_MAX];
	int64_t size = -1;
	int error;
	l->out = layer_out(s, l);
	if ((error = entry_reader_open(&er, s, l, true)) < 0)
		return error;
	error = rs__store_registry_upload_streamed(dst, &er->parent, digest, &size);
	/* the digest is the upload's own hash of the bytes it sent */
	if (error == 0 && (!er->done || size != er->expected_size))
		error = rs__error_set(RS_EDIGEST,
		                      "%s: layer %s: the upload sent %" PRId64
		                      " bytes, the compressor produced %" PRId64,
		                      s->file, l->path, size, er->expected_size);
	if (error == 0) {
		memcpy(l->digest, digest, sizeof(digest));
		l->size = size;
		l->prepared = l->cache_hit = true; /* read again: compressed again, and checked */
		pthread_mutex_lock(&s->lock);
		l->pushed_to = dst;
		pthread_mutex_unlock(&s->lock);
		if (s->cache_dir)
			rs__compress_cache_put(s->cache_dir, l->diff_id, l->out, s->level,
			                       l->digest, l->size);
	} else if (error != RS_EUSER && error != RS_EDIGEST) {
		rs__error_prefix("%s: layer %s", s->file, l->path);
	}
	entry_free(&er->parent);
	return error;
}

static da_store *reading_archive(const rs_store *st)
{
	const char *scheme = rs_store_scheme(st);
	da_store *s = (da_store *)(uintptr_t)st;
	if (!st || !scheme || strcmp(scheme, "docker-archive") || s->writing)
		return NULL;
	return s;
}

void rs__docker_archive_stream_to(rs_store *src, rs_store *dst, bool on)
{
	da_store *s = reading_archive(src);
	if (!s || !rs__store_registry_client(dst))
		return;
	pthread_mutex_lock(&s->lock);
	if (on) {
		/* one destination at a time: another one meanwhile compresses to temporary files */
		if (!s->push_users++)
			s->push_to = dst;
		else if (s->push_to != dst)
			s->push_to = NULL;
	} else if (s->push_users && !--s->push_users) {
		s->push_to = NULL;
		/* dst may go away now: forget it (its address could be reused) */
		for (size_t i = 0; i < s->nlayers; i++)
			s->layers[i].pushed_to = NULL;
	}
	pthread_mutex_unlock(&s->lock);
}

bool rs__docker_archive_pushed(const rs_store *src, const rs_store *dst, const char *digest)
{
	da_store *s = reading_archive(src);
	bool pushed = false;
	if (!s || !dst || !digest)
		return false;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nlayers && !pushed; i++)
		pushed = s->layers[i].pushed_to == dst && !strcmp(s->layers[i].digest, digest);
	pthread_mutex_unlock(&s->lock);
	return pushed;
}
