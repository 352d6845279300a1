/*
 * When may a registry be spoken to over plain HTTP (or TLS without verification)?
 *
 *   - when --insecure was given;
 *   - when the host is loopback: 127.0.0.0/8, ::1, "localhost", or a name that resolves only to
 *     loopback addresses;
 *   - when it is listed in "insecure-registries" of /etc/docker/daemon.json or of regship's own
 *     config ($XDG_CONFIG_HOME/regship/config.json, default ~/.config/regship/config.json).
 *     An entry is either "host" or "host:port", compared exactly with the registry's host[:port]
 *     as docker does, or a CIDR ("10.0.0.0/8", "fd00::/8") that must contain every address the
 *     host resolves to. An "http://" or "https://" prefix and a trailing '/' are ignored.
 *
 * Name resolution goes through a function pointer so that tests can supply their own.
 */
#ifndef RS_HTTP_INSECURE_H
#define RS_HTTP_INSECURE_H

#include "util/util.h"

#include <stdbool.h>

#define RS__DAEMON_JSON_PATH "/etc/docker/daemon.json"

/* Resolve host to numeric addresses ("127.0.0.1", "::1") appended to out. 0 or a negative code. */
typedef int (*rs__resolve_fn)(rs_strlist *out, const char *host, void *payload);

/* The default resolver: getaddrinfo(3). */
int rs__resolve_getaddrinfo(rs_strlist *out, const char *host, void *payload);

typedef struct rs__insecure_cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
} rs__insecure_cidr;

typedef struct rs__insecure_source {
	char *path; /* the file the entries came from */
	char *why; /* "listed in <path>" */
	rs_strlist names; /* "host" or "host:port", lowercase */
	rs__insecure_cidr *cidrs;
	size_t ncidrs;
} rs__insecure_source;

typedef struct rs__insecure_policy {
	bool flag; /* --insecure */
	rs__insecure_source daemon; /* /etc/docker/daemon.json */
	rs__insecure_source own; /* regship's config.json */
	rs__resolve_fn resolve; /* rs__resolve_getaddrinfo after load; tests replace it */
	void *resolve_payload;
} rs__insecure_policy;

/* $XDG_CONFIG_HOME/regship/config.json, else $HOME/.config/regship/config.json. */
int rs__insecure_own_config_path(char **out);

/*
 * Load the policy. daemon_json_path NULL = /etc/docker/daemon.json, own_config_path NULL = the
 * default above. Missing files (and an unreadable daemon.json) count as empty; a malformed file
 * is RS_EFORMAT with a message naming the file. Dispose with rs__insecure_dispose.
 */
int rs__insecure_load(rs__insecure_policy *out, const char *daemon_json_path,
                      const char *own_config_path, bool flag);
/* The policy without reading any file: loopback, and every host when flag (--insecure). */
void rs__insecure_init(rs__insecure_policy *out, bool flag);

void rs__insecure_dispose(rs__insecure_policy *p);

/*
 * May plain HTTP / unverified TLS be used for host_port ("reg:5000", "[::1]:5000", "localhost")?
 * When allowed and why is not NULL, *why says why ("--insecure", "loopback",
 * "listed in /etc/docker/daemon.json"); it lives as long as the policy. *why is NULL otherwise.
 */
bool rs__insecure_allowed(const rs__insecure_policy *p, const char *host_port, const char **why);

typedef enum {
	RS__INSECURE_PLAIN_HTTP, /* the registry only answers over plain HTTP */
	RS__INSECURE_UNVERIFIED_TLS, /* its TLS certificate cannot be verified */
} rs__insecure_reason;

/*
 * Set the refusal as the last error (RS_EINSECURE) and return RS_EINSECURE, e.g.
 *   registry "example.com:5000" offers only plain HTTP; refusing to send requests (and
 *   credentials) unencrypted. Use --insecure, or add it to "insecure-registries" in
 *   ~/.config/regship/config.json
 */
int rs__insecure_refuse(const rs__insecure_policy *p, const char *host_port,
                        rs__insecure_reason reason);

#endif
