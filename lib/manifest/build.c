/* Builders: exact, deterministic JSON bytes for manifests and indexes. */
#include "internal.h"
#include "util/escape.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The canonical constant for media_type when it is one of `a`, `b`; else NULL. */
static const char *canonical(const char *media_type, const char *a, const char *b)
{
	char base[256];

	rs__mediatype_base(base, sizeof(base), media_type);
	if (!strcmp(base, a))
		return a;
	if (!strcmp(base, b))
		return b;
	return NULL;
}

static int dump(rs_buf *out, json_t *root)
{
	char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (!text)
		return rs__oom();
	rs__buf_puts(out, text);
	free(text);
	return rs__buf_oom(out) ? RS_ENOMEM : 0;
}

static json_t *header(const char *media_type)
{
	json_t *root = json_object();

	if (json_object_set_new(root, "schemaVersion", json_integer(2)) < 0 ||
	    json_object_set_new(root, "mediaType", json_string(media_type)) < 0) {
		json_decref(root);
		return NULL; /* out of memory: media_type is a canonical constant */
	}
	return root;
}

static int build_annotations(json_t **out, const char *const *kv)
{
	json_t *ann = json_object();
	int error = 0;

	*out = NULL;
	if (!ann)
		return rs__oom();
	for (size_t i = 0; kv[i]; i += 2) {
		json_t *v;
		if (!kv[i + 1]) {
			error = rs__error_set(RS_EINVAL, "annotation \"%s\" has no value", kv[i]);
			goto done;
		}
		if (json_object_get(ann, kv[i])) {
			error = rs__error_set(RS_EINVAL, "annotation \"%s\" is given twice", kv[i]);
			goto done;
		}
		if ((!(v = json_string(kv[i + 1])) && rs__utf8_valid(kv[i + 1])) ||
		    (v && json_object_set_new(ann, kv[i], v) < 0 && rs__utf8_valid(kv[i]))) {
			error = rs__oom();
			goto done;
		}
		if (!v || !json_object_get(ann, kv[i])) {
			error = rs__error_set(RS_EINVAL, "annotation \"%s\" is not valid UTF-8",
			                      kv[i]);
			goto done;
		}
	}
	*out = ann;
	ann = NULL;
done:
	json_decref(ann);
	return error;
}

int rs_manifest_build(rs_buf *out, const char *media_type, const rs_descriptor *config,
                      const rs_descriptor *layers, size_t n, const char *const *annotation_kv)
{
	const char *mt = canonical(media_type, RS_MT_OCI_MANIFEST, RS_MT_DOCKER_MANIFEST);
	json_t *root = NULL, *arr, *d = NULL, *ann = NULL;
	char where[64];
	bool docker;
	int error;

	if (!mt)
		return rs__error_set(RS_EINVAL, "cannot build a manifest of type \"%s\"",
		                     media_type ? media_type : "");
	docker = !strcmp(mt, RS_MT_DOCKER_MANIFEST);
	if (!config)
		return rs__error_set(RS_EINVAL, "cannot build a manifest without a config");
	if (n && !layers)
		return rs__error_set(RS_EINVAL, "no layer descriptors for %zu layers", n);
	if (docker && annotation_kv && annotation_kv[0])
		return rs__error_set(RS_EINVAL,
		                     "docker schema 2 manifests cannot carry annotations");
	if ((error = rs__descriptor_check(config, "config")) < 0)
		return error;
	for (size_t i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "layer %zu", i);
		if ((error = rs__descriptor_check(&layers[i], where)) < 0)
			return error;
	}

	if (!(root = header(mt)))
		return rs__oom();
	if ((error = rs__descriptor_to_json(&d, config, docker, "config")) < 0)
		goto done;
	if (json_object_set_new(root, "config", d) < 0 ||
	    json_object_set_new(root, "layers", arr = json_array()) < 0) {
		error = rs__oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "layer %zu", i);
		if ((error = rs__descriptor_to_json(&d, &layers[i], docker, where)) < 0)
			goto done;
		if (json_array_append_new(arr, d) < 0) {
			error = rs__oom();
			goto done;
		}
	}
	if (annotation_kv && annotation_kv[0]) {
		if ((error = build_annotations(&ann, annotation_kv)) < 0)
			goto done;
		if (json_object_set_new(root, "annotations", ann) < 0) {
			error = rs__oom();
			goto done;
		}
	}
	error = dump(out, root);
done:
	json_decref(root);
	return error;
}

int rs_index_build(rs_buf *out, const char *media_type, const rs_descriptor *children, size_t n)
{
	const char *mt = canonical(media_type, RS_MT_OCI_INDEX, RS_MT_DOCKER_LIST);
	json_t *root = NULL, *arr, *d = NULL;
	char where[64];
	bool docker;
	int error;

	if (!mt)
		return rs__error_set(RS_EINVAL, "cannot build an index of type \"%s\"",
		                     media_type ? media_type : "");
	docker = !strcmp(mt, RS_MT_DOCKER_LIST);
	if (n && !children)
		return rs__error_set(RS_EINVAL, "no child descriptors for %zu entries", n);
	for (size_t i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "index entry %zu", i);
		if ((error = rs__descriptor_check(&children[i], where)) < 0)
			return error;
		if (docker && !children[i].platform)
			return rs__error_set(RS_EINVAL,
			                     "%s: no platform (docker manifest lists need one)",
			                     where);
	}

	if (!(root = header(mt)))
		return rs__oom();
	if (json_object_set_new(root, "manifests", arr = json_array()) < 0) {
		error = rs__oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "index entry %zu", i);
		if ((error = rs__descriptor_to_json(&d, &children[i], docker, where)) < 0)
			goto done;
		if (json_array_append_new(arr, d) < 0) {
			error = rs__oom();
			goto done;
		}
	}
	error = dump(out, root);
done:
	json_decref(root);
	return error;
}
