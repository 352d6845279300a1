#define _GNU_SOURCE /* memmem */
/*
 * OCI 1.1 referrers (see include/regship/referrers.h): the referrers API with its Link
 * pagination kept on the registry's origin, the referrers tag schema as the fallback, and the
 * upkeep of the fallback index when a manifest with a subject is pushed.
 */
#include "referrers.h"

#include "manifests.h"
#include "registry.h"

#include "auth/scope.h"
#include "regship/manifest.h"
#include "util/digest.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define REFERRERS_PAGES_MAX 1000
#define REFERRERS_ITEMS_MAX 100000

static const char *const accept_index[] = {"Accept: " RS_MT_OCI_INDEX, NULL};

/* ---- results -------------------------------------------------------------------------- */

static void referrer_dispose(rs_referrer *r)
{
	free(r->media_type);
	free(r->digest);
	free(r->artifact_type);
	for (size_t i = 0; i < 2 * r->annotation_count; i++)
		free(r->annotations[i]);
	free(r->annotations);
	memset(r, 0, sizeof(*r));
}

void rs_referrers_dispose(rs_referrers *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->count; i++)
		referrer_dispose(&rs->items[i]);
	free(rs->items);
	free(rs->subject);
	memset(rs, 0, sizeof(*rs));
}

const char *rs_referrer_annotation(const rs_referrer *r, const char *key)
{
	if (!r || !key)
		return NULL;
	for (size_t i = 0; i < r->annotation_count; i++)
		if (!strcmp(r->annotations[2 * i], key))
			return r->annotations[2 * i + 1];
	return NULL;
}

/* ---- parsing -------------------------------------------------------------------------- */

static int bad(const char *what, size_t i, const char *why)
{
	return rs__error_set(RS_EPROTO, "%s: manifests[%zu] %s", what, i, why);
}

static int referrer_from_json(rs_referrer *r, json_t *d, const char *what, size_t i)
{
	json_t *mt = json_object_get(d, "mediaType"), *dg = json_object_get(d, "digest"),
	       *sz = json_object_get(d, "size"), *at = json_object_get(d, "artifactType"),
	       *ann = json_object_get(d, "annotations");
	const char *key;
	json_t *v;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(d))
		return bad(what, i, "is not an object");
	if (!json_is_string(mt) || !json_string_length(mt))
		return bad(what, i, "has no mediaType");
	if (!json_is_string(dg) || !rs__digest_valid(json_string_value(dg)))
		return bad(what, i, "has no valid digest");
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return bad(what, i, "has no valid size");
	if (at && !json_is_null(at) && !json_is_string(at))
		return bad(what, i, "has an artifactType that is not a string");
	if (ann && !json_is_null(ann) && !json_is_object(ann))
		return bad(what, i, "has annotations that are not an object");
	if (!(r->media_type = rs__strdup(json_string_value(mt))) ||
	    !(r->digest = rs__strdup(json_string_value(dg))))
		goto oom;
	r->size = json_integer_value(sz);
	if (json_is_string(at) && !(r->artifact_type = rs__strdup(json_string_value(at))))
		goto oom;
	if (json_is_object(ann) && json_object_size(ann)) {
		if (!(r->annotations = rs__calloc(2 * json_object_size(ann), sizeof(char *))))
			goto oom;
		json_object_foreach(ann, key, v)
		{
			if (!json_is_string(v))
				continue;
			if (!(r->annotations[2 * r->annotation_count] = rs__strdup(key)) ||
			    !(r->annotations[2 * r->annotation_count + 1] =
			              rs__strdup(json_string_value(v)))) {
				free(r->annotations[2 * r->annotation_count]);
				goto oom;
			}
			r->annotation_count++;
		}
	}
	return 0;
oom:
	referrer_dispose(r);
	return rs__oom();
}

static bool listed(const rs_referrers *out, const char *digest)
{
	for (size_t i = 0; i < out->count; i++)
		if (!strcmp(out->items[i].digest, digest))
			return true;
	return false;
}

