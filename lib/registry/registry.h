/*
 * Registry API v2 internals shared by the lib/registry files and the registry store: endpoints
 * (scheme decision, auth state), authenticated requests, and error translation.
 */
#ifndef RS_REGISTRY_H
#define RS_REGISTRY_H

#include "http/http.h"
#include "http/insecure.h"
#include "regship/cancel.h"
#include "regship/client.h"
#include "util/digest.h"
#include "util/escape.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

typedef struct rs__token {
	char *scope; /* space-separated scope set the token was asked for */
	char *value;
	time_t expires;
} rs__token;

typedef enum { RS__AUTH_UNKNOWN, RS__AUTH_NONE, RS__AUTH_BASIC, RS__AUTH_BEARER } rs__auth_kind;

typedef struct rs__endpoint {
	char *domain; /* as in references: "docker.io", "127.0.0.1:5000" */
	char *host; /* where requests go: "registry-1.docker.io" */
	char *base; /* "https://host" or "http://host" once pinged */
	bool insecure; /* plain HTTP / unverified TLS allowed for this host */
	bool loopback; /* ... because it is on this machine */
	atomic_bool probing; /* loopback, not pinged: plain HTTP assumed until an answer says */
	atomic_bool
	        is_registry; /* an answer showed a registry speaks there (ping, a 404 of its own) */
	pthread_mutex_t probe_lock; /* one thread settles the probe */
	pthread_mutex_t base_lock; /* guards `base`, which a probe may change */
	rs__http *http; /* the client's, its unverified-TLS twin, or own_http */
	rs__http *own_http; /* for a host with a certs.d directory */
	rs__auth_kind auth;
	char *realm, *service;
	/* credentials, loaded on first need */
	bool cred_loaded, have_cred;
	char *username, *password, *identity_token, *registry_token;
	char *cred_error; /* why the credential lookup found none (an unreadable docker config, a
	                   * helper that failed or hung; no secrets), or NULL */
	rs__token *tokens;
	size_t token_count;
	pthread_mutex_t lock;
} rs__endpoint;

struct rs_client {
	rs_client_options opts;
	char *username, *password, *ca_cert, *docker_config, *daemon_json, *own_config, *certs_d;
	rs__http *http;
	rs__http *http_insecure; /* created on first need */
	void *policy; /* rs__insecure_policy */
	rs__endpoint **endpoints;
	size_t endpoint_count;
	pthread_mutex_t lock;
	double deadline; /* rs__http_now() at which opts.timeout_ms runs out; 0: none */
};

/* A copy of the endpoint's base URL ("https://host"); caller frees. */
char *rs__endpoint_base(rs__endpoint *ep);

/* The endpoint for a domain, pinged (scheme decided, auth challenge learned) on first use. */
int rs__client_endpoint(rs__endpoint **out, rs_client *c, const char *domain);

/* Where a URL handed back by a server came from (names it in messages). */
typedef enum {
	RS__URL_OTHER, /* an absolute URL a request was given */
	RS__URL_LINK, /* Link: <...>; rel="next" of a tag or catalog page */
	RS__URL_REDIRECT, /* Location of a 3xx answer */
	RS__URL_UPLOAD, /* Location of an upload session */
	RS__URL_REALM, /* realm of a Bearer challenge */
} rs__url_kind;

typedef struct rs__reg_request {
	const char *method;
	/* absolute, or a path starting with "/v2/" relative to the endpoint. An absolute URL goes
	 * through the URL policy (url_kind names it): credentials only on the registry's origin. */
	const char *url;
	rs__url_kind url_kind;
	const char *scope; /* space-separated scopes the request needs, or NULL */
	const char *const *headers;
	const void *body;
	size_t body_len;
	rs_reader *body_reader;
	size_t max_body;
	rs__http_sink sink;
	void *sink_payload;
	bool follow_redirects;
	int (*progress)(uint64_t sent, void *payload);
	void *progress_payload;
	uint64_t resume_from; /* see rs__http_request */
} rs__reg_request;

/* Send an authenticated request: proactive auth for the scope, one retry after a 401
 * challenge (new token for the union of scopes). Any HTTP status returns 0. */
int rs__registry_do(rs_client *c, rs__endpoint *ep, const rs__reg_request *req,
                    rs__http_response *resp);

