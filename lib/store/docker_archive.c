/*
 * The docker-archive store: `docker save` tarballs, read and written.
 *
 * Reading indexes the tar sequentially with libarchive (docker_archive_read.c); blob_open
 * re-opens the archive and streams the one entry it needs, as regclient does. manifest_get
 * synthesises the manifest a push sends (docker_archive_layers.c): layers stored plain in the
 * archive are compressed (in parallel, into temporary files) while their diff_id is checked
 * against the config; layers already compressed pass through unchanged. A compression cache
 * remembers (diff_id, algorithm, level) -> (digest, size) so that a second push of the same
 * archive compresses nothing up front.
 *
 * Writing (docker_archive_write.c) decompresses incoming layers into <tmpdir>/<diffid-hex>.tar
 * and, at commit, writes a legacy docker-save tar (manifest.json, repositories,
 * <config-hex>.json, <diffid-hex>/{layer.tar,VERSION,json}) next to FILE and renames it over
 * FILE. This file holds the store's lifetime, image selection and the reading operations.
 */
#include "regship/ref.h"
#include "store/docker_archive_int.h"
#include "util/json.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rs_store_ops da_ops;

/* ---- small helpers ----------------------------------------------------------------------- */

const char *rs__da_digest_hex(const char *digest)
{
	const char *colon = strchr(digest, ':');
	return colon ? colon + 1 : digest;
}

int rs__da_ensure_tmpdir(da_store *s)
{
	rs_buf b = RS_BUF_INIT;
	if (s->tmpdir)
		return 0;
	rs__buf_printf(&b, "%s/regship-docker-archive-XXXXXX", s->tmp_parent);
	if (rs__buf_oom(&b))
		return RS_ENOMEM;
	if (!mkdtemp(b.ptr)) {
		int error = rs__error_set(RS_EIO, "cannot create a temporary directory in %s: %s",
		                          s->tmp_parent, strerror(errno));
		rs_buf_dispose(&b);
		return error;
	}
	s->tmpdir = rs__buf_detach(&b);
	return 0;
}

void rs__da_remove_tmpdir(da_store *s)
{
	DIR *d;
	struct dirent *de;
	if (!s->tmpdir)
		return;
	/* a flat directory made by mkdtemp: everything in it is ours */
	if ((d = opendir(s->tmpdir)) != NULL) {
		/* relative to the directory: cleanup needs no memory of ours */
		while ((de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			unlinkat(dirfd(d), de->d_name, 0);
		}
		closedir(d);
	}
	rmdir(s->tmpdir);
	free(s->tmpdir);
	s->tmpdir = NULL;
}

/* A reference as a normalised full reference ("docker.io/library/ubuntu:latest"). */
int rs__da_normalise_ref(char **out, const char *text)
{
	rs_ref *ref = NULL;
	int error;
	if ((error = rs_ref_parse(&ref, text, RS_REF_ANY)) < 0)
		return error;
	*out = rs_ref_format(ref);
	rs_ref_free(ref);
	return *out ? 0 : RS_ENOMEM;
}

int rs__da_json_error(const char *file, const char *what, const json_error_t *jerr)
{
	if (rs__json_oom(jerr))
		return rs__oom();
	return rs__error_set(RS_EFORMAT, "%s: %s: malformed JSON: %s (line %d)", file, what,
	                     jerr->text, jerr->line);
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
		if (rs__buf_oom(&list)) {
			error = RS_ENOMEM; /* (set) */
			goto done;
		}
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
	if ((error = rs__da_normalise_ref(&norm, reference)) < 0)
		goto done;
	for (size_t i = 0; i < s->nimages; i++) {
		if (rs__strlist_contains(&s->images[i].tags, norm)) {
			*out = &s->images[i];
			goto done;
		}
	}
	describe_images(&list, s);
	if (rs__buf_oom(&list)) {
		error = RS_ENOMEM; /* (set) */
		goto done;
	}
	error = rs__error_set(RS_ENOTFOUND, "%s has no image tagged %s (it holds: %s)", s->file,
	                      norm, list.size ? list.ptr : "nothing");
done:
	free(norm);
	rs_buf_dispose(&list);
	return error;
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
	           (error = rs__da_synthesise_manifest(s, im)) < 0) {
		return error;
	}
	if (body) {
		rs__buf_clear(body);
		rs__buf_put(body, im->manifest.ptr, im->manifest.size);
		if (rs__buf_oom(body))
			return RS_ENOMEM;
	}
	if (media_type && !(*media_type = rs__strdup(im->manifest_mt)))
		return rs__oom();
	if (digest && !(*digest = rs__strdup(im->manifest_digest))) {
		if (media_type) {
			free(*media_type);
			*media_type = NULL;
		}
		return rs__oom();
	}
	return 0;
}

