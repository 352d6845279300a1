/*
 * Tests for lib/store/docker_archive.c: archives are built here with libarchive (legacy
 * docker save layout and the docker 25+ OCI-in-tar layout), read back through the store table,
 * and written then read again. skopeo, when installed, checks what the writer produces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regship/copy.h"
#include "regship/store.h"
#include "regship/sys/store.h"
#include "store/compress.h"
#include "store/docker_archive.h"
#include "util/digest.h"
#include "util/util.h"

#include "testtar.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

/* ---- building archives ------------------------------------------------------------------- */

enum { T_FILE, T_SYMLINK, T_HARDLINK, T_DIR };

typedef struct {
	const char *name;
	const void *data;
	size_t len;
	int type;
	const char *link;
} tar_member;

static void write_tar(const char *path, const tar_member *m, size_t n)
{
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	archive_write_set_bytes_per_block(a, 512); /* no padding after the end blocks */
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_mtime(e, 1700000000, 0);
		switch (m[i].type) {
		case T_FILE:
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, (la_int64_t)m[i].len);
			break;
		case T_SYMLINK:
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, m[i].link);
			break;
		case T_HARDLINK:
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, m[i].link);
			archive_entry_set_size(e, 0);
			break;
		default:
			archive_entry_set_filetype(e, AE_IFDIR);
			break;
		}
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (m[i].type == T_FILE && m[i].len)
			assert_int_equal(archive_write_data(a, m[i].data, m[i].len),
			                 (la_ssize_t)m[i].len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* A small but real layer: a tar holding one file with `size` bytes derived from seed. */
static void make_layer(rs_buf *out, const char *file, size_t size, unsigned seed)
{
	char *data = malloc(size + 1);
	uint32_t x = seed;
	for (size_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u;
		/* half text (compressible), half noise */
		data[i] = i % 2 ? (char)('a' + i % 7) : (char)(x >> 24);
	}
	test_tar_one_file(out, file, data, size);
	free(data);
}

static int to_buf(const void *data, size_t len, void *payload)
{
	rs__buf_put(payload, data, len);
	return 0;
}

static void compress_buf(rs_buf *out, rs_compression c, const rs_buf *in)
{
	rs__compressor *z = NULL;
	assert_int_equal(rs__compressor_new(&z, c, 0, to_buf, out), 0);
	assert_int_equal(rs__compressor_write(z, in->ptr, in->size), 0);
	assert_int_equal(rs__compressor_finish(z), 0);
	rs__compressor_free(z);
}

#define NLAYERS 3

typedef struct {
	char dir[64];
	char cache[128];
	char tmp[128];
	char file[128];
	rs_buf layer[NLAYERS];
	char diff_id[NLAYERS][RS_DIGEST_MAX];
	rs_buf config, config2;
	char config_digest[RS_DIGEST_MAX], config2_digest[RS_DIGEST_MAX];
} fixture;

static void config_json(rs_buf *out, char *digest, char diff[][RS_DIGEST_MAX], size_t n,
                        const char *extra)
{
	rs__buf_printf(
	        out,
	        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"A=%s\"]},"
	        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[",
	        extra);
	for (size_t i = 0; i < n; i++)
		rs__buf_printf(out, "%s\"%s\"", i ? "," : "", diff[i]);
	rs__buf_puts(out, "]}}");
	rs__sha256_digest(digest, out->ptr, out->size);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (test_tmpdir(f->dir, sizeof(f->dir), "docker-archive") < 0) {
		free(f);
		return -1;
	}
	snprintf(f->cache, sizeof(f->cache), "%s/cache", f->dir);
	snprintf(f->tmp, sizeof(f->tmp), "%s/tmp", f->dir);
	snprintf(f->file, sizeof(f->file), "%s/image.tar", f->dir);
	mkdir(f->tmp, 0700);
	for (unsigned i = 0; i < NLAYERS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "etc/file%u", i);
		make_layer(&f->layer[i], name, 20000 + 70000 * i, i + 1);
		rs__sha256_digest(f->diff_id[i], f->layer[i].ptr, f->layer[i].size);
	}
	config_json(&f->config, f->config_digest, f->diff_id, NLAYERS, "one");
	config_json(&f->config2, f->config2_digest, f->diff_id, 1, "two");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	/* every store cleaned up after itself */
	int left = test_count_entries(f->tmp);
	assert_int_equal(test_rm_rf(f->dir), 0);
	for (unsigned i = 0; i < NLAYERS; i++)
		rs_buf_dispose(&f->layer[i]);
	rs_buf_dispose(&f->config);
	rs_buf_dispose(&f->config2);
	free(f);
	if (left != 0)
		fprintf(stderr, "temporary files left behind: %d\n", left);
	return left == 0 ? 0 : -1;
}

static const char *hex(const char *digest)
{
	return digest + 7;
}

/* The legacy layout `docker save` writes: <id>/layer.tar, <config-hex>.json, manifest.json. */
static void write_legacy(const fixture *f, const char *path, const char *manifest_override)
{
	char names[NLAYERS][128], dirs[NLAYERS][80], cfgname[80];
	rs_buf manifest = RS_BUF_INIT;
	tar_member m[3 * NLAYERS + 3];
	size_t n = 0;
	snprintf(cfgname, sizeof(cfgname), "%s.json", hex(f->config_digest));
	rs__buf_printf(&manifest,
	               "[{\"Config\":\"%s\",\"RepoTags\":[\"ubuntu:latest\","
	               "\"registry.local:5000/team/app:v1\"],\"Layers\":[",
	               cfgname);
	for (unsigned i = 0; i < NLAYERS; i++) {
		/* v1 ids are not diff_ids: make them differ */
		snprintf(dirs[i], sizeof(dirs[i]), "%064u", i + 7);
		snprintf(names[i], sizeof(names[i]), "%s/layer.tar", dirs[i]);
		rs__buf_printf(&manifest, "%s\"%s\"", i ? "," : "", names[i]);
		m[n++] = (tar_member){dirs[i], NULL, 0, T_DIR, NULL};
		m[n++] = (tar_member){names[i], f->layer[i].ptr, f->layer[i].size, T_FILE, NULL};
	}
	rs__buf_puts(&manifest, "]}]");
	if (manifest_override) {
		rs__buf_clear(&manifest);
		rs__buf_puts(&manifest, manifest_override);
	}
	m[n++] = (tar_member){cfgname, f->config.ptr, f->config.size, T_FILE, NULL};
	m[n++] = (tar_member){"repositories", "{}", 2, T_FILE, NULL};
	m[n++] = (tar_member){"manifest.json", manifest.ptr, manifest.size, T_FILE, NULL};
	write_tar(path, m, n);
	rs_buf_dispose(&manifest);
}

static rs_docker_archive_options test_opts(const fixture *f)
{
	rs_docker_archive_options o = RS_DOCKER_ARCHIVE_OPTIONS_INIT;
	o.tmp_dir = f->tmp;
	o.cache_dir = ""; /* no cache unless a test asks */
	return o;
}

static void store_free(rs_store *s)
{
	if (s)
		s->ops->free(s);
}

static void read_all(rs_buf *out, rs_reader *r)
{
	char buf[7777];
	long long n;
	while ((n = rs_reader_read(r, buf, sizeof(buf))) > 0)
		rs__buf_put(out, buf, (size_t)n);
	assert_int_equal(n, 0);
}

/* Fetch a blob through the store and check it against its descriptor. */
static void fetch_blob(rs_buf *out, rs_store *s, const char *mt, const char *digest, int64_t size)
{
	rs_descriptor d = {
	        (char *)(uintptr_t)mt, (char *)(uintptr_t)digest, size, NULL, NULL, NULL};
	rs_reader *r = NULL;
	char got[RS_DIGEST_MAX];
	assert_int_equal(s->ops->blob_exists(s, &d), 0);
	assert_int_equal(s->ops->blob_open(&r, s, &d), 0);
	read_all(out, r);
	rs_reader_free(r);
	rs__sha256_digest(got, out->ptr ? out->ptr : "", out->size);
	assert_string_equal(got, digest);
	assert_int_equal((int64_t)out->size, size);
}

static json_t *get_manifest(rs_store *s, const char *ref, char **mt, char **digest)
{
	rs_buf body = RS_BUF_INIT;
	json_t *j;
	char want[RS_DIGEST_MAX];
	int error = s->ops->manifest_get(s, ref, &body, mt, digest);
	if (error)
		fprintf(stderr, "manifest_get: %s\n", rs_error_last()->message);
	assert_int_equal(error, 0);
	rs__sha256_digest(want, body.ptr, body.size);
	assert_string_equal(*digest, want);
	j = json_loadb(body.ptr, body.size, 0, NULL);
	assert_non_null(j);
	rs_buf_dispose(&body);
	return j;
}

/* Every layer of manifest m: digest, size, and decompressed content == the fixture's layer. */
static void check_layers(const fixture *f, rs_store *s, json_t *m, rs_compression c, const char *mt)
{
	json_t *layers = json_object_get(m, "layers");
	assert_int_equal(json_array_size(layers), NLAYERS);
	for (size_t i = 0; i < NLAYERS; i++) {
		json_t *l = json_array_get(layers, i);
		rs_buf blob = RS_BUF_INIT, plain = RS_BUF_INIT;
		rs__decompressor *z = NULL;
		assert_string_equal(json_string_value(json_object_get(l, "mediaType")), mt);
		fetch_blob(&blob, s, mt, json_string_value(json_object_get(l, "digest")),
		           json_integer_value(json_object_get(l, "size")));
		assert_int_equal(rs__compress_detect(blob.ptr, blob.size), c);
		assert_int_equal(rs__decompressor_new(&z, c, to_buf, &plain), 0);
		assert_int_equal(rs__decompressor_write(z, blob.ptr, blob.size), 0);
		assert_int_equal(rs__decompressor_finish(z), 0);
		rs__decompressor_free(z);
		assert_int_equal(plain.size, f->layer[i].size);
		assert_memory_equal(plain.ptr, f->layer[i].ptr, plain.size);
		if (c == RS_COMPRESSION_GZIP) /* deterministic header */
			assert_memory_equal(blob.ptr, "\x1f\x8b\x08\x00\x00\x00\x00\x00", 8);
		rs_buf_dispose(&blob);
		rs_buf_dispose(&plain);
	}
}

static void check_config(const fixture *f, rs_store *s, json_t *m, const char *mt)
{
	json_t *c = json_object_get(m, "config");
	rs_buf cfg = RS_BUF_INIT;
	assert_string_equal(json_string_value(json_object_get(c, "mediaType")), mt);
	assert_string_equal(json_string_value(json_object_get(c, "digest")), f->config_digest);
	fetch_blob(&cfg, s, mt, f->config_digest, (int64_t)f->config.size);
	assert_memory_equal(cfg.ptr, f->config.ptr, f->config.size);
	rs_buf_dispose(&cfg);
}

/* ---- reading ----------------------------------------------------------------------------- */

static void test_legacy_gzip(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *s = NULL;
	char *mt = NULL, *digest = NULL;
	json_t *m;
	write_legacy(f, f->file, NULL);
	assert_int_equal(rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o), 0);
	assert_string_equal(s->ops->scheme, "docker-archive");
	m = get_manifest(s, NULL, &mt, &digest);
	assert_string_equal(mt, RS_MT_DOCKER_MANIFEST);
	assert_int_equal(json_integer_value(json_object_get(m, "schemaVersion")), 2);
	assert_string_equal(json_string_value(json_object_get(m, "mediaType")),
	                    RS_MT_DOCKER_MANIFEST);
	check_config(f, s, m, RS_MT_DOCKER_CONFIG);
	check_layers(f, s, m, RS_COMPRESSION_GZIP, RS_MT_DOCKER_LAYER_GZIP);
	assert_int_equal(rs__docker_archive_compressions(s), NLAYERS);
	/* compact JSON, config first */
	{
		rs_buf body = RS_BUF_INIT;
		char *mt2 = NULL, *d2 = NULL;
		assert_int_equal(s->ops->manifest_get(s, "ubuntu", &body, &mt2, &d2), 0);
		assert_string_equal(d2, digest); /* same image, same bytes, nothing redone */
		assert_true(rs__str_startswith(body.ptr, "{\"schemaVersion\":2,\"mediaType\":"));
		assert_null(strchr(body.ptr, ' '));
		free(mt2);
		free(d2);
		rs_buf_dispose(&body);
	}
	assert_int_equal(rs__docker_archive_compressions(s), NLAYERS);
	/* by digest, once handed out */
	{
		char *mt2 = NULL, *d2 = NULL;
		json_decref(get_manifest(s, digest, &mt2, &d2));
		free(mt2);
		free(d2);
	}
	json_decref(m);
	free(mt);
	free(digest);
	store_free(s);
}

