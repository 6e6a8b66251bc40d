// SPDX-License-Identifier: Apache-2.0
/*
 * fake_apiserver.c - the in-process API server stand-in of the informer
 * tests (see fake_apiserver.h).
 *
 * DESIGN: `mu` guards everything in struct fake; connection threads hold it
 * only to read the world or the event log, never while writing to a socket,
 * and wait on `cond` (with a short timeout, to notice a client that went
 * away or a cut) for new events.
 */
#include "fake_apiserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "fake_http.h"

#define MAX_OBJECTS 4096
#define MAX_EVENTS 16384
#define MAX_CONNS 1024

struct object {
	char name[64];
	int64_t rv;
	bool bad;
	bool live;
};

struct event {
	char type[16];		/* ADDED MODIFIED DELETED BOOKMARK */
	struct object obj;
};

struct fake {
	char *path;
	char url[64];
	int lfd;
	pthread_t acceptor;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stopping;
	int64_t rv;			/* last resourceVersion handed out */
	int64_t compacted;		/* watches from below this get 410 */
	unsigned cut_gen;		/* bumped by fake_cut_watches */
	unsigned end_gen;		/* bumped by fake_end_watches */
	struct object objs[MAX_OBJECTS];
	size_t nobjs;
	struct event *events;		/* MAX_EVENTS */
	size_t nevents;
	size_t lists, watches, open_watches;
	char last_watch_rv[32];
	size_t padding;			/* bytes of annotation added to every object */
	bool watch_ends_at_once;	/* watches end gracefully before any event */
	bool stream_refused;		/* streamed lists get 422, as without WatchList */
	bool stream_end_withheld;	/* streamed lists send no initial-events-end */
	size_t streams;			/* streamed list requests */
	long last_list_limit;
	pthread_t conns[MAX_CONNS];
	size_t nconns;
};

struct conn {
	struct fake *f;
	int fd;
};

static void obj_json(struct buf *b, const struct object *o, size_t padding)
{
	if (padding && !o->bad) {
		buf_appendf(b, "{\"metadata\":{\"name\":\"%s\",\"resourceVersion\":\"%lld\","
			    "\"annotations\":{\"pad\":\"", o->name, (long long)o->rv);
		for (size_t i = 0; i < padding; i++)
			buf_append(b, "x", 1);
		buf_appendf(b, "\"}},\"spec\":{\"csi\":{\"driver\":\"d\",\"volumeHandle\":"
			    "\"%s\"}}}", o->name);
	} else if (o->bad)
		buf_appendf(b, "{\"metadata\":{\"name\":\"%s\",\"resourceVersion\":\"%lld\","
			    "\"labels\":[]}}", o->name, (long long)o->rv);
	else
		buf_appendf(b, "{\"metadata\":{\"name\":\"%s\",\"resourceVersion\":\"%lld\"},"
			    "\"spec\":{\"csi\":{\"driver\":\"d\",\"volumeHandle\":\"%s\"}}}",
			    o->name, (long long)o->rv, o->name);
}

