/* Unit tests for lib/image/blobcache.c: where blobs were pushed, for later mounts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image/blobcache.h"
#include "util/digest.h"
#include "util/util.h"

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define REG "127.0.0.1:5000"

typedef struct {
	char root[64];
	char cache[128];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (test_tmpdir(f->root, sizeof(f->root), "blobcache") < 0) {
		free(f);
		return -1;
	}
	/* not created yet: recording creates it */
	snprintf(f->cache, sizeof(f->cache), "%s/cache/regship/blobs", f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	test_rm_rf(f->root);
	free(f);
	return 0;
}

static void lookup(rs_strlist *out, const fixture *f, const char *digest, const char *domain,
                   const char *except)
{
	rs__strlist_dispose(out);
	rs__blobcache_lookup(out, f->cache, digest, domain, except);
}

static void test_roundtrip(void **state)
{
	fixture *f = *state;
	rs_strlist l = RS_STRLIST_INIT;
	lookup(&l, f, D1, REG, NULL);
	assert_int_equal(l.count, 0);

	rs__blobcache_record(f->cache, D1, REG, "gallery/ui");
	rs__blobcache_record(f->cache, D1, REG, "gallery/api");
	rs__blobcache_record(f->cache, D2, REG, "other/only");

	lookup(&l, f, D1, REG, NULL);
	assert_int_equal(l.count, 2);
	/* most recent last */
	assert_string_equal(l.items[0], "gallery/ui");
	assert_string_equal(l.items[1], "gallery/api");

	lookup(&l, f, D2, REG, NULL);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.items[0], "other/only");
	rs__strlist_dispose(&l);
}

static void test_dedup(void **state)
{
	fixture *f = *state;
	rs_strlist l = RS_STRLIST_INIT;
	rs_buf content = RS_BUF_INIT;
	char path[256];
	for (int i = 0; i < 3; i++) {
		rs__blobcache_record(f->cache, D1, REG, "gallery/ui");
		rs__blobcache_record(f->cache, D1, REG, "gallery/api");
	}
	lookup(&l, f, D1, REG, NULL);
	assert_int_equal(l.count, 2);
	rs__strlist_dispose(&l);
	/* the file itself holds each pair once */
	snprintf(path, sizeof(path), "%s/sha256/%s", f->cache, &D1[7]);
	assert_int_equal(rs__file_read(&content, path, 1 << 16), 0);
	assert_string_equal(content.ptr, REG " gallery/ui\n" REG " gallery/api\n");
	rs_buf_dispose(&content);
}

static void test_except_and_domains(void **state)
{
	fixture *f = *state;
	rs_strlist l = RS_STRLIST_INIT;
	rs__blobcache_record(f->cache, D1, REG, "gallery/ui");
	rs__blobcache_record(f->cache, D1, "docker.io", "library/ubuntu");
	rs__blobcache_record(f->cache, D1, "127.0.0.1", "prefix/domain");
	rs__blobcache_record(f->cache, D1, REG "0", "longer/domain");
	rs__blobcache_record(f->cache, D1, REG, "gallery/api");

	/* the repository being pushed to is not a mount source for itself */
	lookup(&l, f, D1, REG, "gallery/ui");
	assert_int_equal(l.count, 1);
	assert_string_equal(l.items[0], "gallery/api");

	/* other registries' entries are ignored, including domains sharing a prefix */
	lookup(&l, f, D1, REG, NULL);
	assert_int_equal(l.count, 2);
	assert_false(rs__strlist_contains(&l, "library/ubuntu"));
	assert_false(rs__strlist_contains(&l, "prefix/domain"));
	assert_false(rs__strlist_contains(&l, "longer/domain"));

	lookup(&l, f, D1, "docker.io", NULL);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.items[0], "library/ubuntu");

	lookup(&l, f, D1, "127.0.0.1", NULL);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.items[0], "prefix/domain");

	lookup(&l, f, D1, "quay.io", NULL);
	assert_int_equal(l.count, 0);

	/* recording the same repository under another registry is a separate entry */
	rs__blobcache_record(f->cache, D1, "docker.io", "gallery/ui");
	lookup(&l, f, D1, "docker.io", NULL);
	assert_int_equal(l.count, 2);
	rs__strlist_dispose(&l);
}

