#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regship/store.h"
#include "store/store.h"
#include "util/digest.h"
#include "util/util.h"

#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONFIG "{\"architecture\":\"amd64\",\"os\":\"linux\"}"

typedef struct {
	char root[64];
	char dir[128];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (test_tmpdir(f->root, sizeof(f->root), "layout") < 0) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/layout", f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	rs__rmtree(f->root);
	free(f);
	return 0;
}

static char *digest_of(const void *p, size_t n)
{
	char d[RS_DIGEST_MAX];
	rs__sha256_digest(d, p, n);
	return rs__strdup(d);
}

static int put_blob(rs_store *s, const void *p, size_t n, const char *digest)
{
	rs_reader *r = NULL;
	rs_descriptor desc = {0};
	int error;
	desc.digest = (char *)digest;
	desc.size = (int64_t)n;
	assert_int_equal(rs_reader_from_memory(&r, p, n), 0);
	error = rs_store_blob_put(s, &desc, r, NULL, NULL);
	rs_reader_free(r);
	return error;
}

/* A manifest naming a config and one layer; *cfg / *layer get their digests. */
static char *make_manifest(const char *cfg, const char *layer, size_t layer_size)
{
	rs_buf b = RS_BUF_INIT;
	rs__buf_printf(&b,
	               "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
	               "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\","
	               "\"digest\":\"%s\",\"size\":%zu}]}",
	               RS_MT_OCI_MANIFEST, RS_MT_OCI_CONFIG, cfg, strlen(CONFIG), RS_MT_OCI_LAYER,
	               layer, layer_size);
	return rs__buf_detach(&b);
}

static int collect(const char *tag, void *payload)
{
	rs__strlist_push(payload, tag);
	return 0;
}

static int count_tmp_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (rs__str_startswith(e->d_name, ".tmp"))
			n++;
	closedir(d);
	return n;
}

static char *read_text(const char *dir, const char *name)
{
	rs_buf b = RS_BUF_INIT, p = RS_BUF_INIT;
	rs__buf_printf(&p, "%s/%s", dir, name);
	assert_int_equal(rs__file_read(&b, p.ptr, 1 << 20), 0);
	rs_buf_dispose(&p);
	return rs__buf_detach(&b);
}

