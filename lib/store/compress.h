/*
 * Layer compression for the stores: streaming gzip (zlib) and zstd (libzstd) compressors and
 * decompressors with fixed-size buffers, detection by magic bytes, and the on-disk compression
 * cache that remembers (diff_id, algorithm, level) -> (compressed digest, size).
 */
#ifndef RS_STORE_COMPRESS_H
#define RS_STORE_COMPRESS_H

#include "regship/manifest.h"
#include "util/digest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The algorithms are the public rs_compression (regship/manifest.h); two more values are only
 * ever detected (rs__compress_detect, rs__compress_name), never produced or read. */
#define RS__COMPRESSION_BZIP2 ((rs_compression)3)
#define RS__COMPRESSION_XZ ((rs_compression)4)

/* Bytes needed by rs__compress_detect to tell every format apart. */
#define RS__COMP_MAGIC_MAX 6

/* The compression of data starting with buf (len may be short: RS_COMPRESSION_NONE then). */
rs_compression rs__compress_detect(const void *buf, size_t len);
/* "gzip", "zstd", "none", "bzip2", "xz". */
const char *rs__compress_name(rs_compression c);
/* rs_compression_parse (regship/manifest.h) parses "gzip" / "zstd" / "none". */
/* The level used when 0 (default) is asked: 6 for gzip, 3 for zstd, 0 for none. Checks the
 * range (gzip 1-9, zstd 1-19) and returns RS_EINVAL naming the level when out of it. */
int rs__compress_level(int *out, rs_compression c, int level);

/* Where the (de)compressor puts its output. Return 0 or a negative RS_E* code (which stops). */
typedef int (*rs__sink_fn)(const void *data, size_t len, void *payload);

/* A streaming compressor. Gzip output is deterministic: header mtime 0, no name, OS unknown. */
typedef struct rs__compressor rs__compressor;
int rs__compressor_new(rs__compressor **out, rs_compression c, int level, rs__sink_fn sink,
                       void *payload);
int rs__compressor_write(rs__compressor *z, const void *data, size_t len);
/* Flush the end of the stream; no write may follow. */
int rs__compressor_finish(rs__compressor *z);
void rs__compressor_free(rs__compressor *z);

/* A streaming decompressor (gzip accepts several concatenated members; zstd several frames).
 * Corrupt input is RS_EFORMAT; finish reports a truncated stream as RS_EFORMAT. */
typedef struct rs__decompressor rs__decompressor;
int rs__decompressor_new(rs__decompressor **out, rs_compression c, rs__sink_fn sink, void *payload);
int rs__decompressor_write(rs__decompressor *z, const void *data, size_t len);
int rs__decompressor_finish(rs__decompressor *z);
void rs__decompressor_free(rs__decompressor *z);

/*
 * The compression cache: one small file per key, "<dir>/<diffid-hex>-<alg>-<level>", holding
 * "<digest> <size>\n", written atomically. dir NULL means the default,
 * $XDG_CACHE_HOME/regship/compress or ~/.cache/regship/compress.
 */
/* The default directory (caller frees), or NULL when neither XDG_CACHE_HOME nor HOME is set. */
char *rs__compress_cache_dir(void);
/* RS_ENOTFOUND when absent (or unreadable / malformed: such an entry is ignored). */
int rs__compress_cache_get(char digest[RS_DIGEST_MAX], int64_t *size, const char *dir,
                           const char *diff_id, rs_compression c, int level);
int rs__compress_cache_put(const char *dir, const char *diff_id, rs_compression c, int level,
                           const char *digest, int64_t size);
void rs__compress_cache_remove(const char *dir, const char *diff_id, rs_compression c, int level);

#endif
