/*
 * Tag and repository listings, following Link pagination. Each Link goes through the URL policy
 * (credentials only to the registry's origin); a Link back to a page already fetched is a loop;
 * pages and the bytes of names are bounded. Names go to the callback page by page, as they
 * arrive, so a caller that prints them holds nothing.
 */
#include "registry.h"

#include "auth/scope.h"
#include "util/json.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define RS_LIST_PAGE_MAX (32u * 1024 * 1024)
#define RS_LIST_PAGES_MAX 100000
#define RS_LIST_NAMES_MAX ((uint64_t)64 * 1024 * 1024)
/* pages in a row without a name that each link to another: a loop over fresh URLs */
#define RS_LIST_EMPTY_MAX 100

/* The pages fetched, as 64-bit FNV-1a hashes of their URLs in an open-addressed set (a URL is
 * not kept: a hostile server's URLs may be long, and there may be 100000 of them). */
typedef struct url_set {
	uint64_t *slots; /* 0: empty */
	size_t count, size;
} url_set;

static uint64_t url_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

static bool url_set_has(const url_set *set, const char *url)
{
	uint64_t h = url_hash(url);
	if (!set->size)
		return false;
	for (size_t i = h % set->size; set->slots[i]; i = (i + 1) % set->size)
		if (set->slots[i] == h)
			return true;
	return false;
}

static int url_set_add(url_set *set, const char *url)
{
	uint64_t h = url_hash(url);
	size_t i;
	if (url_set_has(set, url))
		return 0;
	if ((set->count + 1) * 2 > set->size) {
		url_set bigger = {0};
		bigger.size = set->size ? set->size * 2 : 64;
		bigger.slots = rs__calloc(bigger.size, sizeof(*bigger.slots));
		if (!bigger.slots)
			return rs__oom();
		for (size_t k = 0; k < set->size; k++) {
			if (!set->slots[k])
				continue;
			for (i = set->slots[k] % bigger.size; bigger.slots[i];
			     i = (i + 1) % bigger.size)
				;
			bigger.slots[i] = set->slots[k];
		}
		bigger.count = set->count;
		free(set->slots);
		*set = bigger;
	}
	for (i = h % set->size; set->slots[i]; i = (i + 1) % set->size)
		;
	set->slots[i] = h;
	set->count++;
	return 0;
}

typedef struct list_job {
	rs_client *c;
	rs__endpoint *ep;
	const char *scope, *key, *what;
	int (*cb)(const char *, void *);
	int (*page_cb)(void *);
	void *payload;
} list_job;

/* The next page's URL from the answer's Link header, or NULL; refused by the URL policy, or a
 * URL already fetched (kept in seen), it is an error. */
static int next_page(char **out, const list_job *j, const rs__http_response *resp,
                     const url_set *seen)
{
	const char *link = rs__http_header(resp, "link");
	char *next = NULL;
	bool own_origin;
	int error;
	*out = NULL;
	if (!link)
		return 0;
	if ((error = rs__link_next(&next, link, resp->url)) < 0) {
		char *shown = error == RS_ENOMEM ? NULL : rs__escape(link);
		if (!shown)
			return RS_ENOMEM;
		error = rs__error_set(RS_EPROTO, "%s: %s sent a malformed Link header: %s", j->what,
		                      j->ep->domain, shown);
		free(shown);
		return error;
	}
	if (!next)
		return 0;
	if ((error = rs__url_check(&own_origin, j->c, j->ep, next, RS__URL_LINK)) < 0) {
		rs__error_prefix("%s", j->what);
		free(next);
		return error;
	}
	if (url_set_has(seen, next)) {
		char *shown = rs__escape(next);
		if (!shown) {
			free(next);
			return rs__oom();
		}
		error = rs__error_set(RS_EPROTO,
		                      "%s: pagination loop: %s sent a Link to %s, a page already "
		                      "fetched",
		                      j->what, j->ep->domain, shown);
		free(shown);
		free(next);
		return error;
	}
	*out = next;
	return 0;
}

