/*
 * The registry client: Registry API v2 / OCI distribution over HTTP(S), with anonymous,
 * Basic and Bearer-token authentication. One client serves every registry a command touches;
 * connections are reused across its requests.
 *
 * Threads: an rs_client may be used from several threads at once (the copy engine's workers
 * do): every call on it is safe concurrently with any other call on it except rs_client_free,
 * which must come after all of them have returned. What the threads share, under the client's
 * locks: the per-registry endpoints (scheme, auth challenge, credentials, the cache of Bearer
 * tokens) and a pool of curl handles. Connections are not shared between threads: each pooled
 * handle keeps its own (curl does not support a connection cache used from several threads),
 * so a thread takes a handle, with its open connections, for the length of one request; DNS
 * and TLS-session caches are shared. Per thread: the last error (rs_error_last) and the bounds
 * of credential helpers. The trace callback may be called from any of these threads, one line
 * per call, possibly concurrently: it must be thread-safe itself.
 *
 * Nothing is read from the user's or the system's configuration unless an option asks for it
 * (use_docker_config, use_registry_config, use_certs_d below): a bare rs_client_new(&c, NULL)
 * is anonymous, verifies TLS against the system CAs, and allows plain HTTP only to loopback.
 * The library never writes to stderr: traces go to the trace callback, or nowhere.
 */
#ifndef REGSHIP_CLIENT_H
#define REGSHIP_CLIENT_H

#include "buf.h"
#include "common.h"
#include "ref.h"

RS_BEGIN_DECL

typedef struct rs_client rs_client;

typedef struct rs_client_options {
	unsigned int version;
	/* Credentials for every registry of this client (one command). NULL: anonymous, or from
	 * the docker config when use_docker_config is set. */
	const char *username;
	const char *password;
	/* Extra CA bundle (PEM) trusted besides the system CAs, read by rs_client_new: a file
	 * that is missing, unreadable, not a regular file or holds no PEM certificate is
	 * RS_EINVAL, the message naming it and why. */
	const char *ca_cert;
	/* Allow plain HTTP and unverified TLS for every registry. */
	int insecure;
	/* 1: trace requests and response headers (credentials redacted; the server's text
	 * escaped), as curl -v does: "> " request lines, "< " response lines, "* " notes. Each
	 * line, without its newline, goes to trace(line, trace_payload), from whichever thread
	 * made the request (see Threads above). NULL trace: traces go nowhere. */
	int verbose;
	void (*trace)(const char *line, void *payload);
	void *trace_payload;
	/* Paths, each read only when its use_* option below is set; NULL = the default. */
	const char *docker_config; /* config.json path; default $DOCKER_CONFIG or ~/.docker */
	const char *daemon_json; /* default /etc/docker/daemon.json */
	const char *own_config; /* default $XDG_CONFIG_HOME/regship/config.json */
	const char *certs_d; /* default /etc/docker/certs.d */
	/* Retries of a failed request (connection errors, 408, 429, 500, 502, 503, 504), with
	 * exponential backoff and jitter, honouring Retry-After. -1: the default (3). */
	int retries;
	/* Stop retrying once this many seconds went by since the first try (0: 300). */
	int retry_max_seconds;
	/* A bound on everything the client does from rs_client_new on (requests, retries and the
	 * waits between them, credential helpers): past it every call fails with RS_ETIMEOUT
	 * ("timed out after ..."). 0: none. */
	long timeout_ms;
	/* Bounds of each request and helper; 0: the default. A connection (TCP, proxy tunnel,
	 * TLS handshake) must be up within connect_timeout_ms (30 s). A request that moves fewer
	 * than 1024 bytes/s for stall_timeout_ms (60 s, rounded up to whole seconds) has stalled
	 * (a server that never answers, drips its headers or trickles its body) and fails with
	 * RS_ENET, so it is retried. A docker-credential helper must answer and exit within
	 * helper_timeout_ms (60 s). */
	long connect_timeout_ms;
	long stall_timeout_ms;
	long helper_timeout_ms;
	/* What the client may read of the user's and the system's configuration; 0 (the
	 * default): none of it. The CLI sets all three, as docker does.
	 * use_docker_config: without username, credentials come from docker's config.json
	 *   (docker_config: auths, credsStore, credHelpers; running docker-credential-*).
	 * use_registry_config: "insecure-registries" from daemon_json and own_config (plain HTTP
	 *   and unverified TLS allowed for the registries listed there).
	 * use_certs_d: per-host TLS from <certs_d>/<host[:port]>/ (ca.crt, client.cert,
	 *   client.key). */
	int use_docker_config;
	int use_registry_config;
	int use_certs_d;
} rs_client_options;

#define RS_CLIENT_OPTIONS_VERSION 1
#define RS_CLIENT_OPTIONS_INIT                                                                     \
	{                                                                                          \
		RS_CLIENT_OPTIONS_VERSION, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL,   \
		        NULL, -1, 0, 0, 0, 0, 0, 0, 0, 0                                           \
	}

