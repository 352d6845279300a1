/*
 * Image reference grammar (distribution/reference):
 *
 *   reference  := name [":" tag] ["@" digest]
 *   name       := [domain "/"] path-component ("/" path-component)*
 *   domain     := (domain-component ("." domain-component)* | "[" ipv6 "]") [":" port]
 *   path-component := [a-z0-9]+ ( ([._]|__|[-]+) [a-z0-9]+ )*
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex   (only sha256/64 and sha512/128 lowercase hex are accepted)
 *
 * Written by hand rather than with regexes so that every rejection says what is wrong.
 */
#include "ref/ref.h"
#include "util/digest.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_word(char c)
{
	return is_alnum(c) || c == '_';
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Describe one character for a message: 'x', or \xNN when not printable. */
static const char *show_char(char buf[8], char c)
{
	unsigned char u = (unsigned char)c;
	if (u >= 0x20 && u < 0x7f && c != '\'')
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "\\x%02x", u);
	return buf;
}

static int why_set(char *why, size_t whylen, const char *fmt, ...) RS_PRINTF(3, 4);

static int why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return RS_EINVAL;
}

char *rs__ref_printable(const char *text)
{
	rs_buf b = RS_BUF_INIT;
	size_t n = 0;
	for (const char *p = text ? text : ""; *p; p++, n++) {
		unsigned char c = (unsigned char)*p;
		if (n == 300) {
			rs__buf_puts(&b, "...");
			break;
		}
		if (c < 0x20 || c == 0x7f)
			rs__buf_printf(&b, "\\x%02x", c);
		else if (c == '"' || c == '\\')
			rs__buf_printf(&b, "\\%c", c);
		else
			rs__buf_putc(&b, (char)c);
	}
	return rs__buf_detach(&b);
}

bool rs__ref_looks_like_domain(const char *s, size_t len)
{
	return memchr(s, '.', len) || memchr(s, ':', len) ||
	       (len == 9 && memcmp(s, "localhost", 9) == 0);
}

static int check_port(const char *s, size_t len, char *why, size_t whylen)
{
	unsigned long port = 0;
	char ch[8];
	if (len == 0)
		return why_set(why, whylen, "port number missing after ':'");
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return why_set(why, whylen, "invalid character %s in port \"%.*s\"",
			               show_char(ch, s[i]), (int)len, s);
		if (port <= 65535)
			port = port * 10 + (unsigned long)(s[i] - '0');
	}
	if (port < 1 || port > 65535)
		return why_set(why, whylen, "port %.*s is out of range (1-65535)", (int)len, s);
	return 0;
}

int rs__ref_check_domain(const char *s, size_t len, char *why, size_t whylen)
{
	const char *end = s + len, *host_end, *p;
	char ch[8];

	if (len == 0)
		return why_set(why, whylen, "registry host is empty");

	if (s[0] == '[') {
		char addr[INET6_ADDRSTRLEN + 1];
		unsigned char bin[16];
		const char *close = memchr(s, ']', len);
		size_t alen;
		if (!close)
			return why_set(why, whylen, "IPv6 address \"%.*s\" lacks its closing ']'",
			               (int)len, s);
		alen = (size_t)(close - s - 1);
		if (alen == 0 || alen >= sizeof(addr))
			return why_set(why, whylen, "invalid IPv6 address \"%.*s\"",
			               (int)(close - s + 1), s);
		memcpy(addr, s + 1, alen);
		addr[alen] = '\0';
		for (size_t i = 0; i < alen; i++)
			if (!is_hex(addr[i]) && addr[i] != ':' && addr[i] != '.')
				return why_set(why, whylen, "invalid IPv6 address \"[%s]\"", addr);
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return why_set(why, whylen, "invalid IPv6 address \"[%s]\"", addr);
		host_end = close + 1;
		if (host_end == end)
			return 0;
		if (*host_end != ':')
			return why_set(why, whylen,
			               "unexpected %s after IPv6 address (expected ':' and a port)",
			               show_char(ch, *host_end));
		return check_port(host_end + 1, (size_t)(end - host_end - 1), why, whylen);
	}

	host_end = memchr(s, ':', len);
	if (!host_end)
		host_end = end;
	/* domain-component ("." domain-component)*, component =
	 * [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? */
	p = s;
	for (;;) {
		const char *c = p;
		while (p < host_end && *p != '.') {
			if (!is_alnum(*p) && *p != '-')
				return why_set(why, whylen,
				               "invalid character %s in registry host \"%.*s\"",
				               show_char(ch, *p), (int)(host_end - s), s);
			p++;
		}
		if (p == c)
			return why_set(why, whylen,
			               "registry host \"%.*s\" has an empty name component",
			               (int)(host_end - s), s);
		if (*c == '-' || p[-1] == '-')
			return why_set(why, whylen,
			               "a name component of registry host \"%.*s\" starts or ends "
			               "with '-'",
			               (int)(host_end - s), s);
		if (p == host_end)
			break;
		p++; /* '.' */
	}
	if (host_end == end)
		return 0;
	return check_port(host_end + 1, (size_t)(end - host_end - 1), why, whylen);
}

