/* WWW-Authenticate parser (RFC 7235 §2.1, §4.1; quoted-string from RFC 7230 §3.2.6). */
#include "auth/challenge.h"
#include "util/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *s; /* the whole header value */
	size_t pos;
	size_t len;
} scanner;

static bool is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token68_char(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("-._~+/", c));
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static char peek(const scanner *sc, size_t ahead)
{
	return sc->pos + ahead < sc->len ? sc->s[sc->pos + ahead] : '\0';
}

static void skip_ows(scanner *sc)
{
	while (sc->pos < sc->len && is_ows(sc->s[sc->pos]))
		sc->pos++;
}

static int parse_error(const scanner *sc, const char *what)
{
	rs_buf shown = RS_BUF_INIT;
	/* show the value (bounded, control bytes escaped) so the user can see what came back */
	for (size_t i = 0; i < sc->len && i < 200; i++) {
		unsigned char c = (unsigned char)sc->s[i];
		if (c < 0x20 || c >= 0x7f)
			rs__buf_printf(&shown, "\\x%02x", c);
		else
			rs__buf_putc(&shown, (char)c);
	}
	if (sc->len > 200)
		rs__buf_puts(&shown, "...");
	if (rs__buf_oom(&shown))
		return rs__oom();
	rs__error_set(RS_EFORMAT, "malformed WWW-Authenticate header \"%s\": %s at offset %zu",
	              rs__buf_cstr(&shown), what, sc->pos);
	rs_buf_dispose(&shown);
	return RS_EFORMAT;
}

/* token: returns its length (0 when none) */
static size_t scan_token(const scanner *sc, size_t at)
{
	size_t n = 0;
	while (at + n < sc->len && is_tchar(sc->s[at + n]))
		n++;
	return n;
}

