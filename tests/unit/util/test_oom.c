/*
 * Out of memory travels the normal error path (issue 14). Each test runs one operation again
 * and again, failing the k-th allocation for k = 1, 2, ... (rs__alloc_fail_at), until a run
 * in which no failure was injected succeeds (tests/unit/testoom.h). Every failing run must return
 * RS_ENOMEM with rs_error_last()->code RS_ENOMEM too, crash nothing and leak nothing: CI runs this
 * under ASan/LSan and valgrind, which turn a missing NULL check or a leaked block into a failure.
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
#include "image/semver.h"
#include "registry/referrers.h"
#include "regship/copy.h"
#include "regship/inspect.h"
#include "regship/json.h"
#include "regship/manifest.h"
#include "regship/ref.h"
#include "regship/retag.h"
#include "regship/store.h"
#include "regship/sync.h"
#include "util/digest.h"
#include "util/json.h"
#include "util/util.h"

#include "testoom.h"
#include "testtar.h"

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#ifndef TEST_DATA_DIR /* a direct compile: tests/data next to tests/unit */
#define TEST_DATA_DIR "tests/data"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
	(void)state;
	json_set_alloc_funcs(test_oom_json_alloc, free);
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
	if (!test_oom_json_failed)
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
	if (!test_oom_json_failed)
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

/* ---- the copy engine: OCI layout -> OCI layout, docker archive -> OCI layout --------------- */

typedef struct copy_fixture {
	char dir[64], src[128], dst[128], archive[128], tmp[128];
} copy_fixture;

static char *put_blob(rs_store *s, const void *data, size_t len)
{
	char d[RS_DIGEST_MAX];
	rs_reader *r = NULL;
	rs_descriptor desc = {0};
	rs__sha256_digest(d, data, len);
	desc.digest = d;
	desc.size = (int64_t)len;
	assert_int_equal(rs_reader_from_memory(&r, data, len), 0);
	assert_int_equal(rs_store_blob_put(s, &desc, r, NULL, NULL), 0);
	rs_reader_free(r);
	return rs__strdup(d);
}

/* A layer that is a real tar (one file), so that a docker archive can hold it. */
static void make_layer(rs_buf *out, const char *file, size_t size)
{
	char *data = malloc(size + 1);
	for (size_t i = 0; i < size; i++)
		data[i] = (char)('a' + (i * 7 + size) % 26);
	test_tar_one_file(out, file, data, size);
	free(data);
}

/* One image (a config and two layers) into store s; its manifest descriptor into child. */
static void build_image(rs_store *s, const char *arch, rs_descriptor *child, bool tag_it)
{
	rs_buf cfg = RS_BUF_INIT, layer = RS_BUF_INIT, manifest = RS_BUF_INIT;
	rs_descriptor config = {0}, layers[2];
	char diff[2][RS_DIGEST_MAX], d[RS_DIGEST_MAX];
	memset(layers, 0, sizeof(layers));
	for (int i = 0; i < 2; i++) {
		char name[64];
		rs__buf_clear(&layer);
		snprintf(name, sizeof(name), "etc/%s-%d", arch, i);
		make_layer(&layer, name, 3000 + 1000 * (size_t)i);
		rs__sha256_digest(diff[i], layer.ptr, layer.size);
		layers[i].media_type = (char *)RS_MT_OCI_LAYER;
		layers[i].digest = put_blob(s, layer.ptr, layer.size);
		layers[i].size = (int64_t)layer.size;
	}
	rs__buf_printf(&cfg,
	               "{\"architecture\":\"%s\",\"os\":\"linux\",\"rootfs\":{\"type\":"
	               "\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
	               arch, diff[0], diff[1]);
	config.media_type = (char *)RS_MT_OCI_CONFIG;
	config.digest = put_blob(s, cfg.ptr, cfg.size);
	config.size = (int64_t)cfg.size;
	assert_int_equal(rs_manifest_build(&manifest, RS_MT_OCI_MANIFEST, &config, layers, 2, NULL),
	                 0);
	rs__sha256_digest(d, manifest.ptr, manifest.size);
	assert_int_equal(rs_store_manifest_put(s, tag_it ? "single" : d, manifest.ptr,
	                                       manifest.size, RS_MT_OCI_MANIFEST),
	                 0);
	if (child) {
		assert_int_equal(rs_platform_parse(&child->platform, "linux/amd64"), 0);
		if (strcmp(arch, "amd64")) {
			rs_platform_free(child->platform);
			assert_int_equal(rs_platform_parse(&child->platform, "linux/arm64"), 0);
		}
		child->media_type = rs__strdup(RS_MT_OCI_MANIFEST);
		child->digest = rs__strdup(d);
		child->size = (int64_t)manifest.size;
	}
	free(config.digest);
	free(layers[0].digest);
	free(layers[1].digest);
	rs_buf_dispose(&cfg);
	rs_buf_dispose(&layer);
	rs_buf_dispose(&manifest);
}

