#include "http.h"
#include "trace.h"

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
#include <sys/socket.h>
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
	if (!h)
		return rs__oom();
	if (opts)
		h->opts = *opts;
	h->user_agent =
	        rs__strdup(h->opts.user_agent ? h->opts.user_agent : "regship/" REGSHIP_VERSION);
	h->opts.user_agent = h->user_agent;
	if (!h->user_agent) {
		free(h);
		return rs__oom();
	}
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
	if ((opts && opts->client_cert && !h->client_cert) ||
	    (opts && opts->client_key && !h->client_key)) {
		rs__http_free(h);
		return rs__oom();
	}
	if (h->opts.ca_file) {
		/* the extra CA is added to, not a replacement for, the system CAs */
		h->ca_file = rs__strdup(h->opts.ca_file);
		h->opts.ca_file = h->ca_file;
		if (!h->ca_file) {
			rs__http_free(h);
			return rs__oom();
		}
		for (int i = 0; system_ca_bundles[i]; i++) {
			if (rs__file_read(&h->ca_pem, system_ca_bundles[i], 16u << 20) == 0)
				break;
			rs__buf_clear(&h->ca_pem);
		}
		rs__buf_putc(&h->ca_pem, '\n');
		if (rs__buf_oom(&h->ca_pem)) {
			rs__http_free(h);
			return rs__oom();
		}
		if ((error = rs__ca_file_read(&h->ca_pem, h->ca_file)) < 0) {
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

/* (clocks: clock.c; proxies: proxy.c; traces and redaction: trace.c; URLs: url.c) */

static _Thread_local bool last_failure_final;

bool rs__http_failure_final(void)
{
	return last_failure_final;
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
	if (end && memchr(data, ':', end) &&
	    rs__strlist_push_owned(&t->resp->headers, rs__strndup(data, end)) < 0) {
		t->body_error = RS_ENOMEM; /* curl aborts the transfer */
		return 0;
	}
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
			if (rs__buf_oom(&t->resp->body)) {
				t->body_error = RS_ENOMEM;
				return 0;
			}
			return size * nmemb;
		}
	}
	rs__buf_put(&t->resp->body, data, len);
	if (rs__buf_oom(&t->resp->body)) {
		t->body_error = RS_ENOMEM;
		return 0;
	}
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

/* What is known of a failed transfer, for its message. */
typedef struct failure {
	char where[300]; /* host:port */
	char text[CURL_ERROR_SIZE + 64]; /* curl's words, redacted */
	char via[400]; /* " through proxy P", or "" */
	char *proxy; /* shown without its password, or NULL */
	long oserr, connect_code;
	curl_off_t connected;
} failure;

static void failure_init(failure *f, transfer *t, CURLcode rc, const char *url, const char *errbuf)
{
	/* curl's text may quote the proxy setting, password included */
	char raw[CURL_ERROR_SIZE + 1];
	rs_buf r = RS_BUF_INIT;
	memset(f, 0, sizeof(*f));
	f->proxy = t->proxy ? rs__proxy_display(t->proxy) : NULL;
	url_where(f->where, sizeof(f->where), url);
	curl_text(raw, sizeof(raw), errbuf, rc);
	rs__trace_redact(&r, raw, strlen(raw));
	snprintf(f->text, sizeof(f->text), "%s", r.ptr ? r.ptr : "");
	rs__buf_dispose_secret(&r);
	curl_easy_getinfo(t->curl, CURLINFO_OS_ERRNO, &f->oserr);
	curl_easy_getinfo(t->curl, CURLINFO_HTTP_CONNECTCODE, &f->connect_code);
	curl_easy_getinfo(t->curl, CURLINFO_CONNECT_TIME_T, &f->connected);
	if (f->proxy)
		snprintf(f->via, sizeof(f->via), " through proxy %s", f->proxy);
}

/* Interrupted, past the deadline, TLS, a name that does not resolve; 0 for anything else. */
static int failure_early(transfer *t, CURLcode rc, const char *url, const failure *f)
{
	rs__http *h = t->h;
	char dur[32];
	if (rc == CURLE_ABORTED_BY_CALLBACK && rs_cancelled()) {
		last_failure_final = true;
		return rs__cancel_check();
	}
	if (rc == CURLE_OPERATION_TIMEDOUT && h->opts.deadline > 0 &&
	    rs__http_now() >= h->opts.deadline - 0.002) {
		rs__duration_format(dur, sizeof(dur), h->opts.timeout_ms);
		return rs__error_set(RS_ETIMEOUT, "timed out after %s (%s %s had not finished)",
		                     dur, t->req->method, url);
	}
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return rs__error_set(RS_ETLS, "TLS error talking to %s%s: %s", url, f->via,
		                     f->text);
	case CURLE_COULDNT_RESOLVE_PROXY:
		last_failure_final = true;
		return rs__error_set(RS_ENET,
		                     "cannot connect to %s through proxy %s: cannot resolve the "
		                     "proxy's host",
		                     f->where, f->proxy ? f->proxy : "(from the environment)");
	case CURLE_COULDNT_RESOLVE_HOST:
		last_failure_final = true;
		return rs__error_set(RS_ENET, "cannot resolve host %.*s (%s)",
		                     (int)(strrchr(f->where, ':')
		                                   ? strrchr(f->where, ':') - f->where
		                                   : (long)strlen(f->where)),
		                     f->where, url);
	default:
		return 0;
	}
}

