/* Tests of lib/image/prune_plan.c: how a version tag's suffix splits into a pre-release and a
 * variant line (rs__prune_suffix). The plan itself is tested against a registry in
 * tests/integration/prune.bats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "image/prune_internal.h"
#include "util/util.h"

/* expect SUFFIX LINE PRE: PRE NULL for a release */
static void expect(const char *suffix, const char *line, const char *pre)
{
	char *l = NULL, *p = NULL;

	assert_int_equal(rs__prune_suffix(suffix, &l, &p), 0);
	assert_non_null(l);
	if (strcmp(l, line))
		fail_msg("\"%s\": line \"%s\", expected \"%s\"", suffix ? suffix : "(none)", l,
		         line);
	if (!pre && p)
		fail_msg("\"%s\": pre-release \"%s\", expected a release", suffix, p);
	if (pre && (!p || strcmp(p, pre)))
		fail_msg("\"%s\": pre-release \"%s\", expected \"%s\"", suffix, p ? p : "(none)",
		         pre);
	free(l);
	free(p);
}

static void test_releases(void **state)
{
	(void)state;
	expect(NULL, "", NULL);
	expect("", "", NULL);
}

static void test_prereleases(void **state)
{
	(void)state;
	expect("rc.1", "", "rc.1");
	expect("rc1", "", "rc1");
	expect("RC1", "", "RC1");
	expect("beta2", "", "beta2");
	expect("alpha.3", "", "alpha.3");
	expect("0.3.7", "", "0.3.7");
	expect("1", "", "1");
	expect("a1", "", "a1");
	expect("b", "", "b");
	expect("m2", "", "m2");
	expect("Milestone.4", "", "Milestone.4");
	expect("ea", "", "ea");
	expect("SNAPSHOT", "", "SNAPSHOT");
	expect("pre", "", "pre");
	expect("preview.5", "", "preview.5");
	expect("dev.20250101", "", "dev.20250101");
	expect("canary", "", "canary");
	expect("nightly.2026-12-04", "", "nightly.2026-12-04");
	expect("next.0", "", "next.0");
	/* semver.org's examples stay pre-releases of the plain line */
	expect("alpha-beta.0.x-y", "", "alpha-beta.0.x-y");
	expect("beta.exp.sha.5114f85", "", "beta.exp.sha.5114f85");
	expect("rc.1.alpine", "", "rc.1.alpine");
	expect("rc-1", "", "rc-1");
}

static void test_variants(void **state)
{
	(void)state;
	expect("alpine", "alpine", NULL);
	expect("alpine3.18", "alpine3.18", NULL);
	expect("slim-bookworm", "slim-bookworm", NULL);
	expect("windowsservercore", "windowsservercore", NULL);
	expect("bookworm", "bookworm", NULL);
	expect("amd64", "amd64", NULL);
	expect("alphabet", "alphabet", NULL);
	expect("rcx", "rcx", NULL);
	/* a variant written first names the whole line */
	expect("alpine-rc.1", "alpine-rc.1", NULL);
}

static void test_prerelease_of_variant(void **state)
{
	(void)state;
	expect("rc.1-alpine", "alpine", "rc.1");
	expect("rc1-slim-bookworm", "slim-bookworm", "rc1");
	expect("beta.2.3-alpine3.18", "alpine3.18", "beta.2.3");
	expect("rc-1-alpine", "alpine", "rc-1");
	expect("0.3.7-alpine", "alpine", "0.3.7");
	expect("rc-beta-alpine", "", "rc-beta-alpine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_releases),
	        cmocka_unit_test(test_prereleases),
	        cmocka_unit_test(test_variants),
	        cmocka_unit_test(test_prerelease_of_variant),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
