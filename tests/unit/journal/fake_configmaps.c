// SPDX-License-Identifier: Apache-2.0
/*
 * fake_configmaps.c - the ConfigMap API stand-in of the journal tests
 * (see fake_configmaps.h).
 *
 * DESIGN: `mu` guards the objects, counters and hooks; connection threads
 * hold it only to look at or change them, never while reading or writing a
 * socket. A held write waits on `cond`, which every change broadcasts.
 */
#include "fake_configmaps.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"

#define BODY_MAX ((size_t)8 << 20)
#define HEAD_MAX 16384

struct fcm {
	char *ns, *collection;
	char url[64];
	int lfd;
	pthread_t acceptor;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stopping, hold;
	size_t conns, held;
	int64_t rv;
	json_t *objs;		/* name -> object */
	struct fcm_counts n;
	int fail_n, fail_status;
};

struct conn {
	struct fcm *f;
	int fd;
};

static int write_all(int fd, const char *p, size_t n)
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

static void respond(int fd, int status, const char *body)
{
	char *r = xasprintf("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			    status, strlen(body), body);

	write_all(fd, r, strlen(r));
	free(r);
}

static void respond_json(int fd, int status, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	respond(fd, status, s);
	free(s);
}

static void status_error(int fd, int code, const char *reason, const char *msg)
{
	json_t *st = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "kind", "Status",
			       "apiVersion", "v1", "status", "Failure", "message", msg,
			       "reason", reason, "code", code);

	respond_json(fd, code, st);
	json_decref(st);
}

static void url_decode(char *s)
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

static bool matches(json_t *obj, const char *selector)
{
	const char *eq = strchr(selector, '=');
	char *key;
	const char *v;
	bool ok;

	if (!eq)
		return false;
	key = xstrndup(selector, (size_t)(eq - selector));
	v = json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"),
							      "labels"), key));
	ok = v && !strcmp(v, eq + 1);
	free(key);
	return ok;
}

/* Store `obj` (stolen) under `name` with a new resourceVersion. Under mu. */
static void store(struct fcm *f, const char *name, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	char rv[32];

	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(obj, "metadata", meta);
	}
	snprintf(rv, sizeof(rv), "%lld", (long long)++f->rv);
	json_object_set_new(meta, "resourceVersion", json_string(rv));
	json_object_set_new(meta, "namespace", json_string(f->ns));
	json_object_set(f->objs, name, obj);
	json_decref(obj);
	pthread_cond_broadcast(&f->cond);
}

static void do_list(struct fcm *f, int fd, const char *target)
{
	const char *q = strstr(target, "?labelSelector=");
	char *sel = q ? xstrndup(q + 15, strcspn(q + 15, "&")) : NULL;
	json_t *items = json_array(), *list;
	const char *name;
	json_t *o;

	if (sel)
		url_decode(sel);
	pthread_mutex_lock(&f->mu);
	f->n.lists++;
	json_object_foreach(f->objs, name, o)
		if (!sel || matches(o, sel))
			json_array_append_new(items, json_deep_copy(o));
	list = json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", "ConfigMapList", "apiVersion", "v1",
			 "metadata", "resourceVersion", "1", "items", items);
	pthread_mutex_unlock(&f->mu);
	respond_json(fd, 200, list);
	json_decref(list);
	free(sel);
}

/* Block while writes are held; then whether this write must fail (its status). */
static int write_gate(struct fcm *f)
{
	int fail = 0;

	pthread_mutex_lock(&f->mu);
	if (f->hold) {
		f->held++;
		pthread_cond_broadcast(&f->cond);
		while (f->hold && !f->stopping)
			pthread_cond_wait(&f->cond, &f->mu);
		f->held--;
	}
	if (f->fail_n > 0) {
		f->fail_n--;
		f->n.failed++;
		fail = f->fail_status;
	}
	pthread_mutex_unlock(&f->mu);
	return fail;
}

