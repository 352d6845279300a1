#include "store/compress.h"
#include "util/file.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#define RS__COMP_BUFSIZE (64 * 1024)

rs_compression rs__compress_detect(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return RS_COMPRESSION_GZIP;
	if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return RS_COMPRESSION_ZSTD;
	if (len >= 3 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h')
		return RS__COMPRESSION_BZIP2;
	if (len >= 6 && !memcmp(p,
	                        "\xfd"
	                        "7zXZ\0",
	                        6))
		return RS__COMPRESSION_XZ;
	return RS_COMPRESSION_NONE;
}

const char *rs__compress_name(rs_compression c)
{
	switch ((int)c) { /* int: the detect-only values are outside the enum */
	case RS_COMPRESSION_NONE:
		return "none";
	case RS_COMPRESSION_GZIP:
		return "gzip";
	case RS_COMPRESSION_ZSTD:
		return "zstd";
	case RS__COMPRESSION_BZIP2:
		return "bzip2";
	case RS__COMPRESSION_XZ:
		return "xz";
	}
	return "unknown";
}

int rs_compression_parse(rs_compression *out, const char *name)
{
	if (!out)
		return rs__error_set(RS_EINVAL, "rs_compression_parse: no output given");
	if (name && !strcmp(name, "gzip"))
		*out = RS_COMPRESSION_GZIP;
	else if (name && !strcmp(name, "zstd"))
		*out = RS_COMPRESSION_ZSTD;
	else if (name && !strcmp(name, "none"))
		*out = RS_COMPRESSION_NONE;
	else
		return rs__error_set(RS_EINVAL,
		                     "unknown compression \"%s\" (expected gzip, zstd or none)",
		                     name ? name : "");
	return 0;
}

int rs__compress_level(int *out, rs_compression c, int level)
{
	switch ((int)c) {
	case RS_COMPRESSION_NONE:
		*out = 0;
		return 0;
	case RS_COMPRESSION_GZIP:
		if (level == 0)
			level = 6;
		if (level < 1 || level > 9)
			return rs__error_set(RS_EINVAL,
			                     "invalid gzip compression level %d (expected 1 to 9)",
			                     level);
		*out = level;
		return 0;
	case RS_COMPRESSION_ZSTD:
		if (level == 0)
			level = 3;
		if (level < 1 || level > 19)
			return rs__error_set(RS_EINVAL,
			                     "invalid zstd compression level %d (expected 1 to 19)",
			                     level);
		*out = level;
		return 0;
	case RS__COMPRESSION_BZIP2:
	case RS__COMPRESSION_XZ:
		break;
	}
	return rs__error_set(RS_EUNSUPPORTED, "%s compression is not supported",
	                     rs__compress_name(c));
}

/* ---- compressor -------------------------------------------------------- */

/*
 * gzip adapts to what it is given: input goes in blocks of RS__GZ_BLOCK bytes, and a block that
 * did not shrink at the chosen level makes the next RS__GZ_SKIP blocks go as stored blocks
 * (level 0), after which the chosen level is tried again. Incompressible layers (already
 * compressed files, random data) then cost a copy and a CRC instead of a futile deflate, and
 * compressible ones are compressed as before. The decisions depend only on the input, so the
 * output stays deterministic.
 */
#define RS__GZ_BLOCK (1u << 20)
#define RS__GZ_SKIP 15
#define RS__GZ_SKIP_MAX 255
/* zlib's stored blocks follow the sizes it is handed: feed it fixed pieces, whatever the
 * caller's write sizes, so the same input always gives the same bytes */
#define RS__GZ_PIECE (64u * 1024)

struct rs__compressor {
	rs_compression c;
	rs__sink_fn sink;
	void *payload;
	int level; /* the level asked for */
	int current; /* the level in use for this block */
	unsigned skip; /* stored blocks left before trying `level` again */
	unsigned stretch; /* the length of the current stored stretch */
	size_t block_in; /* input bytes in the current block */
	uLong block_out; /* total_out when the block began */
	unsigned char *piece; /* staging for RS__GZ_PIECE-sized feeds */
	size_t piece_len;
	z_stream zs;
	gz_header gzh;
	ZSTD_CCtx *cctx;
	bool finished;
	unsigned char out[RS__COMP_BUFSIZE];
};

int rs__compressor_new(rs__compressor **out, rs_compression c, int level, rs__sink_fn sink,
                       void *payload)
{
	rs__compressor *z;
	int error;
	if ((error = rs__compress_level(&level, c, level)) < 0)
		return error;
	if (!(z = rs__calloc(1, sizeof(*z))))
		return rs__oom();
	z->c = c;
	z->sink = sink;
	z->payload = payload;
	z->level = z->current = level;
	if (c == RS_COMPRESSION_GZIP) {
		if (deflateInit2(&z->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
		    Z_OK) {
			free(z);
			return rs__error_set(RS_ENOMEM, "cannot initialise the gzip compressor");
		}
		if (!(z->piece = rs__malloc(RS__GZ_PIECE))) {
			deflateEnd(&z->zs);
			free(z);
			return rs__oom();
		}
		/* deterministic header: no mtime, no name, OS "unknown" */
		z->gzh.time = 0;
		z->gzh.os = 255;
		deflateSetHeader(&z->zs, &z->gzh);
	} else if (c == RS_COMPRESSION_ZSTD) {
		z->cctx = ZSTD_createCCtx();
		if (!z->cctx) {
			free(z);
			return rs__error_set(RS_ENOMEM, "cannot initialise the zstd compressor");
		}
		ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level);
		ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
	}
	*out = z;
	return 0;
}

static int gzip_deflate(rs__compressor *z, const void *data, size_t len, int flush)
{
	int error, ret;
	/* zlib counts in uInt: feed at most 1 GiB at a time */
	do {
		size_t chunk = len > (1u << 30) ? (1u << 30) : len;
		z->zs.next_in = (Bytef *)(uintptr_t)data;
		z->zs.avail_in = (uInt)chunk;
		data = (const char *)data + chunk;
		len -= chunk;
		do {
			z->zs.next_out = z->out;
			z->zs.avail_out = sizeof(z->out);
			ret = deflate(&z->zs, len ? Z_NO_FLUSH : flush);
			if (ret == Z_STREAM_ERROR)
				return rs__error_set(RS_ERROR, "gzip compression failed");
			if (sizeof(z->out) - z->zs.avail_out &&
			    (error = z->sink(z->out, sizeof(z->out) - z->zs.avail_out,
			                     z->payload)) < 0)
				return error;
		} while (z->zs.avail_in > 0 || z->zs.avail_out == 0 ||
		         (flush == Z_FINISH && !len && ret != Z_STREAM_END));
	} while (len);
	return 0;
}

static int gzip_set_level(rs__compressor *z, int level)
{
	int ret, error;
	if (level == z->current)
		return 0;
	do {
		z->zs.next_out = z->out;
		z->zs.avail_out = sizeof(z->out);
		ret = deflateParams(&z->zs, level, Z_DEFAULT_STRATEGY);
		if (ret != Z_OK && ret != Z_BUF_ERROR)
			return rs__error_set(RS_ERROR, "gzip compression failed (level change)");
		if (sizeof(z->out) - z->zs.avail_out &&
		    (error = z->sink(z->out, sizeof(z->out) - z->zs.avail_out, z->payload)) < 0)
			return error;
	} while (ret == Z_BUF_ERROR);
	z->current = level;
	return 0;
}

/* Feed gzip one fixed piece at a time, choosing each block's level from how the last went. */
static int gzip_feed_piece(rs__compressor *z)
{
	int error;
	if ((error = gzip_deflate(z, z->piece, z->piece_len, Z_NO_FLUSH)) < 0)
		return error;
	z->block_in += z->piece_len;
	z->piece_len = 0;
	if (z->block_in >= RS__GZ_BLOCK) {
		/* a block ended: decide the next one's level */
		if (z->current > 0) {
			uLong out = z->zs.total_out - z->block_out;
			/* each probe that fails doubles the stored stretch (16, 32, 64, ...
			 * 256 MiB); one that compresses resets it */
			if (out > RS__GZ_BLOCK / 100 * 97) {
				z->stretch = z->stretch ? z->stretch * 2 + 1 : RS__GZ_SKIP;
				if (z->stretch > RS__GZ_SKIP_MAX)
					z->stretch = RS__GZ_SKIP_MAX;
				z->skip = z->stretch;
			} else {
				z->stretch = 0;
			}
		} else if (z->skip) {
			z->skip--;
		}
		if ((error = gzip_set_level(z, z->skip ? 0 : z->level)) < 0)
			return error;
		z->block_in = 0;
		z->block_out = z->zs.total_out;
	}
	return 0;
}

static int gzip_write(rs__compressor *z, const char *data, size_t len)
{
	int error;
	while (len) {
		size_t n = RS__GZ_PIECE - z->piece_len;
		if (n > len)
			n = len;
		memcpy(z->piece + z->piece_len, data, n);
		z->piece_len += n;
		data += n;
		len -= n;
		if (z->piece_len == RS__GZ_PIECE && (error = gzip_feed_piece(z)) < 0)
			return error;
	}
	return 0;
}

static int zstd_compress(rs__compressor *z, const void *data, size_t len, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = {data, len, 0};
	size_t ret;
	int error;
	do {
		ZSTD_outBuffer o = {z->out, sizeof(z->out), 0};
		ret = ZSTD_compressStream2(z->cctx, &o, &in, end);
		if (ZSTD_isError(ret))
			return rs__error_set(RS_ERROR, "zstd compression failed: %s",
			                     ZSTD_getErrorName(ret));
		if (o.pos && (error = z->sink(z->out, o.pos, z->payload)) < 0)
			return error;
	} while (in.pos < in.size || (end == ZSTD_e_end && ret != 0));
	return 0;
}

int rs__compressor_write(rs__compressor *z, const void *data, size_t len)
{
	if (z->finished)
		return rs__error_set(RS_EINVAL, "write after the end of a compressed stream");
	if (!len)
		return 0;
	switch (z->c) {
	case RS_COMPRESSION_GZIP:
		return gzip_write(z, data, len);
	case RS_COMPRESSION_ZSTD:
		return zstd_compress(z, data, len, ZSTD_e_continue);
	default:
		return z->sink(data, len, z->payload);
	}
}

int rs__compressor_finish(rs__compressor *z)
{
	if (z->finished)
		return 0;
	z->finished = true;
	switch (z->c) {
	case RS_COMPRESSION_GZIP: {
		int error;
		if (z->piece_len &&
		    (error = gzip_deflate(z, z->piece, z->piece_len, Z_NO_FLUSH)) < 0)
			return error;
		z->piece_len = 0;
		return gzip_deflate(z, "", 0, Z_FINISH);
	}
	case RS_COMPRESSION_ZSTD:
		return zstd_compress(z, "", 0, ZSTD_e_end);
	default:
		return 0;
	}
}

void rs__compressor_free(rs__compressor *z)
{
	if (!z)
		return;
	if (z->c == RS_COMPRESSION_GZIP)
		deflateEnd(&z->zs);
	free(z->piece);
	ZSTD_freeCCtx(z->cctx);
	free(z);
}

/* ---- decompressor ------------------------------------------------------ */

struct rs__decompressor {
	rs_compression c;
	rs__sink_fn sink;
	void *payload;
	z_stream zs;
	ZSTD_DCtx *dctx;
	bool at_end; /* the last member/frame is complete */
	bool any; /* some input was seen */
	unsigned char out[RS__COMP_BUFSIZE];
};

int rs__decompressor_new(rs__decompressor **out, rs_compression c, rs__sink_fn sink, void *payload)
{
	rs__decompressor *z;
	if (c != RS_COMPRESSION_NONE && c != RS_COMPRESSION_GZIP && c != RS_COMPRESSION_ZSTD)
		return rs__error_set(RS_EUNSUPPORTED, "%s decompression is not supported",
		                     rs__compress_name(c));
	if (!(z = rs__calloc(1, sizeof(*z))))
		return rs__oom();
	z->c = c;
	z->sink = sink;
	z->payload = payload;
	z->at_end = c == RS_COMPRESSION_NONE;
	if (c == RS_COMPRESSION_GZIP && inflateInit2(&z->zs, 15 + 16) != Z_OK) {
		free(z);
		return rs__error_set(RS_ENOMEM, "cannot initialise the gzip decompressor");
	}
	if (c == RS_COMPRESSION_ZSTD && !(z->dctx = ZSTD_createDCtx())) {
		free(z);
		return rs__error_set(RS_ENOMEM, "cannot initialise the zstd decompressor");
	}
	*out = z;
	return 0;
}

static int gunzip(rs__decompressor *z, const void *data, size_t len)
{
	int error, ret;
	do {
		size_t chunk = len > (1u << 30) ? (1u << 30) : len;
		z->zs.next_in = (Bytef *)(uintptr_t)data;
		z->zs.avail_in = (uInt)chunk;
		data = (const char *)data + chunk;
		len -= chunk;
		z->zs.avail_out = 1; /* enter the loop */
		while (z->zs.avail_in > 0 || z->zs.avail_out == 0) {
			if (z->at_end && z->zs.avail_in > 0) {
				/* another gzip member follows */
				inflateReset(&z->zs);
				z->at_end = false;
			}
			z->zs.next_out = z->out;
			z->zs.avail_out = sizeof(z->out);
			ret = inflate(&z->zs, Z_NO_FLUSH);
			if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT || ret == Z_STREAM_ERROR)
				return rs__error_set(RS_EFORMAT, "corrupt gzip data: %s",
				                     z->zs.msg ? z->zs.msg : "invalid stream");
			if (ret == Z_MEM_ERROR)
				return rs__error_set(RS_ENOMEM,
				                     "gzip decompression: out of memory");
			if (sizeof(z->out) - z->zs.avail_out &&
			    (error = z->sink(z->out, sizeof(z->out) - z->zs.avail_out,
			                     z->payload)) < 0)
				return error;
			if (ret == Z_STREAM_END)
				z->at_end = true;
			else if (ret == Z_BUF_ERROR)
				break; /* no progress possible: needs more input */
			if (z->at_end && z->zs.avail_in == 0)
				break;
		}
	} while (len);
	return 0;
}

