/* Describe an image without pulling it; verified reads of single blobs (regship/inspect.h). */
#include "regship/inspect.h"
#include "regship/errors.h"
#include "regship/store.h"

#include "manifest/internal.h"
#include "registry/registry.h"
#include "store/store.h"
#include "util/digest.h"
#include "util/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (64 * 1024)

/* The blob from byte `offset` on: a registry's with a Range request (rs__blob_open_at), any
 * other store's by reading past the first bytes. */
static int blob_open_at(rs_reader **out, rs_store *s, const rs_descriptor *desc, uint64_t offset,
                        char *buf)
{
	rs_client *c = rs__store_registry_client(s);
	int error;
	if (c && offset)
		return rs__blob_open_at(out, c, rs_store_registry_ref(s), desc->digest, desc->size,
		                        offset);
	if ((error = rs_store_blob_open(out, s, desc)) < 0)
		return error;
	while (offset) {
		long long n = rs_reader_read(*out, buf, offset < CHUNK ? (size_t)offset : CHUNK);
		if (n <= 0) {
			rs_reader_free(*out);
			*out = NULL;
			return n < 0 ? (int)n
			             : rs__error_set(RS_EFORMAT,
			                             "blob %s: shorter than the %llu bytes already "
			                             "received",
			                             desc->digest, (unsigned long long)offset);
		}
		offset -= (uint64_t)n;
	}
	return 0;
}

int rs_store_blob_stream(rs_store *s, const rs_descriptor *desc,
                         int (*sink)(const void *data, size_t len, void *payload), void *payload,
                         uint64_t *written)
{
	return rs_store_blob_stream_from(s, desc, NULL, 0, sink, payload, written);
}

/* One verified stream: the blob's bytes hashed as they pass, counted against its size. */
typedef struct blob_stream {
	const rs_descriptor *desc;
	rs__hasher *h;
	char *buf; /* CHUNK bytes */
	int64_t size; /* expected, or -1 */
	uint64_t total; /* bytes hashed */
	uint64_t passed; /* bytes passed to the sink */
} blob_stream;

/* The hasher of the digest's algorithm, and the buffer. */
static int stream_start(blob_stream *bs, const rs_descriptor *desc)
{
	const char *colon;
	char alg[16];
	int error;
	memset(bs, 0, sizeof(*bs));
	bs->desc = desc;
	bs->size = desc->size;
	if ((error = rs__digest_check(desc->digest)) < 0)
		return error;
	colon = strchr(desc->digest, ':');
	snprintf(alg, sizeof(alg), "%.*s", (int)(colon - desc->digest), desc->digest);
	if ((error = rs__hasher_new(&bs->h, alg)) < 0)
		return error;
	if (!(bs->buf = rs__malloc(CHUNK)))
		return rs__oom();
	return 0;
}

static void stream_dispose(blob_stream *bs)
{
	free(bs->buf);
	rs__hasher_free(bs->h);
}

/* The bytes received before are hashed again, not passed on. */
static int rehash_prefix(blob_stream *bs, rs_reader *prefix, uint64_t have)
{
	long long n;
	while (bs->total < have &&
	       (n = rs_reader_read(prefix, bs->buf,
	                           have - bs->total < CHUNK ? (size_t)(have - bs->total) : CHUNK)) >
	               0) {
		rs__hasher_update(bs->h, bs->buf, (size_t)n);
		bs->total += (uint64_t)n;
	}
	if (bs->total < have)
		return rs__error_set(RS_EIO,
		                     "blob %s: the %llu bytes already received could not be read "
		                     "again",
		                     bs->desc->digest, (unsigned long long)have);
	return 0;
}

static int more_than_expected(const blob_stream *bs)
{
	return rs__error_set(RS_EFORMAT, "blob %s: more than the %lld bytes expected",
	                     bs->desc->digest, (long long)bs->size);
}

