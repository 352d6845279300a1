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
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#define LAYER "pretend this is a tar layer"
#define MANIFEST "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_MANIFEST "\",\"n\":1}"
#define MANIFEST2 "{\"schemaVersion\":2,\"mediaType\":\"" RS_MT_OCI_MANIFEST "\",\"n\":2}"

typedef struct {
	char root[64];
	char file[128];
	char *old_tmpdir;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	const char *t = getenv("TMPDIR");
	if (test_tmpdir(f->root, sizeof(f->root), "ociar") < 0) {
		free(f);
		return -1;
	}
	snprintf(f->file, sizeof(f->file), "%s/img.tar", f->root);
	f->old_tmpdir = t ? rs__strdup(t) : NULL;
	setenv("TMPDIR", f->root, 1); /* the store's private directories land here */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (f->old_tmpdir)
		setenv("TMPDIR", f->old_tmpdir, 1);
	else
		unsetenv("TMPDIR");
	free(f->old_tmpdir);
	rs__rmtree(f->root);
	free(f);
	return 0;
}

/* Entries of the fixture directory whose name starts with prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		if (rs__str_startswith(e->d_name, prefix))
			n++;
	if (d)
		closedir(d);
	return n;
}

static char *digest_of(const char *s)
{
	char d[RS_DIGEST_MAX];
	rs__sha256_digest(d, s, strlen(s));
	return rs__strdup(d);
}

static void put_layer(rs_store *s)
{
	rs_reader *r = NULL;
	rs_descriptor desc = {0};
	char *d = digest_of(LAYER);
	desc.digest = d;
	desc.size = (int64_t)strlen(LAYER);
	assert_int_equal(rs_reader_from_memory(&r, LAYER, strlen(LAYER)), 0);
	assert_int_equal(rs_store_blob_put(s, &desc, r, NULL, NULL), 0);
	rs_reader_free(r);
	free(d);
}

static void write_image(const char *file, const char *tag, const char *manifest)
{
	rs_store *s = NULL;
	assert_int_equal(rs_store_open_oci_archive(&s, file, RS_STORE_WRITE), 0);
	assert_string_equal(rs_store_scheme(s), "oci-archive");
	put_layer(s);
	assert_int_equal(rs_store_manifest_put(s, tag, manifest, strlen(manifest), NULL), 0);
	assert_int_equal(rs_store_commit(s), 0);
	rs_store_free(s);
}

static int collect(const char *tag, void *payload)
{
	rs__strlist_push(payload, tag);
	return 0;
}

static void read_file(rs_buf *out, const char *path)
{
	rs__buf_clear(out);
	assert_int_equal(rs__file_read(out, path, 1 << 24), 0);
}

static void test_roundtrip(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	rs_buf body = RS_BUF_INIT;
	rs_strlist tags = RS_STRLIST_INIT;
	rs_descriptor desc = {0};
	rs_reader *r = NULL;
	char buf[128], *mt = NULL, *dg = NULL;
	char *layer_d = digest_of(LAYER), *man_d = digest_of(MANIFEST);
	struct stat st;
	long long n;

	/* nothing reaches FILE before commit */
	assert_int_equal(rs_store_open_oci_archive(&s, f->file, RS_STORE_WRITE), 0);
	put_layer(s);
	assert_int_equal(rs_store_manifest_put(s, "v1", MANIFEST, strlen(MANIFEST), NULL), 0);
	assert_int_equal(stat(f->file, &st), -1);
	assert_int_equal(rs_store_commit(s), 0);
	rs_store_free(s);
	assert_int_equal(stat(f->file, &st), 0);
	assert_int_equal(count_prefixed(f->root, "img.tar.tmp"), 0);
	assert_int_equal(count_prefixed(f->root, "regship-oci-"), 0); /* private dir removed */

	assert_int_equal(rs_store_open_oci_archive(&s, f->file, RS_STORE_READ), 0);
	assert_int_equal(count_prefixed(f->root, "regship-oci-"), 1);
	assert_int_equal(rs_store_manifest_get(s, "v1", &body, &mt, &dg), 0);
	assert_string_equal(body.ptr, MANIFEST);
	assert_string_equal(mt, RS_MT_OCI_MANIFEST);
	assert_string_equal(dg, man_d);
	desc.digest = layer_d;
	desc.size = (int64_t)strlen(LAYER);
	assert_int_equal(rs_store_blob_exists(s, &desc), 0);
	assert_int_equal(rs_store_blob_open(&r, s, &desc), 0);
	n = rs_reader_read(r, buf, sizeof(buf));
	assert_int_equal(n, (long long)strlen(LAYER));
	assert_memory_equal(buf, LAYER, (size_t)n);
	rs_reader_free(r);
	assert_int_equal(rs_store_tag_list(s, collect, &tags), 0);
	assert_int_equal(tags.count, 1);
	assert_string_equal(tags.items[0], "v1");
	/* read-only */
	assert_int_equal(rs_store_manifest_put(s, "v2", MANIFEST, strlen(MANIFEST), NULL),
	                 RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, f->file));
	assert_int_equal(rs_store_commit(s), 0);
	rs_store_free(s);
	assert_int_equal(count_prefixed(f->root, "regship-oci-"), 0);

	rs__strlist_dispose(&tags);
	rs_buf_dispose(&body);
	free(mt);
	free(dg);
	free(layer_d);
	free(man_d);
}

