/* Tests for lib/store/compress.c: detection, streaming (de)compression, the compression cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/compress.h"
#include "util/util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

static int to_buf(const void *data, size_t len, void *payload)
{
	rs__buf_put(payload, data, len);
	return 0;
}

/* Compressible text followed by pseudo-random bytes: exercises several output buffers. */
static void sample(rs_buf *b, size_t n)
{
	uint32_t x = 12345;
	for (size_t i = 0; i < n / 2; i++)
		rs__buf_putc(b, "layer data, repeated "[i % 21]);
	for (size_t i = n / 2; i < n; i++) {
		x = x * 1103515245u + 12345u;
		rs__buf_putc(b, (char)(x >> 24));
	}
}

static void compress_in_chunks(rs_buf *out, rs_compression c, int level, const rs_buf *in,
                               size_t chunk)
{
	rs__compressor *z = NULL;
	assert_int_equal(rs__compressor_new(&z, c, level, to_buf, out), 0);
	for (size_t off = 0; off < in->size; off += chunk) {
		size_t n = in->size - off < chunk ? in->size - off : chunk;
		assert_int_equal(rs__compressor_write(z, in->ptr + off, n), 0);
	}
	assert_int_equal(rs__compressor_finish(z), 0);
	rs__compressor_free(z);
}

static int decompress_in_chunks(rs_buf *out, rs_compression c, const void *in, size_t len,
                                size_t chunk)
{
	rs__decompressor *z = NULL;
	int error = 0;
	assert_int_equal(rs__decompressor_new(&z, c, to_buf, out), 0);
	for (size_t off = 0; off < len && !error; off += chunk)
		error = rs__decompressor_write(z, (const char *)in + off,
		                               len - off < chunk ? len - off : chunk);
	if (!error)
		error = rs__decompressor_finish(z);
	rs__decompressor_free(z);
	return error;
}

static void test_detect(void **state)
{
	(void)state;
	assert_int_equal(rs__compress_detect("\x1f\x8b\x08", 3), RS_COMPRESSION_GZIP);
	assert_int_equal(rs__compress_detect("\x28\xb5\x2f\xfd\x00", 5), RS_COMPRESSION_ZSTD);
	assert_int_equal(rs__compress_detect("BZh9", 4), RS__COMPRESSION_BZIP2);
	assert_int_equal(rs__compress_detect("\xfd"
	                                     "7zXZ\0",
	                                     6),
	                 RS__COMPRESSION_XZ);
	assert_int_equal(rs__compress_detect("ustar", 5), RS_COMPRESSION_NONE);
	/* too short to tell */
	assert_int_equal(rs__compress_detect("\x1f", 1), RS_COMPRESSION_NONE);
	assert_int_equal(rs__compress_detect("\x28\xb5\x2f", 3), RS_COMPRESSION_NONE);
	assert_int_equal(rs__compress_detect("", 0), RS_COMPRESSION_NONE);
}

static void test_parse_and_level(void **state)
{
	rs_compression c;
	int level;
	(void)state;
	assert_int_equal(rs_compression_parse(&c, "zstd"), 0);
	assert_int_equal(c, RS_COMPRESSION_ZSTD);
	assert_int_equal(rs_compression_parse(&c, "gzip"), 0);
	assert_int_equal(c, RS_COMPRESSION_GZIP);
	assert_int_equal(rs_compression_parse(&c, "none"), 0);
	assert_int_equal(c, RS_COMPRESSION_NONE);
	assert_int_equal(rs_compression_parse(&c, "lz4"), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "\"lz4\""));
	assert_string_equal(rs__compress_name(RS_COMPRESSION_GZIP), "gzip");

	assert_int_equal(rs__compress_level(&level, RS_COMPRESSION_GZIP, 0), 0);
	assert_int_equal(level, 6);
	assert_int_equal(rs__compress_level(&level, RS_COMPRESSION_ZSTD, 0), 0);
	assert_int_equal(level, 3);
	assert_int_equal(rs__compress_level(&level, RS_COMPRESSION_ZSTD, 19), 0);
	assert_int_equal(level, 19);
	assert_int_equal(rs__compress_level(&level, RS_COMPRESSION_GZIP, 10), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "10"));
	assert_int_equal(rs__compress_level(&level, RS_COMPRESSION_ZSTD, -1), RS_EINVAL);
	assert_int_equal(rs__compress_level(&level, RS__COMPRESSION_XZ, 0), RS_EUNSUPPORTED);
}

