/* Manifests and indexes: parsing from exact bytes, accessors, platform selection. */
#include "internal.h"
#include "util/digest.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rs_manifest {
	char *bytes; /* exact copy, NUL-terminated */
	size_t len;
	char digest[RS_DIGEST_MAX];
	char *media_type;
	bool is_index;
	json_t *root; /* kept for annotation lookups */
	rs_descriptor *blobs; /* image manifest: [0] config, [1..] layers */
	size_t nblobs;
	rs_descriptor *children; /* index entries */
	size_t nchildren;
	rs_descriptor *subject;
	char *artifact_type;
};

void rs_manifest_free(rs_manifest *m)
{
	if (!m)
		return;
	free(m->bytes);
	free(m->media_type);
	json_decref(m->root);
	for (size_t i = 0; i < m->nblobs; i++)
		rs_descriptor_dispose(&m->blobs[i]);
	free(m->blobs);
	for (size_t i = 0; i < m->nchildren; i++)
		rs_descriptor_dispose(&m->children[i]);
	free(m->children);
	rs_descriptor_dispose(m->subject);
	free(m->subject);
	free(m->artifact_type);
	free(m);
}

static int unsupported_schema1(void)
{
	return rs__error_set(RS_EUNSUPPORTED, "docker schema 1 manifests are not supported");
}

/* Decide the media type: body "mediaType", else a specific Content-Type, else detection. */
static int resolve_media_type(char **out, const json_t *root, const char *content_type)
{
	char ct[256], body[256];
	const json_t *v = json_object_get(root, "mediaType");
	bool generic = rs__mediatype_is_generic(content_type);

	*out = NULL;
	rs__mediatype_base(ct, sizeof(ct), content_type);
	if (v) {
		if (!json_is_string(v) || !*json_string_value(v))
			return rs__error_set(RS_EFORMAT,
			                     "manifest \"mediaType\" must be a non-empty string");
		rs__mediatype_base(body, sizeof(body), json_string_value(v));
		if (!generic && strcmp(ct, body))
			return rs__error_set(RS_EFORMAT,
			                     "content type \"%s\" does not match the manifest's "
			                     "mediaType \"%s\"",
			                     content_type, json_string_value(v));
		if (!rs_mediatype_is_known(body))
			return rs__error_set(RS_EUNSUPPORTED,
			                     "unsupported manifest media type \"%s\"",
			                     json_string_value(v));
		*out = rs__strdup(body);
		return *out ? 0 : rs__oom();
	}
	if (!generic) {
		if (!rs_mediatype_is_known(ct))
			return rs__error_set(RS_EUNSUPPORTED,
			                     "unsupported manifest media type \"%s\"",
			                     content_type);
		*out = rs__strdup(ct);
		return *out ? 0 : rs__oom();
	}
	if (json_object_get(root, "manifests")) {
		*out = rs__strdup(RS_MT_OCI_INDEX);
		return *out ? 0 : rs__oom();
	}
	if (json_object_get(root, "config") || json_object_get(root, "layers")) {
		*out = rs__strdup(RS_MT_OCI_MANIFEST);
		return *out ? 0 : rs__oom();
	}
	return rs__error_set(RS_EFORMAT,
	                     "cannot tell what kind of manifest this is: no \"mediaType\", and "
	                     "neither \"manifests\" nor \"config\" and \"layers\"");
}

/* Parse each element of arr into dst[i] (already allocated and zeroed). */
static int parse_descriptor_array(rs_descriptor *dst, const json_t *arr, const char *what)
{
	char where[128];
	int error;

	for (size_t i = 0; i < json_array_size(arr); i++) {
		snprintf(where, sizeof(where), "%s %zu", what, i);
		if ((error = rs__descriptor_from_json(&dst[i], json_array_get(arr, i), where)) < 0)
			return error;
	}
	return 0;
}

