// SPDX-License-Identifier: Apache-2.0
/*
 * test_http.c - the HTTP endpoint's limits, against the real server on
 * 127.0.0.1 with raw sockets: one address cannot hold more than
 * HTTP_PER_IP_CONNECTIONS connections (the next is closed by the server,
 * and a freed slot serves again), and an idle connection is closed after
 * the idle timeout. Every wait is poll() with a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "http/server.h"
#include "metrics/metrics.h"

#define DEADLINE_MS 10000

struct fixture {
	struct metrics *m;
	struct http_server *s;
	int port;
};

static int start_with(void **state, unsigned idle_s)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct http_opts o = { .endpoint = "127.0.0.1:0", .metrics_path = "/metrics",
			       .idle_timeout_s = idle_s };
	struct err e = ERR_INIT;

	fx->m = metrics_new();
	o.metrics = fx->m;
	if (http_server_start(&fx->s, &o, &e))
		return -1;
	fx->port = http_server_port(fx->s);
	*state = fx;
	return 0;
}

static int setup(void **state) { return start_with(state, 0); }
static int setup_short_idle(void **state) { return start_with(state, 1); }

static int teardown(void **state)
{
	struct fixture *fx = *state;

	http_server_free(fx->s);
	metrics_free(fx->m);
	free(fx);
	return 0;
}

static int dial(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* True when the server closes `fd` (EOF or reset) within ms. */
static bool closed_within(int fd, int ms)
{
	int64_t end = clock_now_ms() + ms;
	char buf[256];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = end - clock_now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0)
			return true;
	}
}

/* Send GET /healthz on a new connection; true when "200" and "ok" come back. */
static bool healthz_answers(int port)
{
	const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	int fd = dial(port);
	int64_t end = clock_now_ms() + DEADLINE_MS;
	char buf[1024];
	size_t n = 0;
	bool ok;

	assert_int_equal(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)(sizeof(req) - 1));
	while (n < sizeof(buf) - 1) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = end - clock_now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	close(fd);
	ok = strstr(buf, " 200 ") && strstr(buf, "\r\n\r\nok");
	return ok;
}

static void test_per_ip_limit(void **state)
{
	struct fixture *fx = *state;
	int fds[HTTP_PER_IP_CONNECTIONS], extra;

	for (unsigned i = 0; i < HTTP_PER_IP_CONNECTIONS; i++)
		fds[i] = dial(fx->port);
	/* one more from the same address: accepted by the kernel, closed by the server */
	extra = dial(fx->port);
	assert_true(closed_within(extra, DEADLINE_MS));
	close(extra);
	/* the idle ones are still open */
	assert_false(closed_within(fds[0], 100));
	close(fds[0]);
	/* a freed slot serves again (the server notices the close asynchronously) */
	{
		int64_t end = clock_now_ms() + DEADLINE_MS;
		bool ok = false;

		while (!ok && clock_now_ms() < end)
			ok = healthz_answers(fx->port);
		assert_true(ok);
	}
	for (unsigned i = 1; i < HTTP_PER_IP_CONNECTIONS; i++)
		close(fds[i]);
}

static void test_idle_connection_is_closed(void **state)
{
	struct fixture *fx = *state;
	int fd = dial(fx->port);
	int64_t start = clock_now_ms();

	/* idle timeout 1 s: closed well before the deadline, not at once */
	assert_true(closed_within(fd, DEADLINE_MS));
	assert_true(clock_now_ms() - start >= 500);
	close(fd);
	assert_true(healthz_answers(fx->port));
}

/* A request head larger than the per-connection memory is refused, not buffered. */
static void test_huge_request_head_is_refused(void **state)
{
	struct fixture *fx = *state;
	int fd = dial(fx->port);
	size_t n = HTTP_CONNECTION_MEMORY * 2;
	char *req = malloc(n + 64);
	char buf[512];
	ssize_t r;
	struct pollfd p = { fd, POLLIN, 0 };

	memcpy(req, "GET /healthz HTTP/1.1\r\nX-Big: ", 30);
	memset(req + 30, 'a', n);
	memcpy(req + 30 + n, "\r\n\r\n", 4);
	/* the server may close before reading it all */
	(void)send(fd, req, n + 34, MSG_NOSIGNAL);
	assert_true(poll(&p, 1, DEADLINE_MS) > 0);
	r = recv(fd, buf, sizeof(buf) - 1, 0);
	if (r > 0) {
		buf[r] = '\0';
		assert_null(strstr(buf, " 200 "));
	}
	free(req);
	close(fd);
	assert_true(healthz_answers(fx->port));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_per_ip_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_connection_is_closed, setup_short_idle,
						teardown),
		cmocka_unit_test_setup_teardown(test_huge_request_head_is_refused, setup, teardown),
	};
	int n = (int)(sizeof(tests) / sizeof(tests[0]));
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	printf("tests: %d passed, %d failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