int rs__da_find_blob(const da_store *s, const char *digest, const da_image **cfg,
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
	error = rs__da_find_blob(s, desc ? desc->digest : NULL, &cfg, &l, &b);
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
		if ((error = rs__da_find_blob(s, desc ? desc->digest : NULL, &cfg, &l, &b)) == 0) {
			if (b->is_layer)
				error = rs__error_set(
				        RS_EUNSUPPORTED,
				        "%s: layer %s is stored uncompressed and cannot "
				        "be read back before commit",
				        s->file, b->digest);
			else if (!(path = rs__strdup(b->path)))
				error = rs__oom();
		}
		pthread_mutex_unlock(&s->lock);
		if (error == 0)
			error = rs__reader_from_path(out, path);
		free(path);
		return error;
	}
	if ((error = rs__da_find_blob(s, desc ? desc->digest : NULL, &cfg, &l, &b)) < 0)
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
	return rs__da_entry_reader_new(out, s, l);
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

/* ---- lifetime ---------------------------------------------------------------------------- */

static void da_free(rs_store *st)
{
	da_store *s = (da_store *)st;
	if (!s)
		return;
	rs__da_remove_tmpdir(s);
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
	rs__spool_dispose(&s->spool);
	free(s->file);
	free(s->tmp_parent);
	free(s->cache_dir);
	free(s->ca_cert);
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
	if (rs__buf_oom(&ref))
		return RS_ENOMEM;
	if ((error = da_manifest_get(old, ref.ptr, &body, &mt, NULL)) < 0 ||
	    (error = rs_manifest_parse(&m, body.ptr, body.size, mt)) < 0)
		goto done;
	for (size_t i = 0; i < rs_manifest_blob_count(m); i++) {
		const rs_descriptor *d = rs_manifest_blob(m, i);
		rs_reader *r = NULL;
		if ((error = rs__cancel_check()) < 0 || (error = da_blob_open(&r, old, d)) < 0)
			goto done;
		error = rs__da_blob_put(&s->parent, d, r, NULL, NULL);
		rs_reader_free(r);
		if (error < 0)
			goto done;
	}
	im = &((da_store *)old)->images[index];
	if (!im->tags.count)
		error = rs__da_manifest_put(&s->parent, NULL, body.ptr, body.size, mt);
	for (size_t t = 0; t < im->tags.count && error == 0; t++)
		error = rs__da_manifest_put(&s->parent, im->tags.items[t], body.ptr, body.size, mt);
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
		if (error == RS_EUSER || error == RS_ENOMEM) /* not a verdict on the file */
			return error;
		snprintf(why, sizeof(why), "%s",
		         rs_error_is_set() ? e->message : rs_strerror(error));
		return rs__error_set(RS_EEXISTS,
		                     "%s exists and is not a docker archive regship can add to "
		                     "(%s); use --overwrite to replace it",
		                     s->file, why);
	}
	if ((error = rs__da_ensure_tmpdir(s)) < 0)
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
        rs__da_manifest_put,
        NULL, /* manifest_delete */
        da_blob_exists,
        da_blob_open,
        rs__da_blob_put,
        NULL, /* blob_mount */
        da_tag_list,
        rs__da_commit,
        da_free,
};

/* The options and flags, checked before anything is allocated; *level: the compression level
 * to use. */
