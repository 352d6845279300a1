/*
 * The one policy for every URL a server hands back: a pagination Link, a redirect or upload
 * Location, a token realm. Such a URL is hostile input: it decides where the next request goes
 * and, if it were trusted, where the credentials go.
 */
#include "registry.h"

#include "http/insecure.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

/* scheme (lowercase), host:port without a default port, and whether the URL has userinfo. */
static int url_parts(char **scheme, char **hostport, bool *userinfo, const char *url)
{
	CURLU *u = curl_url();
	char *s = NULL, *host = NULL, *port = NULL, *user = NULL;
	rs_buf hp = RS_BUF_INIT;
	int error = 0;
	CURLUcode rc;
	if (!u)
		return rs__oom();
	if ((rc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME)) != CURLUE_OK ||
	    (rc = curl_url_get(u, CURLUPART_SCHEME, &s, 0)) != CURLUE_OK) {
		error = rc == CURLUE_OUT_OF_MEMORY ? rs__oom() : RS_EPROTO;
		goto done;
	}
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!(*scheme = rs__strdup(s))) {
		error = rs__oom();
		goto done;
	}
	if ((rc = curl_url_get(u, CURLUPART_HOST, &host, 0)) != CURLUE_OK) {
		error = rc == CURLUE_OUT_OF_MEMORY ? rs__oom() : RS_EPROTO; /* file:///x has none */
		goto done;
	}
	/* absent: the scheme's default */
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OUT_OF_MEMORY ||
	    (rc = curl_url_get(u, CURLUPART_USER, &user, 0)) == CURLUE_OUT_OF_MEMORY) {
		error = rs__oom();
		goto done;
	}
	*userinfo = rc == CURLUE_OK;
	for (char *p = host; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	rs__buf_puts(&hp, host);
	if (port && !((!strcmp(s, "http") && !strcmp(port, "80")) ||
	              (!strcmp(s, "https") && !strcmp(port, "443"))))
		rs__buf_printf(&hp, ":%s", port);
	if (!(*hostport = rs__buf_detach(&hp)))
		error = RS_ENOMEM;
done:
	curl_free(s);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_url_cleanup(u);
	return error;
}

int rs__url_policy(bool *credentials, const rs__insecure_policy *policy, const char *domain,
                   const char *base, const char *url, rs__url_kind kind)
{
	static const char *const names[] = {"URL", "pagination Link", "redirect Location",
	                                    "upload Location", "token realm"};
	const char *what = names[kind];
	char *scheme = NULL, *hostport = NULL, *origin = NULL, *own = NULL, *shown;
	bool userinfo = false;
	int error = 0;

	*credentials = false;
	if (!(shown = rs__escape(url)))
		return rs__oom();
	if ((error = url_parts(&scheme, &hostport, &userinfo, url)) == RS_ENOMEM)
		goto done;
	error = 0;
	if (!scheme) {
		error = rs__error_set(RS_EPROTO, "%s from %s is not a valid URL: \"%s\"", what,
		                      domain, shown);
		goto done;
	}
	if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
		error = rs__error_set(RS_EPROTO,
		                      "%s from %s uses the scheme \"%s\" (%s); only http and https "
		                      "are followed",
		                      what, domain, scheme, shown);
		goto done;
	}
	if (!hostport) {
		error = rs__error_set(RS_EPROTO, "%s from %s is not a valid URL: \"%s\"", what,
		                      domain, shown);
		goto done;
	}
	if (userinfo) {
		error = rs__error_set(RS_EPROTO,
		                      "%s from %s carries a user name or password in the URL (%s); "
		                      "refusing it",
		                      what, domain, shown);
		goto done;
	}
	if (!strcmp(scheme, "http") && !rs__insecure_allowed(policy, hostport, NULL)) {
		error = rs__error_set(RS_EINSECURE,
		                      "%s from %s points to plain HTTP on %s (%s); plain HTTP is "
		                      "only used for loopback and insecure registries (--insecure, "
		                      "\"insecure-registries\")",
		                      what, domain, hostport, shown);
		goto done;
	}
	if (kind == RS__URL_REALM) {
		/* the realm is where the registry's login is exchanged for a token */
		*credentials = true;
		goto done;
	}
	if ((error = rs__url_origin(&origin, url)) < 0 ||
	    (base && (error = rs__url_origin(&own, base)) < 0))
		goto done;
	*credentials = own && !strcmp(origin, own);
done:
	free(shown);
	free(scheme);
	free(hostport);
	free(origin);
	free(own);
	return error;
}

int rs__url_check(bool *credentials, rs_client *c, rs__endpoint *ep, const char *url,
                  rs__url_kind kind)
{
	char *base = rs__endpoint_base(ep);
	int error = base ? rs__url_policy(credentials, c->policy, ep->domain, base, url, kind)
	                 : rs__oom();
	free(base);
	return error;
}
