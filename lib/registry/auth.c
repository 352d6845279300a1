/* Credentials and tokens: what an endpoint sends in Authorization, Basic or Bearer (tokens
 * fetched from the realm of the registry's challenge and cached per scope). */
#include "registry.h"

#include "auth/challenge.h"
#include "auth/dockercfg.h"
#include "auth/scope.h"
#include "util/json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RS_TOKEN_BODY_MAX (1u << 20)

/* Forget what a load that ran out of memory kept, so that a later call tries again. */
static int load_oom(rs__endpoint *ep)
{
	rs__free_secret(ep->username);
	rs__free_secret(ep->password);
	rs__free_secret(ep->identity_token);
	rs__free_secret(ep->registry_token);
	free(ep->cred_error);
	ep->username = ep->password = ep->identity_token = ep->registry_token = NULL;
	ep->cred_error = NULL;
	ep->have_cred = false;
	ep->cred_loaded = false;
	return rs__oom();
}

int rs__endpoint_load_credentials(rs_client *c, rs__endpoint *ep)
{
	rs__credential cred = {0};
	int rc;
	if (ep->cred_loaded)
		return 0;
	ep->cred_loaded = true;
	if (c->opts.username) {
		ep->username = rs__strdup(c->opts.username);
		ep->password = rs__strdup(c->opts.password ? c->opts.password : "");
		ep->have_cred = true;
		return ep->username && ep->password ? 0 : load_oom(ep);
	}
	if (!c->opts.use_docker_config)
		return 0; /* anonymous: the library reads no config unless asked */
	rs__client_helper_limits(c);
	rc = rs__cred_lookup(&cred, c->opts.docker_config, ep->domain);
	if (rc == 0) {
		ep->username = rs__strdup(cred.username);
		ep->password = rs__strdup(cred.password);
		ep->identity_token = rs__strdup(cred.identity_token);
		ep->registry_token = rs__strdup(cred.registry_token);
		ep->have_cred = ep->username || ep->identity_token || ep->registry_token;
		if ((cred.username && !ep->username) || (cred.password && !ep->password) ||
		    (cred.identity_token && !ep->identity_token) ||
		    (cred.registry_token && !ep->registry_token)) {
			rs__credential_dispose(&cred);
			return load_oom(ep);
		}
	} else if (rc == RS_ENOMEM) {
		return load_oom(ep);
	}
	/* a broken config or helper must not stop anonymous access; it is reported on 401/403,
	 * as what it is rather than as "no credentials" */
	else if (rc != RS_ENOTFOUND && !(ep->cred_error = rs__strdup(rs_error_last()->message)))
		return load_oom(ep);
	rs__credential_dispose(&cred);
	rs_error_clear();
	return 0;
}

static char *basic_value(const char *user, const char *pass)
{
	rs_buf raw = RS_BUF_INIT, v = RS_BUF_INIT;
	char *b64;
	rs__buf_printf(&raw, "%s:%s", user ? user : "", pass ? pass : "");
	b64 = rs__buf_oom(&raw) ? NULL : rs__base64_encode(raw.ptr, raw.size);
	if (b64)
		rs__buf_printf(&v, "Basic %s", b64);
	rs__free_secret(b64);
	rs__buf_dispose_secret(&raw);
	if (!b64) {
		rs_buf_dispose(&v);
		rs__oom();
		return NULL;
	}
	return rs__buf_detach(&v); /* NULL when out of memory */
}

const char *rs__endpoint_who(const rs__endpoint *ep)
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
		size_t n;
		if (!hp) {
			free(origin);
			return rs__oom();
		}
		n = strlen(hp);
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

/* A request to the token server, its failures named after it ("token server at ORIGIN ..."). */
static int token_send(rs_client *c, rs__endpoint *ep, const rs__http_request *req,
                      const char *realm_origin, rs__http_response *resp)
{
	int error = rs__registry_follow(c, ep, req, resp);
	if (error == RS_ETOOBIG)
		return rs__error_set(RS_EPROTO, "token server at %s answered with more than %u KiB",
		                     realm_origin, RS_TOKEN_BODY_MAX / 1024);
	if (error < 0)
		rs__error_prefix("token server at %s", realm_origin);
	return error;
}

