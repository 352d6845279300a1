/*
 * The one place libcurl is called. Moves requests: connection reuse, TLS options, redirects
 * followed by hand so credentials never reach another origin, redacted traces. It knows no
 * registry semantics.
 */
#ifndef RS_HTTP_H
#define RS_HTTP_H

#include "regship/sys/reader.h"
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
	void (*trace)(const char *line, void *payload); /* where traces go (NULL: nowhere) */
	void *trace_payload;
	/* Bounds (0: the default). A connection (TCP, proxy tunnel, TLS handshake) must be up
	 * within connect_timeout_ms (30 s). Once connected, a request whose transfer moves fewer
	 * than stall_bytes_per_s (1024) bytes per second, both directions together, for
	 * stall_timeout_s seconds (60) has stalled: a server that accepts and never answers,
	 * headers dripped a line at a time, a body trickling at 2 B/s all end there. */
	long connect_timeout_ms;
	long stall_timeout_s;
	long stall_bytes_per_s;
	/* rs__http_now() past which every request fails with RS_ETIMEOUT ("timed out after
	 * <timeout_ms>"); 0: none. */
	double deadline;
	long timeout_ms;
} rs__http_options;

#define RS__HTTP_CONNECT_TIMEOUT_MS_DEFAULT 30000L
#define RS__HTTP_STALL_TIMEOUT_S_DEFAULT 60L
#define RS__HTTP_STALL_BYTES_DEFAULT 1024L

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

/* Append the user-given CA file (lib/http/cafile.c) to out, checked: RS_EINVAL naming the file
 * when it is missing, unreadable, not a regular file, over 16 MiB or holds no PEM
 * certificate. */
int rs__ca_file_read(rs_buf *out, const char *file);
void rs__http_free(rs__http *h);

/* Perform one request (plus redirects). Transport failures return RS_ENET/RS_ETLS with a
 * curl-style message; any HTTP status is a success here (the caller judges it). */
int rs__http_do(rs__http *h, const rs__http_request *req, rs__http_response *resp);
void rs__http_response_dispose(rs__http_response *resp);

/* Monotonic seconds (CLOCK_MONOTONIC), the clock of deadlines. */
double rs__http_now(void);

/* A duration for messages: "750ms", "2s", "1.5s", "2m", "1m30s", "2h". */
void rs__duration_format(char *buf, size_t size, long ms);

/*
 * Was the last transport failure of this thread one that trying again cannot mend at once
 * (connection refused, host or proxy not resolved)? Set by rs__http_do for RS_ENET failures.
 */
bool rs__http_failure_final(void);

/*
 * The proxy a request to url goes through, from the environment as curl and Go (docker) read
 * it: http_proxy (HTTP_PROXY too, except in a CGI), https_proxy/HTTPS_PROXY, all_proxy/
 * ALL_PROXY; none for hosts listed in no_proxy/NO_PROXY (names match themselves and their
 * subdomains, "*" matches all, IP addresses and CIDR ranges match addresses) and never for a
 * loopback host (localhost, *.localhost, 127.0.0.0/8, ::1). NULL when direct; caller frees.
 * Also NULL when out of memory, with RS_ENOMEM set: callers compare rs__error_serial().
 */
char *rs__http_proxy_for(const char *url);

/* True when host (no port, no brackets) names this machine: localhost, *.localhost,
 * 127.0.0.0/8, ::1. By name only, as Go's proxy rule does. */
bool rs__host_is_loopback(const char *host);

/* A proxy URL for messages: scheme://host:port, user and password left out. Caller frees.
 * NULL when out of memory. */
char *rs__proxy_display(const char *proxy);

/*
 * One trace line with secrets taken out: values of Authorization, Proxy-Authorization,
 * Cookie, Set-Cookie and token-like headers; passwords in URLs (user:pass@); values of
 * query parameters that carry tokens or signatures (access_token=, X-Amz-Signature=, sig=...);
 * "token", "access_token", "refresh_token" values of a JSON text. Appends to out.
 */
void rs__trace_redact(rs_buf *out, const char *line, size_t len);

/* First header value by case-insensitive name, or NULL. */
const char *rs__http_header(const rs__http_response *resp, const char *name);
/* Every value of a header (e.g. several WWW-Authenticate lines) appended to out. 0 or
 * RS_ENOMEM. */
int rs__http_headers_all(const rs__http_response *resp, const char *name, rs_strlist *out);

/* Resolve a (possibly relative) reference against a base URL (RFC 3986). Caller frees. */
int rs__url_resolve(char **out, const char *base, const char *ref);
/* "scheme://host:port" of a URL with the default port made explicit. Caller frees. */
int rs__url_origin(char **out, const char *url);
/* Append a query parameter (name=escaped value) with '?' or '&'. NULL when out of memory. */
char *rs__url_add_query(const char *url, const char *name, const char *value);

/* The next URL of a Link header (rel="next"), resolved against base; NULL when none. */
int rs__link_next(char **out, const char *link_header, const char *base_url);

#endif
