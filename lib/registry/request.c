/* The request loop: redirects under the URL policy, retries, the loopback probe's end, and
 * one more try after a 401 challenge with credentials for everything asked. */
#include "registry.h"

#include "auth/challenge.h"
#include "auth/scope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RS_MAX_REDIRECTS 10

static bool is_redirect(int status)
{
	return status >= 300 && status <= 399 && status != 304;
}

/*
 * rs__http_do with redirects (GET and HEAD, when asked) followed here, each Location through the
 * URL policy (rs__url_check). The authorization goes along while the request stays on the
 * origin it was meant for (the registry's, or the token server's for a token request) and is
 * dropped for good on the first hop elsewhere.
 */
int rs__registry_follow(rs_client *c, rs__endpoint *ep, const rs__http_request *req,
                        rs__http_response *resp)
{
	rs__http_request hr = *req;
	char *url = rs__strdup(req->url), *origin = NULL;
	bool redirectable = req->follow_redirects &&
	                    (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"));
	int error;

	hr.follow_redirects = false;
	if (!url)
		return rs__oom();
	if ((error = rs__url_origin(&origin, req->url)) < 0)
		goto done;
	for (int hops = 0;; hops++) {
		const char *location;
		char *next = NULL, *next_origin = NULL;
		bool registry_origin; /* unused: compared with the request's own origin below */
		hr.url = url;
		if ((error = rs__http_do(ep->http, &hr, resp)) < 0)
			goto done; /* lib/http names a header beyond curl's limit itself */
		if (!redirectable || !is_redirect(resp->status))
			break;
		location = rs__http_header(resp, "location");
		if (!location)
			break;
		if (hops >= RS_MAX_REDIRECTS) {
			error = rs__error_set(RS_EPROTO, "more than %d redirects from %s",
			                      RS_MAX_REDIRECTS, ep->domain);
			goto done;
		}
		if ((error = rs__url_resolve(&next, url, location)) < 0) {
			char *shown = error == RS_ENOMEM ? NULL : rs__escape(location);
			if (!shown) {
				error = RS_ENOMEM;
				goto done;
			}
			error = rs__error_set(
			        RS_EPROTO, "redirect Location from %s is not a valid URL: \"%s\"",
			        ep->domain, shown);
			free(shown);
			goto done;
		}
		if ((error = rs__url_check(&registry_origin, c, ep, next, RS__URL_REDIRECT)) < 0 ||
		    (error = rs__url_origin(&next_origin, next)) < 0) {
			free(next);
			goto done;
		}
		if (strcmp(next_origin, origin))
			hr.authorization = NULL;
		free(next_origin);
		free(url);
		url = next;
	}
done:
	free(url);
	free(origin);
	return error;
}

static int do_once(rs_client *c, rs__endpoint *ep, const rs__reg_request *req, const char *url,
                   const char *auth, rs__http_response *resp)
{
	rs__http_request hr = {0};
	hr.method = req->method;
	hr.url = url;
	hr.headers = req->headers;
	hr.authorization = auth;
	hr.body = req->body;
	hr.body_len = req->body_len;
	hr.body_reader = req->body_reader;
	hr.max_body = req->max_body;
	hr.sink = req->sink;
	hr.sink_payload = req->sink_payload;
	hr.follow_redirects = req->follow_redirects;
	hr.progress = req->progress;
	hr.progress_payload = req->progress_payload;
	hr.resume_from = req->resume_from;
	return rs__registry_follow(c, ep, &hr, resp);
}

/* "permission denied: reader may not push to team/app on reg:5000 (repository:team/app:pull,push)"
 */
static int denied(const rs__endpoint *ep, const rs__reg_request *req, int status, const char *code,
                  const char *scope)
{
	rs_buf what = RS_BUF_INIT;
	const char *rs = req->scope ? req->scope : "";
	char *shown_scope;
	int error;
	if (rs__str_startswith(rs, "registry:catalog:"))
		rs__buf_printf(&what, "list the catalog of %s", ep->domain);
	else {
		const char *verb = !strcmp(req->method, "DELETE") ? "delete from"
		                   : (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"))
		                           ? "pull from"
		                           : "push to";
		char *name = NULL;
		if (rs__str_startswith(rs, "repository:")) {
			/* the first resource scope: repository:<name>:<actions> */
			const char *start = rs + strlen("repository:");
			size_t len = strcspn(start, " ");
			char *first = rs__strndup(start, len),
			     *colon = first ? strrchr(first, ':') : NULL;
			if (colon)
				*colon = '\0';
			name = first;
		}
		rs__buf_printf(&what, "%s %s on %s", verb, name ? name : "this repository",
		               ep->domain);
		free(name);
	}
	/* the scope and error code may be the server's (a challenge's): escaped */
	shown_scope = rs__escape(scope && *scope ? scope : rs);
	if (!shown_scope || rs__buf_oom(&what)) {
		free(shown_scope);
		rs_buf_dispose(&what);
		return rs__oom();
	}
	if (code && rs__needs_escape(code))
		code = NULL;
	error = rs__error_set_http(
	        RS_EAUTH, status, code, "permission denied: %s may not %s (%s)%s%s",
	        rs__endpoint_who(ep), what.ptr, shown_scope,
	        ep->have_cred    ? ""
	        : ep->cred_error ? "; no credentials could be used: "
	                         : "; no credentials were given: use 'regship login' or -u USER "
	                           "--password-stdin",
	        !ep->have_cred && ep->cred_error ? ep->cred_error : "");
	free(shown_scope);
	rs_buf_dispose(&what);
	return error;
}

/* Did the registry's own origin give this answer (not a host a redirect went to)? */
static bool answered_by_registry(rs__endpoint *ep, const rs__http_response *resp)
{
	char *base = rs__endpoint_base(ep), *o1 = NULL, *o2 = NULL;
	/* out of memory: "not the registry's answer", so the challenge is not answered */
	bool same = resp->url && base && rs__url_origin(&o1, base) == 0 &&
	            rs__url_origin(&o2, resp->url) == 0 && !strcmp(o1, o2);
	if (!same)
		rs_error_clear();
	free(base);
	free(o1);
	free(o2);
	return same;
}

/* Can this request simply be sent again? Not a PATCH (the upload moved on), not a streamed
 * response (bytes already went out; downloads resume by themselves), not a streamed body. */
static bool replayable(const rs__reg_request *req)
{
	/* streamed uploads restart from a fresh upload session instead (rs__blob_upload) */
	return strcmp(req->method, "PATCH") && !req->sink && !req->body_reader;
}

struct do_call {
	rs_client *c;
	rs__endpoint *ep;
	const rs__reg_request *req;
	const char *url, *auth;
};

static int do_send(void *payload, rs__http_response *resp)
{
	struct do_call *d = payload;
	return do_once(d->c, d->ep, d->req, d->url, d->auth, resp);
}

/* do_once through send_retrying; requests that cannot be replayed are sent once. */
static int do_retrying(rs_client *c, rs__endpoint *ep, const rs__reg_request *req, const char *url,
                       const char *auth, rs__http_response *resp)
{
	struct do_call d = {c, ep, req, url, auth};
	return rs__send_retrying(c, ep, replayable(req) ? rs__retry_limit(c) : 0, req->method,
	                         false, do_send, &d, resp);
}

/*
 * The first answer from a loopback endpoint that was not pinged: plain HTTP confirmed, or the
 * port speaks TLS, in which case the endpoint is pinged properly (HTTPS) and the request sent
 * again there.
 */
static int end_probe(rs_client *c, rs__endpoint *ep, const rs__reg_request *req, char **url,
                     const char *auth, rs__http_response *resp)
{
	int error = 0;
	bool resend = false;
	pthread_mutex_lock(&ep->probe_lock);
	if (atomic_load(&ep->probing)) {
		if (rs__speaks_tls(resp)) {
			error = rs__endpoint_ping(c, ep);
			resend = error == 0;
		}
		atomic_store(&ep->probing, false);
	} else {
		/* another thread settled it meanwhile */
		char *base = rs__endpoint_base(ep);
		resend = rs__speaks_tls(resp) && base && rs__str_startswith(base, "https");
		free(base);
	}
	pthread_mutex_unlock(&ep->probe_lock);
	if (!resend || req->url[0] != '/')
		return error;
	{
		rs_buf b = RS_BUF_INIT;
		char *base = rs__endpoint_base(ep);
		rs__buf_printf(&b, "%s%s", base ? base : "", req->url);
		free(*url);
		*url = base ? rs__buf_detach(&b) : NULL;
		free(base);
		rs_buf_dispose(&b);
		if (!*url)
			return rs__oom();
	}
	rs__http_response_dispose(resp);
	return do_retrying(c, ep, req, *url, auth, resp);
}

/* The absolute URL of a request: the endpoint's base + a "/v2/" path, or a URL the server handed
 * back (through the URL policy; *own_origin: whether the registry's credentials may go). */
static int request_url(char **url, bool *own_origin, rs_client *c, rs__endpoint *ep,
                       const rs__reg_request *req)
{
	int error;
	*own_origin = true;
	if (req->url[0] == '/') {
		rs_buf b = RS_BUF_INIT;
		char *base = rs__endpoint_base(ep);
		rs__buf_printf(&b, "%s%s", base ? base : "", req->url);
		*url = base ? rs__buf_detach(&b) : NULL;
		free(base);
		rs_buf_dispose(&b);
		return *url ? 0 : rs__oom();
	}
	/* a URL the server handed back: credentials go only to the registry's origin */
	if ((error = rs__url_check(own_origin, c, ep, req->url, req->url_kind)) < 0)
		return error;
	*url = rs__strdup(req->url);
	return *url ? 0 : rs__oom();
}

/* 401/403 from an origin a registry sent us to: its credentials were not sent there. */
static int other_origin_refused(const rs__endpoint *ep, const char *url, int status)
{
	char *origin = NULL;
	int error;
	if ((error = rs__url_origin(&origin, url)) < 0)
		return error;
	error = rs__error_set_http(RS_EAUTH, status, NULL,
	                           "%s, another origin that %s sent regship to, answered %d; the "
	                           "credentials for %s are sent only to %s itself",
	                           origin, ep->domain, status, ep->domain, ep->domain);
	free(origin);
	return error;
}

static int wrong_password(const rs__endpoint *ep, int status)
{
	return rs__error_set_http(RS_EAUTH, status, NULL,
	                          "authentication failed for %s: wrong username or password for %s",
	                          ep->domain, rs__endpoint_who(ep));
}

/* A Basic challenge that trying again cannot answer: no credentials, or they were sent. */
static int basic_refusal(rs_client *c, rs__endpoint *ep, int status, bool sent)
{
	int error;
	pthread_mutex_lock(&ep->lock);
	error = rs__endpoint_load_credentials(c, ep);
	pthread_mutex_unlock(&ep->lock);
	if (error < 0)
		return error;
	if (!ep->have_cred && ep->cred_error)
		return rs__error_set_http(RS_EAUTH, status, NULL,
		                          "authentication required by %s: %s", ep->domain,
		                          ep->cred_error);
	if (!ep->have_cred)
		return rs__error_set_http(RS_EAUTH, status, NULL,
		                          "authentication required by %s: no credentials "
		                          "(use 'regship login %s' or -u USER --password-stdin)",
		                          ep->domain, ep->domain);
	if (sent)
		return wrong_password(ep, status);
	return 0;
}

/* Refused again with credentials for everything asked: what the credentials do not grant. */
static int refused_again(const rs__endpoint *ep, const rs__reg_request *req,
                         const rs__http_response *resp, const char *want)
{
	rs_strlist values = RS_STRLIST_INIT;
	rs__challenges list = {0};
	const rs__challenge *ch;
	int error;
	if (rs__http_headers_all(resp, "www-authenticate", &values) < 0) {
		rs__strlist_dispose(&values);
		return RS_ENOMEM;
	}
	for (size_t i = 0; i < values.count; i++)
		if ((error = rs__challenges_parse(&list, values.items[i])) < 0) {
			if (error == RS_ENOMEM)
				goto done;
			rs_error_clear();
		}
	ch = rs__challenges_pick(&list);
	if (ep->auth == RS__AUTH_BEARER)
		error = denied(ep, req, resp->status, ch && ch->error ? ch->error : NULL,
		               want ? want : req->scope);
	else
		error = wrong_password(ep, resp->status);
done:
	rs__challenges_dispose(&list);
	rs__strlist_dispose(&values);
	return error;
}

/* Challenged: learn, get credentials (a token) for everything asked, and try once more. */
static int answer_challenge(rs_client *c, rs__endpoint *ep, const rs__reg_request *req,
                            const char *url, char **auth, rs__http_response *resp)
{
	char *asked = NULL, *want = NULL;
	bool insufficient = false;
	int error = 0;
	if ((error = rs__learn_challenge(ep, resp, &asked, &insufficient)) < 0)
		goto done;
	if (ep->auth == RS__AUTH_NONE)
		goto done;
	if (ep->auth == RS__AUTH_BASIC &&
	    (error = basic_refusal(c, ep, resp->status, *auth != NULL)) < 0)
		goto done;
	if (req->body_reader && rs_reader_rewind(req->body_reader) < 0) {
		error = rs__error_set_http(RS_EAUTH, resp->status, NULL,
		                           "%s rejected the upload's authorization and the body "
		                           "cannot be sent again",
		                           ep->domain);
		goto done;
	}
	if (ep->auth == RS__AUTH_BEARER) {
		if (asked && req->scope) {
			if (rs__scope_union(&want, req->scope, asked) == RS_ENOMEM) {
				error = RS_ENOMEM;
				goto done;
			}
		} else if (!(want = rs__strdup(asked ? asked : req->scope)) &&
		           (asked || req->scope)) {
			error = rs__oom();
			goto done;
		}
	}
	rs__free_secret(*auth);
	*auth = NULL;
	if ((error = rs__auth_value(auth, c, ep, want, true)) < 0)
		goto done;
	rs__http_response_dispose(resp);
	if ((error = do_retrying(c, ep, req, url, *auth, resp)) < 0)
		goto done;
	if (resp->status == 401 || resp->status == 403)
		error = refused_again(ep, req, resp, want);
done:
	free(asked);
	free(want);
	return error;
}

int rs__registry_do(rs_client *c, rs__endpoint *ep, const rs__reg_request *req,
                    rs__http_response *resp)
{
	char *url = NULL, *auth = NULL;
	bool own_origin;
	int error;

	if ((error = request_url(&url, &own_origin, c, ep, req)) < 0)
		goto done;
	if (own_origin && (error = rs__auth_value(&auth, c, ep, req->scope, false)) < 0)
		goto done;
	if ((error = do_retrying(c, ep, req, url, auth, resp)) < 0)
		goto done;
	if (atomic_load(&ep->probing) && (error = end_probe(c, ep, req, &url, auth, resp)) < 0)
		goto done;
	if (resp->status == 404 && own_origin && (error = rs__check_registry(ep, resp)) < 0)
		goto done;
	if (resp->status != 401 && resp->status != 403)
		goto done;
	if (!own_origin) {
		error = other_origin_refused(ep, url, resp->status);
		goto done;
	}
	if (!answered_by_registry(ep, resp))
		goto done; /* a redirect went elsewhere: that origin's challenge is not ours */
	if (resp->status == 403 && ep->auth != RS__AUTH_BEARER &&
	    !rs__http_header(resp, "www-authenticate"))
		goto done;
	error = answer_challenge(c, ep, req, url, &auth, resp);
done:
	rs__free_secret(auth);
	free(url);
	return error;
}