static void test_roundtrip(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	size_t big_n = 1u << 20;
	unsigned char *big = malloc(big_n);
	char *cfg_d = digest_of(CONFIG, strlen(CONFIG)), *big_d, *man, *man_d, *text;
	rs_buf body = RS_BUF_INIT;
	char *mt = NULL, *dg = NULL;
	rs_strlist tags = RS_STRLIST_INIT;
	rs_reader *r = NULL;
	rs_descriptor desc = {0};
	(void)state;
	for (size_t i = 0; i < big_n; i++)
		big[i] = (unsigned char)(i * 7 + (i >> 9));
	big_d = digest_of(big, big_n);
	man = make_manifest(cfg_d, big_d, big_n);
	man_d = digest_of(man, strlen(man));

	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_WRITE), 0);
	assert_string_equal(rs_store_scheme(s), "oci");
	desc.digest = big_d;
	desc.size = (int64_t)big_n;
	assert_int_equal(rs_store_blob_exists(s, &desc), RS_ENOTFOUND);
	assert_int_equal(put_blob(s, CONFIG, strlen(CONFIG), cfg_d), 0);
	assert_int_equal(put_blob(s, big, big_n, big_d), 0);
	assert_int_equal(rs_store_blob_exists(s, &desc), 0);
	assert_int_equal(rs_store_manifest_put(s, "v1", man, strlen(man), RS_MT_OCI_MANIFEST), 0);
	assert_int_equal(rs_store_commit(s), 0);
	rs_store_free(s);

	/* on disk, per the spec */
	text = read_text(f->dir, "oci-layout");
	assert_string_equal(text, "{\"imageLayoutVersion\":\"1.0.0\"}");
	free(text);
	text = read_text(f->dir, "index.json");
	assert_non_null(strstr(text, "\"org.opencontainers.image.ref.name\":\"v1\""));
	assert_non_null(strstr(text, man_d));
	assert_non_null(strstr(text, "\"schemaVersion\":2"));
	free(text);

	/* read it back */
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_READ), 0);
	assert_int_equal(rs_store_manifest_get(s, "v1", &body, &mt, &dg), 0);
	assert_string_equal(body.ptr, man);
	assert_string_equal(mt, RS_MT_OCI_MANIFEST);
	assert_string_equal(dg, man_d);
	free(mt);
	free(dg);
	rs__buf_clear(&body);
	assert_int_equal(rs_store_manifest_get(s, NULL, &body, NULL, &dg), 0);
	assert_string_equal(body.ptr, man);
	assert_string_equal(dg, man_d);
	free(dg);
	rs__buf_clear(&body);
	assert_int_equal(rs_store_manifest_get(s, man_d, &body, &mt, NULL), 0);
	assert_string_equal(body.ptr, man);
	assert_string_equal(mt, RS_MT_OCI_MANIFEST);
	free(mt);

	assert_int_equal(rs_store_blob_open(&r, s, &desc), 0);
	assert_int_equal(r->size, (int64_t)big_n);
	{
		rs_reader *v = NULL;
		unsigned char buf[4096];
		long long n;
		uint64_t total = 0;
		assert_int_equal(rs__reader_verify(&v, r, big_d, (int64_t)big_n, true), 0);
		while ((n = rs_reader_read(v, buf, sizeof(buf))) > 0) {
			assert_memory_equal(buf, big + total, (size_t)n);
			total += (uint64_t)n;
		}
		assert_int_equal(n, 0);
		assert_int_equal(total, big_n);
		rs_reader_free(v);
	}

	assert_int_equal(rs_store_tag_list(s, collect, &tags), 0);
	assert_int_equal(tags.count, 1);
	assert_string_equal(tags.items[0], "v1");
	/* read-only: writes are refused */
	assert_int_equal(rs_store_manifest_put(s, "v2", man, strlen(man), NULL), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "read-only"));
	assert_int_equal(put_blob(s, CONFIG, strlen(CONFIG), cfg_d), RS_EINVAL);
	assert_int_equal(rs_store_blob_mount(s, &desc, "elsewhere"), RS_EUNSUPPORTED);
	rs_store_free(s);

	rs__strlist_dispose(&tags);
	rs_buf_dispose(&body);
	free(big);
	free(cfg_d);
	free(big_d);
	free(man);
	free(man_d);
}

static void test_two_tags_and_sorting(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	const char *m1 = "{\"schemaVersion\":2,\"layers\":[],\"config\":{}}";
	const char *m2 = "{\"schemaVersion\":2,\"layers\":[],\"config\":{},\"x\":1}";
	rs_buf body = RS_BUF_INIT;
	rs_strlist tags = RS_STRLIST_INIT;
	char *text, *mt = NULL;
	(void)state;
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_WRITE), 0);
	assert_int_equal(rs_store_manifest_put(s, "zeta", m1, strlen(m1), RS_MT_OCI_MANIFEST), 0);
	assert_int_equal(rs_store_manifest_put(s, "alpha", m2, strlen(m2), NULL), 0);
	assert_int_equal(rs_store_commit(s), 0);
	rs_store_free(s);

	text = read_text(f->dir, "index.json");
	assert_non_null(strstr(text, "\"alpha\""));
	assert_true(strstr(text, "\"alpha\"") < strstr(text, "\"zeta\""));
	free(text);

	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_READ), 0);
	assert_int_equal(rs_store_manifest_get(s, NULL, &body, NULL, NULL), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "alpha"));
	assert_non_null(strstr(rs_error_last()->message, "zeta"));
	assert_int_equal(rs_store_manifest_get(s, "nope", &body, NULL, NULL), RS_ENOTFOUND);
	assert_non_null(strstr(rs_error_last()->message, "\"nope\""));
	assert_non_null(strstr(rs_error_last()->message, "alpha, zeta"));
	/* media type sniffed from the fields when none was given */
	assert_int_equal(rs_store_manifest_get(s, "alpha", &body, &mt, NULL), 0);
	assert_string_equal(mt, RS_MT_OCI_MANIFEST);
	free(mt);
	assert_int_equal(rs_store_tag_list(s, collect, &tags), 0);
	assert_int_equal(tags.count, 2);
	assert_string_equal(tags.items[0], "alpha");
	assert_string_equal(tags.items[1], "zeta");
	rs_store_free(s);
	rs__strlist_dispose(&tags);
	rs_buf_dispose(&body);
}

