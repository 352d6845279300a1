/* Endpoint probing: the scheme (HTTPS, plain HTTP where allowed), TLS per host (certs.d), the
 * auth challenge of GET /v2/, and telling a registry from another web server. */
#include "registry.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* docker's /etc/docker/certs.d/<host[:port]>/: ca.crt (added to the trusted CAs), client.cert
 * and client.key (mutual TLS). A host with such a directory gets its own connection pool. */
static int http_certs_d(rs_client *c, rs__endpoint *ep, bool *used)
{
	rs_buf dir = RS_BUF_INIT, ca = RS_BUF_INIT, cert = RS_BUF_INIT, key = RS_BUF_INIT;
	rs__http_options ho = {0};
	struct stat st;
	int error = 0;
	*used = false;
	if (!c->opts.use_certs_d)
		return 0;
	rs__buf_printf(&dir, "%s/%s", c->certs_d ? c->certs_d : "/etc/docker/certs.d", ep->host);
	if (rs__buf_oom(&dir))
		return RS_ENOMEM;
	if (stat(dir.ptr, &st) < 0 || !S_ISDIR(st.st_mode))
		goto done;
	rs__buf_printf(&ca, "%s/ca.crt", dir.ptr);
	rs__buf_printf(&cert, "%s/client.cert", dir.ptr);
	rs__buf_printf(&key, "%s/client.key", dir.ptr);
	if (rs__buf_oom(&ca) || rs__buf_oom(&cert) || rs__buf_oom(&key)) {
		error = RS_ENOMEM;
		goto done;
	}
	if (access(ca.ptr, R_OK) == 0)
		ho.ca_file = ca.ptr;
	else if (c->ca_cert)
		ho.ca_file = c->ca_cert;
	if (access(cert.ptr, R_OK) == 0) {
		if (access(key.ptr, R_OK) < 0) {
			error = rs__error_set(RS_EINVAL,
			                      "%s has client.cert but no readable client.key",
			                      dir.ptr);
			goto done;
		}
		ho.client_cert = cert.ptr;
		ho.client_key = key.ptr;
	}
	if (!ho.ca_file && !ho.client_cert)
		goto done;
	ho.insecure_tls = ep->insecure && c->opts.insecure;
	rs__client_http_options(c, &ho);
	if ((error = rs__http_new(&ep->own_http, &ho)) < 0)
		goto done;
	ep->http = ep->own_http;
	*used = true;
done:
	rs_buf_dispose(&dir);
	rs_buf_dispose(&ca);
	rs_buf_dispose(&cert);
	rs_buf_dispose(&key);
	return error;
}

int rs__endpoint_http(rs_client *c, rs__endpoint *ep)
{
	bool used;
	int error;
	if ((error = http_certs_d(c, ep, &used)) < 0 || used)
		return error;
	if (!ep->insecure || !c->opts.insecure) {
		ep->http = c->http;
		return 0;
	}
	/* TLS verification is skipped only where the user explicitly asked (--insecure) */
	pthread_mutex_lock(&c->lock);
	if (!c->http_insecure) {
		rs__http_options ho = {0};
		ho.insecure_tls = true;
		rs__client_http_options(c, &ho);
		if ((error = rs__http_new(&c->http_insecure, &ho)) < 0) {
			pthread_mutex_unlock(&c->lock);
			return error;
		}
	}
	pthread_mutex_unlock(&c->lock);
	ep->http = c->http_insecure;
	return 0;
}

/* GET <scheme>://host/v2/ into resp. */
static int ping_once(rs__endpoint *ep, const char *scheme, rs__http_response *resp)
{
	rs__http_request req = {0};
	rs_buf url = RS_BUF_INIT;
	int error;
	rs__buf_printf(&url, "%s://%s/v2/", scheme, ep->host);
	if (rs__buf_oom(&url))
		return RS_ENOMEM;
	req.method = "GET";
	req.url = url.ptr;
	req.max_body = 64 * 1024;
	rs__http_response_dispose(resp);
	error = rs__http_do(ep->http, &req, resp);
	rs_buf_dispose(&url);
	return error;
}

struct ping_call {
	rs__endpoint *ep;
	const char *scheme;
};

static int ping_send(void *payload, rs__http_response *resp)
{
	struct ping_call *p = payload;
	return ping_once(p->ep, p->scheme, resp);
}

/* ping_once through send_retrying. */
static int ping_retrying(rs_client *c, rs__endpoint *ep, const char *scheme,
                         rs__http_response *resp)
{
	struct ping_call p = {ep, scheme};
	return rs__send_retrying(c, ep, rs__retry_limit(c), "GET /v2/", true, ping_send, &p, resp);
}

/* A plain-HTTP answer that says the port speaks TLS: Go's and nginx's 400 ("Client sent an
 * HTTP request to an HTTPS server"), which comes without a single header (so a HEAD, which
 * sees no body, can tell too). */
bool rs__speaks_tls(const rs__http_response *resp)
{
	return resp->status == 400 &&
	       ((resp->body.ptr && strstr(resp->body.ptr, "HTTPS")) || resp->headers.count == 0);
}

static bool nothing_listens(const char *message)
{
	return strstr(message, "cannot connect to") || strstr(message, "resolve host") ||
	       strstr(message, "timed out");
}

