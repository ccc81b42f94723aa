#include "rate.h"

#include <math.h>
#include <string.h>

double
rate_round2(double v)
{
	return round(v * 100.0) / 100.0;
}

double
rate_value(const struct rate *r)
{
	return r->n > 0 ? rate_round2(r->value) : 0.0;
}

double
rate_update(struct rate *r, double counter, int64_t now_ms, double alpha)
{
	int64_t elapsed_ms = now_ms - r->prev_ms;
	double raw = 0.0, mean = 0.0;

	if (!(counter >= 0.0) || !isfinite(counter))
		counter = 0.0;
	if (r->prev_ms == 0 || elapsed_ms > RATE_MAX_AGE_MS || elapsed_ms < 0) {
		/* first reading, a stale one, or a clock that went back: start again */
		memset(r, 0, sizeof(*r));
		r->prev = counter;
		r->prev_ms = now_ms;
		return 0.0;
	}
	if (elapsed_ms > RATE_MIN_ELAPSED_MS && counter >= r->prev)
		raw = (counter - r->prev) / ((double)elapsed_ms / 1000.0);
	r->prev = counter;
	r->prev_ms = now_ms;
	r->win[r->pos] = raw;
	r->pos = (uint8_t)((r->pos + 1) % RATE_WINDOW);
	if (r->n < RATE_WINDOW)
		r->n++;
	for (unsigned i = 0; i < r->n; i++)
		mean += r->win[i];
	mean /= r->n;
	if (!(alpha > 0.0) || alpha > 1.0)
		alpha = 1.0;
	if (r->n == 1)
		r->value = mean;
	else
		r->value = alpha * mean + (1.0 - alpha) * r->value;
	return rate_round2(r->value);
}
