// SPDX-License-Identifier: Apache-2.0
/*
 * tcp-proxy - a connection-level TCP relay for tests: every connection
 * accepted on 127.0.0.1 is relayed byte for byte (TLS passes through
 * untouched) to the target address.
 *
 *     tcp-proxy --target=HOST:PORT [--listen-port=N] [--port-file=PATH]
 *
 * One process, one thread, one poll loop, so `kill -STOP` freezes every
 * connection it carries at once (the peers see a silent path, neither
 * reset nor closed) and `kill -CONT` resumes them where they were: the way
 * to partition ONE client from the API server while others keep talking
 * to it directly. The chosen port (0 = any free one) is written to
 * --port-file once the proxy listens. SIGTERM/SIGINT: close everything and
 * exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 256
#define BUF_SIZE 65536

/* One direction of a relayed connection: bytes read from `from`, not yet written to `to`. */
struct half {
	int from, to;
	char buf[BUF_SIZE];
	size_t len, off;
	bool eof;		/* `from` ended; shut `to` for writing once drained */
	bool shut;		/* and that was done */
};

struct pair {
	bool used;
	struct half up, down;	/* client -> target, target -> client */
};

static struct pair pairs[MAX_PAIRS];
static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static int connect_target(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, one = 1;

	if (getaddrinfo(host, port, &hints, &res))
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void close_pair(struct pair *p)
{
	close(p->up.from);
	close(p->down.from);
	p->used = false;
}

/* Move what can be moved for one direction; false when the pair is finished. */
static bool pump(struct half *h, short rev_from)
{
	if ((rev_from & (POLLIN | POLLHUP | POLLERR)) && !h->eof && h->len == 0) {
		ssize_t r = recv(h->from, h->buf, sizeof(h->buf), MSG_DONTWAIT);

		if (r > 0) {
			h->len = (size_t)r;
			h->off = 0;
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			h->eof = true;
		}
	}
	if (h->len) {
		ssize_t w = send(h->to, h->buf + h->off, h->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w > 0) {
			h->off += (size_t)w;
			h->len -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			return false;
		}
	}
	if (h->eof && h->len == 0 && !h->shut) {
		shutdown(h->to, SHUT_WR);
		h->shut = true;
	}
	return true;
}

static int parse_target(const char *arg, char *host, size_t hn, char *port, size_t pn)
{
	const char *colon = strrchr(arg, ':');

	if (!colon || colon == arg || !colon[1] || (size_t)(colon - arg) >= hn ||
	    strlen(colon + 1) >= pn)
		return -1;
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	snprintf(port, pn, "%s", colon + 1);
	return 0;
}

int main(int argc, char **argv)
{
	char host[256] = "", port[16] = "";
	const char *port_file = NULL;
	long listen_port = 0;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct sigaction sa = { .sa_handler = on_stop };
	int lfd, one = 1;

	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--target=", 9) &&
		    parse_target(argv[i] + 9, host, sizeof(host), port, sizeof(port)) == 0)
			continue;
		if (!strncmp(argv[i], "--listen-port=", 14)) {
			char *end;

			listen_port = strtol(argv[i] + 14, &end, 10);
			if (!*end && listen_port >= 0 && listen_port < 65536)
				continue;
		}
		if (!strncmp(argv[i], "--port-file=", 12) && argv[i][12]) {
			port_file = argv[i] + 12;
			continue;
		}
		fprintf(stderr, "usage: tcp-proxy --target=HOST:PORT [--listen-port=N] [--port-file=PATH]\n"
				"tcp-proxy: bad argument '%s'\n", argv[i]);
		return 2;
	}
	if (!*host) {
		fprintf(stderr, "tcp-proxy: --target=HOST:PORT is required\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	a.sin_port = htons((unsigned short)listen_port);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen)) {
		perror("tcp-proxy: cannot listen on 127.0.0.1");
		return 1;
	}
	if (port_file) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		f = fopen(tmp, "w");
		if (!f || fprintf(f, "%u\n", ntohs(a.sin_port)) < 0 || fclose(f) ||
		    rename(tmp, port_file)) {
			perror("tcp-proxy: cannot write the port file");
			return 1;
		}
	}

	while (!stopping) {
		struct pollfd pfd[1 + 2 * MAX_PAIRS];
		int idx[MAX_PAIRS];
		nfds_t n = 1;

		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = &pairs[i];

			idx[i] = -1;
			if (!p->used)
				continue;
			idx[i] = (int)n;
			/* read a side only while its buffer is empty; wait to write while it is not */
			pfd[n++] = (struct pollfd){ .fd = p->up.from,
				.events = (short)((!p->up.eof && !p->up.len ? POLLIN : 0) |
						  (p->down.len ? POLLOUT : 0)) };
			pfd[n++] = (struct pollfd){ .fd = p->down.from,
				.events = (short)((!p->down.eof && !p->down.len ? POLLIN : 0) |
						  (p->up.len ? POLLOUT : 0)) };
		}
		if (poll(pfd, n, 1000) < 0) {
			if (errno == EINTR)
				continue;
			perror("tcp-proxy: poll");
			return 1;
		}
		for (int i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = &pairs[i];
			short rc, rt;

			if (idx[i] < 0 || !p->used)
				continue;
			rc = pfd[idx[i]].revents;
			rt = pfd[idx[i] + 1].revents;
			/* a side that hung up or failed after its end was read is finished */
			if (!pump(&p->up, rc) || !pump(&p->down, rt) ||
			    (p->up.eof && p->down.eof && !p->up.len && !p->down.len) ||
			    ((rc & (POLLHUP | POLLERR)) && p->up.eof) ||
			    ((rt & (POLLHUP | POLLERR)) && p->down.eof))
				close_pair(p);
		}
		if (pfd[0].revents & POLLIN) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), tfd, slot = -1;

			if (cfd < 0)
				continue;
			for (int i = 0; i < MAX_PAIRS && slot < 0; i++)
				if (!pairs[i].used)
					slot = i;
			tfd = slot >= 0 ? connect_target(host, port) : -1;
			if (tfd < 0) {
				close(cfd);
				continue;
			}
			setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			memset(&pairs[slot], 0, sizeof(pairs[slot]));
			pairs[slot].used = true;
			pairs[slot].up.from = cfd;
			pairs[slot].up.to = tfd;
			pairs[slot].down.from = tfd;
			pairs[slot].down.to = cfd;
		}
	}
	for (int i = 0; i < MAX_PAIRS; i++)
		if (pairs[i].used)
			close_pair(&pairs[i]);
	close(lfd);
	return 0;
}
