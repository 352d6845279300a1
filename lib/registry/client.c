/* The registry client: endpoints, the scheme decision, authentication and error messages. */
#include "registry.h"

#include "auth/challenge.h"
#include "auth/dockercfg.h"
#include "auth/scope.h"
#include "http/insecure.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RS_TOKEN_BODY_MAX (1u << 20)
#define RS_MAX_REDIRECTS 10

static void trace_default(const char *line, void *payload)
{
	(void)payload;
	fprintf(stderr, "%s\n", line);
}

int rs_client_new(rs_client **out, const rs_client_options *given)
{
	rs_client *c;
	rs__http_options ho = {0};
	rs__insecure_policy *policy;
	int error;
	if (given && given->version != RS_CLIENT_OPTIONS_VERSION)
		return rs__error_set(RS_EINVAL, "rs_client_options: unsupported version %u",
		                     given->version);
	c = rs__calloc(1, sizeof(*c));
	if (given)
		c->opts = *given;
	else
		c->opts.version = RS_CLIENT_OPTIONS_VERSION;
	c->username = rs__strdup(c->opts.username);
	c->password = rs__strdup(c->opts.password);
	c->ca_cert = rs__strdup(c->opts.ca_cert);
	c->docker_config = rs__strdup(c->opts.docker_config);
	c->daemon_json = rs__strdup(c->opts.daemon_json);
	c->own_config = rs__strdup(c->opts.own_config);
	c->certs_d = rs__strdup(c->opts.certs_d);
	c->opts.username = c->username;
	c->opts.password = c->password;
	c->opts.ca_cert = c->ca_cert;
	c->opts.docker_config = c->docker_config;
	c->opts.daemon_json = c->daemon_json;
	c->opts.own_config = c->own_config;
	c->opts.certs_d = c->certs_d;
	if (!c->opts.trace)
		c->opts.trace = trace_default;
	pthread_mutex_init(&c->lock, NULL);
	rs__client_limits_init(c);

	ho.ca_file = c->ca_cert;
	rs__client_http_options(c, &ho);
	if ((error = rs__http_new(&c->http, &ho)) < 0)
		goto fail;
	policy = rs__calloc(1, sizeof(*policy));
	c->policy = policy;
	if ((error = rs__insecure_load(policy, c->daemon_json, c->own_config,
	                               c->opts.insecure != 0)) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	rs_client_free(c);
	return error;
}

static void endpoint_free(rs__endpoint *ep)
{
	if (!ep)
		return;
	free(ep->domain);
	free(ep->host);
	free(ep->base);
	free(ep->realm);
	free(ep->service);
	rs__http_free(ep->own_http);
	free(ep->username);
	free(ep->cred_error);
	rs__free_secret(ep->password);
	rs__free_secret(ep->identity_token);
	rs__free_secret(ep->registry_token);
	for (size_t i = 0; i < ep->token_count; i++) {
		free(ep->tokens[i].scope);
		rs__free_secret(ep->tokens[i].value);
	}
	free(ep->tokens);
	pthread_mutex_destroy(&ep->lock);
	pthread_mutex_destroy(&ep->probe_lock);
	pthread_mutex_destroy(&ep->base_lock);
	free(ep);
}

void rs_client_free(rs_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->endpoint_count; i++)
		endpoint_free(c->endpoints[i]);
	free(c->endpoints);
	rs__http_free(c->http);
	rs__http_free(c->http_insecure);
	if (c->policy) {
		rs__insecure_dispose((rs__insecure_policy *)c->policy);
		free(c->policy);
	}
	free(c->username);
	rs__free_secret(c->password);
	free(c->ca_cert);
	free(c->docker_config);
	free(c->daemon_json);
	free(c->own_config);
	free(c->certs_d);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

char *rs__registry_path(const char *repo_path, const char *suffix)
{
	rs_buf b = RS_BUF_INIT;
	rs__buf_printf(&b, "/v2/%s/%s", repo_path, suffix);
	return rs__buf_detach(&b);
}

/* ---- errors ---------------------------------------------------------------------------- */

static const char *status_text(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 416:
		return "Range Not Satisfiable";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	}
	return "";
}

static bool is_json_type(const char *ct)
{
	if (!ct)
		return false;
	return rs__str_niequal(ct, "application/json", 16) || strstr(ct, "+json") != NULL ||
	       strstr(ct, "+JSON") != NULL;
}

static void put_escaped(rs_buf *b, const char *s)
{
	rs__buf_put_escaped(b, s, strlen(s), true);
}

