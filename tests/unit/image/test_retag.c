/* Tests of lib/image/retag.c: the promotion plan (pure), retag targets, and the checks made
 * before anything is fetched or written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "regship/retag.h"
#include "util/util.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static rs_promotion_plan *plan_of(const char *version, const char *const *tags, size_t n,
                                  unsigned flags)
{
	rs_promotion_plan *p = NULL;
	assert_int_equal(rs_promotion_plan_new(&p, version, tags, n, flags), 0);
	assert_non_null(p);
	assert_string_equal(p->version, version);
	assert_int_equal(p->count, 3);
	return p;
}

/* step i: its tag, move or keep, the reason, and the newer tag (NULL: none) */
static void expect_step(const rs_promotion_plan *p, size_t i, const char *tag, int move,
                        const char *reason, const char *newer)
{
	const rs_promotion_step *s = &p->steps[i];
	assert_string_equal(s->tag, tag);
	if (s->move != move)
		fail_msg("step %s: expected %s (%s), got %s (%s)", tag, move ? "move" : "keep",
		         reason, s->move ? "move" : "keep", s->reason);
	assert_string_equal(s->reason, reason);
	if (newer)
		assert_string_equal(s->newer, newer);
	else
		assert_null(s->newer);
}

static void test_plan_all_move(void **state)
{
	const char *tags[] = {"2.1.105", "2.1.106", "2.0.9", "1.9.0", "latest", "2.1", "2"};
	rs_promotion_plan *p = plan_of("2.1.106", tags, N(tags), 0);
	(void)state;
	assert_false(p->prerelease);
	expect_step(p, 0, "2.1", 1, "2.1.106 is the highest 2.1.z", NULL);
	expect_step(p, 1, "2", 1, "2.1.106 is the highest 2.y.z", NULL);
	expect_step(p, 2, "latest", 1, "2.1.106 is the highest release", NULL);
	rs_promotion_plan_free(p);
}

static void test_plan_newer_patch_holds_everything(void **state)
{
	const char *tags[] = {"2.1.106", "2.1.108", "2.1.107", "2.1.110", "2.1.109"};
	rs_promotion_plan *p = plan_of("2.1.106", tags, N(tags), 0);
	(void)state;
	/* the highest newer release is named, not the first one found */
	expect_step(p, 0, "2.1", 0, "2.1.110 is newer", "2.1.110");
	expect_step(p, 1, "2", 0, "2.1.110 is newer", "2.1.110");
	expect_step(p, 2, "latest", 0, "2.1.110 is newer", "2.1.110");
	rs_promotion_plan_free(p);
}

static void test_plan_newer_minor_and_major(void **state)
{
	const char *minor[] = {"2.1.106", "2.3.0", "2.2.7"};
	const char *major[] = {"2.1.106", "3.0.0", "1.0.0"};
	rs_promotion_plan *p = plan_of("2.1.106", minor, N(minor), 0);
	(void)state;
	expect_step(p, 0, "2.1", 1, "2.1.106 is the highest 2.1.z", NULL);
	expect_step(p, 1, "2", 0, "2.3.0 is newer", "2.3.0");
	expect_step(p, 2, "latest", 0, "2.3.0 is newer", "2.3.0");
	rs_promotion_plan_free(p);

	p = plan_of("2.1.106", major, N(major), 0);
	expect_step(p, 0, "2.1", 1, "2.1.106 is the highest 2.1.z", NULL);
	expect_step(p, 1, "2", 1, "2.1.106 is the highest 2.y.z", NULL);
	expect_step(p, 2, "latest", 0, "3.0.0 is newer", "3.0.0");
	rs_promotion_plan_free(p);
}

/* a hotfix of an old line moves that line's tags and nothing else */
static void test_plan_old_line_hotfix(void **state)
{
	const char *tags[] = {"1.9.0", "1.9.1", "1.10.2", "2.0.0", "2.4.1"};
	rs_promotion_plan *p = plan_of("1.10.3", tags, N(tags), 0);
	(void)state;
	expect_step(p, 0, "1.10", 1, "1.10.3 is the highest 1.10.z", NULL);
	expect_step(p, 1, "1", 1, "1.10.3 is the highest 1.y.z", NULL);
	expect_step(p, 2, "latest", 0, "2.4.1 is newer", "2.4.1");
	rs_promotion_plan_free(p);

	/* 1.9.2 is older than 1.10.2: numbers, not text, decide */
	p = plan_of("1.9.2", tags, N(tags), 0);
	expect_step(p, 0, "1.9", 1, "1.9.2 is the highest 1.9.z", NULL);
	expect_step(p, 1, "1", 0, "1.10.2 is newer", "1.10.2");
	rs_promotion_plan_free(p);
}