/* The rest of the blob, from r: hashed, counted, passed to the sink. */
static int pass_on(blob_stream *bs, rs_reader *r,
                   int (*sink)(const void *data, size_t len, void *payload), void *payload)
{
	long long n;
	int error;
	while ((n = rs_reader_read(r, bs->buf, CHUNK)) > 0) {
		bs->total += (uint64_t)n;
		if (bs->size >= 0 && bs->total > (uint64_t)bs->size)
			return more_than_expected(bs);
		rs__hasher_update(bs->h, bs->buf, (size_t)n);
		bs->passed += (uint64_t)n;
		if (sink && (error = sink(bs->buf, (size_t)n, payload)) != 0) {
			if (error > 0)
				error = rs__error_set(RS_EUSER,
				                      "blob %s: the output refused the data",
				                      bs->desc->digest);
			return error;
		}
	}
	return n < 0 ? (int)n : 0;
}

/* All there: as many bytes as expected, with the digest expected. */
static int stream_verify(blob_stream *bs)
{
	char got[RS_DIGEST_MAX];
	if (bs->size >= 0 && bs->total != (uint64_t)bs->size)
		return rs__error_set(RS_EFORMAT, "blob %s: %llu bytes, expected %lld",
		                     bs->desc->digest, (unsigned long long)bs->total,
		                     (long long)bs->size);
	rs__hasher_final(bs->h, got);
	if (strcmp(got, bs->desc->digest))
		return rs__error_set(RS_EDIGEST, "blob %s: the bytes received have digest %s",
		                     bs->desc->digest, got);
	return 0;
}

int rs_store_blob_stream_from(rs_store *s, const rs_descriptor *desc, rs_reader *prefix,
                              uint64_t have,
                              int (*sink)(const void *data, size_t len, void *payload),
                              void *payload, uint64_t *written)
{
	rs_client *client = rs__store_registry_client(s);
	blob_stream bs;
	rs_reader *r = NULL;
	int error;
	if (written)
		*written = 0;
	if (!desc || !desc->digest)
		return rs__error_set(RS_EINVAL, "a blob needs a digest");
	if (have && !prefix)
		return rs__error_set(RS_EINVAL,
		                     "blob %s: %llu bytes already received, but no reader "
		                     "for them",
		                     desc->digest, (unsigned long long)have);
	if ((error = stream_start(&bs, desc)) < 0 || (error = rehash_prefix(&bs, prefix, have)) < 0)
		goto done;
	/* how much is left, before asking for it: a registry answers a range past the end in its
	 * own ways */
	if (have && bs.size < 0 && client &&
	    (error = rs__blob_head(client, rs_store_registry_ref(s), desc->digest, &bs.size)) < 0)
		goto done;
	if (bs.size >= 0 && bs.total > (uint64_t)bs.size) {
		error = more_than_expected(&bs);
		goto done;
	}
	/* (nothing left to ask for when the bytes received are all of it: verified as they are) */
	if (!(bs.size >= 0 && have && bs.total == (uint64_t)bs.size) &&
	    ((error = blob_open_at(&r, s, desc, have, bs.buf)) < 0 ||
	     (error = pass_on(&bs, r, sink, payload)) < 0))
		goto done;
	if ((error = stream_verify(&bs)) < 0)
		goto done;
	if (written)
		*written = bs.passed;
done:
	rs_reader_free(r);
	stream_dispose(&bs);
	return error;
}

typedef struct membuf {
	rs_buf *out;
	size_t max;
	const char *digest;
} membuf;

static int mem_sink(const void *data, size_t len, void *payload)
{
	membuf *m = payload;
	if (m->out->size + len > m->max)
		return rs__error_set(RS_ETOOBIG, "blob %s: larger than %zu bytes", m->digest,
		                     m->max);
	rs__buf_put(m->out, data, len);
	return rs__buf_oom(m->out) ? RS_ENOMEM : 0;
}

