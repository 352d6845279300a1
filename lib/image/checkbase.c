/* Is an image still built on its base's current layers? (regship/checkbase.h) */
#include "regship/checkbase.h"
#include "regship/errors.h"
#include "regship/inspect.h"

#include "util/json.h"
#include "util/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The top manifest a reference names, parsed, with its digest. */
static int top_manifest(rs_manifest **m, char **digest, rs_store *s, const char *ref)
{
	rs_buf body = RS_BUF_INIT;
	char *mt = NULL;
	int error;
	*m = NULL;
	if ((error = rs_store_manifest_get(s, ref, &body, &mt, digest)) < 0)
		goto done;
	if ((error = rs_manifest_parse(m, body.ptr, body.size, mt)) < 0)
		goto done;
	if (!*digest && rs_manifest_digest(*m) && !(*digest = rs__strdup(rs_manifest_digest(*m))))
		error = rs__oom();
done:
	free(mt);
	rs_buf_dispose(&body);
	return error;
}

/* The platform an image's config names, or {NULL} when it names none. */
static rs_platform info_platform(const rs_image_info *info)
{
	rs_platform p = {NULL, NULL, NULL, NULL};
	if (info->os && info->architecture && strcmp(info->os, "unknown")) {
		p.os = info->os;
		p.architecture = info->architecture;
		p.variant = info->variant;
	}
	return p;
}

/* The "not found" of a store: a registry's listing is its answer (rs_error.remote). */
static int not_found_in(rs_store *s)
{
	if (rs_store_registry_ref(s))
		rs__error_mark_remote();
	return RS_ENOTFOUND;
}

/* The config's rootfs.diff_ids (the uncompressed layers' digests), or NULL when it has none.
 * The caller json_decref()s it (the array is borrowed from the returned root). *oom is set
 * when the config could not be parsed for want of memory. */
static json_t *diff_ids(const rs_image_info *info, json_t **root, bool *oom)
{
	json_t *ids;
	json_error_t jerr;
	*root = info->config.size ? json_loadb(info->config.ptr, info->config.size, 0, &jerr)
	                          : NULL;
	if (info->config.size && !*root && rs__json_oom(&jerr))
		*oom = true;
	ids = json_object_get(json_object_get(*root, "rootfs"), "diff_ids");
	return json_is_array(ids) ? ids : NULL;
}

/* Whether layer i is the same in both: the same blob, or (a docker archive's layers are stored
 * uncompressed, a re-compressed layer has another digest) the same diff_id. */
static bool same_layer(const rs_image_info *a, json_t *a_ids, const rs_image_info *b, json_t *b_ids,
                       size_t i)
{
	const char *x, *y;
	if (!strcmp(a->layers[i].digest, b->layers[i].digest))
		return true;
	x = json_string_value(json_array_get(a_ids, i));
	y = json_string_value(json_array_get(b_ids, i));
	return x && y && json_array_size(a_ids) == a->layer_count &&
	       json_array_size(b_ids) == b->layer_count && !strcmp(x, y);
}

/* Compare one image manifest with its base: fills it (its strings owned by it). */
static int compare(rs_check_base_item *it, const rs_image_info *img, rs_store *base,
                   const char *base_ref, const rs_image_info *base_single)
{
	rs_platform p = info_platform(img);
	rs_image_info *own = NULL;
	const rs_image_info *b = base_single;
	rs_manifest *m = NULL;
	const char *built_on;
	int error = 0;

	if (p.os && !(it->platform = rs_platform_format(&p)))
		return rs__oom();
	if (!(it->digest = rs__strdup(img->digest)))
		return rs__oom();
	if ((error = rs_manifest_parse(&m, img->manifest.ptr, img->manifest.size,
	                               img->media_type)) < 0)
		return error;
	built_on = rs_manifest_annotation(m, RS_ANNOTATION_BASE_DIGEST);
	if (built_on && !(it->built_on = rs__strdup(built_on))) {
		error = rs__oom();
		goto done;
	}
	if (!b) {
		/* the base is an index: its manifest for the image's platform */
		if (!p.os) {
			error = rs__error_set(RS_EINVAL,
			                      "image %s names no platform in its config, and the "
			                      "base is a multi-platform index: give a platform",
			                      img->digest);
			goto done;
		}
		if ((error = rs_image_inspect(&own, base, base_ref, &p)) < 0)
			goto done;
		b = own;
	}
	if (!(it->base_digest = rs__strdup(b->digest))) {
		error = rs__oom();
		goto done;
	}
	it->layers = img->layer_count;
	it->base_layers = b->layer_count;
	{
		bool oom = false;
		json_t *ir, *br, *iids = diff_ids(img, &ir, &oom), *bids = diff_ids(b, &br, &oom);
		while (!oom && it->matching < b->layer_count && it->matching < img->layer_count &&
		       same_layer(img, iids, b, bids, it->matching))
			it->matching++;
		json_decref(ir);
		json_decref(br);
		if (oom) {
			error = rs__oom();
			goto done;
		}
	}
	it->up_to_date = it->matching == b->layer_count;
done:
	rs_image_info_free(own);
	rs_manifest_free(m);
	return error;
}

