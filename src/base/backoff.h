/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backoff.h - exponential backoff between a start and a max interval.
 *
 * Pure arithmetic: the n-th failure (n starting at 0) waits
 * min(start * 2^n, max) milliseconds. The work queue keeps the per-key
 * failure counts.
 */
#ifndef BASE_BACKOFF_H
#define BASE_BACKOFF_H

#include <stdint.h>

int64_t backoff_delay_ms(int64_t start_ms, int64_t max_ms, unsigned failures);

#endif
