// SPDX-License-Identifier: Apache-2.0
/*
 * server.c - the HTTP endpoint (see server.h).
 *
 * DESIGN: libmicrohttpd's internal polling thread answers every request;
 * handlers only read thread-safe state (the metrics registry and the check
 * callbacks), so no lock is taken here.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "metrics/metrics.h"

#define METRICS_MAX_BYTES (16 * 1024 * 1024)

struct http_server {
	struct MHD_Daemon *daemon;
	struct http_opts o;
	char *metrics_path;
	int port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ok;

	MHD_add_response_header(r, "Content-Type", type);
	ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result check(struct MHD_Connection *conn, http_check_fn fn, void *ctx)
{
	const char *why = NULL;
	bool ok = fn ? fn(ctx, &why) : true;
	char *body = xasprintf("%s%s%s\n", ok ? "ok" : "not ok", why ? ": " : "", why ? why : "");

	return reply(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", body,
		     strlen(body));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_size, void **state)
{
	struct http_server *s = cls;

	(void)version;
	(void)data;
	(void)data_size;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     xstrdup("method not allowed\n"), 19);
	if (!strcmp(url, s->metrics_path)) {
		struct buf b;
		size_t len;
		char *body;

		buf_init(&b, METRICS_MAX_BYTES);
		if (metrics_render(s->o.metrics, &b))
			log_warn("metrics output exceeds %d bytes and was cut", METRICS_MAX_BYTES);
		body = buf_detach(&b, &len);
		return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len);
	}
	if (s->o.metrics_only)
		; /* --metrics-address: nothing else, as upstream */
	else if (!strcmp(url, "/healthz"))
		return check(conn, NULL, NULL);
	else if (!strcmp(url, "/readyz"))
		return check(conn, s->o.ready, s->o.ctx);
	else if (!strcmp(url, "/healthz/leader-election") && s->o.leader)
		return check(conn, s->o.leader, s->o.ctx);
	return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", xstrdup("not found\n"), 10);
}

/* Parse "host:port", ":port" or "[v6]:port" into a socket address. */
static int parse_endpoint(const char *ep, struct sockaddr_storage *ss, socklen_t *len,
			  struct err *e)
{
	const char *colon = strrchr(ep, ':');
	char host[128];
	char *end;
	long port;
	size_t hlen;

	if (!colon)
		return err_set(e, ERR_INVALID, "--http-endpoint \"%s\": want host:port or :port", ep);
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535)
		return err_set(e, ERR_INVALID, "--http-endpoint \"%s\": bad port", ep);
	hlen = colon - ep;
	if (hlen >= 2 && ep[0] == '[' && ep[hlen - 1] == ']') {
		ep++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return err_set(e, ERR_INVALID, "--http-endpoint \"%s\": host too long", ep);
	memcpy(host, ep, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (!*host) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		in->sin_port = htons((uint16_t)port);
		*len = sizeof(*in);
	} else if (strchr(host, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return err_set(e, ERR_INVALID, "--http-endpoint \"%s\": bad IPv6 address", ep);
		*len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		if (!strcmp(host, "localhost"))
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return err_set(e, ERR_INVALID, "--http-endpoint \"%s\": want a numeric address", ep);
		*len = sizeof(*in);
	}
	return 0;
}

int http_server_start(struct http_server **out, const struct http_opts *o, struct err *e)
{
	struct http_server *s;
	struct sockaddr_storage ss;
	socklen_t len;
	const union MHD_DaemonInfo *info;
	int rc;

	*out = NULL;
	if ((rc = parse_endpoint(o->endpoint, &ss, &len, e)))
		return rc;
	s = xcalloc(1, sizeof(*s));
	s->o = *o;
	s->metrics_path = xstrdup(o->metrics_path && *o->metrics_path ? o->metrics_path : "/metrics");
	s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
				     (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				     0, NULL, NULL, handle, s,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNECTIONS,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_PER_IP_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT,
				     o->idle_timeout_s ? o->idle_timeout_s : HTTP_IDLE_TIMEOUT_S,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONNECTION_MEMORY,
				     MHD_OPTION_END);
	if (!s->daemon) {
		free(s->metrics_path);
		free(s);
		return err_set(e, ERR_FAILED, "cannot listen on --http-endpoint \"%s\" (in use or not "
			       "permitted?)", o->endpoint);
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	*out = s;
	return 0;
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	free(s->metrics_path);
	free(s);
}