int rs__referrers_parse(rs_referrers *out, const void *body, size_t len, const char *artifact_type,
                        const char *what)
{
	json_error_t jerr;
	json_t *root, *list, *d;
	size_t i;
	int error = 0;

	root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root && rs__json_oom(&jerr))
		return rs__oom();
	if (!root)
		return rs__error_set(RS_EPROTO, "%s: invalid JSON (%s)", what,
		                     rs__json_error_reason(&jerr));
	if (!json_is_object(root)) {
		error = rs__error_set(RS_EPROTO, "%s: not a JSON object (an image index expected)",
		                      what);
		goto done;
	}
	list = json_object_get(root, "manifests");
	if (!json_is_array(list)) {
		error = rs__error_set(RS_EPROTO,
		                      "%s: no \"manifests\" list (an image index expected)", what);
		goto done;
	}
	json_array_foreach(list, i, d)
	{
		rs_referrer r;
		rs_referrer *grown;
		if ((error = referrer_from_json(&r, d, what, i)) < 0)
			break;
		if ((artifact_type &&
		     (!r.artifact_type || strcmp(r.artifact_type, artifact_type))) ||
		    listed(out, r.digest)) {
			referrer_dispose(&r);
			continue;
		}
		if (out->count >= REFERRERS_ITEMS_MAX) {
			referrer_dispose(&r);
			error = rs__error_set(RS_EPROTO, "%s: more than %d referrers; giving up",
			                      what, REFERRERS_ITEMS_MAX);
			break;
		}
		if (!(grown = rs__realloc(out->items, (out->count + 1) * sizeof(*grown)))) {
			referrer_dispose(&r);
			error = rs__oom();
			break;
		}
		out->items = grown;
		out->items[out->count++] = r;
	}
done:
	json_decref(root);
	return error;
}

/* ---- the referrers API ---------------------------------------------------------------- */

/* The next page of an answer: a Link on the registry's own origin, never one fetched. */
static int next_page(char **out, rs_client *c, rs__endpoint *ep, const rs__http_response *resp,
                     const rs_strlist *seen, const char *what)
{
	const char *link = rs__http_header(resp, "link");
	char *next = NULL, *shown;
	bool own_origin = false;
	int error;

	*out = NULL;
	if (!link)
		return 0;
	if (rs__link_next(&next, link, resp->url) < 0) {
		shown = rs__escape(link);
		error = rs__error_set(RS_EPROTO, "%s: %s sent a malformed Link header: %s", what,
		                      ep->domain, shown ? shown : "");
		free(shown);
		return error;
	}
	if (!next)
		return 0;
	if ((error = rs__url_check(&own_origin, c, ep, next, RS__URL_LINK)) < 0) {
		rs__error_prefix("%s", what);
		free(next);
		return error;
	}
	shown = rs__escape(next);
	if (!own_origin)
		error = rs__error_set(RS_EPROTO,
		                      "%s: %s sent a pagination Link to another origin (%s); "
		                      "referrers pages are only followed on the registry's own "
		                      "origin",
		                      what, ep->domain, shown ? shown : "");
	else if (rs__strlist_contains(seen, next))
		error = rs__error_set(RS_EPROTO,
		                      "%s: pagination loop: %s sent a Link to %s, a page already "
		                      "fetched",
		                      what, ep->domain, shown ? shown : "");
	free(shown);
	if (error < 0) {
		free(next);
		return error;
	}
	*out = next;
	return 0;
}

static bool says_filtered(const rs__http_response *resp)
{
	const char *h = rs__http_header(resp, "oci-filters-applied");
	if (!h)
		return false;
	for (const char *p = h; *p; p++)
		if (rs__str_niequal(p, "artifactType", 12))
			return true;
	return false;
}

/* GET /v2/<name>/referrers/<digest>[?artifactType=T] and its pages. *no_api: the registry
 * answered the first page with 404 (out untouched). */
