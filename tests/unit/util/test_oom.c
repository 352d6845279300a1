/*
 * Out of memory travels the normal error path (issue 14). Each test runs one operation again
 * and again, failing the k-th allocation for k = 1, 2, ... (rs__alloc_fail_at), until a run
 * in which no failure was injected succeeds. Every failing run must report RS_ENOMEM (as its
 * return code or as rs_error_last()->code), crash nothing and leak nothing: CI runs this under
 * ASan/LSan and valgrind, which turn a missing NULL check or a leaked block into a failure.
 * jansson allocates through the same counter: the test (never the library) points
 * json_set_alloc_funcs at the failing allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth/challenge.h"
#include "auth/dockercfg.h"
#include "auth/scope.h"
#include "image/convert.h"
#include "regship/json.h"
#include "regship/manifest.h"
#include "regship/ref.h"
#include "util/json.h"
#include "util/util.h"

#include <jansson.h>

#ifndef TEST_DATA_DIR /* a direct compile: tests/data next to tests/unit */
#define TEST_DATA_DIR "tests/data"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One run of an operation: 0 on success, else an error code. It frees what it made either way. */
typedef int (*oom_op)(void *ctx);

/* Set when the failed allocation was jansson's. jansson 2.14's parser reports some failed
 * allocations (a token's string) as a syntax error ("string or '}' expected"), and its lexer
 * ignores a failed append to the token being read (lex_save), so a string can come out one
 * byte short: nobody can tell that from bad input. For those runs any result is accepted (the
 * run must still crash nothing and leak nothing). Every other failed allocation (our own,
 * jansson's constructors, json_dumps) must give RS_ENOMEM. */
static int json_alloc_failed;

static void *json_alloc(size_t n)
{
	void *p = rs__malloc(n);
	if (!p)
		json_alloc_failed = 1;
	return p;
}

/* Run op with the k-th allocation failing for k = 1, 2, ... until it succeeds with no failure
 * injected; returns how many runs failed (so a test can check that it covered something). */
static unsigned long oom_loop(const char *name, oom_op op, void *ctx)
{
	unsigned long k;
	for (k = 1;; k++) {
		unsigned long left;
		int rc;
		rs_error_clear();
		json_alloc_failed = 0;
		rs__alloc_fail_at(k);
		rc = op(ctx);
		left = rs__alloc_fail_at(0);
		if (left) { /* fewer than k allocations: nothing failed */
			if (rc != 0)
				fail_msg("%s: failed with no allocation failure: %d %s", name, rc,
				         rs_error_last()->message);
			return k - 1;
		}
		if (json_alloc_failed)
			continue;
		if (rc != RS_ENOMEM && rs_error_last()->code != RS_ENOMEM)
			fail_msg("%s: allocation %lu failed but the result was %d (%s: %s)", name,
			         k, rc, rs_error_name(rs_error_last()->code),
			         rs_error_last()->message);
		if (rc == 0)
			fail_msg("%s: allocation %lu failed but the operation succeeded", name, k);
		if (k > 200000)
			fail_msg("%s: does not finish", name);
	}
}

#define OOM_LOOP(op, ctx) oom_loop(#op, op, ctx)

static int setup(void **state)
{
	(void)state;
	json_set_alloc_funcs(json_alloc, free);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rs__alloc_fail_at(0);
	json_set_alloc_funcs(malloc, free);
	return 0;
}

/* ---- rs_buf -------------------------------------------------------------------------------- */

static int op_buf(void *ctx)
{
	rs_buf b = RS_BUF_INIT;
	char *s;
	(void)ctx;
	for (int i = 0; i < 40; i++)
		rs__buf_printf(&b, "line %d of a buffer that grows several times\n", i);
	rs__buf_puts(&b, "end");
	s = rs__buf_detach(&b);
	if (!s)
		return RS_ENOMEM;
	assert_true(rs__str_endswith(s, "end"));
	free(s);
	return 0;
}

