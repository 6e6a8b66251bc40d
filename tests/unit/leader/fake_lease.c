// SPDX-License-Identifier: Apache-2.0
/*
 * fake_lease.c - the one-Lease API server stand-in of the leader election
 * tests (see fake_lease.h).
 *
 * DESIGN: `mu` guards everything in struct fake_lease. A connection thread
 * reads its whole request without the lock, then takes it to decide and
 * build the answer, and sends with the lock released. A hung request waits
 * on `cond` (in short slices, to notice a client that gave up) until the
 * mode changes or the server stops.
 */
#include "fake_lease.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/clock.h"
#include "base/xalloc.h"

#define FL_MAX_CONNS 512
#define FL_MAX_REQUEST 65536

struct fake_lease {
	char url[64];
	char *item, *collection;
	int lfd;
	pthread_t acceptor;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stopping;
	enum fl_mode mode;
	int conflicts;			/* PUTs still to refuse */
	int64_t delay_ms;		/* before each answer */
	int64_t last_put_at;
	json_t *lease;			/* NULL: absent */
	long long rv;
	size_t gets, puts, posts, hanging;
	pthread_t conns[FL_MAX_CONNS];
	size_t nconns;
};

struct fl_conn {
	struct fake_lease *f;
	int fd;
};

static void send_reply(int fd, int status, const char *body)
{
	char *r = xasprintf("HTTP/1.1 %d -\r\nContent-Type: application/json\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			    status, strlen(body), body);
	size_t off = 0, len = strlen(r);

	while (off < len) {
		ssize_t w = send(fd, r + off, len - off, MSG_NOSIGNAL);

		if (w <= 0 && errno != EINTR)
			break;
		if (w > 0)
			off += (size_t)w;
	}
	free(r);
}

static char *status_body(int code, const char *reason, const char *msg)
{
	return xasprintf("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
			 "\"message\":\"%s\",\"reason\":\"%s\",\"code\":%d}", msg, reason, code);
}

static void now_micro(char *buf, size_t n)
{
	struct timeval tv;
	struct tm tm;
	size_t k;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%06ldZ", (long)tv.tv_usec);
}

/* Store `obj` (owned) as the Lease with a fresh resourceVersion. Caller holds mu. */
static void store(struct fake_lease *f, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	char rv[32];

	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(obj, "metadata", meta);
	}
	snprintf(rv, sizeof(rv), "%lld", ++f->rv);
	json_object_set_new(meta, "resourceVersion", json_string(rv));
	json_decref(f->lease);
	f->lease = obj;
}

static bool client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char c;

	return poll(&p, 1, 0) > 0 && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

/* Decide the answer to one request. Caller holds mu; returns the status, *body heap. */
static int answer(struct fake_lease *f, const char *verb, const char *target, const char *payload,
		  char **body)
{
	json_t *obj;
	const char *rv;
	char cur[32];

	if (f->mode == FL_FAIL) {
		*body = status_body(500, "InternalError", "injected failure");
		return 500;
	}
	if (!strcmp(verb, "GET") && !strcmp(target, f->item)) {
		if (!f->lease) {
			*body = status_body(404, "NotFound", "leases not found");
			return 404;
		}
		*body = json_dumps(f->lease, JSON_COMPACT);
		return 200;
	}
	obj = json_loads(payload, 0, NULL);
	if (!json_is_object(obj)) {
		json_decref(obj);
		*body = status_body(400, "BadRequest", "body is not a JSON object");
		return 400;
	}
	if (!strcmp(verb, "POST") && !strcmp(target, f->collection)) {
		if (f->lease) {
			json_decref(obj);
			*body = status_body(409, "AlreadyExists", "leases already exists");
			return 409;
		}
		store(f, obj);
		*body = json_dumps(f->lease, JSON_COMPACT);
		return 201;
	}
	if (!strcmp(verb, "PUT") && !strcmp(target, f->item)) {
		rv = json_string_value(json_object_get(json_object_get(obj, "metadata"),
						       "resourceVersion"));
		snprintf(cur, sizeof(cur), "%lld", f->rv);
		if (!f->lease) {
			json_decref(obj);
			*body = status_body(404, "NotFound", "leases not found");
			return 404;
		}
		if (f->conflicts > 0 || !rv || strcmp(rv, cur)) {
			if (f->conflicts > 0)
				f->conflicts--;
			json_decref(obj);
			*body = status_body(409, "Conflict", "the object has been modified");
			return 409;
		}
		store(f, obj);
		*body = json_dumps(f->lease, JSON_COMPACT);
		return 200;
	}
	json_decref(obj);
	*body = status_body(404, "NotFound", "no such path");
	return 404;
}

