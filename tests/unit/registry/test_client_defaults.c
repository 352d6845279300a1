/*
 * The client reads nothing of the user's or the system's configuration unless its options ask:
 * docker's config.json (credentials), the insecure-registries files, certs.d. Each check has a
 * positive control (the same setup with the option on), so it fails if the file is not read
 * either way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/registry.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#define DOMAIN "127.0.0.1:1" /* loopback: the endpoint is made without a request */

static char tmpdir[64];

static void write_file(const char *dir, const char *name, const char *text)
{
	rs_buf path = RS_BUF_INIT;
	rs__buf_printf(&path, "%s/%s", dir, name);
	assert_int_equal(rs__file_write_atomic(path.ptr, text, strlen(text), 0600), 0);
	rs_buf_dispose(&path);
}

static void make_dir(const char *parent, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", parent, name);
	assert_int_equal(mkdir(out, 0700), 0);
}

static int setup(void **state)
{
	char home[128], docker[160], xdg[128], own[160], certs[160], host[200];
	rs_buf cfg = RS_BUF_INIT;
	char *b64;
	(void)state;
	if (test_tmpdir(tmpdir, sizeof(tmpdir), "client_defaults") < 0)
		return -1;
	/* $HOME/.docker/config.json with a login for DOMAIN */
	make_dir(tmpdir, "home", home, sizeof(home));
	make_dir(home, ".docker", docker, sizeof(docker));
	b64 = rs__base64_encode("alice:s3cret", 12);
	rs__buf_printf(&cfg, "{\"auths\":{\"" DOMAIN "\":{\"auth\":\"%s\"}}}", b64);
	write_file(docker, "config.json", cfg.ptr);
	free(b64);
	rs_buf_dispose(&cfg);
	setenv("HOME", home, 1);
	unsetenv("DOCKER_CONFIG");
	/* $XDG_CONFIG_HOME/regship/config.json listing an insecure registry */
	make_dir(tmpdir, "xdg", xdg, sizeof(xdg));
	make_dir(xdg, "regship", own, sizeof(own));
	write_file(own, "config.json", "{\"insecure-registries\":[\"plain.example:5000\"]}");
	setenv("XDG_CONFIG_HOME", xdg, 1);
	/* certs.d/<DOMAIN>/ca.crt */
	make_dir(tmpdir, "certs.d", certs, sizeof(certs));
	make_dir(certs, DOMAIN, host, sizeof(host));
	write_file(host, "ca.crt", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return test_rm_rf(tmpdir);
}

static rs__endpoint *endpoint_of(rs_client *c)
{
	rs__endpoint *ep = NULL;
	assert_int_equal(rs__client_endpoint(&ep, c, DOMAIN), 0);
	pthread_mutex_lock(&ep->lock);
	rs__endpoint_load_credentials(c, ep);
	pthread_mutex_unlock(&ep->lock);
	return ep;
}

/* A bare client is anonymous even though $HOME/.docker/config.json holds a login. */
static void test_bare_client_reads_no_docker_config(void **state)
{
	rs_client *c = NULL;
	rs__endpoint *ep;
	(void)state;
	assert_int_equal(rs_client_new(&c, NULL), 0);
	ep = endpoint_of(c);
	assert_false(ep->have_cred);
	assert_null(ep->username);
	assert_null(ep->cred_error);
	rs_client_free(c);
}

/* The positive control: with use_docker_config the same file gives alice's login. */
static void test_docker_config_when_asked(void **state)
{
	rs_client_options o = RS_CLIENT_OPTIONS_INIT;
	rs_client *c = NULL;
	rs__endpoint *ep;
	(void)state;
	o.use_docker_config = 1;
	assert_int_equal(rs_client_new(&c, &o), 0);
	ep = endpoint_of(c);
	assert_true(ep->have_cred);
	assert_string_equal(ep->username, "alice");
	assert_string_equal(ep->password, "s3cret");
	rs_client_free(c);
}

/* insecure-registries ($XDG_CONFIG_HOME/regship/config.json) only with use_registry_config. */
static void test_registry_config_only_when_asked(void **state)
{
	rs_client_options o = RS_CLIENT_OPTIONS_INIT;
	rs_client *c = NULL;
	const char *why = NULL;
	(void)state;
	assert_int_equal(rs_client_new(&c, NULL), 0);
	assert_false(rs__insecure_allowed(c->policy, "plain.example:5000", &why));
	assert_true(rs__insecure_allowed(c->policy, DOMAIN, &why)); /* loopback still is */
	rs_client_free(c);

	o.use_registry_config = 1;
	o.daemon_json = "/nonexistent/daemon.json";
	assert_int_equal(rs_client_new(&c, &o), 0);
	assert_true(rs__insecure_allowed(c->policy, "plain.example:5000", &why));
	rs_client_free(c);
}

/* certs.d gives an endpoint its own TLS settings only with use_certs_d. */
static void test_certs_d_only_when_asked(void **state)
{
	rs_client_options o = RS_CLIENT_OPTIONS_INIT;
	rs_client *c = NULL;
	rs_buf certs = RS_BUF_INIT;
	rs__endpoint *ep;
	(void)state;
	rs__buf_printf(&certs, "%s/certs.d", tmpdir);
	o.certs_d = certs.ptr;
	assert_int_equal(rs_client_new(&c, &o), 0);
	ep = endpoint_of(c);
	assert_null(ep->own_http);
	rs_client_free(c);

	o.use_certs_d = 1;
	assert_int_equal(rs_client_new(&c, &o), 0);
	ep = endpoint_of(c);
	assert_non_null(ep->own_http);
	rs_client_free(c);
	rs_buf_dispose(&certs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bare_client_reads_no_docker_config),
	        cmocka_unit_test(test_docker_config_when_asked),
	        cmocka_unit_test(test_registry_config_only_when_asked),
	        cmocka_unit_test(test_certs_d_only_when_asked),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