static int unzstd(rs__decompressor *z, const void *data, size_t len)
{
	ZSTD_inBuffer in = {data, len, 0};
	ZSTD_outBuffer o;
	size_t ret;
	int error;
	do {
		o.dst = z->out;
		o.size = sizeof(z->out);
		o.pos = 0;
		ret = ZSTD_decompressStream(z->dctx, &o, &in);
		if (ZSTD_isError(ret))
			return rs__error_set(RS_EFORMAT, "corrupt zstd data: %s",
			                     ZSTD_getErrorName(ret));
		z->at_end = ret == 0;
		if (o.pos && (error = z->sink(z->out, o.pos, z->payload)) < 0)
			return error;
	} while (in.pos < in.size || o.pos == o.size);
	return 0;
}

int rs__decompressor_write(rs__decompressor *z, const void *data, size_t len)
{
	if (!len)
		return 0;
	z->any = true;
	switch (z->c) {
	case RS_COMPRESSION_GZIP:
		return gunzip(z, data, len);
	case RS_COMPRESSION_ZSTD:
		return unzstd(z, data, len);
	default:
		return z->sink(data, len, z->payload);
	}
}

int rs__decompressor_finish(rs__decompressor *z)
{
	if (z->c == RS_COMPRESSION_NONE)
		return 0;
	if (!z->any)
		return rs__error_set(RS_EFORMAT, "empty %s stream", rs__compress_name(z->c));
	if (!z->at_end)
		return rs__error_set(RS_EFORMAT, "truncated %s stream", rs__compress_name(z->c));
	return 0;
}