/* A legacy `docker save` archive of one image (one layer). */
static void write_docker_archive(const char *path)
{
	struct archive *a = archive_write_new();
	rs_buf layer = RS_BUF_INIT, cfg = RS_BUF_INIT, manifest = RS_BUF_INIT;
	char diff[RS_DIGEST_MAX], cfgd[RS_DIGEST_MAX], cfgname[80];
	const char *names[3] = {"0000000000000000000000000000000000000000000000000000000000000007/"
	                        "layer.tar",
	                        cfgname, "manifest.json"};
	const rs_buf *data[3] = {&layer, &cfg, &manifest};
	make_layer(&layer, "etc/hello", 5000);
	rs__sha256_digest(diff, layer.ptr, layer.size);
	rs__buf_printf(&cfg,
	               "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
	               "\"layers\",\"diff_ids\":[\"%s\"]}}",
	               diff);
	rs__sha256_digest(cfgd, cfg.ptr, cfg.size);
	snprintf(cfgname, sizeof(cfgname), "%s.json", cfgd + 7);
	rs__buf_printf(&manifest,
	               "[{\"Config\":\"%s\",\"RepoTags\":[\"app:v1\"],\"Layers\":[\"%s\"]}]",
	               cfgname, names[0]);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	archive_write_set_bytes_per_block(a, 512);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (int i = 0; i < 3; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_mtime(e, 1700000000, 0);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, (la_int64_t)data[i]->size);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, data[i]->ptr, data[i]->size),
		                 (la_ssize_t)data[i]->size);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	rs_buf_dispose(&layer);
	rs_buf_dispose(&cfg);
	rs_buf_dispose(&manifest);
}

static void copy_fixture_init(copy_fixture *f)
{
	rs_store *s = NULL;
	rs_descriptor children[2];
	rs_buf index = RS_BUF_INIT;
	memset(children, 0, sizeof(children));
	assert_int_equal(test_tmpdir_fast(f->dir, sizeof(f->dir), "oom"), 0);
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	snprintf(f->dst, sizeof(f->dst), "%s/dst", f->dir);
	snprintf(f->archive, sizeof(f->archive), "%s/image.tar", f->dir);
	snprintf(f->tmp, sizeof(f->tmp), "%s/tmp", f->dir);
	assert_int_equal(mkdir(f->tmp, 0700), 0);
	assert_int_equal(rs_store_open_oci_layout(&s, f->src, RS_STORE_WRITE), 0);
	build_image(s, "amd64", &children[0], false);
	build_image(s, "arm64", &children[1], false);
	build_image(s, "amd64", NULL, true);
	assert_int_equal(rs_index_build(&index, RS_MT_OCI_INDEX, children, 2), 0);
	assert_int_equal(rs_store_manifest_put(s, "multi", index.ptr, index.size, RS_MT_OCI_INDEX),
	                 0);
	assert_int_equal(rs_store_commit(s), 0);
	rs_store_free(s);
	rs_descriptor_dispose(&children[0]);
	rs_descriptor_dispose(&children[1]);
	rs_buf_dispose(&index);
	write_docker_archive(f->archive);
}