static int parse_body(rs_manifest *m)
{
	const json_t *root = m->root, *v;
	json_t *ann;
	const char *kind = m->is_index ? "index" : "manifest";
	int error;

	if (m->is_index) {
		v = json_object_get(root, "manifests");
		if (!v)
			return rs__error_set(RS_EFORMAT, "index has no \"manifests\"");
		if (!json_is_array(v))
			return rs__error_set(RS_EFORMAT, "index \"manifests\" must be an array");
		m->children = rs__calloc(json_array_size(v) + 1, sizeof(*m->children));
		if (!m->children)
			return rs__oom();
		m->nchildren = json_array_size(v);
		if ((error = parse_descriptor_array(m->children, v, "index manifest")) < 0)
			return error;
	} else {
		const json_t *config = json_object_get(root, "config");
		v = json_object_get(root, "layers");
		if (!config)
			return rs__error_set(RS_EFORMAT, "manifest has no \"config\"");
		if (!v)
			return rs__error_set(RS_EFORMAT, "manifest has no \"layers\"");
		if (!json_is_array(v))
			return rs__error_set(RS_EFORMAT, "manifest \"layers\" must be an array");
		/* entries not parsed yet stay zeroed, which dispose handles */
		m->blobs = rs__calloc(json_array_size(v) + 1, sizeof(*m->blobs));
		if (!m->blobs)
			return rs__oom();
		m->nblobs = json_array_size(v) + 1;
		if ((error = rs__descriptor_from_json(&m->blobs[0], config, "manifest config")) <
		            0 ||
		    (error = parse_descriptor_array(m->blobs + 1, v, "manifest layer")) < 0)
			return error;
	}

	if ((v = json_object_get(root, "subject")) != NULL) {
		char where[32];
		snprintf(where, sizeof(where), "%s subject", kind);
		m->subject = rs__calloc(1, sizeof(*m->subject));
		if (!m->subject)
			return rs__oom();
		if ((error = rs__descriptor_from_json(m->subject, v, where)) < 0)
			return error;
	}
	if ((v = json_object_get(root, "artifactType")) != NULL) {
		if (!json_is_string(v))
			return rs__error_set(RS_EFORMAT, "%s \"artifactType\" must be a string",
			                     kind);
		m->artifact_type = rs__strdup(json_string_value(v));
		if (!m->artifact_type)
			return rs__oom();
	}
	if ((ann = json_object_get(root, "annotations")) != NULL) {
		const char *key;
		json_t *val;
		if (!json_is_object(ann))
			return rs__error_set(RS_EFORMAT, "%s \"annotations\" must be an object",
			                     kind);
		json_object_foreach(ann, key, val)
		{
			if (!json_is_string(val))
				return rs__error_set(RS_EFORMAT,
				                     "%s annotation \"%s\" must be a string", kind,
				                     key);
		}
	}
	return 0;
}

int rs_manifest_parse(rs_manifest **out, const void *bytes, size_t len, const char *content_type)
{
	rs_manifest *m = NULL;
	const json_t *v, *mt;
	int error;

	*out = NULL;
	if (!bytes && len)
		return rs__error_set(RS_EINVAL, "no manifest bytes");
	if (len > RS_MANIFEST_MAX_SIZE)
		return rs__error_set(RS_ETOOBIG, "manifest is too big: %zu bytes (the limit is %d)",
		                     len, RS_MANIFEST_MAX_SIZE);
	if (rs_mediatype_is_schema1(content_type))
		return unsupported_schema1();

	m = rs__calloc(1, sizeof(*m));
	if (!m)
		return rs__oom();
	if ((error = rs__json_parse_object(&m->root, bytes, len, "manifest")) < 0)
		goto done;

	v = json_object_get(m->root, "schemaVersion");
	mt = json_object_get(m->root, "mediaType");
	if ((json_is_integer(v) && json_integer_value(v) == 1) ||
	    (json_is_string(mt) && rs_mediatype_is_schema1(json_string_value(mt)))) {
		error = unsupported_schema1();
		goto done;
	}
	if (!v) {
		error = rs__error_set(RS_EFORMAT, "manifest has no \"schemaVersion\"");
		goto done;
	}
	if (!json_is_integer(v)) {
		error = rs__error_set(RS_EFORMAT, "manifest \"schemaVersion\" must be an integer");
		goto done;
	}
	if (json_integer_value(v) != 2) {
		error = rs__error_set(RS_EUNSUPPORTED,
		                      "unsupported manifest schemaVersion %lld (expected 2)",
		                      (long long)json_integer_value(v));
		goto done;
	}

	if ((error = resolve_media_type(&m->media_type, m->root, content_type)) < 0)
		goto done;
	m->is_index = rs_mediatype_is_index(m->media_type);
	if ((error = parse_body(m)) < 0)
		goto done;

	m->bytes = rs__malloc(len + 1);
	if (!m->bytes) {
		error = rs__oom();
		goto done;
	}
	if (len)
		memcpy(m->bytes, bytes, len);
	m->bytes[len] = '\0';
	m->len = len;
	rs__sha256_digest(m->digest, bytes, len);
	*out = m;
	m = NULL;
done:
	rs_manifest_free(m);
	return error;
}

