/* SPDX-License-Identifier: Apache-2.0 */
/*
 * duration.h - parse durations as operators write them in flags.
 *
 * Accepted: a bare number of seconds ("30", "1.5"), or Go-style units
 * joined together ("300ms", "5m", "1h30m", "2.5s", ".5s"): units ns us (or µs)
 * ms s m h.
 * Negative values and overflow are errors.
 */
#ifndef BASE_DURATION_H
#define BASE_DURATION_H

#include <stdint.h>

/* Returns 0 and sets *ms (rounded up to whole milliseconds), or -1. */
int duration_parse_ms(const char *s, int64_t *ms);

#endif
