#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where an rs_buf points after a grow ran out of memory (libgit2's git_buf__oom): reads see
 * "", puts do nothing, dispose does not free it. */
static char buf_oom_sentinel[1];

bool rs__buf_oom(const rs_buf *b)
{
	return b->ptr == buf_oom_sentinel;
}

void rs__buf_set_oom(rs_buf *b)
{
	rs__buf_dispose_secret(b);
	b->ptr = buf_oom_sentinel;
	rs__oom();
}

int rs_buf_oom(const rs_buf *buf)
{
	return buf && rs__buf_oom(buf);
}

void rs_buf_dispose(rs_buf *b)
{
	if (!b)
		return;
	if (b->ptr != buf_oom_sentinel)
		free(b->ptr);
	b->ptr = NULL;
	b->size = b->asize = 0;
}

void rs__buf_dispose_secret(rs_buf *b)
{
	if (!b)
		return;
	if (b->ptr && b->ptr != buf_oom_sentinel)
		rs__memzero(b->ptr, b->asize);
	rs_buf_dispose(b);
}

int rs__buf_grow(rs_buf *b, size_t extra)
{
	size_t need = b->size + extra + 1, n;
	char *p;
	if (b->ptr == buf_oom_sentinel)
		return rs__oom();
	if (need <= b->asize)
		return 0;
	n = b->asize ? b->asize : 64;
	while (n < need)
		n += n / 2 + 64;
	p = need > b->size ? rs__realloc(b->ptr, n) : NULL; /* need <= size: size_t wrapped */
	if (!p) {
		/* the contents may be a secret being assembled: wipe before letting go */
		if (b->ptr)
			rs__memzero(b->ptr, b->asize);
		free(b->ptr);
		b->ptr = buf_oom_sentinel;
		b->size = b->asize = 0;
		return rs__oom();
	}
	b->ptr = p;
	b->asize = n;
	return 0;
}

void rs__buf_put(rs_buf *b, const void *data, size_t len)
{
	if (rs__buf_grow(b, len))
		return;
	if (len)
		memcpy(b->ptr + b->size, data, len);
	b->size += len;
	b->ptr[b->size] = '\0';
}

void rs__buf_puts(rs_buf *b, const char *s)
{
	rs__buf_put(b, s, strlen(s));
}

void rs__buf_putc(rs_buf *b, char c)
{
	rs__buf_put(b, &c, 1);
}

void rs__buf_vprintf(rs_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if (rs__buf_grow(b, (size_t)n))
		return;
	vsnprintf(b->ptr + b->size, (size_t)n + 1, fmt, ap);
	b->size += (size_t)n;
}

void rs__buf_printf(rs_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rs__buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void rs__buf_clear(rs_buf *b)
{
	b->size = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

char *rs__buf_detach(rs_buf *b)
{
	char *p;
	if (b->ptr == buf_oom_sentinel)
		p = NULL;
	else if (b->ptr)
		p = b->ptr;
	else
		p = rs__strdup("");
	b->ptr = NULL;
	b->size = b->asize = 0;
	if (!p)
		rs__oom();
	return p;
}

int rs__strlist_push_owned(rs_strlist *l, char *s)
{
	if (!s)
		return rs__oom();
	if (l->count == l->alloc) {
		size_t n = l->alloc ? l->alloc * 2 : 8;
		char **items = rs__realloc(l->items, n * sizeof(*l->items));
		if (!items) {
			free(s);
			return rs__oom();
		}
		l->items = items;
		l->alloc = n;
	}
	l->items[l->count++] = s;
	return 0;
}

int rs__strlist_push(rs_strlist *l, const char *s)
{
	return rs__strlist_push_owned(l, rs__strdup(s));
}

bool rs__strlist_contains(const rs_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->count; i++)
		if (!strcmp(l->items[i], s))
			return true;
	return false;
}

void rs__strlist_dispose(rs_strlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = l->alloc = 0;
}

char *rs__strfmt(const char *fmt, ...)
{
	rs_buf b = RS_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	rs__buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return rs__buf_detach(&b); /* NULL when out of memory */
}