static void test_deterministic_tar(void **state)
{
	fixture *f = *state;
	char other[160];
	rs_buf a = RS_BUF_INIT, b = RS_BUF_INIT;
	struct archive *ar;
	struct archive_entry *e;
	rs_strlist names = RS_STRLIST_INIT;
	snprintf(other, sizeof(other), "%s/other.tar", f->root);
	write_image(f->file, "v1", MANIFEST);
	write_image(other, "v1", MANIFEST);
	read_file(&a, f->file);
	read_file(&b, other);
	assert_int_equal(a.size, b.size);
	assert_memory_equal(a.ptr, b.ptr, a.size);

	ar = archive_read_new();
	archive_read_support_format_tar(ar);
	assert_int_equal(archive_read_open_filename(ar, f->file, 10240), ARCHIVE_OK);
	while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
		assert_int_equal(archive_entry_mtime(e), 0);
		assert_int_equal(archive_entry_uid(e), 0);
		assert_int_equal(archive_entry_gid(e), 0);
		rs__strlist_push(&names, archive_entry_pathname(e));
	}
	archive_read_free(ar);
	assert_int_equal(names.count, 6); /* 2 dirs, layer, manifest, index, marker */
	assert_string_equal(names.items[0], "blobs/");
	assert_string_equal(names.items[1], "blobs/sha256/");
	for (size_t i = 1; i < names.count; i++)
		assert_true(strcmp(names.items[i - 1], names.items[i]) < 0);
	assert_string_equal(names.items[4], "index.json");
	assert_string_equal(names.items[5], "oci-layout");
	rs__strlist_dispose(&names);
	rs_buf_dispose(&a);
	rs_buf_dispose(&b);
}

static void test_add_to_existing_and_abort(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	rs_strlist tags = RS_STRLIST_INIT;
	rs_buf before = RS_BUF_INIT, after = RS_BUF_INIT;
	write_image(f->file, "v1", MANIFEST);
	write_image(f->file, "v2", MANIFEST2);
	assert_int_equal(rs_store_open_oci_archive(&s, f->file, RS_STORE_READ), 0);
	assert_int_equal(rs_store_tag_list(s, collect, &tags), 0);
	assert_int_equal(tags.count, 2);
	assert_string_equal(tags.items[0], "v1");
	assert_string_equal(tags.items[1], "v2");
	rs_store_free(s);

	/* changes without commit leave FILE as it was */
	read_file(&before, f->file);
	assert_int_equal(rs_store_open_oci_archive(&s, f->file, RS_STORE_WRITE), 0);
	assert_int_equal(rs_store_manifest_put(s, "v3", MANIFEST, strlen(MANIFEST), NULL), 0);
	rs_store_free(s);
	read_file(&after, f->file);
	assert_int_equal(before.size, after.size);
	assert_memory_equal(before.ptr, after.ptr, before.size);
	assert_int_equal(count_prefixed(f->root, "regship-oci-"), 0);
	assert_int_equal(count_prefixed(f->root, "img.tar.tmp"), 0);
	rs__strlist_dispose(&tags);
	rs_buf_dispose(&before);
	rs_buf_dispose(&after);
}

