/* timeutil: monotonic and wall clocks in integer micro/milliseconds. */
#ifndef KUBARR_TIMEUTIL_H
#define KUBARR_TIMEUTIL_H

#include <stdint.h>

int64_t time_mono_us(void);
int64_t time_wall_ms(void);
/* "2026-11-23T10:00:00.123Z" (24 chars + NUL) for epoch milliseconds. */
#define TIME_RFC3339_LEN 25
void time_format_rfc3339(int64_t epoch_ms, char out[TIME_RFC3339_LEN]);
/* Parses "YYYY-MM-DDTHH:MM:SS[.fff...]Z" (UTC only) into epoch seconds.  0 or -1. */
int time_parse_rfc3339(const char *s, int64_t *epoch_s_r);

#endif
