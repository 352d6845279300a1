#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Allocation failure ends the process with a message and exit status 1: the callers count on
 * rs__malloc never returning NULL. Not abort(): that dumps core (with whatever secrets are in
 * memory, when dumps are allowed) and reads as a crash. The message is written with write(2),
 * which needs no memory; stdio buffers are not flushed (that could allocate).
 */
static _Noreturn void oom(size_t n)
{
	char msg[96];
	int len = snprintf(msg, sizeof(msg), "regship: out of memory (allocating %zu bytes)\n", n);
	if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) < 0)
		len = 0;
	_exit(1);
}

void *rs__malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *rs__calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		oom(nmemb * size);
	return p;
}

void *rs__realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *rs__strdup(const char *s)
{
	return s ? rs__strndup(s, strlen(s)) : NULL;
}

char *rs__strndup(const char *s, size_t n)
{
	char *p;
	size_t len = 0;
	if (!s)
		return NULL;
	while (len < n && s[len])
		len++;
	p = rs__malloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void rs__memzero(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

void rs__free_secret(char *s)
{
	if (!s)
		return;
	rs__memzero(s, strlen(s));
	free(s);
}
