/* Tests of lib/http/insecure.c with a fake resolver (nothing is looked up for real). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/insecure.h"
#include "util/util.h"

#include "testutil.h"

static char tmpdir[64];

typedef struct {
	int calls;
} resolver_state;

/* name -> space-separated addresses */
static const char *const fake_dns[][2] = {
        {"registry.local", "127.0.0.1"},      {"both.local", "127.0.1.1 ::1"},
        {"mapped.local", "::ffff:127.0.0.9"}, {"mixed.example", "127.0.0.1 93.184.216.34"},
        {"public.example", "93.184.216.34"},  {"internal.corp", "10.1.2.3 10.200.0.1"},
        {"leaky.corp", "10.1.2.3 8.8.8.8"},   {"v6.corp", "fd00::5"},
};

static int fake_resolve(rs_strlist *out, const char *host, void *payload)
{
	resolver_state *st = payload;
	st->calls++;
	for (size_t i = 0; i < sizeof(fake_dns) / sizeof(fake_dns[0]); i++) {
		if (strcmp(fake_dns[i][0], host) == 0) {
			char *copy = rs__strdup(fake_dns[i][1]), *save = NULL;
			for (char *t = strtok_r(copy, " ", &save); t;
			     t = strtok_r(NULL, " ", &save))
				rs__strlist_push(out, t);
			free(copy);
			return 0;
		}
	}
	return rs__error_set(RS_ENET, "cannot resolve %s: unknown host", host);
}

static char *write_tmp(const char *name, const char *content)
{
	rs_buf p = RS_BUF_INIT;
	rs__buf_printf(&p, "%s/%s", tmpdir, name);
	assert_int_equal(rs__file_write_atomic(p.ptr, content, strlen(content), 0644), 0);
	return rs__buf_detach(&p);
}

static char *tmp_path(const char *name)
{
	rs_buf p = RS_BUF_INIT;
	rs__buf_printf(&p, "%s/%s", tmpdir, name);
	return rs__buf_detach(&p);
}

static int setup(void **state)
{
	(void)state;
	return test_tmpdir(tmpdir, sizeof(tmpdir), "insecure");
}

static int teardown(void **state)
{
	(void)state;
	return test_rm_rf(tmpdir);
}

/* A policy with no files and the fake resolver. */
static void load_empty(rs__insecure_policy *p, resolver_state *st, bool flag)
{
	char *none1 = tmp_path("none-daemon.json"), *none2 = tmp_path("none-own.json");
	assert_int_equal(rs__insecure_load(p, none1, none2, flag), 0);
	p->resolve = fake_resolve;
	p->resolve_payload = st;
	free(none1);
	free(none2);
}

static void expect_allowed(const rs__insecure_policy *p, const char *hp, const char *want_why)
{
	const char *why = NULL;
	if (!rs__insecure_allowed(p, hp, &why))
		fail_msg("%s should be allowed (%s)", hp, want_why);
	assert_non_null(why);
	assert_string_equal(why, want_why);
}

static void expect_refused(const rs__insecure_policy *p, const char *hp)
{
	const char *why = "unchanged";
	if (rs__insecure_allowed(p, hp, &why))
		fail_msg("%s should be refused, allowed as \"%s\"", hp, why);
	assert_null(why);
}

static void test_loopback(void **state)
{
	rs__insecure_policy p;
	resolver_state st = {0};
	(void)state;
	load_empty(&p, &st, false);
	expect_allowed(&p, "127.0.0.1", "loopback");
	expect_allowed(&p, "127.0.0.1:5000", "loopback");
	expect_allowed(&p, "127.255.255.254:443", "loopback");
	expect_allowed(&p, "[::1]:5000", "loopback");
	expect_allowed(&p, "[::1]", "loopback");
	expect_allowed(&p, "::1", "loopback");
	expect_allowed(&p, "[::ffff:127.0.0.1]:80", "loopback");
	expect_allowed(&p, "localhost", "loopback");
	expect_allowed(&p, "LocalHost:5000", "loopback");
	/* literals and "localhost" never reach the resolver */
	assert_int_equal(st.calls, 0);
	expect_refused(&p, "128.0.0.1:5000");
	expect_refused(&p, "126.255.255.255");
	expect_refused(&p, "[::2]:5000");
	expect_refused(&p, "0.0.0.0");
	assert_int_equal(st.calls, 0);
	rs__insecure_dispose(&p);
}

