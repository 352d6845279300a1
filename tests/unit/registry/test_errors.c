/* Unit tests for rs__registry_error (lib/registry/errors.c): HTTP failures -> RS_E* errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/registry.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define JSON_CT "Content-Type: application/json; charset=utf-8"

static const rs_error *translate(const rs__endpoint *ep, int status, const char *content_type,
                                 const char *body, size_t body_len, int expected_code)
{
	rs__http_response r = {0};
	int rc;
	r.status = status;
	if (content_type)
		rs__strlist_push(&r.headers, content_type);
	rs__strlist_push(&r.headers, "Docker-Distribution-Api-Version: registry/2.0");
	if (body)
		rs__buf_put(&r.body, body, body_len);
	rs_error_clear();
	rc = rs__registry_error(ep, &r, "reading manifest gallery/ui:v1");
	rs__http_response_dispose(&r);
	if (rc != expected_code)
		fail_msg("status %d: got %s, expected %s (%s)", status, rs_error_name(rc),
		         rs_error_name(expected_code),
		         rs_error_last() ? rs_error_last()->message : "no message");
	assert_true(rs_error_is_set());
	assert_int_equal(rs_error_last()->code, rc);
	assert_int_equal(rs_error_last()->http_status, status);
	return rs_error_last();
}

static const rs_error *translate_s(int status, const char *content_type, const char *body,
                                   int expected_code)
{
	static rs__endpoint ep;
	ep.domain = (char *)"registry.local:5000";
	return translate(&ep, status, content_type, body, body ? strlen(body) : 0, expected_code);
}

static void assert_mentions(const rs_error *e, const char *needle)
{
	if (!strstr(e->message, needle))
		fail_msg("error message \"%s\" does not mention \"%s\"", e->message, needle);
}

static void assert_not_mentions(const rs_error *e, const char *needle)
{
	if (strstr(e->message, needle))
		fail_msg("error message \"%s\" should not contain \"%s\"", e->message, needle);
}

static void test_manifest_unknown(void **state)
{
	const rs_error *e;
	(void)state;
	e = translate_s(404, JSON_CT,
	                "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest "
	                "unknown\",\"detail\":{\"Tag\":\"v1\"}}]}",
	                RS_ENOTFOUND);
	assert_string_equal(e->registry_code, "MANIFEST_UNKNOWN");
	assert_mentions(e, "reading manifest gallery/ui:v1: ");
	assert_mentions(e, "registry.local:5000");
	assert_mentions(e, "404");
	assert_mentions(e, "MANIFEST_UNKNOWN: manifest unknown");
	assert_mentions(e, "Tag: v1");
}

static void test_status_mapping(void **state)
{
	const rs_error *e;
	(void)state;
	e = translate_s(401, JSON_CT,
	                "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication "
	                "required\",\"detail\":[{\"Type\":\"repository\"}]}]}",
	                RS_EAUTH);
	assert_string_equal(e->registry_code, "UNAUTHORIZED");
	assert_mentions(e, "UNAUTHORIZED: authentication required");

	e = translate_s(403, JSON_CT,
	                "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"requested access to the "
	                "resource is denied\"}]}",
	                RS_EAUTH);
	assert_string_equal(e->registry_code, "DENIED");
	assert_mentions(e, "403");

	e = translate_s(405, JSON_CT,
	                "{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"The operation is "
	                "unsupported.\"}]}",
	                RS_EUNSUPPORTED);
	assert_string_equal(e->registry_code, "UNSUPPORTED");

	e = translate_s(400, JSON_CT,
	                "{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"provided digest "
	                "did not match uploaded content\"}]}",
	                RS_EDIGEST);
	assert_string_equal(e->registry_code, "DIGEST_INVALID");
	assert_mentions(e, "provided digest did not match uploaded content");

	e = translate_s(400, JSON_CT,
	                "{\"errors\":[{\"code\":\"MANIFEST_BLOB_UNKNOWN\",\"message\":\"blob "
	                "unknown to registry\",\"detail\":\"sha256:abc\"}]}",
	                RS_ENOTFOUND);
	assert_mentions(e, "(sha256:abc)");

	e = translate_s(413, NULL, NULL, RS_ETOOBIG);
	assert_mentions(e, "413");

	translate_s(500, JSON_CT, "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"x\"}]}",
	            RS_ENET);
	translate_s(502, "Content-Type: text/html", "<html>bad gateway</html>", RS_ENET);
	translate_s(503, NULL, NULL, RS_ENET);
	translate_s(504, NULL, NULL, RS_ENET);
	e = translate_s(429, JSON_CT,
	                "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"pull rate "
	                "limit\"}]}",
	                RS_ENET);
	assert_string_equal(e->registry_code, "TOOMANYREQUESTS");
}

static void test_empty_body(void **state)
{
	const rs_error *e;
	(void)state;
	e = translate_s(404, NULL, NULL, RS_ENOTFOUND);
	assert_string_equal(e->registry_code, "");
	assert_mentions(e, "reading manifest gallery/ui:v1");
	assert_mentions(e, "registry.local:5000 answered 404");
	/* HEAD responses come with a JSON type and no body */
	e = translate_s(401, JSON_CT, NULL, RS_EAUTH);
	assert_string_equal(e->registry_code, "");
}