static void test_gzip_roundtrip_deterministic(void **state)
{
	rs_buf in = RS_BUF_INIT, gz = RS_BUF_INIT, gz2 = RS_BUF_INIT, back = RS_BUF_INIT;
	unsigned char *out;
	z_stream zs;
	(void)state;
	sample(&in, 300000);
	compress_in_chunks(&gz, RS_COMPRESSION_GZIP, 0, &in, 7000);
	assert_true(gz.size > 10 && gz.size < in.size);
	/* header: magic, deflate, no flags (no name), mtime 0, OS unknown */
	assert_memory_equal(gz.ptr, "\x1f\x8b\x08\x00\x00\x00\x00\x00", 8);
	assert_int_equal((unsigned char)gz.ptr[9], 255);
	/* the same bytes whatever the write sizes */
	compress_in_chunks(&gz2, RS_COMPRESSION_GZIP, 0, &in, 1);
	assert_int_equal(gz2.size, gz.size);
	assert_memory_equal(gz2.ptr, gz.ptr, gz.size);

	/* zlib's own inflate agrees */
	out = malloc(in.size + 1);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)gz.ptr;
	zs.avail_in = (uInt)gz.size;
	zs.next_out = out;
	zs.avail_out = (uInt)in.size + 1;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(zs.total_out, in.size);
	assert_memory_equal(out, in.ptr, in.size);
	inflateEnd(&zs);
	free(out);

	/* and ours, fed one byte at a time and in big chunks */
	assert_int_equal(decompress_in_chunks(&back, RS_COMPRESSION_GZIP, gz.ptr, gz.size, 1), 0);
	assert_int_equal(back.size, in.size);
	assert_memory_equal(back.ptr, in.ptr, in.size);
	rs__buf_clear(&back);
	assert_int_equal(decompress_in_chunks(&back, RS_COMPRESSION_GZIP, gz.ptr, gz.size, 1 << 20),
	                 0);
	assert_int_equal(back.size, in.size);
	assert_memory_equal(back.ptr, in.ptr, in.size);

	/* another level gives other bytes */
	rs__buf_clear(&gz2);
	compress_in_chunks(&gz2, RS_COMPRESSION_GZIP, 1, &in, 65536);
	assert_true(gz2.size != gz.size || memcmp(gz2.ptr, gz.ptr, gz.size));
	rs_buf_dispose(&in);
	rs_buf_dispose(&gz);
	rs_buf_dispose(&gz2);
	rs_buf_dispose(&back);
}

/* Incompressible blocks switch gzip to stored blocks for a while; compressible data that
 * follows is compressed again once the skip runs out. Output stays deterministic and exact. */
static void test_gzip_adapts_to_incompressible_data(void **state)
{
	const size_t mib = 1u << 20;
	rs_buf in = RS_BUF_INIT, gz = RS_BUF_INIT, gz2 = RS_BUF_INIT, back = RS_BUF_INIT;
	uint32_t x = 99;
	(void)state;
	/* 20 MiB of noise, then 40 MiB of one repeated byte */
	for (size_t i = 0; i < 20 * mib; i++) {
		x = x * 1103515245u + 12345u;
		rs__buf_putc(&in, (char)(x >> 24));
	}
	rs__buf_grow(&in, 40 * mib);
	memset(in.ptr + in.size, 'a', 40 * mib);
	in.size += 40 * mib;
	in.ptr[in.size] = '\0';
	compress_in_chunks(&gz, RS_COMPRESSION_GZIP, 6, &in, 300000);
	/* the noise is stored (a little over its size); failed probes at 0 and 16 MiB double
	 * the stored stretch (16, then 32 blocks), so the tail is stored until the probe at
	 * 48 MiB finds it compressible: the last 12 MiB shrink to almost nothing */
	assert_true(gz.size > 20 * mib);
	assert_true(gz.size < in.size - 11 * mib);
	assert_true(gz.size > in.size - 13 * mib);
	/* deterministic whatever the write sizes */
	compress_in_chunks(&gz2, RS_COMPRESSION_GZIP, 6, &in, 4096);
	assert_int_equal(gz2.size, gz.size);
	assert_memory_equal(gz2.ptr, gz.ptr, gz.size);
	assert_int_equal(decompress_in_chunks(&back, RS_COMPRESSION_GZIP, gz.ptr, gz.size, 65536),
	                 0);
	assert_int_equal(back.size, in.size);
	assert_memory_equal(back.ptr, in.ptr, in.size);
	rs_buf_dispose(&in);
	rs_buf_dispose(&gz);
	rs_buf_dispose(&gz2);
	rs_buf_dispose(&back);
}