/* The docker 25+ layout: OCI blobs plus a manifest.json pointing into blobs/. */
static void write_oci_in_tar(const fixture *f, const char *path, const rs_buf *layers)
{
	char names[NLAYERS][128], cfgname[128], d[RS_DIGEST_MAX];
	rs_buf manifest = RS_BUF_INIT, index = RS_BUF_INIT;
	tar_member m[NLAYERS + 8];
	size_t n = 0;
	snprintf(cfgname, sizeof(cfgname), "blobs/sha256/%s", hex(f->config_digest));
	rs__buf_printf(&manifest,
	               "[{\"Config\":\"%s\",\"RepoTags\":[\"busybox:1.36\"],\"Layers\":[", cfgname);
	m[n++] = (tar_member){"blobs", NULL, 0, T_DIR, NULL};
	m[n++] = (tar_member){"blobs/sha256", NULL, 0, T_DIR, NULL};
	for (unsigned i = 0; i < NLAYERS; i++) {
		rs__sha256_digest(d, layers[i].ptr, layers[i].size);
		snprintf(names[i], sizeof(names[i]), "blobs/sha256/%s", hex(d));
		rs__buf_printf(&manifest, "%s\"%s\"", i ? "," : "", names[i]);
		m[n++] = (tar_member){names[i], layers[i].ptr, layers[i].size, T_FILE, NULL};
	}
	rs__buf_puts(&manifest, "]}]");
	rs__buf_puts(&index, "{\"schemaVersion\":2,\"manifests\":[]}");
	m[n++] = (tar_member){cfgname, f->config.ptr, f->config.size, T_FILE, NULL};
	m[n++] = (tar_member){"index.json", index.ptr, index.size, T_FILE, NULL};
	m[n++] = (tar_member){"manifest.json", manifest.ptr, manifest.size, T_FILE, NULL};
	m[n++] = (tar_member){"oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, T_FILE, NULL};
	write_tar(path, m, n);
	rs_buf_dispose(&manifest);
	rs_buf_dispose(&index);
}

static void test_oci_in_tar_zstd(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *s = NULL;
	char *mt = NULL, *digest = NULL;
	json_t *m;
	write_oci_in_tar(f, f->file, f->layer);
	o.compression = RS_COMPRESSION_ZSTD;
	o.format = RS_MANIFEST_FORMAT_OCI;
	o.jobs = 2;
	assert_int_equal(rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o), 0);
	m = get_manifest(s, "docker.io/library/busybox:1.36", &mt, &digest);
	assert_string_equal(mt, RS_MT_OCI_MANIFEST);
	check_config(f, s, m, RS_MT_OCI_CONFIG);
	check_layers(f, s, m, RS_COMPRESSION_ZSTD, RS_MT_OCI_LAYER_ZSTD);
	json_decref(m);
	free(mt);
	free(digest);
	store_free(s);
}

static void test_compression_none(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *s = NULL;
	char *mt = NULL, *digest = NULL;
	json_t *m, *layers;
	write_legacy(f, f->file, NULL);
	o.compression = RS_COMPRESSION_NONE;
	assert_int_equal(rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o), 0);
	m = get_manifest(s, NULL, &mt, &digest);
	check_layers(f, s, m, RS_COMPRESSION_NONE, "application/vnd.docker.image.rootfs.diff.tar");
	layers = json_object_get(m, "layers");
	for (size_t i = 0; i < NLAYERS; i++) /* as is: the digest is the diff_id */
		assert_string_equal(
		        json_string_value(json_object_get(json_array_get(layers, i), "digest")),
		        f->diff_id[i]);
	assert_int_equal(rs__docker_archive_compressions(s), 0);
	assert_null(rs__docker_archive_tmpdir(s)); /* nothing copied */
	json_decref(m);
	free(mt);
	free(digest);
	store_free(s);
}

static void test_precompressed_layers_pass_through(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_buf comp[NLAYERS] = {RS_BUF_INIT, RS_BUF_INIT, RS_BUF_INIT};
	rs_store *s = NULL;
	char *mt = NULL, *digest = NULL, d[RS_DIGEST_MAX];
	json_t *m, *layers;
	/* one gzip, one zstd, one plain: each keeps its form */
	compress_buf(&comp[0], RS_COMPRESSION_GZIP, &f->layer[0]);
	compress_buf(&comp[1], RS_COMPRESSION_ZSTD, &f->layer[1]);
	rs__buf_put(&comp[2], f->layer[2].ptr, f->layer[2].size);
	write_oci_in_tar(f, f->file, comp);
	o.format = RS_MANIFEST_FORMAT_OCI;
	assert_int_equal(rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o), 0);
	m = get_manifest(s, NULL, &mt, &digest);
	layers = json_object_get(m, "layers");
	for (size_t i = 0; i < 2; i++) {
		json_t *l = json_array_get(layers, i);
		rs_buf blob = RS_BUF_INIT;
		rs__sha256_digest(d, comp[i].ptr, comp[i].size);
		assert_string_equal(json_string_value(json_object_get(l, "digest")), d);
		assert_string_equal(json_string_value(json_object_get(l, "mediaType")),
		                    i ? RS_MT_OCI_LAYER_ZSTD : RS_MT_OCI_LAYER_GZIP);
		fetch_blob(&blob, s, NULL, d, (int64_t)comp[i].size);
		assert_memory_equal(blob.ptr, comp[i].ptr, comp[i].size);
		rs_buf_dispose(&blob);
	}
	assert_string_equal(
	        json_string_value(json_object_get(json_array_get(layers, 2), "mediaType")),
	        RS_MT_OCI_LAYER_GZIP);
	assert_int_equal(rs__docker_archive_compressions(s), 1); /* only the plain one */
	json_decref(m);
	free(mt);
	free(digest);
	store_free(s);
	for (size_t i = 0; i < NLAYERS; i++)
		rs_buf_dispose(&comp[i]);
}