int rs_store_blob_read(rs_store *s, const rs_descriptor *desc, rs_buf *out, size_t max)
{
	rs_buf tmp = RS_BUF_INIT;
	membuf m = {&tmp, max, desc ? desc->digest : NULL};
	int error;
	if (desc && desc->size >= 0 && (uint64_t)desc->size > max)
		return rs__error_set(RS_ETOOBIG, "blob %s: %lld bytes, more than the %zu accepted",
		                     desc->digest, (long long)desc->size, max);
	error = rs_store_blob_stream(s, desc, mem_sink, &m, NULL);
	if (error < 0) {
		rs_buf_dispose(&tmp);
		return error;
	}
	if (!tmp.ptr)
		rs__buf_puts(&tmp, "");
	if (rs__buf_oom(&tmp))
		return RS_ENOMEM;
	rs_buf_dispose(out);
	*out = tmp;
	return 0;
}

/* false when out of memory (what was copied stays, counted, for the caller to free) */
static bool strings_from(char ***out, size_t *count, const json_t *arr)
{
	size_t i;
	json_t *v;
	*out = NULL;
	*count = 0;
	if (!json_is_array(arr))
		return true;
	if (!(*out = rs__calloc(json_array_size(arr) + 1, sizeof(char *))))
		return false;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			continue;
		if (!((*out)[*count] = rs__strdup(json_string_value(v))))
			return false;
		(*count)++;
	}
	return true;
}

static void strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static const char *str_field(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? rs__strdup(s) : NULL;
}

/* created, os/arch/variant, and config.{Labels,Env,Entrypoint,Cmd} */
static int read_config(rs_image_info *info)
{
	json_t *root = NULL, *cfg, *labels;
	int error;
	if ((error = rs__json_parse_object(&root, info->config.ptr, info->config.size,
	                                   "image config")) < 0)
		return error;
	info->created = dup_or_null(str_field(root, "created"));
	info->os = dup_or_null(str_field(root, "os"));
	info->architecture = dup_or_null(str_field(root, "architecture"));
	info->variant = dup_or_null(str_field(root, "variant"));
	if ((str_field(root, "created") && !info->created) ||
	    (str_field(root, "os") && !info->os) ||
	    (str_field(root, "architecture") && !info->architecture) ||
	    (str_field(root, "variant") && !info->variant))
		goto oom;
	cfg = json_object_get(root, "config");
	if (json_is_object(cfg)) {
		if (!strings_from(&info->env, &info->env_count, json_object_get(cfg, "Env")) ||
		    !strings_from(&info->entrypoint, &info->entrypoint_count,
		                  json_object_get(cfg, "Entrypoint")) ||
		    !strings_from(&info->cmd, &info->cmd_count, json_object_get(cfg, "Cmd")))
			goto oom;
		labels = json_object_get(cfg, "Labels");
		if (json_is_object(labels)) {
			const char *k;
			json_t *v;
			info->labels = rs__calloc(2 * json_object_size(labels) + 1, sizeof(char *));
			if (!info->labels)
				goto oom;
			json_object_foreach(labels, k, v)
			{
				if (!json_is_string(v))
					continue;
				/* counted first: a pair half-copied is freed with the rest */
				info->label_count++;
				if (!(info->labels[2 * info->label_count - 2] = rs__strdup(k)) ||
				    !(info->labels[2 * info->label_count - 1] =
				              rs__strdup(json_string_value(v))))
					goto oom;
			}
		}
	}
	json_decref(root);
	return 0;
oom:
	json_decref(root);
	return rs__oom();
}

static int copy_descriptors(rs_descriptor **out, size_t *count, const rs_manifest *m, bool index)
{
	size_t n = index ? rs_manifest_child_count(m) : rs_manifest_layer_count(m);
	int error;
	*out = rs__calloc(n + 1, sizeof(rs_descriptor));
	*count = 0;
	if (!*out)
		return rs__oom();
	for (size_t i = 0; i < n; i++) {
		const rs_descriptor *d = index ? rs_manifest_child(m, i) : rs_manifest_layer(m, i);
		if ((error = rs_descriptor_dup(&(*out)[i], d)) < 0)
			return error;
		(*count)++;
	}
	return 0;
}

