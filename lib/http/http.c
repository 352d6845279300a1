#include "http.h"

#include "regship/cancel.h"
#include "util/escape.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#define RS_HTTP_MAX_REDIRECTS 10
#define RS_HTTP_DEFAULT_MAX_BODY (4u * 1024 * 1024)
#define RS_HTTP_ERROR_BODY_MAX (64u * 1024)
/* headers of one answer, all lines together (curl 7.x keeps no such bound itself) */
#define RS_HTTP_HEADERS_MAX (256u * 1024)
#define RS_HTTP_POOL_MAX 16

struct rs__http {
	rs__http_options opts;
	char *user_agent;
	char *ca_file, *client_cert, *client_key;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	CURL *pool[RS_HTTP_POOL_MAX];
	size_t pool_count;
	struct curl_blob ca_blob; /* system CAs + extra CA, when an extra CA is given */
	rs_buf ca_pem;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userptr)
{
	rs__http *h = userptr;
	(void)handle;
	(void)access;
	pthread_mutex_lock(&h->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userptr)
{
	rs__http *h = userptr;
	(void)handle;
	pthread_mutex_unlock(&h->share_locks[data]);
}

static const char *system_ca_bundles[] = {
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        NULL,
};

int rs__http_new(rs__http **out, const rs__http_options *opts)
{
	rs__http *h;
	int error = 0;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return rs__error_set(RS_ERROR, "cannot initialise libcurl: %s",
		                     curl_easy_strerror(global_rc));
	h = rs__calloc(1, sizeof(*h));
	if (opts)
		h->opts = *opts;
	h->user_agent =
	        rs__strdup(h->opts.user_agent ? h->opts.user_agent : "regship/" REGSHIP_VERSION);
	h->opts.user_agent = h->user_agent;
	if (h->opts.connect_timeout_ms <= 0)
		h->opts.connect_timeout_ms = RS__HTTP_CONNECT_TIMEOUT_MS_DEFAULT;
	if (h->opts.stall_timeout_s <= 0)
		h->opts.stall_timeout_s = RS__HTTP_STALL_TIMEOUT_S_DEFAULT;
	if (h->opts.stall_bytes_per_s <= 0)
		h->opts.stall_bytes_per_s = RS__HTTP_STALL_BYTES_DEFAULT;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	pthread_mutex_init(&h->pool_lock, NULL);
	h->share = curl_share_init();
	if (h->share) {
		curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
		curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
		curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
		curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
		/* not CURL_LOCK_DATA_CONNECT: curl does not support a shared connection cache used
		 * from several threads at once (valgrind saw libcurl 7.88 write to a freed
		 * connection under rm's parallel HEADs). Each pooled handle keeps its own
		 * connections instead, and curl_easy_reset leaves them alive. */
	}
	h->client_cert = rs__strdup(h->opts.client_cert);
	h->client_key = rs__strdup(h->opts.client_key);
	h->opts.client_cert = h->client_cert;
	h->opts.client_key = h->client_key;
	if (h->opts.ca_file) {
		/* the extra CA is added to, not a replacement for, the system CAs */
		h->ca_file = rs__strdup(h->opts.ca_file);
		h->opts.ca_file = h->ca_file;
		for (int i = 0; system_ca_bundles[i]; i++) {
			if (rs__file_read(&h->ca_pem, system_ca_bundles[i], 16u << 20) == 0)
				break;
			rs__buf_clear(&h->ca_pem);
		}
		rs__buf_putc(&h->ca_pem, '\n');
		if ((error = rs__file_read(&h->ca_pem, h->ca_file, 16u << 20)) < 0) {
			rs__error_prefix("cannot read CA certificate");
			rs__http_free(h);
			return error;
		}
		rs_error_clear();
		h->ca_blob.data = h->ca_pem.ptr;
		h->ca_blob.len = h->ca_pem.size;
		h->ca_blob.flags = CURL_BLOB_NOCOPY;
	}
	*out = h;
	return 0;
}

void rs__http_free(rs__http *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->pool_count; i++)
		curl_easy_cleanup(h->pool[i]);
	if (h->share)
		curl_share_cleanup(h->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->share_locks[i]);
	pthread_mutex_destroy(&h->pool_lock);
	rs_buf_dispose(&h->ca_pem);
	free(h->user_agent);
	free(h->ca_file);
	free(h->client_cert);
	free(h->client_key);
	free(h);
}