static void test_buf(void **state)
{
	rs_buf b = RS_BUF_INIT;
	(void)state;
	assert_true(OOM_LOOP(op_buf, NULL) > 2);

	/* the out-of-memory state: reads "", puts are no-ops, detach gives NULL */
	rs__buf_puts(&b, "secret");
	rs__alloc_fail_at(1);
	rs__buf_put(&b, "0123456789012345678901234567890123456789012345678901234567890123456789",
	            70);
	rs__alloc_fail_at(0);
	assert_true(rs__buf_oom(&b));
	assert_true(rs_buf_oom(&b));
	assert_string_equal(rs__buf_cstr(&b), "");
	assert_int_equal(b.size, 0);
	rs__buf_puts(&b, "more");
	assert_string_equal(rs__buf_cstr(&b), "");
	assert_int_equal(rs__buf_grow(&b, 1), RS_ENOMEM);
	assert_null(rs__buf_detach(&b));
	assert_false(rs_buf_oom(&b)); /* detach resets it */
	rs__buf_puts(&b, "again");
	assert_string_equal(b.ptr, "again");
	rs_buf_dispose(&b);
	assert_false(rs_buf_oom(NULL));
}

static int op_strlist(void *ctx)
{
	rs_strlist l = RS_STRLIST_INIT;
	int error = 0;
	char name[32];
	(void)ctx;
	for (int i = 0; i < 20 && !error; i++) {
		snprintf(name, sizeof(name), "item-%d", i);
		error = rs__strlist_push(&l, name);
	}
	rs__strlist_dispose(&l);
	return error;
}

static void test_strlist(void **state)
{
	(void)state;
	assert_true(OOM_LOOP(op_strlist, NULL) > 2);
}

/* ---- JSON helpers, base64, escaping --------------------------------------------------------- */

static int op_json(void *ctx)
{
	static const char doc[] = "{\"a\": [1, 2, {\"b\": \"c\\u0001\"}], \"d\": null}";
	rs_buf out = RS_BUF_INIT;
	int error;
	(void)ctx;
	if ((error = rs_json_pretty(&out, doc, strlen(doc))) == 0) {
		rs_json_quote(&out, "quote \"me\"\n\x01");
		if (rs_buf_oom(&out))
			error = RS_ENOMEM;
	}
	rs_buf_dispose(&out);
	return error;
}

static void test_json(void **state)
{
	(void)state;
	assert_true(OOM_LOOP(op_json, NULL) > 3);
}

static int op_base64(void *ctx)
{
	rs_buf out = RS_BUF_INIT;
	char *enc, *esc;
	int error;
	(void)ctx;
	if (!(enc = rs__base64_encode("user:password", 13)))
		return rs__oom();
	error = rs__base64_decode(&out, enc);
	free(enc);
	if (!error)
		assert_string_equal(out.ptr, "user:password");
	rs_buf_dispose(&out);
	if (error)
		return error;
	if (!(esc = rs__url_escape("a b/c?d")))
		return RS_ENOMEM;
	assert_string_equal(esc, "a%20b%2Fc%3Fd");
	free(esc);
	return 0;
}

static void test_base64(void **state)
{
	(void)state;
	assert_true(OOM_LOOP(op_base64, NULL) > 2);
}

/* ---- references ----------------------------------------------------------------------------- */

