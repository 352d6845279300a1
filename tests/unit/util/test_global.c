#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regship.h"

#include <string.h>

static void test_init_reference_counted(void **state)
{
	rs_buf body = RS_BUF_INIT;
	rs_client *c = NULL;
	rs_client_options o = RS_CLIENT_OPTIONS_INIT;
	(void)state;
	rs_error_clear();
	assert_int_equal(rs_shutdown(), RS_EINVAL); /* nothing to undo */
	assert_non_null(strstr(rs_error_last()->message, "without a matching rs_init"));
	assert_int_equal(rs_init(), 1);
	assert_int_equal(rs_init(), 2); /* a library using regship inside a program using it */
	/* the library works between the two */
	o.docker_config = "/nonexistent";
	assert_int_equal(rs_client_new(&c, &o), 0);
	rs_client_free(c);
	assert_int_equal(rs_shutdown(), 1);
	assert_int_equal(rs_shutdown(), 0);
	/* and can be set up again after the last shutdown */
	assert_int_equal(rs_init(), 1);
	assert_int_equal(rs_shutdown(), 0);
	assert_string_equal(rs_version(), REGSHIP_VERSION);
	rs_buf_dispose(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_init_reference_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