/* Copy tag of the store at src (opened by open_src) into a fresh OCI layout, and commit. */
static int copy_into_fresh_layout(copy_fixture *f, rs_store *src, const char *tag, unsigned jobs)
{
	rs_copy_options o = RS_COPY_OPTIONS_INIT;
	rs_copy_result res;
	rs_store *dst = NULL;
	int error;
	assert_int_equal(test_rm_rf(f->dst), 0);
	o.jobs = jobs;
	if ((error = rs_store_open_oci_layout(&dst, f->dst, RS_STORE_WRITE)) < 0)
		return error;
	error = rs_copy(dst, tag, src, tag, &o, &res);
	if (!error)
		error = rs_store_commit(dst);
	rs_copy_result_dispose(&res); /* also after a failed copy */
	rs_store_free(dst);
	return error;
}

static int op_copy_layout(void *ctx)
{
	copy_fixture *f = ctx;
	rs_store *src = NULL;
	int error;
	if ((error = rs_store_open_oci_layout(&src, f->src, RS_STORE_READ)) < 0)
		return error;
	/* one worker: the runs are the same each time, so the k-th allocation is the same one */
	if ((error = copy_into_fresh_layout(f, src, "single", 1)) == 0)
		error = copy_into_fresh_layout(f, src, "multi", 1);
	rs_store_free(src);
	return error;
}

/* Several workers: which allocation fails varies from run to run, but every run must still
 * fail cleanly (the workers hand RS_ENOMEM back to rs_copy). */
static int op_copy_layout_threads(void *ctx)
{
	copy_fixture *f = ctx;
	rs_store *src = NULL;
	int error;
	if ((error = rs_store_open_oci_layout(&src, f->src, RS_STORE_READ)) < 0)
		return error;
	error = copy_into_fresh_layout(f, src, "multi", 4);
	rs_store_free(src);
	return error;
}

static int op_copy_docker_archive(void *ctx)
{
	copy_fixture *f = ctx;
	rs_docker_archive_options o = RS_DOCKER_ARCHIVE_OPTIONS_INIT;
	rs_store *src = NULL;
	int error;
	o.tmp_dir = f->tmp;
	o.cache_dir = ""; /* no cache: each run compresses again */
	o.jobs = 1;
	if ((error = rs_store_open_docker_archive(&src, f->archive, RS_STORE_READ, &o)) < 0)
		return error;
	error = copy_into_fresh_layout(f, src, "app:v1", 1);
	rs_store_free(src);
	return error;
}

static int op_copy_to_docker_archive(void *ctx)
{
	copy_fixture *f = ctx;
	rs_docker_archive_options o = RS_DOCKER_ARCHIVE_OPTIONS_INIT;
	rs_copy_options co = RS_COPY_OPTIONS_INIT;
	rs_copy_result res;
	rs_store *src = NULL, *dst = NULL;
	char out[160];
	int error;
	snprintf(out, sizeof(out), "%s/out.tar", f->dir);
	o.tmp_dir = f->tmp;
	o.cache_dir = "";
	co.jobs = 1;
	if ((error = rs_store_open_oci_layout(&src, f->src, RS_STORE_READ)) < 0)
		return error;
	if ((error = rs_store_open_docker_archive(&dst, out, RS_STORE_WRITE | RS_STORE_OVERWRITE,
	                                          &o)) == 0) {
		error = rs_copy(dst, "app:v2", src, "single", &co, &res);
		if (!error)
			error = rs_store_commit(dst);
		rs_copy_result_dispose(&res);
	}
	rs_store_free(dst);
	rs_store_free(src);
	return error;
}

static int op_inspect(void *ctx)
{
	copy_fixture *f = ctx;
	rs_store *src = NULL;
	rs_image_info *info = NULL;
	rs_platform *arm = NULL;
	int error;
	if ((error = rs_store_open_oci_layout(&src, f->src, RS_STORE_READ)) < 0)
		return error;
	if ((error = rs_platform_parse(&arm, "linux/arm64")) == 0 &&
	    (error = rs_image_inspect(&info, src, "multi", arm)) == 0) {
		rs_image_info_free(info);
		info = NULL;
		error = rs_image_inspect(&info, src, "single", NULL);
	}
	rs_image_info_free(info);
	rs_platform_free(arm);
	rs_store_free(src);
	return error;
}