typedef struct {
	const char *name;
	unsigned int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK; 0: hard link */
	const char *content; /* or the link target */
} entry;

static void make_tar(const char *file, const entry *entries, size_t n)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, file), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_copy_pathname(e, entries[i].name);
		archive_entry_set_perm(e, 0644);
		if (entries[i].type == AE_IFREG) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, (la_int64_t)strlen(entries[i].content));
		} else if (entries[i].type == AE_IFLNK) {
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_copy_symlink(e, entries[i].content);
		} else if (entries[i].type == AE_IFDIR) {
			archive_entry_set_filetype(e, AE_IFDIR);
		} else {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_copy_hardlink(e, entries[i].content);
		}
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (entries[i].type == AE_IFREG)
			archive_write_data(a, entries[i].content, strlen(entries[i].content));
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

#define LAYOUT_OK                                                                                  \
	{"oci-layout", AE_IFREG, "{\"imageLayoutVersion\":\"1.0.0\"}"},                            \
	{                                                                                          \
		"index.json", AE_IFREG, "{\"schemaVersion\":2,\"manifests\":[]}"                   \
	}

static void expect_refused(fixture *f, const entry *entries, size_t n, const char *needle)
{
	rs_store *s = NULL;
	make_tar(f->file, entries, n);
	assert_int_equal(rs_store_open_oci_archive(&s, f->file, RS_STORE_READ), RS_EFORMAT);
	assert_null(s);
	assert_non_null(strstr(rs_error_last()->message, f->file));
	if (needle && !strstr(rs_error_last()->message, needle))
		fail_msg("message \"%s\" lacks \"%s\"", rs_error_last()->message, needle);
	assert_int_equal(count_prefixed(f->root, "regship-oci-"), 0);
	/* nothing escaped next to the archive */
	assert_int_equal(count_prefixed(f->root, "x"), 0);
	/* the same refusal when opened to be added to, with the way out */
	assert_int_equal(rs_store_open_oci_archive(&s, f->file, RS_STORE_WRITE), RS_EEXISTS);
	if (needle && !strstr(rs_error_last()->message, needle))
		fail_msg("message \"%s\" lacks \"%s\"", rs_error_last()->message, needle);
	assert_non_null(strstr(rs_error_last()->message, "use --overwrite"));
	assert_int_equal(count_prefixed(f->root, "regship-oci-"), 0);
}

