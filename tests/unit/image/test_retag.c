/* Tests of lib/image/retag.c: the promotion plan (pure: decided by the digests the tags point
 * at), tag sorting and --latest, retag targets, and the checks made before anything is fetched
 * or written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regship/retag.h"
#include "util/util.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DA "sha256:aaaa"
#define DB "sha256:bbbb"
#define DC "sha256:cccc"
#define DX "sha256:xxxx"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static rs_promotion_plan *plan_of(const char *release, const char *suffix, const char *digest,
                                  const char *const *tags, const char *const *digests, size_t n,
                                  unsigned flags)
{
	rs_promotion_plan *p = NULL;
	assert_int_equal(
	        rs_promotion_plan_new(&p, release, suffix, digest, tags, digests, n, flags), 0);
	assert_non_null(p);
	assert_string_equal(p->version, release);
	assert_int_equal(p->count, 3);
	return p;
}

static const char *action_name(rs_retag_action a)
{
	static const char *const names[] = {"tag", "move", "keep", "already", "refuse"};
	return names[a];
}

/* step i: its tag, action and reason */
static void expect_step(const rs_promotion_plan *p, size_t i, const char *tag,
                        rs_retag_action action, const char *reason)
{
	const rs_promotion_step *s = &p->steps[i];
	assert_string_equal(s->tag, tag);
	if (s->action != action || strcmp(s->reason, reason))
		fail_msg("step %s: expected %s (%s), got %s (%s)", tag, action_name(action), reason,
		         action_name(s->action), s->reason);
}

static void expect_needed(const rs_promotion_plan *p, const char *const *tags, size_t n)
{
	if (p->nneeded != n)
		fail_msg("expected %zu tags needed, got %zu (first: %s)", n, p->nneeded,
		         p->nneeded ? p->needed[0] : "-");
	for (size_t i = 0; i < n; i++)
		assert_string_equal(p->needed[i], tags[i]);
}

static void test_plan_floating_tags_absent(void **state)
{
	const char *tags[] = {"2.1.105", "2.1.106", "2.0.9", "1.9.0"};
	rs_promotion_plan *p = plan_of("2.1.106", NULL, DA, tags, NULL, N(tags), 0);
	(void)state;
	expect_needed(p, NULL, 0);
	assert_false(p->refused);
	expect_step(p, 0, "2.1", RS_RETAG_MOVE, "it does not exist yet");
	expect_step(p, 1, "2", RS_RETAG_MOVE, "it does not exist yet");
	expect_step(p, 2, "latest", RS_RETAG_MOVE, "it does not exist yet");
	assert_null(p->steps[0].previous);
	rs_promotion_plan_free(p);
}

static void test_plan_absent_tag_not_created_behind_a_newer_release(void **state)
{
	const char *tags[] = {"1.10.3", "2.0.0", "1.9.0"};
	rs_promotion_plan *p = plan_of("1.10.3", NULL, DA, tags, NULL, N(tags), 0);
	(void)state;
	expect_needed(p, NULL, 0);
	expect_step(p, 0, "1.10", RS_RETAG_MOVE, "it does not exist yet");
	expect_step(p, 1, "1", RS_RETAG_MOVE, "it does not exist yet");
	expect_step(p, 2, "latest", RS_RETAG_KEEP,
	            "it does not exist, and 2.0.0 is newer (promote that to create it)");
	rs_promotion_plan_free(p);
}

static void test_plan_asks_for_floating_tags_first(void **state)
{
	const char *tags[] = {"2.1.105", "2.1.106", "2.1.107", "2.1", "latest", "nightly"};
	const char *const needed[] = {"2.1", "latest"};
	rs_promotion_plan *p = plan_of("2.1.106", NULL, DA, tags, NULL, N(tags), 0);
	(void)state;
	/* 2 is not among the tags (2.1.107 is newer: not created); 2.1 and latest are looked
	 * up, no release yet */
	expect_needed(p, needed, N(needed));
	expect_step(p, 1, "2", RS_RETAG_KEEP,
	            "it does not exist, and 2.1.107 is newer (promote that to create it)");
	rs_promotion_plan_free(p);
}

