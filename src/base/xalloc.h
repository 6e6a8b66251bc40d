/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xalloc.h - allocation that aborts on out-of-memory.
 *
 * A sidecar that cannot allocate a few bytes cannot do anything useful, and
 * callers stay readable when they need not check every allocation (the
 * redis zmalloc habit). Sizes are checked for overflow.
 */
#ifndef BASE_XALLOC_H
#define BASE_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow an array of `size`-byte elements to hold at least `want`; updates *alloc. */
void *xgrow(void *p, size_t want, size_t *alloc, size_t size);
char *xstrdup(const char *s);		/* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

#endif