static int op_ref(void *ctx)
{
	static const char *const texts[] = {
	        "ubuntu",
	        "localhost:5000/a/b:v1",
	        ("reg.example:5000/x/y:t@sha256:"
	         "1111111111111111111111111111111111111111111111111111111111111111"),
	};
	int error = 0;
	(void)ctx;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]) && !error; i++) {
		rs_ref *r = NULL, *t = NULL, *d = NULL;
		char *s = NULL, *n = NULL, *dom = NULL;
		if ((error = rs_ref_parse(&r, texts[i], 0)) < 0)
			break;
		if (!(s = rs_ref_format(r)) || !(n = rs_ref_format_name(r)))
			error = RS_ENOMEM;
		if (!error)
			error = rs_ref_with_tag(&t, r, "v2");
		if (!error)
			error = rs_ref_dup(&d, t);
		if (!error)
			error = rs_ref_parse_domain(&dom, "https://index.docker.io/v1/");
		if (!error)
			assert_string_equal(dom, "docker.io");
		free(s);
		free(n);
		free(dom);
		rs_ref_free(d);
		rs_ref_free(t);
		rs_ref_free(r);
	}
	if (!error) {
		rs_ref *r = NULL;
		/* an error message quotes the input: that needs memory too */
		error = rs_ref_parse(&r, "UPPER/case", 0);
		assert_null(r);
		if (error == RS_EINVAL)
			error = 0;
	}
	return error;
}

static void test_ref(void **state)
{
	(void)state;
	assert_true(OOM_LOOP(op_ref, NULL) > 10);
}

/* ---- manifests, configs, platforms --------------------------------------------------------- */

/* tests/data/manifest/<name>, read with the failure injection off */
static void load_manifest(rs_buf *out, const char *name)
{
	const char *dir = getenv("REGSHIP_TEST_DATA");
	char path[4096];
	if (!dir || !*dir)
		dir = TEST_DATA_DIR;
	snprintf(path, sizeof(path), "%s/manifest/%s", dir, name);
	if (rs__file_read(out, path, 1 << 20) < 0)
		fail_msg("%s: %s", path, rs_error_last()->message);
}

typedef struct {
	rs_buf docker_v2, oci_index, docker_list, config;
} manifest_fixture;

static int op_manifest_parse(void *ctx)
{
	manifest_fixture *f = ctx;
	rs_manifest *m = NULL, *idx = NULL;
	rs_image_config *c = NULL;
	rs_platform *want = NULL;
	const rs_descriptor *d;
	char *s = NULL;
	int error;
	if ((error = rs_manifest_parse(&m, f->docker_v2.ptr, f->docker_v2.size,
	                               RS_MT_DOCKER_MANIFEST)) < 0)
		goto done;
	if ((error = rs_manifest_parse(&idx, f->oci_index.ptr, f->oci_index.size, NULL)) < 0)
		goto done;
	if ((error = rs_image_config_parse(&c, f->config.ptr, f->config.size)) < 0)
		goto done;
	if ((error = rs_platform_parse(&want, "Linux/x86_64")) < 0)
		goto done;
	if (!(s = rs_platform_format(want))) {
		error = RS_ENOMEM;
		goto done;
	}
	if (!json_alloc_failed)
		assert_string_equal(s, "linux/amd64");
	if ((error = rs_manifest_select_platform(&d, idx, want)) < 0)
		goto done;
	rs_platform_free(want);
	want = NULL;
	/* not there: the message lists what is */
	if ((error = rs_platform_parse(&want, "linux/s390x")) < 0)
		goto done;
	error = rs_manifest_select_platform(&d, idx, want);
	if (error == RS_ENOTFOUND)
		error = 0;
done:
	free(s);
	rs_platform_free(want);
	rs_image_config_free(c);
	rs_manifest_free(idx);
	rs_manifest_free(m);
	return error;
}

