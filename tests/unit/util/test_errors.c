/* Unit tests for lib/util/errors.c: codes, names, messages and the per-thread last error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_names_and_messages(void **state)
{
	(void)state;
	/* a few spelled out, so a shifted table cannot pass */
	assert_string_equal(rs_error_name(0), "RS_OK");
	assert_string_equal(rs_strerror(0), "success");
	assert_string_equal(rs_error_name(-1), "RS_ERROR");
	assert_string_equal(rs_error_name(RS_ENOTFOUND), "RS_ENOTFOUND");
	assert_string_equal(rs_strerror(RS_ENOTFOUND), "not found");
	assert_string_equal(rs_error_name(RS_EDIGEST), "RS_EDIGEST");
	assert_string_equal(rs_strerror(RS_EDIGEST), "digest mismatch");
	assert_string_equal(rs_error_name(RS_EFORMAT), "RS_EFORMAT");
	assert_string_equal(rs_strerror(RS_EFORMAT), "malformed input");
	assert_int_equal(RS_EAUTH, -4);
	assert_int_equal(RS_EUSER, -12);

	/* and every entry of the X-macro list maps both ways */
#define CHECK(name, value, desc)                                                                   \
	assert_int_equal(RS_##name, value);                                                        \
	assert_string_equal(rs_error_name(value), "RS_" #name);                                    \
	assert_string_equal(rs_strerror(value), desc);
	RS_ERROR_MAP(CHECK)
#undef CHECK

	assert_string_equal(rs_strerror(-999), "unknown error");
	assert_string_equal(rs_strerror(1), "unknown error");
	assert_string_equal(rs_error_name(-999), "RS_UNKNOWN");
}

static void test_codes_unique(void **state)
{
	static const int codes[] = {
#define CODE(name, value, desc) value,
	        RS_ERROR_MAP(CODE)
#undef CODE
	};
	static const char *const descs[] = {
#define DESC(name, value, desc) desc,
	        RS_ERROR_MAP(DESC)
#undef DESC
	};
	size_t n = sizeof(codes) / sizeof(codes[0]);
	(void)state;
	assert_true(n >= 18);
	for (size_t i = 0; i < n; i++) {
		assert_true(codes[i] <= 0);
		assert_true(descs[i][0] != '\0');
		for (size_t j = i + 1; j < n; j++) {
			assert_int_not_equal(codes[i], codes[j]);
			assert_string_not_equal(descs[i], descs[j]);
		}
	}
}

static void test_set_and_clear(void **state)
{
	const rs_error *e;
	(void)state;
	rs_error_clear();
	assert_false(rs_error_is_set());

	assert_int_equal(rs__error_set(RS_ENOTFOUND, "manifest %s not found in %s", "v1", "repo"),
	                 RS_ENOTFOUND);
	e = rs_error_last();
	assert_non_null(e);
	assert_int_equal(e->code, RS_ENOTFOUND);
	assert_string_equal(e->message, "manifest v1 not found in repo");
	assert_int_equal(e->http_status, 0);
	assert_string_equal(e->registry_code, "");

	/* the public setter, for callbacks */
	assert_int_equal(rs_error_set(RS_EUSER, "stopped by %s", "user"), RS_EUSER);
	assert_int_equal(rs_error_last()->code, RS_EUSER);
	assert_string_equal(rs_error_last()->message, "stopped by user");

	rs_error_clear();
	assert_false(rs_error_is_set());
}

/* rs_error_last() is never NULL: with nothing set it is libgit2's "no error" record, so a
 * caller may always print ->message. */
static void test_no_error_record(void **state)
{
	const rs_error *e;
	unsigned long serial;
	(void)state;
	rs_error_clear();
	e = rs_error_last();
	assert_non_null(e);
	assert_int_equal(e->code, RS_OK);
	assert_string_equal(e->message, "no error");
	assert_int_equal(e->http_status, 0);
	assert_string_equal(e->registry_code, "");
	assert_false(rs_error_is_set());
	/* the serial moves with every error set, not with a clear */
	serial = rs__error_serial();
	rs__error_set(RS_EIO, "x");
	assert_true(rs__error_serial() != serial);
	serial = rs__error_serial();
	rs_error_clear();
	assert_true(rs__error_serial() == serial);
	assert_string_equal(rs_error_last()->message, "no error");
}

static void test_null_format_uses_description(void **state)
{
	/* through a pointer: a literal NULL format would (rightly) upset -Wformat */
	int (*set)(int, const char *, ...) = rs__error_set;
	(void)state;
	assert_int_equal(set(RS_EIO, NULL), RS_EIO);
	assert_string_equal(rs_error_last()->message, "input/output error");
}

static void test_long_message_truncated(void **state)
{
	char big[3000];
	const rs_error *e;
	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rs__error_set(RS_EPROTO, "start %s", big);
	e = rs_error_last();
	assert_int_equal(strlen(e->message), sizeof(e->message) - 1);
	assert_memory_equal(e->message, "start xxx", 9);
}

static void test_set_http(void **state)
{
	const rs_error *e;
	char longcode[200];
	(void)state;
	assert_int_equal(rs__error_set_http(RS_ENOTFOUND, 404, "MANIFEST_UNKNOWN", "gone: %d", 1),
	                 RS_ENOTFOUND);
	e = rs_error_last();
	assert_int_equal(e->code, RS_ENOTFOUND);
	assert_int_equal(e->http_status, 404);
	assert_string_equal(e->registry_code, "MANIFEST_UNKNOWN");
	assert_string_equal(e->message, "gone: 1");

	/* a later plain error forgets the HTTP fields */
	rs__error_set(RS_EIO, "disk");
	assert_int_equal(rs_error_last()->http_status, 0);
	assert_string_equal(rs_error_last()->registry_code, "");

	/* no registry code */
	rs__error_set_http(RS_ENET, 503, NULL, "busy");
	assert_int_equal(rs_error_last()->http_status, 503);
	assert_string_equal(rs_error_last()->registry_code, "");

	/* an over-long registry code is cut, never overflows */
	memset(longcode, 'C', sizeof(longcode) - 1);
	longcode[sizeof(longcode) - 1] = '\0';
	rs__error_set_http(RS_EPROTO, 400, longcode, "odd");
	e = rs_error_last();
	assert_int_equal(strlen(e->registry_code), sizeof(e->registry_code) - 1);
	assert_string_equal(e->message, "odd");
}

/* rs_error.remote: the registry's answer (an HTTP status, or rs__error_mark_remote) or not */
static void test_remote(void **state)
{
	(void)state;
	rs__error_set_http(RS_ENOTFOUND, 404, "MANIFEST_UNKNOWN", "gone");
	assert_true(rs_error_last()->remote);
	rs__error_set(RS_ENOTFOUND, "tag v1 not found in oci layout x");
	assert_false(rs_error_last()->remote);
	assert_int_equal(rs__error_mark_remote(), RS_ENOTFOUND);
	assert_true(rs_error_last()->remote);
	rs__error_prefix("copying");
	assert_true(rs_error_last()->remote);
	rs__oom();
	assert_false(rs_error_last()->remote);
	rs_error_clear();
	assert_int_equal(rs__error_mark_remote(), RS_ERROR); /* nothing to mark */
	assert_false(rs_error_last()->remote);
}

static void test_prefix(void **state)
{
	(void)state;
	rs_error_clear();
	/* nothing to prefix: a generic code, and still no error */
	assert_int_equal(rs__error_prefix("pushing %s", "x"), RS_ERROR);
	assert_false(rs_error_is_set());

	rs__error_set_http(RS_EAUTH, 401, "UNAUTHORIZED", "token refused");
	assert_int_equal(rs__error_prefix("pushing %s", "ubuntu"), RS_EAUTH);
	assert_string_equal(rs_error_last()->message, "pushing ubuntu: token refused");
	/* code and HTTP fields are kept */
	assert_int_equal(rs_error_last()->code, RS_EAUTH);
	assert_int_equal(rs_error_last()->http_status, 401);
	assert_string_equal(rs_error_last()->registry_code, "UNAUTHORIZED");
	/* prefixes stack */
	rs__error_prefix("copy");
	assert_string_equal(rs_error_last()->message, "copy: pushing ubuntu: token refused");
}

static void test_prefix_long(void **state)
{
	char big[2000];
	const rs_error *e;
	(void)state;
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rs__error_set(RS_EIO, "%s", big);
	rs__error_prefix("ctx");
	e = rs_error_last();
	assert_int_equal(strlen(e->message), sizeof(e->message) - 1);
	assert_memory_equal(e->message, "ctx: mmm", 8);

	/* a prefix longer than the message buffer still leaves a terminated string */
	rs__error_set(RS_EIO, "inner");
	rs__error_prefix("%s", big);
	e = rs_error_last();
	assert_true(strlen(e->message) < sizeof(e->message));
	assert_memory_equal(e->message, "mmmm", 4);
}

/* ---- thread-local ---- */

typedef struct {
	int saw_error_at_start;
	int code_after;
	char message_after[1024];
	pthread_barrier_t *barrier;
} thread_report;

static void *other_thread(void *arg)
{
	thread_report *r = arg;
	r->saw_error_at_start = rs_error_is_set();
	rs__error_set(RS_ETLS, "thread's own error");
	/* main sets its error only once we set ours; then we look again */
	pthread_barrier_wait(r->barrier);
	pthread_barrier_wait(r->barrier);
	r->code_after = rs_error_last() ? rs_error_last()->code : 0;
	snprintf(r->message_after, sizeof(r->message_after), "%s",
	         rs_error_last() ? rs_error_last()->message : "");
	return NULL;
}

static void test_thread_local(void **state)
{
	pthread_t t;
	pthread_barrier_t barrier;
	thread_report r = {0};
	(void)state;
	rs__error_set(RS_EDIGEST, "main's first error");
	pthread_barrier_init(&barrier, NULL, 2);
	r.barrier = &barrier;
	assert_int_equal(pthread_create(&t, NULL, other_thread, &r), 0);
	pthread_barrier_wait(&barrier);
	/* the thread has set its error: ours is untouched */
	assert_int_equal(rs_error_last()->code, RS_EDIGEST);
	assert_string_equal(rs_error_last()->message, "main's first error");
	rs__error_set(RS_EAUTH, "main's second error");
	pthread_barrier_wait(&barrier);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&barrier);

	assert_false(r.saw_error_at_start); /* a new thread starts with no error */
	assert_int_equal(r.code_after, RS_ETLS);
	assert_string_equal(r.message_after, "thread's own error");
	assert_int_equal(rs_error_last()->code, RS_EAUTH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names_and_messages),
	        cmocka_unit_test(test_codes_unique),
	        cmocka_unit_test(test_set_and_clear),
	        cmocka_unit_test(test_no_error_record),
	        cmocka_unit_test(test_null_format_uses_description),
	        cmocka_unit_test(test_long_message_truncated),
	        cmocka_unit_test(test_set_http),
	        cmocka_unit_test(test_remote),
	        cmocka_unit_test(test_prefix),
	        cmocka_unit_test(test_prefix_long),
	        cmocka_unit_test(test_thread_local),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