static void test_several_errors(void **state)
{
	const rs_error *e;
	(void)state;
	e = translate_s(400, JSON_CT,
	                "{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"first\"},"
	                "{\"code\":\"SIZE_INVALID\",\"message\":\"second\"}]}",
	                RS_EDIGEST);
	/* the first code is the one recorded; both are shown */
	assert_string_equal(e->registry_code, "DIGEST_INVALID");
	assert_mentions(e, "DIGEST_INVALID: first");
	assert_mentions(e, "SIZE_INVALID: second");
}

static void test_plain_text_shown_not_parsed(void **state)
{
	const rs_error *e;
	(void)state;
	/* Go's http.NotFound, e.g. a path that is not an API endpoint */
	e = translate_s(404, "Content-Type: text/plain; charset=utf-8", "404 page not found\n",
	                RS_ENOTFOUND);
	assert_mentions(e, "404 page not found");
	assert_string_equal(e->registry_code, "");
	assert_null(strchr(e->message, '\n'));

	/* JSON in a text/plain body is shown as text, never parsed for codes */
	e = translate_s(404, "Content-Type: text/plain",
	                "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"m\"}]}",
	                RS_ENOTFOUND);
	assert_string_equal(e->registry_code, "");
}

static void test_json_body_with_other_type_not_parsed(void **state)
{
	const char *body =
	        "{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"secret-ish detail\"}]}";
	const rs_error *e;
	(void)state;
	e = translate_s(400, "Content-Type: text/html", body, RS_EINVAL);
	assert_string_equal(e->registry_code, "");
	assert_not_mentions(e, "DIGEST_INVALID");
	/* no Content-Type at all */
	e = translate_s(400, NULL, body, RS_EINVAL);
	assert_string_equal(e->registry_code, "");
	assert_not_mentions(e, "DIGEST_INVALID");
	/* an OCI +json type is JSON */
	e = translate_s(400, "content-type: application/vnd.oci.error.v1+json", body, RS_EDIGEST);
	assert_string_equal(e->registry_code, "DIGEST_INVALID");
}

static void test_odd_json_shapes(void **state)
{
	static const char *const bodies[] = {
	        "{\"errors\":{\"code\":\"X\"}}",
	        "{\"errors\":[1,\"two\",null,[],{\"code\":3,\"message\":{}}]}",
	        "{\"errors\":[]}",
	        "[]",
	        "null",
	        "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"",
	        "{\"message\":\"no errors array\"}",
	        "\xff\xfe{\"errors\":[]}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		const rs_error *e = translate_s(404, JSON_CT, bodies[i], RS_ENOTFOUND);
		assert_string_equal(e->registry_code, "");
		assert_mentions(e, "answered 404");
	}
	/* a code without a message, and a message without a code */
	{
		const rs_error *e = translate_s(
		        404, JSON_CT,
		        "{\"errors\":[{\"code\":\"NAME_UNKNOWN\"},{\"message\":\"only text\"}]}",
		        RS_ENOTFOUND);
		assert_string_equal(e->registry_code, "NAME_UNKNOWN");
		assert_mentions(e, "NAME_UNKNOWN");
		assert_mentions(e, "only text");
	}
}