int rs__registry_errorf(const rs__endpoint *ep, const rs__http_response *resp, const char *fmt, ...)
{
	rs_buf what = RS_BUF_INIT;
	va_list ap;
	int error;
	va_start(ap, fmt);
	rs__buf_vprintf(&what, fmt, ap);
	va_end(ap);
	error = rs__registry_error(ep, resp, what.ptr);
	rs_buf_dispose(&what);
	return error;
}

int rs__registry_error(const rs__endpoint *ep, const rs__http_response *resp, const char *what)
{
	rs_buf detail = RS_BUF_INIT;
	char first_code[64] = "";
	int code, status = resp->status;
	const char *ct = rs__http_header(resp, "content-type");

	if (resp->body.size && is_json_type(ct)) {
		json_error_t jerr;
		json_t *root = json_loadb(resp->body.ptr, resp->body.size, 0, &jerr);
		json_t *errors = root ? json_object_get(root, "errors") : NULL;
		size_t i;
		json_t *e;
		json_array_foreach(errors, i, e)
		{
			const char *ecode = json_string_value(json_object_get(e, "code"));
			const char *emsg = json_string_value(json_object_get(e, "message"));
			json_t *edet = json_object_get(e, "detail");
			if (i)
				rs__buf_puts(&detail, "; ");
			/* the registry's words, escaped: they must not forge lines or drive the
			 * terminal */
			if (ecode) {
				put_escaped(&detail, ecode);
				if (!first_code[0] && !rs__needs_escape(ecode))
					snprintf(first_code, sizeof(first_code), "%s", ecode);
			}
			if (emsg) {
				rs__buf_puts(&detail, ecode ? ": " : "");
				put_escaped(&detail, emsg);
			}
			if (json_is_string(edet) && *json_string_value(edet)) {
				rs__buf_puts(&detail, " (");
				put_escaped(&detail, json_string_value(edet));
				rs__buf_puts(&detail, ")");
			} else if (json_is_object(edet)) {
				json_t *v;
				const char *k;
				rs__buf_puts(&detail, " (");
				int first = 1;
				json_object_foreach(edet, k, v)
				{
					if (json_is_string(v)) {
						rs__buf_puts(&detail, first ? "" : ", ");
						put_escaped(&detail, k);
						rs__buf_puts(&detail, ": ");
						put_escaped(&detail, json_string_value(v));
						first = 0;
					}
				}
				rs__buf_puts(&detail, ")");
			}
		}
		json_decref(root);
	}
	if (!detail.size && resp->body.size && ct && rs__str_niequal(ct, "text/plain", 10) &&
	    resp->body.size < 200) {
		/* short plain-text bodies ("404 page not found") are worth showing: their first
		 * line, escaped */
		rs__buf_put_escaped(&detail, resp->body.ptr, strcspn(resp->body.ptr, "\r\n"), true);
	}

	if (status == 429)
		rs__ratelimit_describe(&detail, resp);
	switch (status) {
	case 401:
	case 403:
		code = RS_EAUTH;
		break;
	case 404:
		code = RS_ENOTFOUND;
		break;
	case 405:
		code = RS_EUNSUPPORTED;
		break;
	case 413:
		code = RS_ETOOBIG;
		break;
	case 400:
		code = !strcmp(first_code, "DIGEST_INVALID") ? RS_EDIGEST : RS_EINVAL;
		if (!strcmp(first_code, "MANIFEST_BLOB_UNKNOWN") ||
		    !strcmp(first_code, "BLOB_UNKNOWN"))
			code = RS_ENOTFOUND;
		break;
	default:
		code = status >= 500 || status == 429 ? RS_ENET : RS_EPROTO;
	}
	rs__error_set_http(code, status, first_code[0] ? first_code : NULL,
	                   "%s: %s answered %d%s%s%s%s", what, ep ? ep->domain : "registry", status,
	                   *status_text(status) ? " " : "", status_text(status),
	                   detail.size ? ": " : "", rs__buf_cstr(&detail));
	rs_buf_dispose(&detail);
	return code;
}

/* ---- credentials and tokens ------------------------------------------------------------ */