static void test_copy(void **state)
{
	copy_fixture f;
	(void)state;
	copy_fixture_init(&f);
	assert_true(OOM_LOOP(op_copy_layout, &f) > 100);
	assert_true(OOM_LOOP(op_copy_docker_archive, &f) > 50);
	assert_true(OOM_LOOP(op_copy_to_docker_archive, &f) > 50);
	assert_true(OOM_LOOP(op_inspect, &f) > 20);
	/* a bounded sample with threads: every failure is still RS_ENOMEM, nothing leaks */
	for (unsigned long k = 1; k < 400; k += 7) {
		int rc;
		rs_error_clear();
		test_oom_json_failed = 0;
		rs__alloc_fail_at(k);
		rc = op_copy_layout_threads(&f);
		if (rs__alloc_fail_at(0) == 0 && rc != RS_ENOMEM &&
		    rs_error_last()->code != RS_ENOMEM && !test_oom_json_failed)
			fail_msg("threads: allocation %lu failed but the result was %d (%s)", k, rc,
			         rs_error_last()->message);
	}
	/* nothing left behind in the temporary directory by a failed archive store */
	assert_int_equal(test_count_entries(f.tmp), 0);
	assert_int_equal(test_rm_rf(f.dir), 0);
}

/* ---- sync YAML, semver ranges, referrers indexes, promotion plans ---------------------------- */

/* ctx: the text of skopeo's sync example (tests/data/sync/skopeo-example.yaml) */
static int op_sync_config(void *ctx)
{
	const rs_buf *text = ctx;
	rs_sync_config *c = NULL;
	int error;
	if ((error = rs_sync_config_parse(&c, text->ptr, text->size, "sync.yaml")) < 0)
		return error;
	assert_non_null(c);
	rs_sync_config_free(c);
	return 0;
}

static int op_semver_range(void *ctx)
{
	static const char *const ranges[] = {">= 3.12.0", "^1.2.3", ">=2.1, <3", "~1.2",
	                                     ">=1.0.0-rc.1, <2.0.0"};
	(void)ctx;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		rs__semver_range *r = NULL;
		int error = rs__semver_range_parse(&r, ranges[i]);
		if (error < 0)
			return error;
		rs__semver_range_match(r, "1.5.0");
		rs__semver_range_free(r);
	}
	return 0;
}

#define OOM_SUBJECT "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define OOM_DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define OOM_DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int op_referrers_parse(void *ctx)
{
	static const char answer[] =
	        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
	        "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	        "\"digest\":\"" OOM_DA "\",\"size\":12,\"artifactType\":\"application/x-sig\","
	        "\"annotations\":{\"a\":\"1\",\"b\":\"2\"}},"
	        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	        "\"digest\":\"" OOM_DB "\",\"size\":34}]}";
	rs_referrers rs = RS_REFERRERS_INIT;
	int error;
	(void)ctx;
	error = rs__referrers_parse(&rs, answer, strlen(answer), NULL, "referrers");
	if (error == 0)
		assert_int_equal(rs.count, 2);
	rs_referrers_dispose(&rs);
	return error;
}

