/* Tag and repository listings, following Link pagination verbatim. */
#include "registry.h"

#include "auth/scope.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define RS_LIST_PAGE_MAX (32u * 1024 * 1024)
#define RS_LIST_PAGES_MAX 100000

static int list_pages(rs_client *c, rs__endpoint *ep, const char *first_path, const char *scope,
                      const char *key, const char *what, int (*cb)(const char *, void *),
                      void *payload)
{
	char *url = rs__strdup(first_path);
	rs__http_response resp = {0};
	int error = 0;
	for (int page = 0; url; page++) {
		rs__reg_request req = {0};
		json_error_t jerr;
		json_t *root = NULL, *items;
		const char *link;
		char *next = NULL;
		size_t i;
		json_t *v;

		if (page >= RS_LIST_PAGES_MAX) {
			error = rs__error_set(RS_EPROTO, "%s: more than %d pages; giving up", what,
			                      RS_LIST_PAGES_MAX);
			break;
		}
		req.method = "GET";
		req.url = url;
		req.scope = scope;
		req.max_body = RS_LIST_PAGE_MAX;
		req.follow_redirects = true;
		rs__http_response_dispose(&resp);
		if ((error = rs__registry_do(c, ep, &req, &resp)) < 0)
			break;
		if (resp.status != 200) {
			error = rs__registry_error(ep, &resp, what);
			break;
		}
		root = json_loadb(rs__buf_cstr(&resp.body), resp.body.size, 0, &jerr);
		if (!root || !json_is_object(root)) {
			error = rs__error_set(RS_EPROTO, "%s: %s sent invalid JSON%s%s", what,
			                      ep->domain, root ? "" : ": ", root ? "" : jerr.text);
			json_decref(root);
			break;
		}
		items = json_object_get(root, key);
		if (items && !json_is_null(items) && !json_is_array(items)) {
			error = rs__error_set(RS_EPROTO, "%s: \"%s\" is not a list", what, key);
			json_decref(root);
			break;
		}
		json_array_foreach(items, i, v)
		{
			if (!json_is_string(v))
				continue;
			if (cb(json_string_value(v), payload)) {
				error = rs__error_set(RS_EUSER, "%s: stopped", what);
				break;
			}
		}
		json_decref(root);
		if (error)
			break;
		link = rs__http_header(&resp, "link");
		if (link && (error = rs__link_next(&next, link, resp.url)) < 0)
			break;
		free(url);
		url = next;
	}
	free(url);
	rs__http_response_dispose(&resp);
	return error;
}

int rs_tags_list(rs_client *c, const rs_ref *repo, int (*cb)(const char *, void *), void *payload)
{
	rs__endpoint *ep;
	char *path, *scope, *name;
	rs_buf what = RS_BUF_INIT;
	int error;
	if ((error = rs__client_endpoint(&ep, c, repo->domain)) < 0)
		return error;
	path = rs__registry_path(repo->path, "tags/list");
	scope = rs__scope_repository(repo->path, "pull");
	name = rs_ref_format_name(repo);
	rs__buf_printf(&what, "tags of %s", name);
	error = list_pages(c, ep, path, scope, "tags", what.ptr, cb, payload);
	free(path);
	free(scope);
	free(name);
	rs_buf_dispose(&what);
	return error;
}

int rs_catalog_list(rs_client *c, const char *domain, int (*cb)(const char *, void *),
                    void *payload)
{
	rs__endpoint *ep;
	rs_buf what = RS_BUF_INIT;
	int error;
	if ((error = rs__client_endpoint(&ep, c, domain)) < 0)
		return error;
	rs__buf_printf(&what, "catalog of %s", domain);
	error = list_pages(c, ep, "/v2/_catalog", "registry:catalog:*", "repositories", what.ptr,
	                   cb, payload);
	rs_buf_dispose(&what);
	return error;
}