static void test_resolved_names(void **state)
{
	rs__insecure_policy p;
	resolver_state st = {0};
	(void)state;
	load_empty(&p, &st, false);
	expect_allowed(&p, "registry.local:5000", "loopback");
	assert_int_equal(st.calls, 1);
	expect_allowed(&p, "both.local", "loopback");
	expect_allowed(&p, "mapped.local:1", "loopback");
	/* one public address is enough to refuse */
	expect_refused(&p, "mixed.example:5000");
	expect_refused(&p, "public.example:5000");
	/* resolution failure: refused */
	expect_refused(&p, "unknown.example");
	expect_refused(&p, "");
	assert_false(rs__insecure_allowed(&p, NULL, NULL));
	assert_false(rs__insecure_allowed(NULL, "localhost", NULL));
	rs__insecure_dispose(&p);
}

static void test_flag(void **state)
{
	rs__insecure_policy p;
	resolver_state st = {0};
	(void)state;
	load_empty(&p, &st, true);
	expect_allowed(&p, "public.example:5000", "--insecure");
	expect_allowed(&p, "example.com", "--insecure");
	rs__insecure_dispose(&p);
}

static void test_lists(void **state)
{
	rs__insecure_policy p;
	resolver_state st = {0};
	char *daemon = write_tmp("daemon.json", "{\"debug\": true, \"insecure-registries\": "
	                                        "[\"myreg:5000\", \"Plain.Example\", "
	                                        "\"http://web.example:8080/\", \"10.0.0.0/8\", "
	                                        "\"192.168.1.0/25\"]}");
	char *own = write_tmp("own.json", "{\"insecure-registries\": [\"own.example:443\", "
	                                  "\"fd00::/8\"], \"other-setting\": 1}");
	char *want_daemon = NULL, *want_own = NULL;
	(void)state;
	assert_int_equal(rs__insecure_load(&p, daemon, own, false), 0);
	p.resolve = fake_resolve;
	p.resolve_payload = &st;
	want_daemon = rs__strdup(p.daemon.why);
	want_own = rs__strdup(p.own.why);
	assert_true(rs__str_startswith(want_daemon, "listed in "));
	assert_true(rs__str_endswith(want_daemon, "/daemon.json"));
	assert_true(rs__str_endswith(want_own, "/own.json"));

	/* exact host:port or host, case-insensitive */
	expect_allowed(&p, "myreg:5000", want_daemon);
	expect_allowed(&p, "MyReg:5000", want_daemon);
	expect_refused(&p, "myreg:5001");
	expect_refused(&p, "myreg");
	expect_allowed(&p, "plain.example", want_daemon);
	expect_refused(&p, "plain.example:5000");
	expect_allowed(&p, "web.example:8080", want_daemon); /* scheme and '/' ignored */
	expect_allowed(&p, "own.example:443", want_own);
	expect_refused(&p, "own.example");

	/* CIDRs: literals, and names whose every address is inside */
	expect_allowed(&p, "10.9.8.7:5000", want_daemon);
	expect_allowed(&p, "192.168.1.127", want_daemon);
	expect_refused(&p, "192.168.1.128");
	expect_refused(&p, "11.0.0.1");
	expect_allowed(&p, "internal.corp:5000", want_daemon);
	expect_refused(&p, "leaky.corp:5000");
	expect_allowed(&p, "[fd12::1]:5000", want_own);
	expect_allowed(&p, "v6.corp", want_own);
	expect_refused(&p, "[fe80::1]:5000");
	expect_refused(&p, "public.example");

	rs__insecure_dispose(&p);
	free(want_daemon);
	free(want_own);
	free(daemon);
	free(own);
}

static void expect_load_error(const char *content, const char *fragment, bool as_daemon)
{
	rs__insecure_policy p;
	char *path = write_tmp(as_daemon ? "bad-daemon.json" : "bad-own.json", content);
	char *none = tmp_path("none.json");
	assert_int_equal(
	        rs__insecure_load(&p, as_daemon ? path : none, as_daemon ? none : path, false),
	        RS_EFORMAT);
	assert_non_null(strstr(rs_error_last()->message, path));
	if (!strstr(rs_error_last()->message, fragment))
		fail_msg("got \"%s\", want \"%s\"", rs_error_last()->message, fragment);
	/* a failed load leaves nothing to free */
	assert_null(p.daemon.path);
	assert_null(p.own.path);
	free(path);
	free(none);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_load_error("{\"insecure-registries\": [", "invalid JSON at line 1", true);
	expect_load_error("[\"a\"]", "expected a JSON object at the top level", false);
	expect_load_error("{\"insecure-registries\": \"myreg:5000\"}",
	                  "\"insecure-registries\" must be an array of strings", true);
	expect_load_error("{\"insecure-registries\": [\"ok\", 5]}", "item 2 is not a string",
	                  false);
	expect_load_error("{\"insecure-registries\": [\"10.0.0.0/33\"]}",
	                  "invalid entry \"10.0.0.0/33\" in \"insecure-registries\": prefix length "
	                  "must be 0 to 32",
	                  true);
	expect_load_error("{\"insecure-registries\": [\"fd00::/129\"]}", "0 to 128", false);
	expect_load_error("{\"insecure-registries\": [\"nothost/8\"]}", "not an IP address", true);
	expect_load_error("{\"insecure-registries\": [\"10.0.0.0/x\"]}", "expected a prefix length",
	                  true);
	expect_load_error("{\"insecure-registries\": [\"ftp://x\"]}", "only http:// or https://",
	                  true);
	expect_load_error("{\"insecure-registries\": [\"\"]}", "invalid entry \"\"", false);
	expect_load_error("{\"insecure-registries\": [\"a b\"]}", "contains whitespace", false);
}