static void endpoint_load_credentials(rs_client *c, rs__endpoint *ep)
{
	rs__credential cred = {0};
	int rc;
	if (ep->cred_loaded)
		return;
	ep->cred_loaded = true;
	if (c->opts.username) {
		ep->username = rs__strdup(c->opts.username);
		ep->password = rs__strdup(c->opts.password ? c->opts.password : "");
		ep->have_cred = true;
		return;
	}
	rs__client_helper_limits(c);
	rc = rs__cred_lookup(&cred, c->opts.docker_config, ep->domain);
	if (rc == 0) {
		ep->username = rs__strdup(cred.username);
		ep->password = rs__strdup(cred.password);
		ep->identity_token = rs__strdup(cred.identity_token);
		ep->registry_token = rs__strdup(cred.registry_token);
		ep->have_cred = ep->username || ep->identity_token || ep->registry_token;
	}
	/* a broken config or helper must not stop anonymous access; it is reported on 401/403,
	 * as what it is rather than as "no credentials" */
	else if (rc != RS_ENOTFOUND)
		ep->cred_error = rs__strdup(rs_error_last()->message);
	rs__credential_dispose(&cred);
	rs_error_clear();
}

static char *basic_value(const char *user, const char *pass)
{
	rs_buf raw = RS_BUF_INIT, v = RS_BUF_INIT;
	char *b64;
	rs__buf_printf(&raw, "%s:%s", user ? user : "", pass ? pass : "");
	b64 = rs__base64_encode(raw.ptr, raw.size);
	rs__buf_printf(&v, "Basic %s", b64);
	rs__free_secret(b64);
	rs__buf_dispose_secret(&raw);
	return rs__buf_detach(&v);
}

static const char *who(const rs__endpoint *ep)
{
	return ep->have_cred && ep->username ? ep->username : "anonymous";
}

/* Check that a URL may carry credentials: https, or a host where plain HTTP is allowed. */
static int check_plain_http(rs_client *c, const char *url, const char *what)
{
	char *origin = NULL;
	int error;
	if (!rs__str_startswith(url, "http:"))
		return 0;
	if ((error = rs__url_origin(&origin, url)) < 0)
		return error;
	{
		const char *hostport = origin + strlen("http://");
		const char *why = NULL;
		char *hp = rs__strdup(hostport);
		size_t n = strlen(hp);
		/* origin has an explicit port; drop ":80" for the policy lookup */
		if (n > 3 && !strcmp(hp + n - 3, ":80"))
			hp[n - 3] = '\0';
		if (!rs__insecure_allowed(c->policy, hp, &why))
			error = rs__error_set(
			        RS_EINSECURE,
			        "refusing to send credentials over plain HTTP to %s (%s); "
			        "use https, or --insecure if you accept the risk",
			        hp, what);
		free(hp);
	}
	free(origin);
	return error;
}

static int follow(rs_client *c, rs__endpoint *ep, const rs__http_request *req,
                  rs__http_response *resp);

/* A request to the token server, its failures named after it ("token server at ORIGIN ..."). */
static int token_send(rs_client *c, rs__endpoint *ep, const rs__http_request *req,
                      const char *realm_origin, rs__http_response *resp)
{
	int error = follow(c, ep, req, resp);
	if (error == RS_ETOOBIG)
		return rs__error_set(RS_EPROTO, "token server at %s answered with more than %u KiB",
		                     realm_origin, RS_TOKEN_BODY_MAX / 1024);
	if (error < 0)
		rs__error_prefix("token server at %s", realm_origin);
	return error;
}