static void test_plan_prereleases(void **state)
{
	/* a newer pre-release never holds a release back */
	const char *tags[] = {"2.1.106", "2.1.107-rc.1", "2.2.0-beta", "3.0.0-alpha.1"};
	rs_promotion_plan *p = plan_of("2.1.106", tags, N(tags), 0);
	(void)state;
	expect_step(p, 0, "2.1", 1, "2.1.106 is the highest 2.1.z", NULL);
	expect_step(p, 1, "2", 1, "2.1.106 is the highest 2.y.z", NULL);
	expect_step(p, 2, "latest", 1, "2.1.106 is the highest release", NULL);
	rs_promotion_plan_free(p);

	/* and a pre-release is never promoted, even when it is the highest thing there */
	p = plan_of("3.0.0-alpha.1", tags, N(tags), 0);
	assert_true(p->prerelease);
	expect_step(p, 0, "3.0", 0, "3.0.0-alpha.1 is a pre-release", NULL);
	expect_step(p, 1, "3", 0, "3.0.0-alpha.1 is a pre-release", NULL);
	expect_step(p, 2, "latest", 0, "3.0.0-alpha.1 is a pre-release", NULL);
	rs_promotion_plan_free(p);
}

static void test_plan_v_prefix(void **state)
{
	const char *tags[] = {"v2.1.3", "2.1.5", "2.2.0"};
	const char *vtags[] = {"2.1.3", "v2.1.5", "v2.0.0"};
	rs_promotion_plan *p = plan_of("v2.1.3", tags, N(tags), 0);
	(void)state;
	/* v2.1.3 moves v2.1 and v2; plain 2.x releases do not hold them back, but latest is
	 * shared by both spellings */
	expect_step(p, 0, "v2.1", 1, "v2.1.3 is the highest v2.1.z", NULL);
	expect_step(p, 1, "v2", 1, "v2.1.3 is the highest v2.y.z", NULL);
	expect_step(p, 2, "latest", 0, "2.2.0 is newer", "2.2.0");
	rs_promotion_plan_free(p);

	p = plan_of("2.1.3", vtags, N(vtags), 0);
	expect_step(p, 0, "2.1", 1, "2.1.3 is the highest 2.1.z", NULL);
	expect_step(p, 1, "2", 1, "2.1.3 is the highest 2.y.z", NULL);
	expect_step(p, 2, "latest", 0, "v2.1.5 is newer", "v2.1.5");
	rs_promotion_plan_free(p);

	/* within the v family the order is the usual one */
	p = plan_of("v2.0.0", vtags, N(vtags), 0);
	expect_step(p, 0, "v2.0", 1, "v2.0.0 is the highest v2.0.z", NULL);
	expect_step(p, 1, "v2", 0, "v2.1.5 is newer", "v2.1.5");
	rs_promotion_plan_free(p);
}

static void test_plan_ignores_non_semver(void **state)
{
	const char *tags[] = {"latest",    "stable",       "2.1",      "2",
	                      "v2.1",      "2.1.200x",     "02.1.9",   "2.1.300_rc",
	                      "2.1.400.1", "main-2.1.500", "V2.1.600", NULL};
	rs_promotion_plan *p = plan_of("2.1.106", tags, N(tags), 0);
	(void)state;
	expect_step(p, 0, "2.1", 1, "2.1.106 is the highest 2.1.z", NULL);
	expect_step(p, 1, "2", 1, "2.1.106 is the highest 2.y.z", NULL);
	expect_step(p, 2, "latest", 1, "2.1.106 is the highest release", NULL);
	rs_promotion_plan_free(p);
	/* no tags at all */
	p = plan_of("0.1.0", NULL, 0, 0);
	expect_step(p, 0, "0.1", 1, "0.1.0 is the highest 0.1.z", NULL);
	expect_step(p, 1, "0", 1, "0.1.0 is the highest 0.y.z", NULL);
	expect_step(p, 2, "latest", 1, "0.1.0 is the highest release", NULL);
	rs_promotion_plan_free(p);
}

static void test_plan_idempotent(void **state)
{
	/* promoting the highest version again moves the same tags again; an equal version in
	 * the other spelling is not newer */
	const char *tags[] = {"2.1.106", "v2.1.106", "2.1.105", "2.1", "2", "latest"};
	rs_promotion_plan *a = plan_of("2.1.106", tags, N(tags), 0);
	rs_promotion_plan *b = plan_of("2.1.106", tags, N(tags), 0);
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(a->steps[i].move, 1);
		assert_int_equal(b->steps[i].move, 1);
		assert_string_equal(a->steps[i].tag, b->steps[i].tag);
		assert_string_equal(a->steps[i].reason, b->steps[i].reason);
	}
	rs_promotion_plan_free(a);
	rs_promotion_plan_free(b);
}