static int collect_tag(const char *tag, void *payload)
{
	rs__strlist_push(payload, tag);
	return 0;
}

static int stop_at_first(const char *tag, void *payload)
{
	(void)tag;
	(*(int *)payload)++;
	return 1;
}

static void test_multi_image_selection(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *s = NULL;
	rs_strlist tags = RS_STRLIST_INIT;
	rs_buf manifest = RS_BUF_INIT, body = RS_BUF_INIT;
	char cfg1[80], cfg2[80], *mt = NULL, *digest = NULL;
	json_t *m;
	int calls = 0;
	tar_member mem[6];
	snprintf(cfg1, sizeof(cfg1), "%s.json", hex(f->config_digest));
	snprintf(cfg2, sizeof(cfg2), "%s.json", hex(f->config2_digest));
	rs__buf_printf(
	        &manifest,
	        "[{\"Config\":\"%s\",\"RepoTags\":[\"ubuntu:latest\",\"example.com/a/b:v1\"],"
	        "\"Layers\":[\"l0/layer.tar\",\"l1/layer.tar\",\"l2/layer.tar\"]},"
	        "{\"Config\":\"%s\",\"RepoTags\":null,\"Layers\":[\"l0/layer.tar\"]}]",
	        cfg1, cfg2);
	mem[0] = (tar_member){"l0/layer.tar", f->layer[0].ptr, f->layer[0].size, T_FILE, NULL};
	mem[1] = (tar_member){"l1/layer.tar", f->layer[1].ptr, f->layer[1].size, T_FILE, NULL};
	mem[2] = (tar_member){"./l2/layer.tar", f->layer[2].ptr, f->layer[2].size, T_FILE, NULL};
	mem[3] = (tar_member){cfg1, f->config.ptr, f->config.size, T_FILE, NULL};
	mem[4] = (tar_member){cfg2, f->config2.ptr, f->config2.size, T_FILE, NULL};
	mem[5] = (tar_member){"manifest.json", manifest.ptr, manifest.size, T_FILE, NULL};
	write_tar(f->file, mem, 6);
	assert_int_equal(rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o), 0);

	/* several images: NULL must name them */
	assert_int_equal(s->ops->manifest_get(s, NULL, &body, &mt, &digest), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "docker.io/library/ubuntu:latest"));
	assert_non_null(strstr(rs_error_last()->message, "@1 (untagged)"));

	/* short and full forms of a RepoTag select the same image */
	m = get_manifest(s, "ubuntu", &mt, &digest);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(m, "config"), "digest")),
	        f->config_digest);
	json_decref(m);
	free(mt);
	free(digest);
	m = get_manifest(s, "example.com/a/b:v1", &mt, &digest);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(m, "config"), "digest")),
	        f->config_digest);
	json_decref(m);
	free(mt);
	free(digest);
	m = get_manifest(s, "@1", &mt, &digest);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(m, "config"), "digest")),
	        f->config2_digest);
	assert_int_equal(json_array_size(json_object_get(m, "layers")), 1);
	json_decref(m);
	free(mt);
	free(digest);
	/* the shared layer was compressed once */
	assert_int_equal(rs__docker_archive_compressions(s), NLAYERS);

	assert_int_equal(s->ops->manifest_get(s, "@2", &body, NULL, NULL), RS_ENOTFOUND);
	assert_int_equal(s->ops->manifest_get(s, "@x", &body, NULL, NULL), RS_EINVAL);
	assert_int_equal(s->ops->manifest_get(s, "ubuntu:22.04", &body, NULL, NULL), RS_ENOTFOUND);
	assert_non_null(strstr(rs_error_last()->message, "docker.io/library/ubuntu:22.04"));
	assert_int_equal(s->ops->manifest_get(s, "Bad Ref", &body, NULL, NULL), RS_EINVAL);

	assert_int_equal(s->ops->tag_list(s, collect_tag, &tags), 0);
	assert_int_equal(tags.count, 2);
	assert_string_equal(tags.items[0], "docker.io/library/ubuntu:latest");
	assert_string_equal(tags.items[1], "example.com/a/b:v1");
	assert_int_equal(s->ops->tag_list(s, stop_at_first, &calls), RS_EUSER);
	assert_int_equal(calls, 1);

	rs__strlist_dispose(&tags);
	rs_buf_dispose(&manifest);
	rs_buf_dispose(&body);
	store_free(s);
}

static void test_cache_hit_does_not_compress(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *s = NULL;
	char *mt = NULL, *d1 = NULL, *d2 = NULL;
	json_t *m1, *m2;
	write_legacy(f, f->file, NULL);
	o.cache_dir = f->cache;

	assert_int_equal(rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o), 0);
	m1 = get_manifest(s, NULL, &mt, &d1);
	assert_int_equal(rs__docker_archive_compressions(s), NLAYERS);
	assert_int_equal(test_count_entries(f->cache), NLAYERS);
	free(mt);
	store_free(s);

	/* second time: every layer hits the cache, nothing is compressed nor copied */
	assert_int_equal(rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o), 0);
	m2 = get_manifest(s, NULL, &mt, &d2);
	assert_string_equal(d1, d2);
	assert_int_equal(rs__docker_archive_compressions(s), 0);
	assert_null(rs__docker_archive_tmpdir(s));
	/* blob_open compresses on demand, to the same bytes */
	check_layers(f, s, m2, RS_COMPRESSION_GZIP, RS_MT_DOCKER_LAYER_GZIP);
	assert_int_equal(rs__docker_archive_compressions(s), NLAYERS);
	/* the on-demand reader can start again */
	{
		json_t *l = json_array_get(json_object_get(m2, "layers"), 0);
		rs_descriptor d = {
		        NULL,
		        (char *)(uintptr_t)json_string_value(json_object_get(l, "digest")),
		        json_integer_value(json_object_get(l, "size")),
		        NULL,
		        NULL,
		        NULL};
		rs_reader *r = NULL;
		rs_buf a = RS_BUF_INIT, b = RS_BUF_INIT;
		char x[100];
		assert_int_equal(s->ops->blob_open(&r, s, &d), 0);
		assert_int_equal(r->size, d.size);
		assert_true(rs_reader_read(r, x, sizeof(x)) > 0);
		assert_int_equal(rs_reader_rewind(r), 0);
		read_all(&a, r);
		rs_reader_free(r);
		assert_int_equal((int64_t)a.size, d.size);
		(void)b;
		rs_buf_dispose(&a);
	}
	json_decref(m1);
	json_decref(m2);
	free(mt);
	free(d1);
	free(d2);
	store_free(s);
}

static void test_cache_poisoned(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *s = NULL;
	rs_reader *r = NULL;
	char *mt = NULL, *digest = NULL, buf[4096];
	const char *bogus =
	        "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	rs_descriptor d = {NULL, (char *)(uintptr_t)bogus, 1234, NULL, NULL, NULL};
	char digest_out[RS_DIGEST_MAX];
	int64_t size;
	long long n;
	json_t *m;
	write_legacy(f, f->file, NULL);
	o.cache_dir = f->cache;
	assert_int_equal(rs__compress_cache_put(f->cache, f->diff_id[0], RS_COMPRESSION_GZIP, 6,
	                                        bogus, 1234),
	                 0);
	assert_int_equal(rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o), 0);
	m = get_manifest(s, NULL, &mt, &digest);
	assert_string_equal(json_string_value(json_object_get(
	                            json_array_get(json_object_get(m, "layers"), 0), "digest")),
	                    bogus);
	assert_int_equal(s->ops->blob_open(&r, s, &d), 0);
	while ((n = rs_reader_read(r, buf, sizeof(buf))) > 0)
		;
	assert_int_equal(n, RS_EDIGEST);
	assert_non_null(strstr(rs_error_last()->message, bogus));
	assert_non_null(strstr(rs_error_last()->message, "removed"));
	rs_reader_free(r);
	/* the entry is gone: the next run compresses for real */
	assert_int_equal(rs__compress_cache_get(digest_out, &size, f->cache, f->diff_id[0],
	                                        RS_COMPRESSION_GZIP, 6),
	                 RS_ENOTFOUND);
	json_decref(m);
	free(mt);
	free(digest);
	store_free(s);
}

