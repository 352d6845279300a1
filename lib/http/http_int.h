/*
 * lib/http private: the handle and one transfer, as the parts of the request machinery share
 * them.
 *
 *   http.c          the handle (options, libcurl's global state, the DNS / TLS-session share,
 *                   the CA bundle, the pool of easy handles); rs__http_do, which follows
 *                   redirects by hand; the response and its header lookup
 *   http_transfer.c one transfer on a pooled easy handle: the options set on it, the method,
 *                   headers and body sent, the callbacks that collect or stream the answer
 *   http_failure.c  what a failed transfer says (curl-style messages, the deadline) and whether
 *                   trying again can mend it (rs__http_failure_final)
 *
 * (clocks: clock.c; proxies: proxy.c; traces and redaction: trace.c; URLs: url.c)
 */
#ifndef RS_HTTP_INT_H
#define RS_HTTP_INT_H

#include "http.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

/* easy handles kept for reuse (each with its own connections) */
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
	struct curl_blob ca_blob; /* the extra CA, when one is given (joined to the system bundle
	                           * where curl has no CA directory: http.c) */
	rs_buf ca_pem;
};

/* One transfer: a request on an easy handle and what its callbacks saw. */
typedef struct rs__transfer {
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
} rs__transfer;

/* http.c: an easy handle from the pool (reset), or a new one; NULL when out of memory. */
CURL *rs__http_handle_acquire(rs__http *h);
/* http.c: back to the pool, its connections kept alive; cleaned up when the pool is full. */
void rs__http_handle_release(rs__http *h, CURL *c);

/* http_transfer.c: one request to url, no redirect followed; authorization (the full header
 * value) is sent as given. Any HTTP status is a success. */
int rs__http_transfer(rs__http *h, const rs__http_request *req, const char *url,
                      const char *authorization, rs__http_response *resp);

/* http_failure.c: time left before the client's deadline into *left_ms (0: no deadline);
 * RS_ETIMEOUT past it. */
int rs__http_deadline_left(rs__http *h, const rs__http_request *req, const char *url,
                           long *left_ms);
/* http_failure.c: curl's failure rc of t as an RS_E* error with a curl-style message; url is
 * already redacted. Sets what rs__http_failure_final answers. */
int rs__http_transport_failure(rs__transfer *t, CURLcode rc, const char *url, const char *errbuf);
/* http_failure.c: a new transfer starts: no failure of this thread is final yet. */
void rs__http_failure_forget(void);

#endif
