/* ring: a fixed-size history of step-aligned averages, for dashboards
 * without a TSDB.
 *
 * Time is cut into steps of step_s seconds; slot k holds the mean of every
 * sample added during step k (k = t / step_s), for the last `cap` steps.
 * Each slot has `width` channels (rx, tx, cpu, ...).  A step with no sample
 * reads as NaN.  The caller provides the storage (cap * width floats, see
 * RING_FLOATS), so a series can keep all its rings in one allocation whose
 * size never changes. */
#ifndef KUBARR_RING_H
#define KUBARR_RING_H

#include <stdbool.h>
#include <stdint.h>

#define RING_EMPTY INT64_MIN
#define RING_FLOATS(cap, width) ((size_t)(cap) * (size_t)(width))

struct ring {
	int64_t step_s;
	uint32_t cap;
	uint32_t width;
	int64_t last;    /* step number of the newest slot, RING_EMPTY before the first sample */
	uint32_t count;  /* samples averaged into the newest slot */
	float *v;        /* cap * width, caller's storage */
};

/* Empties the ring over `storage` (RING_FLOATS(cap, width) floats). */
void ring_init(struct ring *r, int64_t step_s, uint32_t cap, uint32_t width, float *storage);
void ring_clear(struct ring *r);
/* Adds one sample of `width` values taken at t_s (seconds).  Steps skipped
 * since the last sample become NaN.  A sample older than the newest step is
 * refused (-1): a clock that went back must not rewrite history.  A NaN
 * value leaves its channel as it was. */
int ring_add(struct ring *r, int64_t t_s, const double *vals);
/* The values of step k into vals_r (width of them); false (and NaN) when the
 * ring holds nothing for that step. */
bool ring_get(const struct ring *r, int64_t k, double *vals_r);
/* Oldest step the ring can still hold, given its newest (RING_EMPTY if empty). */
int64_t ring_first(const struct ring *r);

#endif
