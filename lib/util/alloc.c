#include "util.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/*
 * Allocation failure returns NULL: every caller checks and returns rs__oom() (RS_ENOMEM)
 * through its normal error path, freeing what it holds (issue 14). The library never writes
 * to stderr nor ends the process on its own; the CLI prints "regship: out of memory".
 *
 * Failure injection for tests: rs__alloc_fail_at(n) makes the n-th allocation from now fail
 * (0 = off). It is compiled in always rather than behind a test-only define: the unit tests
 * link the same static library that is installed, so a define would need a second build of
 * lib/, and the cost here is one relaxed atomic load per allocation (the countdown is atomic
 * because copy workers allocate on their own threads).
 */
static _Atomic unsigned long fail_countdown;

unsigned long rs__alloc_fail_at(unsigned long n)
{
	return atomic_exchange_explicit(&fail_countdown, n, memory_order_relaxed);
}

static int injected_failure(void)
{
	unsigned long c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
	while (c) {
		if (atomic_compare_exchange_weak_explicit(
		            &fail_countdown, &c, c - 1, memory_order_relaxed, memory_order_relaxed))
			return c == 1;
	}
	return 0;
}

void *rs__malloc(size_t n)
{
	if (injected_failure())
		return NULL;
	return malloc(n ? n : 1);
}

void *rs__calloc(size_t nmemb, size_t size)
{
	if (injected_failure())
		return NULL;
	return calloc(nmemb ? nmemb : 1, size ? size : 1);
}

void *rs__realloc(void *p, size_t n)
{
	if (injected_failure())
		return NULL;
	return realloc(p, n ? n : 1);
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
	if (!p)
		return NULL;
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