/* A proxy's refusal, a refused or timed-out connection, a stalled answer; 0 otherwise. */
static int failure_connection(transfer *t, CURLcode rc, const char *url, const failure *f)
{
	rs__http *h = t->h;
	char dur[32];
	if (f->proxy && f->connect_code && (f->connect_code < 200 || f->connect_code > 299)) {
		/* the proxy answered our CONNECT with something else than 2xx */
		last_failure_final = f->connect_code == 407 || f->connect_code == 403;
		return rs__error_set(RS_ENET,
		                     "cannot connect to %s through proxy %s: the proxy answered "
		                     "CONNECT with %ld%s",
		                     f->where, f->proxy, f->connect_code,
		                     f->connect_code == 407 ? " (proxy authentication required)"
		                                            : "");
	}
	if (rc == CURLE_COULDNT_CONNECT) {
		const char *why = f->oserr ? strerror((int)f->oserr) : f->text;
		last_failure_final = f->oserr == ECONNREFUSED;
		if (f->proxy)
			return rs__error_set(RS_ENET, "cannot connect to %s: proxy %s: %s",
			                     f->where, f->proxy, why);
		return rs__error_set(RS_ENET, "cannot connect to %s: %s", f->where, why);
	}
	if (rc == CURLE_OPERATION_TIMEDOUT && !f->connected) {
		rs__duration_format(dur, sizeof(dur), h->opts.connect_timeout_ms);
		return rs__error_set(RS_ENET, "cannot connect to %s%s: timed out after %s",
		                     f->where, f->via, dur);
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		rs__duration_format(dur, sizeof(dur), h->opts.stall_timeout_s * 1000);
		if (!t->header_bytes)
			return rs__error_set(RS_ENET, "no answer from %s%s within %s (%s %s)",
			                     f->where, f->via, dur, t->req->method, url);
		return rs__error_set(RS_ENET,
		                     "the answer from %s%s stalled%s: fewer than %ld "
		                     "bytes/s for %s (%s %s)",
		                     f->where, f->via, t->headers_done ? "" : " in its headers",
		                     h->opts.stall_bytes_per_s, dur, t->req->method, url);
	}
	return 0;
}

