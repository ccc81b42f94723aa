/* Unit tests for the small structures metricsd is built on (common/):
 * ring (step-aligned history), rate (window + EMA), lru (hash + recency). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lru.h"
#include "rate.h"
#include "ring.h"

/* ---- ring ---------------------------------------------------------------- */

static void
test_ring_average_and_gaps(void **state)
{
	float store[RING_FLOATS(4, 2)];
	struct ring r;
	double v[2], in[2];

	(void)state;
	ring_init(&r, 15, 4, 2, store);
	assert_false(ring_get(&r, 0, v));
	assert_true(isnan(v[0]));
	/* two samples in step 10 (t 150..164) average */
	in[0] = 10; in[1] = 1;
	assert_int_equal(ring_add(&r, 150, in), 0);
	in[0] = 20; in[1] = 3;
	assert_int_equal(ring_add(&r, 164, in), 0);
	assert_true(ring_get(&r, 10, v));
	assert_true(fabs(v[0] - 15) < 1e-6 && fabs(v[1] - 2) < 1e-6);
	/* step 12 (skipping 11, which reads as NaN) */
	in[0] = 7; in[1] = 7;
	assert_int_equal(ring_add(&r, 180, in), 0);
	assert_false(ring_get(&r, 11, v));
	assert_true(ring_get(&r, 12, v));
	assert_true(fabs(v[0] - 7) < 1e-6);
	/* going back in time is refused and changes nothing */
	assert_int_equal(ring_add(&r, 150, in), -1);
	assert_true(ring_get(&r, 10, v));
	assert_true(fabs(v[0] - 15) < 1e-6);
	/* step 13 pushes nothing out yet (cap 4: 10..13); step 14 drops step 10 */
	assert_int_equal(ring_add(&r, 13 * 15, in), 0);
	assert_true(ring_get(&r, 10, v));
	assert_int_equal(ring_add(&r, 14 * 15, in), 0);
	assert_false(ring_get(&r, 10, v));
	assert_int_equal(ring_first(&r), 11);
	/* a jump beyond the whole ring empties it */
	assert_int_equal(ring_add(&r, 100 * 15, in), 0);
	for (int64_t k = 97; k < 100; k++)
		assert_false(ring_get(&r, k, v));
	assert_true(ring_get(&r, 100, v));
	/* future steps read as nothing */
	assert_false(ring_get(&r, 101, v));
}

static void
test_ring_wraps_many_times(void **state)
{
	enum { CAP = 240 };
	static float store[RING_FLOATS(CAP, 1)];
	struct ring r;
	double in, v;

	(void)state;
	ring_init(&r, 15, CAP, 1, store);
	for (int64_t t = 0; t < 15 * CAP * 3; t += 5) {
		in = (double)(t / 15);
		assert_int_equal(ring_add(&r, 1700000000 + t, &in), 0);
	}
	/* every step still held has the value of its own step */
	for (int64_t k = r.last - CAP + 1; k <= r.last; k++) {
		assert_true(ring_get(&r, k, &v));
		if (!(fabs(v - (double)(k - 1700000000 / 15)) <= 1.0))
			fail_msg("step %lld: %f", (long long)k, v);
	}
}

/* ---- rate ---------------------------------------------------------------- */

static void
test_rate_window_mean(void **state)
{
	struct rate r = {0};
	int64_t t = 1000000;

	(void)state;
	/* alpha 1: the reference's plain 5-sample mean */
	assert_true(rate_update(&r, 0, t, 1.0) == 0.0);   /* first reading */
	assert_true(rate_value(&r) == 0.0);
	assert_true(rate_update(&r, 100, t + 1000, 1.0) == 100.0);
	assert_true(rate_update(&r, 300, t + 2000, 1.0) == 150.0);   /* (100+200)/2 */
	assert_true(rate_update(&r, 300, t + 3000, 1.0) == 100.0);   /* (100+200+0)/3 */
	assert_true(rate_update(&r, 700, t + 4000, 1.0) == 175.0);   /* +400 */
	assert_true(rate_update(&r, 1200, t + 5000, 1.0) == 240.0);  /* +500: 5 samples */
	assert_true(rate_update(&r, 1200, t + 6000, 1.0) == 220.0);  /* 100 leaves */
	/* half a second: per-second rate */
	assert_true(rate_update(&r, 1250, t + 6500, 1.0) == 200.0);  /* 0,400,500,0,100 */
}

