/*
 * What a failed transfer says: curl's failure as a curl-style message naming where the request
 * went (host:port, the proxy without its password), TLS, a name that does not resolve, a
 * refused or timed-out connection, a stalled answer, the client's deadline; and whether trying
 * again can mend it at once (rs__http_failure_final).
 */
#include "http_int.h"

#include "regship/cancel.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local bool last_failure_final;

bool rs__http_failure_final(void)
{
	return last_failure_final;
}

void rs__http_failure_forget(void)
{
	last_failure_final = false;
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

/* What is known of a failed transfer, for its message. */
typedef struct failure {
	char where[300]; /* host:port */
	char text[CURL_ERROR_SIZE + 64]; /* curl's words, redacted */
	char via[400]; /* " through proxy P", or "" */
	char *proxy; /* shown without its password, or NULL */
	long oserr, connect_code;
	curl_off_t connected;
} failure;

static void failure_init(failure *f, rs__transfer *t, CURLcode rc, const char *url,
                         const char *errbuf)
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
static int failure_early(rs__transfer *t, CURLcode rc, const char *url, const failure *f)
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
static int failure_connection(rs__transfer *t, CURLcode rc, const char *url, const failure *f)
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

int rs__http_transport_failure(rs__transfer *t, CURLcode rc, const char *url, const char *errbuf)
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
int rs__http_deadline_left(rs__http *h, const rs__http_request *req, const char *url, long *left_ms)
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
