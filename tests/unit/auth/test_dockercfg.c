/* Tests of lib/auth/dockercfg.c with the fixtures in tests/data/auth/. */
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

#include <jansson.h>

#include "auth/dockercfg.h"
#include "util/util.h"

#include "testutil.h"

static char tmpdir[64];
static char state_dir[512];

/* A fixture path (static buffer, valid until the next call). */
static const char *fixture(const char *name)
{
	static char p[1024];
	snprintf(p, sizeof(p), "%s/auth/%s", test_data_dir(), name);
	return p;
}

static char *tmp_path(const char *name)
{
	rs_buf b = RS_BUF_INIT;
	rs__buf_printf(&b, "%s/%s", tmpdir, name);
	return rs__buf_detach(&b);
}

static char *slurp(const char *path)
{
	rs_buf b = RS_BUF_INIT;
	if (rs__file_read(&b, path, 1 << 22) < 0)
		return NULL;
	return rs__buf_detach(&b);
}

/* Copy a fixture to tmpdir/<dest> and return the new path. */
static char *copy_fixture(const char *name, const char *dest)
{
	char *src = slurp(fixture(name)), *dst = tmp_path(dest);
	assert_non_null(src);
	assert_int_equal(rs__file_write_atomic(dst, src, strlen(src), 0644), 0);
	free(src);
	return dst;
}

static int setup(void **state)
{
	(void)state;
	if (test_tmpdir(tmpdir, sizeof(tmpdir), "dockercfg") < 0 ||
	    test_install_credhelper(tmpdir, state_dir, sizeof(state_dir)) < 0)
		return -1;
	unsetenv("TEST_CREDHELPER_MODE");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return test_rm_rf(tmpdir);
}

static void expect_cred(const char *config, const char *domain, const char *user, const char *pass,
                        const char *itok, const char *rtok)
{
	rs__credential c = RS__CREDENTIAL_INIT;
	int rc = rs__cred_lookup(&c, config, domain);
	if (rc != 0)
		fail_msg("%s: %s", domain, rs_error_last()->message);
#define CHECK(field, want)                                                                         \
	do {                                                                                       \
		if (want)                                                                          \
			assert_string_equal(c.field, want);                                        \
		else                                                                               \
			assert_null(c.field);                                                      \
	} while (0)
	CHECK(username, user);
	CHECK(password, pass);
	CHECK(identity_token, itok);
	CHECK(registry_token, rtok);
#undef CHECK
	rs__credential_dispose(&c);
}

static void expect_error(int code, const char *config, const char *domain, const char *fragment)
{
	rs__credential c = RS__CREDENTIAL_INIT;
	assert_int_equal(rs__cred_lookup(&c, config, domain), code);
	assert_null(c.username);
	assert_null(c.password);
	if (!strstr(rs_error_last()->message, fragment))
		fail_msg("%s: got \"%s\", want \"%s\"", domain, rs_error_last()->message, fragment);
	/* no secret of the fixtures ever shows up in a message */
	assert_null(strstr(rs_error_last()->message, "SECRET"));
	assert_null(strstr(rs_error_last()->message, "s3cret"));
}

static void test_keys(void **state)
{
	char *h;
	(void)state;
	assert_string_equal(rs__dockercfg_server_key("docker.io"), "https://index.docker.io/v1/");
	assert_string_equal(rs__dockercfg_server_key("index.docker.io"),
	                    "https://index.docker.io/v1/");
	assert_string_equal(rs__dockercfg_server_key("registry-1.docker.io"),
	                    "https://index.docker.io/v1/");
	assert_string_equal(rs__dockercfg_server_key("myreg:5000"), "myreg:5000");
	h = rs__dockercfg_key_host("https://MyReg:5000/v1/");
	assert_string_equal(h, "myreg:5000");
	free(h);
	h = rs__dockercfg_key_host("http://x");
	assert_string_equal(h, "x");
	free(h);
	h = rs__dockercfg_key_host("plain:1");
	assert_string_equal(h, "plain:1");
	free(h);
}