void rs__decompressor_free(rs__decompressor *z)
{
	if (!z)
		return;
	if (z->c == RS_COMPRESSION_GZIP)
		inflateEnd(&z->zs);
	ZSTD_freeDCtx(z->dctx);
	free(z);
}

/* ---- the compression cache --------------------------------------------- */

char *rs__compress_cache_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	rs_buf b = RS_BUF_INIT;
	/* the XDG spec says relative paths are invalid and must be ignored */
	if (xdg && xdg[0] == '/')
		rs__buf_printf(&b, "%s/regship/compress", xdg);
	else if (home && home[0])
		rs__buf_printf(&b, "%s/.cache/regship/compress", home);
	else
		return NULL;
	return rs__buf_detach(&b);
}

static int cache_path(rs_buf *out, const char *dir, const char *diff_id, rs_compression c,
                      int level)
{
	const char *colon;
	if (!dir || !dir[0])
		return rs__error_set(RS_EINVAL, "no compression cache directory");
	if (!rs__digest_valid(diff_id))
		return rs__error_set(RS_EINVAL, "invalid diff_id \"%s\"", diff_id ? diff_id : "");
	colon = strchr(diff_id, ':');
	/* "-a": adaptive gzip; entries made by the older plain deflate are not reused */
	rs__buf_printf(out, "%s/%.*s-%s.%s-%d%s", dir, (int)(colon - diff_id), diff_id, colon + 1,
	               rs__compress_name(c), level, c == RS_COMPRESSION_GZIP ? "-a" : "");
	return rs__buf_oom(out) ? RS_ENOMEM : 0;
}