static int op_referrers_merge(void *ctx)
{
	static const char artifact[] =
	        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	        "\"artifactType\":\"application/x-sig\",\"config\":{\"mediaType\":"
	        "\"application/vnd.oci.empty.v1+json\",\"digest\":\"" OOM_DA "\",\"size\":2},"
	        "\"layers\":[],\"subject\":{\"mediaType\":"
	        "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" OOM_SUBJECT
	        "\",\"size\":7},\"annotations\":{\"k\":\"v\"}}";
	static const char old[] =
	        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
	        "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	        "\"digest\":\"" OOM_DB "\",\"size\":34}]}";
	json_t *desc = NULL;
	char *subject = NULL;
	rs_buf out = RS_BUF_INIT, fresh = RS_BUF_INIT;
	int error;
	(void)ctx;
	if ((error = rs__referrers_descriptor(&desc, &subject, artifact, strlen(artifact), NULL)) <
	    0)
		return error;
	if (!desc) /* jansson's parse failed: any result is accepted then (test_oom_json_failed) */
		return RS_EFORMAT;
	assert_string_equal(subject, OOM_SUBJECT);
	if ((error = rs__referrers_index_merge(&out, old, strlen(old), desc)) == 0 &&
	    (error = rs__referrers_index_merge(&fresh, NULL, 0, desc)) == 0 &&
	    !test_oom_json_failed) { /* a jansson parse may have lost a byte (see
		                        test_oom_json_alloc) */
		assert_non_null(strstr(out.ptr, OOM_DB));
		assert_non_null(strstr(fresh.ptr, "application/x-sig"));
	}
	json_decref(desc);
	free(subject);
	rs_buf_dispose(&out);
	rs_buf_dispose(&fresh);
	return error;
}

static int op_referrers_tag(void *ctx)
{
	char *t = rs__referrers_tag(OOM_SUBJECT);
	(void)ctx;
	if (!t)
		return rs_error_last()->code;
	free(t);
	return 0;
}

static int op_promotion_plan(void *ctx)
{
	/* 1.3.0 goes up: 1.2 and 1 point at 1.2.9 (known), latest at 2.0.0 (newer) */
	static const char *const tags[] = {"1.2.9",  "1.2.10", "1.2",   "1",
	                                   "latest", "2.0.0",  "1.3.0", "1.2.8"};
	static const char *const digests[] = {OOM_DA, NULL,   OOM_DA,      OOM_DA,
	                                      OOM_DB, OOM_DB, OOM_SUBJECT, NULL};
	static const char *const all[] = {OOM_DA, OOM_DA, OOM_DA,      OOM_DA,
	                                  OOM_DB, OOM_DB, OOM_SUBJECT, OOM_DA};
	rs_promotion_plan *p = NULL;
	int error;
	(void)ctx;
	/* a first round that needs look-ups, then a full one, then a variant's refused one */
	if ((error = rs_promotion_plan_new(&p, "1.3.0", NULL, OOM_SUBJECT, tags, digests, 8, 0)) <
	    0)
		return error;
	assert_true(p->nneeded > 0);
	rs_promotion_plan_free(p);
	p = NULL;
	if ((error = rs_promotion_plan_new(&p, "1.3.0", NULL, OOM_SUBJECT, tags, all, 8,
	                                   RS_PROMOTE_FORCE)) < 0)
		return error;
	rs_promotion_plan_free(p);
	p = NULL;
	if ((error = rs_promotion_plan_new(&p, "1.3.0-alpine", "alpine", OOM_SUBJECT, tags, all, 8,
	                                   RS_PROMOTE_NO_LATEST)) < 0)
		return error;
	rs_promotion_plan_free(p);
	return rs_promotion_check("1.3.0-alpine", "alpine");
}

static void test_parsers(void **state)
{
	rs_buf yaml = RS_BUF_INIT;
	(void)state;
	test_data_read(&yaml, "sync/skopeo-example.yaml");
	assert_true(OOM_LOOP(op_sync_config, &yaml) > 10);
	rs_buf_dispose(&yaml);
	assert_true(OOM_LOOP(op_semver_range, NULL) > 5);
	assert_true(OOM_LOOP(op_referrers_parse, NULL) > 5);
	assert_true(OOM_LOOP(op_referrers_merge, NULL) > 5);
	assert_true(OOM_LOOP(op_referrers_tag, NULL) > 0);
	assert_true(OOM_LOOP(op_promotion_plan, NULL) > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_buf),       cmocka_unit_test(test_strlist),
	        cmocka_unit_test(test_json),      cmocka_unit_test(test_base64),
	        cmocka_unit_test(test_ref),       cmocka_unit_test(test_manifest),
	        cmocka_unit_test(test_dockercfg), cmocka_unit_test(test_challenge_scope),
	        cmocka_unit_test(test_copy),      cmocka_unit_test(test_parsers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