static void test_plan_no_latest(void **state)
{
	const char *tags[] = {"2.1.106", "3.0.0"};
	rs_promotion_plan *p = plan_of("2.1.106", tags, 1, RS_PROMOTE_NO_LATEST);
	(void)state;
	expect_step(p, 0, "2.1", 1, "2.1.106 is the highest 2.1.z", NULL);
	expect_step(p, 1, "2", 1, "2.1.106 is the highest 2.y.z", NULL);
	expect_step(p, 2, "latest", 0, "asked to leave it alone", NULL);
	rs_promotion_plan_free(p);
	/* a newer release does not change the reason */
	p = plan_of("2.1.106", tags, 2, RS_PROMOTE_NO_LATEST);
	expect_step(p, 2, "latest", 0, "asked to leave it alone", NULL);
	rs_promotion_plan_free(p);
}

static void test_plan_invalid_version(void **state)
{
	const char *bad[] = {"latest", "2.1", "v2", "2.1.3.4", "2.01.3", "", "1.2.3-"};
	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		rs_promotion_plan *p = (rs_promotion_plan *)1;
		assert_int_equal(rs_promotion_plan_new(&p, bad[i], NULL, 0, 0), RS_EINVAL);
		assert_null(p);
		assert_non_null(strstr(rs_error_last()->message, "is not a semantic version"));
	}
	assert_int_equal(rs_promotion_plan_new(NULL, "1.0.0", NULL, 0, 0), RS_EINVAL);
	rs_promotion_plan_free(NULL);
}

/* ---- targets ---- */

static rs_ref *src_ref(void)
{
	rs_ref *r = NULL;
	assert_int_equal(rs_ref_parse(&r, "registry.local:5000/gallery/ui:2.1.106", 0), 0);
	return r;
}

static void expect_target(const char *text, const char *full)
{
	rs_ref *src = src_ref(), *t = NULL;
	char *s;
	assert_int_equal(rs_retag_target(&t, src, text), 0);
	s = rs_ref_format(t);
	assert_string_equal(s, full);
	free(s);
	rs_ref_free(t);
	rs_ref_free(src);
}

static void expect_bad_target(const char *text, const char *why)
{
	rs_ref *src = src_ref(), *t = (rs_ref *)1;
	assert_int_equal(rs_retag_target(&t, src, text), RS_EINVAL);
	assert_null(t);
	if (!strstr(rs_error_last()->message, why))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", text, rs_error_last()->message,
		         why);
	rs_ref_free(src);
}

static void test_targets(void **state)
{
	char long_tag[131];
	(void)state;
	expect_target("1.0", "registry.local:5000/gallery/ui:1.0");
	expect_target("UPPER_case-1.x", "registry.local:5000/gallery/ui:UPPER_case-1.x");
	expect_target("registry.local:5000/gallery/other:1.0",
	              "registry.local:5000/gallery/other:1.0");
	expect_target("docker://registry.local:5000/x:y", "registry.local:5000/x:y");

	expect_bad_target("-bad", "invalid tag \"-bad\"");
	expect_bad_target(".x", "invalid tag \".x\"");
	expect_bad_target("has space", "invalid tag \"has space\"");
	memset(long_tag, 'a', 129);
	long_tag[129] = '\0';
	expect_bad_target(long_tag, "invalid tag");
	expect_bad_target("", "invalid tag");
	expect_bad_target("other:1.0", "it is on docker.io, not registry.local:5000");
	expect_bad_target("quay.io/a/b:1", "it is on quay.io, not registry.local:5000");
	expect_bad_target("registry.local:5000/gallery/other", "it names no tag");
	expect_bad_target("registry.local:5000/gallery/other@sha256:" HEX64,
	                  "a new tag cannot carry a digest");
	expect_bad_target("registry.local:5000/Gallery/other:1", "invalid reference");
	expect_bad_target("registry.local:5000/gallery/other:-1", "invalid");
}

/* ---- checks made before any request ---- */

/* A client for a registry nothing listens on: any request would fail with RS_ENET, so an
 * RS_EINVAL proves the argument was refused before anything was sent. */
static rs_client *offline_client(void)
{
	rs_client_options o = RS_CLIENT_OPTIONS_INIT;
	rs_client *c = NULL;
	o.docker_config = "/nonexistent/regship-test/config.json";
	o.insecure = 1;
	assert_int_equal(rs_client_new(&c, &o), 0);
	return c;
}

