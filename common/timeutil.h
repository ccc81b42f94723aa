/* timeutil: monotonic and wall clocks in integer micro/milliseconds. */
#ifndef KUBARR_TIMEUTIL_H
#define KUBARR_TIMEUTIL_H

#include <stdint.h>

int64_t time_mono_us(void);
int64_t time_wall_ms(void);

#endif
