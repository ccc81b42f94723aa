/* pgdump_time: the value conversions of the pg_dump importer (see pgdump.h):
 * PostgreSQL timestamptz text -> RFC 3339 UTC with milliseconds, and
 * PostgreSQL boolean input.  Pure functions, no allocation. */
#include "pgdump.h"

#include <string.h>
#include <strings.h>

static bool
pgdump_time_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool
pgdump_time_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- conversions ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long
pgdump_time_days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
pgdump_time_civil_from_days(long long z, long long *y_r, unsigned *m_r, unsigned *d_r)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m_r = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = yoe + era * 400 + (*m_r <= 2);
}

static bool
pgdump_time_is_leap(long long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Exactly n digits. */
static int
pgdump_time_fixed(const char **s, int n, unsigned *v_r)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if (!pgdump_time_is_digit((*s)[i]))
			return -1;
		v = v * 10 + (unsigned)((*s)[i] - '0');
	}
	*s += n;
	*v_r = v;
	return 0;
}

static void
pgdump_time_put(char *out, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

int
pgdump_timestamp_rfc3339(const char *in, char out[25], const char **err_r)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *s = in;
	unsigned mo, d, h, mi, sec, ms = 0, zh = 0, zm = 0, zs = 0, year = 0, y;
	long long secs, days, yy;
	int ydigits = 0, zsign = 0;

	if (strcasecmp(in, "infinity") == 0 || strcasecmp(in, "-infinity") == 0 ||
	    strcasecmp(in, "+infinity") == 0) {
		*err_r = "infinite timestamps cannot be converted";
		return -1;
	}
	while (pgdump_time_is_digit(*s) && ydigits < 6) {
		year = year * 10 + (unsigned)(*s++ - '0');
		ydigits++;
	}
	if (ydigits < 4 || *s++ != '-' || pgdump_time_fixed(&s, 2, &mo) < 0 || *s++ != '-' ||
	    pgdump_time_fixed(&s, 2, &d) < 0 || *s++ != ' ' || pgdump_time_fixed(&s, 2, &h) < 0 ||
	    *s++ != ':' || pgdump_time_fixed(&s, 2, &mi) < 0 || *s++ != ':' ||
	    pgdump_time_fixed(&s, 2, &sec) < 0) {
		*err_r = "not a timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]])";
		return -1;
	}
	if (*s == '.') {
		int n = 0;

		s++;
		for (; pgdump_time_is_digit(*s); s++, n++)
			if (n < 3)
				ms = ms * 10 + (unsigned)(*s - '0');
		if (n == 0) {
			*err_r = "not a timestamp (empty fraction)";
			return -1;
		}
		for (; n < 3; n++)
			ms *= 10;
	}
	if (*s == '+' || *s == '-') {
		zsign = *s++ == '-' ? -1 : 1;
		if (pgdump_time_fixed(&s, 2, &zh) < 0 ||
		    (*s == ':' && (s++, pgdump_time_fixed(&s, 2, &zm) < 0)) ||
		    (*s == ':' && (s++, pgdump_time_fixed(&s, 2, &zs) < 0))) {
			*err_r = "not a timestamp (bad time zone offset)";
			return -1;
		}
	}
	if (strcmp(s, " BC") == 0) {
		*err_r = "BC dates are not supported";
		return -1;
	}
	if (*s != '\0') {
		*err_r = "not a timestamp (trailing characters)";
		return -1;
	}
	if (mo < 1 || mo > 12) {
		*err_r = "month out of range";
		return -1;
	}
	if (d < 1 || d > mdays[mo - 1] + (mo == 2 && pgdump_time_is_leap(year))) {
		*err_r = "day out of range";
		return -1;
	}
	if (h > 23 || mi > 59 || sec > 59) {
		*err_r = "time out of range";
		return -1;
	}
	if (zh > 15 || zm > 59 || zs > 59) {
		*err_r = "time zone offset out of range";
		return -1;
	}
	secs = pgdump_time_days_from_civil(year, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    zsign * (long long)(zh * 3600 + zm * 60 + zs);
	days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	secs -= days * 86400;
	pgdump_time_civil_from_days(days, &yy, &mo, &d);
	if (yy < 1 || yy > 9999) {
		*err_r = "year out of range (0001..9999 in UTC)";
		return -1;
	}
	y = (unsigned)yy;
	pgdump_time_put(out, y, 4);
	out[4] = '-';
	pgdump_time_put(out + 5, mo, 2);
	out[7] = '-';
	pgdump_time_put(out + 8, d, 2);
	out[10] = 'T';
	pgdump_time_put(out + 11, (unsigned)(secs / 3600), 2);
	out[13] = ':';
	pgdump_time_put(out + 14, (unsigned)(secs / 60 % 60), 2);
	out[16] = ':';
	pgdump_time_put(out + 17, (unsigned)(secs % 60), 2);
	out[19] = '.';
	pgdump_time_put(out + 20, ms, 3);
	out[23] = 'Z';
	out[24] = '\0';
	return 0;
}

int
pgdump_parse_bool(const char *in, bool *b_r)
{
	const char *s = in, *e;
	size_t n;

	while (pgdump_time_is_space(*s))
		s++;
	e = s + strlen(s);
	while (e > s && pgdump_time_is_space(e[-1]))
		e--;
	n = (size_t)(e - s);
	if (n == 0)
		return -1;
	switch (*s) {
	case 't': case 'T':
		if (n <= 4 && strncasecmp(s, "true", n) == 0)
			return *b_r = true, 0;
		break;
	case 'f': case 'F':
		if (n <= 5 && strncasecmp(s, "false", n) == 0)
			return *b_r = false, 0;
		break;
	case 'y': case 'Y':
		if (n <= 3 && strncasecmp(s, "yes", n) == 0)
			return *b_r = true, 0;
		break;
	case 'n': case 'N':
		if (n <= 2 && strncasecmp(s, "no", n) == 0)
			return *b_r = false, 0;
		break;
	case 'o': case 'O':
		/* "o" alone is ambiguous */
		if (n == 2 && strncasecmp(s, "on", n) == 0)
			return *b_r = true, 0;
		if (n >= 2 && n <= 3 && strncasecmp(s, "off", n) == 0)
			return *b_r = false, 0;
		break;
	case '1':
		if (n == 1)
			return *b_r = true, 0;
		break;
	case '0':
		if (n == 1)
			return *b_r = false, 0;
		break;
	}
	return -1;
}
