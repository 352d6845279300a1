/* Unit tests for the network-free helpers of lib/http (http.c, http_transfer.c, http_failure.c):
 * URLs, Link and header lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http.h"
#include "util/util.h"

#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define UPLOAD_BASE "https://r.io:5000/v2/foo/blobs/uploads/abc?_state=xyz"

/* ---- rs__url_resolve ---- */

static void resolves(const char *base, const char *ref, const char *expected)
{
	char *out = NULL;
	int rc = rs__url_resolve(&out, base, ref);
	if (rc != 0)
		fail_msg("rs__url_resolve(%s, %s) = %d (%s)", base, ref, rc,
		         rs_error_last() ? rs_error_last()->message : "");
	assert_non_null(out);
	if (strcmp(out, expected))
		fail_msg("rs__url_resolve(%s, %s) = %s, expected %s", base, ref, out, expected);
	free(out);
}

static void test_resolve_absolute_path(void **state)
{
	(void)state;
	/* registry 2.8 answers Location: /v2/...?_state=... (relativeurls) */
	resolves(UPLOAD_BASE, "/v2/foo/blobs/uploads/def?_state=a%3D%3D+b",
	         "https://r.io:5000/v2/foo/blobs/uploads/def?_state=a%3D%3D+b");
	resolves("http://127.0.0.1:5000/v2/", "/v2/_catalog?n=2&last=b",
	         "http://127.0.0.1:5000/v2/_catalog?n=2&last=b");
	/* the base's query does not leak into the result */
	resolves("https://r.io/v2/a/tags/list?n=1", "/v2/a/tags/list?last=x",
	         "https://r.io/v2/a/tags/list?last=x");
	resolves("https://r.io/v2/a/tags/list?n=1", "/v2/a/blobs/sha256:00",
	         "https://r.io/v2/a/blobs/sha256:00");
}

static void test_resolve_relative(void **state)
{
	(void)state;
	/* RFC 3986 5.2: merge with the base path's directory */
	resolves(UPLOAD_BASE, "def?_state=1",
	         "https://r.io:5000/v2/foo/blobs/uploads/def?_state=1");
	resolves(UPLOAD_BASE, "../x", "https://r.io:5000/v2/foo/blobs/x");
	resolves(UPLOAD_BASE, "./y/../z", "https://r.io:5000/v2/foo/blobs/uploads/z");
	/* a query-only reference keeps the path and replaces the query */
	resolves(UPLOAD_BASE, "?_state=2", "https://r.io:5000/v2/foo/blobs/uploads/abc?_state=2");
	/* network-path reference: the scheme of the base */
	resolves(UPLOAD_BASE, "//cdn.example/blob?sig=1", "https://cdn.example/blob?sig=1");
}

static void test_resolve_absolute_location(void **state)
{
	(void)state;
	/* redirects to storage (S3, a CDN) and absolute upload URLs are taken as they are */
	resolves(UPLOAD_BASE, "https://bucket.s3.amazonaws.com/data?X-Amz-Signature=ab%2Fcd&x=1",
	         "https://bucket.s3.amazonaws.com/data?X-Amz-Signature=ab%2Fcd&x=1");
	resolves(UPLOAD_BASE, "http://[::1]:5000/v2/foo/blobs/uploads/q?_state=s",
	         "http://[::1]:5000/v2/foo/blobs/uploads/q?_state=s");
	resolves("http://127.0.0.1:5000/v2/", "HTTP://127.0.0.1:5000/v2/x",
	         "http://127.0.0.1:5000/v2/x");
}

static void test_resolve_invalid(void **state)
{
	char *out = (char *)0x1;
	(void)state;
	rs_error_clear();
	assert_int_equal(rs__url_resolve(&out, UPLOAD_BASE, "http://bad host/"), RS_EPROTO);
	assert_error_mentions(RS_EPROTO, "\"http://bad host/\"");
	assert_ptr_equal(out, (char *)0x1); /* untouched on failure */
	rs_error_clear();
	assert_int_equal(rs__url_resolve(&out, "not a url", "/v2/"), RS_EPROTO);
	assert_error_mentions(RS_EPROTO, "not a url");
}

/* ---- rs__url_origin ---- */

static void origin_is(const char *url, const char *expected)
{
	char *out = NULL;
	int rc = rs__url_origin(&out, url);
	if (rc != 0)
		fail_msg("rs__url_origin(%s) = %d (%s)", url, rc,
		         rs_error_last() ? rs_error_last()->message : "");
	if (strcmp(out, expected))
		fail_msg("rs__url_origin(%s) = %s, expected %s", url, out, expected);
	free(out);
}

