/* Unit tests for rs__url_policy (lib/registry/urlpolicy.c): which URLs a server hands back are
 * followed, and which of them get the registry's credentials. A fake resolver: nothing is looked
 * up for real. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/registry.h"
#include "util/util.h"

#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static char tmpdir[64];
static rs__insecure_policy policy;

static const char *const fake_dns[][2] = {
        {"registry.local", "127.0.0.1"},
        {"public.example", "93.184.216.34"},
        {"listed.corp", "10.1.2.3"},
};

static int fake_resolve(rs_strlist *out, const char *host, void *payload)
{
	(void)payload;
	for (size_t i = 0; i < sizeof(fake_dns) / sizeof(fake_dns[0]); i++) {
		if (!strcmp(fake_dns[i][0], host)) {
			rs__strlist_push(out, fake_dns[i][1]);
			return 0;
		}
	}
	return rs__error_set(RS_ENET, "cannot resolve %s: unknown host", host);
}

static int setup(void **state)
{
	rs_buf daemon = RS_BUF_INIT, own = RS_BUF_INIT;
	static const char listed[] = "{\"insecure-registries\": [\"listed.corp:5000\"]}";
	int rc;
	(void)state;
	if (test_tmpdir(tmpdir, sizeof(tmpdir), "urlpolicy") < 0)
		return -1;
	rs__buf_printf(&daemon, "%s/daemon.json", tmpdir);
	rs__buf_printf(&own, "%s/none.json", tmpdir);
	if (rs__file_write_atomic(daemon.ptr, listed, strlen(listed), 0644) < 0)
		return -1;
	rc = rs__insecure_load(&policy, daemon.ptr, own.ptr, false);
	policy.resolve = fake_resolve;
	policy.resolve_payload = NULL;
	rs_buf_dispose(&daemon);
	rs_buf_dispose(&own);
	return rc;
}

static int teardown(void **state)
{
	(void)state;
	rs__insecure_dispose(&policy);
	return test_rm_rf(tmpdir);
}

/* followed, with credentials or not */
static void expect_ok(const char *base, const char *url, rs__url_kind kind, bool credentials)
{
	bool got = !credentials;
	rs_error_clear();
	if (rs__url_policy(&got, &policy, "reg.example", base, url, kind) < 0)
		fail_msg("%s refused: %s", url, rs_error_last()->message);
	if (got != credentials)
		fail_msg("%s: credentials %s, expected %s", url, got ? "sent" : "kept",
		         credentials ? "sent" : "kept");
}

static void expect_refused(const char *base, const char *url, rs__url_kind kind, int code,
                           const char *message_part)
{
	bool got = true;
	rs_error_clear();
	assert_int_equal(rs__url_policy(&got, &policy, "reg.example", base, url, kind), code);
	assert_false(got);
	if (!strstr(rs_error_last()->message, message_part))
		fail_msg("message \"%s\" lacks \"%s\"", rs_error_last()->message, message_part);
}

static void test_credentials_only_to_the_same_origin(void **state)
{
	(void)state;
	expect_ok("https://reg.example", "https://reg.example/v2/a/tags/list?n=1", RS__URL_LINK,
	          true);
	expect_ok("https://reg.example", "https://REG.example:443/v2/x", RS__URL_LINK, true);
	/* another host, another port, another scheme: another origin */
	expect_ok("https://reg.example", "https://cdn.example/blob", RS__URL_REDIRECT, false);
	expect_ok("https://reg.example", "https://reg.example:8443/v2/x", RS__URL_LINK, false);
	expect_ok("http://127.0.0.1:5000", "http://127.0.0.1:5001/v2/x", RS__URL_LINK, false);
	expect_ok("http://127.0.0.1:5000", "http://localhost:5000/v2/x", RS__URL_LINK, false);
	expect_ok("https://127.0.0.1:5000", "http://127.0.0.1:5000/v2/x", RS__URL_LINK, false);
	expect_ok("http://127.0.0.1:5000", "http://127.0.0.1:5000/v2/x", RS__URL_UPLOAD, true);
	/* no base known: nothing goes */
	expect_ok(NULL, "https://reg.example/v2/x", RS__URL_OTHER, false);
}

static void test_realm_gets_the_login(void **state)
{
	(void)state;
	expect_ok("https://reg.example", "https://auth.example/token", RS__URL_REALM, true);
	expect_refused("https://reg.example", "http://public.example/token", RS__URL_REALM,
	               RS_EINSECURE, "token realm from reg.example points to plain HTTP");
}

static void test_only_http_and_https(void **state)
{
	(void)state;
	expect_refused("https://reg.example", "file:///etc/passwd", RS__URL_LINK, RS_EPROTO,
	               "uses the scheme \"file\"");
	expect_refused("https://reg.example", "ftp://reg.example/x", RS__URL_REDIRECT, RS_EPROTO,
	               "redirect Location from reg.example uses the scheme \"ftp\"");
	expect_refused("https://reg.example", "gopher://reg.example/x", RS__URL_UPLOAD, RS_EPROTO,
	               "only http and https");
	expect_refused("https://reg.example", "not a url", RS__URL_LINK, RS_EPROTO,
	               "not a valid URL");
	expect_refused("https://reg.example", "https://user:pw@reg.example/v2/", RS__URL_LINK,
	               RS_EPROTO, "user name or password");
}

static void test_plain_http_only_where_allowed(void **state)
{
	(void)state;
	expect_ok("http://127.0.0.1:5000", "http://127.0.0.1:5000/v2/x", RS__URL_LINK, true);
	expect_ok("http://127.0.0.1:5000", "http://[::1]:5000/v2/x", RS__URL_LINK, false);
	expect_ok("http://127.0.0.1:5000", "http://registry.local:7/v2/x", RS__URL_LINK, false);
	expect_ok("http://listed.corp:5000", "http://listed.corp:5000/v2/x", RS__URL_LINK, true);
	expect_refused("https://reg.example", "http://public.example/v2/x", RS__URL_LINK,
	               RS_EINSECURE, "points to plain HTTP on public.example");
	expect_refused("https://reg.example", "http://reg.example/v2/x", RS__URL_REDIRECT,
	               RS_EINSECURE, "plain HTTP");
	/* listed with its port: another port is not listed */
	expect_refused("http://listed.corp:5000", "http://listed.corp:6000/v2/x", RS__URL_LINK,
	               RS_EINSECURE, "listed.corp:6000");
	expect_refused("https://reg.example", "http://93.184.216.34:80/x", RS__URL_REDIRECT,
	               RS_EINSECURE, "on 93.184.216.34 ");
}

static void test_messages_escape_the_url(void **state)
{
	(void)state;
	expect_refused("https://reg.example", "ftp://x/\x1b[2J", RS__URL_LINK, RS_EPROTO,
	               "\\x1b[2J");
	assert_null(strchr(rs_error_last()->message, '\x1b'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_credentials_only_to_the_same_origin),
	        cmocka_unit_test(test_realm_gets_the_login),
	        cmocka_unit_test(test_only_http_and_https),
	        cmocka_unit_test(test_plain_http_only_where_allowed),
	        cmocka_unit_test(test_messages_escape_the_url),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