/* Read one request: head and Content-Length bytes of body. 0 on success. */
static int read_request(int fd, char *buf, size_t cap, char **payload)
{
	size_t n = 0, want = 0;
	char *end = NULL, *cl;

	for (;;) {
		ssize_t r;

		if (end && n >= (size_t)(end + 4 - buf) + want)
			break;
		if (n == cap - 1)
			return -1;
		r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			cl = strcasestr(buf, "\r\nContent-Length:");
			want = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
			if (want > cap / 2)
				return -1;
		}
	}
	*payload = end + 4;
	return 0;
}

static void *serve(void *arg)
{
	struct fl_conn *c = arg;
	struct fake_lease *f = c->f;
	char *req = xmalloc(FL_MAX_REQUEST), *payload = NULL, *body = NULL;
	char verb[16], target[1024];
	int status = 0;
	bool gone = false;
	int64_t arrived;

	if (read_request(c->fd, req, FL_MAX_REQUEST, &payload) ||
	    sscanf(req, "%15s %1023s", verb, target) != 2)
		goto out;
	pthread_mutex_lock(&f->mu);
	f->gets += !strcmp(verb, "GET");
	f->puts += !strcmp(verb, "PUT");
	if (!strcmp(verb, "PUT"))
		f->last_put_at = clock_now_ms();
	arrived = clock_now_ms();
	f->posts += !strcmp(verb, "POST");
	pthread_cond_broadcast(&f->cond);
	/* a hung request whose client gave up is dropped, never applied late */
	f->hanging++;
	while ((f->mode == FL_HANG || clock_now_ms() < arrived + f->delay_ms) && !f->stopping &&
	       !(gone = client_gone(c->fd))) {
		struct timespec ts = clock_deadline_ms(20);

		pthread_cond_timedwait(&f->cond, &f->mu, &ts);
	}
	f->hanging--;
	if (!f->stopping && !gone)
		status = answer(f, verb, target, payload, &body);
	pthread_mutex_unlock(&f->mu);
	if (status)
		send_reply(c->fd, status, body);
out:
	free(body);
	free(req);
	close(c->fd);
	free(c);
	return NULL;
}

static void *accept_loop(void *arg)
{
	struct fake_lease *f = arg;

	for (;;) {
		int fd = accept(f->lfd, NULL, NULL);
		struct fl_conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;	/* shut down by fl_stop */
		}
		c = xcalloc(1, sizeof(*c));
		c->f = f;
		c->fd = fd;
		pthread_mutex_lock(&f->mu);
		if (f->stopping || f->nconns == FL_MAX_CONNS ||
		    pthread_create(&f->conns[f->nconns], NULL, serve, c)) {
			close(fd);
			free(c);
		} else {
			f->nconns++;
		}
		pthread_mutex_unlock(&f->mu);
	}
}

struct fake_lease *fl_start(const char *ns, const char *name)
{
	struct fake_lease *f = xcalloc(1, sizeof(*f));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	f->collection = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", ns);
	f->item = xasprintf("%s/%s", f->collection, name);
	f->rv = 1000;
	pthread_mutex_init(&f->mu, NULL);
	clock_cond_init(&f->cond);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(f->lfd, 64) ||
	    getsockname(f->lfd, (struct sockaddr *)&a, &alen) ||
	    pthread_create(&f->acceptor, NULL, accept_loop, f)) {
		if (f->lfd >= 0)
			close(f->lfd);
		pthread_mutex_destroy(&f->mu);
		pthread_cond_destroy(&f->cond);
		free(f->collection);
		free(f->item);
		free(f);
		return NULL;
	}
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", ntohs(a.sin_port));
	return f;
}