static void test_zstd_roundtrip(void **state)
{
	rs_buf in = RS_BUF_INIT, zs = RS_BUF_INIT, back = RS_BUF_INIT;
	char *out;
	size_t n;
	(void)state;
	sample(&in, 500000);
	compress_in_chunks(&zs, RS_COMPRESSION_ZSTD, 0, &in, 10000);
	assert_int_equal(rs__compress_detect(zs.ptr, zs.size), RS_COMPRESSION_ZSTD);
	assert_true(zs.size < in.size);
	/* libzstd's one-shot API agrees */
	out = malloc(in.size + 16);
	n = ZSTD_decompress(out, in.size + 16, zs.ptr, zs.size);
	assert_false(ZSTD_isError(n));
	assert_int_equal(n, in.size);
	assert_memory_equal(out, in.ptr, in.size);
	free(out);
	assert_int_equal(decompress_in_chunks(&back, RS_COMPRESSION_ZSTD, zs.ptr, zs.size, 333), 0);
	assert_int_equal(back.size, in.size);
	assert_memory_equal(back.ptr, in.ptr, in.size);
	rs_buf_dispose(&in);
	rs_buf_dispose(&zs);
	rs_buf_dispose(&back);
}

static void test_none_passes_through(void **state)
{
	rs_buf in = RS_BUF_INIT, out = RS_BUF_INIT, back = RS_BUF_INIT;
	(void)state;
	sample(&in, 1000);
	compress_in_chunks(&out, RS_COMPRESSION_NONE, 0, &in, 100);
	assert_int_equal(out.size, in.size);
	assert_memory_equal(out.ptr, in.ptr, in.size);
	assert_int_equal(decompress_in_chunks(&back, RS_COMPRESSION_NONE, in.ptr, in.size, 64), 0);
	assert_memory_equal(back.ptr, in.ptr, in.size);
	rs_buf_dispose(&in);
	rs_buf_dispose(&out);
	rs_buf_dispose(&back);
}

static void test_concatenated_members(void **state)
{
	rs_buf a = RS_BUF_INIT, b = RS_BUF_INIT, ga = RS_BUF_INIT, back = RS_BUF_INIT;
	(void)state;
	rs__buf_puts(&a, "first member|");
	rs__buf_puts(&b, "second member");
	compress_in_chunks(&ga, RS_COMPRESSION_GZIP, 9, &a, 100);
	compress_in_chunks(&ga, RS_COMPRESSION_GZIP, 9, &b, 100);
	assert_int_equal(decompress_in_chunks(&back, RS_COMPRESSION_GZIP, ga.ptr, ga.size, 5), 0);
	assert_string_equal(back.ptr, "first member|second member");
	rs__buf_clear(&ga);
	rs__buf_clear(&back);
	compress_in_chunks(&ga, RS_COMPRESSION_ZSTD, 1, &a, 100);
	compress_in_chunks(&ga, RS_COMPRESSION_ZSTD, 1, &b, 100);
	assert_int_equal(decompress_in_chunks(&back, RS_COMPRESSION_ZSTD, ga.ptr, ga.size, 5), 0);
	assert_string_equal(back.ptr, "first member|second member");
	rs_buf_dispose(&a);
	rs_buf_dispose(&b);
	rs_buf_dispose(&ga);
	rs_buf_dispose(&back);
}

static void test_corrupt_and_truncated(void **state)
{
	rs_buf in = RS_BUF_INIT, c = RS_BUF_INIT, back = RS_BUF_INIT;
	rs_compression algs[] = {RS_COMPRESSION_GZIP, RS_COMPRESSION_ZSTD};
	(void)state;
	sample(&in, 100000);
	for (size_t i = 0; i < 2; i++) {
		rs__buf_clear(&c);
		compress_in_chunks(&c, algs[i], 0, &in, 4096);
		/* truncated: every byte arrives intact, the end never does */
		rs__buf_clear(&back);
		assert_int_equal(
		        decompress_in_chunks(&back, algs[i], c.ptr, c.size - c.size / 3, 4096),
		        RS_EFORMAT);
		assert_non_null(strstr(rs_error_last()->message, "truncated"));
		/* corrupt in the middle */
		c.ptr[c.size / 2] ^= 0x55;
		c.ptr[c.size / 2 + 1] ^= 0x55;
		c.ptr[c.size / 2 + 2] ^= 0x55;
		rs__buf_clear(&back);
		assert_int_equal(decompress_in_chunks(&back, algs[i], c.ptr, c.size, 4096),
		                 RS_EFORMAT);
		assert_non_null(strstr(rs_error_last()->message, rs__compress_name(algs[i])));
		/* empty */
		assert_int_equal(decompress_in_chunks(&back, algs[i], "", 0, 1), RS_EFORMAT);
		/* not compressed at all */
		assert_int_equal(decompress_in_chunks(&back, algs[i], "plain text here", 15, 4),
		                 RS_EFORMAT);
	}
	assert_int_equal(rs__decompressor_new(NULL, RS__COMPRESSION_XZ, to_buf, &back),
	                 RS_EUNSUPPORTED);
	rs_buf_dispose(&in);
	rs_buf_dispose(&c);
	rs_buf_dispose(&back);
}

static int failing_sink(const void *data, size_t len, void *payload)
{
	(void)data;
	(void)len;
	(*(int *)payload)++;
	return rs__error_set(RS_EIO, "disk full");
}

