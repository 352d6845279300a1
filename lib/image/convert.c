/*
 * Docker -> OCI conversion for OCI destinations. An OCI layout that holds Docker media types
 * is valid JSON but not what umoci, skopeo (by name) or oci-image-tool read; skopeo converts
 * when it writes a layout, and so does regship unless the caller asks to keep the digests.
 * Only the JSON changes: the config and layer blobs are the same bytes under OCI types.
 */
#include "image/convert.h"

#include "util/util.h"

#include <stdlib.h>
#include <string.h>

bool rs__convert_wanted(const char *dest_scheme)
{
	return dest_scheme && (!strcmp(dest_scheme, "oci") || !strcmp(dest_scheme, "oci-archive"));
}

int rs__convert_note_child(json_t *children, const char *original_digest,
                           const rs_manifest *written)
{
	size_t len;
	(void)rs_manifest_bytes(written, &len);
	return json_object_set_new(children, original_digest,
	                           json_pack("{s:s, s:I, s:s}", "digest",
	                                     rs_manifest_digest(written), "size", (json_int_t)len,
	                                     "mediaType", rs_manifest_media_type(written))) < 0
	               ? rs__oom()
	               : 0;
}

/* Sets the OCI equivalent of desc's mediaType; false when out of memory. */
static bool convert_type(json_t *desc)
{
	const char *mt = json_string_value(json_object_get(desc, "mediaType"));
	const char *oci = mt ? rs_mediatype_to_oci(mt) : NULL;
	if (!oci || !strcmp(oci, mt))
		return true;
	return json_object_set_new(desc, "mediaType", json_string(oci)) == 0;
}

/* An index's entries as the children were written; 1 when one changed, RS_ENOMEM. */
static int convert_children(json_t *manifests, json_t *children)
{
	int changed = 0;
	for (size_t i = 0; i < json_array_size(manifests); i++) {
		json_t *entry = json_array_get(manifests, i), *now;
		const char *d = json_string_value(json_object_get(entry, "digest"));
		if (!d || !(now = json_object_get(children, d)))
			continue;
		if (strcmp(d, json_string_value(json_object_get(now, "digest"))) ||
		    !json_equal(json_object_get(entry, "mediaType"),
		                json_object_get(now, "mediaType"))) {
			if (json_object_set(entry, "digest", json_object_get(now, "digest")) < 0 ||
			    json_object_set(entry, "size", json_object_get(now, "size")) < 0 ||
			    json_object_set(entry, "mediaType", json_object_get(now, "mediaType")) <
			            0)
				return rs__oom();
			changed = 1;
		}
	}
	return changed;
}