/* OAuth2 refresh-token grant (POST of the identity token) to the realm. */
static int token_post(rs_client *c, rs__endpoint *ep, const char *scope, const char *realm_origin,
                      rs__http_response *resp)
{
	static const char *const hdrs[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	rs_buf form = RS_BUF_INIT;
	rs__http_request req = {0};
	char *e;
	int error;
	bool oom = false;
	rs__buf_puts(&form, "grant_type=refresh_token&refresh_token=");
	e = rs__url_escape(ep->identity_token);
	oom |= !e;
	rs__buf_puts(&form, e ? e : "");
	rs__free_secret(e);
	rs__buf_puts(&form, "&client_id=regship");
	if (ep->service) {
		e = rs__url_escape(ep->service);
		oom |= !e;
		rs__buf_printf(&form, "&service=%s", e ? e : "");
		free(e);
	}
	if (scope && *scope) {
		e = rs__url_escape(scope);
		oom |= !e;
		rs__buf_printf(&form, "&scope=%s", e ? e : "");
		free(e);
	}
	if (oom || rs__buf_oom(&form)) {
		rs__buf_dispose_secret(&form);
		return rs__oom();
	}
	req.method = "POST";
	req.url = ep->realm;
	req.headers = hdrs;
	req.body = form.ptr;
	req.body_len = form.size;
	req.max_body = RS_TOKEN_BODY_MAX;
	error = token_send(c, ep, &req, realm_origin, resp);
	rs__buf_dispose_secret(&form);
	return error;
}

/* url with name=value added to its query; out of memory leaves url in its out-of-memory
 * state (rs__buf_oom). */
static void add_query(rs_buf *url, const char *name, const char *value)
{
	char *tmp = rs__buf_oom(url) ? NULL : rs__url_add_query(url->ptr, name, value);
	rs__buf_clear(url);
	if (!tmp) {
		rs__buf_set_oom(url);
		return;
	}
	rs__buf_puts(url, tmp);
	free(tmp);
}

/* GET <realm>?service=..&scope=..&account=.. with the login as Basic credentials, if any. */
static int token_get(rs_client *c, rs__endpoint *ep, const char *scope, const char *realm_origin,
                     rs__http_response *resp)
{
	rs_buf url = RS_BUF_INIT;
	rs__http_request req = {0};
	char *auth = NULL;
	int error;
	rs__buf_puts(&url, ep->realm);
	if (ep->service)
		add_query(&url, "service", ep->service);
	if (scope && *scope) {
		char *scopes = rs__strdup(scope), *save = NULL;
		if (!scopes) {
			rs__buf_dispose_secret(&url);
			return rs__oom();
		}
		for (char *s = strtok_r(scopes, " ", &save); s; s = strtok_r(NULL, " ", &save))
			add_query(&url, "scope", s);
		free(scopes);
	}
	if (ep->have_cred && ep->username && !ep->identity_token) {
		add_query(&url, "account", ep->username);
		if (!(auth = basic_value(ep->username, ep->password))) {
			rs__buf_dispose_secret(&url);
			return RS_ENOMEM;
		}
	}
	if (rs__buf_oom(&url)) {
		rs__free_secret(auth);
		return rs__oom();
	}
	req.method = "GET";
	req.url = url.ptr;
	req.authorization = auth;
	req.max_body = RS_TOKEN_BODY_MAX;
	req.follow_redirects = true;
	error = token_send(c, ep, &req, realm_origin, resp);
	rs__free_secret(auth);
	rs__buf_dispose_secret(&url);
	return error;
}

/* The token server's answer: the token into *out and the endpoint's cache (for scope). */
static int token_parse(rs__endpoint *ep, const char *scope, const char *realm_origin,
                       const rs__http_response *resp, char **out)
{
	json_error_t jerr;
	json_t *root;
	const char *tok;
	json_int_t expires_in;
	rs__token *t;
	int error = 0;
	if (resp->status == 401 || resp->status == 403)
		return rs__error_set_http(RS_EAUTH, resp->status, NULL,
		                          "authentication failed for %s: the token server rejected "
		                          "the credentials of %s",
		                          ep->domain, rs__endpoint_who(ep));
	if (resp->status != 200) {
		error = rs__registry_error(ep, resp, "token request");
		rs__error_prefix("cannot get a token for %s from the token server at %s",
		                 ep->domain, realm_origin);
		return error;
	}
	root = json_loadb(resp->body.ptr ? resp->body.ptr : "", resp->body.size, 0, &jerr);
	if (!root && rs__json_oom(&jerr))
		return rs__oom();
	if (!root || !json_is_object(root)) {
		/* the body may hold a token; say only where parsing stopped */
		error = rs__error_set(RS_EPROTO,
		                      "token server at %s answered with something that is not a "
		                      "JSON object (%s; %zu bytes)",
		                      realm_origin, root ? "another JSON value" : "invalid JSON",
		                      resp->body.size);
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
	expires_in = json_integer_value(json_object_get(root, "expires_in"));
	if (expires_in < 60)
		expires_in = 60;
	if (!(*out = rs__strdup(tok))) {
		error = rs__oom();
		goto done;
	}
	{
		rs__token *tokens =
		        rs__realloc(ep->tokens, (ep->token_count + 1) * sizeof(*ep->tokens));
		char *tscope = rs__strdup(scope ? scope : ""), *tvalue = rs__strdup(tok);
		if (tokens)
			ep->tokens = tokens;
		if (!tokens || !tscope || !tvalue) {
			/* not cached: the token still serves this request */
			free(tscope);
			rs__free_secret(tvalue);
			goto done;
		}
		t = &ep->tokens[ep->token_count++];
		t->scope = tscope;
		t->value = tvalue;
	}
	/* renew a little early so a token never expires in flight */
	t->expires = time(NULL) + (time_t)expires_in - 10;
done:
	if (root)
		json_decref(root);
	return error;
}

/* A token for scope from the realm of the endpoint's Bearer challenge (ep->lock held). */
static int fetch_token(rs_client *c, rs__endpoint *ep, const char *scope, char **out)
{
	rs__http_response resp = {0};
	char *realm_origin = NULL;
	int error = 0;
	bool login_goes = false, fetched = false;

	if (!ep->realm)
		return rs__error_set(RS_EPROTO, "%s: Bearer challenge without a realm", ep->domain);
	/* the realm may be on another origin: the login goes there (login_goes is always true for
	 * a realm), but only over http(s), and plain HTTP only where allowed */
	if ((error = rs__url_check(&login_goes, c, ep, ep->realm, RS__URL_REALM)) < 0)
		return error;
	if ((error = rs__url_origin(&realm_origin, ep->realm)) < 0)
		return error;
	if (ep->identity_token) {
		/* OAuth2 refresh-token grant, falling back to GET on 404 */
		if ((error = token_post(c, ep, scope, realm_origin, &resp)) < 0)
			goto done;
		fetched = resp.status != 404 && resp.status != 405;
	}
	if (!fetched && (error = token_get(c, ep, scope, realm_origin, &resp)) < 0)
		goto done;
	error = token_parse(ep, scope, realm_origin, &resp, out);
done:
	free(realm_origin);
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
int rs__auth_value(char **out, rs_client *c, rs__endpoint *ep, const char *scope, bool fresh)
{
	int error = 0;
	*out = NULL;
	pthread_mutex_lock(&ep->lock);
	switch (ep->auth) {
	case RS__AUTH_BASIC:
		if ((error = rs__endpoint_load_credentials(c, ep)) < 0)
			break;
		if (ep->have_cred) {
			char *base = rs__endpoint_base(ep);
			error = base ? check_plain_http(c, base, "Basic authentication")
			             : rs__oom();
			free(base);
			if (error < 0)
				break;
			if (!(*out = basic_value(ep->username, ep->password)))
				error = RS_ENOMEM;
		}
		break;
	case RS__AUTH_BEARER: {
		const rs__token *t = fresh ? NULL : token_find(ep, scope);
		char *tok = NULL;
		if ((error = rs__endpoint_load_credentials(c, ep)) < 0)
			break;
		if (ep->registry_token) {
			tok = rs__strdup(ep->registry_token);
		} else if (t) {
			tok = rs__strdup(t->value);
		} else if ((error = fetch_token(c, ep, scope, &tok)) < 0) {
			break;
		}
		if (!tok) {
			error = rs__oom();
			break;
		}
		{
			rs_buf v = RS_BUF_INIT;
			rs__buf_printf(&v, "Bearer %s", tok);
			if (!(*out = rs__buf_detach(&v)))
				error = RS_ENOMEM;
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
int rs__learn_challenge(rs__endpoint *ep, const rs__http_response *resp, char **asked,
                        bool *insufficient)
{
	rs_strlist values = RS_STRLIST_INIT;
	rs__challenges list = {0};
	const rs__challenge *ch;
	int error = 0;
	*asked = NULL;
	*insufficient = false;
	if (rs__http_headers_all(resp, "www-authenticate", &values) < 0) {
		rs__strlist_dispose(&values);
		return RS_ENOMEM;
	}
	for (size_t i = 0; i < values.count; i++)
		if ((error = rs__challenges_parse(&list, values.items[i])) == RS_ENOMEM)
			goto done;
		else if (error < 0)
			error = 0, rs_error_clear(); /* keep what parsed; an odd extra challenge is
			                     no reason to fail */
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
		if ((ch->realm && !ep->realm) || (ch->service && !ep->service) ||
		    (ch->scope && !*asked)) {
			/* "no realm" would be the wrong complaint: forget the challenge */
			free(ep->realm);
			free(ep->service);
			free(*asked);
			ep->realm = ep->service = *asked = NULL;
			ep->auth = RS__AUTH_NONE;
			error = rs__oom();
		}
	} else {
		ep->auth = RS__AUTH_BASIC;
	}
	pthread_mutex_unlock(&ep->lock);
done:
	rs__challenges_dispose(&list);
	rs__strlist_dispose(&values);
	return error;
}