/* ---- hostile archives -------------------------------------------------------------------- */

static void expect_open_error(const fixture *f, int code, const char *needle)
{
	rs_docker_archive_options o = test_opts(f);
	rs_store *s = NULL;
	int error = rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o);
	if (error != code || !strstr(rs_error_last()->message, needle))
		fprintf(stderr, "got %d: %s\n", error,
		        rs_error_last() ? rs_error_last()->message : "");
	assert_int_equal(error, code);
	assert_null(s);
	assert_non_null(strstr(rs_error_last()->message, needle));
	assert_int_equal(test_count_entries(f->tmp), 0);
}

static void test_hostile_structure(void **state)
{
	fixture *f = *state;
	char cfgname[80], big_name[160];
	tar_member m[4];
	rs_buf big = RS_BUF_INIT;
	snprintf(cfgname, sizeof(cfgname), "%s.json", hex(f->config_digest));

	/* not there at all */
	expect_open_error(f, RS_EINVAL, "no such file");
	/* no manifest.json; with an index.json a hint */
	m[0] = (tar_member){"index.json", "{}", 2, T_FILE, NULL};
	write_tar(f->file, m, 1);
	expect_open_error(f, RS_EFORMAT, "no manifest.json");
	expect_open_error(f, RS_EFORMAT, "oci-archive");
	/* not a tar */
	{
		FILE *fp = fopen(f->file, "w");
		fputs("this is not a tar archive, not at all, no. ", fp);
		for (int i = 0; i < 40; i++)
			fputs("padding padding padding ", fp);
		fclose(fp);
	}
	expect_open_error(f, RS_EFORMAT, f->file);
	/* malformed JSON */
	write_legacy(f, f->file, "[{\"Config\": ");
	expect_open_error(f, RS_EFORMAT, "manifest.json: malformed JSON");
	write_legacy(f, f->file, "{}");
	expect_open_error(f, RS_EFORMAT, "manifest.json is not a non-empty array");
	write_legacy(f, f->file, "[{\"Config\":5,\"Layers\":[]}]");
	expect_open_error(f, RS_EFORMAT, "expected an object with Config");
	/* a referenced layer missing */
	snprintf(big_name, sizeof(big_name),
	         "[{\"Config\":\"%s\",\"RepoTags\":[],\"Layers\":[\"nothere/layer.tar\"]}]",
	         cfgname);
	write_legacy(f, f->file, big_name);
	expect_open_error(f, RS_EFORMAT, "\"nothere/layer.tar\", which is not in the archive");
	/* the config missing */
	write_legacy(f, f->file, "[{\"Config\":\"gone.json\",\"RepoTags\":[],\"Layers\":[]}]");
	expect_open_error(f, RS_EFORMAT, "config \"gone.json\"");
	/* manifest.json over 8 MiB */
	rs__buf_putc(&big, '[');
	while (big.size < 8 * 1024 * 1024 + 10)
		rs__buf_puts(&big, "                ");
	rs__buf_putc(&big, ']');
	m[0] = (tar_member){"manifest.json", big.ptr, big.size, T_FILE, NULL};
	write_tar(f->file, m, 1);
	expect_open_error(f, RS_EFORMAT, "manifest.json is larger than 8 MiB");
	rs_buf_dispose(&big);
	/* an invalid RepoTag */
	snprintf(big_name, sizeof(big_name),
	         "[{\"Config\":\"%s\",\"RepoTags\":[\"UPPER:case\"],\"Layers\":[]}]", cfgname);
	write_legacy(f, f->file, big_name);
	expect_open_error(f, RS_EFORMAT, "invalid RepoTag UPPER:case");
}

static void test_hostile_names_and_links(void **state)
{
	fixture *f = *state;
	char cfgname[80], manifest[256];
	tar_member m[4];
	snprintf(cfgname, sizeof(cfgname), "%s.json", hex(f->config_digest));
	snprintf(manifest, sizeof(manifest),
	         "[{\"Config\":\"%s\",\"RepoTags\":[],\"Layers\":[\"a/layer.tar\"]}]", cfgname);
	m[0] = (tar_member){cfgname, f->config.ptr, f->config.size, T_FILE, NULL};
	m[1] = (tar_member){"manifest.json", manifest, strlen(manifest), T_FILE, NULL};

	m[2] = (tar_member){"../evil", "x", 1, T_FILE, NULL};
	write_tar(f->file, m, 3);
	expect_open_error(f, RS_EFORMAT, "\"../evil\" leaves the archive");
	m[2] = (tar_member){"a/../../evil", "x", 1, T_FILE, NULL};
	write_tar(f->file, m, 3);
	expect_open_error(f, RS_EFORMAT, "leaves the archive");
	m[2] = (tar_member){"/etc/passwd", "x", 1, T_FILE, NULL};
	write_tar(f->file, m, 3);
	expect_open_error(f, RS_EFORMAT, "\"/etc/passwd\" has an absolute path");
	/* a layer that is a link */
	m[2] = (tar_member){"a/layer.tar", NULL, 0, T_SYMLINK, "/etc/shadow"};
	write_tar(f->file, m, 3);
	expect_open_error(f, RS_EFORMAT, "layer \"a/layer.tar\" is a symbolic link");
	/* links inside the archive are followed (docker save links repeated layers); links that
	 * leave it are not */
	m[2] = (tar_member){"b/layer.tar", f->layer[0].ptr, f->layer[0].size, T_FILE, NULL};
	m[3] = (tar_member){"a/layer.tar", NULL, 0, T_HARDLINK, "../../etc/passwd"};
	write_tar(f->file, m, 4);
	expect_open_error(f, RS_EFORMAT, "layer \"a/layer.tar\" is a hard link");
	m[3] = (tar_member){"a/layer.tar", NULL, 0, T_SYMLINK, "../c/layer.tar"};
	write_tar(f->file, m, 4);
	expect_open_error(f, RS_EFORMAT, "which is not in the archive");
	/* the same name twice */
	m[2] = (tar_member){"a/layer.tar", f->layer[0].ptr, f->layer[0].size, T_FILE, NULL};
	m[3] = (tar_member){"a/layer.tar", f->layer[1].ptr, f->layer[1].size, T_FILE, NULL};
	write_tar(f->file, m, 4);
	expect_open_error(f, RS_EFORMAT, "a/layer.tar appears twice");
}

static void test_hostile_truncated(void **state)
{
	fixture *f = *state;
	struct stat st;
	write_legacy(f, f->file, NULL);
	assert_int_equal(stat(f->file, &st), 0);
	/* cut inside the last layer's data (the layers come first) */
	assert_int_equal(truncate(f->file, 512 * 8 + (off_t)f->layer[0].size), 0);
	expect_open_error(f, RS_EFORMAT, "cannot read the archive");
	/* cut inside the final zero blocks: still missing the configs and manifest */
	write_legacy(f, f->file, NULL);
	assert_int_equal(truncate(f->file, st.st_size - 2048 - 100), 0);
	expect_open_error(f, RS_EFORMAT, f->file);
}