/* An item more in r (zeroed), or NULL out of memory. */
static rs_check_base_item *add_item(rs_check_base_result *r)
{
	rs_check_base_item *items = rs__realloc(r->items, (r->count + 1) * sizeof(*items));
	if (!items)
		return NULL;
	r->items = items;
	memset(&items[r->count], 0, sizeof(*items));
	return &items[r->count++];
}

int rs_check_base(rs_check_base_result **out, rs_store *image, const char *image_ref,
                  rs_store *base, const char *base_ref, const rs_platform *platform)
{
	rs_check_base_result *r;
	rs_manifest *im = NULL, *bm = NULL;
	rs_image_info *base_single = NULL, *img = NULL;
	rs_check_base_item *it;
	int error;

	*out = NULL;
	if (!image || !base)
		return rs__error_set(RS_EINVAL, "rs_check_base: no store");
	if (!(r = rs__calloc(1, sizeof(*r))))
		return rs__oom();
	if ((error = top_manifest(&im, &r->digest, image, image_ref)) < 0 ||
	    (error = top_manifest(&bm, &r->base_digest, base, base_ref)) < 0)
		goto fail;
	if (!rs_manifest_is_index(bm) &&
	    (error = rs_image_inspect(&base_single, base, base_ref, NULL)) < 0)
		goto fail;

	if (rs_manifest_is_index(im) && !platform) {
		/* every platform of the image index */
		for (size_t i = 0; i < rs_manifest_child_count(im); i++) {
			const rs_descriptor *c = rs_manifest_child(im, i);
			if (!c->platform || rs_platform_is_unknown(c->platform))
				continue; /* attestations, artifacts */
			if ((error = rs_image_inspect(&img, image, c->digest, NULL)) < 0)
				goto fail;
			if (!(it = add_item(r))) {
				error = rs__oom();
				goto fail;
			}
			if ((error = compare(it, img, base, base_ref, base_single)) < 0)
				goto fail;
			rs_image_info_free(img);
			img = NULL;
		}
		if (!r->count) {
			error = rs__error_set(RS_EINVAL,
			                      "the image index %s names no platform to compare",
			                      r->digest);
			goto fail;
		}
	} else {
		rs_platform p;
		if ((error = rs_image_inspect(&img, image, image_ref, platform)) < 0)
			goto fail;
		p = info_platform(img);
		if (platform && !img->index_digest && p.os && !rs_platform_match(platform, &p)) {
			char *have = rs_platform_format(&p), *want = rs_platform_format(platform);
			if (have && want)
				rs__error_set(RS_ENOTFOUND,
				              "%s is a single-platform image for %s, not %s",
				              r->digest, have, want);
			else
				rs__oom();
			error = have && want ? not_found_in(image) : RS_ENOMEM;
			free(have);
			free(want);
			goto fail;
		}
		if (!(it = add_item(r))) {
			error = rs__oom();
			goto fail;
		}
		if ((error = compare(it, img, base, base_ref, base_single)) < 0)
			goto fail;
	}
	r->up_to_date = 1;
	for (size_t i = 0; i < r->count; i++)
		if (!r->items[i].up_to_date)
			r->up_to_date = 0;
	*out = r;
	r = NULL;
fail:
	rs_image_info_free(img);
	rs_image_info_free(base_single);
	rs_manifest_free(im);
	rs_manifest_free(bm);
	rs_check_base_result_free(r);
	return error;
}

void rs_check_base_result_free(rs_check_base_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++) {
		free(r->items[i].platform);
		free(r->items[i].digest);
		free(r->items[i].base_digest);
		free(r->items[i].built_on);
	}
	free(r->items);
	free(r->digest);
	free(r->base_digest);
	free(r);
}