static void test_retag_refuses_before_fetching(void **state)
{
	rs_client *c = offline_client();
	rs_ref *src = NULL, *t1 = NULL, *t2 = NULL, *other = NULL;
	rs_retag_result *r = (rs_retag_result *)1;
	rs_retag_options o = RS_RETAG_OPTIONS_INIT;
	(void)state;

	assert_int_equal(rs_ref_parse(&src, "127.0.0.1:1/app:1.0", 0), 0);
	assert_int_equal(rs_ref_with_tag(&t1, src, "ok"), 0);
	assert_int_equal(rs_ref_dup(&t2, src), 0);
	free(t2->tag);
	t2->tag = strdup("bad tag");
	{
		const rs_ref *targets[] = {t1, t2};
		assert_int_equal(rs_retag(&r, c, src, targets, 2, NULL), RS_EINVAL);
		assert_null(r);
		assert_non_null(strstr(rs_error_last()->message, "invalid tag \"bad tag\""));
	}
	/* another registry */
	assert_int_equal(rs_ref_parse(&other, "127.0.0.2:1/app:x", 0), 0);
	{
		const rs_ref *targets[] = {t1, other};
		assert_int_equal(rs_retag(&r, c, src, targets, 2, NULL), RS_EINVAL);
		assert_non_null(strstr(rs_error_last()->message, "stays within one registry"));
	}
	/* nothing to do, or a bad options version */
	assert_int_equal(rs_retag(&r, c, src, NULL, 0, NULL), RS_EINVAL);
	o.version = 99;
	{
		const rs_ref *targets[] = {t1};
		assert_int_equal(rs_retag(&r, c, src, targets, 1, &o), RS_EINVAL);
		assert_non_null(strstr(rs_error_last()->message, "version 99"));
		/* and with good arguments the (unreachable) registry is asked: not EINVAL */
		assert_int_not_equal(rs_retag(&r, c, src, targets, 1, NULL), RS_EINVAL);
		assert_int_not_equal(rs_retag(&r, c, src, targets, 1, NULL), 0);
	}
	rs_ref_free(src);
	rs_ref_free(t1);
	rs_ref_free(t2);
	rs_ref_free(other);
	rs_client_free(c);
}

static void test_promote_refuses_before_fetching(void **state)
{
	rs_client *c = offline_client();
	rs_ref *src = NULL;
	rs_retag_result *r = (rs_retag_result *)1;
	(void)state;

	assert_int_equal(rs_ref_parse(&src, "127.0.0.1:1/app:latest", 0), 0);
	assert_int_equal(rs_retag_promote(&r, c, src, NULL), RS_EINVAL);
	assert_null(r);
	assert_non_null(strstr(rs_error_last()->message, "\"latest\" is not a semantic version"));
	rs_ref_free(src);

	assert_int_equal(rs_ref_parse(&src, "127.0.0.1:1/app@sha256:" HEX64, 0), 0);
	assert_int_equal(rs_retag_promote(&r, c, src, NULL), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "not only a digest"));
	rs_ref_free(src);

	assert_int_equal(rs_ref_parse(&src, "127.0.0.1:1/app:1.2.3", 0), 0);
	assert_int_not_equal(rs_retag_promote(&r, c, src, NULL), RS_EINVAL);
	rs_ref_free(src);
	rs_client_free(c);
}

static void test_untag_refuses_a_digest(void **state)
{
	rs_client *c = offline_client();
	rs_ref *src = NULL;
	rs_untag_result *r = (rs_untag_result *)1;
	(void)state;

	assert_int_equal(rs_ref_parse(&src, "127.0.0.1:1/app:v1@sha256:" HEX64, 0), 0);
	assert_int_equal(rs_untag(&r, c, src), RS_EINVAL);
	assert_null(r);
	assert_non_null(strstr(rs_error_last()->message, "name one without a digest"));
	rs_ref_free(src);
	rs_untag_result_free(NULL);
	rs_retag_result_free(NULL);
	rs_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_plan_all_move),
	        cmocka_unit_test(test_plan_newer_patch_holds_everything),
	        cmocka_unit_test(test_plan_newer_minor_and_major),
	        cmocka_unit_test(test_plan_old_line_hotfix),
	        cmocka_unit_test(test_plan_prereleases),
	        cmocka_unit_test(test_plan_v_prefix),
	        cmocka_unit_test(test_plan_ignores_non_semver),
	        cmocka_unit_test(test_plan_idempotent),
	        cmocka_unit_test(test_plan_no_latest),
	        cmocka_unit_test(test_plan_invalid_version),
	        cmocka_unit_test(test_targets),
	        cmocka_unit_test(test_retag_refuses_before_fetching),
	        cmocka_unit_test(test_promote_refuses_before_fetching),
	        cmocka_unit_test(test_untag_refuses_a_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
