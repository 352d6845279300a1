/*
 * WWW-Authenticate parsing (RFC 7235):
 *
 *   WWW-Authenticate = 1#challenge
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 *
 * One header value may hold several challenges separated by commas
 * (`Basic realm="a", Bearer realm="b",service="c"`), and a response may carry several header
 * lines: call rs__challenges_parse once per line; each call appends to the list.
 */
#ifndef RS_AUTH_CHALLENGE_H
#define RS_AUTH_CHALLENGE_H

#include <stddef.h>

typedef struct rs__auth_param {
	char *name; /* lowercase */
	char *value; /* unquoted, escapes resolved */
} rs__auth_param;

typedef struct rs__challenge {
	char *scheme; /* lowercase: "bearer", "basic", ... */
	/* shortcuts to the first parameter of that name; NULL if absent (owned by params) */
	const char *realm, *service, *scope, *error;
	char *token68; /* the token68 form ("Negotiate abc=="), or NULL */
	rs__auth_param *params;
	size_t nparams;
} rs__challenge;

typedef struct rs__challenges {
	rs__challenge *items;
	size_t count;
	size_t alloc;
} rs__challenges;

#define RS__CHALLENGES_INIT                                                                        \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/*
 * Parse one header value and append its challenges to list. On malformed input returns
 * RS_EFORMAT (message says what and where) and leaves list as it was.
 */
int rs__challenges_parse(rs__challenges *list, const char *header_value);

/* Free everything in the list and reset it to RS__CHALLENGES_INIT. NULL-safe. */
void rs__challenges_dispose(rs__challenges *list);

/* The challenge to answer: the first Bearer, else the first Basic, else NULL. */
const rs__challenge *rs__challenges_pick(const rs__challenges *list);

/* The first challenge with this (case-insensitive) scheme, or NULL. */
const rs__challenge *rs__challenges_find(const rs__challenges *list, const char *scheme);

/* The value of a parameter (name case-insensitive), or NULL. */
const char *rs__challenge_param(const rs__challenge *c, const char *name);

#endif
