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

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "fake_http.h"

struct fcm {
	char *ns, *collection;
	struct fhttp *http;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stopping, hold;
	size_t held;
	int64_t rv;
	json_t *objs;		/* name -> object */
	struct fcm_counts n;
	int fail_n, fail_status;
};

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
		fhttp_url_decode(sel);
	pthread_mutex_lock(&f->mu);
	f->n.lists++;
	json_object_foreach(f->objs, name, o)
		if (!sel || matches(o, sel))
			json_array_append_new(items, json_deep_copy(o));
	list = json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", "ConfigMapList", "apiVersion", "v1",
			 "metadata", "resourceVersion", "1", "items", items);
	pthread_mutex_unlock(&f->mu);
	fhttp_respond(fd, 200, list);
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
		fhttp_status(fd, fail, fail == 403 ? "Forbidden" : "InternalError", "injected failure");
		return;
	}
	if (!obj || !oname || (!post && strcmp(oname, name))) {
		json_decref(obj);
		fhttp_status(fd, 400, "BadRequest", "bad object");
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
		fhttp_status(fd, 409, "AlreadyExists", msg);
		json_decref(obj);
		return;
	}
	if (!post && !cur) {
		pthread_mutex_unlock(&f->mu);
		snprintf(msg, sizeof(msg), "configmaps \"%s\" not found", oname);
		fhttp_status(fd, 404, "NotFound", msg);
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
			fhttp_status(fd, 409, "Conflict", msg);
			json_decref(obj);
			return;
		}
	}
	f->n.writes_ok++;
	store(f, oname, json_incref(obj));
	cur = json_deep_copy(obj);
	pthread_mutex_unlock(&f->mu);
	fhttp_respond(fd, post ? 201 : 200, cur);
	json_decref(cur);
	json_decref(obj);
}

static void handle(void *ctx, int fd, const char *method, char *target, const char *head,
		   const char *body)
{
	struct fcm *f = ctx;
	size_t cl = strlen(f->collection);

	(void)head;
	if (strncmp(target, f->collection, cl)) {
		fhttp_status(fd, 404, "NotFound", "not served here");
	} else if (!strcmp(method, "GET") && (target[cl] == '?' || !target[cl])) {
		do_list(f, fd, target);
	} else if (!strcmp(method, "GET") && target[cl] == '/') {
		json_t *o;

		pthread_mutex_lock(&f->mu);
		f->n.gets++;
		o = json_deep_copy(json_object_get(f->objs, target + cl + 1));
		pthread_mutex_unlock(&f->mu);
		if (o)
			fhttp_respond(fd, 200, o);
		else
			fhttp_status(fd, 404, "NotFound", "configmap not found");
		json_decref(o);
	} else if (!strcmp(method, "POST") && !target[cl]) {
		do_write(f, fd, method, NULL, body);
	} else if (!strcmp(method, "PUT") && target[cl] == '/') {
		do_write(f, fd, method, target + cl + 1, body);
	} else {
		fhttp_status(fd, 405, "MethodNotAllowed", "not supported by the fake");
	}
}

struct fcm *fcm_start(const char *ns)
{
	struct fcm *f = xcalloc(1, sizeof(*f));

	f->ns = xstrdup(ns);
	f->collection = xasprintf("/api/v1/namespaces/%s/configmaps", ns);
	f->objs = json_object();
	f->rv = 100;
	pthread_mutex_init(&f->mu, NULL);
	clock_cond_init(&f->cond);
	f->http = fhttp_start(handle, f);
	if (!f->http) {
		fcm_stop(f);
		return NULL;
	}
	return f;
}

void fcm_stop(struct fcm *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stopping = true;	/* held writes go on */
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
	fhttp_stop(f->http);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cond);
	json_decref(f->objs);
	free(f->collection);
	free(f->ns);
	free(f);
}

const char *fcm_url(const struct fcm *f)
{
	return fhttp_url(f->http);
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