static CURL *handle_acquire(rs__http *h)
{
	CURL *c = NULL;
	pthread_mutex_lock(&h->pool_lock);
	if (h->pool_count)
		c = h->pool[--h->pool_count];
	pthread_mutex_unlock(&h->pool_lock);
	if (!c)
		c = curl_easy_init();
	else
		curl_easy_reset(c);
	return c;
}

static void handle_release(rs__http *h, CURL *c)
{
	pthread_mutex_lock(&h->pool_lock);
	if (h->pool_count < RS_HTTP_POOL_MAX) {
		h->pool[h->pool_count++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->pool_lock);
	if (c)
		curl_easy_cleanup(c);
}

/* ---- clocks, durations, proxies, redaction --------------------------------------------- */

static _Thread_local bool last_failure_final;

bool rs__http_failure_final(void)
{
	return last_failure_final;
}

double rs__http_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rs__duration_format(char *buf, size_t size, long ms)
{
	long s = ms / 1000, rest = ms % 1000;
	if (ms < 1000)
		snprintf(buf, size, "%ldms", ms);
	else if (s < 60 && rest == 0)
		snprintf(buf, size, "%lds", s);
	else if (s < 60)
		snprintf(buf, size, "%ld.%03lds", s, rest);
	else if (s % 3600 == 0 && rest == 0)
		snprintf(buf, size, "%ldh", s / 3600);
	else if (s < 3600 && s % 60 == 0 && rest == 0)
		snprintf(buf, size, "%ldm", s / 60);
	else if (s < 3600)
		snprintf(buf, size, "%ldm%lds", s / 60, s % 60);
	else
		snprintf(buf, size, "%ldh%ldm%lds", s / 3600, (s / 60) % 60, s % 60);
	/* "1.500s" reads better as "1.5s" */
	if (ms >= 1000 && s < 60 && rest) {
		size_t n = strlen(buf);
		while (n > 2 && buf[n - 2] == '0') {
			buf[n - 2] = 's';
			buf[--n] = '\0';
		}
	}
}

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
	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto done;
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
	out = rs__strdup(proxy);
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

static bool contains_ci(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);
	for (size_t i = 0; i + w <= n; i++)
		if (rs__str_niequal(s + i, word, w))
			return true;
	return false;
}

/* Query parameter and JSON key names whose values are secrets. */
static bool secret_name(const char *name, size_t n)
{
	static const char *const exact[] = {"code",   "sig",     "policy", "key",  "key-pair-id",
	                                    "apikey", "api_key", "auth",   "pass", NULL};
	static const char *const parts[] = {"token", "signature",  "secret",
	                                    "passw", "credential", NULL};
	for (int i = 0; exact[i]; i++)
		if (strlen(exact[i]) == n && rs__str_niequal(name, exact[i], n))
			return true;
	for (int i = 0; parts[i]; i++)
		if (contains_ci(name, n, parts[i]))
			return true;
	return false;
}

/* Header names whose values are secrets. */
static bool secret_header(const char *name, size_t n)
{
	static const char *const ends[] = {"authorization", "cookie", NULL};
	static const char *const exact[] = {"x-registry-auth", "x-api-key", NULL};
	for (int i = 0; ends[i]; i++) {
		size_t w = strlen(ends[i]);
		if (n >= w && rs__str_niequal(name + n - w, ends[i], w))
			return true;
	}
	for (int i = 0; exact[i]; i++)
		if (strlen(exact[i]) == n && rs__str_niequal(name, exact[i], n))
			return true;
	return contains_ci(name, n, "token") || contains_ci(name, n, "secret") ||
	       contains_ci(name, n, "passw");
}