static void test_hostile_digests(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *s = NULL;
	rs_buf cfg = RS_BUF_INIT, manifest = RS_BUF_INIT, body = RS_BUF_INIT;
	char wrong[NLAYERS][RS_DIGEST_MAX], cfgdigest[RS_DIGEST_MAX], cfgname[80];
	tar_member m[3];

	/* the config's name says another digest */
	snprintf(cfgname, sizeof(cfgname), "%s.json", hex(f->config2_digest));
	rs__buf_printf(&manifest,
	               "[{\"Config\":\"%s\",\"RepoTags\":null,\"Layers\":[\"l/layer.tar\"]}]",
	               cfgname);
	m[0] = (tar_member){"l/layer.tar", f->layer[0].ptr, f->layer[0].size, T_FILE, NULL};
	m[1] = (tar_member){cfgname, f->config.ptr, f->config.size, T_FILE, NULL};
	m[2] = (tar_member){"manifest.json", manifest.ptr, manifest.size, T_FILE, NULL};
	write_tar(f->file, m, 3);
	expect_open_error(f, RS_EDIGEST, f->config_digest);

	/* the config lists two diff_ids for one layer */
	snprintf(cfgname, sizeof(cfgname), "%s.json", hex(f->config_digest));
	rs__buf_clear(&manifest);
	rs__buf_printf(&manifest,
	               "[{\"Config\":\"%s\",\"RepoTags\":null,\"Layers\":[\"l/layer.tar\"]}]",
	               cfgname);
	m[1] = (tar_member){cfgname, f->config.ptr, f->config.size, T_FILE, NULL};
	m[2] = (tar_member){"manifest.json", manifest.ptr, manifest.size, T_FILE, NULL};
	write_tar(f->file, m, 3);
	expect_open_error(f, RS_EFORMAT, "lists 3 diff_ids, manifest.json 1 layers");

	/* the diff_id does not match the layer: found while compressing, named */
	memcpy(wrong[0], f->diff_id[1], RS_DIGEST_MAX);
	config_json(&cfg, cfgdigest, wrong, 1, "x");
	snprintf(cfgname, sizeof(cfgname), "%s.json", hex(cfgdigest));
	rs__buf_clear(&manifest);
	rs__buf_printf(&manifest,
	               "[{\"Config\":\"%s\",\"RepoTags\":null,\"Layers\":[\"l/layer.tar\"]}]",
	               cfgname);
	m[1] = (tar_member){cfgname, cfg.ptr, cfg.size, T_FILE, NULL};
	m[2] = (tar_member){"manifest.json", manifest.ptr, manifest.size, T_FILE, NULL};
	write_tar(f->file, m, 3);
	for (int comp = 0; comp < 2; comp++) {
		o.compression = comp ? RS_COMPRESSION_NONE : RS_COMPRESSION_GZIP;
		assert_int_equal(rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o), 0);
		assert_int_equal(s->ops->manifest_get(s, NULL, &body, NULL, NULL), RS_EDIGEST);
		assert_non_null(strstr(rs_error_last()->message, "layer l/layer.tar"));
		assert_non_null(strstr(rs_error_last()->message, f->diff_id[1]));
		assert_non_null(strstr(rs_error_last()->message, f->diff_id[0]));
		assert_int_equal(body.size, 0);
		store_free(s);
		s = NULL;
	}
	rs_buf_dispose(&cfg);
	rs_buf_dispose(&manifest);
	rs_buf_dispose(&body);
}

static void test_bad_options(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *s = NULL;
	write_legacy(f, f->file, NULL);
	o.compression = RS_COMPRESSION_ZSTD; /* docker format has no zstd type */
	assert_int_equal(rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "OCI"));
	o = test_opts(f);
	o.level = 42;
	assert_int_equal(rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "42"));
	o = test_opts(f);
	o.version = 99;
	assert_int_equal(rs_store_open_docker_archive(&s, f->file, RS_STORE_READ, &o), RS_EINVAL);
	assert_int_equal(rs_store_open_docker_archive(&s, f->file, 0, NULL), RS_EINVAL);
	assert_null(s);
}

/* ---- writing ----------------------------------------------------------------------------- */

/* Copy image `ref` from src to dst the way the copy engine does: blobs, then the manifest. */
static void copy_image(rs_store *dst, rs_store *src, const char *ref, const char *dst_ref)
{
	rs_buf body = RS_BUF_INIT;
	char *mt = NULL, *digest = NULL;
	json_t *m, *l;
	size_t i;
	assert_int_equal(src->ops->manifest_get(src, ref, &body, &mt, &digest), 0);
	m = json_loadb(body.ptr, body.size, 0, NULL);
	for (i = 0; i <= json_array_size(json_object_get(m, "layers")); i++) {
		rs_descriptor d;
		rs_reader *r = NULL;
		l = i ? json_array_get(json_object_get(m, "layers"), i - 1)
		      : json_object_get(m, "config");
		d = (rs_descriptor){
		        (char *)(uintptr_t)json_string_value(json_object_get(l, "mediaType")),
		        (char *)(uintptr_t)json_string_value(json_object_get(l, "digest")),
		        json_integer_value(json_object_get(l, "size")),
		        NULL,
		        NULL,
		        NULL};
		if (dst->ops->blob_exists(dst, &d) == 0)
			continue;
		assert_int_equal(src->ops->blob_open(&r, src, &d), 0);
		assert_int_equal(dst->ops->blob_put(dst, &d, r, NULL, NULL), 0);
		rs_reader_free(r);
		assert_int_equal(dst->ops->blob_exists(dst, &d), 0);
	}
	assert_int_equal(dst->ops->manifest_put(dst, dst_ref, body.ptr, body.size, mt), 0);
	json_decref(m);
	free(mt);
	free(digest);
	rs_buf_dispose(&body);
}

static void list_entries(rs_strlist *out, const char *file)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, file, 10240), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		assert_int_equal(archive_entry_mtime(e), 0);
		assert_int_equal(archive_entry_uid(e), 0);
		assert_int_equal(archive_entry_gid(e), 0);
		rs__strlist_push(out, archive_entry_pathname(e));
	}
	archive_read_free(a);
}

static void test_write_round_trip(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *src = NULL, *dst = NULL, *back = NULL;
	rs_strlist tags = RS_STRLIST_INIT, names = RS_STRLIST_INIT;
	char out[160], *mt = NULL, *d1 = NULL, *d2 = NULL;
	json_t *m1, *m2;
	write_legacy(f, f->file, NULL);
	snprintf(out, sizeof(out), "%s/out.tar", f->dir);
	assert_int_equal(rs_store_open_docker_archive(&src, f->file, RS_STORE_READ, &o), 0);
	assert_int_equal(rs_store_open_docker_archive(&dst, out, RS_STORE_WRITE, &o), 0);
	copy_image(dst, src, NULL, "example.com/team/app:v1");
	copy_image(dst, src, NULL, "app:latest"); /* same config: one image, two tags */
	/* the stored manifest reads back while writing */
	{
		rs_buf b = RS_BUF_INIT;
		char *mt2 = NULL, *dd = NULL;
		assert_int_equal(
		        dst->ops->manifest_get(dst, "example.com/team/app:v1", &b, &mt2, &dd), 0);
		assert_string_equal(mt2, RS_MT_DOCKER_MANIFEST);
		free(mt2);
		free(dd);
		rs_buf_dispose(&b);
	}
	assert_int_equal(access(out, F_OK), -1); /* nothing before commit */
	assert_int_equal(dst->ops->commit(dst), 0);
	store_free(dst);
	assert_int_equal(access(out, F_OK), 0);

	/* deterministic, sorted, legacy layout */
	list_entries(&names, out);
	for (size_t i = 1; i < names.count; i++)
		assert_true(strcmp(names.items[i - 1], names.items[i]) < 0);
	{
		char want[160];
		snprintf(want, sizeof(want), "%s.json", hex(f->config_digest));
		assert_true(rs__strlist_contains(&names, want));
		snprintf(want, sizeof(want), "%s/layer.tar", hex(f->diff_id[2]));
		assert_true(rs__strlist_contains(&names, want));
		snprintf(want, sizeof(want), "%s/VERSION", hex(f->diff_id[0]));
		assert_true(rs__strlist_contains(&names, want));
		assert_true(rs__strlist_contains(&names, "manifest.json"));
		assert_true(rs__strlist_contains(&names, "repositories"));
	}

	/* read back: same config digest and diff_ids, same compressed layers, both tags */
	assert_int_equal(rs_store_open_docker_archive(&back, out, RS_STORE_READ, &o), 0);
	assert_int_equal(back->ops->tag_list(back, collect_tag, &tags), 0);
	assert_int_equal(tags.count, 2);
	assert_string_equal(tags.items[0], "example.com/team/app:v1");
	assert_string_equal(tags.items[1], "docker.io/library/app:latest");
	m1 = get_manifest(src, NULL, &mt, &d1);
	free(mt);
	m2 = get_manifest(back, "app", &mt, &d2);
	check_config(f, back, m2, RS_MT_DOCKER_CONFIG);
	check_layers(f, back, m2, RS_COMPRESSION_GZIP, RS_MT_DOCKER_LAYER_GZIP);
	assert_string_equal(d1, d2); /* deterministic compression: the very same manifest */
	json_decref(m1);
	json_decref(m2);
	free(mt);
	free(d1);
	free(d2);
	rs__strlist_dispose(&tags);
	rs__strlist_dispose(&names);
	store_free(back);
	store_free(src);
}

/* A compression bomb whose declared size lies (8 MiB of zeros sent as a 64-byte layer) is
 * refused once more than the declared bytes arrive: long before it could fill $TMPDIR (its
 * expansion is bounded by what gzip or zstd can produce from the declared size, a bound only a
 * lying size could reach), and nothing is left behind. */