/* Turn a failed response into an RS_E* error with a clear message: "<what>: <detail>". */
int rs__registry_error(const rs__endpoint *ep, const rs__http_response *resp, const char *what);
/* The same with "<what>" formatted. */
int rs__registry_errorf(const rs__endpoint *ep, const rs__http_response *resp, const char *fmt, ...)
        RS_PRINTF(3, 4);

/* ---- the URL policy (lib/registry/urlpolicy.c) ---- */

/*
 * The one policy for every URL a server hands back. Refused (RS_EPROTO, RS_EINSECURE, with a
 * message naming the URL) unless the scheme is http or https, the URL holds no user name or
 * password, and plain http goes only to a host the insecure policy allows (loopback,
 * --insecure, "insecure-registries"). *credentials says whether the credentials issued for the
 * registry (Basic, Bearer token, identity token) may go with a request to the URL: only to the
 * registry's own origin `base` (scheme, host and port), except for a token realm, which is where
 * the registry's login is exchanged for a token.
 */
int rs__url_policy(bool *credentials, const rs__insecure_policy *policy, const char *domain,
                   const char *base, const char *url, rs__url_kind kind);
/* The same for an endpoint of a client. */
int rs__url_check(bool *credentials, rs_client *c, rs__endpoint *ep, const char *url,
                  rs__url_kind kind);

/* "/v2/<path>/<suffix>" */
char *rs__registry_path(const char *repo_path, const char *suffix);

/*
 * req (method, headers, body set by the caller) on /v2/<repository>/manifests/<id> with the
 * repository scope for `actions`; *ep is the endpoint it went to (lib/registry/manifests.c).
 */
int rs__manifest_request(rs_client *c, const rs_ref *ref, const char *id, const char *actions,
                         rs__reg_request *req, rs__endpoint **ep, rs__http_response *resp);

/* ---- blobs (lib/registry/blobs.c, blobs_upload.c, blobs_chunked.c) ---- */

/* 0 when the repository holds the blob (size via *size if non-NULL), RS_ENOTFOUND if not. */
int rs__blob_head(rs_client *c, const rs_ref *repo, const char *digest, int64_t *size);

/* Stream a blob: GET (redirects followed, credentials kept to the registry's origin) in a
 * producer thread feeding a bounded buffer; memory does not grow with the blob. The bytes are
 * not verified here (wrap the reader with rs__reader_verify). */
int rs__blob_open(rs_reader **out, rs_client *c, const rs_ref *repo, const char *digest,
                  int64_t size);
/* The same from byte `offset` on (Range: bytes=offset-, as a retry resumes; a server that
 * ignores the range sends the whole blob, whose first `offset` bytes are dropped): the reader
 * gives the blob's bytes after the first `offset`. size is the whole blob's (or -1). */
int rs__blob_open_at(rs_reader **out, rs_client *c, const rs_ref *repo, const char *digest,
                     int64_t size, uint64_t offset);

typedef struct rs__upload_options {
	uint64_t chunk_size; /* 0: monolithic POST + PUT */
	rs_transfer_cb progress; /* bytes sent so far */
	void *progress_payload;
} rs__upload_options;

/* Upload a blob from a reader (rewindable for retries and the chunked->monolithic fallback).
 * upload_url: an upload already opened (a mount's 202), or NULL to open one. */
int rs__blob_upload(rs_client *c, const rs_ref *repo, const char *digest, int64_t size,
                    rs_reader *r, const rs__upload_options *opts, const char *upload_url);

/* Upload a blob whose digest and size are known only at its end (a layer compressed on the
 * way): one PATCH streams the reader's bytes (chunked transfer encoding) while they are hashed
 * (sha256), the final PUT gives the digest. Memory does not grow with the blob. A broken upload
 * starts again on a fresh session after rewinding r (which must produce the same bytes). */
int rs__blob_upload_streamed(rs_client *c, const rs_ref *repo, rs_reader *r,
                             const rs__upload_options *opts, char digest[RS_DIGEST_MAX],
                             int64_t *size);

/* Cross-repository mount. 0 when mounted; RS_ENOTFOUND when the registry did not mount it, with
 * *upload_url (caller frees) set to the upload it opened instead, when it did. */