/* GET one page into *resp (disposed first), and note its URL (and where redirects led) in seen. */
static int fetch_page(rs__http_response *resp, const list_job *j, const char *url, url_set *seen)
{
	rs__reg_request req = {0};
	int error;
	req.method = "GET";
	req.url = url;
	req.url_kind = RS__URL_LINK;
	req.scope = j->scope;
	req.max_body = RS_LIST_PAGE_MAX;
	req.follow_redirects = true;
	rs__http_response_dispose(resp);
	if ((error = rs__registry_do(j->c, j->ep, &req, resp)) < 0) {
		if (error == RS_ETOOBIG)
			error = rs__error_set(RS_EPROTO, "%s: %s sent a page of more than %u MiB",
			                      j->what, j->ep->domain, RS_LIST_PAGE_MAX >> 20);
		return error;
	}
	if (resp->status != 200)
		return rs__registry_error(j->ep, resp, j->what);
	/* what was asked (relative first page) and where it came from, redirects included */
	if ((resp->url && (error = url_set_add(seen, resp->url)) < 0) ||
	    (url[0] != '/' && (error = url_set_add(seen, url)) < 0))
		return error;
	return 0;
}

/* The page's JSON object into *root (NULL on failure). */
static int parse_page(json_t **root, const list_job *j, const rs__http_response *resp)
{
	json_error_t jerr;
	char *shown;
	int error;
	*root = json_loadb(rs__buf_cstr(&resp->body), resp->body.size, 0, &jerr);
	if (!*root && rs__json_oom(&jerr))
		return rs__oom();
	if (*root && json_is_object(*root))
		return 0;
	if (!(shown = rs__escape(*root ? "" : jerr.text)))
		error = rs__oom();
	else
		error = rs__error_set(RS_EPROTO, "%s: %s sent invalid JSON%s%s", j->what,
		                      j->ep->domain, *root ? "" : ": ", shown);
	free(shown);
	json_decref(*root);
	*root = NULL;
	return error;
}

/* The page's names, to the callback one by one, then the page callback; *name_bytes counts
 * the bytes of names so far, across pages. */
static int pass_names(const list_job *j, const json_t *root, uint64_t *name_bytes)
{
	const json_t *items = json_object_get(root, j->key), *v;
	size_t i;
	int error;
	if (items && !json_is_null(items) && !json_is_array(items))
		return rs__error_set(RS_EPROTO, "%s: \"%s\" is not a list", j->what, j->key);
	json_array_foreach(items, i, v)
	{
		if (!json_is_string(v))
			continue;
		*name_bytes += json_string_length(v) + 1;
		if (*name_bytes > RS_LIST_NAMES_MAX)
			return rs__error_set(
			        RS_ETOOBIG, "%s: more than %u MiB of names from %s; giving up",
			        j->what, (unsigned)(RS_LIST_NAMES_MAX >> 20), j->ep->domain);
		if ((error = j->cb(json_string_value(v), j->payload)) != 0) {
			/* a callback out of memory says so (RS_ENOMEM); else it stopped */
			if (error != RS_ENOMEM)
				error = rs__error_set(RS_EUSER, "%s: stopped", j->what);
			return error;
		}
	}
	if (j->page_cb && j->page_cb(j->payload))
		return rs__error_set(RS_EUSER, "%s: stopped", j->what);
	return 0;
}

static int list_pages(const list_job *j, const char *first_path)
{
	char *url = rs__strdup(first_path);
	rs__http_response resp = {0};
	url_set seen = {0};
	uint64_t name_bytes = 0, before;
	int error = 0, empty = 0;
	if (!url)
		return rs__oom();
	for (int page = 0; url; page++) {
		json_t *root = NULL;
		char *next = NULL;
		if (empty >= RS_LIST_EMPTY_MAX) {
			error = rs__error_set(RS_EPROTO,
			                      "%s: %s sent %d pages in a row without a name, each "
			                      "linking to another; giving up (a pagination loop)",
			                      j->what, j->ep->domain, RS_LIST_EMPTY_MAX);
			break;
		}
		if (page >= RS_LIST_PAGES_MAX) {
			error = rs__error_set(RS_EPROTO, "%s: more than %d pages; giving up",
			                      j->what, RS_LIST_PAGES_MAX);
			break;
		}
		if ((error = fetch_page(&resp, j, url, &seen)) < 0 ||
		    (error = parse_page(&root, j, &resp)) < 0)
			break;
		before = name_bytes;
		error = pass_names(j, root, &name_bytes);
		empty = name_bytes == before ? empty + 1 : 0;
		json_decref(root);
		if (error || (error = next_page(&next, j, &resp, &seen)) < 0)
			break;
		free(url);
		url = next;
	}
	free(url);
	free(seen.slots);
	rs__http_response_dispose(&resp);
	return error;
}