static bool tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool param_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

void rs__trace_redact(rs_buf *out, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t i = 0;
	if (colon && colon > line) {
		size_t n = (size_t)(colon - line);
		bool name = true;
		for (size_t k = 0; k < n && name; k++)
			name = tchar(line[k]);
		if (name && secret_header(line, n)) {
			rs__buf_put(out, line, n);
			rs__buf_puts(out, ": [redacted]");
			return;
		}
	}
	while (i < len) {
		char ch = line[i];
		if (ch == ':' && i + 2 < len && line[i + 1] == '/' && line[i + 2] == '/') {
			/* scheme://user:password@host: the whole user part goes */
			size_t j = i + 3, at = 0;
			for (; j < len && !strchr("/?# \t\"'<>", line[j]); j++)
				if (line[j] == '@')
					at = j;
			rs__buf_puts(out, "://");
			if (at) {
				rs__buf_puts(out, "[redacted]");
				i = at;
			} else {
				i += 3;
			}
			continue;
		}
		if (ch == '?' || ch == '&' || ch == ';' || i == 0 || line[i - 1] == ' ') {
			/* name=value: a query or form parameter */
			size_t start = (ch == '?' || ch == '&' || ch == ';') ? i + 1 : i, j = start;
			while (j < len && param_char(line[j]))
				j++;
			if (j > start && j < len && line[j] == '=' &&
			    secret_name(line + start, j - start)) {
				rs__buf_put(out, line + i, j + 1 - i);
				rs__buf_puts(out, "[redacted]");
				j++;
				while (j < len && !strchr("&#; \t\"'<>,", line[j]))
					j++;
				i = j;
				continue;
			}
		}
		if (ch == '"') {
			/* "key": "value" in JSON */
			size_t j = i + 1, k;
			while (j < len && line[j] != '"' && line[j] != '\\')
				j++;
			k = j + 1;
			while (k < len && (line[k] == ' ' || line[k] == '\t'))
				k++;
			if (j < len && line[j] == '"' && k < len && line[k] == ':' &&
			    secret_name(line + i + 1, j - i - 1)) {
				k++;
				while (k < len && (line[k] == ' ' || line[k] == '\t'))
					k++;
				if (k < len && line[k] == '"') {
					rs__buf_put(out, line + i, k + 1 - i);
					rs__buf_puts(out, "[redacted]\"");
					k++;
					while (k < len && line[k] != '"')
						k += line[k] == '\\' ? 2 : 1;
					i = k < len ? k + 1 : len;
					continue;
				}
			}
		}
		rs__buf_putc(out, ch);
		i++;
	}
}

/* ---- one transfer --------------------------------------------------------------------- */

typedef struct transfer {
	rs__http *h;
	CURL *curl;
	const rs__http_request *req;
	rs__http_response *resp;
	/* request body */
	const char *mem;
	size_t mem_len, mem_off;
	rs_reader *reader;
	uint64_t sent;
	int body_error;
	/* response body */
	int sink_error;
	size_t max_body;
	bool body_too_big;
	uint64_t skip; /* bytes still to drop from a 200 that ignored our Range */
	bool skip_decided;
	/* how far the answer got, for the message when it stalls */
	size_t header_bytes;
	bool headers_done;
	bool headers_too_big;
	const char *proxy; /* the proxy this request goes through, or NULL */
} transfer;

