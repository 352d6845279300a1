/* URLs: resolving a reference, origins, query parameters, Link headers. */
#include "http.h"

#include "util/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

int rs__url_resolve(char **out, const char *base, const char *ref)
{
	CURLU *u = curl_url();
	char *s = NULL;
	int error = 0;
	CURLUcode rc;
	if (!u)
		return rs__oom();
	if ((rc = curl_url_set(u, CURLUPART_URL, base, 0)) != CURLUE_OK ||
	    (rc = curl_url_set(u, CURLUPART_URL, ref, CURLU_NON_SUPPORT_SCHEME)) != CURLUE_OK ||
	    (rc = curl_url_get(u, CURLUPART_URL, &s, 0)) != CURLUE_OK) {
		error = rc == CURLUE_OUT_OF_MEMORY
		                ? rs__oom()
		                : rs__error_set(RS_EPROTO, "invalid URL \"%s\" (relative to %s)",
		                                ref, base);
		goto done;
	}
	/* parse the result once more as an absolute URL, so that what comes out is in the form
	 * curl itself gives it (a host "74" reached through "//7%34" becomes 0.0.0.74) */
	if ((rc = curl_url_set(u, CURLUPART_URL, s, CURLU_NON_SUPPORT_SCHEME)) != CURLUE_OK) {
		error = rc == CURLUE_OUT_OF_MEMORY
		                ? rs__oom()
		                : rs__error_set(RS_EPROTO, "invalid URL \"%s\" (relative to %s)",
		                                ref, base);
		goto done;
	}
	curl_free(s);
	s = NULL;
	if ((rc = curl_url_get(u, CURLUPART_URL, &s, 0)) != CURLUE_OK) {
		error = rc == CURLUE_OUT_OF_MEMORY
		                ? rs__oom()
		                : rs__error_set(RS_EPROTO, "invalid URL \"%s\" (relative to %s)",
		                                ref, base);
		goto done;
	}
	if (!(*out = rs__strdup(s)))
		error = rs__oom();
done:
	curl_free(s);
	curl_url_cleanup(u);
	return error;
}

int rs__url_origin(char **out, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	rs_buf b = RS_BUF_INIT;
	int error = 0;
	CURLUcode rc;
	if (!u)
		return rs__oom();
	if ((rc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(u, CURLUPART_HOST, &host, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) != CURLUE_OK) {
		error = rc == CURLUE_OUT_OF_MEMORY
		                ? rs__oom()
		                : rs__error_set(RS_EPROTO, "invalid URL \"%s\"", url);
		goto done;
	}
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	rs__buf_printf(&b, "%s://%s:%s", scheme, host, port);
	if (!(*out = rs__buf_detach(&b)))
		error = RS_ENOMEM;
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return error;
}

char *rs__url_add_query(const char *url, const char *name, const char *value)
{
	rs_buf b = RS_BUF_INIT;
	const char *hash = strchr(url, '#');
	size_t len = hash ? (size_t)(hash - url) : strlen(url);
	char *esc = rs__url_escape(value);
	if (!esc)
		return NULL;
	rs__buf_put(&b, url, len);
	rs__buf_printf(&b, "%c%s=%s", memchr(url, '?', len) ? '&' : '?', name, esc);
	free(esc);
	return rs__buf_detach(&b);
}

/* Does a Link parameter list (`; rel="next"; title="x"`) have "next" among its rel values? */
static bool link_params_next(const char *p, const char *end)
{
	while (p < end) {
		const char *name, *value, *vend;
		size_t nlen;
		while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
			p++;
		name = p;
		while (p < end && *p != '=' && *p != ';')
			p++;
		nlen = (size_t)(p - name);
		while (nlen && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
			nlen--;
		if (p >= end || *p != '=')
			continue;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p == '"') {
			value = ++p;
			while (p < end && *p != '"')
				p++;
			vend = p;
			if (p < end)
				p++;
		} else {
			value = p;
			while (p < end && *p != ';')
				p++;
			vend = p;
		}
		if (nlen == 3 && rs__str_niequal(name, "rel", 3)) {
			/* rel may list several space-separated relation types */
			const char *q = value;
			while (q < vend) {
				const char *w = q;
				while (q < vend && *q != ' ')
					q++;
				if (q - w == 4 && rs__str_niequal(w, "next", 4))
					return true;
				while (q < vend && *q == ' ')
					q++;
			}
		}
	}
	return false;
}

int rs__link_next(char **out, const char *link, const char *base)
{
	/* Link: <url>; rel="next", <url2>; rel="prev"; title="a, b" */
	const char *p = link;
	*out = NULL;
	while (p && *p) {
		const char *lt = strchr(p, '<'), *gt, *end;
		bool quoted = false;
		if (!lt)
			break;
		gt = strchr(lt, '>');
		if (!gt)
			return rs__error_set(RS_EPROTO, "malformed Link header: %s", link);
		/* the parameters end at the next comma outside quotes */
		for (end = gt + 1; *end; end++) {
			if (*end == '"')
				quoted = !quoted;
			else if (*end == ',' && !quoted)
				break;
		}
		if (link_params_next(gt + 1, end)) {
			char *target = rs__strndup(lt + 1, (size_t)(gt - lt - 1));
			int error = target ? rs__url_resolve(out, base, target) : rs__oom();
			free(target);
			return error;
		}
		p = *end ? end + 1 : NULL;
	}
	return 0;
}
