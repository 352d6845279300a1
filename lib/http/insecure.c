/* The plain-HTTP / unverified-TLS policy. */
#include "http/insecure.h"
#include "util/file.h"
#include "util/json.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#define CONFIG_MAX (1024 * 1024)

int rs__resolve_getaddrinfo(rs_strlist *out, const char *host, void *payload)
{
	struct addrinfo hints, *res = NULL;
	int rc;
	(void)payload;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0)
		return rs__error_set(RS_ENET, "cannot resolve %s: %s", host, gai_strerror(rc));
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		char buf[INET6_ADDRSTRLEN];
		const void *a;
		if (ai->ai_family == AF_INET)
			a = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			a = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(ai->ai_family, a, buf, sizeof(buf)) &&
		    !rs__strlist_contains(out, buf) && rs__strlist_push(out, buf) < 0) {
			freeaddrinfo(res);
			return RS_ENOMEM;
		}
	}
	freeaddrinfo(res);
	return 0;
}

int rs__insecure_own_config_path(char **out)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	rs_buf b = RS_BUF_INIT;
	*out = NULL;
	if (xdg && *xdg)
		rs__buf_printf(&b, "%s/regship/config.json", xdg);
	else if (home && *home)
		rs__buf_printf(&b, "%s/.config/regship/config.json", home);
	else
		return rs__error_set(RS_ENOTFOUND, "cannot locate regship's config.json: neither "
		                                   "XDG_CONFIG_HOME nor HOME is set");
	*out = rs__buf_detach(&b);
	return *out ? 0 : RS_ENOMEM;
}

/* An IP literal: 0 and the parsed address, or -1. */
static int parse_ip(int *family, unsigned char addr[16], const char *s)
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
		                                           0, 0, 0, 0, 0xff, 0xff};
		/* ::ffff:a.b.c.d is the IPv4 address a.b.c.d */
		if (memcmp(addr, v4mapped, 12) == 0) {
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*family = AF_INET;
			return 0;
		}
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static bool is_loopback(int family, const unsigned char addr[16])
{
	static const unsigned char v6loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	if (family == AF_INET)
		return addr[0] == 127;
	return memcmp(addr, v6loop, 16) == 0;
}