static size_t on_header(char *data, size_t size, size_t nitems, void *userp)
{
	transfer *t = userp;
	size_t len = size * nitems, end = len;
	t->header_bytes += len;
	if (t->header_bytes > RS_HTTP_HEADERS_MAX) {
		t->headers_too_big = true;
		return 0; /* curl aborts the transfer */
	}
	if (len >= 5 && !memcmp(data, "HTTP/", 5)) {
		/* a new response begins (e.g. after 100 Continue): forget older headers */
		rs__strlist_dispose(&t->resp->headers);
		t->headers_done = false;
		return len;
	}
	if (len <= 2 && (data[0] == '\r' || data[0] == '\n'))
		t->headers_done = true;
	while (end && (data[end - 1] == '\r' || data[end - 1] == '\n'))
		end--;
	if (end && memchr(data, ':', end))
		rs__strlist_push_owned(&t->resp->headers, rs__strndup(data, end));
	return len;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
	transfer *t = userp;
	size_t len = size * nmemb;
	long code = 0;
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300 && t->req->sink) {
		int rc;
		if (!t->skip_decided) {
			t->skip_decided = true;
			t->skip = code == 200 ? t->req->resume_from : 0;
		}
		if (t->skip) {
			size_t n = len < t->skip ? len : (size_t)t->skip;
			t->skip -= n;
			data += n;
			if (len == n)
				return size * nmemb;
			len -= n;
		}
		rc = t->req->sink(data, len, t->req->sink_payload);
		if (rc < 0) {
			t->sink_error = rc;
			return 0;
		}
		return size * nmemb;
	}
	{
		size_t cap = (code >= 200 && code < 300) ? t->max_body : RS_HTTP_ERROR_BODY_MAX;
		if (t->resp->body.size + len > cap) {
			if (code >= 200 && code < 300) {
				t->body_too_big = true;
				return 0;
			}
			len = cap > t->resp->body.size ? cap - t->resp->body.size : 0;
			rs__buf_put(&t->resp->body, data, len);
			return size * nmemb;
		}
	}
	rs__buf_put(&t->resp->body, data, len);
	return len;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userp)
{
	transfer *t = userp;
	size_t want = size * nitems, n;
	if (t->reader) {
		long long got = rs_reader_read(t->reader, buf, want);
		if (got < 0) {
			t->body_error = (int)got;
			return CURL_READFUNC_ABORT;
		}
		t->sent += (uint64_t)got;
		if (t->req->progress && t->req->progress(t->sent, t->req->progress_payload) < 0) {
			t->body_error = RS_EUSER;
			return CURL_READFUNC_ABORT;
		}
		return (size_t)got;
	}
	n = t->mem_len - t->mem_off;
	if (n > want)
		n = want;
	if (n)
		memcpy(buf, t->mem + t->mem_off, n);
	t->mem_off += n;
	return n;
}

static void trace_line(rs__http *h, const char *line)
{
	if (h->opts.trace)
		h->opts.trace(line, h->opts.trace_payload);
	else
		fprintf(stderr, "%s\n", line);
}

static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *userp)
{
	transfer *t = userp;
	const char *mark;
	(void)c;
	if (type == CURLINFO_HEADER_OUT)
		mark = "> ";
	else if (type == CURLINFO_HEADER_IN)
		mark = "< ";
	else if (type == CURLINFO_TEXT)
		mark = "* ";
	else
		return 0;
	/* split into lines; redact secrets */
	for (size_t i = 0; i < size;) {
		size_t j = i;
		rs_buf line = RS_BUF_INIT;
		while (j < size && data[j] != '\n' && data[j] != '\r')
			j++;
		if (j > i) {
			/* redacted, then escaped: a header value is the server's text */
			rs_buf red = RS_BUF_INIT;
			rs__trace_redact(&red, data + i, j - i);
			rs__buf_puts(&line, mark);
			rs__buf_put_escaped(&line, rs__buf_cstr(&red), red.size, false);
			rs__buf_dispose_secret(&red);
			trace_line(t->h, rs__buf_cstr(&line));
		}
		rs_buf_dispose(&line);
		while (j < size && (data[j] == '\n' || data[j] == '\r'))
			j++;
		i = j;
	}
	return 0;
}

