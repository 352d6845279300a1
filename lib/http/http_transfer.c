/*
 * One transfer on a pooled easy handle: the options every request sets (bounds, proxy, TLS,
 * callbacks), the method, headers and body sent, the callbacks that collect or stream the
 * answer (headers and body, each bounded), and what the transfer ended with. Redirects are
 * rs__http_do's (http.c); the messages of a failed transfer are http_failure.c's.
 */
#include "http_int.h"
#include "trace.h"

#include "regship/cancel.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RS_HTTP_DEFAULT_MAX_BODY (4u * 1024 * 1024)
#define RS_HTTP_ERROR_BODY_MAX (64u * 1024)
/* headers of one answer, all lines together (curl 7.x keeps no such bound itself) */
#define RS_HTTP_HEADERS_MAX (256u * 1024)

static size_t on_header(char *data, size_t size, size_t nitems, void *userp)
{
	rs__transfer *t = userp;
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
	rs__transfer *t = userp;
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
	rs__transfer *t = userp;
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

/* curl calls this about once a second while a transfer waits, and more often while it moves:
 * rs_cancel() (a signal) ends the transfer there, even one waiting on a silent server. */
static int cancel_check_cb(void *payload, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                           curl_off_t ulnow)
{
	(void)payload, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return rs_cancelled() ? 1 : 0;
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
static void setup_transport(rs__transfer *t, const char *url, char *errbuf, long left_ms)
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

/* Append s to *l; out of memory sets t->body_error (the list as it was). */
static void slist_add(rs__transfer *t, struct curl_slist **l, const char *s)
{
	struct curl_slist *n = curl_slist_append(*l, s);
	if (n)
		*l = n;
	else
		t->body_error = rs__oom();
}

/* The method, the body and the request headers; returns the header list (the caller frees it
 * after the transfer). auth holds the Authorization line (a secret) for as long. */
static struct curl_slist *setup_request(rs__transfer *t, const char *authorization, rs_buf *auth)
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
static int transfer_result(rs__transfer *t, CURLcode rc, const char *url, const char *errbuf)
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
		error = rs__http_transport_failure(t, rc, rs__buf_cstr(&r), errbuf);
	rs_buf_dispose(&r);
	return error;
}

int rs__http_transfer(rs__http *h, const rs__http_request *req, const char *url,
                      const char *authorization, rs__http_response *resp)
{
	rs__transfer t = {0};
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE] = "";
	rs_buf auth = RS_BUF_INIT;
	long left_ms;
	unsigned long serial;
	int error;
	CURL *c;

	if ((error = rs__http_deadline_left(h, req, url, &left_ms)) < 0)
		return error;
	if (!(c = rs__http_handle_acquire(h)))
		return rs__oom();
	rs__http_failure_forget();
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
	rs__http_handle_release(h, c);
	rs__free_secret((char *)t.proxy); /* may hold user:password */
	return error;
}