static int fetch_token(rs_client *c, rs__endpoint *ep, const char *scope, char **out)
{
	rs_buf url = RS_BUF_INIT, form = RS_BUF_INIT;
	rs__http_response resp = {0};
	rs__http_request req = {0};
	char *auth = NULL, *tmp;
	json_t *root = NULL;
	json_error_t jerr;
	const char *tok;
	char *realm_origin = NULL;
	int error = 0;
	bool use_post = ep->identity_token != NULL, login_goes = false;

	if (!ep->realm)
		return rs__error_set(RS_EPROTO, "%s: Bearer challenge without a realm", ep->domain);
	/* the realm may be on another origin: the login goes there (login_goes is always true for
	 * a realm), but only over http(s), and plain HTTP only where allowed */
	if ((error = rs__url_check(&login_goes, c, ep, ep->realm, RS__URL_REALM)) < 0)
		return error;
	if ((error = rs__url_origin(&realm_origin, ep->realm)) < 0)
		return error;

	if (use_post) {
		/* OAuth2 refresh-token grant, falling back to GET on 404 */
		char *e;
		rs__buf_puts(&form, "grant_type=refresh_token&refresh_token=");
		e = rs__url_escape(ep->identity_token);
		rs__buf_puts(&form, e);
		rs__free_secret(e);
		rs__buf_puts(&form, "&client_id=regship");
		if (ep->service) {
			e = rs__url_escape(ep->service);
			rs__buf_printf(&form, "&service=%s", e);
			free(e);
		}
		if (scope && *scope) {
			e = rs__url_escape(scope);
			rs__buf_printf(&form, "&scope=%s", e);
			free(e);
		}
		{
			static const char *const hdrs[] = {
			        "Content-Type: application/x-www-form-urlencoded", NULL};
			req.method = "POST";
			req.url = ep->realm;
			req.headers = hdrs;
			req.body = form.ptr;
			req.body_len = form.size;
			req.max_body = RS_TOKEN_BODY_MAX;
			if ((error = token_send(c, ep, &req, realm_origin, &resp)) < 0)
				goto done;
		}
		if (resp.status != 404 && resp.status != 405)
			goto parse;
	}

	rs__buf_puts(&url, ep->realm);
	tmp = NULL;
	if (ep->service) {
		tmp = rs__url_add_query(url.ptr, "service", ep->service);
		rs__buf_clear(&url);
		rs__buf_puts(&url, tmp);
		free(tmp);
	}
	if (scope && *scope) {
		char *scopes = rs__strdup(scope), *save = NULL;
		for (char *s = strtok_r(scopes, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
			tmp = rs__url_add_query(url.ptr, "scope", s);
			rs__buf_clear(&url);
			rs__buf_puts(&url, tmp);
			free(tmp);
		}
		free(scopes);
	}
	if (ep->have_cred && ep->username && !ep->identity_token) {
		tmp = rs__url_add_query(url.ptr, "account", ep->username);
		rs__buf_clear(&url);
		rs__buf_puts(&url, tmp);
		free(tmp);
		auth = basic_value(ep->username, ep->password);
	}
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url.ptr;
	req.authorization = auth;
	req.max_body = RS_TOKEN_BODY_MAX;
	req.follow_redirects = true;
	if ((error = token_send(c, ep, &req, realm_origin, &resp)) < 0)
		goto done;

parse:
	if (resp.status == 401 || resp.status == 403) {
		error = rs__error_set_http(
		        RS_EAUTH, resp.status, NULL,
		        "authentication failed for %s: the token server rejected "
		        "the credentials of %s",
		        ep->domain, who(ep));
		goto done;
	}
	if (resp.status != 200) {
		error = rs__registry_error(ep, &resp, "token request");
		rs__error_prefix("cannot get a token for %s from the token server at %s",
		                 ep->domain, realm_origin);
		goto done;
	}
	root = json_loadb(resp.body.ptr ? resp.body.ptr : "", resp.body.size, 0, &jerr);
	if (!root || !json_is_object(root)) {
		/* the body may hold a token; say only where parsing stopped */
		error = rs__error_set(RS_EPROTO,
		                      "token server at %s answered with something that is not a "
		                      "JSON object (%s; %zu bytes)",
		                      realm_origin, root ? "another JSON value" : "invalid JSON",
		                      resp.body.size);
		goto done;
	}
	tok = json_string_value(json_object_get(root, "access_token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(root, "token"));
	if (!tok || !*tok) {
		error = rs__error_set(RS_EPROTO,
		                      "token server at %s answered without a token (no \"token\" "
		                      "or \"access_token\" string)",
		                      realm_origin);
		goto done;
	}
	if (strcspn(tok, "\r\n") != strlen(tok)) {
		error = rs__error_set(RS_EPROTO,
		                      "token server at %s answered with a token that holds a line "
		                      "break",
		                      realm_origin);
		goto done;
	}
	{
		json_int_t expires_in = json_integer_value(json_object_get(root, "expires_in"));
		rs__token *t;
		if (expires_in < 60)
			expires_in = 60;
		ep->tokens = rs__realloc(ep->tokens, (ep->token_count + 1) * sizeof(*ep->tokens));
		t = &ep->tokens[ep->token_count++];
		t->scope = rs__strdup(scope ? scope : "");
		t->value = rs__strdup(tok);
		/* renew a little early so a token never expires in flight */
		t->expires = time(NULL) + (time_t)expires_in - 10;
		*out = rs__strdup(tok);
	}
done:
	if (root)
		json_decref(root);
	free(realm_origin);
	rs__free_secret(auth);
	rs__buf_dispose_secret(&form);
	rs__buf_dispose_secret(&url);
	if (resp.body.ptr)
		rs__memzero(resp.body.ptr, resp.body.size);
	rs__http_response_dispose(&resp);
	return error;
}

static const rs__token *token_find(rs__endpoint *ep, const char *scope)
{
	time_t now = time(NULL);
	for (size_t i = ep->token_count; i > 0; i--) {
		rs__token *t = &ep->tokens[i - 1];
		if (t->expires > now && rs__scope_covers(t->scope, scope ? scope : ""))
			return t;
	}
	return NULL;
}

/* The Authorization value for a request needing `scope`, or NULL (anonymous). */
static int auth_value(char **out, rs_client *c, rs__endpoint *ep, const char *scope, bool fresh)
{
	int error = 0;
	*out = NULL;
	pthread_mutex_lock(&ep->lock);
	switch (ep->auth) {
	case RS__AUTH_BASIC:
		endpoint_load_credentials(c, ep);
		if (ep->have_cred) {
			char *base = rs__endpoint_base(ep);
			error = check_plain_http(c, base, "Basic authentication");
			free(base);
			if (error < 0)
				break;
			*out = basic_value(ep->username, ep->password);
		}
		break;
	case RS__AUTH_BEARER: {
		const rs__token *t = fresh ? NULL : token_find(ep, scope);
		char *tok = NULL;
		endpoint_load_credentials(c, ep);
		if (ep->registry_token) {
			tok = rs__strdup(ep->registry_token);
		} else if (t) {
			tok = rs__strdup(t->value);
		} else if ((error = fetch_token(c, ep, scope, &tok)) < 0) {
			break;
		}
		{
			rs_buf v = RS_BUF_INIT;
			rs__buf_printf(&v, "Bearer %s", tok);
			*out = rs__buf_detach(&v);
		}
		rs__free_secret(tok);
		break;
	}
	default:
		break;
	}
	pthread_mutex_unlock(&ep->lock);
	return error;
}

/* Learn from a challenge. Returns the scope the registry asked for (caller frees) or NULL. */
static int learn_challenge(rs__endpoint *ep, const rs__http_response *resp, char **asked,
                           bool *insufficient)
{
	rs_strlist values = RS_STRLIST_INIT;
	rs__challenges list = {0};
	const rs__challenge *ch;
	int error = 0;
	*asked = NULL;
	*insufficient = false;
	rs__http_headers_all(resp, "www-authenticate", &values);
	for (size_t i = 0; i < values.count; i++)
		if (rs__challenges_parse(&list, values.items[i]) < 0)
			rs_error_clear(); /* keep what parsed; an odd extra challenge is no reason
			                     to fail */
	ch = rs__challenges_pick(&list);
	pthread_mutex_lock(&ep->lock);
	if (!ch) {
		ep->auth = RS__AUTH_NONE;
	} else if (!strcmp(ch->scheme, "bearer")) {
		ep->auth = RS__AUTH_BEARER;
		free(ep->realm);
		free(ep->service);
		ep->realm = rs__strdup(ch->realm);
		ep->service = rs__strdup(ch->service);
		*asked = rs__strdup(ch->scope);
		*insufficient = ch->error && !strcmp(ch->error, "insufficient_scope");
	} else {
		ep->auth = RS__AUTH_BASIC;
	}
	pthread_mutex_unlock(&ep->lock);
	rs__challenges_dispose(&list);
	rs__strlist_dispose(&values);
	return error;
}

/* docker's /etc/docker/certs.d/<host[:port]>/: ca.crt (added to the trusted CAs), client.cert
 * and client.key (mutual TLS). A host with such a directory gets its own connection pool. */
static int http_certs_d(rs_client *c, rs__endpoint *ep, bool *used)
{
	rs_buf dir = RS_BUF_INIT, ca = RS_BUF_INIT, cert = RS_BUF_INIT, key = RS_BUF_INIT;
	rs__http_options ho = {0};
	struct stat st;
	int error = 0;
	*used = false;
	rs__buf_printf(&dir, "%s/%s", c->certs_d ? c->certs_d : "/etc/docker/certs.d", ep->host);
	if (stat(dir.ptr, &st) < 0 || !S_ISDIR(st.st_mode))
		goto done;
	rs__buf_printf(&ca, "%s/ca.crt", dir.ptr);
	rs__buf_printf(&cert, "%s/client.cert", dir.ptr);
	rs__buf_printf(&key, "%s/client.key", dir.ptr);
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

static int http_for(rs_client *c, rs__endpoint *ep)
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
	req.method = "GET";
	req.url = url.ptr;
	req.max_body = 64 * 1024;
	rs__http_response_dispose(resp);
	error = rs__http_do(ep->http, &req, resp);
	rs_buf_dispose(&url);
	return error;
}

/*
 * send(payload, resp), again after 408/429/5xx or a transient connection error, with backoff
 * (rs__retry_delay_ms), at most `limit` more times and within the client's total time bound.
 * `what` names the request in the retry notes ("GET /v2/"). A ping stops at "cannot connect"
 * (refused_final): nothing listens there, and the caller tries the other scheme.
 */
static int send_retrying(rs_client *c, rs__endpoint *ep, int limit, const char *what,
                         bool refused_final, int (*send)(void *, rs__http_response *),
                         void *payload, rs__http_response *resp)
{
	double started = rs__now();
	for (int attempt = 0;; attempt++) {
		int error = send(payload, resp);
		char why[1200];
		if (error == 0 && !rs__retryable_status(resp->status))
			return 0;
		if (error < 0 &&
		    (!rs__retryable_error(error) ||
		     (refused_final && strstr(rs_error_last()->message, "cannot connect to"))))
			return error;
		if (attempt >= limit || !rs__retry_time_left(c, started))
			return error < 0 ? rs__retry_stop(c, error) : error;
		if (error < 0)
			snprintf(why, sizeof(why), "%s", rs_error_last()->message);
		else
			snprintf(why, sizeof(why), "%s on %s answered %d", what, ep->domain,
			         resp->status);
		rs__retry_sleep(c, rs__retry_delay_ms(attempt, error < 0 ? NULL : resp), why);
		if (rs_cancelled())
			return rs__cancel_check();
		rs_error_clear();
	}
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
	return send_retrying(c, ep, rs__retry_limit(c), "GET /v2/", true, ping_send, &p, resp);
}

/* A plain-HTTP answer that says the port speaks TLS: Go's and nginx's 400 ("Client sent an
 * HTTP request to an HTTPS server"), which comes without a single header (so a HEAD, which
 * sees no body, can tell too). */
static bool speaks_tls(const rs__http_response *resp)
{
	return resp->status == 400 &&
	       ((resp->body.ptr && strstr(resp->body.ptr, "HTTPS")) || resp->headers.count == 0);
}

static bool nothing_listens(const char *message)
{
	return strstr(message, "cannot connect to") || strstr(message, "resolve host") ||
	       strstr(message, "timed out");
}

static void set_base(rs__endpoint *ep, const char *scheme)
{
	rs_buf b = RS_BUF_INIT;
	char *old;
	rs__buf_printf(&b, "%s://%s", scheme, ep->host);
	pthread_mutex_lock(&ep->base_lock);
	old = ep->base;
	ep->base = rs__buf_detach(&b);
	pthread_mutex_unlock(&ep->base_lock);
	free(old);
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
	if (!resp->body.size || !is_json_type(ct))
		return false;
	root = json_loadb(resp->body.ptr, resp->body.size, 0, NULL);
	ours = json_is_array(json_object_get(root, "errors"));
	json_decref(root);
	return ours;
}

/*
 * A 404 from an endpoint that was never seen to be a registry (loopback endpoints are not
 * pinged) and that does not look like a registry's own: ask GET /v2/, so that a web server that
 * answers 404 to everything is reported as what it is, not as a missing repository.
 */
static int check_registry(rs__endpoint *ep, const rs__http_response *resp)
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
	base = rs__endpoint_base(ep);
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
static int endpoint_ping(rs_client *c, rs__endpoint *ep)
{
	rs__http_response resp = {0};
	char *asked = NULL;
	bool insufficient;
	int error;
	rs_error saved;

	if (ep->loopback) {
		error = ping_retrying(c, ep, "http", &resp);
		if (error == 0 && !speaks_tls(&resp)) {
			set_base(ep, "http");
			goto learned;
		}
		if (error < 0 && nothing_listens(rs_error_last()->message))
			goto done;
		rs_error_clear();
	}
	error = ping_retrying(c, ep, "https", &resp);
	if (error == 0) {
		set_base(ep, "https");
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
	if (ping_retrying(c, ep, "http", &resp) < 0 || speaks_tls(&resp)) {
		rs__error_set(saved.code, "%s", saved.message);
		goto done;
	}
	if (!ep->insecure) {
		error = rs__insecure_refuse(c->policy, ep->host, RS__INSECURE_PLAIN_HTTP);
		goto done;
	}
	set_base(ep, "http");
	error = 0;
learned:
	if (resp.status == 401) {
		learn_challenge(ep, &resp, &asked, &insufficient);
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

int rs__client_endpoint(rs__endpoint **out, rs_client *c, const char *domain)
{
	rs__endpoint *ep = NULL;
	int error = 0;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->endpoint_count; i++)
		if (!strcmp(c->endpoints[i]->domain, domain))
			ep = c->endpoints[i];
	pthread_mutex_unlock(&c->lock);
	if (ep) {
		*out = ep;
		return 0;
	}
	ep = rs__calloc(1, sizeof(*ep));
	pthread_mutex_init(&ep->lock, NULL);
	pthread_mutex_init(&ep->probe_lock, NULL);
	pthread_mutex_init(&ep->base_lock, NULL);
	atomic_init(&ep->probing, false);
	atomic_init(&ep->is_registry, false);
	ep->domain = rs__strdup(domain);
	ep->host = rs__strdup(rs_ref_endpoint(domain));
	{
		const char *why = NULL;
		ep->insecure = rs__insecure_allowed(c->policy, ep->host, &why);
		ep->loopback = ep->insecure && why && !strcmp(why, "loopback");
	}
	if ((error = http_for(c, ep)) < 0) {
		endpoint_free(ep);
		return error;
	}
	if (ep->loopback) {
		/* no ping: the first real request goes over plain HTTP and tells (saves a round
		 * trip per command); a TLS port is noticed on that answer (rs__registry_do) */
		set_base(ep, "http");
		ep->auth = RS__AUTH_UNKNOWN;
		atomic_store(&ep->probing, true);
	} else if ((error = endpoint_ping(c, ep)) < 0) {
		endpoint_free(ep);
		return error;
	}
	pthread_mutex_lock(&c->lock);
	c->endpoints = rs__realloc(c->endpoints, (c->endpoint_count + 1) * sizeof(*c->endpoints));
	c->endpoints[c->endpoint_count++] = ep;
	pthread_mutex_unlock(&c->lock);
	*out = ep;
	return 0;
}

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
static int follow(rs_client *c, rs__endpoint *ep, const rs__http_request *req,
                  rs__http_response *resp)
{
	rs__http_request hr = *req;
	char *url = rs__strdup(req->url), *origin = NULL;
	bool redirectable = req->follow_redirects &&
	                    (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"));
	int error;

	hr.follow_redirects = false;
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
		if (rs__url_resolve(&next, url, location) < 0) {
			char *shown = rs__escape(location);
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
	return follow(c, ep, &hr, resp);
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
			char *first = rs__strndup(start, len), *colon = strrchr(first, ':');
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
	if (code && rs__needs_escape(code))
		code = NULL;
	error = rs__error_set_http(
	        RS_EAUTH, status, code, "permission denied: %s may not %s (%s)%s%s", who(ep),
	        what.ptr, shown_scope,
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
	bool same = resp->url && rs__url_origin(&o1, base) == 0 &&
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
	return send_retrying(c, ep, replayable(req) ? rs__retry_limit(c) : 0, req->method, false,
	                     do_send, &d, resp);
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
		if (speaks_tls(resp)) {
			error = endpoint_ping(c, ep);
			resend = error == 0;
		}
		atomic_store(&ep->probing, false);
	} else {
		/* another thread settled it meanwhile */
		char *base = rs__endpoint_base(ep);
		resend = speaks_tls(resp) && base && rs__str_startswith(base, "https");
		free(base);
	}
	pthread_mutex_unlock(&ep->probe_lock);
	if (!resend || req->url[0] != '/')
		return error;
	{
		rs_buf b = RS_BUF_INIT;
		char *base = rs__endpoint_base(ep);
		rs__buf_printf(&b, "%s%s", base, req->url);
		free(base);
		free(*url);
		*url = rs__buf_detach(&b);
	}
	rs__http_response_dispose(resp);
	return do_retrying(c, ep, req, *url, auth, resp);
}

int rs__registry_do(rs_client *c, rs__endpoint *ep, const rs__reg_request *req,
                    rs__http_response *resp)
{
	char *url = NULL, *auth = NULL, *asked = NULL, *want = NULL;
	bool insufficient = false, own_origin = true;
	int error;

	if (req->url[0] == '/') {
		rs_buf b = RS_BUF_INIT;
		char *base = rs__endpoint_base(ep);
		rs__buf_printf(&b, "%s%s", base, req->url);
		free(base);
		url = rs__buf_detach(&b);
	} else {
		/* a URL the server handed back: credentials go only to the registry's origin */
		if ((error = rs__url_check(&own_origin, c, ep, req->url, req->url_kind)) < 0)
			goto done;
		url = rs__strdup(req->url);
	}
	if (own_origin && (error = auth_value(&auth, c, ep, req->scope, false)) < 0)
		goto done;
	if ((error = do_retrying(c, ep, req, url, auth, resp)) < 0)
		goto done;
	if (atomic_load(&ep->probing) && (error = end_probe(c, ep, req, &url, auth, resp)) < 0)
		goto done;
	if (resp->status == 404 && own_origin && (error = check_registry(ep, resp)) < 0)
		goto done;
	if (resp->status != 401 && resp->status != 403)
		goto done;
	if (!own_origin) {
		char *origin = NULL;
		if ((error = rs__url_origin(&origin, url)) < 0)
			goto done;
		error = rs__error_set_http(
		        RS_EAUTH, resp->status, NULL,
		        "%s, another origin that %s sent regship to, answered %d; the "
		        "credentials for %s are sent only to %s itself",
		        origin, ep->domain, resp->status, ep->domain, ep->domain);
		free(origin);
		goto done;
	}
	if (!answered_by_registry(ep, resp))
		goto done; /* a redirect went elsewhere: that origin's challenge is not ours */
	if (resp->status == 403 && ep->auth != RS__AUTH_BEARER &&
	    !rs__http_header(resp, "www-authenticate"))
		goto done;

	/* challenged: learn, get a token for everything asked, and try once more */
	learn_challenge(ep, resp, &asked, &insufficient);
	if (ep->auth == RS__AUTH_NONE)
		goto done;
	if (ep->auth == RS__AUTH_BASIC) {
		pthread_mutex_lock(&ep->lock);
		endpoint_load_credentials(c, ep);
		pthread_mutex_unlock(&ep->lock);
		if (!ep->have_cred && ep->cred_error) {
			error = rs__error_set_http(RS_EAUTH, resp->status, NULL,
			                           "authentication required by %s: %s", ep->domain,
			                           ep->cred_error);
			goto done;
		}
		if (!ep->have_cred) {
			error = rs__error_set_http(
			        RS_EAUTH, resp->status, NULL,
			        "authentication required by %s: no credentials "
			        "(use 'regship login %s' or -u USER --password-stdin)",
			        ep->domain, ep->domain);
			goto done;
		}
		if (auth) {
			error = rs__error_set_http(
			        RS_EAUTH, resp->status, NULL,
			        "authentication failed for %s: wrong username or "
			        "password for %s",
			        ep->domain, who(ep));
			goto done;
		}
	}
	if (req->body_reader) {
		if (rs_reader_rewind(req->body_reader) < 0) {
			error = rs__error_set_http(
			        RS_EAUTH, resp->status, NULL,
			        "%s rejected the upload's authorization and the body "
			        "cannot be sent again",
			        ep->domain);
			goto done;
		}
	}
	if (ep->auth == RS__AUTH_BEARER) {
		if (asked && req->scope)
			rs__scope_union(&want, req->scope, asked);
		else
			want = rs__strdup(asked ? asked : req->scope);
	}
	free(auth);
	auth = NULL;
	if ((error = auth_value(&auth, c, ep, want, true)) < 0)
		goto done;
	rs__http_response_dispose(resp);
	if ((error = do_retrying(c, ep, req, url, auth, resp)) < 0)
		goto done;
	if (resp->status == 401 || resp->status == 403) {
		/* still refused: the credentials do not grant what this request needs */
		rs_strlist values = RS_STRLIST_INIT;
		rs__challenges list = {0};
		const rs__challenge *ch;
		const char *scope_txt = want ? want : req->scope;
		rs__http_headers_all(resp, "www-authenticate", &values);
		for (size_t i = 0; i < values.count; i++)
			if (rs__challenges_parse(&list, values.items[i]) < 0)
				rs_error_clear();
		ch = rs__challenges_pick(&list);
		if (ep->auth == RS__AUTH_BEARER)
			error = denied(ep, req, resp->status, ch && ch->error ? ch->error : NULL,
			               scope_txt);
		else
			error = rs__error_set_http(
			        RS_EAUTH, resp->status, NULL,
			        "authentication failed for %s: wrong username or "
			        "password for %s",
			        ep->domain, who(ep));
		rs__challenges_dispose(&list);
		rs__strlist_dispose(&values);
	}
done:
	rs__free_secret(auth);
	free(url);
	free(asked);
	free(want);
	return error;
}

int rs_registry_check(rs_client *c, const char *domain)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	int error;
	if ((error = rs__client_endpoint(&ep, c, domain)) < 0)
		return error;
	pthread_mutex_lock(&ep->lock);
	endpoint_load_credentials(c, ep);
	pthread_mutex_unlock(&ep->lock);
	if (ep->auth == RS__AUTH_BEARER) {
		/* a token with no scope proves the credentials (as docker login does) */
		char *auth = NULL;
		if ((error = auth_value(&auth, c, ep, "", true)) < 0)
			return error;
		rs__free_secret(auth);
	}
	req.method = "GET";
	req.url = "/v2/";
	if ((error = rs__registry_do(c, ep, &req, &resp)) < 0)
		goto done;
	if (resp.status != 200)
		error = rs__registry_error(ep, &resp, "GET /v2/");
done:
	rs__http_response_dispose(&resp);
	return error;
}