int rs__endpoint_set_base(rs__endpoint *ep, const char *scheme)
{
	rs_buf b = RS_BUF_INIT;
	char *old, *base;
	rs__buf_printf(&b, "%s://%s", scheme, ep->host);
	if (!(base = rs__buf_detach(&b)))
		return RS_ENOMEM; /* the old base stays */
	pthread_mutex_lock(&ep->base_lock);
	old = ep->base;
	ep->base = base;
	pthread_mutex_unlock(&ep->base_lock);
	free(old);
	return 0;
}

char *rs__endpoint_base(rs__endpoint *ep)
{
	char *b;
	pthread_mutex_lock(&ep->base_lock);
	b = rs__strdup(ep->base);
	pthread_mutex_unlock(&ep->base_lock);
	return b;
}

static int not_a_registry(const rs__endpoint *ep)
{
	return rs__error_set_http(RS_EPROTO, 404, NULL,
	                          "%s is not a container registry (GET /v2/ answered 404)",
	                          ep->domain);
}

/* Does a 404 come from a registry: its API version header, or its error JSON? */
static bool registry_404(const rs__http_response *resp)
{
	const char *ct = rs__http_header(resp, "content-type");
	json_t *root;
	bool ours;
	if (rs__http_header(resp, "docker-distribution-api-version"))
		return true;
	if (!resp->body.size || !rs__is_json_type(ct))
		return false;
	root = json_loadb(resp->body.ptr, resp->body.size, 0, NULL); /* out of memory: no */
	ours = json_is_array(json_object_get(root, "errors"));
	json_decref(root);
	return ours;
}

/*
 * A 404 from an endpoint that was never seen to be a registry (loopback endpoints are not
 * pinged) and that does not look like a registry's own: ask GET /v2/, so that a web server that
 * answers 404 to everything is reported as what it is, not as a missing repository.
 */
int rs__check_registry(rs__endpoint *ep, const rs__http_response *resp)
{
	rs__http_response pr = {0};
	char *base;
	int error = 0;
	if (atomic_load(&ep->is_registry))
		return 0;
	if (registry_404(resp)) {
		atomic_store(&ep->is_registry, true);
		return 0;
	}
	if (!(base = rs__endpoint_base(ep)))
		return rs__oom();
	if (ping_once(ep, rs__str_startswith(base, "https:") ? "https" : "http", &pr) < 0)
		rs_error_clear(); /* the 404 stands as it is */
	else if (pr.status == 404)
		error = not_a_registry(ep);
	else if (pr.status == 200 || pr.status == 401)
		atomic_store(&ep->is_registry, true);
	free(base);
	rs__http_response_dispose(&pr);
	return error;
}

/*
 * Decide the scheme and learn the auth challenge. HTTPS first, with plain HTTP only where the
 * policy allows it. A loopback registry is asked over plain HTTP first: a bare GET /v2/ carries
 * no credentials, nothing leaves the machine, and it spares a TLS handshake per command.
 */
int rs__endpoint_ping(rs_client *c, rs__endpoint *ep)
{
	rs__http_response resp = {0};
	char *asked = NULL;
	bool insufficient;
	int error;
	rs_error saved;

	if (ep->loopback) {
		error = ping_retrying(c, ep, "http", &resp);
		if (error == 0 && !rs__speaks_tls(&resp)) {
			if ((error = rs__endpoint_set_base(ep, "http")) < 0)
				goto done;
			goto learned;
		}
		if (error < 0 && nothing_listens(rs_error_last()->message))
			goto done;
		rs_error_clear();
	}
	error = ping_retrying(c, ep, "https", &resp);
	if (error == 0) {
		if ((error = rs__endpoint_set_base(ep, "https")) < 0)
			goto done;
		goto learned;
	}
	if (error != RS_ETLS && error != RS_ENET)
		goto done;
	saved = *rs_error_last();
	if (error == RS_ENET && nothing_listens(saved.message))
		goto done;
	if (strstr(saved.message, "certificate")) {
		if (ep->insecure) {
			/* loopback or listed: still verified; say how to trust it */
			rs__error_set(saved.code,
			              "%s (trust its CA with --ca-cert FILE or "
			              "/etc/docker/certs.d/%s/ca.crt, or skip verification with "
			              "--insecure)",
			              saved.message, ep->host);
		} else {
			error = rs__insecure_refuse(c->policy, ep->host,
			                            RS__INSECURE_UNVERIFIED_TLS);
			rs__error_prefix("%s", saved.message);
		}
		goto done;
	}
	if (ep->loopback) {
		/* plain HTTP was tried first and said TLS: report the TLS failure */
		rs__error_set(saved.code, "%s", saved.message);
		goto done;
	}
	/* no TLS there: does it speak plain HTTP? (no credentials travel in this request) */
	if (ping_retrying(c, ep, "http", &resp) < 0 || rs__speaks_tls(&resp)) {
		rs__error_set(saved.code, "%s", saved.message);
		goto done;
	}
	if (!ep->insecure) {
		error = rs__insecure_refuse(c->policy, ep->host, RS__INSECURE_PLAIN_HTTP);
		goto done;
	}
	if ((error = rs__endpoint_set_base(ep, "http")) < 0)
		goto done;
learned:
	if (resp.status == 401) {
		error = rs__learn_challenge(ep, &resp, &asked, &insufficient);
		atomic_store(&ep->is_registry, true);
	} else if (resp.status == 200) {
		ep->auth = RS__AUTH_NONE;
		atomic_store(&ep->is_registry, true);
	} else if (resp.status == 404) {
		error = not_a_registry(ep);
	} else {
		error = rs__registry_error(ep, &resp, "GET /v2/");
	}
done:
	free(asked);
	rs__http_response_dispose(&resp);
	return error;
}
