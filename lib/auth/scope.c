/* Token scopes: parse, build, union, covers. */
#include "auth/scope.h"

#include <stdlib.h>
#include <string.h>

static int bad_scope(const char *text, size_t len, const char *why)
{
	rs_buf shown = RS_BUF_INIT;
	for (size_t i = 0; i < len && i < 300; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x20 || c >= 0x7f)
			rs__buf_printf(&shown, "\\x%02x", c);
		else
			rs__buf_putc(&shown, (char)c);
	}
	if (rs__buf_oom(&shown))
		return rs__oom();
	rs__error_set(RS_EFORMAT, "invalid scope \"%s\": %s", rs__buf_cstr(&shown), why);
	rs_buf_dispose(&shown);
	return RS_EFORMAT;
}

static bool is_type_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse text[0..len) (one resource scope, no spaces). */
static int parse_one(rs__scope *out, const char *text, size_t len)
{
	const char *end = text + len, *first, *last, *t_end, *p;
	rs__scope s = {0};

	memset(out, 0, sizeof(*out));
	first = memchr(text, ':', len);
	last = NULL;
	for (p = end; p > text; p--)
		if (p[-1] == ':') {
			last = p - 1;
			break;
		}
	if (!first || first == last)
		return bad_scope(text, len, "expected resourcetype:resourcename:actions");

	/* resourcetype [ "(" class ")" ] */
	t_end = memchr(text, '(', (size_t)(first - text));
	if (!t_end)
		t_end = first;
	if (t_end == text)
		return bad_scope(text, len, "resource type is empty");
	for (p = text; p < t_end; p++)
		if (!is_type_char(*p))
			return bad_scope(text, len,
			                 "resource type must be lowercase letters and digits");
	if (t_end < first) {
		const char *c = t_end + 1;
		if (first[-1] != ')' || first - 1 == c)
			return bad_scope(text, len,
			                 "resource class must be of the form type(class)");
		for (p = c; p < first - 1; p++)
			if (!is_type_char(*p))
				return bad_scope(
				        text, len,
				        "resource class must be lowercase letters and digits");
		s.resource_class = rs__strndup(c, (size_t)(first - 1 - c));
		if (!s.resource_class)
			return rs__oom();
	}
	if (last == first + 1) {
		free(s.resource_class);
		return bad_scope(text, len, "resource name is empty");
	}
	if (last + 1 == end) {
		free(s.resource_class);
		return bad_scope(text, len, "no actions");
	}
	s.type = rs__strndup(text, (size_t)(t_end - text));
	s.name = rs__strndup(first + 1, (size_t)(last - first - 1));
	if (!s.type || !s.name) {
		rs__scope_dispose(&s);
		return rs__oom();
	}
	/* actions: a,b,c */
	for (p = last + 1; p <= end;) {
		const char *a = p;
		char *action;
		while (p < end && *p != ',')
			p++;
		if (p == a) {
			rs__scope_dispose(&s);
			return bad_scope(text, len, "empty action in the action list");
		}
		action = rs__strndup(a, (size_t)(p - a));
		if (!action || (!rs__strlist_contains(&s.actions, action) &&
		                rs__strlist_push_owned(&s.actions, action) < 0)) {
			rs__scope_dispose(&s);
			return rs__oom();
		}
		if (s.actions.items[s.actions.count - 1] != action)
			free(action);
		p++;
	}
	*out = s;
	return 0;
}

void rs__scope_dispose(rs__scope *s)
{
	if (!s)
		return;
	free(s->type);
	free(s->resource_class);
	free(s->name);
	rs__strlist_dispose(&s->actions);
	memset(s, 0, sizeof(*s));
}

static void format_into(rs_buf *b, const rs__scope *s)
{
	rs__buf_puts(b, s->type);
	if (s->resource_class)
		rs__buf_printf(b, "(%s)", s->resource_class);
	rs__buf_printf(b, ":%s:", s->name);
	for (size_t i = 0; i < s->actions.count; i++) {
		if (i)
			rs__buf_putc(b, ',');
		rs__buf_puts(b, s->actions.items[i]);
	}
}

