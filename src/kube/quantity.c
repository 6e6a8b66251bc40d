// SPDX-License-Identifier: Apache-2.0
/*
 * quantity.c - parse and format Kubernetes quantities as whole bytes (see
 * quantity.h).
 *
 * Parsing turns the number into a decimal digit string D and exponents so
 * that the value is D * 10^x * 2^b, multiplies D by 2^b in decimal (at most
 * 60 doublings of a string no longer than the input cap), then splits off
 * the integer part and rounds up when any fractional digit is non-zero.
 * Nothing is ever approximated, so "0.1" is 1 and "9223372036854775807"
 * is exact, and overflow is detected digit-exactly.
 */
#include "kube/quantity.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "kube/status.h"

/* Exponents beyond this only matter for zero (too big) or round to 1. */
#define EXP_LIMIT 4096

/* Room for the input digits plus the digits 2^60 adds. */
#define DIGITS_MAX (KUBE_QUANTITY_MAX_LEN + 24)

struct suffix {
	const char *text;
	int base10;	/* power of ten */
	int base2;	/* power of two */
};

static const struct suffix suffixes[] = {
	{ "Ki", 0, 10 }, { "Mi", 0, 20 }, { "Gi", 0, 30 },
	{ "Ti", 0, 40 }, { "Pi", 0, 50 }, { "Ei", 0, 60 },
	{ "n", -9, 0 }, { "u", -6, 0 }, { "m", -3, 0 }, { "", 0, 0 },
	{ "k", 3, 0 }, { "M", 6, 0 }, { "G", 9, 0 }, { "T", 12, 0 },
	{ "P", 15, 0 }, { "E", 18, 0 },
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Parse "e<signed digits>" after the 'e'/'E'; clamps huge exponents. */
static bool parse_exponent(const char *p, int *out)
{
	bool neg = false;
	long v = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!is_digit(*p))
		return false;
	for (; is_digit(*p); p++) {
		if (v < EXP_LIMIT * 2)
			v = v * 10 + (*p - '0');
	}
	if (*p)
		return false;
	*out = (int)(neg ? -v : v);
	return true;
}

static bool parse_suffix(const char *p, int *base10, int *base2)
{
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (!strcmp(p, suffixes[i].text)) {
			*base10 = suffixes[i].base10;
			*base2 = suffixes[i].base2;
			return true;
		}
	}
	/* "E" alone is exa; "e"/"E" followed by a number is an exponent. */
	if ((p[0] == 'e' || p[0] == 'E') && p[1]) {
		*base2 = 0;
		return parse_exponent(p + 1, base10);
	}
	return false;
}

/* d[0..*n) holds decimal digits, most significant first; multiply by 2. */
static void digits_double(char *d, size_t *n)
{
	int carry = 0;
	size_t i;

	for (i = *n; i-- > 0;) {
		int v = (d[i] - '0') * 2 + carry;

		d[i] = (char)('0' + v % 10);
		carry = v / 10;
	}
	if (carry) {
		memmove(d + 1, d, *n);
		d[0] = (char)('0' + carry);
		(*n)++;
	}
}

int kube_quantity_parse(const char *s, int64_t *value, struct err *e)
{
	char d[DIGITS_MAX];
	size_t n = 0, ndig = 0, i, int_len;
	const char *p = s;
	bool neg = false, nonzero_frac = false;
	int base10 = 0, base2 = 0, x, k;
	uint64_t mag = 0;

	if (!s)
		return err_set(e, KUBE_ERR_INVALID, "quantity is missing");
	if (strlen(s) > KUBE_QUANTITY_MAX_LEN)
		return err_set(e, KUBE_ERR_INVALID,
			       "quantity '%.32s...' is longer than %d characters",
			       s, KUBE_QUANTITY_MAX_LEN);
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';

	/* Significant digits into d, leading zeros dropped; x tracks 10^x. */
	x = 0;
	for (; is_digit(*p); p++, ndig++) {
		if (n == 0 && *p == '0')
			continue;
		d[n++] = *p;
	}
	if (*p == '.') {
		for (p++; is_digit(*p); p++, ndig++) {
			x--;
			if (n == 0 && *p == '0')
				continue;
			d[n++] = *p;
		}
	}
	if (ndig == 0 || !parse_suffix(p, &base10, &base2))
		return err_set(e, KUBE_ERR_INVALID,
			       "quantity '%s' is not a number with an optional suffix (like 10Gi or 500M)",
			       s);
	if (n == 0) {
		*value = 0;
		return 0;
	}
	while (n > 0 && d[n - 1] == '0') {	/* trailing zeros into x */
		n--;
		x++;
	}
	x += base10;
	for (k = 0; k < base2; k++)
		digits_double(d, &n);

	/* value = d * 10^x: d's first n + x digits are the integer part. */
	if (x >= 0) {
		if ((long)n + x > 19)
			goto overflow;
		int_len = n + (size_t)x;
	} else {
		int_len = (long)n + x <= 0 ? 0 : n - (size_t)-x;
		if (int_len > 19)
			goto overflow;
		for (i = int_len; i < n; i++)
			nonzero_frac |= d[i] != '0';
	}
	for (i = 0; i < int_len; i++) {
		unsigned digit = i < n ? (unsigned)(d[i] - '0') : 0;

		if (mag > (UINT64_MAX - digit) / 10)
			goto overflow;
		mag = mag * 10 + digit;
	}
	if (nonzero_frac)
		mag++;
	if (mag > (uint64_t)INT64_MAX)
		goto overflow;
	*value = neg ? -(int64_t)mag : (int64_t)mag;
	return 0;
overflow:
	return err_set(e, KUBE_ERR_INVALID,
		       "quantity '%s' is too large (more than %" PRId64 " bytes)",
		       s, INT64_MAX);
}

char *kube_quantity_format_bytes(int64_t v)
{
	static const char *const bin[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	static const char *const dec[] = { "", "k" };
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	const char *sign = v < 0 ? "-" : "";
	int exp = 0;

	if (mag == 0)
		return xstrdup("0");
	if (mag < 1024) {
		/* Upstream shows small BinarySI values as DecimalSI. */
		while (mag % 1000 == 0 && exp < 1) {
			mag /= 1000;
			exp++;
		}
		return xasprintf("%s%" PRIu64 "%s", sign, mag, dec[exp]);
	}
	while (mag % 1024 == 0 && exp < 6) {
		mag /= 1024;
		exp++;
	}
	return xasprintf("%s%" PRIu64 "%s", sign, mag, bin[exp]);
}