static int list_api(rs_referrers *out, bool *no_api, rs_client *c, const rs_ref *repo,
                    const char *digest, const char *artifact_type, const char *what)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs_strlist seen = RS_STRLIST_INIT;
	rs_buf first = RS_BUF_INIT;
	char *url = NULL, *scope = NULL;
	int error;

	*no_api = false;
	if ((error = rs__client_endpoint(&ep, c, repo->domain)) < 0)
		return error;
	rs__buf_printf(&first, "/v2/%s/referrers/%s", repo->path, digest);
	if (artifact_type) {
		char *q = rs__url_escape(artifact_type);
		if (!q) {
			error = rs__oom();
			goto done;
		}
		rs__buf_printf(&first, "?artifactType=%s", q);
		free(q);
	}
	if (!first.ptr || !(url = rs__buf_detach(&first)) ||
	    !(scope = rs__scope_repository(repo->path, "pull"))) {
		error = rs__oom();
		goto done;
	}
	for (int page = 0; url; page++) {
		rs__reg_request req = {0};
		char *next = NULL;

		if (page >= REFERRERS_PAGES_MAX) {
			error = rs__error_set(RS_EPROTO, "%s: more than %d pages; giving up", what,
			                      REFERRERS_PAGES_MAX);
			break;
		}
		req.method = "GET";
		req.url = url;
		req.url_kind = RS__URL_LINK;
		req.scope = scope;
		req.headers = accept_index;
		req.max_body = RS__REFERRERS_MAX;
		req.follow_redirects = true;
		rs__http_response_dispose(&resp);
		if ((error = rs__registry_do(c, ep, &req, &resp)) < 0) {
			if (error == RS_ETOOBIG)
				error = rs__error_set(RS_EPROTO,
				                      "%s: %s sent a page of more than %u MiB",
				                      what, ep->domain, RS__REFERRERS_MAX >> 20);
			break;
		}
		if (page == 0 && resp.status == 404) {
			*no_api = true; /* no referrers API: the tag schema */
			break;
		}
		if (resp.status != 200) {
			error = rs__registry_error(ep, &resp, what);
			break;
		}
		if (page == 0)
			out->filtered_by_registry = artifact_type && says_filtered(&resp);
		if (resp.url && (error = rs__strlist_push(&seen, resp.url)) < 0)
			break;
		if ((error = rs__referrers_parse(out, rs__buf_cstr(&resp.body), resp.body.size,
		                                 artifact_type, what)) < 0)
			break;
		if ((error = next_page(&next, c, ep, &resp, &seen, what)) < 0)
			break;
		free(url);
		url = next;
	}
done:
	free(url);
	free(scope);
	rs_buf_dispose(&first);
	rs__strlist_dispose(&seen);
	rs__http_response_dispose(&resp);
	return error;
}

/* ---- the referrers tag schema --------------------------------------------------------- */

char *rs__referrers_tag(const char *digest)
{
	size_t alen;
	rs_buf b = RS_BUF_INIT;
	if (!digest || !rs__digest_valid(digest))
		return NULL;
	alen = strcspn(digest, ":");
	rs__buf_printf(&b, "%.*s-%.64s", (int)(alen > 32 ? 32 : alen), digest, digest + alen + 1);
	return b.ptr ? rs__buf_detach(&b) : NULL;
}

/* The fallback index of digest: *found 0 when the tag does not exist. */
static int fetch_tag_index(rs_buf *body, bool *found, rs_client *c, const rs_ref *repo,
                           const char *digest)
{
	char *tag = rs__referrers_tag(digest), *mt = NULL, *shown;
	rs_ref *ref = NULL;
	int error;

	*found = false;
	if (!tag)
		return rs__oom();
	if ((error = rs_ref_with_tag(&ref, repo, tag)) < 0)
		goto done;
	error = rs_registry_manifest_get(c, ref, body, &mt, NULL);
	if (error == RS_ENOTFOUND) {
		rs_error_clear();
		error = 0;
		goto done;
	}
	if (error < 0)
		goto done;
	if (mt && *mt && !rs_mediatype_is_index(mt) && !rs__is_json_type(mt)) {
		shown = rs__escape(mt);
		error = rs__error_set(RS_EPROTO,
		                      "the referrers tag %s of %s holds a %s, not an image index",
		                      tag, repo->path, shown ? shown : "");
		free(shown);
		goto done;
	}
	*found = true;
done:
	free(mt);
	free(tag);
	rs_ref_free(ref);
	return error;
}