char *rs__scope_repository(const char *path, const char *actions)
{
	rs_buf b = RS_BUF_INIT;
	rs__buf_printf(&b, "repository:%s:%s", path, actions);
	return rs__buf_detach(&b);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static rs__scope *find(const rs__scopes *set, const rs__scope *s)
{
	for (size_t i = 0; i < set->count; i++) {
		rs__scope *it = &set->items[i];
		if (strcmp(it->type, s->type) == 0 && strcmp(it->name, s->name) == 0 &&
		    same_str(it->resource_class, s->resource_class))
			return it;
	}
	return NULL;
}

int rs__scopes_add(rs__scopes *set, const rs__scope *s)
{
	rs__scope *it = find(set, s);
	if (!it) {
		if (set->count == set->alloc) {
			size_t n = set->alloc ? set->alloc * 2 : 4;
			rs__scope *items = rs__realloc(set->items, n * sizeof(*set->items));
			if (!items)
				return rs__oom();
			set->items = items;
			set->alloc = n;
		}
		it = &set->items[set->count++];
		memset(it, 0, sizeof(*it));
		it->type = rs__strdup(s->type);
		it->resource_class = rs__strdup(s->resource_class);
		it->name = rs__strdup(s->name);
		if (!it->type || !it->name || (s->resource_class && !it->resource_class))
			return rs__oom(); /* the entry is disposed with the set */
	}
	for (size_t i = 0; i < s->actions.count; i++)
		if (!rs__strlist_contains(&it->actions, s->actions.items[i]) &&
		    rs__strlist_push(&it->actions, s->actions.items[i]) < 0)
			return RS_ENOMEM;
	return 0;
}

int rs__scopes_add_text(rs__scopes *set, const char *text)
{
	rs__scopes tmp = RS__SCOPES_INIT;
	const char *p = text;
	int error = 0;
	if (!set)
		return rs__error_set(RS_EINVAL, "no scope set given");
	while (p && *p) {
		const char *start;
		rs__scope s;
		while (is_space(*p))
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && !is_space(*p))
			p++;
		if ((error = parse_one(&s, start, (size_t)(p - start))) < 0)
			goto done;
		error = rs__scopes_add(&tmp, &s);
		rs__scope_dispose(&s);
		if (error < 0)
			goto done;
	}
	/* out of memory here may leave set partly merged (its entries stay well-formed) */
	for (size_t i = 0; i < tmp.count; i++)
		if ((error = rs__scopes_add(set, &tmp.items[i])) < 0)
			goto done;
done:
	rs__scopes_dispose(&tmp);
	return error;
}

char *rs__scopes_format(const rs__scopes *set)
{
	rs_buf b = RS_BUF_INIT;
	for (size_t i = 0; set && i < set->count; i++) {
		if (i)
			rs__buf_putc(&b, ' ');
		format_into(&b, &set->items[i]);
	}
	return rs__buf_detach(&b);
}

void rs__scopes_dispose(rs__scopes *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->count; i++)
		rs__scope_dispose(&set->items[i]);
	free(set->items);
	set->items = NULL;
	set->count = set->alloc = 0;
}

int rs__scope_union(char **out, const char *a, const char *b)
{
	rs__scopes set = RS__SCOPES_INIT;
	int error;
	if (!out)
		return rs__error_set(RS_EINVAL, "no scope output given");
	*out = NULL;
	if ((error = rs__scopes_add_text(&set, a)) < 0 ||
	    (error = rs__scopes_add_text(&set, b)) < 0)
		goto done;
	if (!(*out = rs__scopes_format(&set)))
		error = RS_ENOMEM;
done:
	rs__scopes_dispose(&set);
	return error;
}

bool rs__scope_covers(const char *have, const char *want)
{
	rs__scopes h = RS__SCOPES_INIT, w = RS__SCOPES_INIT;
	bool ok = false;
	if (rs__scopes_add_text(&h, have) < 0 || rs__scopes_add_text(&w, want) < 0)
		goto done;
	ok = true;
	for (size_t i = 0; ok && i < w.count; i++) {
		const rs__scope *g = find(&h, &w.items[i]);
		if (!g) {
			ok = false;
			break;
		}
		if (rs__strlist_contains(&g->actions, "*"))
			continue;
		for (size_t k = 0; ok && k < w.items[i].actions.count; k++)
			ok = rs__strlist_contains(&g->actions, w.items[i].actions.items[k]);
	}
done:
	rs__scopes_dispose(&h);
	rs__scopes_dispose(&w);
	return ok;
}