int rs_image_inspect(rs_image_info **out, rs_store *s, const char *reference,
                     const rs_platform *platform)
{
	rs_image_info *info;
	rs_manifest *m = NULL;
	int error;
	*out = NULL;
	if (!s)
		return rs__error_set(RS_EINVAL, "rs_image_inspect: no store");
	if (!(info = rs__calloc(1, sizeof(*info))))
		return rs__oom();
	if ((error = rs_store_manifest_get(s, reference, &info->manifest, &info->media_type,
	                                   &info->digest)) < 0)
		goto fail;
	if ((error = rs_manifest_parse(&m, info->manifest.ptr, info->manifest.size,
	                               info->media_type)) < 0)
		goto fail;
	if (rs_manifest_is_index(m) && platform) {
		const rs_descriptor *child;
		rs_manifest *cm = NULL;
		if ((error = rs_manifest_select_platform(&child, m, platform)) < 0) {
			if (rs_store_registry_ref(s)) /* absent from the index a registry served */
				rs__error_mark_remote();
			goto fail;
		}
		info->index_digest = info->digest;
		info->index_media_type = info->media_type;
		info->digest = rs__strdup(child->digest);
		info->media_type = NULL;
		if (!info->digest) {
			error = rs__oom();
			goto fail;
		}
		rs_buf_dispose(&info->manifest);
		if ((error = rs_store_manifest_get(s, child->digest, &info->manifest,
		                                   &info->media_type, NULL)) < 0)
			goto fail;
		if ((error = rs__digest_verify(child->digest, info->manifest.ptr,
		                               info->manifest.size)) < 0)
			goto fail;
		if ((error = rs_manifest_parse(&cm, info->manifest.ptr, info->manifest.size,
		                               info->media_type)) < 0)
			goto fail;
		rs_manifest_free(m);
		m = cm;
	}
	free(info->media_type);
	if (!(info->media_type = rs__strdup(rs_manifest_media_type(m)))) {
		error = rs__oom();
		goto fail;
	}
	if (rs_manifest_is_index(m)) {
		if ((error = copy_descriptors(&info->children, &info->child_count, m, true)) < 0)
			goto fail;
	} else {
		const rs_descriptor *cfg = rs_manifest_config(m);
		if ((error = copy_descriptors(&info->layers, &info->layer_count, m, false)) < 0)
			goto fail;
		for (size_t i = 0; i < info->layer_count; i++)
			if (info->layers[i].size > 0)
				info->total_size += info->layers[i].size;
		if (cfg) {
			if ((error = rs_descriptor_dup(&info->config_desc, cfg)) < 0 ||
			    (error = rs_store_blob_read(s, cfg, &info->config,
			                                RS_CONFIG_MAX_SIZE)) < 0 ||
			    (error = read_config(info)) < 0)
				goto fail;
		}
	}
	rs_manifest_free(m);
	*out = info;
	return 0;
fail:
	rs_manifest_free(m);
	rs_image_info_free(info);
	return error;
}

void rs_image_info_free(rs_image_info *info)
{
	if (!info)
		return;
	free(info->digest);
	free(info->media_type);
	rs_buf_dispose(&info->manifest);
	free(info->index_digest);
	free(info->index_media_type);
	for (size_t i = 0; i < info->child_count; i++)
		rs_descriptor_dispose(&info->children[i]);
	free(info->children);
	rs_descriptor_dispose(&info->config_desc);
	rs_buf_dispose(&info->config);
	free(info->created);
	free(info->os);
	free(info->architecture);
	free(info->variant);
	strings_free(info->labels, 2 * info->label_count);
	strings_free(info->env, info->env_count);
	strings_free(info->entrypoint, info->entrypoint_count);
	strings_free(info->cmd, info->cmd_count);
	for (size_t i = 0; i < info->layer_count; i++)
		rs_descriptor_dispose(&info->layers[i]);
	free(info->layers);
	free(info);
}