int rs__ref_check_path(const char *s, size_t len, char *why, size_t whylen)
{
	const char *end = s + len, *p = s;
	char ch[8];

	if (len == 0)
		return why_set(why, whylen, "repository name is missing");
	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return why_set(why, whylen, "repository name must be lowercase");
	for (size_t i = 0; i < len; i++)
		if (!is_lower_alnum(s[i]) && !strchr("._-/", s[i]))
			return why_set(why, whylen, "invalid character %s in repository name",
			               show_char(ch, s[i]));

	for (;;) {
		const char *c = p, *cend = memchr(p, '/', (size_t)(end - p));
		int clen;
		if (!cend)
			cend = end;
		clen = (int)(cend - c);
		if (clen == 0)
			return why_set(why, whylen,
			               "repository name has an empty path component (a leading, "
			               "trailing or doubled '/')");
		if (!is_lower_alnum(c[0]))
			return why_set(
			        why, whylen,
			        "path component \"%.*s\" must start with a lowercase letter or "
			        "digit",
			        clen, c);
		if (!is_lower_alnum(cend[-1]))
			return why_set(
			        why, whylen,
			        "path component \"%.*s\" must end with a lowercase letter or "
			        "digit",
			        clen, c);
		/* separators between alphanumeric runs: ".", "_", "__" or one or more "-" */
		for (const char *q = c; q < cend;) {
			const char *sep = q;
			size_t slen;
			bool ok;
			if (is_lower_alnum(*q)) {
				q++;
				continue;
			}
			while (q < cend && !is_lower_alnum(*q))
				q++;
			slen = (size_t)(q - sep);
			ok = (slen == 1) || (slen == 2 && sep[0] == '_' && sep[1] == '_');
			if (!ok) {
				ok = true;
				for (size_t k = 0; k < slen; k++)
					ok = ok && sep[k] == '-';
			}
			if (!ok)
				return why_set(
				        why, whylen,
				        "invalid separator \"%.*s\" in path component \"%.*s\" "
				        "(use '.', '_', '__' or dashes)",
				        (int)slen, sep, clen, c);
		}
		if (cend == end)
			break;
		p = cend + 1;
	}
	return 0;
}

int rs__ref_check_tag(const char *s, size_t len, char *why, size_t whylen)
{
	char ch[8];
	if (len == 0)
		return why_set(why, whylen, "tag is empty");
	if (len > RS__REF_TAG_MAX)
		return why_set(why, whylen, "tag is %zu characters long; the limit is %d", len,
		               RS__REF_TAG_MAX);
	if (!is_word(s[0]))
		return why_set(why, whylen, "tag must start with a letter, digit or '_', not %s",
		               show_char(ch, s[0]));
	for (size_t i = 1; i < len; i++)
		if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
			return why_set(why, whylen, "invalid character %s in tag",
			               show_char(ch, s[i]));
	return 0;
}

int rs__ref_check_digest(const char *s, size_t len, char *why, size_t whylen)
{
	const char *colon = memchr(s, ':', len), *hex;
	size_t alen, hlen, want;
	char ch[8];

	if (len == 0)
		return why_set(why, whylen, "digest is empty");
	if (!colon)
		return why_set(why, whylen, "digest \"%.*s\" is not of the form algorithm:hex",
		               (int)len, s);
	alen = (size_t)(colon - s);
	hex = colon + 1;
	hlen = len - alen - 1;
	/* algorithm := [A-Za-z][A-Za-z0-9]* ([-_+.][A-Za-z][A-Za-z0-9]*)* */
	for (size_t i = 0; i < alen; i++) {
		bool first = i == 0 || strchr("-_+.", s[i - 1]);
		char c = s[i];
		bool ok = first ? ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		                : (is_alnum(c) || (strchr("-_+.", c) && i + 1 < alen));
		if (!ok)
			return why_set(why, whylen, "invalid digest algorithm \"%.*s\"", (int)alen,
			               s);
	}
	if (alen == 0)
		return why_set(why, whylen, "digest algorithm missing before ':'");
	if (alen == 6 && memcmp(s, "sha256", 6) == 0)
		want = 64;
	else if (alen == 6 && memcmp(s, "sha512", 6) == 0)
		want = 128;
	else
		return why_set(why, whylen,
		               "unsupported digest algorithm \"%.*s\" (only sha256 and sha512)",
		               (int)alen, s);
	if (hlen == 0)
		return why_set(why, whylen, "digest has no hex part after \"%.*s:\"", (int)alen, s);
	for (size_t i = 0; i < hlen; i++) {
		if (!is_hex(hex[i]))
			return why_set(why, whylen, "invalid character %s in digest hex",
			               show_char(ch, hex[i]));
	}
	for (size_t i = 0; i < hlen; i++)
		if (hex[i] >= 'A' && hex[i] <= 'F')
			return why_set(why, whylen, "digest hex must be lowercase");
	if (hlen != want)
		return why_set(why, whylen, "a %.*s digest has %zu hex characters, not %zu",
		               (int)alen, s, want, hlen);
	return 0;
}