static void respond(int fd, int status, const char *body)
{
	char *r = xasprintf("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			    status, strlen(body), body);

	fhttp_write_all(fd, r, strlen(r));
	free(r);
}

/* The value of query parameter `key`, or NULL. Caller frees. */
static char *query(const char *target, const char *key)
{
	const char *q = strchr(target, '?');
	size_t kl = strlen(key);

	while (q) {
		q++;
		if (!strncmp(q, key, kl) && q[kl] == '=') {
			const char *v = q + kl + 1;

			return xstrndup(v, strcspn(v, "&"));
		}
		q = strchr(q, '&');
	}
	return NULL;
}

static void do_list(struct fake *f, int fd, const char *target)
{
	char *lim = query(target, "limit"), *cont = query(target, "continue");
	size_t limit = lim ? strtoul(lim, NULL, 10) : MAX_OBJECTS, start = cont ? strtoul(cont, NULL, 10) : 0;
	size_t i, shown = 0;
	struct buf b;

	buf_init(&b, (size_t)64 << 20);
	pthread_mutex_lock(&f->mu);
	f->lists++;
	pthread_cond_broadcast(&f->cond);
	f->last_list_limit = lim ? (long)limit : -1;
	buf_appendf(&b, "{\"kind\":\"List\",\"items\":[");
	for (i = start; i < f->nobjs && shown < limit; i++) {
		if (!f->objs[i].live)
			continue;
		if (shown++)
			buf_append(&b, ",", 1);
		obj_json(&b, &f->objs[i], f->padding);
	}
	while (i < f->nobjs && !f->objs[i].live)
		i++;
	buf_appendf(&b, "],\"metadata\":{\"resourceVersion\":\"%lld\"", (long long)f->rv);
	if (i < f->nobjs)
		buf_appendf(&b, ",\"continue\":\"%zu\"", i);
	buf_appendf(&b, "}}");
	pthread_mutex_unlock(&f->mu);
	respond(fd, 200, b.data);
	buf_release(&b);
	free(lim);
	free(cont);
}

/*
 * A streamed list (sendInitialEvents=true): every live object as ADDED, a
 * BOOKMARK annotated initial-events-end at the current resourceVersion,
 * then the events after it, as kube-apiserver's watch cache.
 */
static void do_stream(struct fake *f, int fd)
{
	const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			   "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	struct buf b;
	bool withheld;
	unsigned gen;

	pthread_mutex_lock(&f->mu);
	f->streams++;
	pthread_cond_broadcast(&f->cond);
	if (f->stream_refused) {
		pthread_mutex_unlock(&f->mu);
		respond(fd, 422, "{\"kind\":\"Status\",\"status\":\"Failure\",\"code\":422,"
			"\"reason\":\"Invalid\",\"message\":\"sendInitialEvents is forbidden for "
			"watch unless the WatchList feature gate is enabled\"}");
		return;
	}
	buf_init(&b, (size_t)64 << 20);
	for (size_t i = 0; i < f->nobjs; i++) {
		if (!f->objs[i].live)
			continue;
		buf_appendf(&b, "{\"type\":\"ADDED\",\"object\":");
		obj_json(&b, &f->objs[i], f->padding);
		buf_append(&b, "}\n", 2);
	}
	withheld = f->stream_end_withheld;
	if (!withheld)
		buf_appendf(&b, "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{"
			    "\"resourceVersion\":\"%lld\",\"annotations\":{"
			    "\"k8s.io/initial-events-end\":\"true\"}}}}\n", (long long)f->rv);
	gen = f->cut_gen;
	f->open_watches++;
	pthread_mutex_unlock(&f->mu);
	/* lines end in a newline; the chunk adds the last one */
	if (!fhttp_write_all(fd, head, strlen(head)) && (!b.len || !fhttp_chunk(fd, b.data, b.len - 1))) {
		/* the client ends the stream after the bookmark; without one, a cut does */
		pthread_mutex_lock(&f->mu);
		while (!f->stopping && f->cut_gen == gen && !fhttp_peer_gone(fd)) {
			struct timespec ts = clock_deadline_ms(50);

			pthread_cond_timedwait(&f->cond, &f->mu, &ts);
		}
		pthread_mutex_unlock(&f->mu);
	}
	buf_release(&b);
	pthread_mutex_lock(&f->mu);
	f->open_watches--;
	pthread_mutex_unlock(&f->mu);
}

static void do_watch(struct fake *f, int fd, const char *target)
{
	char *rvs = query(target, "resourceVersion");
	int64_t from = rvs ? strtoll(rvs, NULL, 10) : 0;
	const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			   "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	size_t next = 0;
	unsigned gen, egen;
	bool graceful = false;

	pthread_mutex_lock(&f->mu);
	f->watches++;
	pthread_cond_broadcast(&f->cond);
	snprintf(f->last_watch_rv, sizeof(f->last_watch_rv), "%s", rvs ? rvs : "");
	gen = f->cut_gen;
	egen = f->end_gen;
	if (from < f->compacted) {
		pthread_mutex_unlock(&f->mu);
		if (!fhttp_write_all(fd, head, strlen(head))) {
			const char *ev = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
					 "\"status\":\"Failure\",\"message\":\"too old resource version\","
					 "\"reason\":\"Expired\",\"code\":410}}";

			fhttp_chunk(fd, ev, strlen(ev));
			fhttp_write_all(fd, "0\r\n\r\n", 5);
		}
		free(rvs);
		return;
	}
	if (f->watch_ends_at_once) {
		pthread_mutex_unlock(&f->mu);
		if (!fhttp_write_all(fd, head, strlen(head)))
			fhttp_write_all(fd, "0\r\n\r\n", 5);
		free(rvs);
		return;
	}
	/* the first event after `from` */
	while (next < f->nevents && f->events[next].obj.rv <= from)
		next++;
	f->open_watches++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
	free(rvs);
	if (fhttp_write_all(fd, head, strlen(head)))
		goto out;
	for (;;) {
		struct buf b;
		bool end;

		buf_init(&b, (size_t)16 << 20);
		pthread_mutex_lock(&f->mu);
		while (next >= f->nevents && !f->stopping && f->cut_gen == gen &&
		       f->end_gen == egen) {
			struct timespec ts = clock_deadline_ms(50);

			pthread_cond_timedwait(&f->cond, &f->mu, &ts);
			if (fhttp_peer_gone(fd))
				break;
		}
		/* an end (timeoutSeconds) comes after every pending event; a cut does not */
		graceful = next >= f->nevents && f->end_gen != egen;
		end = f->stopping || f->cut_gen != gen || next >= f->nevents;
		if (!end) {
			struct event *ev = &f->events[next++];

			buf_appendf(&b, "{\"type\":\"%s\",\"object\":", ev->type);
			obj_json(&b, &ev->obj, f->padding);
			buf_append(&b, "}", 1);
		}
		pthread_mutex_unlock(&f->mu);
		if (end || fhttp_chunk(fd, b.data, b.len)) {
			if (graceful)
				fhttp_write_all(fd, "0\r\n\r\n", 5);
			buf_release(&b);
			break;
		}
		buf_release(&b);
	}
out:
	pthread_mutex_lock(&f->mu);
	f->open_watches--;
	pthread_mutex_unlock(&f->mu);
}

static void *serve(void *arg)
{
	struct conn *c = arg;
	struct fake *f = c->f;
	char req[8192], method[16], target[4096];
	size_t n = 0;

	/* read the request head (GET only: no body) */
	while (n < sizeof(req) - 1) {
		ssize_t r = recv(c->fd, req + n, sizeof(req) - 1 - n, 0);

		if (r <= 0)
			goto out;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	if (sscanf(req, "%15s %4095s", method, target) != 2 || strcmp(method, "GET") ||
	    strncmp(target, f->path, strlen(f->path))) {
		respond(c->fd, 404, "{\"kind\":\"Status\",\"code\":404,\"reason\":\"NotFound\"}");
		goto out;
	}
	if (strstr(target, "watch=1") && strstr(target, "sendInitialEvents=true"))
		do_stream(f, c->fd);
	else if (strstr(target, "watch=1"))
		do_watch(f, c->fd, target);
	else
		do_list(f, c->fd, target);
out:
	close(c->fd);
	free(c);
	return NULL;
}

static void *accept_loop(void *arg)
{
	struct fake *f = arg;

	for (;;) {
		int fd = accept(f->lfd, NULL, NULL);
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;	/* the listening socket was shut down */
		}
		c = xcalloc(1, sizeof(*c));
		c->f = f;
		c->fd = fd;
		pthread_mutex_lock(&f->mu);
		if (f->stopping || f->nconns == MAX_CONNS) {
			pthread_mutex_unlock(&f->mu);
			close(fd);
			free(c);
			continue;
		}
		pthread_create(&f->conns[f->nconns++], NULL, serve, c);
		pthread_mutex_unlock(&f->mu);
	}
	return NULL;
}

struct fake *fake_start(const char *path)
{
	struct fake *f = xcalloc(1, sizeof(*f));
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	f->path = xstrdup(path);
	f->events = xcalloc(MAX_EVENTS, sizeof(*f->events));
	f->rv = 100;
	pthread_mutex_init(&f->mu, NULL);
	clock_cond_init(&f->cond);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(f->lfd, 64) || getsockname(f->lfd, (struct sockaddr *)&a, &len)) {
		if (f->lfd >= 0)
			close(f->lfd);
		free(f->events);
		free(f->path);
		free(f);
		return NULL;
	}
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", ntohs(a.sin_port));
	pthread_create(&f->acceptor, NULL, accept_loop, f);
	return f;
}