static int transport_failure(transfer *t, CURLcode rc, const char *url, const char *errbuf)
{
	failure f;
	int error;
	failure_init(&f, t, rc, url, errbuf);
	last_failure_final = false;
	if ((error = failure_early(t, rc, url, &f)) < 0 ||
	    (error = failure_connection(t, rc, url, &f)) < 0)
		goto done;
	if (rc == CURLE_OUT_OF_MEMORY && t->header_bytes && !t->headers_done) {
		/* curl refuses a header line longer than CURL_MAX_HTTP_HEADER (100 KiB) and says
		 * only "Out of memory" */
		error = rs__error_set(RS_EPROTO,
		                      "the answer from %s has a header line longer than %d bytes, "
		                      "more than curl accepts (%s %s)",
		                      f.where, CURL_MAX_HTTP_HEADER, t->req->method, url);
	} else if (rc == CURLE_OUT_OF_MEMORY && strstr(f.text, "header")) {
		error = rs__error_set(RS_EPROTO,
		                      "the answer from %s has headers too large: %s (%s %s)",
		                      f.where, f.text, t->req->method, url);
	} else if (rc == CURLE_OUT_OF_MEMORY) {
		error = rs__error_set(RS_ENOMEM, "out of memory (%s %s)", t->req->method, url);
	} else {
		error = rs__error_set(RS_ENET, "request to %s%s failed: %s", url, f.via, f.text);
	}
done:
	free(f.proxy);
	return error;
}

/* Time left before the client's deadline into *left_ms (0: no deadline); RS_ETIMEOUT past it. */
static int deadline_left(rs__http *h, const rs__http_request *req, const char *url, long *left_ms)
{
	rs_buf shown = RS_BUF_INIT;
	char dur[32];
	int error;
	*left_ms = 0;
	if (h->opts.deadline <= 0)
		return 0;
	*left_ms = (long)((h->opts.deadline - rs__http_now()) * 1000.0);
	if (*left_ms > 0)
		return 0;
	rs__duration_format(dur, sizeof(dur), h->opts.timeout_ms);
	last_failure_final = false;
	rs__trace_redact(&shown, url, strlen(url));
	error = rs__error_set(RS_ETIMEOUT, "timed out after %s (before %s %s)", dur, req->method,
	                      shown.ptr);
	rs_buf_dispose(&shown);
	return error;
}

/* Sockets close-on-exec from birth: libcurl 7.x opens them without SOCK_CLOEXEC, and a child
 * another thread of the host program starts would inherit them. */
