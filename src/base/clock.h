/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.h - monotonic time in milliseconds, and deadlines for condvars.
 */
#ifndef BASE_CLOCK_H
#define BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t clock_now_ms(void);
/* An absolute CLOCK_MONOTONIC timespec `ms` from now, for pthread_cond_timedwait
 * on a condvar created with clock_cond_init. */
struct timespec clock_deadline_ms(int64_t ms);
/* Sleep `ms` (pacing a retry; never to wait for a condition). */
void clock_sleep_ms(int64_t ms);
/* Initialise a condvar that waits on CLOCK_MONOTONIC. */
#include <pthread.h>
void clock_cond_init(pthread_cond_t *cond);

#endif