static void test_missing_and_empty_files(void **state)
{
	rs__insecure_policy p;
	char *empty = write_tmp("empty.json", "  \n");
	char *none = tmp_path("none.json");
	char *nokey = write_tmp("nokey.json", "{\"debug\": true, \"insecure-registries\": null}");
	(void)state;
	assert_int_equal(rs__insecure_load(&p, none, empty, false), 0);
	assert_int_equal(p.daemon.names.count + p.own.names.count, 0);
	assert_ptr_equal(p.resolve, rs__resolve_getaddrinfo);
	rs__insecure_dispose(&p);
	assert_int_equal(rs__insecure_load(&p, nokey, none, false), 0);
	assert_int_equal(p.daemon.ncidrs, 0);
	rs__insecure_dispose(&p);
	rs__insecure_dispose(NULL);
	free(empty);
	free(none);
	free(nokey);
}

static void test_own_path(void **state)
{
	char *p = NULL, *saved_home = getenv("HOME") ? rs__strdup(getenv("HOME")) : NULL;
	(void)state;
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	assert_int_equal(rs__insecure_own_config_path(&p), 0);
	assert_string_equal(p, "/xdg/regship/config.json");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/u", 1);
	assert_int_equal(rs__insecure_own_config_path(&p), 0);
	assert_string_equal(p, "/home/u/.config/regship/config.json");
	free(p);
	unsetenv("HOME");
	assert_int_equal(rs__insecure_own_config_path(&p), RS_ENOTFOUND);
	if (saved_home)
		setenv("HOME", saved_home, 1);
	free(saved_home);
}

static void test_refusal(void **state)
{
	rs__insecure_policy p;
	char *saved_home = getenv("HOME") ? rs__strdup(getenv("HOME")) : NULL;
	char *own = tmp_path("cfg/regship/config.json");
	char *none = tmp_path("none.json");
	(void)state;
	setenv("HOME", tmpdir, 1);
	assert_int_equal(rs__insecure_load(&p, none, own, false), 0);
	assert_int_equal(rs__insecure_refuse(&p, "example.com:5000", RS__INSECURE_PLAIN_HTTP),
	                 RS_EINSECURE);
	assert_int_equal(rs_error_last()->code, RS_EINSECURE);
	assert_string_equal(rs_error_last()->message,
	                    "registry \"example.com:5000\" offers only plain HTTP; refusing to "
	                    "send requests (and credentials) unencrypted. Use --insecure, or add "
	                    "it to \"insecure-registries\" in ~/cfg/regship/config.json");
	assert_int_equal(rs__insecure_refuse(&p, "example.com", RS__INSECURE_UNVERIFIED_TLS),
	                 RS_EINSECURE);
	assert_non_null(strstr(rs_error_last()->message,
	                       "has a TLS certificate that cannot be verified; refusing to send "
	                       "requests (and credentials) over an unverified connection"));
	rs__insecure_dispose(&p);

	/* without a policy: the default path of regship's config */
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(rs__insecure_refuse(NULL, "r:1", RS__INSECURE_PLAIN_HTTP), RS_EINSECURE);
	assert_true(rs__str_endswith(rs_error_last()->message, "in ~/.config/regship/config.json"));
	if (saved_home)
		setenv("HOME", saved_home, 1);
	free(saved_home);
	free(own);
	free(none);
}

/* The real resolver, on numeric input only (no network). */
static void test_getaddrinfo_numeric(void **state)
{
	rs_strlist out = RS_STRLIST_INIT;
	(void)state;
	assert_int_equal(rs__resolve_getaddrinfo(&out, "127.0.0.2", NULL), 0);
	assert_int_equal(out.count, 1);
	assert_string_equal(out.items[0], "127.0.0.2");
	rs__strlist_dispose(&out);
	assert_int_equal(rs__resolve_getaddrinfo(&out, "::1", NULL), 0);
	assert_string_equal(out.items[0], "::1");
	rs__strlist_dispose(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_loopback),
	        cmocka_unit_test(test_resolved_names),
	        cmocka_unit_test(test_flag),
	        cmocka_unit_test(test_lists),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_missing_and_empty_files),
	        cmocka_unit_test(test_own_path),
	        cmocka_unit_test(test_refusal),
	        cmocka_unit_test(test_getaddrinfo_numeric),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
