/* A user-given CA file is checked when the client is created (lib/http/cafile.c): RS_EINVAL
 * naming the file and what is wrong with it, from rs_client_new as from rs__ca_file_read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http.h"
#include "regship/client.h"
#include "util/util.h"

static char dir[64];

static const char pem[] = "# a comment first\n"
                          "-----BEGIN CERTIFICATE-----\n"
                          "MIIBszCCAVmgAwIBAgIUe3Q=\n"
                          "-----END CERTIFICATE-----\n";

static void put(const char *name, const char *text)
{
	char path[128];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/regship-cafile-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	put("good.pem", pem);
	put("junk.pem", "not a certificate\n");
	put("indented.pem", "  -----BEGIN CERTIFICATE-----\nxx\n");
	put("empty.pem", "");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* rs__ca_file_read(name) fails with RS_EINVAL, the message naming the file and `why`. */
static void expect_bad(const char *name, const char *why)
{
	char path[128];
	rs_buf out = RS_BUF_INIT;
	snprintf(path, sizeof(path), "%s%s%s", name[0] == '/' ? "" : dir, name[0] == '/' ? "" : "/",
	         name);
	assert_int_equal(rs__ca_file_read(&out, path), RS_EINVAL);
	if (!strstr(rs_error_last()->message, path) || !strstr(rs_error_last()->message, why))
		fail_msg("%s: message \"%s\" lacks the file or \"%s\"", path,
		         rs_error_last()->message, why);
	assert_int_equal(out.size, 0);
	rs_buf_dispose(&out);
}

static void test_read(void **state)
{
	rs_buf out = RS_BUF_INIT;
	char path[128];
	(void)state;
	rs__buf_puts(&out, "system\n");
	snprintf(path, sizeof(path), "%s/good.pem", dir);
	assert_int_equal(rs__ca_file_read(&out, path), 0);
	assert_string_equal(out.ptr + 7, pem);
	rs_buf_dispose(&out);

	expect_bad("missing.pem", "no such file");
	expect_bad("junk.pem", "holds no PEM certificate");
	expect_bad("indented.pem", "holds no PEM certificate");
	expect_bad("empty.pem", "holds no PEM certificate");
	expect_bad(dir, "is a directory");
	expect_bad("/dev/null", "is not a regular file");
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/good.pem", dir);
		chmod(path, 0);
		expect_bad("good.pem", "cannot be read");
		chmod(path, 0644);
	}
	assert_int_equal(rs__ca_file_read(&out, ""), RS_EINVAL);
}

/* What a library user sees: rs_client_new refuses the file, nothing half-made is left. */
/* The content check the CLI makes of a --ca-cert it read from a pipe. */
static void test_pem_has_certificate(void **state)
{
	static const char bundle[] = "# bundle\n-----BEGIN CERTIFICATE-----\nMIIB\n";
	static const char trusted[] = "-----BEGIN TRUSTED CERTIFICATE-----\n";
	static const char indented[] = "x -----BEGIN CERTIFICATE-----\n";
	static const char key[] = "-----BEGIN PRIVATE KEY-----\n";
	(void)state;
	assert_true(rs_ca_pem_has_certificate(bundle, strlen(bundle)));
	assert_true(rs_ca_pem_has_certificate(trusted, strlen(trusted)));
	/* only at the start of a line, and only a certificate */
	assert_false(rs_ca_pem_has_certificate(indented, strlen(indented)));
	assert_false(rs_ca_pem_has_certificate(key, strlen(key)));
	/* len bounds the search: a BEGIN line cut short is not one */
	assert_false(rs_ca_pem_has_certificate(bundle, 20));
	assert_false(rs_ca_pem_has_certificate("", 0));
}

static void test_client_new(void **state)
{
	rs_client_options opts = RS_CLIENT_OPTIONS_INIT;
	rs_client *c = (rs_client *)(uintptr_t)1;
	char path[128];
	(void)state;
	snprintf(path, sizeof(path), "%s/junk.pem", dir);
	opts.ca_cert = path;
	assert_int_equal(rs_client_new(&c, &opts), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, path));
	assert_non_null(strstr(rs_error_last()->message, "no PEM certificate"));
	snprintf(path, sizeof(path), "%s/none.pem", dir);
	assert_int_equal(rs_client_new(&c, &opts), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "no such file"));
	snprintf(path, sizeof(path), "%s/good.pem", dir);
	c = NULL;
	assert_int_equal(rs_client_new(&c, &opts), 0);
	assert_non_null(c);
	rs_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_read),
	        cmocka_unit_test(test_pem_has_certificate),
	        cmocka_unit_test(test_client_new),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
