// SPDX-License-Identifier: Apache-2.0
/* backoff.c - exponential backoff arithmetic (see backoff.h). */
#include "base/backoff.h"

int64_t backoff_delay_ms(int64_t start_ms, int64_t max_ms, unsigned failures)
{
	int64_t d = start_ms > 0 ? start_ms : 1;

	while (failures-- > 0 && d < max_ms) {
		if (d > INT64_MAX / 2)
			return max_ms;
		d *= 2;
	}
	return d < max_ms ? d : max_ms;
}
