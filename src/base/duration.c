// SPDX-License-Identifier: Apache-2.0
/* duration.c - duration parsing for flags (see duration.h). */
#include "base/duration.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	double ms;
} units[] = {
	{ "ns", 1e-6 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 }, { "\xce\xbcs", 1e-3 }, { "ms", 1.0 },
	{ "s", 1e3 }, { "m", 60e3 }, { "h", 3600e3 },
};

/* Read "digits[.digits]" at *p; returns -1 when there are none. */
static int read_number(const char **p, double *out)
{
	const char *s = *p;
	double v = 0, scale = 1;
	int digits = 0;

	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s++ - '0');
		digits++;
	}
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s)) {
			scale /= 10;
			v += (*s++ - '0') * scale;
			digits++;
		}
	}
	if (!digits)
		return -1;
	*p = s;
	*out = v;
	return 0;
}

int duration_parse_ms(const char *s, int64_t *ms)
{
	double total = 0, v;
	size_t i;

	if (!s || !*s)
		return -1;
	if (read_number(&s, &v))
		return -1;
	if (!*s) {
		total = v * 1e3;	/* bare seconds */
		goto done;
	}
	for (;;) {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].name);

			/* "m" must not swallow the "m" of "ms" */
			if (!strncmp(s, units[i].name, n) &&
			    !(n == 1 && s[0] == 'm' && s[1] == 's'))
				break;
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return -1;
		total += v * units[i].ms;
		s += strlen(units[i].name);
		if (!*s)
			break;
		if (read_number(&s, &v))
			return -1;
	}
done:
	if (!isfinite(total) || total > 9.2e15)
		return -1;
	*ms = (int64_t)ceil(total);
	return 0;
}