void fake_stop(struct fake *f)
{
	size_t i;

	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stopping = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->acceptor, NULL);
	close(f->lfd);
	for (i = 0; i < f->nconns; i++)
		pthread_join(f->conns[i], NULL);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cond);
	free(f->events);
	free(f->path);
	free(f);
}

const char *fake_url(const struct fake *f)
{
	return f->url;
}

static void log_event(struct fake *f, const char *type, const struct object *o)
{
	if (f->nevents == MAX_EVENTS)
		abort();
	snprintf(f->events[f->nevents].type, sizeof(f->events[0].type), "%s", type);
	f->events[f->nevents].obj = *o;
	f->nevents++;
	pthread_cond_broadcast(&f->cond);
}

static struct object *find(struct fake *f, const char *name)
{
	for (size_t i = 0; i < f->nobjs; i++)
		if (f->objs[i].live && !strcmp(f->objs[i].name, name))
			return &f->objs[i];
	return NULL;
}

int64_t fake_put(struct fake *f, const char *name, bool bad)
{
	struct object *o;
	bool created = false;
	int64_t rv;

	pthread_mutex_lock(&f->mu);
	o = find(f, name);
	if (!o) {
		if (f->nobjs == MAX_OBJECTS)
			abort();
		o = &f->objs[f->nobjs++];
		snprintf(o->name, sizeof(o->name), "%s", name);
		o->live = true;
		created = true;
	}
	o->rv = rv = ++f->rv;
	o->bad = bad;
	log_event(f, created ? "ADDED" : "MODIFIED", o);
	pthread_mutex_unlock(&f->mu);
	return rv;
}