static void
test_rate_reset_short_stale(void **state)
{
	struct rate r = {0};
	int64_t t = 5000000;

	(void)state;
	rate_update(&r, 1000, t, 1.0);
	assert_true(rate_update(&r, 2000, t + 1000, 1.0) == 1000.0);
	/* counter reset: a zero sample, never a negative rate */
	assert_true(rate_update(&r, 10, t + 2000, 1.0) == 500.0);
	/* an interval of 50 ms: zero */
	assert_true(rate_update(&r, 5000, t + 2050, 1.0) == rate_round2(1000.0 / 3));
	/* from the new base: 5000 -> 6000 in 1 s */
	assert_true(rate_update(&r, 6000, t + 3050, 1.0) == 500.0);
	/* stale previous counter (over 300 s): starts again at 0 */
	assert_true(rate_update(&r, 9e9, t + 3050 + RATE_MAX_AGE_MS + 1, 1.0) == 0.0);
	assert_int_equal(r.n, 0);
	assert_true(rate_update(&r, 9e9 + 10, t + 4050 + RATE_MAX_AGE_MS + 1, 1.0) == 10.0);
	/* clock going back: starts again */
	assert_true(rate_update(&r, 9e9 + 20, t, 1.0) == 0.0);
	/* garbage counters are read as 0 */
	assert_true(rate_update(&r, NAN, t + 1000, 1.0) == 0.0);
}

static void
test_rate_ema(void **state)
{
	struct rate r = {0};
	double a = 0.3, expect;
	int64_t t = 1000;

	(void)state;
	rate_update(&r, 0, t, a);
	assert_true(rate_update(&r, 100, t + 1000, a) == 100.0); /* seeded with the first mean */
	/* window {100, 0}: mean 50 -> 0.3*50 + 0.7*100 = 85 */
	assert_true(rate_update(&r, 100, t + 2000, a) == 85.0);
	/* window {100, 0, 0}: mean 33.33 -> 0.3*33.333 + 0.7*85 */
	expect = rate_round2(0.3 * (100.0 / 3) + 0.7 * 85.0);
	assert_true(rate_update(&r, 100, t + 3000, a) == expect);
	/* a steady rate converges to itself */
	for (int i = 0; i < 60; i++)
		rate_update(&r, 100 + 50.0 * (i + 1), t + 4000 + 1000 * i, a);
	assert_true(fabs(rate_value(&r) - 50.0) < 0.01);
	/* out-of-range alpha behaves as 1 */
	assert_true(rate_update(&r, 100 + 50.0 * 61 + 70, t + 4000 + 1000 * 60, 7.0) == 64.0);
}

/* ---- lru ----------------------------------------------------------------- */

struct item {
	struct lru_node node;
	char key[16];
};

static void
test_lru_order_and_growth(void **state)
{
	enum { N = 1000 };
	struct item *items = calloc(N, sizeof(*items));
	struct lru l;
	struct lru_node *n;
	size_t count = 0;

	(void)state;
	lru_init(&l);
	for (int i = 0; i < N; i++) {
		snprintf(items[i].key, sizeof(items[i].key), "ns-%d", i);
		assert_null(lru_find(&l, items[i].key));
		lru_insert(&l, &items[i].node, items[i].key);
	}
	assert_int_equal(l.n, N);
	assert_true(l.nbuckets >= N);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(lru_find(&l, items[i].key), &items[i].node);
	/* insertion order is recency order; touching 0 makes it the newest */
	assert_ptr_equal(lru_oldest(&l), &items[0].node);
	lru_touch(&l, &items[0].node);
	assert_ptr_equal(lru_oldest(&l), &items[1].node);
	assert_ptr_equal(l.head.prev, &items[0].node);
	lru_touch(&l, &items[0].node); /* already newest */
	assert_ptr_equal(l.head.prev, &items[0].node);
	/* remove from the middle, the front and the back */
	lru_remove(&l, &items[500].node);
	lru_remove(&l, &items[1].node);
	lru_remove(&l, &items[0].node);
	assert_null(lru_find(&l, "ns-500"));
	assert_null(lru_find(&l, "ns-0"));
	assert_ptr_equal(lru_oldest(&l), &items[2].node);
	for (n = lru_oldest(&l); n != NULL; n = lru_newer(&l, n)) {
		struct item *it = LRU_ENTRY(n, struct item, node);
		assert_ptr_equal(lru_find(&l, it->key), n);
		count++;
	}
	assert_int_equal(count, N - 3);
	/* empty it */
	while ((n = lru_oldest(&l)) != NULL)
		lru_remove(&l, n);
	assert_int_equal(l.n, 0);
	assert_null(lru_find(&l, "ns-7"));
	lru_fini(&l);
	free(items);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_average_and_gaps),
		cmocka_unit_test(test_ring_wraps_many_times),
		cmocka_unit_test(test_rate_window_mean),
		cmocka_unit_test(test_rate_reset_short_stale),
		cmocka_unit_test(test_rate_ema),
		cmocka_unit_test(test_lru_order_and_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