static void do_write(struct fcm *f, int fd, const char *method, const char *name,
		     const char *body)
{
	json_t *obj = json_loads(body, 0, NULL), *cur;
	const char *oname = json_string_value(json_object_get(json_object_get(obj, "metadata"),
							      "name"));
	bool post = !strcmp(method, "POST");
	int fail = write_gate(f);
	char msg[512];

	if (fail) {
		json_decref(obj);
		status_error(fd, fail, fail == 403 ? "Forbidden" : "InternalError", "injected failure");
		return;
	}
	if (!obj || !oname || (!post && strcmp(oname, name))) {
		json_decref(obj);
		status_error(fd, 400, "BadRequest", "bad object");
		return;
	}
	pthread_mutex_lock(&f->mu);
	if (post)
		f->n.posts++;
	else
		f->n.puts++;
	cur = json_object_get(f->objs, oname);
	if (post && cur) {
		f->n.conflicts++;
		pthread_mutex_unlock(&f->mu);
		snprintf(msg, sizeof(msg), "configmaps \"%s\" already exists", oname);
		status_error(fd, 409, "AlreadyExists", msg);
		json_decref(obj);
		return;
	}
	if (!post && !cur) {
		pthread_mutex_unlock(&f->mu);
		snprintf(msg, sizeof(msg), "configmaps \"%s\" not found", oname);
		status_error(fd, 404, "NotFound", msg);
		json_decref(obj);
		return;
	}
	if (!post) {
		const char *want = json_string_value(json_object_get(json_object_get(obj, "metadata"),
								     "resourceVersion"));
		const char *have = json_string_value(json_object_get(json_object_get(cur, "metadata"),
								     "resourceVersion"));

		if (!want || strcmp(want, have)) {
			f->n.conflicts++;
			pthread_mutex_unlock(&f->mu);
			snprintf(msg, sizeof(msg), "Operation cannot be fulfilled on configmaps "
				 "\"%s\": the object has been modified", oname);
			status_error(fd, 409, "Conflict", msg);
			json_decref(obj);
			return;
		}
	}
	f->n.writes_ok++;
	store(f, oname, json_incref(obj));
	cur = json_deep_copy(obj);
	pthread_mutex_unlock(&f->mu);
	respond_json(fd, post ? 201 : 200, cur);
	json_decref(cur);
	json_decref(obj);
}

/* Read the request head and body; 0 on success. */
static int read_request(int fd, struct buf *b, size_t *head_len, size_t *body_len)
{
	char chunk[65536];
	char *end = NULL;
	size_t need = 0;

	for (;;) {
		ssize_t r;

		if (!end && b->data && (end = strstr(b->data, "\r\n\r\n"))) {
			const char *cl = strcasestr(b->data, "\r\ncontent-length:");

			*head_len = (size_t)(end - b->data) + 4;
			*body_len = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
			need = *head_len + *body_len;
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
	struct fcm *f = c->f;
	char method[16], target[4096];
	size_t hl = 0, bl = 0, cl = strlen(f->collection);
	struct buf b;

	buf_init(&b, BODY_MAX);
	if (read_request(c->fd, &b, &hl, &bl) ||
	    sscanf(b.data, "%15s %4095s", method, target) != 2 || strncmp(target, f->collection, cl)) {
		status_error(c->fd, 404, "NotFound", "not served here");
		goto out;
	}
	if (!strcmp(method, "GET") && (target[cl] == '?' || !target[cl])) {
		do_list(f, c->fd, target);
	} else if (!strcmp(method, "GET") && target[cl] == '/') {
		json_t *o;

		pthread_mutex_lock(&f->mu);
		f->n.gets++;
		o = json_deep_copy(json_object_get(f->objs, target + cl + 1));
		pthread_mutex_unlock(&f->mu);
		if (o)
			respond_json(c->fd, 200, o);
		else
			status_error(c->fd, 404, "NotFound", "configmap not found");
		json_decref(o);
	} else if (!strcmp(method, "POST") && !target[cl]) {
		do_write(f, c->fd, method, NULL, b.data + hl);
	} else if (!strcmp(method, "PUT") && target[cl] == '/') {
		do_write(f, c->fd, method, target + cl + 1, b.data + hl);
	} else {
		status_error(c->fd, 405, "MethodNotAllowed", "not supported by the fake");
	}
out:
	buf_release(&b);
	close(c->fd);
	free(c);
	pthread_mutex_lock(&f->mu);
	f->conns--;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static void *accept_loop(void *arg)
{
	struct fcm *f = arg;

	for (;;) {
		int fd = accept(f->lfd, NULL, NULL);
		struct conn *c;
		pthread_t t;
		pthread_attr_t attr;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;	/* the listening socket was shut down */
		}
		c = xcalloc(1, sizeof(*c));
		c->f = f;
		c->fd = fd;
		pthread_mutex_lock(&f->mu);
		f->conns++;
		pthread_mutex_unlock(&f->mu);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, serve, c)) {
			close(fd);
			free(c);
			pthread_mutex_lock(&f->mu);
			f->conns--;
			pthread_mutex_unlock(&f->mu);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

struct fcm *fcm_start(const char *ns)
{
	struct fcm *f = xcalloc(1, sizeof(*f));
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	f->ns = xstrdup(ns);
	f->collection = xasprintf("/api/v1/namespaces/%s/configmaps", ns);
	f->objs = json_object();
	f->rv = 100;
	pthread_mutex_init(&f->mu, NULL);
	clock_cond_init(&f->cond);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(f->lfd, 1024) || getsockname(f->lfd, (struct sockaddr *)&a, &len)) {
		if (f->lfd >= 0)
			close(f->lfd);
		json_decref(f->objs);
		free(f->collection);
		free(f->ns);
		free(f);
		return NULL;
	}
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", ntohs(a.sin_port));
	pthread_create(&f->acceptor, NULL, accept_loop, f);
	return f;
}

void fcm_stop(struct fcm *f)
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
	pthread_mutex_lock(&f->mu);
	while (f->conns)
		pthread_cond_wait(&f->cond, &f->mu);
	pthread_mutex_unlock(&f->mu);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cond);
	json_decref(f->objs);
	free(f->collection);
	free(f->ns);
	free(f);
}