static void test_lookup_appends_without_duplicates(void **state)
{
	fixture *f = *state;
	rs_strlist l = RS_STRLIST_INIT;
	rs__blobcache_record(f->cache, D1, REG, "a/one");
	rs__blobcache_record(f->cache, D1, REG, "a/two");
	rs__strlist_push(&l, "a/two"); /* e.g. from --mount-from */
	rs__blobcache_lookup(&l, f->cache, D1, REG, NULL);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.items[0], "a/two");
	assert_string_equal(l.items[1], "a/one");
	rs__strlist_dispose(&l);
}

static void test_missing_and_invalid(void **state)
{
	fixture *f = *state;
	rs_strlist l = RS_STRLIST_INIT;
	struct stat st;
	char bogus[160];

	/* no cache directory yet: nothing, and no error left behind */
	rs_error_clear();
	lookup(&l, f, D1, REG, NULL);
	assert_int_equal(l.count, 0);
	assert_false(rs_error_is_set());

	/* NULL directory (no home): both are no-ops */
	rs__blobcache_record(NULL, D1, REG, "x/y");
	rs__blobcache_lookup(&l, NULL, D1, REG, NULL);
	assert_int_equal(l.count, 0);

	/* a malformed digest never becomes a path */
	rs__blobcache_record(f->cache, "sha256:../../escape", REG, "x/y");
	rs__blobcache_record(f->cache, "nocolon", REG, "x/y");
	assert_int_equal(stat(f->cache, &st), -1);
	lookup(&l, f, "sha256:../../escape", REG, NULL);
	assert_int_equal(l.count, 0);

	/* a cache that cannot be written (a file where the directory should be) is ignored */
	snprintf(bogus, sizeof(bogus), "%s/file", f->root);
	{
		FILE *fp = fopen(bogus, "w");
		assert_non_null(fp);
		fclose(fp);
	}
	rs_error_clear();
	rs__blobcache_record(bogus, D1, REG, "x/y");
	rs__blobcache_lookup(&l, bogus, D1, REG, NULL);
	assert_int_equal(l.count, 0);
	assert_false(rs_error_is_set());
	rs__strlist_dispose(&l);
}

static void test_cache_file_private(void **state)
{
	fixture *f = *state;
	char path[256];
	struct stat st;
	rs__blobcache_record(f->cache, D1, REG, "gallery/ui");
	snprintf(path, sizeof(path), "%s/sha256/%s", f->cache, &D1[7]);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
}

