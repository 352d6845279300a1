/*
 * Replays every input of fuzz/regressions/<target>/ (crashes the fuzzers found, kept after the
 * fix) and of the seed corpora fuzz/corpus/<target>/ through the very function each libFuzzer
 * target calls (fuzz/fuzz_<target>.c, compiled here without its LLVMFuzzerTestOneInput). A
 * broken property aborts, which fails the test; under REGSHIP_SANITIZE memory errors do too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define RS_FUZZ_NO_ENTRY 1
#include "../../../fuzz/fuzz_challenge.c"
#include "../../../fuzz/fuzz_common.c"
#include "../../../fuzz/fuzz_docker_archive.c"
#include "../../../fuzz/fuzz_dockercfg.c"
#include "../../../fuzz/fuzz_link.c"
#include "../../../fuzz/fuzz_manifest.c"
#include "../../../fuzz/fuzz_oci_layout.c"
#include "../../../fuzz/fuzz_ref.c"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*fuzz_body)(const uint8_t *data, size_t size);

/* The source tree: $REGSHIP_TEST_DATA is <src>/tests/data under ctest; else from __FILE__. */
static char *source_root(void)
{
	const char *data = getenv("REGSHIP_TEST_DATA");
	rs_buf b = RS_BUF_INIT;
	if (data && *data) {
		rs__buf_printf(&b, "%s/../..", data);
	} else {
		const char *slash = strrchr(__FILE__, '/');
		if (slash)
			rs__buf_printf(&b, "%.*s/../../..", (int)(slash - __FILE__), __FILE__);
		else
			rs__buf_puts(&b, "../../..");
	}
	return rs__buf_detach(&b);
}

/* Feed every regular file of <root>/<sub>/<target>/ to body; returns how many there were. */
static size_t replay_dir(const char *sub, const char *target, fuzz_body body)
{
	char *root = source_root();
	rs_buf dir = RS_BUF_INIT;
	struct dirent **names = NULL;
	size_t count = 0;
	int n;

	rs__buf_printf(&dir, "%s/fuzz/%s/%s", root, sub, target);
	n = scandir(dir.ptr, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		rs_buf path = RS_BUF_INIT, content = RS_BUF_INIT;
		if (names[i]->d_name[0] != '.') {
			rs__buf_printf(&path, "%s/%s", dir.ptr, names[i]->d_name);
			assert_int_equal(rs__file_read(&content, path.ptr, 16 * 1024 * 1024), 0);
			/* the fuzzer hands over exactly the bytes, not NUL-terminated */
			{
				uint8_t *copy = rs__malloc(content.size ? content.size : 1);
				if (content.size)
					memcpy(copy, content.ptr, content.size);
				assert_int_equal(body(copy, content.size), 0);
				free(copy);
			}
			count++;
		}
		rs_buf_dispose(&path);
		rs_buf_dispose(&content);
		free(names[i]);
	}
	free(names);
	rs_buf_dispose(&dir);
	free(root);
	return count;
}

static void replay(const char *target, fuzz_body body)
{
	/* regressions are optional (none until a crash is found); seeds are not */
	(void)replay_dir("regressions", target, body);
	assert_true(replay_dir("corpus", target, body) > 0);
	/* the empty input is every target's first one */
	assert_int_equal(body((const uint8_t *)"", 0), 0);
}

static void test_ref(void **state)
{
	(void)state;
	replay("ref", rs_fuzz_ref);
}

static void test_challenge(void **state)
{
	(void)state;
	replay("challenge", rs_fuzz_challenge);
}

static void test_link(void **state)
{
	(void)state;
	replay("link", rs_fuzz_link);
}

static void test_manifest(void **state)
{
	(void)state;
	replay("manifest", rs_fuzz_manifest);
}

static void test_dockercfg(void **state)
{
	(void)state;
	replay("dockercfg", rs_fuzz_dockercfg);
}

static void test_oci_layout(void **state)
{
	(void)state;
	replay("oci_layout", rs_fuzz_oci_layout);
}

static void test_docker_archive(void **state)
{
	(void)state;
	replay("docker_archive", rs_fuzz_docker_archive);
}

/* The helpers the targets rely on for safety do what they say. */
static void test_scratch_and_path(void **state)
{
	const char *dir = rs_fuzz_tmpdir();
	const char *path = getenv("PATH"), *tmp = getenv("TMPDIR");
	(void)state;
	assert_non_null(dir);
	assert_ptr_equal(dir, rs_fuzz_tmpdir());
	assert_non_null(path);
	assert_true(rs__str_startswith(path, dir));
	assert_null(strchr(path, ':'));
	assert_non_null(tmp);
	assert_true(rs__str_startswith(tmp, dir));
	/* a configured helper is not found on that PATH: the lookup fails cleanly */
	{
		static const char cfg[] =
		        "{\"credsStore\":\"sh\",\"credHelpers\":{\"gcr.io\":\"env\"}}";
		rs__credential cred = RS__CREDENTIAL_INIT;
		rs_buf p = RS_BUF_INIT;
		rs__buf_printf(&p, "%s/helper-config.json", dir);
		rs_fuzz_write_file(p.ptr, (const uint8_t *)cfg, sizeof(cfg) - 1);
		assert_int_equal(rs__cred_lookup(&cred, p.ptr, "gcr.io"), RS_EUNSUPPORTED);
		assert_int_equal(rs__cred_lookup(&cred, p.ptr, "docker.io"), RS_EUNSUPPORTED);
		assert_null(cred.password);
		rs_buf_dispose(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_scratch_and_path), cmocka_unit_test(test_ref),
	        cmocka_unit_test(test_challenge),        cmocka_unit_test(test_link),
	        cmocka_unit_test(test_manifest),         cmocka_unit_test(test_dockercfg),
	        cmocka_unit_test(test_oci_layout),       cmocka_unit_test(test_docker_archive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