static bool cidr_contains(const rs__insecure_cidr *c, int family, const unsigned char addr[16])
{
	unsigned full, rest;
	if (c->family != family)
		return false;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((c->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

static int bad_entry(const char *path, const char *entry, const char *why)
{
	return rs__error_set(RS_EFORMAT, "%s: invalid entry \"%s\" in \"insecure-registries\": %s",
	                     path, entry, why);
}

/* "10.0.0.0/8" into c. */
static int parse_cidr(rs__insecure_cidr *c, const char *s, const char *path, const char *entry)
{
	const char *slash = strchr(s, '/');
	char ip[INET6_ADDRSTRLEN + 1], *end;
	unsigned long prefix;
	size_t len = (size_t)(slash - s);
	unsigned max;
	if (len == 0 || len >= sizeof(ip))
		return bad_entry(path, entry, "expected host, host:port or a CIDR like 10.0.0.0/8");
	memcpy(ip, s, len);
	ip[len] = '\0';
	memset(c->addr, 0, sizeof(c->addr));
	c->family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(c->family, ip, c->addr) != 1)
		return bad_entry(path, entry, "not an IP address before '/'");
	if (!isdigit((unsigned char)slash[1]))
		return bad_entry(path, entry, "expected a prefix length after '/'");
	errno = 0;
	prefix = strtoul(slash + 1, &end, 10);
	max = c->family == AF_INET ? 32 : 128;
	if (*end || errno || prefix > max)
		return bad_entry(path, entry,
		                 c->family == AF_INET ? "prefix length must be 0 to 32"
		                                      : "prefix length must be 0 to 128");
	c->prefix = (unsigned)prefix;
	return 0;
}

static int add_entry(rs__insecure_source *src, const char *entry)
{
	const char *s = entry;
	char *norm;
	size_t len;
	int error = 0;

	if (rs__str_niequal(s, "http://", 7))
		s += 7;
	else if (rs__str_niequal(s, "https://", 8))
		s += 8;
	else if (strstr(s, "://"))
		return bad_entry(src->path, entry, "only http:// or https:// may prefix an entry");
	if (!(norm = rs__strdup(s)))
		return rs__oom();
	len = strlen(norm);
	while (len && norm[len - 1] == '/')
		norm[--len] = '\0';
	for (char *p = norm; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!len) {
		error = bad_entry(src->path, entry, "empty");
	} else if (strchr(norm, '/')) {
		rs__insecure_cidr c;
		if ((error = parse_cidr(&c, norm, src->path, entry)) == 0) {
			rs__insecure_cidr *cidrs =
			        rs__realloc(src->cidrs, (src->ncidrs + 1) * sizeof(c));
			if (cidrs) {
				src->cidrs = cidrs;
				src->cidrs[src->ncidrs++] = c;
			} else {
				error = rs__oom();
			}
		}
	} else {
		for (const char *p = norm; *p; p++)
			if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20) {
				error = bad_entry(src->path, entry, "contains whitespace");
				break;
			}
		if (!error && !rs__strlist_contains(&src->names, norm))
			error = rs__strlist_push(&src->names, norm);
	}
	free(norm);
	return error;
}

static int load_source(rs__insecure_source *src, const char *path, const char *why_prefix,
                       bool skip_unreadable)
{
	rs_buf buf = RS_BUF_INIT;
	json_t *root = NULL, *list, *v;
	json_error_t jerr;
	size_t i;
	int error;

	src->path = rs__strdup(path);
	{
		rs_buf w = RS_BUF_INIT;
		rs__buf_printf(&w, "%s%s", why_prefix, path);
		src->why = rs__buf_detach(&w);
	}
	if (!src->path || !src->why)
		return rs__oom(); /* the caller disposes src */
	if (skip_unreadable && access(path, R_OK) < 0 && errno == EACCES)
		return 0;
	/* a regular file only: a FIFO or device there is refused, not waited on */
	if ((error = rs__file_read_regular(&buf, AT_FDCWD, path, CONFIG_MAX, 0, path)) < 0) {
		if (error == RS_ENOTFOUND)
			error = 0;
		goto done;
	}
	for (i = 0; i < buf.size && isspace((unsigned char)buf.ptr[i]); i++)
		;
	if (i == buf.size)
		goto done; /* empty file */
	if (!(root = json_loadb(buf.ptr, buf.size, 0, &jerr))) {
		error = rs__json_error(path, &jerr); /* never quotes the file */
		goto done;
	}
	if (!json_is_object(root)) {
		error = rs__error_set(RS_EFORMAT, "%s: expected a JSON object at the top level",
		                      path);
		goto done;
	}
	list = json_object_get(root, "insecure-registries");
	if (!list || json_is_null(list))
		goto done;
	if (!json_is_array(list)) {
		error = rs__error_set(RS_EFORMAT,
		                      "%s: \"insecure-registries\" must be an array of strings",
		                      path);
		goto done;
	}
	json_array_foreach(list, i, v)
	{
		if (!json_is_string(v)) {
			error = rs__error_set(
			        RS_EFORMAT,
			        "%s: \"insecure-registries\" must be an array of strings "
			        "(item %zu is not a string)",
			        path, i + 1);
			goto done;
		}
		if ((error = add_entry(src, json_string_value(v))) < 0)
			goto done;
	}
done:
	json_decref(root);
	rs_buf_dispose(&buf);
	return error;
}

static void source_dispose(rs__insecure_source *s)
{
	free(s->path);
	free(s->why);
	rs__strlist_dispose(&s->names);
	free(s->cidrs);
	memset(s, 0, sizeof(*s));
}

void rs__insecure_dispose(rs__insecure_policy *p)
{
	if (!p)
		return;
	source_dispose(&p->daemon);
	source_dispose(&p->own);
	memset(p, 0, sizeof(*p));
}

void rs__insecure_init(rs__insecure_policy *out, bool flag)
{
	memset(out, 0, sizeof(*out));
	out->flag = flag;
	out->resolve = rs__resolve_getaddrinfo;
}

int rs__insecure_load(rs__insecure_policy *out, const char *daemon_json_path,
                      const char *own_config_path, bool flag)
{
	char *own = NULL;
	int error;

	rs__insecure_init(out, flag);
	if (!own_config_path && rs__insecure_own_config_path(&own) == 0)
		own_config_path = own;
	if ((error = load_source(&out->daemon,
	                         daemon_json_path ? daemon_json_path : RS__DAEMON_JSON_PATH,
	                         "listed in ", true)) < 0)
		goto done;
	if (own_config_path &&
	    (error = load_source(&out->own, own_config_path, "listed in ", false)) < 0)
		goto done;
done:
	free(own);
	if (error < 0)
		rs__insecure_dispose(out);
	return error;
}

/* Host part of host[:port] / [v6]:port, lowercased, into host (of size n). */
static void split_host(char *host, size_t n, const char *hp)
{
	const char *end;
	size_t len;
	if (hp[0] == '[' && (end = strchr(hp, ']')) != NULL) {
		hp++;
	} else {
		const char *colon = strchr(hp, ':');
		/* several ':' without brackets: a bare IPv6 address */
		end = colon && !strchr(colon + 1, ':') ? colon : hp + strlen(hp);
	}
	len = (size_t)(end - hp);
	if (len >= n)
		len = n - 1;
	for (size_t i = 0; i < len; i++)
		host[i] = (char)tolower((unsigned char)hp[i]);
	host[len] = '\0';
}

typedef struct {
	int family;
	unsigned char addr[16];
} ip_addr;

/* The addresses host stands for: itself when a literal, else what the resolver says. */
static size_t host_addresses(ip_addr **out, const rs__insecure_policy *p, const char *host)
{
	rs_strlist names = RS_STRLIST_INIT;
	ip_addr one, *list = NULL;
	size_t n = 0;
	*out = NULL;
	/* out of memory gives no addresses (with RS_ENOMEM set): nothing is then allowed */
	if (parse_ip(&one.family, one.addr, host) == 0) {
		if (!(*out = rs__malloc(sizeof(one)))) {
			rs__oom();
			return 0;
		}
		**out = one;
		return 1;
	}
	if (!p->resolve || p->resolve(&names, host, p->resolve_payload) < 0) {
		rs__strlist_dispose(&names);
		return 0;
	}
	list = rs__calloc(names.count ? names.count : 1, sizeof(*list));
	if (!list) {
		rs__strlist_dispose(&names);
		rs__oom();
		return 0;
	}
	for (size_t i = 0; i < names.count; i++) {
		ip_addr a;
		if (parse_ip(&a.family, a.addr, names.items[i]) == 0)
			list[n++] = a;
	}
	rs__strlist_dispose(&names);
	*out = list;
	return n;
}

static bool all_in_cidrs(const rs__insecure_source *s, const ip_addr *addrs, size_t n)
{
	if (!n || !s->ncidrs)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool in = false;
		for (size_t k = 0; !in && k < s->ncidrs; k++)
			in = cidr_contains(&s->cidrs[k], addrs[i].family, addrs[i].addr);
		if (!in)
			return false;
	}
	return true;
}