static void test_empty_layout_and_retag(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	const char *m1 = "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_MANIFEST "\",\"a\":1}";
	const char *m2 = "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_MANIFEST "\",\"a\":2}";
	rs_buf body = RS_BUF_INIT;
	char *d1 = digest_of(m1, strlen(m1));
	(void)state;
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_WRITE), 0);
	assert_int_equal(rs_store_manifest_get(s, NULL, &body, NULL, NULL), RS_ENOTFOUND);
	assert_non_null(strstr(rs_error_last()->message, "no images"));
	assert_int_equal(rs_store_manifest_put(s, "v1", m1, strlen(m1), RS_MT_OCI_MANIFEST), 0);
	assert_int_equal(rs_store_manifest_put(s, "v1", m2, strlen(m2), RS_MT_OCI_MANIFEST), 0);
	/* visible before commit, and the tag moved */
	assert_int_equal(rs_store_manifest_get(s, NULL, &body, NULL, NULL), 0);
	assert_string_equal(body.ptr, m2);
	/* the old manifest's blob stays reachable by digest */
	assert_int_equal(rs_store_manifest_get(s, d1, &body, NULL, NULL), 0);
	assert_string_equal(body.ptr, m1);
	/* bad tags and bad digests */
	assert_int_equal(rs_store_manifest_put(s, "has space", m1, strlen(m1), NULL), RS_EINVAL);
	assert_int_equal(rs_store_manifest_put(s, "", m1, strlen(m1), NULL), RS_EINVAL);
	assert_int_equal(rs_store_manifest_get(s, "sha256:../../../etc/passwd", &body, NULL, NULL),
	                 RS_EINVAL);
	rs_store_free(s);
	rs_buf_dispose(&body);
	free(d1);
}

static void test_digest_references(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	const char *child = "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_MANIFEST "\"}";
	char *child_d = digest_of(child, strlen(child)), *idx, *idx_d, *text;
	rs_buf b = RS_BUF_INIT, body = RS_BUF_INIT;
	rs_strlist tags = RS_STRLIST_INIT;
	(void)state;
	rs__buf_printf(&b,
	               "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":"
	               "\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
	               RS_MT_OCI_INDEX, RS_MT_OCI_MANIFEST, child_d, strlen(child));
	idx = rs__buf_detach(&b);
	idx_d = digest_of(idx, strlen(idx));
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_WRITE), 0);
	/* a digest that is not the bytes' */
	assert_int_equal(rs_store_manifest_put(s, idx_d, child, strlen(child), RS_MT_OCI_MANIFEST),
	                 RS_EDIGEST);
	/* child by digest: blob only; the index by digest: an untagged entry */
	assert_int_equal(
	        rs_store_manifest_put(s, child_d, child, strlen(child), RS_MT_OCI_MANIFEST), 0);
	assert_int_equal(rs_store_manifest_put(s, idx_d, idx, strlen(idx), RS_MT_OCI_INDEX), 0);
	assert_int_equal(rs_store_manifest_put(s, idx_d, idx, strlen(idx), RS_MT_OCI_INDEX), 0);
	assert_int_equal(rs_store_commit(s), 0);
	rs_store_free(s);

	text = read_text(f->dir, "index.json");
	assert_non_null(strstr(text, idx_d));
	assert_null(strstr(strstr(text, idx_d) + 1, idx_d)); /* once */
	assert_null(strstr(text, child_d));
	assert_null(strstr(text, "ref.name"));
	free(text);

	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_READ), 0);
	assert_int_equal(rs_store_manifest_get(s, child_d, &body, NULL, NULL), 0);
	assert_string_equal(body.ptr, child);
	assert_int_equal(rs_store_manifest_get(s, NULL, &body, NULL, NULL), 0);
	assert_string_equal(body.ptr, idx);
	assert_int_equal(rs_store_tag_list(s, collect, &tags), 0);
	assert_int_equal(tags.count, 0);
	rs_store_free(s);
	rs__strlist_dispose(&tags);
	rs_buf_dispose(&body);
	free(idx);
	free(idx_d);
	free(child_d);
}

