// SPDX-License-Identifier: Apache-2.0
/*
 * thread_fail.c - a wrapper of pthread_create (linked with
 * -Wl,--wrap=pthread_create) that fails once when the calling thread asked
 * for it (thread_fail.h). Only the asking thread's calls fail, so threads
 * that fake servers start meanwhile are not disturbed.
 */
#include "thread_fail.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

static __thread bool fail_next;

int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *),
			  void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *),
			  void *arg);

void thread_fail_next(void)
{
	fail_next = true;
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *),
			  void *arg)
{
	if (fail_next) {
		fail_next = false;
		return EAGAIN;
	}
	return __real_pthread_create(t, a, fn, arg);
}
