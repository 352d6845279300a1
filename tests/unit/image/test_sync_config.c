/* Tests of lib/image/sync_config.c and the pure parts of lib/image/sync.c: skopeo's sync YAML,
 * destination naming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "regship/sync.h"
#include "util/util.h"

#include "../testutil.h"

static rs_sync_config *parse_ok(const char *text)
{
	rs_sync_config *c = NULL;
	int error = rs_sync_config_parse(&c, text, strlen(text), "sync.yaml");
	if (error < 0)
		fail_msg("%s", rs_error_last()->message);
	assert_non_null(c);
	return c;
}

/* Fails with RS_EINVAL and a message containing each of the words. */
static void parse_bad(const char *text, const char *w1, const char *w2)
{
	rs_sync_config *c = (rs_sync_config *)1;
	assert_int_equal(rs_sync_config_parse(&c, text, strlen(text), "sync.yaml"), RS_EINVAL);
	assert_null(c);
	if (!strstr(rs_error_last()->message, w1) || (w2 && !strstr(rs_error_last()->message, w2)))
		fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", rs_error_last()->message, w1,
		         w2 ? w2 : "");
}

static void test_skopeo_example(void **state)
{
	rs_buf text = RS_BUF_INIT;
	rs_sync_config *c;
	const rs_sync_registry *r;
	(void)state;
	test_data_read(&text, "sync/skopeo-example.yaml");
	c = parse_ok(text.ptr);
	assert_int_equal(c->registry_count, 2);
	r = &c->registries[0];
	assert_string_equal(r->name, "registry.example.com");
	assert_int_equal(r->line, 1);
	assert_int_equal(r->tls_verify, 1);
	assert_string_equal(r->cert_dir, "/home/john/certs");
	assert_string_equal(r->username, "john");
	assert_string_equal(r->password, "this is a secret");
	assert_int_equal(r->repo_count, 4);
	assert_string_equal(r->repos[0].name, "busybox");
	assert_int_equal(r->repos[0].tag_count, 0);
	assert_null(r->repos[0].tag_regex);
	assert_string_equal(r->repos[1].name, "redis");
	assert_int_equal(r->repos[1].tag_count, 3);
	assert_string_equal(r->repos[1].tags[0], "1.0");
	assert_int_equal(r->repos[1].line, 4);
	assert_string_equal(r->repos[2].tag_regex, "^1\\.13\\.[12]-alpine-perl$");
	assert_string_equal(r->repos[3].semver, ">= 3.12.0");
	r = &c->registries[1];
	assert_int_equal(r->tls_verify, 0);
	assert_null(r->username);
	assert_string_equal(r->repos[0].name, "coreos/etcd");
	assert_string_equal(r->repos[0].tags[0], "latest");
	rs_sync_config_free(c);
	rs_buf_dispose(&text);
}

static void test_errors_name_key_and_line(void **state)
{
	(void)state;
	parse_bad("r.io:\n  images:\n    a: []\n  imagez:\n    b: []\n",
	          "sync.yaml:4:", "unknown key \"imagez\"");
	parse_bad("r.io:\n  credentials:\n    username: u\n    pass: p\n",
	          "sync.yaml:4:", "\"pass\"");
	parse_bad("r.io:\n  credentials:\n    username: u\n", "sync.yaml:3:", "without password");
	parse_bad("r.io:\n  tls-verify: maybe\n", "sync.yaml:2:", "true or false");
	parse_bad("r.io:\n  images-by-tag-regex:\n    a: \"(\"\n",
	          "sync.yaml:3:", "regular expression");
	parse_bad("r.io:\n  images-by-semver:\n    a: \">=x\"\n", "sync.yaml:3:", "range");
	parse_bad("r.io:\n  images:\n    a: latest\n", "sync.yaml:3:", "list of tags");
	parse_bad("r.io:\n  images:\n    a: []\n    a: [v1]\n", "sync.yaml:4:", "twice");
	parse_bad("- r.io\n", "sync.yaml:1:", "mapping of registries");
	parse_bad("r.io:\n  images: [a\n", "sync.yaml:", "malformed YAML");
	parse_bad("", "no registries", NULL);
	parse_bad("r.io/path:\n  images:\n    a: []\n", "sync.yaml:1:", "not a registry");
	parse_bad("r.io:\n  images:\n    a:v1: []\n", "sync.yaml:3:", "repository path");
	parse_bad("r.io:\n  images:\n    a: []\n---\nq.io: {}\n", "second YAML document", NULL);
}

static void test_load_unreadable(void **state)
{
	rs_sync_config *c = NULL;
	(void)state;
	assert_int_equal(rs_sync_config_load(&c, "/nonexistent/sync.yaml"), RS_EIO);
	assert_non_null(strstr(rs_error_last()->message, "/nonexistent/sync.yaml"));
	assert_null(c);
}

static void test_dest_name(void **state)
{
	char *s;
	(void)state;
	s = rs_sync_dest_name("reg.local/mirror", "library/busybox", 0);
	assert_string_equal(s, "reg.local/mirror/busybox");
	free(s);
	s = rs_sync_dest_name("reg.local/mirror/", "r.io/library/busybox", 1);
	assert_string_equal(s, "reg.local/mirror/r.io/library/busybox");
	free(s);
	s = rs_sync_dest_name("", "busybox", 0);
	assert_string_equal(s, "busybox");
	free(s);
}

static void test_filter_check(void **state)
{
	rs_sync_filter f = {NULL, 0, "(", NULL};
	(void)state;
	assert_int_equal(rs_sync_filter_check(&f), RS_EINVAL);
	f.tag_regex = "^v[0-9]+$";
	f.semver = ">=2.1";
	assert_int_equal(rs_sync_filter_check(&f), 0);
	f.semver = "2.1,";
	assert_int_equal(rs_sync_filter_check(&f), RS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_skopeo_example),
	        cmocka_unit_test(test_errors_name_key_and_line),
	        cmocka_unit_test(test_load_unreadable),
	        cmocka_unit_test(test_dest_name),
	        cmocka_unit_test(test_filter_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
