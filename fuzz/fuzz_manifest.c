/*
 * Manifests and indexes: rs_manifest_parse with each content type, then every accessor, the
 * builders' round trip, rs_image_config_parse and rs_platform_parse on the same bytes.
 */
#include "fuzz.h"

#include "regship/manifest.h"
#include "util/digest.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static const char *const manifest_content_types[] = {
        NULL,
        "application/json",
        "application/octet-stream",
        RS_MT_OCI_MANIFEST,
        RS_MT_OCI_INDEX,
        RS_MT_DOCKER_MANIFEST,
        RS_MT_DOCKER_LIST,
        RS_MT_DOCKER_V1_SIGNED,
        "Application/VND.OCI.Image.Manifest.v1+JSON; charset=utf-8",
        "text/plain",
};

static void manifest_walk_descriptor(const rs_descriptor *d)
{
	rs_descriptor copy;
	rs_fuzz_assert(d != NULL, "a descriptor within the count exists");
	rs_fuzz_assert(d->media_type && d->digest && rs__digest_valid(d->digest),
	               "a parsed descriptor has a media type and a valid digest");
	rs_fuzz_assert(d->size >= 0, "a parsed descriptor has a non-negative size");
	(void)rs_mediatype_is_layer(d->media_type);
	(void)rs_mediatype_is_foreign(d->media_type);
	(void)rs_mediatype_layer_compression(d->media_type);
	(void)rs_mediatype_to_oci(d->media_type);
	(void)rs_mediatype_to_docker(d->media_type);
	if (d->platform) {
		char *s = rs_platform_format(d->platform);
		rs_fuzz_assert(s != NULL, "a platform formats");
		(void)rs_platform_is_unknown(d->platform);
		rs_fuzz_assert(rs_platform_match(d->platform, d->platform),
		               "a platform matches itself");
		free(s);
	}
	rs_fuzz_assert(rs_descriptor_dup(&copy, d) == 0, "rs_descriptor_dup");
	rs_fuzz_assert(!strcmp(copy.digest, d->digest) && copy.size == d->size &&
	                       !strcmp(copy.media_type, d->media_type),
	               "rs_descriptor_dup copies");
	rs_descriptor_dispose(&copy);
}

/* Build the manifest again from its parts: whatever the builder accepts parses back. */
static void manifest_rebuild(const rs_manifest *m)
{
	rs_buf out = RS_BUF_INIT;
	rs_manifest *back = NULL;
	const char *mt = rs_manifest_media_type(m);
	int error;
	if (rs_manifest_is_index(m)) {
		size_t n = rs_manifest_child_count(m);
		rs_descriptor *children = rs__calloc(n ? n : 1, sizeof(*children));
		for (size_t i = 0; i < n; i++)
			children[i] = *rs_manifest_child(m, i);
		error = rs_index_build(&out, mt, children, n);
		free(children);
		if (error == 0) {
			rs_fuzz_assert(rs_manifest_parse(&back, out.ptr, out.size, mt) == 0,
			               "a built index parses");
			rs_fuzz_assert(rs_manifest_child_count(back) == n,
			               "a built index keeps its children");
			for (size_t i = 0; i < n; i++)
				rs_fuzz_assert(!strcmp(rs_manifest_child(back, i)->digest,
				                       rs_manifest_child(m, i)->digest),
				               "a built index keeps child digests");
		}
	} else {
		size_t n = rs_manifest_layer_count(m);
		rs_descriptor *layers = rs__calloc(n ? n : 1, sizeof(*layers));
		for (size_t i = 0; i < n; i++)
			layers[i] = *rs_manifest_layer(m, i);
		error = rs_manifest_build(&out, mt, rs_manifest_config(m), layers, n, NULL);
		free(layers);
		if (error == 0) {
			rs_fuzz_assert(rs_manifest_parse(&back, out.ptr, out.size, mt) == 0,
			               "a built manifest parses");
			rs_fuzz_assert(rs_manifest_blob_count(back) == rs_manifest_blob_count(m),
			               "a built manifest keeps its blobs");
			for (size_t i = 0; i < rs_manifest_blob_count(m); i++)
				rs_fuzz_assert(rs_manifest_blob(back, i)->size ==
				                               rs_manifest_blob(m, i)->size &&
				                       !strcmp(rs_manifest_blob(back, i)->digest,
				                               rs_manifest_blob(m, i)->digest),
				               "a built manifest keeps blob digests and sizes");
		}
	}
	rs_manifest_free(back);
	rs_buf_dispose(&out);
}