static void test_plan_decides_by_digest(void **state)
{
	/* 2.1 and 2 on 2.1.105 (older): move; latest on 2.3.0's manifest (newer): kept */
	const char *tags[] = {"2.1.105", "2.1.106", "2.3.0", "2.1", "2", "latest"};
	const char *digests[] = {DB, NULL, DC, DB, DB, DC};
	rs_promotion_plan *p = plan_of("2.1.106", NULL, DA, tags, digests, N(tags), 0);
	(void)state;
	expect_needed(p, NULL, 0);
	expect_step(p, 0, "2.1", RS_RETAG_MOVE, "it points at 2.1.105, older than 2.1.106");
	expect_step(p, 1, "2", RS_RETAG_MOVE, "it points at 2.1.105, older than 2.1.106");
	expect_step(p, 2, "latest", RS_RETAG_KEEP, "it points at 2.3.0, which is newer");
	assert_string_equal(p->steps[2].previous, DC);
	assert_string_equal(p->steps[2].holder, "2.3.0");
	rs_promotion_plan_free(p);
}

static void test_plan_already(void **state)
{
	const char *tags[] = {"2.1.106", "2.1", "2", "latest"};
	const char *digests[] = {NULL, DA, DA, DA};
	rs_promotion_plan *p = plan_of("2.1.106", NULL, DA, tags, digests, N(tags), 0);
	(void)state;
	expect_needed(p, NULL, 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(p->steps[i].action, RS_RETAG_ALREADY);
	expect_step(p, 0, "2.1", RS_RETAG_ALREADY, "already at 2.1.106");
	rs_promotion_plan_free(p);
}

/* The case: 2.1.107 was untagged, 2.1/2/latest still point at its manifest. */
static void test_plan_refuses_untagged_manifest(void **state)
{
	const char *tags[] = {"2.1.105", "2.1.106", "2.1", "2", "latest"};
	const char *digests[] = {DB, NULL, DX, DX, DX};
	rs_promotion_plan *p = plan_of("2.1.106", NULL, DA, tags, digests, N(tags), 0);
	(void)state;
	expect_needed(p, NULL, 0);
	assert_true(p->refused);
	expect_step(p, 0, "2.1", RS_RETAG_REFUSE,
	            "it points at " DX ", which no 2.1.z release points at (was that release "
	            "untagged?); --force moves it anyway");
	expect_step(p, 2, "latest", RS_RETAG_REFUSE,
	            "it points at " DX ", which no release points at (was that release "
	            "untagged?); --force moves it anyway");
	rs_promotion_plan_free(p);

	p = plan_of("2.1.106", NULL, DA, tags, digests, N(tags), RS_PROMOTE_FORCE);
	assert_false(p->refused);
	expect_step(p, 1, "2", RS_RETAG_MOVE,
	            "forced: it points at " DX ", which no 2.y.z release points at");
	rs_promotion_plan_free(p);
}

static void test_plan_releases_looked_up_highest_first_and_bounded(void **state)
{
	char *tags[60];
	const char *digests[60] = {0};
	rs_promotion_plan *p;
	(void)state;
	for (size_t i = 0; i < 50; i++) {
		char b[32];
		snprintf(b, sizeof(b), "2.1.%zu", i);
		tags[i] = strdup(b);
	}
	for (size_t i = 50; i < 60; i++) {
		char b[32];
		snprintf(b, sizeof(b), "1.0.%zu", i);
		tags[i] = strdup(b);
	}
	free(tags[0]);
	tags[0] = strdup("2.1");
	digests[0] = DX;
	p = plan_of("2.1.30", NULL, DA, (const char *const *)tags, digests, 60,
	            RS_PROMOTE_NO_LATEST);
	/* 2 and latest aside (they do not exist, and newer releases do), 2.1 needs its line from
	 * the top: first the highest release only */
	expect_needed(p, (const char *const[]){"2.1.49"}, 1);
	rs_promotion_plan_free(p);
	/* then as many as are known, at most 16 (2.1.30 itself is not looked up) */
	digests[49] = "";
	p = plan_of("2.1.30", NULL, DA, (const char *const *)tags, digests, 60,
	            RS_PROMOTE_NO_LATEST);
	expect_needed(p, (const char *const[]){"2.1.48"}, 1);
	rs_promotion_plan_free(p);
	for (size_t i = 48; i > 32; i--)
		digests[i] = "";
	p = plan_of("2.1.30", NULL, DA, (const char *const *)tags, digests, 60,
	            RS_PROMOTE_NO_LATEST);
	assert_int_equal(p->nneeded, 16);
	assert_string_equal(p->needed[0], "2.1.32");
	assert_string_equal(p->needed[1], "2.1.31");
	assert_string_equal(p->needed[2], "2.1.29");
	assert_string_equal(p->needed[15], "2.1.16");
	rs_promotion_plan_free(p);
	for (size_t i = 48; i > 32; i--)
		digests[i] = NULL;
	/* 2.1.49 holds it: decided without the others */
	digests[49] = DX;
	p = plan_of("2.1.30", NULL, DA, (const char *const *)tags, digests, 60,
	            RS_PROMOTE_NO_LATEST);
	expect_needed(p, NULL, 0);
	expect_step(p, 0, "2.1", RS_RETAG_KEEP, "it points at 2.1.49, which is newer");
	expect_step(p, 2, "latest", RS_RETAG_KEEP, "asked to leave it alone");
	rs_promotion_plan_free(p);
	for (size_t i = 0; i < 60; i++)
		free(tags[i]);
}

static void test_plan_lookups_bounded_per_line(void **state)
{
	enum { NT = 400 };
	char *tags[NT + 1];
	const char *digests[NT + 1] = {0};
	rs_promotion_plan *p;
	(void)state;
	for (size_t i = 0; i < NT; i++) {
		char b[32];
		snprintf(b, sizeof(b), "2.1.%zu", i + 1);
		tags[i] = strdup(b);
		digests[i] = i >= NT - 256 ? "" : NULL; /* the newest 256 are known, none holds */
	}
	tags[NT] = strdup("2.1");
	digests[NT] = DX;
	p = plan_of("2.1.0", NULL, DA, (const char *const *)tags, digests, NT + 1,
	            RS_PROMOTE_NO_LATEST);
	expect_needed(p, NULL, 0);
	assert_int_equal(p->steps[0].action, RS_RETAG_REFUSE);
	rs_promotion_plan_free(p);
	for (size_t i = 0; i <= NT; i++)
		free(tags[i]);
}

static void test_plan_variants(void **state)
{
	const char *tags[] = {
	        "2.1.106-alpine", "2.1.107", "2.1.105-alpine", "2.1-alpine", "2-alpine",
	        "alpine",         "2.1",     "latest"};
	const char *digests[] = {NULL, DC, DB, DB, DB, DX, DC, DC};
	rs_promotion_plan *p = plan_of("2.1.106-alpine", "alpine", DA, tags, digests, N(tags), 0);
	(void)state;
	expect_step(p, 0, "2.1-alpine", RS_RETAG_MOVE,
	            "it points at 2.1.105-alpine, older than 2.1.106-alpine");
	expect_step(p, 1, "2-alpine", RS_RETAG_MOVE,
	            "it points at 2.1.105-alpine, older than 2.1.106-alpine");
	/* the plain 2.1.107 does not count for the alpine variant */
	expect_step(p, 2, "alpine", RS_RETAG_REFUSE,
	            "it points at " DX ", which no alpine release points at (was that release "
	            "untagged?); --force moves it anyway");
	rs_promotion_plan_free(p);
}

static void test_plan_v_prefix(void **state)
{
	/* v2.1 is held only by v-releases; latest by any */
	const char *tags[] = {"v2.1.3", "2.1.5", "v2.1", "latest"};
	const char *digests[] = {NULL, DB, DB, DB};
	rs_promotion_plan *p = plan_of("v2.1.3", NULL, DA, tags, digests, N(tags), 0);
	(void)state;
	assert_string_equal(p->steps[0].tag, "v2.1");
	assert_string_equal(p->steps[1].tag, "v2");
	assert_int_equal(p->steps[0].action, RS_RETAG_REFUSE);
	expect_step(p, 1, "v2", RS_RETAG_MOVE, "it does not exist yet");
	expect_step(p, 2, "latest", RS_RETAG_KEEP, "it points at 2.1.5, which is newer");
	rs_promotion_plan_free(p);
}

static void test_plan_pre_releases_never_hold(void **state)
{
	const char *tags[] = {"2.1.106", "2.1.107-rc.1", "2.1"};
	const char *digests[] = {NULL, DB, DB};
	rs_promotion_plan *p = plan_of("2.1.106", NULL, DA, tags, digests, N(tags), 0);
	(void)state;
	assert_int_equal(p->steps[0].action, RS_RETAG_REFUSE);
	rs_promotion_plan_free(p);
}

static void expect_refused(const char *release, const char *suffix, const char *why)
{
	rs_promotion_plan *p = (rs_promotion_plan *)1;
	assert_int_equal(rs_promotion_check(release, suffix), RS_EINVAL);
	if (!strstr(rs_error_last()->message, why))
		fail_msg("%s: \"%s\" lacks \"%s\"", release, rs_error_last()->message, why);
	assert_int_equal(rs_promotion_plan_new(&p, release, suffix, DA, NULL, NULL, 0, 0),
	                 RS_EINVAL);
	assert_null(p);
}

static void test_check(void **state)
{
	(void)state;
	assert_int_equal(rs_promotion_check("2.1.106", NULL), 0);
	assert_int_equal(rs_promotion_check("v2.1.106-alpine", "alpine"), 0);
	assert_int_equal(rs_promotion_check("2.1.106-slim-bookworm", "slim-bookworm"), 0);
	expect_refused("2.1.106-alpine", NULL,
	               "if \"alpine\" names a variant, use --suffix alpine");
	expect_refused("2.1.106-rc.1", NULL, "it is a pre-release");
	expect_refused("2.1.106-rc.1-alpine", "alpine", "2.1.106-rc.1 is a pre-release");
	expect_refused("2.1.106", "alpine", "its tag does not end in \"-alpine\"");
	expect_refused("alpine", "alpine", "does not end in");
	expect_refused("2.1.106-alpine", "-x", "invalid --suffix \"-x\"");
	expect_refused("2.1.106-1.2.3", "1.2.3", "invalid --suffix");
	expect_refused("2.1.106-1", "1", "starting with a letter");
	expect_refused("2.1.106-v2", "v2", "invalid --suffix");
	assert_int_equal(rs_promotion_check("2.1.106-vivid", "vivid"), 0);
	expect_refused("nightly", NULL, "\"nightly\" is not a semantic version");
	expect_refused("2.1", NULL, "cannot promote 2.1: it is not a release");
	expect_refused("02.1.0", NULL, "leading zero");
	expect_refused("", NULL, "no release");
	assert_int_equal(rs_promotion_plan_new(NULL, "1.0.0", NULL, DA, NULL, NULL, 0, 0),
	                 RS_EINVAL);
	rs_promotion_plan_free(NULL);
}

/* ---- tag lists ---- */

static void test_sort_semver(void **state)
{
	const char *in[] = {"latest", "2.1.0-rc.1",   "10.0.0",     "2.1.0",
	                    "v2.1.0", "2.0.9",        "2.1.0-rc.2", "2.1",
	                    "alpha",  "2.1.0-alpine", "1.9.10",     "1.9.9"};
	const char *want[] = {"10.0.0",     "2.1.0",        "v2.1.0", "2.1.0-rc.2",
	                      "2.1.0-rc.1", "2.1.0-alpine", "2.0.9",  "1.9.10",
	                      "1.9.9",      "2.1",          "alpha",  "latest"};
	char *tags[N(in)];
	(void)state;
	for (size_t i = 0; i < N(in); i++)
		tags[i] = (char *)in[i];
	rs_tags_sort_semver(tags, N(in));
	for (size_t i = 0; i < N(in); i++)
		if (strcmp(tags[i], want[i]))
			fail_msg("position %zu: expected %s, got %s", i, want[i], tags[i]);
	rs_tags_sort_semver(NULL, 0);
}

static void test_latest(void **state)
{
	const char *tags[] = {"2.1.9",      "2.1.10", "2.1.11-rc.1", "2.2.0", "v2.1.12",
	                      "3.0.0-rc.1", "latest", "2.1",         "1.0.0"};
	const char *got = NULL;
	(void)state;
	assert_int_equal(rs_tags_latest(&got, tags, N(tags), NULL), 0);
	assert_string_equal(got, "2.2.0");
	assert_int_equal(rs_tags_latest(&got, tags, N(tags), "2.1"), 0);
	assert_string_equal(got, "2.1.10");
	assert_int_equal(rs_tags_latest(&got, tags, N(tags), "v2"), 0);
	assert_string_equal(got, "v2.1.12");
	assert_int_equal(rs_tags_latest(&got, tags, N(tags), "1"), 0);
	assert_string_equal(got, "1.0.0");
	assert_int_equal(rs_tags_latest(&got, tags, N(tags), "2.1.9"), 0);
	assert_string_equal(got, "2.1.9");
	assert_int_equal(rs_tags_latest(&got, tags, N(tags), "3"), RS_ENOTFOUND);
	assert_null(got);
	assert_non_null(strstr(rs_error_last()->message, "no release on the line 3 among 9 tags"));
	assert_int_equal(rs_tags_latest(&got, tags, N(tags), "2.x"), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "\"2.x\" is not a version line"));
	assert_int_equal(rs_tags_latest(&got, tags, N(tags), "2.1.3.4"), RS_EINVAL);
	assert_int_equal(rs_tags_latest(&got, tags, N(tags), ""), RS_EINVAL);
	assert_int_equal(rs_tags_latest(&got, NULL, 0, NULL), RS_ENOTFOUND);
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
	assert_non_null(strstr(rs_error_last()->message, "or name the release with --release"));
	rs_ref_free(src);

	assert_int_equal(rs_ref_parse(&src, "127.0.0.1:1/app:1.2.3", 0), 0);
	assert_int_not_equal(rs_retag_promote(&r, c, src, NULL), RS_EINVAL);
	rs_ref_free(src);
	rs_client_free(c);
}