/* curl's text without its " after N ms" timings, which say nothing useful (often "0 ms"). */
static void curl_text(char *out, size_t size, const char *errbuf, CURLcode rc)
{
	const char *src = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
	size_t o = 0;
	for (size_t i = 0; src[i] && o + 1 < size;) {
		if (!strncmp(src + i, " after ", 7) && isdigit((unsigned char)src[i + 7])) {
			size_t j = i + 7;
			while (isdigit((unsigned char)src[j]))
				j++;
			if (!strncmp(src + j, " ms", 3) || !strncmp(src + j, " milliseconds", 13)) {
				i = j + (src[j + 3] == 'i' ? 13 : 3);
				continue;
			}
		}
		out[o++] = src[i++];
	}
	out[o] = '\0';
}

/* "host:port" of a URL (port made explicit), into buf. */
static void url_where(char *buf, size_t size, const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		snprintf(buf, size, "%s:%s", host, port);
	else
		snprintf(buf, size, "%s", url);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

/* curl calls this about once a second while a transfer waits, and more often while it moves:
 * rs_cancel() (a signal) ends the transfer there, even one waiting on a silent server. */
static int cancel_check_cb(void *payload, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                           curl_off_t ulnow)
{
	(void)payload, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return rs_cancelled() ? 1 : 0;
}

static int transport_failure(transfer *t, CURLcode rc, const char *url, const char *errbuf)
{
	rs__http *h = t->h;
	char where[300], text[CURL_ERROR_SIZE + 64], dur[32], via[400] = "";
	char *proxy = t->proxy ? rs__proxy_display(t->proxy) : NULL;
	long oserr = 0, connect_code = 0;
	curl_off_t connected = 0;
	int error;

	url_where(where, sizeof(where), url);
	{
		/* curl's text may quote the proxy setting, password included */
		char raw[CURL_ERROR_SIZE + 1];
		rs_buf r = RS_BUF_INIT;
		curl_text(raw, sizeof(raw), errbuf, rc);
		rs__trace_redact(&r, raw, strlen(raw));
		snprintf(text, sizeof(text), "%s", r.ptr ? r.ptr : "");
		rs__buf_dispose_secret(&r);
	}
	curl_easy_getinfo(t->curl, CURLINFO_OS_ERRNO, &oserr);
	curl_easy_getinfo(t->curl, CURLINFO_HTTP_CONNECTCODE, &connect_code);
	curl_easy_getinfo(t->curl, CURLINFO_CONNECT_TIME_T, &connected);
	if (proxy)
		snprintf(via, sizeof(via), " through proxy %s", proxy);
	last_failure_final = false;

	if (rc == CURLE_ABORTED_BY_CALLBACK && rs_cancelled()) {
		last_failure_final = true;
		error = rs__cancel_check();
		goto done;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT && h->opts.deadline > 0 &&
	    rs__http_now() >= h->opts.deadline - 0.002) {
		rs__duration_format(dur, sizeof(dur), h->opts.timeout_ms);
		error = rs__error_set(RS_ETIMEOUT, "timed out after %s (%s %s had not finished)",
		                      dur, t->req->method, url);
		goto done;
	}
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		error = rs__error_set(RS_ETLS, "TLS error talking to %s%s: %s", url, via, text);
		goto done;
	case CURLE_COULDNT_RESOLVE_PROXY:
		last_failure_final = true;
		error = rs__error_set(RS_ENET,
		                      "cannot connect to %s through proxy %s: cannot resolve the "
		                      "proxy's host",
		                      where, proxy ? proxy : "(from the environment)");
		goto done;
	case CURLE_COULDNT_RESOLVE_HOST:
		last_failure_final = true;
		error = rs__error_set(RS_ENET, "cannot resolve host %.*s (%s)",
		                      (int)(strrchr(where, ':') ? strrchr(where, ':') - where
		                                                : (long)strlen(where)),
		                      where, url);
		goto done;
	default:
		break;
	}
	if (proxy && connect_code && (connect_code < 200 || connect_code > 299)) {
		/* the proxy answered our CONNECT with something else than 2xx */
		last_failure_final = connect_code == 407 || connect_code == 403;
		error = rs__error_set(RS_ENET,
		                      "cannot connect to %s through proxy %s: the proxy answered "
		                      "CONNECT with %ld%s",
		                      where, proxy, connect_code,
		                      connect_code == 407 ? " (proxy authentication required)"
		                                          : "");
		goto done;
	}
	if (rc == CURLE_COULDNT_CONNECT) {
		last_failure_final = oserr == ECONNREFUSED;
		if (proxy)
			error = rs__error_set(RS_ENET, "cannot connect to %s: proxy %s: %s", where,
			                      proxy, oserr ? strerror((int)oserr) : text);
		else
			error = rs__error_set(RS_ENET, "cannot connect to %s: %s", where,
			                      oserr ? strerror((int)oserr) : text);
		goto done;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT && !connected) {
		rs__duration_format(dur, sizeof(dur), h->opts.connect_timeout_ms);
		error = rs__error_set(RS_ENET, "cannot connect to %s%s: timed out after %s", where,
		                      via, dur);
		goto done;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		rs__duration_format(dur, sizeof(dur), h->opts.stall_timeout_s * 1000);
		if (!t->header_bytes)
			error = rs__error_set(RS_ENET, "no answer from %s%s within %s (%s %s)",
			                      where, via, dur, t->req->method, url);
		else
			error = rs__error_set(RS_ENET,
			                      "the answer from %s%s stalled%s: fewer than %ld "
			                      "bytes/s for %s (%s %s)",
			                      where, via, t->headers_done ? "" : " in its headers",
			                      h->opts.stall_bytes_per_s, dur, t->req->method, url);
		goto done;
	}
	if (rc == CURLE_OUT_OF_MEMORY && t->header_bytes && !t->headers_done) {
		/* curl refuses a header line longer than CURL_MAX_HTTP_HEADER (100 KiB) and says
		 * only "Out of memory" */
		error = rs__error_set(RS_EPROTO,
		                      "the answer from %s has a header line longer than %d bytes, "
		                      "more than curl accepts (%s %s)",
		                      where, CURL_MAX_HTTP_HEADER, t->req->method, url);
		goto done;
	}
	if (rc == CURLE_OUT_OF_MEMORY && strstr(text, "header")) {
		error = rs__error_set(RS_EPROTO,
		                      "the answer from %s has headers too large: %s (%s %s)", where,
		                      text, t->req->method, url);
		goto done;
	}
	if (rc == CURLE_OUT_OF_MEMORY) {
		error = rs__error_set(RS_ENOMEM, "out of memory (%s %s)", t->req->method, url);
		goto done;
	}
	error = rs__error_set(RS_ENET, "request to %s%s failed: %s", url, via, text);
done:
	free(proxy);
	return error;
}

