/* Helpers shared by the tests in tests/unit/manifest/ (test data loading, comparisons). */
#ifndef RS_TEST_MANIFEST_TESTDATA_H
#define RS_TEST_MANIFEST_TESTDATA_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "regship/manifest.h"
#include "util/util.h"

/* Read tests/data/manifest/<name>: $REGSHIP_TEST_DATA when set (ctest), else found from this
 * file's location (a direct compile). */
static inline void load_data(rs_buf *out, const char *name)
{
	const char *env = getenv("REGSHIP_TEST_DATA");
	char path[4096];

	if (env && *env) {
		snprintf(path, sizeof(path), "%s/manifest/%s", env, name);
	} else {
		const char *here = __FILE__;
		const char *cut = strstr(here, "unit/manifest/testdata.h");
		assert_non_null(cut);
		snprintf(path, sizeof(path), "%.*sdata/manifest/%s", (int)(cut - here), here, name);
	}
	rs__buf_clear(out);
	if (rs__file_read(out, path, 1 << 20) < 0)
		fail_msg("cannot read test data %s: %s", path, rs_error_last()->message);
}

static inline void assert_str_or_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static inline void assert_platform_equal(const rs_platform *a, const rs_platform *b)
{
	if (!a || !b) {
		assert_ptr_equal(a, b);
		return;
	}
	assert_str_or_null(a->os, b->os);
	assert_str_or_null(a->architecture, b->architecture);
	assert_str_or_null(a->variant, b->variant);
	assert_str_or_null(a->os_version, b->os_version);
}

static inline void assert_descriptor_equal(const rs_descriptor *a, const rs_descriptor *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_str_or_null(a->media_type, b->media_type);
	assert_str_or_null(a->digest, b->digest);
	assert_int_equal(a->size, b->size);
	assert_platform_equal(a->platform, b->platform);
	assert_str_or_null(a->ref_name, b->ref_name);
	assert_str_or_null(a->artifact_type, b->artifact_type);
}

static inline char *dup_or_null(const char *s)
{
	return s ? rs__strdup(s) : NULL;
}

/* A heap platform (free with rs_platform_free). */
static inline rs_platform *mkplat(const char *os, const char *arch, const char *variant)
{
	rs_platform *p = rs__calloc(1, sizeof(*p));
	p->os = dup_or_null(os);
	p->architecture = dup_or_null(arch);
	p->variant = dup_or_null(variant);
	return p;
}

/* A descriptor owning its members (release with rs_descriptor_dispose); takes `plat`. */
static inline rs_descriptor mkdesc(const char *mt, const char *digest, int64_t size,
                                   rs_platform *plat)
{
	rs_descriptor d;
	memset(&d, 0, sizeof(d));
	d.media_type = dup_or_null(mt);
	d.digest = dup_or_null(digest);
	d.size = size;
	d.platform = plat;
	return d;
}

/* The last error's message ("" when none). */
static inline const char *last_message(void)
{
	const rs_error *e = rs_error_last();
	return e ? e->message : "";
}

#endif