static void test_hostile_entries(void **state)
{
	fixture *f = *state;
	static const char hex[] =
	        "blobs/sha256/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	const entry dotdot[] = {LAYOUT_OK, {"../x", AE_IFREG, "evil"}};
	const entry nested_dotdot[] = {LAYOUT_OK, {"blobs/../../x", AE_IFREG, "evil"}};
	const entry absolute[] = {LAYOUT_OK, {"/etc/x", AE_IFREG, "evil"}};
	const entry symlink_out[] = {{"link", AE_IFLNK, "../../etc"}, LAYOUT_OK};
	const entry symlink_abs[] = {LAYOUT_OK, {"etc", AE_IFLNK, "/etc"}};
	const entry hardlink_out[] = {LAYOUT_OK, {"h", 0, "../x"}};
	const entry blob_symlink[] = {LAYOUT_OK, {hex, AE_IFLNK, "../../index.json"}};
	const entry blob_dir[] = {LAYOUT_OK, {hex, AE_IFDIR, ""}};
	const entry dup[] = {LAYOUT_OK, {"index.json", AE_IFREG, "{}"}};
	const entry no_layout[] = {{"index.json", AE_IFREG, "{\"manifests\":[]}"}};
	expect_refused(f, dotdot, 3, "../x");
	expect_refused(f, nested_dotdot, 3, "blobs/../../x");
	expect_refused(f, absolute, 3, "/etc/x");
	expect_refused(f, symlink_out, 3, "outside");
	expect_refused(f, symlink_abs, 3, "outside");
	expect_refused(f, hardlink_out, 3, "outside");
	expect_refused(f, blob_symlink, 3, "not a regular file");
	expect_refused(f, blob_dir, 3, "not a regular file");
	expect_refused(f, dup, 3, "duplicate");
	expect_refused(f, no_layout, 1, "oci-layout");
}

static void test_harmless_extras_accepted(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	const entry ok[] = {{"./", AE_IFDIR, ""},
	                    {"./blobs/", AE_IFDIR, ""},
	                    LAYOUT_OK,
	                    {"README", AE_IFREG, "hello"},
	                    {"docs/link", AE_IFLNK, "../README"}};
	make_tar(f->file, ok, 6);
	assert_int_equal(rs_store_open_oci_archive(&s, f->file, RS_STORE_READ), 0);
	rs_store_free(s);
}

static void test_truncated_and_garbage(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	struct stat st;
	char big[8000];
	entry one[] = {LAYOUT_OK, {"README", AE_IFREG, big}};
	write_image(f->file, "v1", MANIFEST);
	assert_int_equal(stat(f->file, &st), 0);
	assert_int_equal(truncate(f->file, 1024 + 100), 0); /* inside the second entry */
	assert_int_equal(rs_store_open_oci_archive(&s, f->file, RS_STORE_READ), RS_EFORMAT);
	assert_non_null(strstr(rs_error_last()->message, f->file));
	assert_non_null(strstr(rs_error_last()->message, "truncated"));
	assert_null(s);

	/* an entry claiming more bytes than the file holds */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	make_tar(f->file, one, 3);
	assert_int_equal(truncate(f->file, 4096), 0);
	assert_int_equal(rs_store_open_oci_archive(&s, f->file, RS_STORE_READ), RS_EFORMAT);
	assert_non_null(strstr(rs_error_last()->message, f->file));
	assert_non_null(strstr(rs_error_last()->message, "claims"));

	/* not a tar at all */
	assert_int_equal(rs__file_write_atomic(f->file, "just text\n", 10, 0644), 0);
	assert_int_equal(rs_store_open_oci_archive(&s, f->file, RS_STORE_READ), RS_EFORMAT);
	assert_non_null(strstr(rs_error_last()->message, f->file));
	assert_int_equal(count_prefixed(f->root, "regship-oci-"), 0);
}

static void test_open_errors(void **state)
{
	fixture *f = *state;
	rs_store *s = NULL;
	char path[200];
	assert_int_equal(rs_store_open_oci_archive(&s, f->file, RS_STORE_READ), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, f->file));
	snprintf(path, sizeof(path), "%s/missing/dir/img.tar", f->root);
	assert_int_equal(rs_store_open_oci_archive(&s, path, RS_STORE_WRITE), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "missing/dir"));
	assert_int_equal(rs_store_open_oci_archive(&s, f->root, RS_STORE_READ), RS_EINVAL);
	assert_int_equal(rs_store_open_oci_archive(&s, "", RS_STORE_READ), RS_EINVAL);
	assert_int_equal(rs_store_open_oci_archive(&s, f->file, 0), RS_EINVAL);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_deterministic_tar, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_add_to_existing_and_abort, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hostile_entries, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_harmless_extras_accepted, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_truncated_and_garbage, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