static int transfer_once(rs__http *h, const rs__http_request *req, const char *url,
                         const char *authorization, rs__http_response *resp)
{
	transfer t = {0};
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	rs_buf auth = RS_BUF_INIT;
	CURLcode rc;
	long code = 0;
	int error = 0;
	bool has_body = req->body || req->body_reader;
	long left_ms = 0;
	char *proxy = NULL, *redacted = NULL;
	CURL *c = handle_acquire(h);

	if (h->opts.deadline > 0) {
		left_ms = (long)((h->opts.deadline - rs__http_now()) * 1000.0);
		if (left_ms <= 0) {
			char dur[32];
			if (c)
				handle_release(h, c);
			rs__duration_format(dur, sizeof(dur), h->opts.timeout_ms);
			last_failure_final = false;
			rs__buf_clear(&auth);
			rs__trace_redact(&auth, url, strlen(url));
			error = rs__error_set(RS_ETIMEOUT, "timed out after %s (before %s %s)", dur,
			                      req->method, auth.ptr);
			rs_buf_dispose(&auth);
			return error;
		}
	}
	if (!c)
		return rs__error_set(RS_ENOMEM, "cannot create a curl handle");
	last_failure_final = false;
	t.proxy = proxy = rs__http_proxy_for(url);
	t.h = h;
	t.curl = c;
	t.req = req;
	t.resp = resp;
	t.mem = req->body;
	t.mem_len = req->body_len;
	t.reader = req->body_reader;
	t.max_body = req->max_body ? req->max_body : RS_HTTP_DEFAULT_MAX_BODY;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, h->opts.user_agent);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, h->opts.stall_bytes_per_s);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->opts.stall_timeout_s);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, cancel_check_cb);
	if (h->opts.deadline > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, left_ms);
	/* the environment's proxy as rs__http_proxy_for decides, never curl on its own */
	if (t.proxy) {
		curl_easy_setopt(c, CURLOPT_PROXY, t.proxy);
		curl_easy_setopt(c, CURLOPT_NOPROXY, "");
	} else {
		curl_easy_setopt(c, CURLOPT_PROXY, "");
	}
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
	if (h->share)
		curl_easy_setopt(c, CURLOPT_SHARE, h->share);
	if (h->opts.insecure_tls) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (h->ca_blob.data) {
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &h->ca_blob);
	}
	if (h->opts.client_cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->opts.client_cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->opts.client_key);
	}
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
	if (h->opts.verbose) {
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(c, CURLOPT_DEBUGDATA, &t);
	}

	if (!strcmp(req->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(req->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &t);
		if (req->body_reader) {
			if (req->body_reader->size >= 0)
				curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				                 (curl_off_t)req->body_reader->size);
		} else {
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
			                 (curl_off_t)(has_body ? req->body_len : 0));
		}
		if (strcmp(req->method, "PUT"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
		headers = curl_slist_append(headers, "Expect:");
	}
	if (req->headers)
		for (const char *const *p = req->headers; *p; p++)
			headers = curl_slist_append(headers, *p);
	if (req->resume_from) {
		char range[64];
		snprintf(range, sizeof(range), "Range: bytes=%llu-",
		         (unsigned long long)req->resume_from);
		headers = curl_slist_append(headers, range);
	}
	if (authorization) {
		rs__buf_printf(&auth, "Authorization: %s", authorization);
		headers = curl_slist_append(headers, auth.ptr);
	}
	if (headers)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

	rs__strlist_dispose(&resp->headers);
	rs__buf_clear(&resp->body);
	rc = curl_easy_perform(c);
	{
		/* URLs in messages lose their secrets as traces do (signed blob URLs) */
		rs_buf r = RS_BUF_INIT;
		rs__trace_redact(&r, url, strlen(url));
		redacted = rs__buf_detach(&r);
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	resp->status = (int)code;
	if (t.sink_error)
		error = t.sink_error;
	else if (t.body_error)
		error = t.body_error;
	else if (t.headers_too_big)
		error = rs__error_set(RS_EPROTO,
		                      "the answer from %s has more than %u bytes of headers; "
		                      "giving up on it",
		                      redacted, RS_HTTP_HEADERS_MAX);
	else if (t.body_too_big)
		error = rs__error_set(RS_ETOOBIG, "response from %s is larger than %zu bytes",
		                      redacted, t.max_body);
	else if (rc != CURLE_OK)
		error = transport_failure(&t, rc, redacted, errbuf);

	curl_slist_free_all(headers);
	rs__buf_dispose_secret(&auth);
	handle_release(h, c);
	rs__free_secret(proxy); /* may hold user:password */
	free(redacted);
	return error;
}

int rs__http_do(rs__http *h, const rs__http_request *req, rs__http_response *resp)
{
	char *url = rs__strdup(req->url), *origin = NULL, *cur_origin = NULL;
	int error = 0;
	bool redirectable = req->follow_redirects &&
	                    (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"));

	if ((error = rs__url_origin(&origin, req->url)) < 0)
		goto done;
	for (int hops = 0;; hops++) {
		const char *location;
		char *next = NULL;
		const char *auth = NULL;
		free(cur_origin);
		cur_origin = NULL;
		if ((error = rs__url_origin(&cur_origin, url)) < 0)
			goto done;
		/* credentials go to the origin they were meant for, never elsewhere */
		if (!strcmp(cur_origin, origin))
			auth = req->authorization;
		if ((error = transfer_once(h, req, url, auth, resp)) < 0)
			goto done;
		if (!redirectable || resp->status < 300 || resp->status > 399 ||
		    resp->status == 304)
			break;
		location = rs__http_header(resp, "location");
		if (!location)
			break;
		if (hops >= RS_HTTP_MAX_REDIRECTS) {
			error = rs__error_set(RS_EPROTO, "too many redirects from %s", req->url);
			goto done;
		}
		if ((error = rs__url_resolve(&next, url, location)) < 0)
			goto done;
		if (rs__str_startswith(cur_origin, "https:") && rs__str_startswith(next, "http:")) {
			error = rs__error_set(RS_EINSECURE,
			                      "refusing a redirect from https to plain http (%s)",
			                      next);
			free(next);
			goto done;
		}
		free(url);
		url = next;
	}
	free(resp->url);
	resp->url = url;
	url = NULL;
done:
	free(url);
	free(origin);
	free(cur_origin);
	return error;
}

void rs__http_response_dispose(rs__http_response *resp)
{
	if (!resp)
		return;
	rs__strlist_dispose(&resp->headers);
	rs_buf_dispose(&resp->body);
	free(resp->url);
	resp->url = NULL;
	resp->status = 0;
}

static const char *header_value(const char *line, const char *name)
{
	size_t n = strlen(name);
	if (!rs__str_niequal(line, name, n) || line[n] != ':')
		return NULL;
	line += n + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

const char *rs__http_header(const rs__http_response *resp, const char *name)
{
	for (size_t i = 0; i < resp->headers.count; i++) {
		const char *v = header_value(resp->headers.items[i], name);
		if (v)
			return v;
	}
	return NULL;
}

void rs__http_headers_all(const rs__http_response *resp, const char *name, rs_strlist *out)
{
	for (size_t i = 0; i < resp->headers.count; i++) {
		const char *v = header_value(resp->headers.items[i], name);
		if (v)
			rs__strlist_push(out, v);
	}
}

/* ---- URLs ------------------------------------------------------------------------------ */

int rs__url_resolve(char **out, const char *base, const char *ref)
{
	CURLU *u = curl_url();
	char *s = NULL;
	int error = 0;
	if (!u)
		return rs__error_set(RS_ENOMEM, "cannot allocate a URL");
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, ref, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK) {
		error = rs__error_set(RS_EPROTO, "invalid URL \"%s\" (relative to %s)", ref, base);
		goto done;
	}
	/* parse the result once more as an absolute URL, so that what comes out is in the form
	 * curl itself gives it (a host "74" reached through "//7%34" becomes 0.0.0.74) */
	if (curl_url_set(u, CURLUPART_URL, s, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
		error = rs__error_set(RS_EPROTO, "invalid URL \"%s\" (relative to %s)", ref, base);
		goto done;
	}
	curl_free(s);
	s = NULL;
	if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK) {
		error = rs__error_set(RS_EPROTO, "invalid URL \"%s\" (relative to %s)", ref, base);
		goto done;
	}
	*out = rs__strdup(s);
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
	if (!u)
		return rs__error_set(RS_ENOMEM, "cannot allocate a URL");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		error = rs__error_set(RS_EPROTO, "invalid URL \"%s\"", url);
		goto done;
	}
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	rs__buf_printf(&b, "%s://%s:%s", scheme, host, port);
	*out = rs__buf_detach(&b);
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
			int error = rs__url_resolve(out, base, target);
			free(target);
			return error;
		}
		p = *end ? end + 1 : NULL;
	}
	return 0;
}
