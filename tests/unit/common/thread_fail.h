/* SPDX-License-Identifier: Apache-2.0 */
/*
 * thread_fail.h - make the next pthread_create of the calling thread fail,
 * to test what code does when it cannot start a thread. A test executable
 * that uses it links thread_fail_src with thread_fail_link_args
 * (-Wl,--wrap=pthread_create): every pthread_create of the program, the
 * code under test included, then goes through thread_fail.c.
 */
#ifndef TEST_THREAD_FAIL_H
#define TEST_THREAD_FAIL_H

/* The next pthread_create called by this thread returns EAGAIN (once). */
void thread_fail_next(void);

#endif