static void test_default_path(void **state)
{
	char *p = NULL;
	const char *home = getenv("HOME");
	char *saved_home = home ? rs__strdup(home) : NULL;
	(void)state;
	setenv("DOCKER_CONFIG", "/some/dir", 1);
	assert_int_equal(rs__dockercfg_default_path(&p), 0);
	assert_string_equal(p, "/some/dir/config.json");
	free(p);
	unsetenv("DOCKER_CONFIG");
	setenv("HOME", "/home/someone", 1);
	assert_int_equal(rs__dockercfg_default_path(&p), 0);
	assert_string_equal(p, "/home/someone/.docker/config.json");
	free(p);
	unsetenv("HOME");
	assert_int_equal(rs__dockercfg_default_path(&p), RS_ENOTFOUND);
	assert_null(p);
	if (saved_home)
		setenv("HOME", saved_home, 1);
	free(saved_home);
}

static void test_lookup_auths(void **state)
{
	const char *cfg = fixture("config-auths.json");
	(void)state;
	/* Docker Hub: all three names use the https://index.docker.io/v1/ key; split at first ':'
	 */
	expect_cred(cfg, "docker.io", "hubuser", "hub:pass", NULL, NULL);
	expect_cred(cfg, "index.docker.io", "hubuser", "hub:pass", NULL, NULL);
	expect_cred(cfg, "registry-1.docker.io", "hubuser", "hub:pass", NULL, NULL);
	/* key with scheme and path matches the bare host */
	expect_cred(cfg, "myreg:5000", "alice", "s3cret", NULL, NULL);
	expect_cred(cfg, "MYREG:5000", "alice", "s3cret", NULL, NULL);
	expect_cred(cfg, "acr.example.io", "00000000-0000-0000-0000-000000000000", "",
	            "refresh-xyz", NULL);
	expect_cred(cfg, "plain.example", "bob", "pw", NULL, NULL);
	expect_cred(cfg, "bearer.example", NULL, NULL, NULL, "bearer-abc");
	expect_cred(cfg, "nuls.example", "carol", "pw", NULL, NULL);

	expect_error(RS_ENOTFOUND, cfg, "myreg", "no credentials for myreg in");
	expect_error(RS_ENOTFOUND, cfg, "myreg:5001", "no credentials for myreg:5001");
	expect_error(RS_ENOTFOUND, cfg, "empty.example", "no credentials for empty.example");
	expect_error(RS_EFORMAT, cfg, "badb64.example",
	             "auths[\"badb64.example\"].auth is not valid base64");
	expect_error(RS_EFORMAT, cfg, "nocolon.example",
	             "auths[\"nocolon.example\"].auth does not decode to username:password");
	expect_error(RS_EFORMAT, cfg, "badtype.example",
	             "auths[\"badtype.example\"].auth must be a string");
}

static void test_lookup_files(void **state)
{
	char *missing = tmp_path("nope/config.json");
	(void)state;
	expect_error(RS_ENOTFOUND, missing, "myreg:5000", "does not exist");
	free(missing);
	/* malformed JSON names the file and the place, but not the token (it may be a secret) */
	expect_error(RS_EFORMAT, fixture("config-malformed.json"), "x.example",
	             "config-malformed.json: invalid JSON at line 1, column");
	assert_null(strstr(rs_error_last()->message, "TOPSECRETVALUE"));
	/* not a regular file: refused at once (a FIFO with no writer must not block), by path */
	{
		char *fifo = tmp_path("fifo.json"), *dir = tmp_path("dir.json");
		assert_int_equal(mkfifo(fifo, 0600), 0);
		expect_error(RS_EINVAL, fifo, "x.example", "it is a FIFO, not a regular file");
		assert_non_null(strstr(rs_error_last()->message, fifo));
		assert_int_equal(rs__cred_store(fifo, "x.example", "u", "s3cret"), RS_EINVAL);
		assert_int_equal(rs__cred_erase(fifo, "x.example"), RS_EINVAL);
		assert_int_equal(mkdir(dir, 0700), 0);
		expect_error(RS_EINVAL, dir, "x.example", "it is a directory");
		assert_non_null(strstr(rs_error_last()->message, "cannot read"));
		unlink(fifo);
		rmdir(dir);
		free(fifo);
		free(dir);
	}
	expect_error(RS_EFORMAT, fixture("config-badtypes.json"), "x.example",
	             "config-badtypes.json: \"auths\" must be a JSON object");
	assert_int_equal(rs__cred_lookup(&(rs__credential)RS__CREDENTIAL_INIT,
	                                 fixture("config-auths.json"), ""),
	                 RS_EINVAL);
}

