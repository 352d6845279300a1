/*
 * The out-of-memory walk shared by the unit tests that fail allocations one by one
 * (tests/unit/util/test_oom.c, tests/unit/image/test_oom_steps.c).
 *
 * An operation runs again and again with the k-th allocation failing (rs__alloc_fail_at),
 * k = 1, 2, ..., until a run with no failure injected succeeds. Every run with a failure must
 * return RS_ENOMEM with the error record saying RS_ENOMEM too, and (under ASan/LSan and
 * valgrind) crash nothing and leak nothing.
 *
 * Debugging aids: OOM_OP=op_name runs that walk only (the others pass), from OOM_FROM=k on;
 * e.g. under gdb with a breakpoint in lib/util/alloc.c's injected_failure().
 */
#ifndef RS_TEST_UNIT_TESTOOM_H
#define RS_TEST_UNIT_TESTOOM_H

#include "testutil.h"

/* One run of an operation: 0 on success, else an error code. It frees what it made either way. */
typedef int (*test_oom_op)(void *ctx);

/* Set when the failed allocation was jansson's, for a test that routes jansson through
 * rs__malloc (json_set_alloc_funcs(test_oom_json_alloc, free)). jansson 2.14's parser reports
 * some failed allocations (a token's string) as a syntax error ("string or '}' expected"), and
 * its lexer ignores a failed append to the token being read (lex_save), so a string can come out
 * one byte short: nobody can tell that from bad input. For those runs any result is accepted
 * (the run must still crash nothing and leak nothing). Every other failed allocation (our own,
 * jansson's constructors, json_dumps) must give RS_ENOMEM. */
static int test_oom_json_failed;

static inline void *test_oom_json_alloc(size_t n)
{
	void *p = rs__malloc(n);
	if (!p)
		test_oom_json_failed = 1;
	return p;
}

enum {
	/* The operation may go on without an allocation that failed (a batch copy without its
	 * table of blobs shared between images, lib/image/copy_tags.c): a run may then succeed,
	 * and the operation itself checks that it still did the whole job. */
	TEST_OOM_MAY_SUCCEED = 1 << 0,
};

/* Walk op's allocations; returns how many runs failed (so a test can check that it covered
 * something), or ~0 when OOM_OP names another walk. */
static inline unsigned long test_oom_loop(const char *name, test_oom_op op, void *ctx,
                                          unsigned flags)
{
	const char *only = getenv("OOM_OP"), *from = getenv("OOM_FROM");
	unsigned long k = from ? strtoul(from, NULL, 10) : 1;
	if (only && strcmp(only, name))
		return ~0ul;
	for (k = k ? k : 1;; k++) {
		unsigned long left;
		int rc;
		rs_error_clear();
		test_oom_json_failed = 0;
		rs__alloc_fail_at(k);
		rc = op(ctx);
		left = rs__alloc_fail_at(0);
		if (left) { /* fewer than k allocations: nothing failed */
			if (rc != 0)
				fail_msg("%s: failed with no allocation failure: %d %s", name, rc,
				         rs_error_last()->message);
			return k - 1;
		}
		if (k > 200000)
			fail_msg("%s: does not finish", name);
		if (test_oom_json_failed || (rc == 0 && (flags & TEST_OOM_MAY_SUCCEED)))
			continue;
		if (rc == 0)
			fail_msg("%s: allocation %lu failed but the operation succeeded", name, k);
		if (rc != RS_ENOMEM || rs_error_last()->code != RS_ENOMEM)
			fail_msg("%s: allocation %lu failed but the result was %d, error %s (%s)",
			         name, k, rc, rs_error_name(rs_error_last()->code),
			         rs_error_last()->message);
	}
}

#define OOM_LOOP(op, ctx) test_oom_loop(#op, op, ctx, 0)
#define OOM_LOOP_MAY_SUCCEED(op, ctx) test_oom_loop(#op, op, ctx, TEST_OOM_MAY_SUCCEED)

#endif