static void test_expansion_bound(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *dst = NULL;
	rs_buf zeros = RS_BUF_INIT;
	char out[160];
	const rs_compression kinds[] = {RS_COMPRESSION_GZIP, RS_COMPRESSION_ZSTD};
	const char *types[] = {RS_MT_DOCKER_LAYER_GZIP, RS_MT_OCI_LAYER_ZSTD};
	snprintf(out, sizeof(out), "%s/bomb.tar", f->dir);
	rs__buf_grow(&zeros, 8u << 20);
	memset(zeros.ptr, 0, 8u << 20);
	zeros.size = 8u << 20;
	assert_int_equal(rs_store_open_docker_archive(&dst, out, RS_STORE_WRITE, &o), 0);
	for (size_t i = 0; i < 2; i++) {
		rs_buf z = RS_BUF_INIT;
		rs_reader *r = NULL;
		char d[RS_DIGEST_MAX];
		rs_descriptor desc;
		int error;
		compress_buf(&z, kinds[i], &zeros);
		rs__sha256_digest(d, z.ptr, z.size);
		desc = (rs_descriptor){(char *)types[i], d, 64, NULL, NULL, NULL};
		assert_int_equal(rs_reader_from_memory(&r, z.ptr, z.size), 0);
		error = dst->ops->blob_put(dst, &desc, r, NULL, NULL);
		assert_int_equal(error, RS_EDIGEST);
		assert_non_null(
		        strstr(rs_error_last()->message, "more than the 64 bytes announced"));
		assert_int_equal(test_count_entries(rs__docker_archive_tmpdir(dst)), 0);
		rs_reader_free(r);
		rs_buf_dispose(&z);
	}
	rs_store_free(dst);
	rs_buf_dispose(&zeros);
}

static void test_write_multi_image_and_retag(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *src = NULL, *dst = NULL, *back = NULL;
	rs_strlist tags = RS_STRLIST_INIT;
	rs_buf manifest = RS_BUF_INIT, body = RS_BUF_INIT;
	char out[160], cfg1[80], cfg2[80], *mt = NULL, *digest = NULL;
	tar_member mem[6];
	json_t *m;
	snprintf(cfg1, sizeof(cfg1), "%s.json", hex(f->config_digest));
	snprintf(cfg2, sizeof(cfg2), "%s.json", hex(f->config2_digest));
	rs__buf_printf(&manifest,
	               "[{\"Config\":\"%s\",\"RepoTags\":[\"a:1\"],"
	               "\"Layers\":[\"l0/layer.tar\",\"l1/layer.tar\",\"l2/layer.tar\"]},"
	               "{\"Config\":\"%s\",\"RepoTags\":[\"b:1\"],\"Layers\":[\"l0/layer.tar\"]}]",
	               cfg1, cfg2);
	mem[0] = (tar_member){"l0/layer.tar", f->layer[0].ptr, f->layer[0].size, T_FILE, NULL};
	mem[1] = (tar_member){"l1/layer.tar", f->layer[1].ptr, f->layer[1].size, T_FILE, NULL};
	mem[2] = (tar_member){"l2/layer.tar", f->layer[2].ptr, f->layer[2].size, T_FILE, NULL};
	mem[3] = (tar_member){cfg1, f->config.ptr, f->config.size, T_FILE, NULL};
	mem[4] = (tar_member){cfg2, f->config2.ptr, f->config2.size, T_FILE, NULL};
	/* manifest.json last, as docker writes it */
	mem[5] = (tar_member){"manifest.json", manifest.ptr, manifest.size, T_FILE, NULL};
	write_tar(f->file, mem, 6);
	snprintf(out, sizeof(out), "%s/out.tar", f->dir);
	o.compression = RS_COMPRESSION_ZSTD;
	o.format = RS_MANIFEST_FORMAT_OCI;
	assert_int_equal(rs_store_open_docker_archive(&src, f->file, RS_STORE_READ, &o), 0);
	assert_int_equal(
	        rs_store_open_docker_archive(&dst, out, RS_STORE_READ | RS_STORE_WRITE, &o), 0);
	copy_image(dst, src, "a:1", "x:1");
	copy_image(dst, src, "b:1", "y:1");
	copy_image(dst, src, "b:1", "x:1"); /* moves the tag to the second image */
	copy_image(dst, src, "a:1", NULL); /* untagged: nothing more */
	assert_int_equal(dst->ops->commit(dst), 0);
	store_free(dst);

	assert_int_equal(rs_store_open_docker_archive(&back, out, RS_STORE_READ, &o), 0);
	assert_int_equal(back->ops->tag_list(back, collect_tag, &tags), 0);
	assert_int_equal(tags.count, 2);
	assert_string_equal(tags.items[0], "docker.io/library/y:1");
	assert_string_equal(tags.items[1], "docker.io/library/x:1");
	m = get_manifest(back, "x:1", &mt, &digest);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(m, "config"), "digest")),
	        f->config2_digest);
	json_decref(m);
	free(mt);
	free(digest);
	m = get_manifest(back, "@0", &mt, &digest);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(m, "config"), "digest")),
	        f->config_digest);
	check_layers(f, back, m, RS_COMPRESSION_ZSTD, RS_MT_OCI_LAYER_ZSTD);
	json_decref(m);
	free(mt);
	free(digest);
	rs__strlist_dispose(&tags);
	rs_buf_dispose(&manifest);
	rs_buf_dispose(&body);
	store_free(back);
	store_free(src);
}

static int cancel_cb(uint64_t done, void *payload)
{
	(void)done;
	return ++*(int *)payload >= 1;
}

static void test_write_errors(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *dst = NULL, *ro = NULL;
	rs_buf gz = RS_BUF_INIT;
	rs_reader *r = NULL;
	char out[160], d[RS_DIGEST_MAX];
	rs_descriptor desc;
	const char *index =
	        "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_INDEX "\",\"manifests\":[]}";
	int calls = 0;
	snprintf(out, sizeof(out), "%s/out.tar", f->dir);
	compress_buf(&gz, RS_COMPRESSION_GZIP, &f->layer[1]);
	rs__sha256_digest(d, gz.ptr, gz.size);
	assert_int_equal(rs_store_open_docker_archive(&dst, out, RS_STORE_WRITE, &o), 0);

	/* wrong digest: refused, nothing kept */
	desc = (rs_descriptor){(char *)RS_MT_DOCKER_LAYER_GZIP,
	                       (char *)(uintptr_t)f->diff_id[1],
	                       (int64_t)gz.size,
	                       NULL,
	                       NULL,
	                       NULL};
	assert_int_equal(rs_reader_from_memory(&r, gz.ptr, gz.size), 0);
	assert_int_equal(dst->ops->blob_put(dst, &desc, r, NULL, NULL), RS_EDIGEST);
	assert_non_null(strstr(rs_error_last()->message, d));
	assert_int_equal(dst->ops->blob_exists(dst, &desc), RS_ENOTFOUND);
	assert_int_equal(test_count_entries(rs__docker_archive_tmpdir(dst)), 0);
	/* wrong size */
	desc.digest = d;
	desc.size = (int64_t)gz.size - 1;
	assert_int_equal(rs_reader_rewind(r), 0);
	assert_int_equal(dst->ops->blob_put(dst, &desc, r, NULL, NULL), RS_EDIGEST);
	assert_int_equal(test_count_entries(rs__docker_archive_tmpdir(dst)), 0);
	/* corrupt gzip under the right digest */
	{
		rs_buf bad = RS_BUF_INIT;
		rs_reader *rb = NULL;
		char bd[RS_DIGEST_MAX];
		rs__buf_put(&bad, gz.ptr, gz.size / 2);
		rs__sha256_digest(bd, bad.ptr, bad.size);
		desc.digest = bd;
		desc.size = (int64_t)bad.size;
		assert_int_equal(rs_reader_from_memory(&rb, bad.ptr, bad.size), 0);
		assert_int_equal(dst->ops->blob_put(dst, &desc, rb, NULL, NULL), RS_EFORMAT);
		assert_non_null(strstr(rs_error_last()->message, "truncated gzip"));
		rs_reader_free(rb);
		rs_buf_dispose(&bad);
		assert_int_equal(test_count_entries(rs__docker_archive_tmpdir(dst)), 0);
	}
	/* cancelled by the progress callback */
	desc.digest = d;
	desc.size = (int64_t)gz.size;
	assert_int_equal(rs_reader_rewind(r), 0);
	assert_int_equal(dst->ops->blob_put(dst, &desc, r, cancel_cb, &calls), RS_EUSER);
	assert_int_equal(calls, 1);
	assert_int_equal(test_count_entries(rs__docker_archive_tmpdir(dst)), 0);
	/* finally right: stored uncompressed, under its diff_id */
	assert_int_equal(rs_reader_rewind(r), 0);
	assert_int_equal(dst->ops->blob_put(dst, &desc, r, NULL, NULL), 0);
	{
		char path[300];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s.tar", rs__docker_archive_tmpdir(dst),
		         hex(f->diff_id[1]));
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_size, (off_t)f->layer[1].size);
	}
	rs_reader_free(r);

	/* an index asks for a platform */
	assert_int_equal(dst->ops->manifest_put(dst, "x:1", index, strlen(index), RS_MT_OCI_INDEX),
	                 RS_EUNSUPPORTED);
	assert_non_null(strstr(rs_error_last()->message, "use --platform"));
	/* a manifest whose blobs were not stored */
	{
		rs_buf m = RS_BUF_INIT;
		rs__buf_printf(
		        &m,
		        "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
		        "\"%s\",\"size\":%zu,\"digest\":\"%s\"},\"layers\":[]}",
		        RS_MT_DOCKER_MANIFEST, RS_MT_DOCKER_CONFIG, f->config.size,
		        f->config_digest);
		assert_int_equal(dst->ops->manifest_put(dst, "x:1", m.ptr, m.size, NULL),
		                 RS_ENOTFOUND);
		assert_int_equal(dst->ops->manifest_put(dst, "x:1", "{", 1, NULL), RS_EFORMAT);
		rs_buf_dispose(&m);
	}
	/* a config whose diff_ids disagree with the layers */
	{
		rs_buf m = RS_BUF_INIT;
		rs_reader *rc = NULL;
		rs_descriptor cd = {(char *)RS_MT_DOCKER_CONFIG,
		                    f->config2_digest,
		                    (int64_t)f->config2.size,
		                    NULL,
		                    NULL,
		                    NULL};
		assert_int_equal(rs_reader_from_memory(&rc, f->config2.ptr, f->config2.size), 0);
		assert_int_equal(dst->ops->blob_put(dst, &cd, rc, NULL, NULL), 0);
		rs_reader_free(rc);
		rs__buf_printf(&m,
		               "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"%s\",\"size\":%zu,"
		               "\"digest\":\"%s\"},\"layers\":[{\"mediaType\":\"%s\",\"size\":%zu,"
		               "\"digest\":\"%s\"}]}",
		               RS_MT_DOCKER_CONFIG, f->config2.size, f->config2_digest,
		               RS_MT_DOCKER_LAYER_GZIP, gz.size, d);
		assert_int_equal(
		        dst->ops->manifest_put(dst, "x:1", m.ptr, m.size, RS_MT_DOCKER_MANIFEST),
		        RS_EDIGEST);
		assert_non_null(strstr(rs_error_last()->message, f->diff_id[0]));
		rs_buf_dispose(&m);
	}
	/* nothing stored: commit refuses, FILE never appears */
	assert_int_equal(dst->ops->commit(dst), RS_EINVAL);
	assert_int_equal(access(out, F_OK), -1);
	store_free(dst);
	assert_int_equal(access(out, F_OK), -1);

	/* a read-only store refuses writes */
	write_legacy(f, f->file, NULL);
	assert_int_equal(rs_store_open_docker_archive(&ro, f->file, RS_STORE_READ, &o), 0);
	assert_int_equal(rs_reader_from_memory(&r, gz.ptr, gz.size), 0);
	assert_int_equal(ro->ops->blob_put(ro, &desc, r, NULL, NULL), RS_EUNSUPPORTED);
	assert_int_equal(ro->ops->manifest_put(ro, "x", "{}", 2, NULL), RS_EUNSUPPORTED);
	rs_reader_free(r);
	store_free(ro);
	rs_buf_dispose(&gz);
}