static int check_open(int *level, const char *file, unsigned int flags,
                      const rs_docker_archive_options *opts)
{
	if (!(flags & (RS_STORE_READ | RS_STORE_WRITE)) ||
	    (flags & ~(RS_STORE_READ | RS_STORE_WRITE | RS_STORE_OVERWRITE)) ||
	    ((flags & RS_STORE_OVERWRITE) && !(flags & RS_STORE_WRITE)))
		return rs__error_set(RS_EINVAL, "docker-archive %s: invalid open flags 0x%x", file,
		                     flags);
	if (opts->compression != RS_COMPRESSION_GZIP && opts->compression != RS_COMPRESSION_ZSTD &&
	    opts->compression != RS_COMPRESSION_NONE)
		return rs__error_set(RS_EINVAL, "docker-archive: unknown compression %d",
		                     (int)opts->compression);
	if (opts->format != RS_MANIFEST_FORMAT_DOCKER && opts->format != RS_MANIFEST_FORMAT_OCI)
		return rs__error_set(RS_EINVAL, "docker-archive: unknown manifest format %d",
		                     (int)opts->format);
	if (opts->compression == RS_COMPRESSION_ZSTD && opts->format == RS_MANIFEST_FORMAT_DOCKER)
		return rs__error_set(RS_EINVAL, "zstd layers need the OCI manifest format "
		                                "(docker schema 2 has no zstd layer type)");
	return rs__compress_level(level, opts->compression, opts->level);
}

/* The store, not opened yet: its settings from the (checked) options. */
static int store_new(da_store **out, const char *file, unsigned int flags,
                     const rs_docker_archive_options *opts, int level)
{
	da_store *s;
	const char *tmp = opts->tmp_dir ? opts->tmp_dir : getenv("TMPDIR");
	if (!(*out = s = rs__calloc(1, sizeof(*s))))
		return rs__oom();
	s->parent.ops = &da_ops;
	s->dest.fd = -1;
	s->spool.fd = -1;
	s->writing = (flags & RS_STORE_WRITE) != 0;
	s->format = opts->format;
	s->comp = opts->compression;
	s->level = level;
	s->jobs = opts->jobs ? opts->jobs : 4;
	s->insecure = opts->insecure != 0;
	s->use_registry_config = opts->use_registry_config != 0;
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->compressions, 0);
	s->file = rs__strdup(file);
	s->tmp_parent = rs__strdup(tmp && tmp[0] ? tmp : "/var/tmp");
	if (opts->ca_cert)
		s->ca_cert = rs__strdup(opts->ca_cert);
	if (!opts->cache_dir)
		s->cache_dir = rs__compress_cache_dir(); /* NULL: no cache */
	else if (opts->cache_dir[0])
		s->cache_dir = rs__strdup(opts->cache_dir);
	if (!s->file || !s->tmp_parent || (opts->ca_cert && !s->ca_cert) ||
	    (opts->cache_dir && opts->cache_dir[0] && !s->cache_dir))
		return rs__oom();
	return 0;
}

/* docker-archive:- : standard input, kept in an unlinked temporary file read as the archive */
static int spool_stdin(da_store *s)
{
	char *spooled;
	int error;
	if ((error = rs__spool_stdin(&s->spool, "docker-archive", s->tmp_parent)) < 0)
		return error;
	if (!(spooled = rs__strdup(s->spool.path)))
		return rs__oom();
	free(s->file);
	s->file = spooled;
	return 0;
}

int rs_store_open_docker_archive(rs_store **out, const char *file, unsigned int flags,
                                 const rs_docker_archive_options *given)
{
	rs_docker_archive_options opts = RS_DOCKER_ARCHIVE_OPTIONS_INIT;
	da_store *s = NULL;
	int level = 0, error;
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
	if ((error = check_open(&level, file, flags, &opts)) < 0 ||
	    (error = store_new(&s, file, flags, &opts, level)) < 0)
		goto fail;
	if (!s->writing && rs__spool_wanted(file) && (error = spool_stdin(s)) < 0)
		goto fail;
	if (!s->writing && (error = rs__da_open_for_reading(s)) < 0) {
		rs__spool_error(&s->spool, error, "standard input");
		goto fail;
	}
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
	if (s)
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