static void test_cache_dir(void **state)
{
	char *old_xdg = getenv("XDG_CACHE_HOME") ? rs__strdup(getenv("XDG_CACHE_HOME")) : NULL;
	char *old_home = getenv("HOME") ? rs__strdup(getenv("HOME")) : NULL;
	char *d;
	(void)state;

	d = rs__blobcache_dir("/explicit/dir");
	assert_string_equal(d, "/explicit/dir");
	free(d);

	setenv("XDG_CACHE_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	d = rs__blobcache_dir(NULL);
	assert_string_equal(d, "/xdg/regship/blobs");
	free(d);

	setenv("XDG_CACHE_HOME", "", 1); /* empty means unset */
	d = rs__blobcache_dir(NULL);
	assert_string_equal(d, "/home/u/.cache/regship/blobs");
	free(d);

	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	assert_null(rs__blobcache_dir(NULL));

	if (old_xdg)
		setenv("XDG_CACHE_HOME", old_xdg, 1);
	if (old_home)
		setenv("HOME", old_home, 1);
	free(old_xdg);
	free(old_home);
}

#define WRITERS 2
#define PER_WRITER 300

static void test_concurrent_processes(void **state)
{
	fixture *f = *state;
	pid_t pids[WRITERS];
	rs_buf content = RS_BUF_INIT;
	rs_strlist l = RS_STRLIST_INIT;
	char path[256];
	int seen[WRITERS][PER_WRITER];
	size_t lines = 0;
	char *save = NULL;

	memset(seen, 0, sizeof(seen));
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			char repo[64];
			for (int i = 0; i < PER_WRITER; i++) {
				snprintf(repo, sizeof(repo), "writer%d/repository-number-%d", w, i);
				rs__blobcache_record(f->cache, D1, REG, repo);
			}
			_exit(0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int status = 0;
		assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	/* every line is whole: no interleaving, no lost appends */
	snprintf(path, sizeof(path), "%s/sha256/%s", f->cache, &D1[7]);
	assert_int_equal(rs__file_read(&content, path, 1 << 20), 0);
	assert_int_equal(content.ptr[content.size - 1], '\n');
	for (char *line = strtok_r(content.ptr, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		int w = -1, i = -1, consumed = 0;
		if (sscanf(line, REG " writer%d/repository-number-%d%n", &w, &i, &consumed) != 2 ||
		    line[consumed] != '\0' || w < 0 || w >= WRITERS || i < 0 || i >= PER_WRITER)
			fail_msg("corrupt cache line: \"%s\"", line);
		seen[w][i]++;
		lines++;
	}
	assert_int_equal(lines, WRITERS * PER_WRITER);
	for (int w = 0; w < WRITERS; w++)
		for (int i = 0; i < PER_WRITER; i++)
			if (seen[w][i] != 1)
				fail_msg("writer%d/repository-number-%d appears %d times", w, i,
				         seen[w][i]);
	rs_buf_dispose(&content);

	lookup(&l, f, D1, REG, NULL);
	assert_int_equal(l.count, WRITERS * PER_WRITER);
	rs__strlist_dispose(&l);
}

/* A link or FIFO planted at an entry is neither followed nor opened (nothing blocks), and a
 * link planted at the directory's old predictable temporary names changes nothing. */
static void test_planted_entries(void **state)
{
	fixture *f = *state;
	char path[256], victim[256], sub[256];
	rs_strlist got = RS_STRLIST_INIT;
	rs_buf b = RS_BUF_INIT;
	struct stat st;
	snprintf(victim, sizeof(victim), "%s/victim", f->root);
	assert_int_equal(rs__file_write_atomic(victim, "precious\n", 9, 0600), 0);
	snprintf(sub, sizeof(sub), "%s/sha256", f->cache);
	assert_int_equal(rs__mkdir_p(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/%s", sub, &D1[7]);
	assert_int_equal(symlink(victim, path), 0);
	rs__blobcache_record(f->cache, D1, REG, "gallery/ui");
	assert_int_equal(rs__file_read(&b, victim, 100), 0);
	assert_string_equal(b.ptr, "precious\n");
	rs_buf_dispose(&b);
	lookup(&got, f, D1, REG, NULL);
	assert_int_equal(got.count, 0);
	/* a FIFO: no block, no change */
	snprintf(path, sizeof(path), "%s/%s", sub, &D2[7]);
	assert_int_equal(mkfifo(path, 0600), 0);
	rs__blobcache_record(f->cache, D2, REG, "gallery/ui");
	lookup(&got, f, D2, REG, NULL);
	assert_int_equal(got.count, 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	rs__strlist_dispose(&got);
}

/* Past the size bound the oldest lines go, the newest stays findable. */
static void test_bounded_entry_keeps_newest(void **state)
{
	fixture *f = *state;
	rs_strlist got = RS_STRLIST_INIT;
	char repo[256], path[256];
	struct stat st;
	/* ~230-byte lines: 300 of them are past the 64 KiB bound */
	for (int i = 0; i < 300; i++) {
		snprintf(repo, sizeof(repo), "team/%0200d/repository-%04d", 0, i);
		rs__blobcache_record(f->cache, D1, REG, repo);
	}
	snprintf(path, sizeof(path), "%s/sha256/%s", f->cache, &D1[7]);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size < 64 * 1024);
	lookup(&got, f, D1, REG, NULL);
	assert_true(got.count > 100);
	snprintf(repo, sizeof(repo), "team/%0200d/repository-%04d", 0, 299);
	assert_string_equal(got.items[got.count - 1], repo);
	snprintf(repo, sizeof(repo), "team/%0200d/repository-%04d", 0, 0);
	assert_false(rs__strlist_contains(&got, repo));
	rs__strlist_dispose(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dedup, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_except_and_domains, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lookup_appends_without_duplicates, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_missing_and_invalid, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cache_file_private, setup, teardown),
	        cmocka_unit_test(test_cache_dir),
	        cmocka_unit_test_setup_teardown(test_concurrent_processes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_planted_entries, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bounded_entry_keeps_newest, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
