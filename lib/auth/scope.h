/*
 * Token scopes (distribution docs/spec/auth/scope.md):
 *
 *   scope         := resourcescope [ ' ' resourcescope ]*
 *   resourcescope := resourcetype ["(" class ")"] ":" resourcename ":" action [ "," action ]*
 *
 * A resource name may hold a host:port ("repository:localhost:5000/foo:pull"), so a resource scope
 * is split on its first and last ':'.
 */
#ifndef RS_AUTH_SCOPE_H
#define RS_AUTH_SCOPE_H

#include "util/util.h"

#include <stdbool.h>

#define RS__SCOPE_CATALOG "registry:catalog:*"

typedef struct rs__scope {
	char *type; /* "repository", "registry" */
	char *resource_class; /* "plugin" in "repository(plugin):…", or NULL */
	char *name; /* "library/ubuntu", "catalog" */
	rs_strlist actions; /* in order of first appearance, no duplicates */
} rs__scope;

/* A set of resource scopes, one entry per resource (type, class, name), in order of appearance. */
typedef struct rs__scopes {
	rs__scope *items;
	size_t count;
	size_t alloc;
} rs__scopes;

#define RS__SCOPES_INIT                                                                            \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void rs__scope_dispose(rs__scope *s);

/* "repository:<path>:<actions>" (actions as given, e.g. "pull" or "pull,push"). Caller frees.
 * NULL when out of memory (as for every char * this header returns). */
char *rs__scope_repository(const char *path, const char *actions);

/* Parse a space-separated scope set and merge it into set (actions of the same resource are
 * merged). On a malformed scope (RS_EFORMAT) set is left unchanged; out of memory (RS_ENOMEM)
 * may leave it partly merged. NULL or "" adds nothing. */
int rs__scopes_add_text(rs__scopes *set, const char *text);
/* Merge one resource scope into set. 0 or RS_ENOMEM. */
int rs__scopes_add(rs__scopes *set, const rs__scope *s);
/* Space-separated, in the set's order ("" when empty). Caller frees. */
char *rs__scopes_format(const rs__scopes *set);
void rs__scopes_dispose(rs__scopes *set);

/*
 * Union of two space-separated scope sets: resources in order of first appearance (a, then b),
 * actions of the same resource merged in order of first appearance, no duplicates. E.g.
 * "repository:a/b:pull" + "repository:a/b:push repository:c:pull"
 *   = "repository:a/b:pull,push repository:c:pull".
 */
int rs__scope_union(char **out, const char *a, const char *b);

/* Does the scope set `have` grant every action of every resource in `want`? An action "*" in
 * `have` grants all actions on that resource. Malformed input covers nothing (false); so does
 * running out of memory (with RS_ENOMEM set: the caller then asks for a new token). */
bool rs__scope_covers(const char *have, const char *want);

#endif