int rs__convert_to_oci(rs_manifest **m, json_t *children)
{
	const char *mt = rs_manifest_media_type(*m);
	bool docker_manifest = !strcmp(mt, RS_MT_DOCKER_MANIFEST);
	bool docker_list = !strcmp(mt, RS_MT_DOCKER_LIST);
	bool changed = docker_manifest || docker_list;
	const void *bytes;
	size_t len;
	json_t *root;
	char *text = NULL;
	rs_manifest *converted = NULL;
	int error = 0;

	if (!docker_manifest && !rs_manifest_is_index(*m))
		return 0; /* an OCI image manifest: as it is */
	bytes = rs_manifest_bytes(*m, &len);
	if (!(root = json_loadb(bytes, len, 0, NULL)))
		return rs__oom(); /* the bytes parsed once already: only memory can fail now */
	if (!json_is_object(root)) {
		json_decref(root);
		return rs__error_set(RS_EFORMAT, "manifest %s: cannot convert it to OCI",
		                     rs_manifest_digest(*m));
	}
	if (docker_manifest) {
		json_t *layers = json_object_get(root, "layers");
		bool ok = json_object_set_new(root, "mediaType", json_string(RS_MT_OCI_MANIFEST)) ==
		          0;
		ok = ok && convert_type(json_object_get(root, "config"));
		for (size_t i = 0; i < json_array_size(layers); i++)
			ok = ok && convert_type(json_array_get(layers, i));
		if (!ok) {
			error = rs__oom();
			goto done;
		}
	} else {
		int c = 0;
		if (docker_list &&
		    json_object_set_new(root, "mediaType", json_string(RS_MT_OCI_INDEX)) < 0) {
			error = rs__oom();
			goto done;
		}
		if (children &&
		    (c = convert_children(json_object_get(root, "manifests"), children)) < 0) {
			error = c;
			goto done;
		}
		if (c > 0)
			changed = true;
	}
	if (!changed)
		goto done;
	if (!(text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		error = rs__oom();
		goto done;
	}
	if ((error = rs_manifest_parse(&converted, text, strlen(text), NULL)) < 0) {
		if (error != RS_ENOMEM)
			rs__error_prefix("manifest %s converted to OCI", rs_manifest_digest(*m));
		goto done;
	}
	rs_manifest_free(*m);
	*m = converted;
done:
	free(text);
	json_decref(root);
	return error;
}

/* A copy of m as the copy engine writes it into an OCI destination: converted, and for an
 * index with its children converted too (read from src). */
static int converted_copy(rs_manifest **out, rs_store *src, const rs_manifest *m, int depth)
{
	size_t len;
	const void *bytes = rs_manifest_bytes(m, &len);
	json_t *children = NULL;
	rs_manifest *copy = NULL;
	int error;
	*out = NULL;
	if ((error = rs_manifest_parse(&copy, bytes, len, rs_manifest_media_type(m))) < 0)
		return error;
	if (rs_manifest_is_index(m)) {
		if (depth > 8) {
			error = rs__error_set(RS_EFORMAT, "indexes nested too deep");
			goto done;
		}
		if (!(children = json_object())) {
			error = rs__oom();
			goto done;
		}
		for (size_t i = 0; i < rs_manifest_child_count(m) && error == 0; i++) {
			const rs_descriptor *child = rs_manifest_child(m, i);
			rs_buf body = RS_BUF_INIT;
			char *mt = NULL;
			rs_manifest *c = NULL, *cc = NULL;
			if ((error = rs_store_manifest_get(src, child->digest, &body, &mt, NULL)) ==
			            0 &&
			    (error = rs_manifest_parse(&c, body.ptr, body.size, mt)) == 0 &&
			    (error = rs_manifest_verify(c, child->digest)) == 0 &&
			    (error = converted_copy(&cc, src, c, depth + 1)) == 0)
				rs__convert_note_child(children, child->digest, cc);
			rs_manifest_free(cc);
			rs_manifest_free(c);
			rs_buf_dispose(&body);
			free(mt);
		}
		if (error < 0)
			goto done;
	}
	if ((error = rs__convert_to_oci(&copy, children)) < 0)
		goto done;
	*out = copy;
	copy = NULL;
done:
	json_decref(children);
	rs_manifest_free(copy);
	return error;
}

static bool is_digest_reference(const char *reference)
{
	return reference && (rs__str_startswith(reference, "sha256:") ||
	                     rs__str_startswith(reference, "sha512:"));
}

int rs__convert_check_digest(rs_store *src, const rs_manifest *m, const char *dst_reference,
                             bool converting)
{
	rs_manifest *converted = NULL;
	const char *have = rs_manifest_digest(m), *written;
	bool source_matches;
	int error = 0;
	if (!is_digest_reference(dst_reference))
		return 0;
	source_matches = !strcmp(have, dst_reference) || rs_manifest_verify(m, dst_reference) == 0;
	if (!converting)
		return source_matches
		               ? 0
		               : rs__error_set(RS_EINVAL,
		                               "the destination names the digest %s, but the "
		                               "source manifest is %s: name the destination "
		                               "by a tag, or by the source's digest",
		                               dst_reference, have);
	if ((error = converted_copy(&converted, src, m, 0)) < 0)
		return error;
	written = rs_manifest_digest(converted);
	if (!strcmp(written, dst_reference) || rs_manifest_verify(converted, dst_reference) == 0)
		error = 0; /* the digest it gets once converted: what is asked for */
	else if (source_matches)
		error = rs__error_set(
		        RS_EINVAL,
		        "the destination names the digest %s, but an OCI destination gets OCI "
		        "media "
		        "types, which make the manifest %s: copy with --preserve-digests to keep "
		        "the Docker manifest and its digest, or name the destination by a tag",
		        dst_reference, written);
	else
		error = rs__error_set(
		        RS_EINVAL,
		        "the destination names the digest %s, but the source manifest "
		        "is %s (%s once converted to OCI media types): name the "
		        "destination by a tag, or by one of those digests",
		        dst_reference, have, written);
	rs_manifest_free(converted);
	return error;
}
