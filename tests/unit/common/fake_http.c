// SPDX-License-Identifier: Apache-2.0
/*
 * fake_http.c - the HTTP/1.1 plumbing of the fake API servers (see
 * fake_http.h).
 *
 * DESIGN: `mu` guards only the count of running connection threads, which
 * fhttp_stop waits to reach zero (`cond`).
 */
#include "fake_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"

#define BODY_MAX ((size_t)8 << 20)
#define HEAD_MAX 16384

struct fhttp {
	char url[64];
	int lfd;
	pthread_t acceptor;
	fhttp_handler handler;
	void *ctx;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	size_t conns;
};

struct conn {
	struct fhttp *s;
	int fd;
};

int fhttp_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void fhttp_respond(int fd, int status, json_t *body)
{
	char *b = json_dumps(body, JSON_COMPACT);
	char *r = xasprintf("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			    status, strlen(b), b);

	fhttp_write_all(fd, r, strlen(r));
	free(r);
	free(b);
}

void fhttp_status(int fd, int code, const char *reason, const char *msg)
{
	json_t *st = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "kind", "Status",
			       "apiVersion", "v1", "status", "Failure", "message", msg,
			       "reason", reason, "code", code);

	fhttp_respond(fd, code, st);
	json_decref(st);
}

int fhttp_watch_head(int fd)
{
	const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			   "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";

	return fhttp_write_all(fd, head, strlen(head));
}

int fhttp_chunk(int fd, const char *line, size_t len)
{
	char head[32];

	snprintf(head, sizeof(head), "%zx\r\n", len + 1);
	if (fhttp_write_all(fd, head, strlen(head)) || fhttp_write_all(fd, line, len) ||
	    fhttp_write_all(fd, "\n\r\n", 3))
		return -1;
	return 0;
}

int fhttp_chunk_end(int fd)
{
	return fhttp_write_all(fd, "0\r\n\r\n", 5);
}

bool fhttp_peer_gone(int fd)
{
	struct pollfd p = { fd, POLLIN | POLLRDHUP, 0 };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return false;
	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

void fhttp_url_decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char h[3] = { s[1], s[2], 0 };

			*o++ = (char)strtol(h, NULL, 16);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

char *fhttp_header(const char *head, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *v = p + 2 + n;

		if (strncasecmp(p + 2, name, n) || *v != ':')
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		return xstrndup(v, strcspn(v, "\r\n"));
	}
	return NULL;
}

/* Read the request head and body; 0 on success. Answers "Expect: 100-continue". */
static int read_request(int fd, struct buf *b, size_t *head_len, size_t *body_len)
{
	char chunk[65536];
	char *end = NULL;
	size_t need = 0;

	for (;;) {
		ssize_t r;

		if (!end && b->data && (end = strstr(b->data, "\r\n\r\n"))) {
			const char *cl = strcasestr(b->data, "\r\ncontent-length:");
			const char *ex = strcasestr(b->data, "\r\nexpect: 100-continue");

			*head_len = (size_t)(end - b->data) + 4;
			*body_len = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
			need = *head_len + *body_len;
			if (ex && ex < end && b->len < need)
				fhttp_write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		}
		if (end && b->len >= need)
			return 0;
		if (!end && b->len > HEAD_MAX)
			return -1;
		r = recv(fd, chunk, sizeof(chunk), 0);
		if (r <= 0 || buf_append(b, chunk, (size_t)r))
			return -1;
		if (end)
			end = b->data + *head_len - 4;	/* the buffer may have moved */
	}
}

static void *serve(void *arg)
{
	struct conn *c = arg;
	struct fhttp *s = c->s;
	char method[16], target[4096];
	size_t hl = 0, bl = 0;
	struct buf b;

	buf_init(&b, BODY_MAX);
	if (!read_request(c->fd, &b, &hl, &bl) &&
	    sscanf(b.data, "%15s %4095s", method, target) == 2) {
		char *head = xstrndup(b.data, hl);

		s->handler(s->ctx, c->fd, method, target, head, b.data + hl);
		free(head);
	}
	buf_release(&b);
	close(c->fd);
	free(c);
	pthread_mutex_lock(&s->mu);
	s->conns--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void *accept_loop(void *arg)
{
	struct fhttp *s = arg;

	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		struct conn *c;
		pthread_t t;
		pthread_attr_t attr;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;	/* the listening socket was shut down */
		}
		c = xcalloc(1, sizeof(*c));
		c->s = s;
		c->fd = fd;
		pthread_mutex_lock(&s->mu);
		s->conns++;
		pthread_mutex_unlock(&s->mu);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, serve, c)) {
			close(fd);
			free(c);
			pthread_mutex_lock(&s->mu);
			s->conns--;
			pthread_mutex_unlock(&s->mu);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

struct fhttp *fhttp_start(fhttp_handler handler, void *ctx)
{
	struct fhttp *s = xcalloc(1, sizeof(*s));
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	s->handler = handler;
	s->ctx = ctx;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(s->lfd, 1024) || getsockname(s->lfd, (struct sockaddr *)&a, &len)) {
		if (s->lfd >= 0)
			close(s->lfd);
		free(s);
		return NULL;
	}
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", ntohs(a.sin_port));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->acceptor, NULL, accept_loop, s)) {
		close(s->lfd);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cond);
		free(s);
		return NULL;
	}
	return s;
}

void fhttp_stop(struct fhttp *s)
{
	if (!s)
		return;
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->acceptor, NULL);
	close(s->lfd);
	pthread_mutex_lock(&s->mu);
	while (s->conns)
		pthread_cond_wait(&s->cond, &s->mu);
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	free(s);
}

const char *fhttp_url(const struct fhttp *s)
{
	return s->url;
}