void fl_stop(struct fake_lease *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stopping = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->acceptor, NULL);
	close(f->lfd);
	for (size_t i = 0; i < f->nconns; i++)
		pthread_join(f->conns[i], NULL);
	json_decref(f->lease);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cond);
	free(f->collection);
	free(f->item);
	free(f);
}

const char *fl_url(const struct fake_lease *f)
{
	return f->url;
}

void fl_set_mode(struct fake_lease *f, enum fl_mode m)
{
	pthread_mutex_lock(&f->mu);
	f->mode = m;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
}

void fl_set_delay(struct fake_lease *f, int64_t ms)
{
	pthread_mutex_lock(&f->mu);
	f->delay_ms = ms;
	pthread_mutex_unlock(&f->mu);
}

int64_t fl_last_put_at(struct fake_lease *f)
{
	int64_t t;

	pthread_mutex_lock(&f->mu);
	t = f->last_put_at;
	pthread_mutex_unlock(&f->mu);
	return t;
}

void fl_conflict_puts(struct fake_lease *f, int n)
{
	pthread_mutex_lock(&f->mu);
	f->conflicts = n;
	pthread_mutex_unlock(&f->mu);
}

void fl_take(struct fake_lease *f, const char *holder, int duration_s)
{
	char now[40];
	json_t *obj, *spec;

	now_micro(now, sizeof(now));
	pthread_mutex_lock(&f->mu);
	obj = f->lease ? json_deep_copy(f->lease)
		       : json_pack("{s:s, s:s, s:{}}", "apiVersion", "coordination.k8s.io/v1",
				   "kind", "Lease", "metadata");
	spec = json_object_get(obj, "spec");
	if (!json_is_object(spec)) {
		spec = json_object();
		json_object_set_new(obj, "spec", spec);
	}
	json_object_set_new(spec, "holderIdentity", json_string(holder));
	json_object_set_new(spec, "leaseDurationSeconds", json_integer(duration_s));
	json_object_set_new(spec, "renewTime", json_string(now));
	json_object_set_new(spec, "acquireTime", json_string(now));
	store(f, obj);
	pthread_mutex_unlock(&f->mu);
}

size_t fl_count(struct fake_lease *f, const char *verb)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = !strcmp(verb, "GET") ? f->gets : !strcmp(verb, "PUT") ? f->puts
		: !strcmp(verb, "POST") ? f->posts : 0;
	pthread_mutex_unlock(&f->mu);
	return n;
}

size_t fl_hanging(struct fake_lease *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->hanging;
	pthread_mutex_unlock(&f->mu);
	return n;
}

char *fl_spec(struct fake_lease *f, const char *field)
{
	json_t *v;
	char *s;

	pthread_mutex_lock(&f->mu);
	v = json_object_get(json_object_get(f->lease, "spec"), field);
	if (json_is_string(v))
		s = xstrdup(json_string_value(v));
	else if (json_is_integer(v))
		s = xasprintf("%lld", (long long)json_integer_value(v));
	else
		s = xstrdup("");
	pthread_mutex_unlock(&f->mu);
	return s;
}

bool fl_exists(struct fake_lease *f)
{
	bool v;

	pthread_mutex_lock(&f->mu);
	v = f->lease != NULL;
	pthread_mutex_unlock(&f->mu);
	return v;
}

bool fl_wait_count(struct fake_lease *f, const char *verb, size_t n, int64_t ms)
{
	int64_t until = clock_now_ms() + ms;

	while (fl_count(f, verb) < n) {
		if (clock_now_ms() >= until)
			return false;
		pthread_mutex_lock(&f->mu);
		{
			struct timespec ts = clock_deadline_ms(10);

			pthread_cond_timedwait(&f->cond, &f->mu, &ts);
		}
		pthread_mutex_unlock(&f->mu);
	}
	return true;
}