static char *lower_dup(const char *s, size_t n)
{
	char *d = rs__strndup(s, n);
	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* A bad quoted string; RS_ENOMEM instead when v ran out of memory on the way. */
static int quoted_error(const scanner *sc, rs_buf *v, const char *what)
{
	bool oom = rs__buf_oom(v);
	rs_buf_dispose(v);
	return oom ? RS_ENOMEM : parse_error(sc, what);
}

static int parse_quoted(char **out, scanner *sc)
{
	rs_buf v = RS_BUF_INIT;
	sc->pos++; /* opening quote */
	while (sc->pos < sc->len) {
		unsigned char c = (unsigned char)sc->s[sc->pos];
		if (c == '"') {
			sc->pos++;
			*out = rs__buf_detach(&v);
			return *out ? 0 : RS_ENOMEM;
		}
		if (c == '\\') {
			unsigned char e;
			if (sc->pos + 1 >= sc->len)
				break;
			e = (unsigned char)sc->s[sc->pos + 1];
			if (e != '\t' && (e < 0x20 || e == 0x7f)) {
				sc->pos++;
				return quoted_error(sc, &v, "control character in quoted string");
			}
			rs__buf_putc(&v, (char)e);
			sc->pos += 2;
			continue;
		}
		if (c != '\t' && (c < 0x20 || c == 0x7f))
			return quoted_error(sc, &v, "control character in quoted string");
		rs__buf_putc(&v, (char)c);
		sc->pos++;
	}
	return quoted_error(sc, &v, "unterminated quoted string");
}

static void challenge_dispose(rs__challenge *c)
{
	free(c->scheme);
	free(c->token68);
	for (size_t i = 0; i < c->nparams; i++) {
		free(c->params[i].name);
		free(c->params[i].value);
	}
	free(c->params);
	memset(c, 0, sizeof(*c));
}

/* Room for `more` entries; RS_ENOMEM (the list as it was) when out of memory. */
static int list_reserve(rs__challenges *l, size_t more)
{
	size_t n = l->alloc ? l->alloc : 4;
	rs__challenge *items;
	while (n < l->count + more)
		n *= 2;
	if (n == l->alloc)
		return 0;
	if (!(items = rs__realloc(l->items, n * sizeof(*l->items))))
		return rs__oom();
	l->items = items;
	l->alloc = n;
	return 0;
}

/* NULL when out of memory */
static rs__challenge *list_add(rs__challenges *l)
{
	if (list_reserve(l, 1) < 0)
		return NULL;
	memset(&l->items[l->count], 0, sizeof(l->items[0]));
	return &l->items[l->count++];
}

/* Takes name and value (freed when out of memory: RS_ENOMEM). */
static int param_add(rs__challenge *c, char *name, char *value)
{
	void *params = name && value ? rs__realloc(c->params, (c->nparams + 1) * sizeof(*c->params))
	                             : NULL;
	if (!params) {
		free(name);
		free(value);
		return rs__oom();
	}
	c->params = params;
	c->params[c->nparams].name = name;
	c->params[c->nparams].value = value;
	c->nparams++;
	return 0;
}

/* After a comma: does a parameter (token BWS "=") start here, rather than a new challenge? */
static bool param_follows(const scanner *sc)
{
	size_t n = scan_token(sc, sc->pos), at = sc->pos + n;
	if (!n)
		return false;
	while (at < sc->len && is_ows(sc->s[at]))
		at++;
	return at < sc->len && sc->s[at] == '=';
}

/*
 * Is there a token68 at the current position? It is: token68 chars, then '='*, then the end or
 * a comma. (Otherwise "realm=x" would read as the token68 "realm=" followed by junk.)
 */
static size_t scan_token68(const scanner *sc)
{
	size_t at = sc->pos, start = at;
	while (at < sc->len && is_token68_char(sc->s[at]))
		at++;
	if (at == start)
		return 0;
	while (at < sc->len && sc->s[at] == '=')
		at++;
	{
		size_t end = at;
		while (end < sc->len && is_ows(sc->s[end]))
			end++;
		if (end < sc->len && sc->s[end] != ',')
			return 0;
	}
	return at - start;
}

static void resolve_shortcuts(rs__challenge *c)
{
	c->realm = rs__challenge_param(c, "realm");
	c->service = rs__challenge_param(c, "service");
	c->scope = rs__challenge_param(c, "scope");
	c->error = rs__challenge_param(c, "error");
}

/* Parse "name BWS = BWS value" at the current position into c. */
static int parse_param(rs__challenge *c, scanner *sc)
{
	size_t n = scan_token(sc, sc->pos);
	char *name, *value = NULL;
	int error;
	if (!n)
		return parse_error(sc, "expected a parameter name");
	if (!(name = lower_dup(sc->s + sc->pos, n)))
		return rs__oom();
	sc->pos += n;
	skip_ows(sc);
	if (peek(sc, 0) != '=') {
		free(name);
		return parse_error(sc, "expected '=' after a parameter name");
	}
	sc->pos++;
	skip_ows(sc);
	if (peek(sc, 0) == '"') {
		if ((error = parse_quoted(&value, sc)) < 0) {
			free(name);
			return error;
		}
	} else {
		n = scan_token(sc, sc->pos);
		if (!n) {
			free(name);
			return parse_error(sc, "expected a token or a quoted string as a value");
		}
		value = rs__strndup(sc->s + sc->pos, n);
		sc->pos += n;
	}
	return param_add(c, name, value);
}

int rs__challenges_parse(rs__challenges *list, const char *header_value)
{
	rs__challenges tmp = RS__CHALLENGES_INIT;
	scanner sc;
	int error = 0;

	if (!list || !header_value)
		return rs__error_set(RS_EINVAL, "no WWW-Authenticate header value given");
	sc.s = header_value;
	sc.pos = 0;
	sc.len = strlen(header_value);
	/* header values handed over with their line ending */
	while (sc.len && (sc.s[sc.len - 1] == '\r' || sc.s[sc.len - 1] == '\n'))
		sc.len--;

	for (;;) {
		rs__challenge *c;
		size_t n;
		/* empty list elements are allowed: "a, , b" */
		while (sc.pos < sc.len && (is_ows(sc.s[sc.pos]) || sc.s[sc.pos] == ','))
			sc.pos++;
		if (sc.pos >= sc.len)
			break;
		n = scan_token(&sc, sc.pos);
		if (!n) {
			error = parse_error(&sc, "expected an authentication scheme");
			goto done;
		}
		if (!(c = list_add(&tmp)) || !(c->scheme = lower_dup(sc.s + sc.pos, n))) {
			error = rs__oom();
			goto done;
		}
		sc.pos += n;
		if (sc.pos < sc.len && !is_ows(sc.s[sc.pos]) && sc.s[sc.pos] != ',') {
			error = parse_error(&sc,
			                    "expected a space after the authentication scheme");
			goto done;
		}
		skip_ows(&sc);
		if (sc.pos >= sc.len || peek(&sc, 0) == ',')
			continue; /* a scheme without parameters */
		if ((n = scan_token68(&sc)) > 0) {
			if (!(c->token68 = rs__strndup(sc.s + sc.pos, n))) {
				error = rs__oom();
				goto done;
			}
			sc.pos += n;
			continue;
		}
		/* #auth-param */
		for (;;) {
			if ((error = parse_param(c, &sc)) < 0)
				goto done;
			skip_ows(&sc);
			if (sc.pos >= sc.len)
				break;
			if (peek(&sc, 0) != ',') {
				error = parse_error(&sc, "expected ',' between parameters");
				goto done;
			}
			while (sc.pos < sc.len && (is_ows(sc.s[sc.pos]) || sc.s[sc.pos] == ','))
				sc.pos++;
			if (sc.pos >= sc.len || !param_follows(&sc))
				break; /* the next challenge, or the end */
		}
	}

	if ((error = list_reserve(list, tmp.count)) < 0)
		goto done;
	for (size_t i = 0; i < tmp.count; i++) {
		rs__challenge *c = list_add(list); /* reserved: cannot fail */
		*c = tmp.items[i];
		resolve_shortcuts(c);
	}
	tmp.count = 0;
done:
	rs__challenges_dispose(&tmp);
	return error;
}

void rs__challenges_dispose(rs__challenges *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		challenge_dispose(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = list->alloc = 0;
}

const rs__challenge *rs__challenges_find(const rs__challenges *list, const char *scheme)
{
	if (!list || !scheme)
		return NULL;
	for (size_t i = 0; i < list->count; i++)
		if (rs__str_iequal(list->items[i].scheme, scheme))
			return &list->items[i];
	return NULL;
}

const rs__challenge *rs__challenges_pick(const rs__challenges *list)
{
	const rs__challenge *c = rs__challenges_find(list, "bearer");
	return c ? c : rs__challenges_find(list, "basic");
}

const char *rs__challenge_param(const rs__challenge *c, const char *name)
{
	if (!c || !name)
		return NULL;
	for (size_t i = 0; i < c->nparams; i++)
		if (rs__str_iequal(c->params[i].name, name))
			return c->params[i].value;
	return NULL;
}