static curl_socket_t open_socket(void *payload, curlsocktype purpose, struct curl_sockaddr *addr)
{
	(void)payload;
	(void)purpose;
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* The options every request of this handle set shares: bounds, proxy, TLS, callbacks. */
static void setup_transport(transfer *t, const char *url, char *errbuf, long left_ms)
{
	rs__http *h = t->h;
	CURL *c = t->curl;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
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
	if (t->proxy) {
		curl_easy_setopt(c, CURLOPT_PROXY, t->proxy);
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
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	if (h->opts.verbose) {
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, rs__http_debug);
		curl_easy_setopt(c, CURLOPT_DEBUGDATA, &h->opts);
	}
}

/* The method, the body and the request headers; returns the header list (the caller frees it
 * after the transfer). auth holds the Authorization line (a secret) for as long. */
/* Append s to *l; out of memory sets t->body_error (the list as it was). */
static void slist_add(transfer *t, struct curl_slist **l, const char *s)
{
	struct curl_slist *n = curl_slist_append(*l, s);
	if (n)
		*l = n;
	else
		t->body_error = rs__oom();
}

static struct curl_slist *setup_request(transfer *t, const char *authorization, rs_buf *auth)
{
	const rs__http_request *req = t->req;
	struct curl_slist *headers = NULL;
	CURL *c = t->curl;
	if (!strcmp(req->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(req->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, t);
		if (req->body_reader) {
			if (req->body_reader->size >= 0)
				curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				                 (curl_off_t)req->body_reader->size);
		} else {
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
			                 (curl_off_t)(req->body ? req->body_len : 0));
		}
		if (strcmp(req->method, "PUT"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
		slist_add(t, &headers, "Expect:");
	}
	if (req->headers)
		for (const char *const *p = req->headers; *p; p++)
			slist_add(t, &headers, *p);
	if (req->resume_from) {
		char range[64];
		snprintf(range, sizeof(range), "Range: bytes=%llu-",
		         (unsigned long long)req->resume_from);
		slist_add(t, &headers, range);
	}
	if (authorization) {
		rs__buf_printf(auth, "Authorization: %s", authorization);
		if (rs__buf_oom(auth))
			t->body_error = RS_ENOMEM;
		else
			slist_add(t, &headers, auth->ptr);
	}
	if (headers)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	return headers;
}

/* What the transfer ended with: a callback's error, a bound, or curl's failure. */
static int transfer_result(transfer *t, CURLcode rc, const char *url, const char *errbuf)
{
	long code = 0;
	/* URLs in messages lose their secrets as traces do (signed blob URLs) */
	rs_buf r = RS_BUF_INIT;
	int error = 0;
	rs__trace_redact(&r, url, strlen(url));
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
	t->resp->status = (int)code;
	if (t->sink_error)
		error = t->sink_error;
	else if (t->body_error)
		error = t->body_error;
	else if (t->headers_too_big)
		error = rs__error_set(RS_EPROTO,
		                      "the answer from %s has more than %u bytes of headers; "
		                      "giving up on it",
		                      rs__buf_cstr(&r), RS_HTTP_HEADERS_MAX);
	else if (t->body_too_big)
		error = rs__error_set(RS_ETOOBIG, "response from %s is larger than %zu bytes",
		                      rs__buf_cstr(&r), t->max_body);
	else if (rc != CURLE_OK)
		error = transport_failure(t, rc, rs__buf_cstr(&r), errbuf);
	rs_buf_dispose(&r);
	return error;
}

static int transfer_once(rs__http *h, const rs__http_request *req, const char *url,
                         const char *authorization, rs__http_response *resp)
{
	transfer t = {0};
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE] = "";
	rs_buf auth = RS_BUF_INIT;
	long left_ms;
	unsigned long serial;
	int error;
	CURL *c;

	if ((error = deadline_left(h, req, url, &left_ms)) < 0)
		return error;
	if (!(c = handle_acquire(h)))
		return rs__oom();
	last_failure_final = false;
	serial = rs__error_serial();
	t.proxy = rs__http_proxy_for(url);
	if (!t.proxy && rs__error_serial() != serial)
		t.body_error = RS_ENOMEM; /* never go direct because memory ran out */
	t.h = h;
	t.curl = c;
	t.req = req;
	t.resp = resp;
	t.mem = req->body;
	t.mem_len = req->body_len;
	t.reader = req->body_reader;
	t.max_body = req->max_body ? req->max_body : RS_HTTP_DEFAULT_MAX_BODY;
	setup_transport(&t, url, errbuf, left_ms);
	headers = setup_request(&t, authorization, &auth);

	rs__strlist_dispose(&resp->headers);
	rs__buf_clear(&resp->body);
	if (t.body_error) /* out of memory while setting up: no request half-built */
		error = t.body_error;
	else
		error = transfer_result(&t, curl_easy_perform(c), url, errbuf);

	curl_slist_free_all(headers);
	rs__buf_dispose_secret(&auth);
	handle_release(h, c);
	rs__free_secret((char *)t.proxy); /* may hold user:password */
	return error;
}

int rs__http_do(rs__http *h, const rs__http_request *req, rs__http_response *resp)
{
	char *url = rs__strdup(req->url), *origin = NULL, *cur_origin = NULL;
	int error = 0;
	bool redirectable = req->follow_redirects &&
	                    (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"));

	if (!url)
		return rs__oom();
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

int rs__http_headers_all(const rs__http_response *resp, const char *name, rs_strlist *out)
{
	for (size_t i = 0; i < resp->headers.count; i++) {
		const char *v = header_value(resp->headers.items[i], name);
		if (v && rs__strlist_push(out, v) < 0)
			return RS_ENOMEM;
	}
	return 0;
}