static void test_origin(void **state)
{
	(void)state;
	origin_is("https://r.io:5000/v2/x?y=1#z", "https://r.io:5000");
	/* default ports made explicit, so https://h and https://h:443 are one origin */
	origin_is("https://registry-1.docker.io/v2/", "https://registry-1.docker.io:443");
	origin_is("https://registry-1.docker.io:443/v2/", "https://registry-1.docker.io:443");
	origin_is("http://localhost/v2/", "http://localhost:80");
	/* lowercase host; scheme too */
	origin_is("https://Registry.Example.COM/v2/", "https://registry.example.com:443");
	origin_is("HTTPS://r.io/", "https://r.io:443");
	/* IPv6 literals keep their brackets */
	origin_is("http://[::1]:5000/v2/", "http://[::1]:5000");
	origin_is("https://[::1]/", "https://[::1]:443");
	/* userinfo is not part of the origin */
	origin_is("http://user:pw@host:81/", "http://host:81");
	/* different ports are different origins */
	{
		char *a = NULL, *b = NULL;
		assert_int_equal(rs__url_origin(&a, "http://h:5000/"), 0);
		assert_int_equal(rs__url_origin(&b, "http://h:5001/"), 0);
		assert_string_not_equal(a, b);
		free(a);
		free(b);
	}
}

static void test_origin_invalid(void **state)
{
	char *out = NULL;
	(void)state;
	rs_error_clear();
	assert_int_equal(rs__url_origin(&out, "nonsense"), RS_EPROTO);
	assert_null(out);
	assert_error_mentions(RS_EPROTO, "\"nonsense\"");
}

/* ---- rs__url_add_query ---- */

static void add_query_is(const char *url, const char *name, const char *value, const char *expected)
{
	char *out = rs__url_add_query(url, name, value);
	assert_non_null(out);
	if (strcmp(out, expected))
		fail_msg("rs__url_add_query(%s, %s, %s) = %s, expected %s", url, name, value, out,
		         expected);
	free(out);
}

static void test_add_query(void **state)
{
	(void)state;
	/* 2.8's upload URLs always carry ?_state=: append with & */
	add_query_is("https://r/v2/a/blobs/uploads/u?_state=abc%3D", "digest", "sha256:0123",
	             "https://r/v2/a/blobs/uploads/u?_state=abc%3D&digest=sha256%3A0123");
	add_query_is("https://r/v2/a/blobs/uploads/u", "digest", "sha256:0123",
	             "https://r/v2/a/blobs/uploads/u?digest=sha256%3A0123");
	/* the value is escaped */
	add_query_is("https://r/u", "scope", "repository:a/b:pull,push",
	             "https://r/u?scope=repository%3Aa%2Fb%3Apull%2Cpush");
	add_query_is("https://r/u", "q", "a b&c=d", "https://r/u?q=a%20b%26c%3Dd");
	add_query_is("https://r/u", "n", "", "https://r/u?n=");
	/* a fragment is dropped, and a '?' inside it does not count */
	add_query_is("https://r/u#frag", "n", "1", "https://r/u?n=1");
	add_query_is("https://r/u?x=1#frag", "n", "1", "https://r/u?x=1&n=1");
	add_query_is("https://r/u#f?x=1", "n", "1", "https://r/u?n=1");
}

/* ---- rs__link_next ---- */

static void next_is(const char *link, const char *base, const char *expected)
{
	char *out = (char *)0x1;
	int rc = rs__link_next(&out, link, base);
	if (rc != 0)
		fail_msg("rs__link_next(%s) = %d (%s)", link, rc,
		         rs_error_last() ? rs_error_last()->message : "");
	if (!expected) {
		if (out)
			fail_msg("rs__link_next(%s) = %s, expected NULL", link, out);
		return;
	}
	assert_non_null(out);
	if (out == (char *)0x1)
		fail_msg("rs__link_next(%s) left *out unset", link);
	if (strcmp(out, expected))
		fail_msg("rs__link_next(%s) = %s, expected %s", link, out, expected);
	free(out);
}

static void test_link_next(void **state)
{
	const char *base = "https://r.io/v2/foo/tags/list?n=2";
	(void)state;
	/* what distribution sends */
	next_is("</v2/foo/tags/list?n=2&last=b>; rel=\"next\"", base,
	        "https://r.io/v2/foo/tags/list?n=2&last=b");
	/* several links: the next one is picked, whatever its position */
	next_is("<https://r.io/v2/foo/tags/list?n=2>; rel=\"prev\", </v2/foo/tags/list?last=c>; "
	        "rel=\"next\"",
	        base, "https://r.io/v2/foo/tags/list?last=c");
	next_is("</v2/foo/tags/list?last=d>; rel=\"next\", </v2/first>; rel=\"first\"", base,
	        "https://r.io/v2/foo/tags/list?last=d");
	/* unquoted rel, any case */
	next_is("</v2/b>; rel=next", base, "https://r.io/v2/b");
	next_is("</v2/b>; REL=\"Next\"", base, "https://r.io/v2/b");
	/* relative to the page's directory, and absolute elsewhere */
	next_is("<list?last=e>; rel=\"next\"", base, "https://r.io/v2/foo/tags/list?last=e");
	next_is("<https://other.io/v2/foo/tags/list?next_page=opaque>; rel=\"next\"", base,
	        "https://other.io/v2/foo/tags/list?next_page=opaque");
	/* a comma inside the target does not split it */
	next_is("</v2/a,b?x=1>; rel=\"next\"", base, "https://r.io/v2/a,b?x=1");
}