static void test_sink_error_stops(void **state)
{
	rs__compressor *z = NULL;
	rs_buf in = RS_BUF_INIT;
	int calls = 0;
	(void)state;
	sample(&in, 400000);
	assert_int_equal(rs__compressor_new(&z, RS_COMPRESSION_GZIP, 1, failing_sink, &calls), 0);
	/* random data does not compress: output is due long before the end */
	assert_int_equal(rs__compressor_write(z, in.ptr, in.size), RS_EIO);
	assert_int_equal(calls, 1);
	assert_string_equal(rs_error_last()->message, "disk full");
	rs__compressor_free(z);
	rs_buf_dispose(&in);
}

/* ---- the cache ----------------------------------------------------------------------------- */

#define DIFF "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define DGST "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_cache(void **state)
{
	char base[] = "/tmp/rs-compress-cache-XXXXXX", dir[300], digest[RS_DIGEST_MAX], path[400];
	int64_t size = -1;
	FILE *f;
	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/sub/compress", base);

	assert_int_equal(rs__compress_cache_get(digest, &size, dir, DIFF, RS_COMPRESSION_GZIP, 6),
	                 RS_ENOTFOUND);
	assert_int_equal(rs__compress_cache_put(dir, DIFF, RS_COMPRESSION_GZIP, 6, DGST, 4242), 0);
	assert_int_equal(count_files(dir), 1); /* no temporary left over */
	assert_int_equal(rs__compress_cache_get(digest, &size, dir, DIFF, RS_COMPRESSION_GZIP, 6),
	                 0);
	assert_string_equal(digest, DGST);
	assert_int_equal(size, 4242);
	/* the key holds the algorithm and the level */
	assert_int_equal(rs__compress_cache_get(digest, &size, dir, DIFF, RS_COMPRESSION_GZIP, 9),
	                 RS_ENOTFOUND);
	assert_int_equal(rs__compress_cache_get(digest, &size, dir, DIFF, RS_COMPRESSION_ZSTD, 6),
	                 RS_ENOTFOUND);
	/* a damaged entry is ignored */
	snprintf(path, sizeof(path), "%s/sha256-%s.gzip-6-a", dir, &DIFF[7]);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("sha256:zz 12\n", f);
	fclose(f);
	assert_int_equal(rs__compress_cache_get(digest, &size, dir, DIFF, RS_COMPRESSION_GZIP, 6),
	                 RS_ENOTFOUND);
	/* removal */
	assert_int_equal(rs__compress_cache_put(dir, DIFF, RS_COMPRESSION_GZIP, 6, DGST, 1), 0);
	rs__compress_cache_remove(dir, DIFF, RS_COMPRESSION_GZIP, 6);
	assert_int_equal(rs__compress_cache_get(digest, &size, dir, DIFF, RS_COMPRESSION_GZIP, 6),
	                 RS_ENOTFOUND);
	assert_int_equal(count_files(dir), 0);
	/* keys that could escape the directory are refused */
	assert_int_equal(
	        rs__compress_cache_put(dir, "sha256:../../x", RS_COMPRESSION_GZIP, 6, DGST, 1),
	        RS_EINVAL);
	assert_int_equal(rs__compress_cache_put(dir, DIFF, RS_COMPRESSION_GZIP, 6, "bogus", 1),
	                 RS_EINVAL);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/sub", base);
	rmdir(dir);
	rmdir(base);
}

static void test_cache_dir(void **state)
{
	char *old_xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char *d;
	(void)state;
	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	d = rs__compress_cache_dir();
	assert_string_equal(d, "/x/cache/regship/compress");
	free(d);
	setenv("XDG_CACHE_HOME", "relative", 1); /* invalid per the XDG spec: ignored */
	setenv("HOME", "/home/u", 1);
	d = rs__compress_cache_dir();
	assert_string_equal(d, "/home/u/.cache/regship/compress");
	free(d);
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	assert_null(rs__compress_cache_dir());
	if (old_xdg)
		setenv("XDG_CACHE_HOME", old_xdg, 1);
	if (old_home)
		setenv("HOME", old_home, 1);
	free(old_xdg);
	free(old_home);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_detect),
	        cmocka_unit_test(test_parse_and_level),
	        cmocka_unit_test(test_gzip_roundtrip_deterministic),
	        cmocka_unit_test(test_gzip_adapts_to_incompressible_data),
	        cmocka_unit_test(test_zstd_roundtrip),
	        cmocka_unit_test(test_none_passes_through),
	        cmocka_unit_test(test_concatenated_members),
	        cmocka_unit_test(test_corrupt_and_truncated),
	        cmocka_unit_test(test_sink_error_stops),
	        cmocka_unit_test(test_cache),
	        cmocka_unit_test(test_cache_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