/* A registry may list names that are no valid tags: they are not asked for (an offline client
 * would fail), and count as not found. */
static void test_tags_digests_skips_invalid_names(void **state)
{
	rs_client *c = offline_client();
	rs_ref *repo = NULL;
	char **d = (char **)1;
	const char *tags[] = {"../../x", "has space", "", "-lead"};
	(void)state;
	assert_int_equal(rs_ref_parse(&repo, "127.0.0.1:1/app", 0), 0);
	assert_int_equal(rs_tags_digests(&d, c, repo, tags, N(tags)), 0);
	for (size_t i = 0; i < N(tags); i++)
		assert_null(d[i]);
	free(d);
	assert_int_equal(rs_tags_digests(&d, c, repo, NULL, 0), 0);
	free(d);
	/* a valid one is asked for: the unreachable registry is an error, nothing returned */
	{
		const char *one[] = {"ok", "../x"};
		assert_int_not_equal(rs_tags_digests(&d, c, repo, one, 2), 0);
		assert_null(d);
	}
	rs_ref_free(repo);
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
	        cmocka_unit_test(test_plan_floating_tags_absent),
	        cmocka_unit_test(test_plan_absent_tag_not_created_behind_a_newer_release),
	        cmocka_unit_test(test_plan_asks_for_floating_tags_first),
	        cmocka_unit_test(test_plan_decides_by_digest),
	        cmocka_unit_test(test_plan_already),
	        cmocka_unit_test(test_plan_refuses_untagged_manifest),
	        cmocka_unit_test(test_plan_releases_looked_up_highest_first_and_bounded),
	        cmocka_unit_test(test_plan_lookups_bounded_per_line),
	        cmocka_unit_test(test_plan_variants),
	        cmocka_unit_test(test_plan_v_prefix),
	        cmocka_unit_test(test_plan_pre_releases_never_hold),
	        cmocka_unit_test(test_check),
	        cmocka_unit_test(test_sort_semver),
	        cmocka_unit_test(test_latest),
	        cmocka_unit_test(test_targets),
	        cmocka_unit_test(test_retag_refuses_before_fetching),
	        cmocka_unit_test(test_promote_refuses_before_fetching),
	        cmocka_unit_test(test_tags_digests_skips_invalid_names),
	        cmocka_unit_test(test_untag_refuses_a_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