int rs__blob_mount(rs_client *c, const rs_ref *repo, const char *digest, const char *from_path,
                   char **upload_url);

/* ---- retries (lib/registry/retry.c) ---- */
bool rs__retryable_status(int status);
bool rs__retryable_error(int error);
int rs__retry_limit(const rs_client *c);
double rs__now(void);
bool rs__retry_time_left(const rs_client *c, double started);
/* Backoff before attempt+1 (exponential with jitter, or Retry-After, capped). */
long rs__retry_delay_ms(int attempt, const rs__http_response *resp);
/* Sleep ms (no longer than the client's deadline allows). */
/* Why retrying ends: rs_cancel() ("interrupted"), the command's deadline ("timed out after
 * ..., last try: ..."), or else error itself. */
int rs__retry_stop(const rs_client *c, int error);
void rs__retry_sleep(rs_client *c, long ms, const char *why);
/* Start the client's clock: its deadline from opts.timeout_ms (rs_client_new). */
void rs__client_limits_init(rs_client *c);
/* The client's bounds (timeouts, deadline) and trace settings into options for rs__http_new. */
void rs__client_http_options(const rs_client *c, rs__http_options *ho);
/* Before a credential lookup: bound the helpers it runs by the client's limits. */
void rs__client_helper_limits(const rs_client *c);
/* A 429's figures (Retry-After, RateLimit-*), escaped, appended to an error's detail. */
void rs__ratelimit_describe(rs_buf *b, const rs__http_response *resp);

/* ---- client internals (lib/registry/{client,errors,auth,endpoint,request}.c) ---- */

/* errors.c: a Content-Type of JSON (application/json, or any "+json" type). */
bool rs__is_json_type(const char *ct);

/* auth.c: the credentials for an endpoint, looked up once (ep->lock held): the client's
 * username/password, else docker's config when the client allows it (use_docker_config).
 * 0, or RS_ENOMEM (nothing kept: a later call tries again); a broken config is not an error
 * here (ep->cred_error). */
int rs__endpoint_load_credentials(rs_client *c, rs__endpoint *ep);
/* auth.c: the user name the endpoint authenticates as, or "anonymous". */
const char *rs__endpoint_who(const rs__endpoint *ep);
/* auth.c: the Authorization value for a request needing scope, or NULL (anonymous); fresh: a
 * new token rather than a cached one. */
int rs__auth_value(char **out, rs_client *c, rs__endpoint *ep, const char *scope, bool fresh);
/* auth.c: learn the endpoint's auth scheme from a 401's challenges; *asked: the scope the
 * registry asked for (caller frees) or NULL; *insufficient: an "insufficient_scope" error. */
int rs__learn_challenge(rs__endpoint *ep, const rs__http_response *resp, char **asked,
                        bool *insufficient);

/* endpoint.c: the connection pool for an endpoint (certs.d, unverified TLS, or the client's). */
int rs__endpoint_http(rs_client *c, rs__endpoint *ep);
/* endpoint.c: decide the scheme and learn the auth challenge (GET /v2/). */
int rs__endpoint_ping(rs_client *c, rs__endpoint *ep);
/* endpoint.c: base becomes "<scheme>://<host>". */
int rs__endpoint_set_base(rs__endpoint *ep, const char *scheme);
/* endpoint.c: a plain-HTTP answer saying the port speaks TLS. */
bool rs__speaks_tls(const rs__http_response *resp);
/* endpoint.c: a 404 from an endpoint never seen to be a registry: RS_EPROTO ("not a container
 * registry") unless GET /v2/ or the answer itself shows a registry. */
int rs__check_registry(rs__endpoint *ep, const rs__http_response *resp);

/* request.c: rs__http_do with redirects (GET and HEAD, when asked) followed under the URL
 * policy; the authorization is dropped for good on the first hop to another origin. */
int rs__registry_follow(rs_client *c, rs__endpoint *ep, const rs__http_request *req,
                        rs__http_response *resp);

/* retry.c: send(payload, resp) with retries (see its definition). */
int rs__send_retrying(rs_client *c, rs__endpoint *ep, int limit, const char *what,
                      bool refused_final, int (*send)(void *, rs__http_response *), void *payload,
                      rs__http_response *resp);

#endif