RS_EXTERN(int) rs_client_new(rs_client **out, const rs_client_options *opts);

/* Non-zero when text (len bytes, not NUL-terminated) holds a PEM certificate's BEGIN line at
 * the start of a line: the content check rs_client_new makes of ca_cert, for programs that
 * read the file themselves first (a pipe, which can be read only once). */
RS_EXTERN(int) rs_ca_pem_has_certificate(const char *text, size_t len);
RS_EXTERN(void) rs_client_free(rs_client *client);

/* GET /v2/ and authenticate: checks that the registry answers and that the credentials (if
 * any) are accepted. */
RS_EXTERN(int) rs_registry_check(rs_client *client, const char *domain);

/*
 * Every tag of a repository, following Link pagination. cb gets each tag as its page arrives
 * (nothing is held); a non-zero return stops the listing with RS_EUSER (RS_ENOMEM, returned
 * by a callback that ran out of memory, stops it with RS_ENOMEM). The names are the
 * server's, unchecked: escape them before printing (rs_text_escape). Each Link goes through the
 * URL policy (only http/https; plain http only to loopback or insecure registries; credentials
 * only to the registry's own origin). A Link to a page already fetched fails ("pagination loop"),
 * as do more than 100000 pages or 64 MiB of names.
 */
RS_EXTERN(int)
rs_tags_list(rs_client *client, const rs_ref *repo, int (*cb)(const char *tag, void *payload),
             void *payload);

/* Every repository of a registry (/v2/_catalog), as rs_tags_list does it. */
RS_EXTERN(int)
rs_catalog_list(rs_client *client, const char *domain, int (*cb)(const char *repo, void *payload),
                void *payload);

/* The same, with page_cb(payload) called after the names of each page (e.g. to flush what was
 * printed); a non-zero return stops the listing with RS_EUSER. */
RS_EXTERN(int)
rs_tags_list_pages(rs_client *client, const rs_ref *repo, int (*cb)(const char *tag, void *payload),
                   int (*page_cb)(void *payload), void *payload);
RS_EXTERN(int)
rs_catalog_list_pages(rs_client *client, const char *domain,
                      int (*cb)(const char *repo, void *payload), int (*page_cb)(void *payload),
                      void *payload);

/* A list of owned strings, in the order received. */
typedef struct rs_strarray {
	char **items;
	size_t count;
} rs_strarray;
RS_EXTERN(void) rs_strarray_dispose(rs_strarray *a);

/* The whole tag list (e.g. to sort it) in *out, which the caller disposes; the bounds of
 * rs_tags_list apply. Nothing is left in *out on failure. */
RS_EXTERN(int) rs_tags_list_all(rs_strarray *out, rs_client *client, const rs_ref *repo);
/* The whole catalog, likewise. */
RS_EXTERN(int) rs_catalog_list_all(rs_strarray *out, rs_client *client, const char *domain);

/* ---- manifests on a registry (rs_registry_manifest_*: they act on the registry, not on a
 * parsed rs_manifest) ---- */

/* GET a manifest with every manifest media type in Accept; the exact bytes go to body.
 * When ref has a digest, the bytes are verified against it. media_type and digest
 * (sha256 of the bytes) are optional outputs the caller frees. */
RS_EXTERN(int)
rs_registry_manifest_get(rs_client *client, const rs_ref *ref, rs_buf *body, char **media_type,
                         char **digest);

/* HEAD a manifest with every manifest media type in Accept: the digest a delete needs.
 * Falls back to GET + hashing when the registry sends no Docker-Content-Digest. */
RS_EXTERN(int)
rs_registry_manifest_resolve(rs_client *client, const rs_ref *ref, char **digest, char **media_type,
                             int64_t *size);

/* PUT exact bytes under ref's tag (or digest) with Content-Type media_type. */
RS_EXTERN(int)
rs_registry_manifest_put(rs_client *client, const rs_ref *ref, const void *body, size_t len,
                         const char *media_type, char **digest);

/* DELETE /manifests/<digest>. ref must carry a digest. */
RS_EXTERN(int) rs_registry_manifest_delete(rs_client *client, const rs_ref *ref);

/* DEPRECATED names of the four calls above, kept for one release (0.2 removes them): they
 * read as if they acted on an rs_manifest. Macros, so old code compiles unchanged and links
 * against the new symbols. */
#ifndef RS_NO_DEPRECATED
#define rs_manifest_fetch rs_registry_manifest_get /* deprecated */
#define rs_manifest_resolve rs_registry_manifest_resolve /* deprecated */
#define rs_manifest_upload rs_registry_manifest_put /* deprecated */
#define rs_manifest_remove rs_registry_manifest_delete /* deprecated */
#endif

/* The registry as a store for the copy engine (rs_store_open_registry): regship/store.h. */

RS_END_DECL

#endif