/* put a manifest of the given text; the code, and the message must hold needle */
static void expect_put(rs_store *dst, const char *manifest, int code, const char *needle)
{
	assert_int_equal(dst->ops->manifest_put(dst, "x:1", manifest, strlen(manifest), NULL),
	                 code);
	if (!strstr(rs_error_last()->message, needle))
		fail_msg("expected \"%s\" in: %s", needle, rs_error_last()->message);
}

static void test_write_artifacts_and_foreign(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *dst = NULL;
	rs_buf m = RS_BUF_INIT;
	char out[160];
	const char *layer0 = "\"digest\":\"sha256:"
	                     "1111111111111111111111111111111111111111111111111111111111111111\"";
	snprintf(out, sizeof(out), "%s/out.tar", f->dir);
	assert_int_equal(rs_store_open_docker_archive(&dst, out, RS_STORE_WRITE, &o), 0);

	/* artifacts: by artifactType, by a config that is no image config, by a layer type */
	rs__buf_printf(&m,
	               "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"artifactType\":"
	               "\"application/spdx+json\",\"config\":{\"mediaType\":\"%s\",\"size\":2,"
	               "\"digest\":\"%s\"},\"layers\":[]}",
	               RS_MT_OCI_MANIFEST, RS_MT_OCI_EMPTY, f->config_digest);
	expect_put(dst, m.ptr, RS_EUNSUPPORTED,
	           "x:1 is an artifact (artifactType application/spdx+json), not a container "
	           "image: pull it to oci:");
	rs__buf_clear(&m);
	rs__buf_printf(&m,
	               "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
	               "\"application/vnd.cncf.helm.config.v1+json\",\"size\":2,\"digest\":\"%s\"},"
	               "\"layers\":[]}",
	               RS_MT_OCI_MANIFEST, f->config_digest);
	expect_put(dst, m.ptr, RS_EUNSUPPORTED,
	           "(artifactType application/vnd.cncf.helm.config.v1+json)");
	rs__buf_clear(&m);
	rs__buf_printf(&m,
	               "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
	               "\"%s\",\"size\":2,\"digest\":\"%s\"},\"layers\":[{\"mediaType\":"
	               "\"text/spdx\",\"size\":1,%s}]}",
	               RS_MT_OCI_MANIFEST, RS_MT_OCI_CONFIG, f->config_digest, layer0);
	expect_put(dst, m.ptr, RS_EUNSUPPORTED, "(artifactType text/spdx)");

	/* foreign layers that cannot be fetched: no URL, a scheme other than http(s), no size */
	rs__buf_clear(&m);
	rs__buf_printf(&m,
	               "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
	               "\"%s\",\"size\":2,\"digest\":\"%s\"},\"layers\":[{\"mediaType\":"
	               "\"%s\",\"size\":1,%s,\"urls\":[\"ftp://127.0.0.1/l\","
	               "\"file:///etc/passwd\"]}]}",
	               RS_MT_DOCKER_MANIFEST, RS_MT_DOCKER_CONFIG, f->config_digest,
	               RS_MT_DOCKER_LAYER_FOREIGN, layer0);
	expect_put(dst, m.ptr, RS_EPROTO, "is foreign");
	assert_non_null(strstr(rs_error_last()->message, "any of its URLs: ftp://127.0.0.1/l:"));
	assert_non_null(strstr(rs_error_last()->message, "file:///etc/passwd:"));
	assert_non_null(strstr(rs_error_last()->message, "only http and https"));
	rs__buf_clear(&m);
	rs__buf_printf(&m,
	               "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
	               "\"%s\",\"size\":2,\"digest\":\"%s\"},\"layers\":[{\"mediaType\":"
	               "\"%s\",\"size\":1,%s,\"urls\":[\"http://127.0.0.1:1/l\"]}]}",
	               RS_MT_OCI_MANIFEST, RS_MT_OCI_CONFIG, f->config_digest,
	               RS_MT_OCI_LAYER_NONDIST_GZIP, layer0);
	assert_int_not_equal(dst->ops->manifest_put(dst, "x:1", m.ptr, m.size, NULL), 0);
	assert_non_null(strstr(rs_error_last()->message, "is foreign"));
	assert_non_null(strstr(rs_error_last()->message, "its URL: http://127.0.0.1:1/l:"));
	rs__buf_clear(&m);
	rs__buf_printf(&m,
	               "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
	               "\"%s\",\"size\":2,\"digest\":\"%s\"},\"layers\":[{\"mediaType\":"
	               "\"%s\",%s,\"urls\":[\"http://127.0.0.1:1/l\"]}]}",
	               RS_MT_DOCKER_MANIFEST, RS_MT_DOCKER_CONFIG, f->config_digest,
	               RS_MT_DOCKER_LAYER_FOREIGN, layer0);
	expect_put(dst, m.ptr, RS_EFORMAT, "no valid digest and size");
	rs__buf_clear(&m);
	rs__buf_printf(&m,
	               "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
	               "\"%s\",\"size\":%zu,\"digest\":\"%s\"},\"layers\":[{\"mediaType\":"
	               "\"%s\",\"size\":1,%s}]}",
	               RS_MT_DOCKER_MANIFEST, RS_MT_DOCKER_CONFIG, f->config2.size,
	               f->config2_digest, RS_MT_DOCKER_LAYER_FOREIGN, layer0);
	{
		rs_reader *rc = NULL;
		rs_descriptor cd = {(char *)RS_MT_DOCKER_CONFIG,
		                    f->config2_digest,
		                    (int64_t)f->config2.size,
		                    NULL,
		                    NULL,
		                    NULL};
		assert_int_equal(rs_reader_from_memory(&rc, f->config2.ptr, f->config2.size), 0);
		assert_int_equal(dst->ops->blob_put(dst, &cd, rc, NULL, NULL), 0);
		rs_reader_free(rc);
	}
	expect_put(dst, m.ptr, RS_ENOTFOUND, "is foreign");
	assert_non_null(strstr(rs_error_last()->message, "lists no URLs"));
	/* nothing but the config was kept */
	assert_int_equal(test_count_entries(rs__docker_archive_tmpdir(dst)), 1);
	store_free(dst);
	assert_int_equal(access(out, F_OK), -1);
	rs_buf_dispose(&m);
}