static long long fail_read(rs_reader *r, void *buf, size_t len)
{
	(void)r;
	(void)buf;
	(void)len;
	fail_msg("a blob already present must not be read again");
	return -1;
}

static void test_blob_put_mismatch_leaves_nothing(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	const char *data = "layer bytes";
	char *good = digest_of(data, strlen(data)), *wrong = digest_of("other", 5);
	rs_buf path = RS_BUF_INIT, sha = RS_BUF_INIT;
	rs_descriptor desc = {0};
	rs_reader never = {fail_read, NULL, NULL, 11, NULL};
	struct stat st;
	(void)state;
	rs__buf_printf(&sha, "%s/blobs/sha256", f->dir);
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_WRITE), 0);
	/* wrong digest */
	assert_int_equal(put_blob(s, data, strlen(data), wrong), RS_EDIGEST);
	assert_non_null(strstr(rs_error_last()->message, wrong));
	assert_non_null(strstr(rs_error_last()->message, good));
	rs__buf_printf(&path, "%s/%s", sha.ptr, wrong + 7);
	assert_int_equal(stat(path.ptr, &st), -1);
	assert_int_equal(count_tmp_files(sha.ptr), 0);
	/* right digest, wrong size */
	{
		rs_reader *r = NULL;
		desc.digest = good;
		desc.size = 5;
		assert_int_equal(rs_reader_from_memory(&r, data, strlen(data)), 0);
		assert_int_equal(rs_store_blob_put(s, &desc, r, NULL, NULL), RS_EFORMAT);
		assert_non_null(strstr(rs_error_last()->message, "size mismatch"));
		rs_reader_free(r);
	}
	rs__buf_clear(&path);
	rs__buf_printf(&path, "%s/%s", sha.ptr, good + 7);
	assert_int_equal(stat(path.ptr, &st), -1);
	assert_int_equal(count_tmp_files(sha.ptr), 0);
	assert_int_equal(rs_store_blob_exists(s, &desc), RS_ENOTFOUND);
	/* an already-verifying reader with bad bytes is still caught */
	{
		rs_reader *r = NULL, *v = NULL;
		const char *liar = "layer bytez";
		desc.digest = good;
		desc.size = (int64_t)strlen(liar);
		assert_int_equal(rs_reader_from_memory(&r, liar, strlen(liar)), 0);
		assert_int_equal(rs__reader_verify(&v, r, good, desc.size, true), 0);
		assert_int_equal(rs_store_blob_put(s, &desc, v, NULL, NULL), RS_EDIGEST);
		rs_reader_free(v);
		assert_int_equal(stat(path.ptr, &st), -1);
		assert_int_equal(count_tmp_files(sha.ptr), 0);
	}
	/* hostile digests never reach a path */
	desc.digest = (char *)(uintptr_t) "sha256:../../../../tmp/x";
	assert_int_equal(rs_store_blob_exists(s, &desc), RS_EINVAL);
	assert_int_equal(put_blob(s, data, strlen(data), desc.digest), RS_EINVAL);
	/* good, then already present: not read again */
	assert_int_equal(put_blob(s, data, strlen(data), good), 0);
	assert_int_equal(stat(path.ptr, &st), 0);
	assert_int_equal(st.st_size, (off_t)strlen(data));
	desc.digest = good;
	desc.size = (int64_t)strlen(data);
	assert_int_equal(rs_store_blob_put(s, &desc, &never, NULL, NULL), 0);
	rs_store_free(s);
	rs_buf_dispose(&path);
	rs_buf_dispose(&sha);
	free(good);
	free(wrong);
}

static int cancel_cb(uint64_t done, void *payload)
{
	*(uint64_t *)payload = done;
	return 1;
}

static void test_blob_put_cancelled(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	const char *data = "some bytes to cancel";
	char *good = digest_of(data, strlen(data));
	rs_descriptor desc = {0};
	rs_reader *r = NULL;
	rs_buf sha = RS_BUF_INIT;
	uint64_t seen = 0;
	(void)state;
	desc.digest = good;
	desc.size = (int64_t)strlen(data);
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_WRITE), 0);
	assert_int_equal(rs_reader_from_memory(&r, data, strlen(data)), 0);
	assert_int_equal(rs_store_blob_put(s, &desc, r, cancel_cb, &seen), RS_EUSER);
	assert_int_equal(seen, strlen(data));
	assert_int_equal(rs_store_blob_exists(s, &desc), RS_ENOTFOUND);
	rs__buf_printf(&sha, "%s/blobs/sha256", f->dir);
	assert_int_equal(count_tmp_files(sha.ptr), 0);
	rs_reader_free(r);
	rs_store_free(s);
	rs_buf_dispose(&sha);
	free(good);
}