static void test_lookup_helpers(void **state)
{
	const char *cfg = fixture("config-helpers.json");
	(void)state;
	/* credHelpers selected: the auths entry for the same host is not used */
	expect_error(RS_ENOTFOUND, cfg, "helped.example", "no credentials for helped.example");
	assert_int_equal(rs__credhelper_store("test", "helped.example", "hu", "hp"), 0);
	expect_cred(cfg, "helped.example", "hu", "hp", NULL, NULL);
	/* the helper gets the Docker Hub key as its ServerURL */
	assert_int_equal(rs__credhelper_store("test", "https://index.docker.io/v1/", "<token>",
	                                      "hub-refresh"),
	                 0);
	expect_cred(cfg, "docker.io", NULL, NULL, "hub-refresh", NULL);
	/* no helper for this host and no credsStore: auths */
	expect_cred(cfg, "other.example", "o", "p", NULL, NULL);
	/* a helper that is not installed */
	expect_error(RS_EUNSUPPORTED, cfg, "missing.example",
	             "credHelpers \"nonexistent-regship-helper\": credential helper "
	             "docker-credential-nonexistent-regship-helper is not on PATH");
	expect_error(RS_EFORMAT, cfg, "bad.example",
	             "credHelpers[\"bad.example\"] must be a string");

	/* credsStore applies to every host and hides auths */
	cfg = fixture("config-credsstore.json");
	expect_error(RS_ENOTFOUND, cfg, "x.example", "no credentials for x.example");
	expect_cred(cfg, "helped.example", "hu", "hp", NULL, NULL);
	setenv("TEST_CREDHELPER_MODE", "fail", 1);
	expect_error(RS_EAUTH, cfg, "x.example", "boom: the keychain is locked");
	unsetenv("TEST_CREDHELPER_MODE");
}

static unsigned file_mode(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (unsigned)(st.st_mode & 07777);
}

static void test_store_new_file(void **state)
{
	char *dir = tmp_path("fresh/.docker"), *cfg = tmp_path("fresh/.docker/config.json");
	json_t *root;
	char *content;
	(void)state;
	assert_int_equal(rs__cred_store(cfg, "registry.local:5000", "dave", "pass:word"), 0);
	assert_int_equal(file_mode(cfg), 0600);
	assert_int_equal(file_mode(dir), 0700);
	content = slurp(cfg);
	root = json_loads(content, 0, NULL);
	assert_non_null(root);
	/* base64("dave:pass:word") */
	assert_string_equal(
	        json_string_value(json_object_get(
	                json_object_get(json_object_get(root, "auths"), "registry.local:5000"),
	                "auth")),
	        "ZGF2ZTpwYXNzOndvcmQ=");
	json_decref(root);
	free(content);
	expect_cred(cfg, "registry.local:5000", "dave", "pass:word", NULL, NULL);

	/* Docker Hub goes under the index key */
	assert_int_equal(rs__cred_store(cfg, "docker.io", "hubby", "x"), 0);
	content = slurp(cfg);
	assert_non_null(strstr(content, "\"https://index.docker.io/v1/\""));
	free(content);
	expect_cred(cfg, "registry-1.docker.io", "hubby", "x", NULL, NULL);

	assert_int_equal(rs__cred_store(cfg, "r", "user:colon", "x"), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "must not contain ':'"));
	free(dir);
	free(cfg);
}

static void test_store_keeps_other_keys(void **state)
{
	char *cfg = copy_fixture("config-auths.json", "keep.json");
	json_t *before, *after, *ba, *aa;
	const char *key;
	json_t *v;
	char *s;
	(void)state;
	s = slurp(cfg);
	before = json_loads(s, 0, NULL);
	free(s);
	assert_int_equal(file_mode(cfg), 0644);

	/* myreg:5000 is stored as "https://myreg:5000/v1/": that key is updated in place */
	assert_int_equal(rs__cred_store(cfg, "myreg:5000", "alice", "n3w"), 0);
	assert_int_equal(file_mode(cfg), 0600);
	expect_cred(cfg, "myreg:5000", "alice", "n3w", NULL, NULL);
	/* acr had an identity token: a new login replaces the whole entry */
	assert_int_equal(rs__cred_store(cfg, "acr.example.io", "u", "p"), 0);
	expect_cred(cfg, "acr.example.io", "u", "p", NULL, NULL);

	s = slurp(cfg);
	after = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(after);
	assert_true(json_equal(json_object_get(before, "HttpHeaders"),
	                       json_object_get(after, "HttpHeaders")));
	assert_true(json_equal(json_object_get(before, "psFormat"),
	                       json_object_get(after, "psFormat")));
	ba = json_object_get(before, "auths");
	aa = json_object_get(after, "auths");
	assert_int_equal(json_object_size(ba), json_object_size(aa));
	assert_null(json_object_get(aa, "myreg:5000"));
	json_object_foreach(ba, key, v)
	{
		if (strcmp(key, "https://myreg:5000/v1/") && strcmp(key, "acr.example.io"))
			assert_true(json_equal(v, json_object_get(aa, key)));
	}
	json_decref(before);
	json_decref(after);
	free(cfg);
}

