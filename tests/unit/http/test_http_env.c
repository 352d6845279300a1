/*
 * Unit tests for the parts of lib/http/http.c that read the environment or shape what is
 * printed: the proxy decision (http_proxy, https_proxy, all_proxy, no_proxy; loopback never
 * proxied), trace redaction and duration texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static const char *const proxy_vars[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                         "HTTPS_PROXY", "all_proxy",  "ALL_PROXY",
                                         "no_proxy",    "NO_PROXY",   "REQUEST_METHOD"};

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
		unsetenv(proxy_vars[i]);
	return 0;
}

static void proxied(const char *url, const char *expected)
{
	char *p = rs__http_proxy_for(url);
	if (!expected && p)
		fail_msg("%s goes through %s, expected no proxy", url, p);
	if (expected && (!p || strcmp(p, expected)))
		fail_msg("%s goes through %s, expected %s", url, p ? p : "(none)", expected);
	free(p);
}

static void test_proxy_by_scheme(void **state)
{
	clear_env(state);
	proxied("https://reg.example:5000/v2/", NULL);
	setenv("http_proxy", "http://hp:3128", 1);
	setenv("https_proxy", "http://sp:3128", 1);
	proxied("http://reg.example:5000/v2/", "http://hp:3128");
	proxied("https://reg.example:5000/v2/", "http://sp:3128");
	unsetenv("https_proxy");
	setenv("HTTPS_PROXY", "http://SP:3128", 1);
	proxied("https://reg.example/v2/", "http://SP:3128");
	unsetenv("HTTPS_PROXY");
	proxied("https://reg.example/v2/", NULL);
	setenv("ALL_PROXY", "socks5h://all:1080", 1);
	proxied("https://reg.example/v2/", "socks5h://all:1080");
	clear_env(state);
	/* HTTP_PROXY as Go (docker) reads it, but not in a CGI (httpoxy) */
	setenv("HTTP_PROXY", "http://upper:3128", 1);
	proxied("http://reg.example/v2/", "http://upper:3128");
	setenv("REQUEST_METHOD", "GET", 1);
	proxied("http://reg.example/v2/", NULL);
	clear_env(state);
}

static void test_loopback_never_proxied(void **state)
{
	clear_env(state);
	setenv("http_proxy", "http://hp:3128", 1);
	setenv("https_proxy", "http://hp:3128", 1);
	setenv("all_proxy", "http://hp:3128", 1);
	proxied("http://127.0.0.1:5000/v2/", NULL);
	proxied("http://127.3.2.1:5000/v2/", NULL);
	proxied("https://localhost:5000/v2/", NULL);
	proxied("https://LocalHost./v2/", NULL);
	proxied("https://registry.localhost:5000/v2/", NULL);
	proxied("http://[::1]:5000/v2/", NULL);
	proxied("http://[::ffff:127.0.0.1]:5000/v2/", NULL);
	/* look-alikes are not loopback */
	proxied("http://localhost.example.com/v2/", "http://hp:3128");
	proxied("http://128.0.0.1/v2/", "http://hp:3128");
	proxied("http://notlocalhost/v2/", "http://hp:3128");
	assert_false(rs__host_is_loopback("localhostx"));
	assert_true(rs__host_is_loopback("a.b.localhost"));
	clear_env(state);
}

static void test_no_proxy(void **state)
{
	clear_env(state);
	setenv("https_proxy", "http://p:3128", 1);
	setenv("no_proxy",
	       "example.com, .corp.internal,10.0.0.0/8, "
	       "fd00::/8,192.168.1.7,[fe80::1]:5000,reg.io:5000",
	       1);
	proxied("https://example.com/v2/", NULL);
	proxied("https://reg.example.com:5000/v2/", NULL);
	proxied("https://badexample.com/v2/", "http://p:3128");
	proxied("https://x.corp.internal/v2/", NULL);
	proxied("https://corp.internal/v2/", NULL);
	proxied("https://10.20.30.40/v2/", NULL);
	proxied("https://11.0.0.1/v2/", "http://p:3128");
	proxied("https://[fd12::1]/v2/", NULL);
	proxied("https://[fe80::1]:5000/v2/", NULL);
	proxied("https://192.168.1.7:443/v2/", NULL);
	proxied("https://192.168.1.8/v2/", "http://p:3128");
	proxied("https://reg.io/v2/", NULL);
	/* NO_PROXY when no_proxy is unset; "*" means every host */
	unsetenv("no_proxy");
	setenv("NO_PROXY", "*", 1);
	proxied("https://anything.example/v2/", NULL);
	clear_env(state);
}

static void test_proxy_display(void **state)
{
	char *d;
	(void)state;
	d = rs__proxy_display("http://bob:s3cret@proxy.example:3128/");
	assert_string_equal(d, "http://proxy.example:3128");
	free(d);
	d = rs__proxy_display("proxy.example");
	assert_string_equal(d, "http://proxy.example:1080");
	free(d);
}

static void redacts(const char *line, const char *expected)
{
	rs_buf b = RS_BUF_INIT;
	rs__trace_redact(&b, line, strlen(line));
	if (strcmp(rs__buf_cstr(&b), expected))
		fail_msg("redact(%s) = %s, expected %s", line, rs__buf_cstr(&b), expected);
	rs_buf_dispose(&b);
}