const char *fcm_url(const struct fcm *f)
{
	return f->url;
}

json_t *fcm_get(struct fcm *f, const char *name)
{
	json_t *o;

	pthread_mutex_lock(&f->mu);
	o = json_deep_copy(json_object_get(f->objs, name));
	pthread_mutex_unlock(&f->mu);
	return o;
}

int64_t fcm_set(struct fcm *f, json_t *obj)
{
	const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"),
							     "name"));
	int64_t rv;

	pthread_mutex_lock(&f->mu);
	store(f, name, json_deep_copy(obj));
	rv = f->rv;
	pthread_mutex_unlock(&f->mu);
	return rv;
}

int64_t fcm_put_shard(struct fcm *f, const char *name, const char *label, const char *holder,
		      const char *const *pairs)
{
	json_t *data = json_object(), *o;
	int64_t rv;

	for (size_t i = 0; pairs && pairs[i]; i += 2)
		json_object_set_new(data, pairs[i], json_string(pairs[i + 1]));
	o = json_pack("{s:s, s:s, s:{s:s, s:{s:s}, s:o}, s:o}", "apiVersion", "v1",
		      "kind", "ConfigMap", "metadata", "name", name,
		      "labels", "csi-provisioner.dev/journal", label,
		      "annotations", holder ? json_pack("{s:s}", "csi-provisioner.dev/journal-holder",
							holder) : json_object(),
		      "data", data);
	rv = fcm_set(f, o);
	json_decref(o);
	return rv;
}

void fcm_delete(struct fcm *f, const char *name)
{
	pthread_mutex_lock(&f->mu);
	json_object_del(f->objs, name);
	f->rv++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
}

char *fcm_holder(struct fcm *f, const char *name)
{
	json_t *o = fcm_get(f, name);
	const char *h = json_string_value(json_object_get(json_object_get(
		json_object_get(o, "metadata"), "annotations"), "csi-provisioner.dev/journal-holder"));
	char *r = xstrdup(h);

	json_decref(o);
	return r;
}

char *fcm_value(struct fcm *f, const char *name, const char *key)
{
	json_t *o = fcm_get(f, name);
	char *r = xstrdup(json_string_value(json_object_get(json_object_get(o, "data"), key)));

	json_decref(o);
	return r;
}

size_t fcm_objects(struct fcm *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = json_object_size(f->objs);
	pthread_mutex_unlock(&f->mu);
	return n;
}

void fcm_counts(struct fcm *f, struct fcm_counts *out)
{
	pthread_mutex_lock(&f->mu);
	*out = f->n;
	pthread_mutex_unlock(&f->mu);
}

void fcm_fail_writes(struct fcm *f, int n, int status)
{
	pthread_mutex_lock(&f->mu);
	f->fail_n = n;
	f->fail_status = status;
	pthread_mutex_unlock(&f->mu);
}

void fcm_hold_writes(struct fcm *f, bool hold)
{
	pthread_mutex_lock(&f->mu);
	f->hold = hold;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
}

bool fcm_wait_held(struct fcm *f, size_t n, int64_t ms)
{
	struct timespec ts = clock_deadline_ms(ms);
	bool ok;

	pthread_mutex_lock(&f->mu);
	while (f->held < n)
		if (pthread_cond_timedwait(&f->cond, &f->mu, &ts))
			break;
	ok = f->held >= n;
	pthread_mutex_unlock(&f->mu);
	return ok;
}