static void test_open_modes(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	rs_buf p = RS_BUF_INIT;
	(void)state;
	/* missing, read-only */
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_READ), RS_EINVAL);
	assert_null(s);
	/* empty directory: not a layout for reading, fine for writing */
	assert_int_equal(mkdir(f->dir, 0755), 0);
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_READ), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "not an OCI layout"));
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_WRITE), 0);
	rs_store_free(s);
	/* now a layout: opens for reading */
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_READ), 0);
	rs_store_free(s);
	s = NULL;
	/* a non-empty directory that is not a layout is refused */
	rs__buf_printf(&p, "%s/notes.txt", f->root);
	assert_int_equal(rs__file_write_atomic(p.ptr, "hi", 2, 0644), 0);
	assert_int_equal(rs_store_open_oci_layout(&s, f->root, RS_STORE_WRITE), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "not empty"));
	assert_non_null(strstr(rs_error_last()->message, f->root));
	assert_null(s);
	/* a file is not a directory */
	assert_int_equal(rs_store_open_oci_layout(&s, p.ptr, RS_STORE_WRITE), RS_EINVAL);
	/* bad oci-layout contents */
	rs__buf_clear(&p);
	rs__buf_printf(&p, "%s/oci-layout", f->dir);
	assert_int_equal(
	        rs__file_write_atomic(p.ptr, "{\"imageLayoutVersion\":\"2.0.0\"}", 30, 0644), 0);
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_READ), RS_EUNSUPPORTED);
	assert_int_equal(rs__file_write_atomic(p.ptr, "nonsense", 8, 0644), 0);
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_READ), RS_EFORMAT);
	/* broken index.json */
	assert_int_equal(
	        rs__file_write_atomic(p.ptr, "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0644), 0);
	rs__buf_clear(&p);
	rs__buf_printf(&p, "%s/index.json", f->dir);
	assert_int_equal(rs__file_write_atomic(p.ptr, "{\"manifests\":", 13, 0644), 0);
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_READ), RS_EFORMAT);
	assert_non_null(strstr(rs_error_last()->message, "index.json"));
	/* no mode, no name */
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, 0), RS_EINVAL);
	assert_int_equal(rs_store_open_oci_layout(&s, "", RS_STORE_READ), RS_EINVAL);
	rs_buf_dispose(&p);
}

static void test_concurrent_commits_keep_entries(void **state)
{
	fixture *f = *state;
	rs_store *a = NULL, *b = NULL;
	const char *m1 = "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_MANIFEST "\",\"n\":1}";
	const char *m2 = "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_MANIFEST "\",\"n\":2}";
	rs_strlist tags = RS_STRLIST_INIT;
	(void)state;
	assert_int_equal(rs_store_open_oci_layout(&a, f->dir, RS_STORE_WRITE), 0);
	assert_int_equal(rs_store_open_oci_layout(&b, f->dir, RS_STORE_WRITE), 0);
	assert_int_equal(rs_store_manifest_put(a, "one", m1, strlen(m1), NULL), 0);
	assert_int_equal(rs_store_manifest_put(b, "two", m2, strlen(m2), NULL), 0);
	assert_int_equal(rs_store_commit(a), 0);
	assert_int_equal(rs_store_commit(b), 0);
	/* b's view now includes a's tag too */
	assert_int_equal(rs_store_tag_list(b, collect, &tags), 0);
	assert_int_equal(tags.count, 2);
	rs_store_free(a);
	rs_store_free(b);
	rs__strlist_dispose(&tags);
	assert_int_equal(rs_store_open_oci_layout(&a, f->dir, RS_STORE_WRITE), 0);
	assert_int_equal(rs_store_tag_list(a, collect, &tags), 0);
	assert_int_equal(tags.count, 2);
	assert_string_equal(tags.items[0], "one");
	assert_string_equal(tags.items[1], "two");
	rs__strlist_dispose(&tags);
	/* delete untags; committed */
	{
		char *d1 = digest_of(m1, strlen(m1));
		assert_int_equal(rs_store_manifest_delete(a, d1), 0);
		assert_int_equal(rs_store_manifest_delete(a, d1), RS_ENOTFOUND);
		assert_int_equal(rs_store_commit(a), 0);
		free(d1);
	}
	rs_store_free(a);
	assert_int_equal(rs_store_open_oci_layout(&a, f->dir, RS_STORE_READ), 0);
	assert_int_equal(rs_store_tag_list(a, collect, &tags), 0);
	assert_int_equal(tags.count, 1);
	assert_string_equal(tags.items[0], "two");
	rs_store_free(a);
	rs__strlist_dispose(&tags);
}

