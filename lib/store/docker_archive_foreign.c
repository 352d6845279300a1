/*
 * The docker-archive store, foreign layers: Docker foreign layers
 * (application/vnd.docker.image.rootfs.foreign.diff.tar.gzip) and OCI non-distributable layers
 * are not served by registries and the copy engine does not move them. A docker archive must
 * hold every layer, so when a manifest is stored, such a layer is fetched from the `urls` of its
 * descriptor, as skopeo does: http and https only, plain HTTP only where a registry could use it
 * (loopback, "insecure-registries"), redirects followed here through the same URL policy, never
 * with any credentials (a connection of its own, no Authorization), and verified against the
 * descriptor's digest and size as the bytes arrive. TLS follows the store's options (the
 * command line's --ca-cert and --insecure): the extra CA file is trusted besides the system
 * CAs, and TLS goes unverified only to hosts --insecure or "insecure-registries" allow.
 */
#include "http/http.h"
#include "http/insecure.h"
#include "registry/registry.h"
#include "store/docker_archive_int.h"
#include "util/escape.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

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
		error = rs__error_set_http(resp.status == 404 ? RS_ENOTFOUND : RS_EPROTO,
		                           resp.status, NULL, "the server answered HTTP %d",
		                           resp.status);
done:
	rs__da_blob_in_dispose(&in);
	rs__http_response_dispose(&resp);
	return error;
}

/* The connections of one fetch: verified TLS (with the store's CA file), and unverified TLS
 * for the hosts the insecure policy allows, created on first need. */
typedef struct {
	rs__http *verified, *unverified;
	const char *ca_file;
} fetch_http;

/* Whether url is https to a host that may skip TLS verification: --insecure, or listed in
 * "insecure-registries" (the bytes are checked against the digest all the same). */
static bool tls_unverified(const rs__insecure_policy *policy, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	bool allowed = false;
	if (!u)
		return false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && !strcmp(scheme, "https")) {
		rs_buf hp = RS_BUF_INIT;
		(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
		rs__buf_printf(&hp, "%s%s%s", host, port ? ":" : "", port ? port : "");
		const char *why = NULL;
		/* --insecure or "insecure-registries"; being loopback allows plain HTTP there, but
		 * a loopback https origin is verified as any other */
		allowed = hp.ptr && rs__insecure_allowed(policy, hp.ptr, &why) && why &&
		          strcmp(why, "loopback") != 0;
		rs_buf_dispose(&hp);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return allowed;
}

static int http_for(rs__http **out, fetch_http *fh, const rs__insecure_policy *policy,
                    const char *url)
{
	rs__http_options ho;
	rs__http **slot;
	memset(&ho, 0, sizeof(ho));
	if (tls_unverified(policy, url)) {
		slot = &fh->unverified;
		ho.insecure_tls = true;
	} else {
		slot = &fh->verified;
		ho.ca_file = fh->ca_file;
	}
	if (!*slot) {
		int error = rs__http_new(slot, &ho);
		if (error < 0)
			return error;
	}
	*out = *slot;
	return 0;
}

/* Fetch desc from url, following redirects that the URL policy allows. */
static int fetch_url(da_store *s, fetch_http *fh, const rs__insecure_policy *policy,
                     const rs_descriptor *desc, const char *url)
{
	char *cur = rs__strdup(url), *from = NULL;
	int error = 0;
	if (!cur)
		return rs__oom();
	for (int hop = 0;; hop++) {
		char *next = NULL;
		int status = 0;
		rs__http *h = NULL;
		bool credentials; /* never used: this fetch sends none */
		if (hop > DA_FOREIGN_MAX_REDIRECTS) {
			error = rs__error_set(RS_EPROTO, "more than %d redirects",
			                      DA_FOREIGN_MAX_REDIRECTS);
			break;
		}
		if ((error = rs__url_policy(&credentials, policy, from ? from : "the manifest",
		                            NULL, cur, from ? RS__URL_REDIRECT : RS__URL_OTHER)) <
		            0 ||
		    (error = http_for(&h, fh, policy, cur)) < 0 ||
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
	fetch_http fh = {NULL, NULL, s->ca_cert};
	rs_buf why = RS_BUF_INIT;
	size_t n = json_array_size(urls);
	int error, code = RS_ENOTFOUND, remote = 0;
	memset(&policy, 0, sizeof(policy));
	if ((error = foreign_descriptor(&desc, s, layer)) < 0)
		return error;
	/* the TLS settings the store was opened with (--insecure, --ca-cert, registry config) */
	if (!s->use_registry_config)
		rs__insecure_init(&policy, s->insecure);
	else if ((error = rs__insecure_load(&policy, NULL, NULL, s->insecure)) < 0)
		goto done;
	if (s->ca_cert) {
		/* a bad CA file is the caller's mistake, whatever the URLs */
		rs_buf ca = RS_BUF_INIT;
		error = rs__ca_file_read(&ca, s->ca_cert);
		rs_buf_dispose(&ca);
		if (error < 0)
			goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const char *url = json_string_value(json_array_get(urls, i));
		char *shown = rs__escape(url ? url : "(not a string)");
		const rs_error *e;
		if (!shown) {
			error = code = RS_ENOMEM;
			break;
		}
		error = url ? fetch_url(s, &fh, &policy, &desc, url)
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
		remote = rs_error_is_set() && e->remote;
		free(shown);
	}
	error = rs__error_set(code,
	                      "layer %s is foreign (%s): the registry does not serve it and it "
	                      "cannot be fetched from %s: %s",
	                      desc.digest, desc.media_type ? desc.media_type : "no media type",
	                      n > 1 ? "any of its URLs" : "its URL",
	                      why.size ? why.ptr : "no URL given");
	if (remote) /* the server of the URL said it has no such blob (exit 3) */
		rs__error_mark_remote();
done:
	rs_buf_dispose(&why);
	rs__http_free(fh.verified);
	rs__http_free(fh.unverified);
	rs__insecure_dispose(&policy);
	return error;
}
