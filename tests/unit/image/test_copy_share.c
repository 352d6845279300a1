/* Unit tests for what the images of an rs_copy_tags() batch share (lib/image/copy_tags.c): the
 * digest claims (one mover, the others wait, then skip; a failed move passes on) and the lanes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image/copy_share.h"
#include "regship/copy_tags.h"
#include "util/util.h"

#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static void test_claim_once(void **state)
{
	rs__copy_share *s = rs__share_new(0);
	(void)state;
	assert_false(rs__share_claim(s, D1)); /* ours */
	assert_false(rs__share_claim(s, D2)); /* another digest: ours too */
	rs__share_release(s, D1, true);
	assert_true(rs__share_claim(s, D1)); /* moved: skip */
	assert_true(rs__share_claim(s, D1));
	rs__share_release(s, D2, false);
	assert_false(rs__share_claim(s, D2)); /* failed: the next one tries */
	rs__share_release(s, D2, true);
	assert_true(rs__share_claim(s, D2));
	rs__share_free(s);
}

/* Many digests: the table grows and still finds each. */
static void test_claim_many(void **state)
{
	rs__copy_share *s = rs__share_new(0);
	char d[80];
	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(d, sizeof(d), "sha256:%064d", i);
		assert_false(rs__share_claim(s, d));
		rs__share_release(s, d, i % 3 != 0);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(d, sizeof(d), "sha256:%064d", i);
		assert_int_equal(rs__share_claim(s, d), i % 3 != 0);
	}
	rs__share_free(s);
}

typedef struct racer {
	rs__copy_share *s;
	atomic_int *movers;
	atomic_int *moving;
	int overlap; /* set when two movers held the digest at once */
} racer;

/* Each racer wants D1: whoever claims it "moves" it (for a while), the rest must skip it. */
static void *race(void *arg)
{
	racer *r = arg;
	if (rs__share_claim(r->s, D1))
		return NULL;
	if (atomic_fetch_add(r->moving, 1) != 0)
		r->overlap = 1;
	atomic_fetch_add(r->movers, 1);
	for (volatile int i = 0; i < 200000; i++)
		;
	atomic_fetch_sub(r->moving, 1);
	rs__share_release(r->s, D1, true);
	return NULL;
}

static void test_claim_concurrent_one_mover(void **state)
{
	rs__copy_share *s = rs__share_new(0);
	atomic_int movers = 0, moving = 0;
	pthread_t t[8];
	racer r[8];
	(void)state;
	for (int i = 0; i < 8; i++) {
		r[i] = (racer){s, &movers, &moving, 0};
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].overlap, 0);
	}
	assert_int_equal(atomic_load(&movers), 1);
	rs__share_free(s);
}

/* A waiter whose mover failed becomes the mover. */
static void *claim_then_release_ok(void *arg)
{
	rs__copy_share *s = arg;
	int *mine = rs__calloc(1, sizeof(int));
	*mine = !rs__share_claim(s, D1);
	if (*mine)
		rs__share_release(s, D1, true);
	return mine;
}

static void test_waiter_takes_over_failed_move(void **state)
{
	rs__copy_share *s = rs__share_new(0);
	pthread_t t;
	void *mine;
	(void)state;
	assert_false(rs__share_claim(s, D1));
	assert_int_equal(pthread_create(&t, NULL, claim_then_release_ok, s), 0);
	rs__share_release(s, D1, false); /* the waiter (or a later claim) moves it */
	pthread_join(t, &mine);
	assert_int_equal(*(int *)mine, 1);
	free(mine);
	assert_true(rs__share_claim(s, D1));
	rs__share_free(s);
}

static void test_lanes(void **state)
{
	rs__copy_share *s = rs__share_new(3);
	(void)state;
	assert_int_equal(rs__share_lanes_take(s, 2), 2);
	assert_int_equal(rs__share_lanes_take(s, 5), 1);
	assert_int_equal(rs__share_lanes_take(s, 1), 0); /* none free: never waits */
	rs__share_lanes_give(s, 3);
	assert_int_equal(rs__share_lanes_take(s, 10), 3);
	rs__share_free(s);
}

static void test_options_checked(void **state)
{
	rs_copy_tags_options o = RS_COPY_TAGS_OPTIONS_INIT;
	rs_copy_tags_item it;
	(void)state;
	o.version = 99;
	assert_int_equal(rs_copy_tags((rs_store *)&it, NULL, (rs_store *)&it, NULL, 0, &o, &it),
	                 RS_EINVAL);
	assert_int_equal(rs_copy_tags(NULL, NULL, NULL, NULL, 0, NULL, NULL), RS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_claim_once),
	        cmocka_unit_test(test_claim_many),
	        cmocka_unit_test(test_claim_concurrent_one_mover),
	        cmocka_unit_test(test_waiter_takes_over_failed_move),
	        cmocka_unit_test(test_lanes),
	        cmocka_unit_test(test_options_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
