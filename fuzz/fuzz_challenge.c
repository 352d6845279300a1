/*
 * WWW-Authenticate challenges (rs__challenges_parse, one call per input line, then pick/find/
 * param) and token scopes (rs__scope_union / rs__scope_covers on the two halves of the input).
 */
#include "fuzz.h"

#include "auth/challenge.h"
#include "auth/scope.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

/* Write the challenges back as a header value: scheme token68 | scheme name="value", ... */
static char *challenge_format(const rs__challenges *list)
{
	rs_buf b = RS_BUF_INIT;
	for (size_t i = 0; i < list->count; i++) {
		const rs__challenge *c = &list->items[i];
		if (i)
			rs__buf_puts(&b, ", ");
		rs__buf_puts(&b, c->scheme);
		if (c->token68)
			rs__buf_printf(&b, " %s", c->token68);
		for (size_t k = 0; k < c->nparams; k++) {
			rs__buf_printf(&b, "%s%s=\"", k ? ", " : " ", c->params[k].name);
			for (const char *v = c->params[k].value; *v; v++) {
				if (*v == '"' || *v == '\\')
					rs__buf_putc(&b, '\\');
				rs__buf_putc(&b, *v);
			}
			rs__buf_putc(&b, '"');
		}
	}
	return rs__buf_detach(&b);
}

static bool challenge_same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool challenges_same(const rs__challenges *a, const rs__challenges *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++) {
		const rs__challenge *x = &a->items[i], *y = &b->items[i];
		if (strcmp(x->scheme, y->scheme) || !challenge_same_str(x->token68, y->token68) ||
		    x->nparams != y->nparams || !challenge_same_str(x->realm, y->realm) ||
		    !challenge_same_str(x->service, y->service) ||
		    !challenge_same_str(x->scope, y->scope) ||
		    !challenge_same_str(x->error, y->error))
			return false;
		for (size_t k = 0; k < x->nparams; k++)
			if (strcmp(x->params[k].name, y->params[k].name) ||
			    strcmp(x->params[k].value, y->params[k].value))
				return false;
	}
	return true;
}

static void challenge_walk(const rs__challenges *list)
{
	const rs__challenge *picked = rs__challenges_pick(list);
	for (size_t i = 0; i < list->count; i++) {
		const rs__challenge *c = &list->items[i];
		rs_fuzz_assert(c->scheme && *c->scheme, "every challenge has a scheme");
		rs_fuzz_assert(!c->token68 || !c->nparams, "token68 or parameters, not both");
		rs_fuzz_assert(c->realm == rs__challenge_param(c, "realm"), "realm shortcut");
		rs_fuzz_assert(c->scope == rs__challenge_param(c, "scope"), "scope shortcut");
		for (size_t k = 0; k < c->nparams; k++)
			rs_fuzz_assert(rs__challenge_param(c, c->params[k].name) != NULL,
			               "every parameter can be found by name");
	}
	if (picked) {
		rs_fuzz_assert(rs__str_iequal(picked->scheme, "bearer") ||
		                       rs__str_iequal(picked->scheme, "basic"),
		               "pick gives Bearer or Basic");
		if (rs__str_iequal(picked->scheme, "basic"))
			rs_fuzz_assert(!rs__challenges_find(list, "bearer"), "pick prefers Bearer");
		/* a scope a registry asks for covers itself whenever it is well formed */
		if (picked->scope) {
			char *u = NULL;
			if (rs__scope_union(&u, picked->scope, NULL) == 0)
				rs_fuzz_assert(rs__scope_covers(u, picked->scope),
				               "a challenge's scope covers itself");
			free(u);
		}
	} else {
		rs_fuzz_assert(!rs__challenges_find(list, "basic") &&
		                       !rs__challenges_find(list, "bearer"),
		               "pick finds Basic or Bearer when present");
	}
}

