/* rate: per-second rates of monotonic counters, smoothed.
 *
 *   raw    = (cur - prev) / elapsed        when elapsed > 0.1 s and cur >= prev
 *          = 0                             on a counter reset or a too-short interval
 *   mean   = arithmetic mean of the last RATE_WINDOW raw values
 *   value  = mean                                  for the first mean
 *          = alpha * mean + (1 - alpha) * value    afterwards (EMA)
 *   shown  = value rounded to 2 decimals
 *
 * alpha = 1 gives the reference's plain window mean.  The first reading (or
 * one after a gap of RATE_MAX_AGE_MS, when the previous counter is too old to
 * trust) only records the counter: the rate starts again from 0. */
#ifndef KUBARR_RATE_H
#define KUBARR_RATE_H

#include <stdint.h>

#define RATE_WINDOW 5
#define RATE_MAX_AGE_MS 300000   /* previous counter older than this: start again */
#define RATE_MIN_ELAPSED_MS 100  /* shorter intervals give 0 */

struct rate {
	double prev;               /* last counter */
	int64_t prev_ms;           /* when it was read (wall clock ms); 0: none yet */
	double win[RATE_WINDOW];   /* raw rates, circular */
	uint8_t n;                 /* valid entries in win */
	uint8_t pos;               /* next slot of win */
	double value;              /* smoothed, unrounded */
};

/* Feeds one counter reading taken at now_ms; returns the shown rate. */
double rate_update(struct rate *r, double counter, int64_t now_ms, double alpha);
/* The shown rate (2 decimals); 0 before the second reading. */
double rate_value(const struct rate *r);
/* Rounds to 2 decimals, as shown. */
double rate_round2(double v);

#endif
