/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf.h - a growable byte buffer with a hard size cap.
 *
 * Everything read from outside (HTTP bodies, watch lines, files) goes into a
 * buf whose cap says how much we are willing to hold; appending past the cap
 * fails instead of allocating (curl's dynbuf habit). The data is always
 * NUL-terminated so it can be handed to string functions.
 */
#ifndef BASE_BUF_H
#define BASE_BUF_H

#include <stddef.h>

struct buf {
	char *data;	/* NUL-terminated; NULL until the first append */
	size_t len;
	size_t alloc;
	size_t cap;	/* largest len allowed */
};

/* Caller owns `b`; cap is the largest content length accepted. */
void buf_init(struct buf *b, size_t cap);
/* Returns 0, or -1 (and leaves b unchanged) when len would exceed the cap. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
/* Hand the data to the caller (who frees it) and reset b. Never NULL. */
char *buf_detach(struct buf *b, size_t *len);
/* Free the contents. Accepts NULL. */
void buf_release(struct buf *b);

#endif
