// SPDX-License-Identifier: Apache-2.0
/*
 * test_write_kick.c - request bodies on a connection that is kept between
 * requests, where the transport tells libcurl a socket is writable at once
 * instead of arming EPOLLOUT (tp_kick in src/kube/transport.c). A server of
 * its own here, as tests/unit/common's fake closes every connection after
 * one answer (a new socket is armed as libcurl asks and never kicked):
 * HTTP/1.1 with Content-Length and keep-alive, answering each request with
 * the length of the body it read ({"n":"LEN"}), with a small receive
 * buffer so that a large body fills the client's send buffer.
 *   - libcurl takes the idle connection up again for each request and asks
 *     to write: the kick sends what fits, and a body larger than the
 *     buffers waits for EPOLLOUT, armed after the kick (a transport that
 *     dropped the socket's OUT after the kick would stall it);
 *   - every request, small and large, gets its own answer, and all of them
 *     ride on the one connection.
 */
#include "kube_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "base/err.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

#define KA_CONNS 4
#define KA_BODY_MAX ((size_t)16 << 20)
/* The server's receive buffer: small, so a large body fills the client's. */
#define KA_RCVBUF 4096
#define KA_IDLE_MS 20000

struct ka;

struct ka_conn {
	struct ka *ka;
	int fd;
};

struct ka {
	int lfd;
	char url[64];
	atomic_bool stop;
	atomic_int accepted;
	pthread_t acceptor;
	pthread_t conn[KA_CONNS];
	struct ka_conn conns[KA_CONNS];
	int nconn;		/* acceptor thread only until it is joined */
};

/* Read what is there into b (cap KA_BODY_MAX); false at EOF, error, stop or idle. */
static bool ka_read(struct ka *ka, int fd, char *b, size_t *len)
{
	int waited = 0;

	while (!atomic_load(&ka->stop) && waited < KA_IDLE_MS) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 50) == 0) {	/* a look at `stop` */
			waited += 50;
			continue;
		}
		n = read(fd, b + *len, KA_BODY_MAX - *len);
		if (n <= 0)
			return false;
		*len += (size_t)n;
		return true;
	}
	return false;
}

static void *ka_serve(void *p)
{
	struct ka_conn *kc = p;
	struct ka *ka = kc->ka;
	int fd = kc->fd;
	char *b = malloc(KA_BODY_MAX + 1);
	size_t len = 0;

	for (;;) {
		char *end, *cl;
		size_t head, body = 0, total;
		char out[128];
		int n;

		b[len] = '\0';
		while (!(end = strstr(b, "\r\n\r\n"))) {
			if (len >= KA_BODY_MAX || !ka_read(ka, fd, b, &len))
				goto out;
			b[len] = '\0';
		}
		head = (size_t)(end - b) + 4;
		cl = strcasestr(b, "\r\ncontent-length:");
		if (cl && cl < end)
			body = strtoul(cl + 17, NULL, 10);
		total = head + body;
		if (total > KA_BODY_MAX)
			goto out;
		while (len < total) {
			if (!ka_read(ka, fd, b, &len))
				goto out;
		}
		n = snprintf(out, sizeof(out), "{\"n\":\"%zu\"}", body);
		dprintf(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			"Content-Length: %d\r\n\r\n%s", n, out);
		memmove(b, b + total, len - total);
		len -= total;
	}
out:
	free(b);
	return NULL;
}

static void *ka_accept(void *p)
{
	struct ka *ka = p;

	while (!atomic_load(&ka->stop)) {
		struct pollfd pl = { ka->lfd, POLLIN, 0 };
		int fd;

		if (poll(&pl, 1, 50) <= 0)	/* a look at `stop` */
			continue;
		fd = accept(ka->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (ka->nconn == KA_CONNS) {
			close(fd);
			continue;
		}
		ka->conns[ka->nconn] = (struct ka_conn){ .ka = ka, .fd = fd };
		atomic_fetch_add(&ka->accepted, 1);
		if (pthread_create(&ka->conn[ka->nconn], NULL, ka_serve, &ka->conns[ka->nconn])) {
			close(fd);
			continue;
		}
		ka->nconn++;
	}
	return NULL;
}

static void ka_start(struct ka *ka)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	memset(ka, 0, sizeof(*ka));
	ka->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(ka->lfd >= 0);
	/* inherited by the accepted sockets: before listen, so the window is small */
	assert_int_equal(setsockopt(ka->lfd, SOL_SOCKET, SO_RCVBUF, &(int){ KA_RCVBUF },
				    sizeof(int)), 0);
	assert_int_equal(bind(ka->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ka->lfd, 8), 0);
	assert_int_equal(getsockname(ka->lfd, (struct sockaddr *)&a, &al), 0);
	snprintf(ka->url, sizeof(ka->url), "http://127.0.0.1:%d", ntohs(a.sin_port));
	assert_int_equal(pthread_create(&ka->acceptor, NULL, ka_accept, ka), 0);
}

static void ka_stop(struct ka *ka)
{
	atomic_store(&ka->stop, true);
	pthread_join(ka->acceptor, NULL);
	for (int i = 0; i < ka->nconn; i++) {
		pthread_join(ka->conn[i], NULL);
		close(ka->conns[i].fd);
	}
	close(ka->lfd);
}

/* POST `len` bytes; the server's count of them must be len. */
static void post_and_check(struct kube_client *c, size_t len)
{
	char *body = malloc(len + 1);
	struct err e = ERR_INIT;
	json_t *out = NULL;
	char want[32];

	assert_non_null(body);
	for (size_t i = 0; i < len; i++)
		body[i] = (char)('a' + i % 26);
	body[len] = '\0';
	snprintf(want, sizeof(want), "%zu", len);
	if (kube_create_text(c, "/api/v1/namespaces/ns/configmaps", body, len, &out, &e))
		fail_msg("POST of %zu bytes: %s", len, e.msg);
	assert_string_equal(json_string_value(json_object_get(out, "n")) ?: "", want);
	json_decref(out);
	err_release(&e);
	free(body);
}

static void test_bodies_on_a_kept_connection_arrive_whole(void **state)
{
	static const size_t sizes[] = { 10, 100 * 1024, 1024 * 1024, 200, 300 * 1024, 10 << 20 };
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = -1, .timeout_ms = 10000 };
	struct kube_client *c = NULL;
	struct err e = ERR_INIT;
	json_t *out = NULL;
	struct ka ka;

	(void)state;
	ka_start(&ka);
	cfg.server = ka.url;
	assert_int_equal(kube_client_new(&c, &cfg, &o, &e), 0);
	assert_int_equal(kube_get(c, "/api/v1/namespaces/ns/configmaps/x", &out, &e), 0);
	json_decref(out);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		post_and_check(c, sizes[i]);
	assert_int_equal(atomic_load(&ka.accepted), 1);
	kube_client_free(c);
	ka_stop(&ka);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bodies_on_a_kept_connection_arrive_whole),
	};

	return kt_run("kube-write-kick", tests, sizeof(tests) / sizeof(tests[0]));
}