static void challenge_run(const char *text)
{
	rs__challenges list = RS__CHALLENGES_INIT;
	const char *line = text;
	bool all_ok = true;

	/* one call per line, as for several WWW-Authenticate header lines */
	for (;;) {
		const char *nl = strchr(line, '\n');
		char *one = nl ? rs__strndup(line, (size_t)(nl - line)) : rs__strdup(line);
		size_t before = list.count;
		int error = rs__challenges_parse(&list, one);
		if (error < 0) {
			all_ok = false;
			rs_fuzz_assert(error == RS_EFORMAT, "malformed challenges give RS_EFORMAT");
			rs_fuzz_assert(list.count == before,
			               "a failed parse leaves the list as it was");
		}
		free(one);
		if (!nl)
			break;
		line = nl + 1;
	}
	challenge_walk(&list);

	/* format -> parse gives the same challenges */
	if (all_ok && list.count) {
		rs__challenges again = RS__CHALLENGES_INIT;
		char *formatted = challenge_format(&list);
		rs_fuzz_assert(rs__challenges_parse(&again, formatted) == 0,
		               "formatted challenges parse again");
		rs_fuzz_assert(challenges_same(&list, &again), "challenge round trip");
		rs__challenges_dispose(&again);
		free(formatted);
	}
	rs__challenges_dispose(&list);
}

static void scope_run(const char *a, const char *b)
{
	char *u = NULL, *u2 = NULL, *rev = NULL;
	bool a_ok = rs__scope_covers(a, a), b_ok = rs__scope_covers(b, b);
	rs__scopes one = RS__SCOPES_INIT;

	if (rs__scope_union(&u, a, b) == 0) {
		rs_fuzz_assert(a_ok && b_ok, "both halves of a union are well formed");
		rs_fuzz_assert(rs__scope_covers(u, a) && rs__scope_covers(u, b),
		               "a union covers both of its parts");
		rs_fuzz_assert(rs__scope_union(&u2, u, NULL) == 0 && !strcmp(u, u2),
		               "a union's text is a fixed point");
		rs_fuzz_assert(rs__scope_union(&rev, b, a) == 0 && rs__scope_covers(rev, u) &&
		                       rs__scope_covers(u, rev),
		               "union is commutative up to order");
	} else {
		rs_fuzz_assert(u == NULL, "a failed union gives nothing");
		rs_fuzz_assert(!a_ok || !b_ok, "a union of two well formed sets succeeds");
	}
	free(u);
	free(u2);
	free(rev);

	if (rs__scopes_add_text(&one, a) == 0) {
		char *f = rs__scopes_format(&one);
		rs__scopes back = RS__SCOPES_INIT;
		rs_fuzz_assert(f && rs__scopes_add_text(&back, f) == 0,
		               "a formatted scope set parses again");
		rs_fuzz_assert(back.count == one.count, "scope round trip: same resources");
		for (size_t i = 0; i < one.count && i < back.count; i++)
			rs_fuzz_assert(!strcmp(back.items[i].type, one.items[i].type) &&
			                       !strcmp(back.items[i].name, one.items[i].name) &&
			                       back.items[i].actions.count ==
			                               one.items[i].actions.count &&
			                       challenge_same_str(back.items[i].resource_class,
			                                          one.items[i].resource_class),
			               "scope round trip");
		rs_fuzz_assert(rs__scope_covers(a, f) && rs__scope_covers(f, a),
		               "a scope set and its formatted text cover each other");
		rs__scopes_dispose(&back);
		free(f);
	}
	rs__scopes_dispose(&one);
}

int rs_fuzz_challenge(const uint8_t *data, size_t size)
{
	char *text = rs_fuzz_cstr(data, size);
	size_t len = strlen(text);
	char *a = rs__strndup(text, len / 2), *b = rs__strdup(text + len / 2);

	challenge_run(text);
	scope_run(a, b);
	free(a);
	free(b);
	free(text);
	return 0;
}

RS_FUZZ_ENTRY(rs_fuzz_challenge)