int rs_tags_list(rs_client *c, const rs_ref *repo, int (*cb)(const char *, void *), void *payload)
{
	return rs_tags_list_pages(c, repo, cb, NULL, payload);
}

int rs_tags_list_pages(rs_client *c, const rs_ref *repo, int (*cb)(const char *, void *),
                       int (*page_cb)(void *), void *payload)
{
	list_job j = {0};
	char *path, *scope, *name, *shown;
	rs_buf what = RS_BUF_INIT;
	int error;
	if ((error = rs__client_endpoint(&j.ep, c, repo->domain)) < 0)
		return error;
	path = rs__registry_path(repo->path, "tags/list");
	scope = rs__scope_repository(repo->path, "pull");
	name = rs_ref_format_name(repo);
	shown = name ? rs__escape(name) : NULL;
	rs__buf_printf(&what, "tags of %s", shown ? shown : "");
	if (!path || !scope || !shown || rs__buf_oom(&what)) {
		error = rs__oom();
		goto done;
	}
	j.c = c;
	j.scope = scope;
	j.key = "tags";
	j.what = what.ptr;
	j.cb = cb;
	j.page_cb = page_cb;
	j.payload = payload;
	error = list_pages(&j, path);
done:
	free(path);
	free(scope);
	free(name);
	free(shown);
	rs_buf_dispose(&what);
	return error;
}

int rs_catalog_list(rs_client *c, const char *domain, int (*cb)(const char *, void *),
                    void *payload)
{
	return rs_catalog_list_pages(c, domain, cb, NULL, payload);
}

int rs_catalog_list_pages(rs_client *c, const char *domain, int (*cb)(const char *, void *),
                          int (*page_cb)(void *), void *payload)
{
	list_job j = {0};
	rs_buf what = RS_BUF_INIT;
	int error;
	if ((error = rs__client_endpoint(&j.ep, c, domain)) < 0)
		return error;
	rs__buf_printf(&what, "catalog of %s", domain);
	if (rs__buf_oom(&what))
		return RS_ENOMEM;
	j.c = c;
	j.scope = "registry:catalog:*";
	j.key = "repositories";
	j.what = what.ptr;
	j.cb = cb;
	j.page_cb = page_cb;
	j.payload = payload;
	error = list_pages(&j, "/v2/_catalog");
	rs_buf_dispose(&what);
	return error;
}

/* ---- whole lists ---------------------------------------------------------------------- */

static int collect(const char *name, void *payload)
{
	rs_strarray *a = payload;
	char *copy;
	if (a->count % 64 == 0) {
		char **items = rs__realloc(a->items, (a->count + 64) * sizeof(*a->items));
		if (!items)
			return rs__oom();
		a->items = items;
	}
	if (!(copy = rs__strdup(name)))
		return rs__oom();
	a->items[a->count++] = copy;
	return 0;
}

void rs_strarray_dispose(rs_strarray *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->count; i++)
		free(a->items[i]);
	free(a->items);
	a->items = NULL;
	a->count = 0;
}

int rs_tags_list_all(rs_strarray *out, rs_client *c, const rs_ref *repo)
{
	rs_strarray a = {0};
	int error = rs_tags_list(c, repo, collect, &a);
	if (error < 0) {
		rs_strarray_dispose(&a);
		return error;
	}
	*out = a;
	return 0;
}

int rs_catalog_list_all(rs_strarray *out, rs_client *c, const char *domain)
{
	rs_strarray a = {0};
	int error = rs_catalog_list(c, domain, collect, &a);
	if (error < 0) {
		rs_strarray_dispose(&a);
		return error;
	}
	*out = a;
	return 0;
}