static void manifest_walk(const rs_manifest *m, const uint8_t *data, size_t size)
{
	static const char *const platforms[] = {"linux/amd64", "linux/arm64", "linux/arm/v7",
	                                        "windows/amd64"};
	size_t len = 0;
	const void *bytes = rs_manifest_bytes(m, &len);
	const char *mt = rs_manifest_media_type(m), *digest = rs_manifest_digest(m);
	char want[RS_DIGEST_MAX];

	rs_fuzz_assert(len == size && !memcmp(bytes, data, size) && ((const char *)bytes)[len] == 0,
	               "a manifest keeps the exact bytes, NUL-terminated");
	rs__sha256_digest(want, data, size);
	rs_fuzz_assert(!strcmp(digest, want), "the manifest digest is the sha256 of the bytes");
	rs_fuzz_assert(rs_manifest_verify(m, want) == 0, "a manifest verifies against its digest");
	rs_fuzz_assert(rs_mediatype_is_known(mt), "the resolved media type is a known one");
	rs_fuzz_assert(!rs_manifest_is_index(m) == !rs_mediatype_is_index(mt),
	               "is_index agrees with the media type");
	(void)rs_manifest_artifact_type(m);
	(void)rs_manifest_annotation(m, "org.opencontainers.image.ref.name");
	(void)rs_manifest_annotation(m, "");
	if (rs_manifest_subject(m))
		manifest_walk_descriptor(rs_manifest_subject(m));
	if (rs_manifest_is_index(m)) {
		rs_fuzz_assert(!rs_manifest_config(m) && !rs_manifest_layer_count(m) &&
		                       !rs_manifest_blob_count(m),
		               "an index has no config, layers or blobs");
		for (size_t i = 0; i < rs_manifest_child_count(m); i++)
			manifest_walk_descriptor(rs_manifest_child(m, i));
		rs_fuzz_assert(!rs_manifest_child(m, rs_manifest_child_count(m)),
		               "no child past the end");
		for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
			rs_platform *p = NULL;
			const rs_descriptor *d = NULL;
			rs_fuzz_assert(rs_platform_parse(&p, platforms[i]) == 0, "platform");
			if (rs_manifest_select_platform(&d, m, p) == 0)
				rs_fuzz_assert(d && d->platform &&
				                       rs_platform_match(p, d->platform),
				               "the selected child matches the platform");
			else
				rs_fuzz_assert(d == NULL, "no child on failure");
			rs_platform_free(p);
		}
	} else {
		rs_fuzz_assert(rs_manifest_config(m) != NULL, "an image manifest has a config");
		rs_fuzz_assert(rs_manifest_blob_count(m) == rs_manifest_layer_count(m) + 1,
		               "blobs are the config and the layers");
		rs_fuzz_assert(rs_manifest_blob(m, 0) == rs_manifest_config(m),
		               "the first blob is the config");
		rs_fuzz_assert(rs_manifest_child_count(m) == 0, "a manifest has no children");
		for (size_t i = 0; i < rs_manifest_blob_count(m); i++)
			manifest_walk_descriptor(rs_manifest_blob(m, i));
		rs_fuzz_assert(!rs_manifest_layer(m, rs_manifest_layer_count(m)) &&
		                       !rs_manifest_blob(m, rs_manifest_blob_count(m)),
		               "no layer or blob past the end");
	}
	manifest_rebuild(m);
}

static void manifest_config(const uint8_t *data, size_t size)
{
	rs_image_config *c = NULL;
	if (rs_image_config_parse(&c, data, size) == 0) {
		const rs_platform *p = rs_image_config_platform(c);
		rs_fuzz_assert(p != NULL, "a config has a platform");
		free(rs_platform_format(p));
		for (size_t i = 0; i < rs_image_config_diff_id_count(c); i++)
			rs_fuzz_assert(rs_image_config_diff_id(c, i) != NULL,
			               "diff_id within the count");
	} else {
		rs_fuzz_assert(c == NULL, "a failed config parse gives nothing");
	}
	rs_image_config_free(c);
}

static void manifest_platform(const uint8_t *data, size_t size)
{
	char *text = rs_fuzz_cstr(data, size > 256 ? 256 : size);
	rs_platform *p = NULL, *again = NULL;
	if (rs_platform_parse(&p, text) == 0) {
		char *s = rs_platform_format(p);
		rs_fuzz_assert(rs_platform_parse(&again, s) == 0,
		               "a formatted platform parses again");
		rs_fuzz_assert(rs_platform_match(p, again) && rs_platform_match(again, p),
		               "platform round trip matches");
		free(s);
		rs_platform_free(again);
	}
	rs_platform_free(p);
	free(text);
}

int rs_fuzz_manifest(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < sizeof(manifest_content_types) / sizeof(manifest_content_types[0]);
	     i++) {
		rs_manifest *m = NULL;
		int error = rs_manifest_parse(&m, data, size, manifest_content_types[i]);
		if (error == 0) {
			manifest_walk(m, data, size);
		} else {
			rs_fuzz_assert(m == NULL, "a failed parse gives no manifest");
			rs_fuzz_assert(
			        error == RS_EFORMAT || error == RS_EUNSUPPORTED ||
			                error == RS_ETOOBIG,
			        "parse errors are RS_EFORMAT, RS_EUNSUPPORTED or RS_ETOOBIG");
		}
		rs_manifest_free(m);
	}
	manifest_config(data, size);
	manifest_platform(data, size);
	return 0;
}

RS_FUZZ_ENTRY(rs_fuzz_manifest)