const void *rs_manifest_bytes(const rs_manifest *m, size_t *len)
{
	if (len)
		*len = m->len;
	return m->bytes;
}

const char *rs_manifest_digest(const rs_manifest *m)
{
	return m->digest;
}

int rs_manifest_verify(const rs_manifest *m, const char *expected)
{
	int error;

	if ((error = rs__digest_verify(expected, m->bytes, m->len)) < 0)
		return rs__error_prefix("manifest");
	return 0;
}

const char *rs_manifest_media_type(const rs_manifest *m)
{
	return m->media_type;
}

int rs_manifest_is_index(const rs_manifest *m)
{
	return m->is_index;
}

const char *rs_manifest_artifact_type(const rs_manifest *m)
{
	return m->artifact_type;
}

const char *rs_manifest_annotation(const rs_manifest *m, const char *key)
{
	const json_t *ann = json_object_get(m->root, "annotations");
	return key ? json_string_value(json_object_get(ann, key)) : NULL;
}

const rs_descriptor *rs_manifest_subject(const rs_manifest *m)
{
	return m->subject;
}

const rs_descriptor *rs_manifest_config(const rs_manifest *m)
{
	return m->is_index ? NULL : &m->blobs[0];
}

size_t rs_manifest_layer_count(const rs_manifest *m)
{
	return m->nblobs ? m->nblobs - 1 : 0;
}

const rs_descriptor *rs_manifest_layer(const rs_manifest *m, size_t i)
{
	return i < rs_manifest_layer_count(m) ? &m->blobs[i + 1] : NULL;
}

size_t rs_manifest_blob_count(const rs_manifest *m)
{
	return m->nblobs;
}

const rs_descriptor *rs_manifest_blob(const rs_manifest *m, size_t i)
{
	return i < m->nblobs ? &m->blobs[i] : NULL;
}

size_t rs_manifest_child_count(const rs_manifest *m)
{
	return m->nchildren;
}

const rs_descriptor *rs_manifest_child(const rs_manifest *m, size_t i)
{
	return i < m->nchildren ? &m->children[i] : NULL;
}

int rs_manifest_select_platform(const rs_descriptor **out, const rs_manifest *index,
                                const rs_platform *want)
{
	rs_strlist seen = RS_STRLIST_INIT;
	rs_buf avail = RS_BUF_INIT;
	char *wanted = NULL;
	int error;

	*out = NULL;
	if (!want)
		return rs__error_set(RS_EINVAL, "no platform to select");
	if (!index->is_index)
		return rs__error_set(RS_EINVAL, "cannot select a platform: %s is not an index",
		                     index->media_type);
	for (size_t i = 0; i < index->nchildren; i++) {
		const rs_platform *p = index->children[i].platform;
		if (!p || rs_platform_is_unknown(p))
			continue;
		unsigned long serial = rs__error_serial();
		if (rs_platform_match(want, p)) {
			*out = &index->children[i];
			return 0;
		}
		if (rs__error_serial() != serial) /* out of memory */
			return RS_ENOMEM;
	}
	for (size_t i = 0; i < index->nchildren; i++) {
		const rs_platform *p = index->children[i].platform;
		char *s;
		if (!p || rs_platform_is_unknown(p))
			continue;
		s = rs_platform_format(p);
		if (!s) {
			rs_buf_dispose(&avail);
			rs__strlist_dispose(&seen);
			return RS_ENOMEM;
		}
		if (rs__strlist_contains(&seen, s)) {
			free(s);
			continue;
		}
		rs__buf_printf(&avail, "%s%s", seen.count ? ", " : "", s);
		if (rs__strlist_push_owned(&seen, s) < 0) {
			rs_buf_dispose(&avail);
			rs__strlist_dispose(&seen);
			return RS_ENOMEM;
		}
	}
	wanted = rs_platform_format(want);
	if (!wanted || rs__buf_oom(&avail)) {
		free(wanted);
		rs_buf_dispose(&avail);
		rs__strlist_dispose(&seen);
		return rs__oom();
	}
	error = rs__error_set(RS_ENOTFOUND,
	                      "no manifest for platform %s in the index; available: %s", wanted,
	                      seen.count ? rs__buf_cstr(&avail) : "none");
	free(wanted);
	rs_buf_dispose(&avail);
	rs__strlist_dispose(&seen);
	return error;
}
