/* Where a request goes: loopback hosts, the environment's proxy settings (http_proxy,
 * https_proxy, no_proxy), and a proxy shown without its password. */
#include "http.h"

#include "util/util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

bool rs__host_is_loopback(const char *host)
{
	unsigned char a[16];
	size_t n;
	if (!host || !*host)
		return false;
	n = strlen(host);
	if (n && host[n - 1] == '.')
		n--; /* "localhost." */
	if ((n == 9 && rs__str_niequal(host, "localhost", 9)) ||
	    (n > 10 && rs__str_niequal(host + n - 10, ".localhost", 10)))
		return true;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1) {
		static const unsigned char one[16] = {[15] = 1};
		static const unsigned char v4mapped[12] = {[10] = 0xff, [11] = 0xff};
		return !memcmp(a, one, 16) || (!memcmp(a, v4mapped, 12) && a[12] == 127);
	}
	return false;
}

/* Does one no_proxy entry (already trimmed) cover host? */
static bool noproxy_entry_matches(const char *entry, size_t len, const char *host)
{
	char e[256];
	unsigned char ha[16], ea[16];
	int family = 0;
	const char *slash;
	if (len == 1 && entry[0] == '*')
		return true;
	if (len >= sizeof(e))
		return false;
	memcpy(e, entry, len);
	e[len] = '\0';
	if (inet_pton(AF_INET, host, ha) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, host, ha) == 1)
		family = AF_INET6;
	if ((slash = strchr(e, '/'))) {
		/* CIDR: 10.0.0.0/8, fd00::/8 */
		char *end;
		long bits = strtol(slash + 1, &end, 10);
		int efamily = strchr(e, ':') ? AF_INET6 : AF_INET;
		int max = efamily == AF_INET ? 32 : 128;
		e[slash - e] = '\0';
		if (!family || family != efamily || *end || end == slash + 1 || bits < 0 ||
		    bits > max || inet_pton(efamily, e, ea) != 1)
			return false;
		for (long i = 0; i < bits; i++) {
			unsigned char m = (unsigned char)(0x80u >> (i % 8));
			if ((ha[i / 8] & m) != (ea[i / 8] & m))
				return false;
		}
		return true;
	}
	/* [v6] and v6, optionally [v6]:port */
	if (e[0] == '[') {
		char *close = strchr(e, ']');
		if (!close)
			return false;
		*close = '\0';
		memmove(e, e + 1, strlen(e + 1) + 1);
	} else if (strchr(e, ':') == strrchr(e, ':') && strchr(e, ':')) {
		*strchr(e, ':') = '\0'; /* host:port: the port is not compared (as curl) */
	}
	if (family) {
		int efamily = strchr(e, ':') ? AF_INET6 : AF_INET;
		return efamily == family && inet_pton(efamily, e, ea) == 1 &&
		       !memcmp(ha, ea, family == AF_INET ? 4 : 16);
	}
	{
		/* names: the name itself and its subdomains; ".example.com" and "*.example.com"
		 * mean the same */
		const char *name = e;
		size_t nlen, hlen = strlen(host);
		if (name[0] == '*' && name[1] == '.')
			name++;
		if (name[0] == '.')
			name++;
		nlen = strlen(name);
		if (nlen && name[nlen - 1] == '.')
			nlen--;
		if (!nlen || nlen > hlen)
			return false;
		if (!rs__str_niequal(host + hlen - nlen, name, nlen))
			return false;
		return hlen == nlen || host[hlen - nlen - 1] == '.';
	}
}

static bool noproxy_matches(const char *list, const char *host)
{
	const char *p = list;
	while (p && *p) {
		const char *end = p + strcspn(p, ", \t");
		if (end > p && noproxy_entry_matches(p, (size_t)(end - p), host))
			return true;
		p = *end ? end + 1 : NULL;
	}
	return false;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

char *rs__http_proxy_for(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	const char *proxy = NULL, *noproxy;
	char *out = NULL;
	size_t n;
	CURLUcode rc;
	if (!u) {
		rs__oom();
		return NULL;
	}
	if ((rc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(u, CURLUPART_HOST, &host, 0)) != CURLUE_OK) {
		if (rc == CURLUE_OUT_OF_MEMORY)
			rs__oom();
		goto done;
	}
	/* [::1] -> ::1 */
	n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (rs__host_is_loopback(host))
		goto done;
	if (!strcmp(scheme, "http")) {
		proxy = env_nonempty("http_proxy");
		/* HTTP_PROXY as Go reads it; curl skips it, and so does Go in a CGI, where a
		 * client's "Proxy:" header becomes HTTP_PROXY (httpoxy) */
		if (!proxy && !getenv("REQUEST_METHOD"))
			proxy = env_nonempty("HTTP_PROXY");
	} else if (!strcmp(scheme, "https")) {
		proxy = env_nonempty("https_proxy");
		if (!proxy)
			proxy = env_nonempty("HTTPS_PROXY");
	}
	if (!proxy)
		proxy = env_nonempty("all_proxy");
	if (!proxy)
		proxy = env_nonempty("ALL_PROXY");
	if (!proxy)
		goto done;
	noproxy = env_nonempty("no_proxy");
	if (!noproxy)
		noproxy = env_nonempty("NO_PROXY");
	if (noproxy && noproxy_matches(noproxy, host))
		goto done;
	if (!(out = rs__strdup(proxy)))
		rs__oom();
done:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return out;
}

char *rs__proxy_display(const char *proxy)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *out;
	rs_buf b = RS_BUF_INIT;
	if (u &&
	    curl_url_set(u, CURLUPART_URL, proxy, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) ==
	            CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		/* curl's default proxy port is 1080, not the scheme's */
		if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
			port = NULL;
		rs__buf_printf(&b, "%s://%s:%s", scheme, host, port ? port : "1080");
	} else {
		rs__buf_puts(&b, "(the proxy setting in the environment, which does not parse)");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	out = rs__buf_detach(&b);
	return out;
}