static int op_manifest_build(void *ctx)
{
	static const char *const ann[] = {"org.example.a", "1", "org.example.b", "two", NULL};
	manifest_fixture *f = ctx;
	rs_manifest *m = NULL, *list = NULL;
	rs_descriptor layers[2] = {{0}}, config = {0}, children[2] = {{0}};
	rs_buf out = RS_BUF_INIT;
	int error;
	if ((error = rs_manifest_parse(&m, f->docker_v2.ptr, f->docker_v2.size, NULL)) < 0)
		goto done;
	if ((error = rs_descriptor_dup(&config, rs_manifest_config(m))) < 0 ||
	    (error = rs_descriptor_dup(&layers[0], rs_manifest_layer(m, 0))) < 0 ||
	    (error = rs_descriptor_dup(&layers[1], rs_manifest_layer(m, 0))) < 0)
		goto done;
	if ((error = rs_manifest_build(&out, RS_MT_OCI_MANIFEST, &config, layers, 2, ann)) < 0)
		goto done;
	rs__buf_clear(&out);
	if ((error = rs_manifest_build(&out, RS_MT_DOCKER_MANIFEST, &config, layers, 2, NULL)) < 0)
		goto done;
	if ((error = rs_manifest_parse(&list, f->docker_list.ptr, f->docker_list.size, NULL)) < 0)
		goto done;
	if ((error = rs_descriptor_dup(&children[0], rs_manifest_child(list, 0))) < 0 ||
	    (error = rs_descriptor_dup(&children[1], rs_manifest_child(list, 1))) < 0)
		goto done;
	rs__buf_clear(&out);
	if ((error = rs_index_build(&out, RS_MT_DOCKER_LIST, children, 2)) < 0)
		goto done;
	rs__buf_clear(&out);
	error = rs_index_build(&out, RS_MT_OCI_INDEX, children, 2);
done:
	for (size_t i = 0; i < 2; i++) {
		rs_descriptor_dispose(&layers[i]);
		rs_descriptor_dispose(&children[i]);
	}
	rs_descriptor_dispose(&config);
	rs_manifest_free(list);
	rs_manifest_free(m);
	rs_buf_dispose(&out);
	return error;
}

static int op_manifest_convert(void *ctx)
{
	manifest_fixture *f = ctx;
	rs_manifest *m = NULL, *list = NULL;
	json_t *children = NULL;
	int error;
	if ((error = rs_manifest_parse(&m, f->docker_v2.ptr, f->docker_v2.size, NULL)) < 0)
		goto done;
	if ((error = rs__convert_to_oci(&m, NULL)) < 0)
		goto done;
	if (!json_alloc_failed)
		assert_string_equal(rs_manifest_media_type(m), RS_MT_OCI_MANIFEST);
	if ((error = rs_manifest_parse(&list, f->docker_list.ptr, f->docker_list.size, NULL)) < 0)
		goto done;
	if (!(children = json_object())) {
		error = rs__oom();
		goto done;
	}
	rs__convert_note_child(children, rs_manifest_child(list, 0)->digest, m);
	error = rs__convert_to_oci(&list, children);
done:
	json_decref(children);
	rs_manifest_free(list);
	rs_manifest_free(m);
	return error;
}

static void test_manifest(void **state)
{
	manifest_fixture f = {RS_BUF_INIT, RS_BUF_INIT, RS_BUF_INIT, RS_BUF_INIT};
	(void)state;
	load_manifest(&f.docker_v2, "docker_v2.json");
	load_manifest(&f.oci_index, "oci_index_attestations.json");
	load_manifest(&f.docker_list, "docker_list.json");
	load_manifest(&f.config, "config_docker.json");
	assert_true(OOM_LOOP(op_manifest_parse, &f) > 20);
	assert_true(OOM_LOOP(op_manifest_build, &f) > 20);
	assert_true(OOM_LOOP(op_manifest_convert, &f) > 10);
	rs_buf_dispose(&f.docker_v2);
	rs_buf_dispose(&f.oci_index);
	rs_buf_dispose(&f.docker_list);
	rs_buf_dispose(&f.config);
}

/* ---- docker config, credentials, challenges, scopes --------------------------------------- */