static int fail(const char *text, const char *fmt, ...) RS_PRINTF(2, 3);

static int fail(const char *text, const char *fmt, ...)
{
	char why[512];
	char *shown = rs__ref_printable(text);
	rs_buf clean = RS_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* the reason may quote part of the input: keep control bytes out of the message */
	for (const char *p = why; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			rs__buf_printf(&clean, "\\x%02x", c);
		else
			rs__buf_putc(&clean, (char)c);
	}
	if (!shown || rs__buf_oom(&clean)) {
		rs_buf_dispose(&clean);
		free(shown);
		return rs__oom();
	}
	rs__error_set(RS_EINVAL, "invalid reference \"%s\": %s", shown, rs__buf_cstr(&clean));
	rs_buf_dispose(&clean);
	free(shown);
	return RS_EINVAL;
}

int rs_ref_parse(rs_ref **out, const char *text, unsigned int flags)
{
	const char *s, *end, *at, *name_end, *slash, *colon, *rest;
	const char *domain = NULL, *path, *tag = NULL, *digest = NULL;
	size_t dlen = 0, plen, tlen = 0, glen = 0;
	char why[512];
	rs_ref *ref;

	if (out)
		*out = NULL;
	if (!out || !text)
		return fail("", "no reference given");
	s = text;
	if (rs__str_startswith(s, "docker://"))
		s += strlen("docker://");
	if (!*s)
		return fail(text, "empty reference");
	end = s + strlen(s);
	if (s[0] == ' ' || s[0] == '\t' || end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
	    end[-1] == '\r')
		return fail(text, "leading or trailing whitespace");

	at = strchr(s, '@');
	name_end = at ? at : end;
	if (at) {
		digest = at + 1;
		glen = (size_t)(end - digest);
		if (glen == 0)
			return fail(text, "digest missing after '@'");
		if (rs__ref_check_digest(digest, glen, why, sizeof(why)) < 0)
			return fail(text, "%s", why);
	}
	if (name_end == s)
		return fail(text, "repository name is missing");

	slash = memchr(s, '/', (size_t)(name_end - s));
	if (slash && rs__ref_looks_like_domain(s, (size_t)(slash - s))) {
		domain = s;
		dlen = (size_t)(slash - s);
		rest = slash + 1;
		if (rs__ref_check_domain(domain, dlen, why, sizeof(why)) < 0)
			return fail(text, "%s", why);
	} else {
		rest = s;
	}

	colon = memchr(rest, ':', (size_t)(name_end - rest));
	path = rest;
	plen = (size_t)((colon ? colon : name_end) - rest);
	if (plen == 0 && domain)
		return fail(text, "repository name is missing after registry \"%.*s\"", (int)dlen,
		            domain);
	if (rs__ref_check_path(path, plen, why, sizeof(why)) < 0)
		return fail(text, "%s", why);
	if (colon) {
		tag = colon + 1;
		tlen = (size_t)(name_end - tag);
		if (tlen == 0)
			return fail(text, "tag missing after ':'");
		if (rs__ref_check_tag(tag, tlen, why, sizeof(why)) < 0)
			return fail(text, "%s", why);
	}
	if (!domain && rs__is_hex64(path, plen))
		return fail(text, "a 64-character hexadecimal string is an image ID, not a "
		                  "repository name");

	if ((flags & RS_REF_NAME_ONLY) && tag)
		return fail(text, "a repository name was expected, not a tag");
	if ((flags & RS_REF_NAME_ONLY) && digest)
		return fail(text, "a repository name was expected, not a digest");

	ref = rs__calloc(1, sizeof(*ref));
	if (!ref)
		return rs__oom();
	if (rs__ref_normalize(&ref->domain, &ref->path, domain, dlen, path, plen) < 0) {
		rs_ref_free(ref);
		return RS_ENOMEM;
	}
	if (strlen(ref->path) > RS__REF_PATH_MAX) {
		size_t n = strlen(ref->path);
		rs_ref_free(ref);
		return fail(text, "repository path is %zu characters long; the limit is %d", n,
		            RS__REF_PATH_MAX);
	}
	if (tag)
		ref->tag = rs__strndup(tag, tlen);
	else if (!digest && !(flags & (RS_REF_NAME_ONLY | RS_REF_NO_DEFAULT)))
		ref->tag = rs__strdup("latest");
	if (digest)
		ref->digest = rs__strndup(digest, glen);
	if ((tag && !ref->tag) || (digest && !ref->digest) ||
	    (!tag && !digest && !(flags & (RS_REF_NAME_ONLY | RS_REF_NO_DEFAULT)) && !ref->tag)) {
		rs_ref_free(ref);
		return rs__oom();
	}
	*out = ref;
	return 0;
}
