#include "ring.h"

#include <math.h>
#include <string.h>

void
ring_init(struct ring *r, int64_t step_s, uint32_t cap, uint32_t width, float *storage)
{
	r->step_s = step_s > 0 ? step_s : 1;
	r->cap = cap;
	r->width = width;
	r->v = storage;
	ring_clear(r);
}

void
ring_clear(struct ring *r)
{
	for (size_t i = 0; i < RING_FLOATS(r->cap, r->width); i++)
		r->v[i] = NAN;
	r->last = RING_EMPTY;
	r->count = 0;
}

static float *
ring_slot(const struct ring *r, int64_t k)
{
	return r->v + (size_t)(k % (int64_t)r->cap) * r->width;
}

int
ring_add(struct ring *r, int64_t t_s, const double *vals)
{
	int64_t k;
	float *slot;

	if (r->cap == 0 || t_s < 0)
		return -1;
	k = t_s / r->step_s;
	if (r->last != RING_EMPTY && k < r->last)
		return -1;
	if (r->last == RING_EMPTY || k - r->last >= (int64_t)r->cap) {
		ring_clear(r);
	} else {
		for (int64_t j = r->last + 1; j <= k; j++) {
			slot = ring_slot(r, j);
			for (uint32_t c = 0; c < r->width; c++)
				slot[c] = NAN;
		}
	}
	if (r->last != k)
		r->count = 0;
	r->last = k;
	slot = ring_slot(r, k);
	for (uint32_t c = 0; c < r->width; c++) {
		double x = vals[c];

		if (isnan(x))
			continue;  /* this channel had no sample: the others still count */
		if (r->count == 0 || isnan(slot[c]))
			slot[c] = (float)x;
		else
			slot[c] = (float)(slot[c] + (x - slot[c]) / (double)(r->count + 1));
	}
	r->count++;
	return 0;
}

bool
ring_get(const struct ring *r, int64_t k, double *vals_r)
{
	bool any = false;

	if (r->last == RING_EMPTY || k > r->last || k <= r->last - (int64_t)r->cap || k < 0) {
		for (uint32_t c = 0; c < r->width; c++)
			vals_r[c] = NAN;
		return false;
	}
	const float *slot = ring_slot(r, k);
	for (uint32_t c = 0; c < r->width; c++) {
		vals_r[c] = slot[c];
		any |= !isnan(slot[c]);
	}
	return any;
}

int64_t
ring_first(const struct ring *r)
{
	if (r->last == RING_EMPTY)
		return RING_EMPTY;
	return r->last - (int64_t)r->cap + 1;
}
