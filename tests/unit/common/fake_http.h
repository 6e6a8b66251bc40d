/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_http.h - the HTTP/1.1 plumbing of the in-process fake API servers
 * of the unit tests: a listener on 127.0.0.1 with a port of its own, one
 * request per connection (read whole, with size caps, then handed to the
 * fake's handler, then closed), and the answers the fakes write (JSON, a
 * Kubernetes Status, watch chunks).
 *
 * Threads: an accept thread, and one detached thread per connection that
 * runs the handler. fhttp_stop closes the listener and waits until every
 * handler returned, so a fake first tells its long handlers (watches, held
 * writes) to end, then calls fhttp_stop.
 */
#ifndef TEST_FAKE_HTTP_H
#define TEST_FAKE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct fhttp;

/*
 * One request: `method` and `target` (the request target, which the handler
 * may change in place), the header block `head` (for header lookups) and
 * the body (NUL-terminated; "" without one). All borrowed for the call.
 */
typedef void (*fhttp_handler)(void *ctx, int fd, const char *method, char *target,
			      const char *head, const char *body);

/* Listen and serve; NULL on failure. */
struct fhttp *fhttp_start(fhttp_handler handler, void *ctx);
void fhttp_stop(struct fhttp *s);		/* accepts NULL */
const char *fhttp_url(const struct fhttp *s);	/* "http://127.0.0.1:PORT", borrowed */

int fhttp_write_all(int fd, const char *p, size_t n);
/* A complete response with a JSON body (borrowed); the connection closes after it. */
void fhttp_respond(int fd, int status, json_t *body);
/* A Kubernetes Status with `code`, `reason` and `msg`. */
void fhttp_status(int fd, int code, const char *reason, const char *msg);
/* The head of a chunked watch response, one watch event line, and the end. */
int fhttp_watch_head(int fd);
int fhttp_chunk(int fd, const char *line, size_t len);
int fhttp_chunk_end(int fd);
/* Whether the client closed its end. */
bool fhttp_peer_gone(int fd);
/* Decode %XX escapes in place. */
void fhttp_url_decode(char *s);
/* The value of header `name` in `head` (caller frees), or NULL. */
char *fhttp_header(const char *head, const char *name);

#endif