static int list_tag(rs_referrers *out, rs_client *c, const rs_ref *repo, const char *digest,
                    const char *artifact_type, const char *what)
{
	rs_buf body = RS_BUF_INIT;
	bool found;
	int error;

	out->source = RS_REFERRERS_TAG;
	if ((error = fetch_tag_index(&body, &found, c, repo, digest)) == 0 && found)
		error = rs__referrers_parse(out, rs__buf_cstr(&body), body.size, artifact_type,
		                            what);
	rs_buf_dispose(&body);
	return error;
}

int rs_referrers_list(rs_referrers *out, rs_client *c, const rs_ref *subject,
                      const char *artifact_type)
{
	rs_buf what = RS_BUF_INIT;
	char *digest = NULL, *name = NULL, *shown = NULL;
	bool no_api = false;
	int error;

	if (!out)
		return rs__error_set(RS_EINVAL, "rs_referrers_list: no result to fill");
	memset(out, 0, sizeof(*out));
	if (!c || !subject)
		return rs__error_set(RS_EINVAL, "rs_referrers_list: missing argument");
	if (artifact_type && !*artifact_type)
		artifact_type = NULL;
	if (subject->digest)
		digest = rs__strdup(subject->digest);
	else if ((error = rs_registry_manifest_resolve(c, subject, &digest, NULL, NULL)) < 0)
		return error;
	if (!digest || !(name = rs_ref_format_name(subject)) || !(shown = rs__escape(name))) {
		error = rs__oom();
		goto done;
	}
	rs__buf_printf(&what, "referrers of %s@%s", shown, digest);
	if (!what.ptr) {
		error = rs__oom();
		goto done;
	}
	out->subject = digest;
	digest = NULL;
	if ((error = list_api(out, &no_api, c, subject, out->subject, artifact_type, what.ptr)) ==
	            0 &&
	    no_api)
		error = list_tag(out, c, subject, out->subject, artifact_type, what.ptr);
done:
	if (error < 0)
		rs_referrers_dispose(out);
	free(digest);
	free(name);
	free(shown);
	rs_buf_dispose(&what);
	return error;
}

/* ---- keeping the fallback tag --------------------------------------------------------- */

int rs__referrers_descriptor(json_t **desc, char **subject, const void *manifest, size_t len,
                             const char *media_type)
{
	json_t *root, *sub, *d = NULL, *at, *cfg, *ann;
	const char *sd, *mt, *type = NULL;
	char digest[RS_DIGEST_MAX];
	json_error_t jerr;
	int error = 0;

	*desc = NULL;
	*subject = NULL;
	root = json_loadb(manifest ? manifest : "", len, 0, &jerr);
	if (!root && rs__json_oom(&jerr))
		return rs__oom();
	sub = json_object_get(root, "subject");
	if (!json_is_object(root) || !json_is_object(sub))
		goto done; /* no subject (an unreadable manifest was refused by the PUT) */
	sd = json_string_value(json_object_get(sub, "digest"));
	if (!sd || !rs__digest_valid(sd)) {
		error = rs__error_set(RS_EFORMAT, "the manifest's subject has no valid digest");
		goto done;
	}
	mt = json_string_value(json_object_get(root, "mediaType"));
	if (!mt)
		mt = media_type && *media_type ? media_type : RS_MT_OCI_MANIFEST;
	at = json_object_get(root, "artifactType");
	cfg = json_object_get(json_object_get(root, "config"), "mediaType");
	if (json_is_string(at))
		type = json_string_value(at);
	else if (json_is_string(cfg) && strcmp(json_string_value(cfg), RS_MT_OCI_EMPTY))
		type = json_string_value(cfg);
	rs__sha256_digest(digest, manifest ? manifest : "", len);
	if (!(d = json_object()) || json_object_set_new(d, "mediaType", json_string(mt)) ||
	    json_object_set_new(d, "digest", json_string(digest)) ||
	    json_object_set_new(d, "size", json_integer((json_int_t)len)) ||
	    (type && json_object_set_new(d, "artifactType", json_string(type)))) {
		error = rs__oom();
		goto done;
	}
	ann = json_object_get(root, "annotations");
	if (json_is_object(ann) && json_object_size(ann) &&
	    json_object_set_new(d, "annotations", json_deep_copy(ann))) {
		error = rs__oom();
		goto done;
	}
	if (!(*subject = rs__strdup(sd))) {
		error = rs__oom();
		goto done;
	}
	*desc = d;
	d = NULL;
done:
	json_decref(d);
	json_decref(root);
	return error;
}

