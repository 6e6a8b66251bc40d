// SPDX-License-Identifier: Apache-2.0
/*
 * events.c - Kubernetes Events, sent in the background (see events.h).
 *
 * DESIGN: `mu` guards the queue, the stop flag and `seen`; the sender
 * thread takes an event off the queue under `mu` and sends it without it.
 * It sends through a best-effort sibling of the client it was given
 * (kube_client_new_best_effort): events spend that client's budget only
 * where its own requests leave room, so they trail behind the PV writes
 * instead of taking every other token. At the stop the sibling is closed
 * (a send waiting in it gives up) and what is left goes, for up to the
 * flush time, through a third client made at the start with pacing of its
 * own (kube_client_new_for_stop): the daemon closes the client it gave us
 * before the flush, so that its workers' waiting requests give up.
 * `seen` maps "uid|type|reason|message" to what we know of the Event object
 * (its namespace, name and count) so repeats become count bumps. It is
 * bounded: when full it is cleared (at worst a repeat becomes a new object).
 */
#include "provision/events.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kube/client.h"
#include "kube/path.h"

#define EVENT_MESSAGE_MAX 1024

#define SEEN_MAX 4096

struct pending {
	struct pending *next;
	char *key;		/* correlation key */
	char *ns;		/* the Event's namespace */
	/*
	 * The Event to create, as compact JSON: events trail behind the PV
	 * writes, so at N=1000 hundreds wait at once, and a json_t tree
	 * would cost six times the text (bench/results/memory-n1000.txt).
	 */
	char *body;
	size_t body_len;
};

struct sent {
	char *name;
	int count;
};

struct event_sink {
	struct kube_client *kube;	/* borrowed: for the flush at the stop */
	struct kube_client *bg;		/* ours: best effort in kube's budget */
	struct kube_client *last;	/* ours: for the flush, paced on its own */
	char *component;
	size_t max, n;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct pending *head, *tail;
	struct hmap queued;	/* key -> NULL: repeats of what is queued are dropped */
	struct hmap seen;	/* key -> struct sent * */
	bool stopping;
	int64_t flush_until;
	pthread_t thread;
	bool started;
};

static void now_stamp(char *buf, size_t n)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void free_sent(void *ctx, const char *key, void *value)
{
	struct sent *s = value;

	(void)ctx;
	(void)key;
	free(s->name);
	free(s);
}

static void pending_free(struct pending *p)
{
	free(p->key);
	free(p->ns);
	free(p->body);
	free(p);
}

/*
 * Create the Event, or bump the count of the one created before, with
 * client k. Returns the kube code (already logged, but a cancel of the
 * best-effort client: the caller sends again with the other).
 */
static int send_one(struct event_sink *s, struct kube_client *k, struct pending *p,
		    struct sent *prev)
{
	struct err e = ERR_INIT;
	char stamp[32], *path;
	json_t *out = NULL;
	int rc;

	now_stamp(stamp, sizeof(stamp));
	if (prev) {
		json_t *patch = json_pack("{s:i, s:s}", "count", prev->count + 1, "lastTimestamp", stamp);

		rc = kube_path_object(&path, KUBE_RES_EVENT, p->ns, prev->name, &e);
		if (!rc)
			rc = kube_patch(k, path, "application/merge-patch+json", patch, NULL, &e);
		json_decref(patch);
		free(path);
		if (rc == 0) {
			pthread_mutex_lock(&s->mu);
			prev->count++;
			pthread_mutex_unlock(&s->mu);
			goto out;
		}
		/* the old Event expired or is gone: record a new one */
		err_release(&e);
	}
	rc = kube_path_collection(&path, KUBE_RES_EVENT, p->ns, &e);
	if (!rc)
		rc = kube_create_text(k, path, p->body, p->body_len, &out, &e);
	free(path);
	if (rc) {
		if (!(k == s->bg && err_is(&e, KUBE_ERR_CANCELLED)))
			log_v(2, "cannot record event: %s", err_msg(&e));
		goto out;
	}
	{
		const char *name = json_string_value(json_object_get(json_object_get(out, "metadata"),
								      "name"));
		struct sent *rec;

		if (!name)
			goto out;
		rec = xcalloc(1, sizeof(*rec));
		rec->name = xstrdup(name);
		rec->count = 1;
		pthread_mutex_lock(&s->mu);
		if (s->seen.count >= SEEN_MAX) {
			hmap_each(&s->seen, free_sent, NULL);
			hmap_release(&s->seen);
		}
		{
			struct sent *old = hmap_put(&s->seen, p->key, rec);

			if (old)
				free_sent(NULL, NULL, old);
		}
		pthread_mutex_unlock(&s->mu);
	}
out:
	json_decref(out);
	err_release(&e);
	return rc;
}

