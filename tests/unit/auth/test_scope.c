/* Tests of lib/auth/scope.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "auth/scope.h"

/* One resource scope, parsed by the library's parser (rs__scopes_add_text) into a set. */
static const rs__scope *parse1(rs__scopes *set, const char *text)
{
	rs__scopes_dispose(set);
	assert_int_equal(rs__scopes_add_text(set, text), 0);
	assert_int_equal(set->count, 1);
	return &set->items[0];
}

static void test_parse(void **state)
{
	rs__scopes set = RS__SCOPES_INIT;
	const rs__scope *s;
	char *f;
	(void)state;
	s = parse1(&set, "repository:foo/bar:pull,push");
	assert_string_equal(s->type, "repository");
	assert_null(s->resource_class);
	assert_string_equal(s->name, "foo/bar");
	assert_int_equal(s->actions.count, 2);
	assert_string_equal(s->actions.items[0], "pull");
	assert_string_equal(s->actions.items[1], "push");

	/* first and last ':' — the name keeps its host:port */
	s = parse1(&set, "repository:localhost:5000/foo/bar:pull");
	assert_string_equal(s->name, "localhost:5000/foo/bar");
	assert_int_equal(s->actions.count, 1);

	s = parse1(&set, "repository(plugin):a/b:pull,pull,push");
	assert_string_equal(s->type, "repository");
	assert_string_equal(s->resource_class, "plugin");
	assert_int_equal(s->actions.count, 2); /* duplicates dropped */
	f = rs__scopes_format(&set);
	assert_string_equal(f, "repository(plugin):a/b:pull,push");
	free(f);

	s = parse1(&set, RS__SCOPE_CATALOG);
	assert_string_equal(s->type, "registry");
	assert_string_equal(s->name, "catalog");
	assert_string_equal(s->actions.items[0], "*");
	rs__scopes_dispose(&set);
	rs__scope_dispose(NULL);
}

static void expect_bad(const char *text, const char *fragment)
{
	rs__scopes set = RS__SCOPES_INIT;
	assert_int_equal(rs__scopes_add_text(&set, text), RS_EFORMAT);
	assert_int_equal(set.count, 0);
	if (!strstr(rs_error_last()->message, fragment) ||
	    !rs__str_startswith(rs_error_last()->message, "invalid scope \""))
		fail_msg("\"%s\": got \"%s\", want \"%s\"", text, rs_error_last()->message,
		         fragment);
	rs__scopes_dispose(&set);
}

static void test_parse_bad(void **state)
{
	(void)state;
	expect_bad("repository", "expected resourcetype:resourcename:actions");
	expect_bad("repository:foo", "expected resourcetype:resourcename:actions");
	expect_bad("repository::pull", "resource name is empty");
	expect_bad(":foo:pull", "resource type is empty");
	expect_bad("Repository:foo:pull", "resource type must be lowercase");
	expect_bad("repository:foo:", "no actions");
	expect_bad("repository:foo:pull,", "empty action");
	expect_bad("repository:foo:pull,,push", "empty action");
	expect_bad("repository(plugin:foo:pull", "type(class)");
	expect_bad("repository():foo:pull", "type(class)");
	expect_bad("repository(Pl):foo:pull", "resource class must be lowercase");
	expect_bad("repository:a:pull Bad:b:pull", "resource type must be lowercase");
}

static void test_repository(void **state)
{
	char *s = rs__scope_repository("library/ubuntu", "pull,push");
	(void)state;
	assert_string_equal(s, "repository:library/ubuntu:pull,push");
	free(s);
}

static void expect_union(const char *a, const char *b, const char *want)
{
	char *u = NULL;
	assert_int_equal(rs__scope_union(&u, a, b), 0);
	assert_string_equal(u, want);
	free(u);
}

static void test_union(void **state)
{
	char *u = (char *)"x";
	rs__scopes set = RS__SCOPES_INIT;
	(void)state;
	expect_union("repository:a/b:pull", "repository:a/b:push repository:c:pull",
	             "repository:a/b:pull,push repository:c:pull");
	expect_union("repository:a/b:pull,push", "repository:a/b:push,pull",
	             "repository:a/b:pull,push");
	expect_union("", "repository:c:pull", "repository:c:pull");
	expect_union(NULL, NULL, "");
	expect_union("  repository:x:pull   registry:catalog:*  ", "repository:x:delete",
	             "repository:x:pull,delete registry:catalog:*");
	/* host:port names and classes are distinct resources */
	expect_union("repository:reg:5000/a:pull", "repository(plugin):reg:5000/a:push",
	             "repository:reg:5000/a:pull repository(plugin):reg:5000/a:push");
	/* within one set too */
	expect_union("repository:a:pull repository:a:push", "", "repository:a:pull,push");

	assert_int_equal(rs__scope_union(&u, "repository:a:pull", "garbage"), RS_EFORMAT);
	assert_null(u);
	assert_non_null(strstr(rs_error_last()->message, "invalid scope \"garbage\""));

	/* a failed add leaves the set unchanged */
	assert_int_equal(rs__scopes_add_text(&set, "repository:a:pull"), 0);
	assert_int_equal(rs__scopes_add_text(&set, "repository:b:pull bad"), RS_EFORMAT);
	u = rs__scopes_format(&set);
	assert_string_equal(u, "repository:a:pull");
	free(u);
	rs__scopes_dispose(&set);
}

static void test_covers(void **state)
{
	(void)state;
	assert_true(rs__scope_covers("repository:a/b:pull,push", "repository:a/b:pull"));
	assert_true(rs__scope_covers("repository:a/b:pull,push repository:c:pull",
	                             "repository:c:pull repository:a/b:push,pull"));
	assert_false(rs__scope_covers("repository:a/b:pull", "repository:a/b:pull,push"));
	assert_false(rs__scope_covers("repository:a/b:pull", "repository:c:pull"));
	assert_false(rs__scope_covers("", "repository:c:pull"));
	assert_true(rs__scope_covers("repository:c:pull", ""));
	assert_true(rs__scope_covers("registry:catalog:*", "registry:catalog:*"));
	assert_true(rs__scope_covers("repository:a:*", "repository:a:pull,push,delete"));
	assert_false(rs__scope_covers("repository(plugin):a:pull", "repository:a:pull"));
	assert_false(rs__scope_covers("bad", "repository:a:pull"));
	assert_false(rs__scope_covers("repository:a:pull", "bad"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse),      cmocka_unit_test(test_parse_bad),
	        cmocka_unit_test(test_repository), cmocka_unit_test(test_union),
	        cmocka_unit_test(test_covers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