static int stop_cb(const char *tag, void *payload)
{
	(void)tag;
	(*(int *)payload)++;
	return 1;
}

static void test_corruption_and_callbacks(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	const char *m = "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_MANIFEST "\"}";
	char *d = digest_of(m, strlen(m));
	rs_buf p = RS_BUF_INIT, body = RS_BUF_INIT;
	int calls = 0;
	(void)state;
	assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_WRITE), 0);
	assert_int_equal(rs_store_manifest_put(s, "a", m, strlen(m), NULL), 0);
	assert_int_equal(rs_store_manifest_put(s, "b", m, strlen(m), NULL), 0);
	assert_int_equal(rs_store_tag_list(s, stop_cb, &calls), RS_EUSER);
	assert_int_equal(calls, 1);
	/* one byte short: caught by the size in index.json */
	rs__buf_printf(&p, "%s/blobs/sha256/%s", f->dir, d + 7);
	assert_int_equal(rs__file_write_atomic(p.ptr, m, strlen(m) - 1, 0644), 0);
	assert_int_equal(rs_store_manifest_get(s, "a", &body, NULL, NULL), RS_EFORMAT);
	/* same length, other bytes: caught by the digest check */
	{
		char *bad = rs__strdup(m);
		bad[3] = 'X';
		assert_int_equal(rs__file_write_atomic(p.ptr, bad, strlen(bad), 0644), 0);
		free(bad);
	}
	assert_int_equal(rs_store_manifest_get(s, "a", &body, NULL, NULL), RS_EDIGEST);
	assert_non_null(strstr(rs_error_last()->message, d));
	unlink(p.ptr);
	assert_int_equal(rs_store_manifest_get(s, "a", &body, NULL, NULL), RS_ENOTFOUND);
	rs_store_free(s);
	rs_buf_dispose(&p);
	rs_buf_dispose(&body);
	free(d);
}

/* Processes that open one new layout at once, each adding a tag: every open and commit
 * succeeds and no tag is lost (creation and index.json updates are serialised). */
static void test_parallel_processes_share_a_new_layout(void **state)
{
	fixture *f = *state;
	enum { PROCS = 6, ROUNDS = 4 };
	for (int round = 0; round < ROUNDS; round++) {
		pid_t pids[PROCS];
		rs_store *s = NULL;
		rs_strlist tags = RS_STRLIST_INIT;
		rs__rmtree(f->dir);
		if (round % 2)
			assert_int_equal(mkdir(f->dir, 0755), 0); /* an existing empty directory */
		for (int i = 0; i < PROCS; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				char tag[16], m[128];
				int rc;
				snprintf(tag, sizeof(tag), "t%d", i);
				snprintf(m, sizeof(m),
				         "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_MANIFEST
				         "\",\"n\":%d}",
				         i);
				rc = rs_store_open_oci_layout(&s, f->dir, RS_STORE_WRITE);
				if (rc == 0)
					rc = rs_store_manifest_put(s, tag, m, strlen(m), NULL);
				if (rc == 0)
					rc = rs_store_commit(s);
				if (rc)
					fprintf(stderr, "child %d: %s\n", i,
					        rs_error_last()->message);
				rs_store_free(s);
				_exit(rc ? 1 : 0);
			}
		}
		for (int i = 0; i < PROCS; i++) {
			int st;
			assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
			assert_true(WIFEXITED(st));
			assert_int_equal(WEXITSTATUS(st), 0);
		}
		assert_int_equal(rs_store_open_oci_layout(&s, f->dir, RS_STORE_READ), 0);
		assert_int_equal(rs_store_tag_list(s, collect, &tags), 0);
		assert_int_equal(tags.count, PROCS);
		rs_store_free(s);
		rs__strlist_dispose(&tags);
		assert_int_equal(count_tmp_files(f->dir), 0);
	}
}