static void test_uncommitted_leaves_file(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *src = NULL, *dst = NULL;
	struct stat before, after;
	write_legacy(f, f->file, NULL);
	assert_int_equal(stat(f->file, &before), 0);
	assert_int_equal(rs_store_open_docker_archive(&src, f->file, RS_STORE_READ, &o), 0);
	/* writing over the very file being read: the old one stays until commit */
	assert_int_equal(rs_store_open_docker_archive(&dst, f->file, RS_STORE_WRITE, &o), 0);
	copy_image(dst, src, NULL, "z:1");
	store_free(dst); /* no commit */
	assert_int_equal(stat(f->file, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(test_count_entries(f->dir), 2); /* tmp, image.tar: no FILE.tmp-* */
	store_free(src);
}

/* ---- an existing FILE: added to, refused, or replaced with RS_STORE_OVERWRITE ------------- */

static void tags_of(rs_strlist *out, const fixture *f, const char *file)
{
	rs_docker_archive_options o = test_opts(f);
	rs_store *s = NULL;
	assert_int_equal(rs_store_open_docker_archive(&s, file, RS_STORE_READ, &o), 0);
	assert_int_equal(s->ops->tag_list(s, collect_tag, out), 0);
	store_free(s);
}

static void test_write_adds_to_existing(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *src = NULL, *dst = NULL;
	rs_strlist tags = RS_STRLIST_INIT;
	char copy[160];
	write_legacy(f, f->file, NULL);
	snprintf(copy, sizeof(copy), "%s/copy.tar", f->dir);
	write_legacy(f, copy, NULL);
	/* a copy of the archive onto itself keeps both of its tags, and adds one */
	assert_int_equal(rs_store_open_docker_archive(&src, copy, RS_STORE_READ, &o), 0);
	assert_int_equal(rs_store_open_docker_archive(&dst, f->file, RS_STORE_WRITE, &o), 0);
	copy_image(dst, src, NULL, "z:1");
	assert_int_equal(dst->ops->commit(dst), 0);
	store_free(dst);
	tags_of(&tags, f, f->file);
	assert_int_equal(tags.count, 3);
	assert_true(rs__strlist_contains(&tags, "docker.io/library/ubuntu:latest"));
	assert_true(rs__strlist_contains(&tags, "registry.local:5000/team/app:v1"));
	assert_true(rs__strlist_contains(&tags, "docker.io/library/z:1"));
	rs__strlist_dispose(&tags);
	/* RS_STORE_OVERWRITE: only what was written now */
	assert_int_equal(rs_store_open_docker_archive(&dst, f->file,
	                                              RS_STORE_WRITE | RS_STORE_OVERWRITE, &o),
	                 0);
	copy_image(dst, src, NULL, "y:2");
	assert_int_equal(dst->ops->commit(dst), 0);
	store_free(dst);
	tags_of(&tags, f, f->file);
	assert_int_equal(tags.count, 1);
	assert_string_equal(tags.items[0], "docker.io/library/y:2");
	rs__strlist_dispose(&tags);
	store_free(src);
}

static void test_write_refuses_other_files(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *dst = NULL;
	rs_buf b = RS_BUF_INIT;
	assert_int_equal(rs__file_write_atomic(f->file, "precious notes\n", 15, 0644), 0);
	assert_int_equal(rs_store_open_docker_archive(&dst, f->file, RS_STORE_WRITE, &o),
	                 RS_EEXISTS);
	assert_null(dst);
	assert_non_null(strstr(rs_error_last()->message, "is not a docker archive"));
	assert_non_null(strstr(rs_error_last()->message, "use --overwrite"));
	assert_int_equal(rs__file_read(&b, f->file, 100), 0);
	assert_int_equal(b.size, 15);
	rs_buf_dispose(&b);
	/* overwrite is for writing only */
	assert_int_equal(
	        rs_store_open_docker_archive(&dst, f->file, RS_STORE_READ | RS_STORE_OVERWRITE, &o),
	        RS_EINVAL);
	/* a directory is named as such */
	assert_int_equal(rs_store_open_docker_archive(&dst, f->tmp, RS_STORE_WRITE, &o), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "is a directory"));
}

/* rs_cancel: reading the existing archive stops, nothing is left in the temporary directory */
static void test_cancel_while_adding(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *dst = NULL;
	write_legacy(f, f->file, NULL);
	rs_cancel(2);
	assert_int_equal(rs_store_open_docker_archive(&dst, f->file, RS_STORE_WRITE, &o), RS_EUSER);
	assert_string_equal(rs_error_last()->message, "interrupted");
	assert_int_equal(rs_cancelled(), 2);
	rs_cancel_reset();
	assert_int_equal(rs_cancelled(), 0);
	assert_null(dst);
}

/* ---- skopeo accepts what we write, and we read what skopeo writes -------------------------- */

static int run(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_skopeo(void **state)
{
	fixture *f = *state;
	rs_docker_archive_options o = test_opts(f);
	rs_store *src = NULL, *dst = NULL, *back = NULL;
	char out[160], theirs[160], cmd[1024], inspect[160], *mt = NULL, *digest = NULL;
	rs_buf text = RS_BUF_INIT;
	json_t *j, *m;
	if (run("skopeo --version >/dev/null 2>&1") != 0)
		skip(); /* main() already reported SKIP to ctest; this only guards a direct run */
	snprintf(out, sizeof(out), "%s/ours.tar", f->dir);
	snprintf(theirs, sizeof(theirs), "%s/theirs.tar", f->dir);
	snprintf(inspect, sizeof(inspect), "%s/inspect.json", f->dir);
	write_legacy(f, f->file, NULL);
	assert_int_equal(rs_store_open_docker_archive(&src, f->file, RS_STORE_READ, &o), 0);
	assert_int_equal(rs_store_open_docker_archive(&dst, out, RS_STORE_WRITE, &o), 0);
	copy_image(dst, src, NULL, "registry.local:5000/team/app:v1");
	assert_int_equal(dst->ops->commit(dst), 0);
	store_free(dst);

	snprintf(cmd, sizeof(cmd), "skopeo inspect docker-archive:%s > %s", out, inspect);
	assert_int_equal(run(cmd), 0);
	assert_int_equal(rs__file_read(&text, inspect, 1 << 20), 0);
	j = json_loadb(text.ptr, text.size, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "Architecture")), "amd64");
	assert_int_equal(json_array_size(json_object_get(j, "Layers")), NLAYERS);
	json_decref(j);

	/* skopeo copies it (checking every layer against the config), and we read its copy */
	snprintf(cmd, sizeof(cmd),
	         "skopeo copy -q docker-archive:%s docker-archive:%s:example.org/x/y:z >/dev/null",
	         out, theirs);
	assert_int_equal(run(cmd), 0);
	assert_int_equal(rs_store_open_docker_archive(&back, theirs, RS_STORE_READ, &o), 0);
	m = get_manifest(back, "example.org/x/y:z", &mt, &digest);
	check_config(f, back, m, RS_MT_DOCKER_CONFIG);
	check_layers(f, back, m, RS_COMPRESSION_GZIP, RS_MT_DOCKER_LAYER_GZIP);
	json_decref(m);
	free(mt);
	free(digest);
	store_free(back);
	store_free(src);
	rs_buf_dispose(&text);
}

/* Exit status ctest reads as "skipped" (SKIP_RETURN_CODE in CMakeLists.txt). */
#define SKIP_EXIT 77

int main(int argc, char **argv)
{
	/* ctest runs the skopeo check as its own test (unit/store/test_docker_archive_skopeo), so
	 * a machine without skopeo shows it as skipped rather than passed */
	if (argc > 1 && !strcmp(argv[1], "skopeo")) {
		const struct CMUnitTest skopeo[] = {
		        cmocka_unit_test_setup_teardown(test_skopeo, setup, teardown),
		};
		if (run("skopeo --version >/dev/null 2>&1") != 0) {
			printf("SKIP: skopeo is not installed\n");
			return SKIP_EXIT;
		}
		return cmocka_run_group_tests(skopeo, NULL, NULL);
	}
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_legacy_gzip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_oci_in_tar_zstd, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_compression_none, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_precompressed_layers_pass_through, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_multi_image_selection, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cache_hit_does_not_compress, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cache_poisoned, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hostile_structure, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hostile_names_and_links, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hostile_truncated, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hostile_digests, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_round_trip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_multi_image_and_retag, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_expansion_bound, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_artifacts_and_foreign, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_uncommitted_leaves_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_adds_to_existing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_refuses_other_files, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel_while_adding, setup, teardown),
	};
	(void)argv;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
