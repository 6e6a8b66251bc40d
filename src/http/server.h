/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.h - the HTTP endpoint: /metrics, /healthz, /healthz/leader-election
 * and /readyz, served by libmicrohttpd on its own thread.
 *
 * Only probes and the metrics scraper should ever call it, so it is kept
 * small: at most HTTP_MAX_CONNECTIONS connections, HTTP_PER_IP_CONNECTIONS
 * from any one address, HTTP_CONNECTION_MEMORY bytes of request per
 * connection, and a connection idle for HTTP_IDLE_TIMEOUT_S is closed.
 * Anything past a limit is closed by the server, not queued.
 *
 * Checks are callbacks so the server knows nothing of what it reports on.
 * A check returns true when healthy and may set *why (a static string) for
 * the response body.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <stdbool.h>

#include "base/err.h"

struct metrics;
struct http_server;

typedef bool (*http_check_fn)(void *ctx, const char **why);

#define HTTP_MAX_CONNECTIONS 32u
#define HTTP_PER_IP_CONNECTIONS 8u
#define HTTP_IDLE_TIMEOUT_S 10u
#define HTTP_CONNECTION_MEMORY ((size_t)32 << 10)

struct http_opts {
	const char *endpoint;		/* "host:port", ":port" (all interfaces) or "[v6]:port" */
	const char *metrics_path;	/* e.g. "/metrics" */
	struct metrics *metrics;	/* borrowed */
	http_check_fn ready;		/* /readyz; NULL = always ready */
	http_check_fn leader;		/* /healthz/leader-election; NULL = not served */
	void *ctx;
	unsigned idle_timeout_s;	/* 0: HTTP_IDLE_TIMEOUT_S (tests use less) */
	bool metrics_only;		/* --metrics-address: serve the metrics path only */
};

/* Start serving; the options' pointers are borrowed until http_server_free. */
int http_server_start(struct http_server **out, const struct http_opts *o, struct err *e);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *s);
void http_server_free(struct http_server *s);	/* accepts NULL */

#endif