int rs__compress_cache_get(char digest[RS_DIGEST_MAX], int64_t *size, const char *dir,
                           const char *diff_id, rs_compression c, int level)
{
	rs_buf path = RS_BUF_INIT, body = RS_BUF_INIT;
	char got[RS_DIGEST_MAX];
	long long n = -1;
	int error;
	if ((error = cache_path(&path, dir, diff_id, c, level)) < 0)
		goto done;
	if ((error = rs__file_read_regular(&body, AT_FDCWD, path.ptr, 512, RS_FILE_NOFOLLOW,
	                                   NULL)) < 0 ||
	    sscanf(rs__buf_cstr(&body), "%135s %lld", got, &n) != 2 || !rs__digest_valid(got) ||
	    n < 0) {
		error = rs__error_set(RS_ENOTFOUND, "no usable compression cache entry %s",
		                      path.ptr);
		goto done;
	}
	memcpy(digest, got, strlen(got) + 1);
	*size = (int64_t)n;
done:
	rs_buf_dispose(&path);
	rs_buf_dispose(&body);
	return error;
}

int rs__compress_cache_put(const char *dir, const char *diff_id, rs_compression c, int level,
                           const char *digest, int64_t size)
{
	rs_buf path = RS_BUF_INIT, body = RS_BUF_INIT;
	int error;
	if ((error = cache_path(&path, dir, diff_id, c, level)) < 0 ||
	    (error = rs__digest_check(digest)) < 0 || (error = rs__mkdir_p(dir, 0700)) < 0)
		goto done;
	rs__buf_printf(&body, "%s %" PRId64 "\n", digest, size);
	if (rs__buf_oom(&body)) {
		error = RS_ENOMEM;
		goto done;
	}
	error = rs__file_write_atomic(path.ptr, body.ptr, body.size, 0644);
done:
	rs_buf_dispose(&path);
	rs_buf_dispose(&body);
	return error;
}

void rs__compress_cache_remove(const char *dir, const char *diff_id, rs_compression c, int level)
{
	rs_buf path = RS_BUF_INIT;
	if (cache_path(&path, dir, diff_id, c, level) == 0)
		unlink(path.ptr);
	rs_buf_dispose(&path);
}