int64_t fake_delete(struct fake *f, const char *name)
{
	struct object *o;
	int64_t rv = 0;

	pthread_mutex_lock(&f->mu);
	o = find(f, name);
	if (o) {
		o->live = false;
		o->rv = rv = ++f->rv;
		log_event(f, "DELETED", o);
	}
	pthread_mutex_unlock(&f->mu);
	return rv;
}

void fake_compact(struct fake *f)
{
	pthread_mutex_lock(&f->mu);
	f->compacted = f->rv;
	pthread_mutex_unlock(&f->mu);
}

int64_t fake_bookmark(struct fake *f)
{
	struct object o = { .rv = 0 };
	int64_t rv;

	pthread_mutex_lock(&f->mu);
	o.rv = rv = ++f->rv;
	snprintf(o.name, sizeof(o.name), "bookmark");
	log_event(f, "BOOKMARK", &o);
	pthread_mutex_unlock(&f->mu);
	return rv;
}

void fake_end_watches(struct fake *f)
{
	pthread_mutex_lock(&f->mu);
	f->end_gen++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
}

void fake_cut_watches(struct fake *f)
{
	pthread_mutex_lock(&f->mu);
	f->cut_gen++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
}

size_t fake_lists(struct fake *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->lists;
	pthread_mutex_unlock(&f->mu);
	return n;
}

size_t fake_watches(struct fake *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->watches;
	pthread_mutex_unlock(&f->mu);
	return n;
}

void fake_last_watch_rv(struct fake *f, char *out, size_t n)
{
	pthread_mutex_lock(&f->mu);
	snprintf(out, n, "%s", f->last_watch_rv);
	pthread_mutex_unlock(&f->mu);
}

/* Wait up to ms until *counter (guarded by mu) reaches n. */
static bool wait_count(struct fake *f, const size_t *counter, size_t n, int64_t ms)
{
	struct timespec ts = clock_deadline_ms(ms);
	bool ok;

	pthread_mutex_lock(&f->mu);
	while (*counter < n)
		if (pthread_cond_timedwait(&f->cond, &f->mu, &ts))
			break;
	ok = *counter >= n;
	pthread_mutex_unlock(&f->mu);
	return ok;
}

bool fake_wait_watch_requests(struct fake *f, size_t n, int64_t ms)
{
	return wait_count(f, &f->watches, n, ms);
}

bool fake_wait_lists(struct fake *f, size_t n, int64_t ms)
{
	return wait_count(f, &f->lists, n, ms);
}

bool fake_wait_watching(struct fake *f, size_t n, int64_t ms)
{
	return wait_count(f, &f->open_watches, n, ms);
}

void fake_set_padding(struct fake *f, size_t bytes)
{
	pthread_mutex_lock(&f->mu);
	f->padding = bytes;
	pthread_mutex_unlock(&f->mu);
}

void fake_set_watch_ends_at_once(struct fake *f, bool on)
{
	pthread_mutex_lock(&f->mu);
	f->watch_ends_at_once = on;
	pthread_mutex_unlock(&f->mu);
}

long fake_last_list_limit(struct fake *f)
{
	long n;

	pthread_mutex_lock(&f->mu);
	n = f->last_list_limit;
	pthread_mutex_unlock(&f->mu);
	return n;
}

void fake_set_stream_refused(struct fake *f, bool on)
{
	pthread_mutex_lock(&f->mu);
	f->stream_refused = on;
	pthread_mutex_unlock(&f->mu);
}

void fake_set_stream_end_withheld(struct fake *f, bool on)
{
	pthread_mutex_lock(&f->mu);
	f->stream_end_withheld = on;
	pthread_mutex_unlock(&f->mu);
}

size_t fake_streams(struct fake *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->streams;
	pthread_mutex_unlock(&f->mu);
	return n;
}
