/*
 * A tar holding one file, made in memory with libarchive: the layer of a test image (unit tests
 * that build docker archives include this next to testutil.h).
 */
#ifndef RS_TEST_UNIT_TESTTAR_H
#define RS_TEST_UNIT_TESTTAR_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>

#include "regship/buf.h"
#include "util/util.h"

/* out = a pax tar (512-byte blocks) holding file with the size bytes of data, mode 0644. */
static inline void test_tar_one_file(rs_buf *out, const char *file, const char *data, size_t size)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t cap = size + 64 * 1024, used = 0;
	char *mem = malloc(cap);
	assert_non_null(a);
	assert_non_null(e);
	assert_non_null(mem);
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 512);
	assert_int_equal(archive_write_open_memory(a, mem, cap, &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, file);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, size), (la_ssize_t)size);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	rs__buf_put(out, mem, used);
	free(mem);
}

#endif