static char tmpdir[] = "/tmp/regship-oom-XXXXXX";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int op_dockercfg(void *ctx)
{
	char path[512], *def = NULL;
	rs__credential c = {0};
	int error;
	(void)ctx;
	/* a fresh file each run: a run stopped half-way leaves nothing behind that matters */
	snprintf(path, sizeof(path), "%s/config.json", tmpdir);
	write_file(path, "{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": "
	                 "\"dXNlcjpwYXNz\"}, \"reg.example:5000\": {\"username\": \"u\", "
	                 "\"password\": \"p\", \"identitytoken\": \"t\"}},"
	                 " \"credHelpers\": {\"other.example\": \"\"}}\n");
	if ((error = rs__cred_lookup(&c, path, "docker.io")) < 0)
		goto done;
	assert_string_equal(c.username, "user");
	rs__credential_dispose(&c);
	if ((error = rs__cred_lookup(&c, path, "https://reg.example:5000")) != RS_ENOTFOUND &&
	    error < 0)
		goto done;
	rs__credential_dispose(&c);
	if ((error = rs__cred_lookup(&c, path, "reg.example:5000")) < 0)
		goto done;
	rs__credential_dispose(&c);
	if ((error = rs__cred_store(path, "new.example", "me", "secret")) < 0)
		goto done;
	if ((error = rs__cred_store(path, "docker.io", "me", "secret2")) < 0)
		goto done;
	if ((error = rs__cred_erase(path, "reg.example:5000")) < 0)
		goto done;
	if ((error = rs__cred_lookup(&c, path, "new.example")) < 0)
		goto done;
	assert_string_equal(c.password, "secret");
	rs__credential_dispose(&c);
	setenv("DOCKER_CONFIG", tmpdir, 1);
	error = rs__dockercfg_default_path(&def);
	free(def);
done:
	rs__credential_dispose(&c);
	return error;
}

static void test_dockercfg(void **state)
{
	char path[512];
	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	assert_true(OOM_LOOP(op_dockercfg, NULL) > 20);
	snprintf(path, sizeof(path), "%s/config.json", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

static int op_challenge(void *ctx)
{
	rs__challenges l = RS__CHALLENGES_INIT;
	char *u = NULL, *r = NULL;
	int error;
	(void)ctx;
	error = rs__challenges_parse(&l, "Bearer realm=\"https://auth.example/token\",service="
	                                 "\"reg\\\"x\",scope=\"repository:a:pull\", Basic "
	                                 "realm=x, Negotiate abc==");
	if (!error) {
		assert_string_equal(rs__challenges_pick(&l)->realm, "https://auth.example/token");
		error = rs__challenges_parse(&l, "Bearer realm=\"unterminated");
		if (error == RS_EFORMAT) /* the message quotes the header: memory too */
			error = 0;
	}
	rs__challenges_dispose(&l);
	if (error)
		return error;
	if ((error = rs__scope_union(&u, "repository:a/b:pull repository(plugin):c:push",
	                             "repository:a/b:push,pull registry:catalog:*")) < 0)
		return error;
	assert_string_equal(u, "repository:a/b:pull,push repository(plugin):c:push "
	                       "registry:catalog:*");
	free(u);
	if (!(r = rs__scope_repository("a/b", "pull")))
		return RS_ENOMEM;
	free(r);
	if ((error = rs__scope_union(&u, "repository:a:pull", "bad scope")) == RS_EFORMAT)
		error = 0;
	free(u);
	if (error)
		return error;
	/* no error code: out of memory reads as "not covered", with RS_ENOMEM set */
	if (!rs__scope_covers("repository:a:pull,push repository:b:*", "repository:b:x "
	                                                               "repository:a:push"))
		return rs_error_last()->code == RS_ENOMEM ? RS_ENOMEM : RS_ERROR;
	return 0;
}

static void test_challenge_scope(void **state)
{
	(void)state;
	assert_true(OOM_LOOP(op_challenge, NULL) > 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_buf),       cmocka_unit_test(test_strlist),
	        cmocka_unit_test(test_json),      cmocka_unit_test(test_base64),
	        cmocka_unit_test(test_ref),       cmocka_unit_test(test_manifest),
	        cmocka_unit_test(test_dockercfg), cmocka_unit_test(test_challenge_scope),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