/* A writer trusts a present blob only when it hashes right, and replaces a wrong one; a reader
 * says what is wrong. Links inside a writer's layout are never followed. */
static void test_present_blobs_checked(void **state)
{
	fixture *f = *state;
	rs_store *w = NULL, *r = NULL;
	rs_descriptor desc = {0};
	const char *data = "the real layer bytes";
	char *d = digest_of(data, strlen(data));
	rs_buf path = RS_BUF_INIT, outside = RS_BUF_INIT, link = RS_BUF_INIT;
	char *text;
	desc.digest = d;
	desc.size = (int64_t)strlen(data);
	assert_int_equal(rs_store_open_oci_layout(&w, f->dir, RS_STORE_WRITE), 0);
	rs__buf_printf(&path, "%s/blobs/sha256/%s", f->dir, d + 7);
	/* right size, wrong bytes */
	assert_int_equal(rs__file_write_atomic(path.ptr, "THE REAL LAYER BYTES", 20, 0644), 0);
	assert_int_equal(rs_store_blob_exists(w, &desc), RS_ENOTFOUND);
	assert_int_equal(rs_store_open_oci_layout(&r, f->dir, RS_STORE_READ), 0);
	assert_int_equal(rs_store_blob_exists(r, &desc), 0); /* a reader verifies as it reads */
	assert_int_equal(put_blob(w, data, strlen(data), d), 0);
	text = read_text(f->dir, path.ptr + strlen(f->dir) + 1);
	assert_string_equal(text, data);
	free(text);
	assert_int_equal(rs_store_blob_exists(w, &desc), 0);
	/* wrong size: the reader names both sizes */
	assert_int_equal(rs__file_write_atomic(path.ptr, "short", 5, 0644), 0);
	assert_int_equal(rs_store_blob_exists(r, &desc), RS_EFORMAT);
	assert_error_mentions(RS_EFORMAT, "has 5 bytes, the manifest says 20");
	assert_int_equal(rs_store_blob_exists(w, &desc), RS_ENOTFOUND);
	/* a link to a file outside: a writer replaces the link, the target is untouched */
	rs__buf_printf(&outside, "%s/outside", f->root);
	assert_int_equal(rs__file_write_atomic(outside.ptr, data, strlen(data), 0644), 0);
	assert_int_equal(unlink(path.ptr), 0);
	assert_int_equal(symlink(outside.ptr, path.ptr), 0);
	assert_int_equal(rs_store_blob_exists(w, &desc), RS_ENOTFOUND);
	assert_int_equal(rs_store_blob_exists(r, &desc), 0);
	assert_int_equal(put_blob(w, data, strlen(data), d), 0);
	{
		struct stat st;
		assert_int_equal(lstat(path.ptr, &st), 0);
		assert_true(S_ISREG(st.st_mode));
	}
	/* blobs/sha256 a link to another directory: refused, nothing written there */
	rs__buf_printf(&link, "%s/blobs/sha256", f->dir);
	rs__rmtree(link.ptr);
	rs__buf_clear(&outside);
	rs__buf_printf(&outside, "%s/elsewhere", f->root);
	assert_int_equal(mkdir(outside.ptr, 0755), 0);
	assert_int_equal(symlink(outside.ptr, link.ptr), 0);
	assert_int_equal(put_blob(w, data, strlen(data), d), RS_EINVAL);
	assert_error_mentions(RS_EINVAL, "symbolic link");
	assert_int_equal(test_count_entries(outside.ptr), 0);
	rs_store_free(w);
	rs_store_free(r);
	rs_buf_dispose(&path);
	rs_buf_dispose(&outside);
	rs_buf_dispose(&link);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_two_tags_and_sorting, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_empty_layout_and_retag, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_digest_references, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_blob_put_mismatch_leaves_nothing, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_blob_put_cancelled, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_open_modes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_concurrent_commits_keep_entries, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_corruption_and_callbacks, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_parallel_processes_share_a_new_layout, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_present_blobs_checked, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
