// SPDX-License-Identifier: Apache-2.0
/* goparse.c - Go-syntax flag values (see goparse.h). */
#include "config/goparse.h"

#include "base/duration.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Long enough for any number Go would accept for these types. */
#define NUM_MAX 96

int goparse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/*
 * The magnitude of an unsigned Go integer literal. Underscores may only
 * stand between digits, or between a base prefix and a digit, as in Go.
 */
static int parse_magnitude(const char *s, uint64_t *out)
{
	int base = 10;
	bool prefix = false, last_digit = false;
	uint64_t v = 0;
	int ndigits = 0;

	if (s[0] == '0' && s[1]) {
		switch (s[1]) {
		case 'x': case 'X': base = 16; s += 2; prefix = true; break;
		case 'b': case 'B': base = 2; s += 2; prefix = true; break;
		case 'o': case 'O': base = 8; s += 2; prefix = true; break;
		default: base = 8; s += 1; ndigits = 1; last_digit = true; break;
		}
	}
	for (; *s; s++) {
		int d;

		if (*s == '_') {
			if (!(last_digit || (prefix && !ndigits)) || !s[1] || s[1] == '_')
				return -1;
			last_digit = false;
			continue;
		}
		d = digit_value(*s);
		if (d >= base)
			return -1;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -1;
		v = v * base + d;
		ndigits++;
		last_digit = true;
	}
	if (!ndigits)
		return -1;
	*out = v;
	return 0;
}

int goparse_int(const char *s, int64_t *out)
{
	bool neg = false;
	uint64_t m;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (parse_magnitude(s, &m))
		return -1;
	if (neg ? m > (uint64_t)INT64_MAX + 1 : m > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? (int64_t)(0 - m) : (int64_t)m;
	return 0;
}

int goparse_uint(const char *s, int64_t *out)
{
	uint64_t m;

	if (parse_magnitude(s, &m) || m > (uint64_t)INT64_MAX)
		return -1;
	*out = (int64_t)m;
	return 0;
}

int goparse_float(const char *s, double *out)
{
	char buf[NUM_MAX], *end;
	size_t n = 0;
	double d;

	/* strtod would also take " 1", "inf" and "nan"; Go's flags take none of those here */
	for (const char *p = s; *p; p++) {
		if (*p == '_')
			continue;
		if (!isxdigit((unsigned char)*p) && !strchr("+-.xXpP", *p))
			return -1;
		if (n + 1 >= sizeof(buf))
			return -1;
		buf[n++] = *p;
	}
	buf[n] = '\0';
	if (!n)
		return -1;
	errno = 0;
	d = strtod(buf, &end);
	if (*end || errno || !isfinite(d))
		return -1;
	*out = d;
	return 0;
}

int goparse_duration_ms(const char *s, int64_t *out)
{
	bool neg = false;
	int64_t ms;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (duration_parse_ms(s, &ms))
		return -1;
	*out = neg ? -ms : ms;
	return 0;
}
