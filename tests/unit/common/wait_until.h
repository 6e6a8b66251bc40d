/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wait_until.h - WAIT_UNTIL(cond) for cmocka tests: poll an expression
 * every 5 ms until it holds, and fail the test if it still does not after
 * 30 s (a deadline a loaded machine meets; never a sleep as synchronisation).
 * Needs base/clock.h and cmocka.h included before it.
 */
#ifndef TEST_WAIT_UNTIL_H
#define TEST_WAIT_UNTIL_H

#define WAIT_UNTIL_MS 30000

#define WAIT_UNTIL(cond)                                                        \
	do {                                                                    \
		int64_t until_ = clock_now_ms() + WAIT_UNTIL_MS;                \
		while (!(cond) && clock_now_ms() < until_)                      \
			clock_sleep_ms(5);                                      \
		assert_true(cond);                                              \
	} while (0)

#endif
