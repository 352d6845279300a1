/*
 * The docker-archive store, foreign layers: Docker foreign layers
 * (application/vnd.docker.image.rootfs.foreign.diff.tar.gzip) and OCI non-distributable layers
 * are not served by registries and the copy engine does not move them. A docker archive must
 * hold every layer, so when a manifest is stored, such a layer is fetched from the `urls` of its
 * descriptor, as skopeo does: http and https only, plain HTTP only where a registry could use it
 * (loopback, "insecure-registries"), redirects followed here through the same URL policy, never
 * with any credentials (a connection of its own, no Authorization), and verified against the
 * descriptor's digest and size as the bytes arrive.
 */
#include "http/http.h"
#include "http/insecure.h"
#include "registry/registry.h"
#include "store/docker_archive_int.h"
#include "util/escape.h"

#include <stdlib.h>
#include <string.h>

#define DA_FOREIGN_MAX_REDIRECTS 10

static int to_blob(const void *data, size_t len, void *payload)
{
	int error = rs__cancel_check();
	return error < 0 ? error : rs__da_blob_in_feed(payload, data, len);
}

/* One GET of url into a new blob; its final answer (after redirects) in *status. */
static int fetch_once(int *status, char **location, da_store *s, rs__http *h,
                      const rs_descriptor *desc, const char *url)
{
	rs__http_request req;
	rs__http_response resp;
	da_blob_in in;
	const char *loc;
	int error;
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	*location = NULL;
	if ((error = rs__da_blob_in_open(&in, s, desc)) < 0)
		goto done;
	req.method = "GET";
	req.url = url;
	req.sink = to_blob;
	req.sink_payload = &in;
	req.follow_redirects = false; /* each hop goes through the URL policy, below */
	if ((error = rs__http_do(h, &req, &resp)) < 0)
		goto done;
	*status = resp.status;
	if (resp.status >= 200 && resp.status < 300)
		error = rs__da_blob_in_finish(&in);
	else if (resp.status >= 300 && resp.status < 400 &&
	         (loc = rs__http_header(&resp, "Location")) != NULL)
		error = rs__url_resolve(location, url, loc);
	else
		error = rs__error_set(resp.status == 404 ? RS_ENOTFOUND : RS_EPROTO,
		                      "the server answered HTTP %d", resp.status);
done:
	rs__da_blob_in_dispose(&in);
	rs__http_response_dispose(&resp);
	return error;
}

/* Fetch desc from url, following redirects that the URL policy allows. */
static int fetch_url(da_store *s, rs__http *h, const rs__insecure_policy *policy,
                     const rs_descriptor *desc, const char *url)
{
	char *cur = rs__strdup(url), *from = NULL;
	int error = 0;
	if (!cur)
		return rs__oom();
	for (int hop = 0;; hop++) {
		char *next = NULL;
		int status = 0;
		bool credentials; /* never used: this fetch sends none */
		if (hop > DA_FOREIGN_MAX_REDIRECTS) {
			error = rs__error_set(RS_EPROTO, "more than %d redirects",
			                      DA_FOREIGN_MAX_REDIRECTS);
			break;
		}
		if ((error = rs__url_policy(&credentials, policy, from ? from : "the manifest",
		                            NULL, cur, from ? RS__URL_REDIRECT : RS__URL_OTHER)) <
		            0 ||
		    (error = fetch_once(&status, &next, s, h, desc, cur)) < 0 || !next)
			break;
		free(from);
		from = cur;
		cur = next;
	}
	free(cur);
	free(from);
	return error;
}

/* The descriptor of a layer as the store needs it: a valid digest and a size. */
static int foreign_descriptor(rs_descriptor *d, const da_store *s, const json_t *layer)
{
	const json_t *size = json_object_get(layer, "size");
	memset(d, 0, sizeof(*d));
	d->media_type = (char *)(uintptr_t)json_string_value(json_object_get(layer, "mediaType"));
	d->digest = (char *)(uintptr_t)json_string_value(json_object_get(layer, "digest"));
	d->size = json_is_integer(size) ? (int64_t)json_integer_value(size) : -1;
	if (!rs__digest_valid(d->digest) || d->size < 0)
		return rs__error_set(RS_EFORMAT,
		                     "%s: foreign layer %s of the manifest: its descriptor has no "
		                     "valid digest and size",
		                     s->file, d->digest ? d->digest : "(no digest)");
	return 0;
}

int rs__da_fetch_foreign(da_store *s, const json_t *layer)
{
	const json_t *urls = json_object_get(layer, "urls");
	rs__insecure_policy policy;
	rs_descriptor desc;
	rs__http *h = NULL;
	rs_buf why = RS_BUF_INIT;
	size_t n = json_array_size(urls);
	int error, code = RS_ENOTFOUND;
	memset(&policy, 0, sizeof(policy));
	if ((error = foreign_descriptor(&desc, s, layer)) < 0)
		return error;
	if ((error = rs__insecure_load(&policy, NULL, NULL, false)) < 0 ||
	    (error = rs__http_new(&h, NULL)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		const char *url = json_string_value(json_array_get(urls, i));
		char *shown = rs__escape(url ? url : "(not a string)");
		const rs_error *e;
		if (!shown) {
			error = code = RS_ENOMEM;
			break;
		}
		error = url ? fetch_url(s, h, &policy, &desc, url)
		            : rs__error_set(RS_EFORMAT, "not a URL");
		if (error == 0 || error == RS_EUSER) {
			free(shown);
			goto done;
		}
		e = rs_error_last();
		rs__buf_printf(&why, "%s%s: %s", why.size ? "; " : "", shown,
		               rs_error_is_set() && e->message[0] ? e->message
		                                                  : rs_strerror(error));
		code = error;
		free(shown);
	}
	error = rs__error_set(code,
	                      "layer %s is foreign (%s): the registry does not serve it and it "
	                      "cannot be fetched from %s: %s",
	                      desc.digest, desc.media_type ? desc.media_type : "no media type",
	                      n > 1 ? "any of its URLs" : "its URL",
	                      why.size ? why.ptr : "no URL given");
done:
	rs_buf_dispose(&why);
	rs__http_free(h);
	rs__insecure_dispose(&policy);
	return error;
}
