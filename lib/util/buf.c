#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rs_buf_dispose(rs_buf *b)
{
	if (!b)
		return;
	free(b->ptr);
	b->ptr = NULL;
	b->size = b->asize = 0;
}

void rs__buf_dispose_secret(rs_buf *b)
{
	if (!b)
		return;
	if (b->ptr)
		rs__memzero(b->ptr, b->asize);
	rs_buf_dispose(b);
}

void rs__buf_grow(rs_buf *b, size_t extra)
{
	size_t need = b->size + extra + 1, n;
	if (need <= b->asize)
		return;
	n = b->asize ? b->asize : 64;
	while (n < need)
		n += n / 2 + 64;
	b->ptr = rs__realloc(b->ptr, n);
	b->asize = n;
}

void rs__buf_put(rs_buf *b, const void *data, size_t len)
{
	rs__buf_grow(b, len);
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
	rs__buf_grow(b, (size_t)n);
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
	char *p = b->ptr ? b->ptr : rs__strdup("");
	b->ptr = NULL;
	b->size = b->asize = 0;
	return p;
}

void rs__strlist_push_owned(rs_strlist *l, char *s)
{
	if (l->count == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 8;
		l->items = rs__realloc(l->items, l->alloc * sizeof(*l->items));
	}
	l->items[l->count++] = s;
}

void rs__strlist_push(rs_strlist *l, const char *s)
{
	rs__strlist_push_owned(l, rs__strdup(s));
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