static void test_link_no_next(void **state)
{
	const char *base = "https://r.io/v2/foo/tags/list";
	(void)state;
	next_is("", base, NULL);
	next_is("</v2/b>; rel=\"prev\"", base, NULL);
	next_is("</v2/b>; rel=\"nextpage\"", base, NULL);
	next_is("</v2/b>; rel=\"first\", </v2/c>; rel=\"last\"", base, NULL);
}

static void test_link_malformed(void **state)
{
	char *out = (char *)0x1;
	(void)state;
	rs_error_clear();
	assert_int_equal(rs__link_next(&out, "</v2/b; rel=\"next\"", "https://r.io/v2/"),
	                 RS_EPROTO);
	assert_null(out);
	assert_error_mentions(RS_EPROTO, "Link");
	assert_error_mentions(RS_EPROTO, "</v2/b; rel=\"next\"");
	/* a next target that is not a URL */
	rs_error_clear();
	out = (char *)0x1;
	assert_true(rs__link_next(&out, "<http://bad host/>; rel=\"next\"", "https://r.io/v2/") <
	            0);
	assert_true(out == NULL || out == (char *)0x1);
	assert_true(rs_error_is_set());
}

/* ---- header lookup on a hand-built response ---- */

static void add_header(rs__http_response *r, const char *line)
{
	rs__strlist_push(&r->headers, line);
}

static void test_headers(void **state)
{
	rs__http_response r = {0};
	rs_strlist all = RS_STRLIST_INIT;
	(void)state;
	add_header(&r, "Content-Type: application/json; charset=utf-8");
	add_header(&r, "Docker-Content-Digest:sha256:abc");
	add_header(&r, "WWW-Authenticate: Bearer realm=\"https://auth/token\",service=\"r\"");
	add_header(&r, "Content-Type-Options: nosniff");
	add_header(&r, "www-authenticate: Basic realm=\"r\"");
	add_header(&r, "X-Empty:");
	add_header(&r, "Location: \t /v2/x?_state=a:b");

	assert_string_equal(rs__http_header(&r, "content-type"), "application/json; charset=utf-8");
	assert_string_equal(rs__http_header(&r, "CONTENT-TYPE"), "application/json; charset=utf-8");
	/* no space after the colon */
	assert_string_equal(rs__http_header(&r, "docker-content-digest"), "sha256:abc");
	/* a name that is a prefix of another is not confused with it */
	assert_string_equal(rs__http_header(&r, "Content-Type-Options"), "nosniff");
	assert_null(rs__http_header(&r, "Content"));
	assert_null(rs__http_header(&r, "Content-Length"));
	/* leading blanks trimmed, colons in the value kept */
	assert_string_equal(rs__http_header(&r, "location"), "/v2/x?_state=a:b");
	assert_string_equal(rs__http_header(&r, "X-Empty"), "");
	/* first of several */
	assert_string_equal(rs__http_header(&r, "WWW-Authenticate"),
	                    "Bearer realm=\"https://auth/token\",service=\"r\"");

	rs__strlist_push(&all, "already here");
	rs__http_headers_all(&r, "Www-Authenticate", &all);
	assert_int_equal(all.count, 3); /* appended, in order */
	assert_string_equal(all.items[0], "already here");
	assert_string_equal(all.items[1], "Bearer realm=\"https://auth/token\",service=\"r\"");
	assert_string_equal(all.items[2], "Basic realm=\"r\"");
	rs__strlist_dispose(&all);

	rs__http_headers_all(&r, "X-Missing", &all);
	assert_int_equal(all.count, 0);
	rs__strlist_dispose(&all);

	rs__http_response_dispose(&r);
	assert_int_equal(r.headers.count, 0);
	assert_null(r.url);
	rs__http_response_dispose(&r); /* twice: harmless */
	rs__http_response_dispose(NULL);
}

static void test_headers_empty_response(void **state)
{
	rs__http_response r = {0};
	rs_strlist all = RS_STRLIST_INIT;
	(void)state;
	assert_null(rs__http_header(&r, "Content-Type"));
	rs__http_headers_all(&r, "Content-Type", &all);
	assert_int_equal(all.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_resolve_absolute_path),
	        cmocka_unit_test(test_resolve_relative),
	        cmocka_unit_test(test_resolve_absolute_location),
	        cmocka_unit_test(test_resolve_invalid),
	        cmocka_unit_test(test_origin),
	        cmocka_unit_test(test_origin_invalid),
	        cmocka_unit_test(test_add_query),
	        cmocka_unit_test(test_link_next),
	        cmocka_unit_test(test_link_no_next),
	        cmocka_unit_test(test_link_malformed),
	        cmocka_unit_test(test_headers),
	        cmocka_unit_test(test_headers_empty_response),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