/* What the flush at the stop sends with: its own client, else the one given. */
static struct kube_client *flush_client(const struct event_sink *s)
{
	return s->last ? s->last : s->kube;
}

static void *run(void *arg)
{
	struct event_sink *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct pending *p;
		struct sent *prev;
		struct kube_client *k;

		while (!s->head && !s->stopping)
			pthread_cond_wait(&s->cond, &s->mu);
		if (!s->head || (s->stopping && clock_now_ms() > s->flush_until))
			break;
		p = s->head;
		s->head = p->next;
		if (!s->head)
			s->tail = NULL;
		s->n--;
		hmap_remove(&s->queued, p->key);
		prev = hmap_get(&s->seen, p->key);
		k = s->bg && !s->stopping ? s->bg : flush_client(s);
		pthread_mutex_unlock(&s->mu);
		/* the stop closed the best-effort client under it: the flush sends it */
		if (send_one(s, k, p, prev) == KUBE_ERR_CANCELLED && k != flush_client(s))
			send_one(s, flush_client(s), p, prev);
		pending_free(p);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct event_sink *event_sink_new(struct kube_client *c, const char *component, size_t max_queued)
{
	struct event_sink *s = xcalloc(1, sizeof(*s));
	struct err e = ERR_INIT;
	int rc;

	s->kube = c;
	if (kube_client_new_best_effort(&s->bg, c, &e)) {
		/* only without a client: then every send fails and says so */
		log_v(2, "events: %s", err_msg(&e));
		err_release(&e);
	}
	if (kube_client_new_for_stop(&s->last, c, &e)) {
		log_v(2, "events: %s", err_msg(&e));
		err_release(&e);
	}
	s->component = xstrdup(component);
	s->max = max_queued;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	rc = pthread_create(&s->thread, NULL, run, s);
	if (rc) {
		/* queued events would wait for ever: say so once, and send none */
		log_error("cannot start the event sender thread (%s): no Events will be sent",
			  strerror(rc));
		event_sink_free(s, 0);
		return NULL;
	}
	s->started = true;
	return s;
}

void event_sink_free(struct event_sink *s, long flush_ms)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	s->flush_until = clock_now_ms() + flush_ms;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	kube_client_close(s->bg);	/* a send waiting for spare room gives up */
	if (s->started)
		pthread_join(s->thread, NULL);
	kube_client_free(s->bg);
	kube_client_free(s->last);
	while (s->head) {
		struct pending *p = s->head;

		s->head = p->next;
		pending_free(p);
	}
	hmap_release(&s->queued);
	hmap_each(&s->seen, free_sent, NULL);
	hmap_release(&s->seen);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	free(s->component);
	free(s);
}

/*
 * Messages can quote what tenants wrote (a selected-node annotation may be
 * 256 KiB): keep at most EVENT_MESSAGE_MAX bytes, cut on a UTF-8 character
 * boundary, as the API's own limit for events.k8s.io notes.
 */
static void truncate_message(char *msg)
{
	size_t n = strlen(msg);

	if (n <= EVENT_MESSAGE_MAX)
		return;
	n = EVENT_MESSAGE_MAX - 3;
	while (n && ((unsigned char)msg[n] & 0xC0) == 0x80)
		n--;
	memcpy(msg + n, "...", 4);
}