int rs__referrers_index_merge(rs_buf *out, const void *old, size_t old_len, const json_t *desc)
{
	const char *want = json_string_value(json_object_get(desc, "digest"));
	json_t *root, *list, *d;
	char *text = NULL;
	size_t i;
	int error = 0;

	if (!want)
		return rs__error_set(RS_EINVAL, "referrers index: a descriptor without a digest");
	if (old) {
		json_error_t jerr;
		root = json_loadb(old, old_len, 0, &jerr);
		if (!root && rs__json_oom(&jerr))
			return rs__oom();
		if (!root)
			return rs__error_set(RS_EFORMAT, "referrers index: invalid JSON (%s)",
			                     rs__json_error_reason(&jerr));
		list = json_object_get(root, "manifests");
		if (!json_is_object(root) || !json_is_array(list)) {
			json_decref(root);
			return rs__error_set(
			        RS_EFORMAT, "referrers index: not an image index (no \"manifests\" "
			                    "list)");
		}
	} else {
		root = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
		                 RS_MT_OCI_INDEX, "manifests");
		if (!root)
			return rs__oom();
		list = json_object_get(root, "manifests");
	}
	json_array_foreach(list, i, d)
	{
		const char *have = json_string_value(json_object_get(d, "digest"));
		if (have && !strcmp(have, want)) {
			json_decref(root);
			return 1; /* listed already */
		}
	}
	if (json_array_append_new(list, json_deep_copy(desc)) ||
	    !(text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		error = rs__oom();
		goto done;
	}
	rs__buf_clear(out);
	rs__buf_puts(out, text);
	if (rs__buf_oom(out))
		error = rs__oom();
done:
	free(text);
	json_decref(root);
	return error;
}

int rs_referrers_tag_update(rs_client *c, const rs_ref *repo, const void *manifest, size_t len,
                            const char *media_type)
{
	json_t *desc = NULL;
	char *subject = NULL, *tag = NULL;
	rs_buf old = RS_BUF_INIT, merged = RS_BUF_INIT;
	rs_ref *ref = NULL;
	bool found = false;
	int error;

	if (!c || !repo || (!manifest && len))
		return rs__error_set(RS_EINVAL, "rs_referrers_tag_update: missing argument");
	if ((error = rs__referrers_descriptor(&desc, &subject, manifest, len, media_type)) < 0 ||
	    !desc)
		goto done;
	if (!(tag = rs__referrers_tag(subject))) {
		error = rs__oom();
		goto done;
	}
	if ((error = fetch_tag_index(&old, &found, c, repo, subject)) < 0)
		goto done;
	error = rs__referrers_index_merge(&merged, found ? rs__buf_cstr(&old) : NULL, old.size,
	                                  desc);
	if (error == 1) {
		error = 0;
		goto done;
	}
	if (error < 0) {
		rs__error_prefix("the referrers tag %s of %s", tag, repo->path);
		goto done;
	}
	if ((error = rs_ref_with_tag(&ref, repo, tag)) < 0)
		goto done;
	error = rs_registry_manifest_put(c, ref, merged.ptr, merged.size, RS_MT_OCI_INDEX, NULL);
done:
	if (error < 0 && tag)
		rs__error_prefix(
		        "updating the referrers tag %s (the registry has no referrers API)", tag);
	json_decref(desc);
	free(subject);
	free(tag);
	rs_buf_dispose(&old);
	rs_buf_dispose(&merged);
	rs_ref_free(ref);
	return error;
}

int rs__referrers_after_put(rs_client *c, const rs_ref *repo, const void *body, size_t len,
                            const char *media_type, bool api)
{
	if (api)
		return 0; /* the registry indexed the subject itself (OCI-Subject) */
	/* cheap test before parsing: most manifests have no subject */
	if (!body || !len || !memmem(body, len, "\"subject\"", 9))
		return 0;
	return rs_referrers_tag_update(c, repo, body, len, media_type);
}
