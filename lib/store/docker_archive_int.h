/*
 * The docker-archive store's private header: its tables and the functions its four files share.
 *
 *   docker_archive.c         lifetime, image selection and the reading store operations
 *   docker_archive_read.c    indexing an archive (manifest.json, configs, layer entries)
 *   docker_archive_layers.c  layer preparation: the compression pool, the compression cache,
 *                            layer readers that compress on demand, the synthesised manifest
 *   docker_archive_write.c   blob_put, manifest_put and commit (the docker-save tar)
 *   docker_archive_foreign.c fetching foreign / non-distributable layers from their URLs
 */
#ifndef RS_STORE_DOCKER_ARCHIVE_INT_H
#define RS_STORE_DOCKER_ARCHIVE_INT_H

#include "regship/store.h"
#include "store/compress.h"
#include "store/docker_archive.h"
#include "store/store.h"
#include "store/tarwrite.h"
#include "util/digest.h"
#include "util/util.h"

#include "util/archive_dl.h"
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define DA_BUFSIZE (64 * 1024)
#define DA_JSON_MAX (8 * 1024 * 1024)

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
	rs_compression src; /* as stored in the archive */
	/* once prepared (manifest_get) */
	bool prepared, cache_hit;
	rs_compression out; /* as handed out */
	char digest[RS_DIGEST_MAX];
	int64_t size;
	char *tmp; /* compressed copy, or NULL: stream the entry (or compress it on demand) */
	const rs_store *pushed_to; /* compressed straight into this store's upload, or NULL */
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
	rs__spool spool; /* reading "-": standard input's copy (file is its /proc/self/fd path) */
	bool writing, committed;
	rs_compression comp;
	int level;
	unsigned int jobs;
	rs_manifest_format format;
	char *tmp_parent;
	char *tmpdir; /* created on first need */
	char *cache_dir; /* NULL: no cache */
	/* writing: TLS settings for fetching foreign layers (rs_docker_archive_options) */
	char *ca_cert;
	bool insecure, use_registry_config;

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
	rs_store *push_to; /* reading: compress into this registry store's uploads (s->lock) */
	unsigned int push_users;
} da_store;

/* ---- shared helpers (docker_archive.c) --------------------------------------------------- */

/* The hex part of "sha256:<hex>". */
const char *rs__da_digest_hex(const char *digest);
/* The store's temporary directory, created on first need (s->lock held when writing). */
int rs__da_ensure_tmpdir(da_store *s);
void rs__da_remove_tmpdir(da_store *s);
/* A reference as a normalised full reference ("docker.io/library/ubuntu:latest"). */
int rs__da_normalise_ref(char **out, const char *text);
int rs__da_json_error(const char *file, const char *what, const json_error_t *jerr);
/* The config (reading), prepared layer (reading) or blob (writing) with this digest. */
int rs__da_find_blob(const da_store *s, const char *digest, const da_image **cfg,
                     const da_layer **layer, const da_blob **blob);

/* ---- reading the archive (docker_archive_read.c) ----------------------------------------- */

/* Index FILE: entries, manifest.json, configs, layers (hostile content is RS_EFORMAT). */
int rs__da_open_for_reading(da_store *s);
/* A reader of FILE positioned at the data of entry name. */
int rs__da_archive_seek_entry(struct archive **out, const char *file, const char *name);
/* The error of a libarchive failure, naming file. */
int rs__da_archive_fail(struct archive *a, const char *file);

/* ---- layer preparation (docker_archive_layers.c) ----------------------------------------- */

/* The manifest handed out for im: its layers are prepared (compressed in parallel) first. */
int rs__da_synthesise_manifest(da_store *s, da_image *im);
/* A reader of a prepared layer that is not in a temporary file: the entry as it is, or
 * compressed on demand (compression-cache hit, checked against the cache at the end). */
int rs__da_entry_reader_new(rs_reader **out, da_store *s, const da_layer *l);

/* ---- writing (docker_archive_write.c) ---------------------------------------------------- */

/* A blob being received into the temporary directory (blob_put, foreign layers): open, feed
 * the bytes as they come, finish (digest and size checked, the blob recorded), dispose. */
typedef struct {
	int fd;
	const char *path;
	rs__hasher *hu;
	int64_t size;
	int64_t limit; /* -1: none */
	const char *digest;
} da_tar_sink;

typedef struct {
	da_store *s;
	const rs_descriptor *desc;
	da_tar_sink sink; /* the blob's file (a layer's uncompressed tar) */
	char *tmp; /* its temporary name */
	rs__hasher *hc; /* the bytes as received */
	rs__hasher *hu; /* the bytes as stored (a layer's diff_id) */
	rs__decompressor *dz; /* NULL until the first bytes told the format */
	unsigned char head[RS__COMP_MAGIC_MAX];
	size_t nhead;
	int64_t total;
	bool is_layer, done;
} da_blob_in;

int rs__da_blob_in_open(da_blob_in *b, da_store *s, const rs_descriptor *desc);
int rs__da_blob_in_feed(da_blob_in *b, const void *data, size_t len);
int rs__da_blob_in_finish(da_blob_in *b);
/* Always call, after a failed open too: removes the temporary file unless finished. */
void rs__da_blob_in_dispose(da_blob_in *b);
/* The blob received with this digest, or NULL (s->lock held). */
const da_blob *rs__da_blob_by_digest(const da_store *s, const char *digest);

int rs__da_blob_put(rs_store *st, const rs_descriptor *desc, rs_reader *r, rs_transfer_cb cb,
                    void *payload);
int rs__da_manifest_put(rs_store *st, const char *reference, const void *body, size_t len,
                        const char *media_type);
int rs__da_commit(rs_store *st);

/* ---- foreign layers (docker_archive_foreign.c) ------------------------------------------- */

/*
 * A layer of a manifest being stored that was not stored first (the copy engine does not move
 * foreign or non-distributable layers): when its descriptor lists `urls`, fetch it from the
 * first that answers (http/https only, plain HTTP as for a registry, never with credentials),
 * verify it against the descriptor's digest and size and store it as blob_put does.
 * RS_ENOTFOUND (with no message set) when the descriptor has no urls.
 */
int rs__da_fetch_foreign(da_store *s, const json_t *layer);

#endif