static void test_redact_headers(void **state)
{
	(void)state;
	redacts("Authorization: Basic YWRtaW46YWRtaW5wYXNz", "Authorization: [redacted]");
	redacts("authorization: Bearer x.y.z", "authorization: [redacted]");
	redacts("Proxy-Authorization: Basic Ym9iOnMzY3JldA==", "Proxy-Authorization: [redacted]");
	redacts("Cookie: a=b; c=d", "Cookie: [redacted]");
	redacts("Set-Cookie: session=abc; HttpOnly", "Set-Cookie: [redacted]");
	redacts("X-Auth-Token: abc", "X-Auth-Token: [redacted]");
	redacts("X-Registry-Auth: eyJ1c2VyIjoi", "X-Registry-Auth: [redacted]");
	/* ordinary headers stay */
	redacts("WWW-Authenticate: Bearer realm=\"https://auth.example/token\",service=\"reg\"",
	        "WWW-Authenticate: Bearer realm=\"https://auth.example/token\",service=\"reg\"");
	redacts("Content-Type: application/json", "Content-Type: application/json");
	redacts("Docker-Content-Digest: sha256:abc", "Docker-Content-Digest: sha256:abc");
}

static void test_redact_urls(void **state)
{
	(void)state;
	redacts("GET /v2/x/tags/list?n=1&access_token=abc.def HTTP/1.1",
	        "GET /v2/x/tags/list?n=1&access_token=[redacted] HTTP/1.1");
	redacts("Location: https://s3.example/b?X-Amz-Algorithm=AWS4&X-Amz-Credential=AK%2F1"
	        "&X-Amz-Signature=f00d&X-Amz-Security-Token=tok#frag",
	        "Location: https://s3.example/b?X-Amz-Algorithm=AWS4&X-Amz-Credential=[redacted]"
	        "&X-Amz-Signature=[redacted]&X-Amz-Security-Token=[redacted]#frag");
	redacts("Location: https://acct.blob.core.windows.net/c/b?sv=2020&sig=AbC%3D&se=2030",
	        "Location: https://acct.blob.core.windows.net/c/b?sv=2020&sig=[redacted]&se=2030");
	redacts("Location: https://cdn.example/b?Expires=1&Signature=xyz&Key-Pair-Id=K",
	        "Location: "
	        "https://cdn.example/b?Expires=1&Signature=[redacted]&Key-Pair-Id=[redacted]");
	redacts("* Uses proxy env variable https_proxy == 'http://bob:s3cret@127.0.0.1:3128'",
	        "* Uses proxy env variable https_proxy == 'http://[redacted]@127.0.0.1:3128'");
	redacts("grant_type=refresh_token&refresh_token=r3fr3sh&service=reg",
	        "grant_type=refresh_token&refresh_token=[redacted]&service=reg");
	/* nothing secret: unchanged */
	redacts("GET /v2/x/tags/list?n=100&last=v1.2 HTTP/1.1",
	        "GET /v2/x/tags/list?n=100&last=v1.2 HTTP/1.1");
	redacts("Link: </v2/_catalog?last=a%3Fb&n=2>; rel=\"next\"",
	        "Link: </v2/_catalog?last=a%3Fb&n=2>; rel=\"next\"");
}

static void test_redact_json(void **state)
{
	(void)state;
	redacts("{\"token\": \"eyJhbGciOi\", \"access_token\":\"eyJ\\\"x\", \"expires_in\": 300}",
	        "{\"token\": \"[redacted]\", \"access_token\":\"[redacted]\", \"expires_in\": "
	        "300}");
	redacts("{\"refresh_token\":\"abc\",\"issued_at\":\"2030-01-01T00:00:00Z\"}",
	        "{\"refresh_token\":\"[redacted]\",\"issued_at\":\"2030-01-01T00:00:00Z\"}");
	redacts("{\"name\":\"token\",\"tags\":[\"token\"]}",
	        "{\"name\":\"token\",\"tags\":[\"token\"]}");
	/* cut off in the middle: no read past the end */
	redacts("{\"token\": \"abc", "{\"token\": \"[redacted]\"");
	redacts("?access_token=", "?access_token=[redacted]");
	redacts("", "");
}

static void test_duration_format(void **state)
{
	char b[32];
	(void)state;
	rs__duration_format(b, sizeof(b), 0);
	assert_string_equal(b, "0ms");
	rs__duration_format(b, sizeof(b), 750);
	assert_string_equal(b, "750ms");
	rs__duration_format(b, sizeof(b), 1000);
	assert_string_equal(b, "1s");
	rs__duration_format(b, sizeof(b), 1500);
	assert_string_equal(b, "1.5s");
	rs__duration_format(b, sizeof(b), 1250);
	assert_string_equal(b, "1.25s");
	rs__duration_format(b, sizeof(b), 60000);
	assert_string_equal(b, "1m");
	rs__duration_format(b, sizeof(b), 90000);
	assert_string_equal(b, "1m30s");
	rs__duration_format(b, sizeof(b), 7200000);
	assert_string_equal(b, "2h");
	rs__duration_format(b, sizeof(b), 3661000);
	assert_string_equal(b, "1h1m1s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_proxy_by_scheme),
	        cmocka_unit_test(test_loopback_never_proxied),
	        cmocka_unit_test(test_no_proxy),
	        cmocka_unit_test(test_proxy_display),
	        cmocka_unit_test(test_redact_headers),
	        cmocka_unit_test(test_redact_urls),
	        cmocka_unit_test(test_redact_json),
	        cmocka_unit_test(test_duration_format),
	};
	return cmocka_run_group_tests(tests, clear_env, clear_env);
}
