/*
 * The one place libcurl is called. Moves requests: connection reuse, TLS options, redirects
 * followed by hand so credentials never reach another origin, redacted traces. It knows no
 * registry semantics.
 */
#ifndef RS_HTTP_H
#define RS_HTTP_H

#include "regship/sys/store.h"
#include "util/util.h"

#include <stdbool.h>

typedef struct rs__http rs__http;

typedef struct rs__http_options {
	bool insecure_tls; /* skip TLS verification (explicitly insecure registries only) */
	const char *ca_file; /* extra CA bundle (PEM), added to the system CAs */
	const char *client_cert; /* client certificate (PEM) for mutual TLS, or NULL */
	const char *client_key; /* its key (PEM), or NULL */
	const char *user_agent; /* default "regship/<version>" */
	int verbose; /* trace requests and response headers */
	void (*trace)(const char *line, void *payload); /* where traces go (default stderr) */
	void *trace_payload;
	long connect_timeout_s; /* default 30 */
} rs__http_options;

/* Streams a response body out; returns 0 to go on, negative RS_E* to abort. */
typedef int (*rs__http_sink)(const void *data, size_t len, void *payload);

typedef struct rs__http_request {
	const char *method; /* GET HEAD PUT POST PATCH DELETE */
	const char *url;
	const char *const *headers; /* "Name: value" lines, NULL-terminated, or NULL */
	const char *authorization; /* full header value ("Bearer x"); sent to this origin only */
	const void *body; /* memory body, or */
	size_t body_len;
	rs_reader *body_reader; /* streaming body; size from reader (-1: chunked) */
	size_t max_body; /* limit for a collected body (default 4 MiB) */
	rs__http_sink sink; /* 2xx bodies go here when set, else collected */
	void *sink_payload;
	bool follow_redirects; /* GET/HEAD only */
	int (*progress)(uint64_t sent, void *payload); /* upload progress, optional */
	void *progress_payload;
	/* GET from this byte on (Range: bytes=N-). A server that ignores the range and sends the
	 * whole body (200) has its first N bytes dropped before the sink sees them. */
	uint64_t resume_from;
} rs__http_request;

typedef struct rs__http_response {
	int status;
	rs_strlist headers; /* "name: value" lines of the final response (name as sent) */
	rs_buf body; /* collected body (non-2xx bodies are always collected, capped) */
	char *url; /* URL of the final request, after redirects */
} rs__http_response;

int rs__http_new(rs__http **out, const rs__http_options *opts);
void rs__http_free(rs__http *h);

/* Perform one request (plus redirects). Transport failures return RS_ENET/RS_ETLS with a
 * curl-style message; any HTTP status is a success here (the caller judges it). */
int rs__http_do(rs__http *h, const rs__http_request *req, rs__http_response *resp);
void rs__http_response_dispose(rs__http_response *resp);

/* First header value by case-insensitive name, or NULL. */
const char *rs__http_header(const rs__http_response *resp, const char *name);
/* Every value of a header (e.g. several WWW-Authenticate lines) appended to out. */
void rs__http_headers_all(const rs__http_response *resp, const char *name, rs_strlist *out);

/* Resolve a (possibly relative) reference against a base URL (RFC 3986). Caller frees. */
int rs__url_resolve(char **out, const char *base, const char *ref);
/* "scheme://host:port" of a URL with the default port made explicit. Caller frees. */
int rs__url_origin(char **out, const char *url);
/* Append a query parameter (name=escaped value) with '?' or '&'. */
char *rs__url_add_query(const char *url, const char *name, const char *value);

/* The next URL of a Link header (rel="next"), resolved against base; NULL when none. */
int rs__link_next(char **out, const char *link_header, const char *base_url);

#endif