char *event_component(const char *provisioner)
{
	char host[256] = "", *clean, *out;
	unsigned char r[16];
	size_t j = 0;

	if (gethostname(host, sizeof(host) - 1))
		host[0] = '\0';
	/* upstream drops slashes from the host name */
	clean = xstrdup(host);
	for (size_t i = 0; host[i]; i++)
		if (host[i] != '/')
			clean[j++] = host[i];
	clean[j] = '\0';
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* no entropy (early boot): time and PID keep processes apart */
		uint64_t t = (uint64_t)clock_now_ms() ^ ((uint64_t)getpid() << 32);

		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)(t >> (8 * (i % 8))) ^ (unsigned char)(i * 37);
	}
	r[6] = (r[6] & 0x0f) | 0x40;	/* version 4 */
	r[8] = (r[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	out = xasprintf("%s_%s_%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			provisioner, clean, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
			r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
	free(clean);
	return out;
}

static void emit(struct event_sink *s, const char *component, const char *kind,
		 const struct kube_meta *obj, const char *type, const char *reason,
		 const char *fmt, va_list ap)
{
	const char *ns = obj->namespace && *obj->namespace ? obj->namespace : "default";
	struct pending *p;
	char stamp[32], *msg, *gen;
	json_t *involved, *body;

	msg = xvasprintf(fmt, ap);
	truncate_message(msg);
	now_stamp(stamp, sizeof(stamp));
	involved = json_pack("{s:s, s:s, s:s, s:s}", "kind", kind, "apiVersion", "v1",
			     "name", obj->name, "uid", obj->uid ? obj->uid : "");
	if (obj->namespace && *obj->namespace)
		json_object_set_new(involved, "namespace", json_string(obj->namespace));
	if (obj->resource_version)
		json_object_set_new(involved, "resourceVersion", json_string(obj->resource_version));
	gen = xasprintf("%s.", obj->name);
	p = xcalloc(1, sizeof(*p));
	p->key = xasprintf("%s|%s|%s|%s", obj->uid ? obj->uid : obj->name, type, reason, msg);
	p->ns = xstrdup(ns);
	body = json_pack("{s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:i, s:s}",
			    "metadata", "generateName", gen, "namespace", ns,
			    "involvedObject", involved,
			    "type", type, "reason", reason, "message", msg,
			    "source", "component", component,
			    "firstTimestamp", stamp, "lastTimestamp", stamp, "count", 1,
			    "reportingComponent", component);
	if (body) {
		p->body = json_dumps(body, JSON_COMPACT);
		p->body_len = p->body ? strlen(p->body) : 0;
		json_decref(body);
	}
	free(gen);
	free(msg);
	pthread_mutex_lock(&s->mu);
	if (!p->body || s->stopping || hmap_has(&s->queued, p->key)) {
		pthread_mutex_unlock(&s->mu);
		pending_free(p);
		return;
	}
	if (s->n >= s->max) {
		pthread_mutex_unlock(&s->mu);
		log_warn("event queue full (%zu): dropping %s %s on %s %s", s->max, type, reason, kind,
			 obj->name);
		pending_free(p);
		return;
	}
	hmap_put(&s->queued, p->key, NULL);
	if (s->tail)
		s->tail->next = p;
	else
		s->head = p;
	s->tail = p;
	s->n++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

void event_emit(struct event_sink *s, const char *kind, const struct kube_meta *obj,
		const char *type, const char *reason, const char *fmt, ...)
{
	va_list ap;

	if (!s)
		return;
	va_start(ap, fmt);
	emit(s, s->component, kind, obj, type, reason, fmt, ap);
	va_end(ap);
}

void event_emit_from(struct event_sink *s, const char *component, const char *kind,
		     const struct kube_meta *obj, const char *type, const char *reason,
		     const char *fmt, ...)
{
	va_list ap;

	if (!s)
		return;
	va_start(ap, fmt);
	emit(s, component, kind, obj, type, reason, fmt, ap);
	va_end(ap);
}