static void test_store_refuses_malformed(void **state)
{
	char *cfg = copy_fixture("config-malformed.json", "bad.json");
	char *before = slurp(cfg), *after;
	(void)state;
	assert_int_equal(rs__cred_store(cfg, "x.example", "u", "NEWSECRET"), RS_EFORMAT);
	assert_non_null(strstr(rs_error_last()->message, "bad.json: invalid JSON"));
	assert_null(strstr(rs_error_last()->message, "SECRET"));
	after = slurp(cfg);
	assert_string_equal(before, after); /* untouched */
	free(before);
	free(after);
	free(cfg);
}

static void test_store_with_helper(void **state)
{
	char *cfg = copy_fixture("config-credsstore.json", "store-helper.json");
	char *before = slurp(cfg), *after, *saved;
	rs_buf p = RS_BUF_INIT;
	(void)state;
	assert_int_equal(rs__cred_store(cfg, "docker.io", "hubuser", "hubpass"), 0);
	/* the helper got it, with the Docker Hub ServerURL; config.json is unchanged */
	rs__buf_printf(&p, "%s/https___index.docker.io_v1_.json", state_dir);
	saved = slurp(p.ptr);
	assert_non_null(saved);
	assert_non_null(strstr(saved, "\"Username\":\"hubuser\""));
	free(saved);
	after = slurp(cfg);
	assert_string_equal(before, after);
	expect_cred(cfg, "index.docker.io", "hubuser", "hubpass", NULL, NULL);

	assert_int_equal(rs__cred_erase(cfg, "docker.io"), 0);
	assert_null(slurp(p.ptr));
	assert_int_equal(rs__cred_erase(cfg, "docker.io"), RS_ENOTFOUND);
	rs_buf_dispose(&p);
	free(before);
	free(after);
	free(cfg);
}

static void test_erase(void **state)
{
	char *cfg = copy_fixture("config-auths.json", "erase.json"), *s;
	(void)state;
	assert_int_equal(rs__cred_erase(cfg, "myreg:5000"), 0);
	expect_error(RS_ENOTFOUND, cfg, "myreg:5000", "no credentials for myreg:5000");
	expect_cred(cfg, "plain.example", "bob", "pw", NULL, NULL);
	s = slurp(cfg);
	assert_null(strstr(s, "myreg:5000"));
	assert_non_null(strstr(s, "psFormat"));
	free(s);
	assert_int_equal(file_mode(cfg), 0600);
	assert_int_equal(rs__cred_erase(cfg, "myreg:5000"), RS_ENOTFOUND);
	assert_non_null(strstr(rs_error_last()->message, "not logged in to myreg:5000"));
	free(cfg);
	cfg = tmp_path("does-not-exist.json");
	assert_int_equal(rs__cred_erase(cfg, "x"), RS_ENOTFOUND);
	free(cfg);
}

static void test_store_through_symlink(void **state)
{
	char *real = copy_fixture("config-auths.json", "real.json"), *link = tmp_path("link.json");
	struct stat st;
	(void)state;
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(rs__cred_store(link, "new.example", "n", "m"), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	expect_cred(real, "new.example", "n", "m", NULL, NULL);
	free(real);
	free(link);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_keys),
	        cmocka_unit_test(test_default_path),
	        cmocka_unit_test(test_lookup_auths),
	        cmocka_unit_test(test_lookup_files),
	        cmocka_unit_test(test_lookup_helpers),
	        cmocka_unit_test(test_store_new_file),
	        cmocka_unit_test(test_store_keeps_other_keys),
	        cmocka_unit_test(test_store_refuses_malformed),
	        cmocka_unit_test(test_store_with_helper),
	        cmocka_unit_test(test_erase),
	        cmocka_unit_test(test_store_through_symlink),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
