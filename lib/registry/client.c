/* The registry client: its lifetime, and the endpoint of each registry it talks to. */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

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
	if (!c)
		return rs__oom();
	{
		/* NULL: the documented defaults (retries -1 is the default 3, not none) */
		static const rs_client_options defaults = RS_CLIENT_OPTIONS_INIT;
		c->opts = given ? *given : defaults;
	}
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
	pthread_mutex_init(&c->lock, NULL);
	rs__client_limits_init(c);
	if (given &&
	    ((given->username && !c->username) || (given->password && !c->password) ||
	     (given->ca_cert && !c->ca_cert) || (given->docker_config && !c->docker_config) ||
	     (given->daemon_json && !c->daemon_json) || (given->own_config && !c->own_config) ||
	     (given->certs_d && !c->certs_d))) {
		error = rs__oom();
		goto fail;
	}

	ho.ca_file = c->ca_cert;
	rs__client_http_options(c, &ho);
	if ((error = rs__http_new(&c->http, &ho)) < 0)
		goto fail;
	policy = rs__calloc(1, sizeof(*policy));
	if (!policy) {
		error = rs__oom();
		goto fail;
	}
	c->policy = policy;
	if (!c->opts.use_registry_config)
		rs__insecure_init(policy, c->opts.insecure != 0);
	else if ((error = rs__insecure_load(policy, c->daemon_json, c->own_config,
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
	if (!ep)
		return rs__oom();
	pthread_mutex_init(&ep->lock, NULL);
	pthread_mutex_init(&ep->probe_lock, NULL);
	pthread_mutex_init(&ep->base_lock, NULL);
	atomic_init(&ep->probing, false);
	atomic_init(&ep->is_registry, false);
	ep->domain = rs__strdup(domain);
	ep->host = rs__strdup(rs_ref_endpoint(domain));
	if (!ep->domain || !ep->host) {
		endpoint_free(ep);
		return rs__oom();
	}
	{
		const char *why = NULL;
		ep->insecure = rs__insecure_allowed(c->policy, ep->host, &why);
		ep->loopback = ep->insecure && why && !strcmp(why, "loopback");
	}
	if ((error = rs__endpoint_http(c, ep)) < 0) {
		endpoint_free(ep);
		return error;
	}
	if (ep->loopback) {
		/* no ping: the first real request goes over plain HTTP and tells (saves a round
		 * trip per command); a TLS port is noticed on that answer (rs__registry_do) */
		if ((error = rs__endpoint_set_base(ep, "http")) < 0) {
			endpoint_free(ep);
			return error;
		}
		ep->auth = RS__AUTH_UNKNOWN;
		atomic_store(&ep->probing, true);
	} else if ((error = rs__endpoint_ping(c, ep)) < 0) {
		endpoint_free(ep);
		return error;
	}
	pthread_mutex_lock(&c->lock);
	{
		rs__endpoint **eps =
		        rs__realloc(c->endpoints, (c->endpoint_count + 1) * sizeof(*c->endpoints));
		if (!eps) {
			pthread_mutex_unlock(&c->lock);
			endpoint_free(ep);
			return rs__oom();
		}
		c->endpoints = eps;
	}
	c->endpoints[c->endpoint_count++] = ep;
	pthread_mutex_unlock(&c->lock);
	*out = ep;
	return 0;
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
	error = rs__endpoint_load_credentials(c, ep);
	pthread_mutex_unlock(&ep->lock);
	if (error < 0)
		return error;
	if (ep->auth == RS__AUTH_BEARER) {
		/* a token with no scope proves the credentials (as docker login does) */
		char *auth = NULL;
		if ((error = rs__auth_value(&auth, c, ep, "", true)) < 0)
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