bool rs__insecure_allowed(const rs__insecure_policy *p, const char *host_port, const char **why)
{
	const rs__insecure_source *sources[2];
	char host[256], *lower;
	ip_addr *addrs = NULL;
	size_t naddrs = 0;
	bool ok = false, loop;
	const char *reason = NULL;

	if (why)
		*why = NULL;
	if (!p || !host_port || !*host_port)
		return false;
	if (p->flag) {
		reason = "--insecure";
		goto done;
	}
	split_host(host, sizeof(host), host_port);
	if (strcmp(host, "localhost") == 0) {
		reason = "loopback";
		goto done;
	}
	naddrs = host_addresses(&addrs, p, host);
	loop = naddrs > 0;
	for (size_t i = 0; i < naddrs; i++)
		loop = loop && is_loopback(addrs[i].family, addrs[i].addr);
	if (loop) {
		reason = "loopback";
		goto done;
	}

	lower = rs__strdup(host_port); /* out of memory: not allowed (safe), RS_ENOMEM set */
	for (char *c = lower; c && *c; c++)
		*c = (char)tolower((unsigned char)*c);
	sources[0] = &p->daemon;
	sources[1] = &p->own;
	for (size_t s = 0; !reason && s < 2; s++) {
		if ((lower && rs__strlist_contains(&sources[s]->names, lower)) ||
		    all_in_cidrs(sources[s], addrs, naddrs))
			reason = sources[s]->why;
	}
	free(lower);
done:
	free(addrs);
	ok = reason != NULL;
	if (why)
		*why = reason;
	return ok;
}

int rs__insecure_refuse(const rs__insecure_policy *p, const char *host_port,
                        rs__insecure_reason reason)
{
	const char *home = getenv("HOME"), *own = p ? p->own.path : NULL;
	rs_buf shown = RS_BUF_INIT;
	char *dflt = NULL;

	if (!own && rs__insecure_own_config_path(&dflt) == 0)
		own = dflt;
	if (!own)
		own = "~/.config/regship/config.json";
	/* ~/… reads better than /home/someone/… */
	if (home && *home && rs__str_startswith(own, home) && own[strlen(home)] == '/')
		rs__buf_printf(&shown, "~%s", own + strlen(home));
	else
		rs__buf_puts(&shown, own);
	rs__error_set(RS_EINSECURE,
	              "registry \"%s\" %s; refusing to send requests (and credentials) %s. "
	              "Use --insecure, or add it to \"insecure-registries\" in %s",
	              host_port ? host_port : "",
	              reason == RS__INSECURE_PLAIN_HTTP ? "offers only plain HTTP"
	                                                : "has a TLS certificate that cannot be "
	                                                  "verified",
	              reason == RS__INSECURE_PLAIN_HTTP ? "unencrypted"
	                                                : "over an unverified connection",
	              rs__buf_cstr(&shown));
	rs_buf_dispose(&shown);
	free(dflt);
	return RS_EINSECURE;
}