static void test_huge_and_garbage_bodies(void **state)
{
	size_t n = 8u << 20;
	char *big = malloc(n);
	const rs_error *e;
	rs__endpoint ep = {0};
	(void)state;
	ep.domain = (char *)"127.0.0.1:5000";

	/* megabytes of binary garbage claiming to be JSON */
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i * 131 + 7);
	e = translate(&ep, 500, JSON_CT, big, n, RS_ENET);
	assert_true(strlen(e->message) < sizeof(e->message));
	assert_mentions(e, "127.0.0.1:5000");

	/* a valid but enormous error message is cut to the message buffer */
	{
		const char *head = "{\"errors\":[{\"code\":\"BLOB_UPLOAD_INVALID\",\"message\":\"";
		size_t hl = strlen(head);
		memcpy(big, head, hl);
		memset(big + hl, 'A', n - hl - 4);
		memcpy(big + n - 4, "\"}]}", 4);
		e = translate(&ep, 404, JSON_CT, big, n, RS_ENOTFOUND);
		assert_string_equal(e->registry_code, "BLOB_UPLOAD_INVALID");
		assert_int_equal(strlen(e->message), sizeof(e->message) - 1);
	}

	/* deeply nested JSON */
	{
		size_t depth = 100000;
		for (size_t i = 0; i < depth; i++) {
			big[i] = '[';
			big[2 * depth - 1 - i] = ']';
		}
		e = translate(&ep, 404, JSON_CT, big, 2 * depth, RS_ENOTFOUND);
		assert_string_equal(e->registry_code, "");
	}

	/* a long plain-text page (an HTML error page from a proxy) is not pasted in */
	memset(big, 'x', 5000);
	e = translate(&ep, 502, "Content-Type: text/plain", big, 5000, RS_ENET);
	assert_not_mentions(e, "xxxxxxxxxx");

	/* control characters of a short text body reach the message only escaped */
	e = translate(&ep, 404, "Content-Type: text/plain", "bad\x1b[31m\x01thing\0zz", 17,
	              RS_ENOTFOUND);
	assert_null(strchr(e->message, '\x1b'));
	assert_null(strchr(e->message, '\x01'));
	assert_mentions(e, "bad\\x1b[31m\\x01thing");
	free(big);
}

static void test_null_endpoint(void **state)
{
	const rs_error *e;
	const char *body = "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository "
	                   "name not known to registry\"}]}";
	(void)state;
	e = translate(NULL, 404, JSON_CT, body, strlen(body), RS_ENOTFOUND);
	assert_mentions(e, "registry answered 404");
	assert_string_equal(e->registry_code, "NAME_UNKNOWN");
}

static void test_other_statuses(void **state)
{
	const rs_error *e;
	(void)state;
	/* neither success nor a known failure: a protocol problem */
	e = translate_s(409, NULL, NULL, RS_EPROTO);
	assert_mentions(e, "409");
	e = translate_s(416, NULL, NULL, RS_EPROTO);
	assert_mentions(e, "416");
	e = translate_s(302, NULL, NULL, RS_EPROTO);
	assert_mentions(e, "302");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_manifest_unknown),
	        cmocka_unit_test(test_status_mapping),
	        cmocka_unit_test(test_empty_body),
	        cmocka_unit_test(test_several_errors),
	        cmocka_unit_test(test_plain_text_shown_not_parsed),
	        cmocka_unit_test(test_json_body_with_other_type_not_parsed),
	        cmocka_unit_test(test_odd_json_shapes),
	        cmocka_unit_test(test_huge_and_garbage_bodies),
	        cmocka_unit_test(test_null_endpoint),
	        cmocka_unit_test(test_other_statuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
