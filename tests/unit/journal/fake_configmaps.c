// SPDX-License-Identifier: Apache-2.0
/*
 * fake_configmaps.c - the Lease and ConfigMap API stand-in of the journal
 * tests (see fake_configmaps.h).
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

/* The collections served: the journal's Leases, and the ConfigMaps of older versions. */
enum { LEASES, CONFIGMAPS, NCOLL };
static const char *const kinds[NCOLL] = { "Lease", "ConfigMap" };
static const char *const resources[NCOLL] = { "leases", "configmaps" };

struct fcm {
	char *ns, *collection[NCOLL];
	struct fhttp *http;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stopping, hold, forbid_configmaps;
	size_t held;
	int64_t rv;
	json_t *objs[NCOLL];	/* name -> object, per collection */
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

/* Store `obj` (stolen) under `name` in collection c with a new resourceVersion. Under mu. */
static void store(struct fcm *f, int c, const char *name, json_t *obj)
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
	json_object_set(f->objs[c], name, obj);
	json_decref(obj);
	pthread_cond_broadcast(&f->cond);
}

/* The API server's limit on an object's annotations (names and values). */
#define ANNOTATIONS_MAX (256 * 1024)

static size_t annotation_bytes(json_t *obj)
{
	json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations"), *v;
	const char *k;
	size_t n = 0;

	json_object_foreach(ann, k, v)
		n += strlen(k) + json_string_length(v);
	return n;
}

static void do_list(struct fcm *f, int c, int fd, const char *target)
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
	json_object_foreach(f->objs[c], name, o)
		if (!sel || matches(o, sel))
			json_array_append_new(items, json_deep_copy(o));
	list = json_pack("{s:s, s:{s:s}, s:o}", "kind", c == LEASES ? "LeaseList" :
			 "ConfigMapList", "metadata", "resourceVersion", "1", "items", items);
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

static void do_write(struct fcm *f, int c, int fd, const char *method, const char *name,
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
	if (annotation_bytes(obj) > ANNOTATIONS_MAX) {
		json_decref(obj);
		fhttp_status(fd, 422, "Invalid", "metadata.annotations: Too long: must have at most "
			     "262144 bytes");
		return;
	}
	pthread_mutex_lock(&f->mu);
	if (post)
		f->n.posts++;
	else
		f->n.puts++;
	cur = json_object_get(f->objs[c], oname);
	if (post && cur) {
		f->n.conflicts++;
		pthread_mutex_unlock(&f->mu);
		snprintf(msg, sizeof(msg), "%s \"%s\" already exists", resources[c], oname);
		fhttp_status(fd, 409, "AlreadyExists", msg);
		json_decref(obj);
		return;
	}
	if (!post && !cur) {
		pthread_mutex_unlock(&f->mu);
		snprintf(msg, sizeof(msg), "%s \"%s\" not found", resources[c], oname);
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
			snprintf(msg, sizeof(msg), "Operation cannot be fulfilled on %s "
				 "\"%s\": the object has been modified", resources[c], oname);
			fhttp_status(fd, 409, "Conflict", msg);
			json_decref(obj);
			return;
		}
	}
	f->n.writes_ok++;
	store(f, c, oname, json_incref(obj));
	cur = json_deep_copy(obj);
	pthread_mutex_unlock(&f->mu);
	fhttp_respond(fd, post ? 201 : 200, cur);
	json_decref(cur);
	json_decref(obj);
}

/* DELETE, with an optional resourceVersion precondition in the body. */
static void do_delete(struct fcm *f, int c, int fd, const char *name, const char *body)
{
	json_t *opts = body && *body ? json_loads(body, 0, NULL) : NULL, *cur;
	const char *want = json_string_value(json_object_get(json_object_get(opts, "preconditions"),
							     "resourceVersion"));
	int fail = write_gate(f);

	if (fail) {
		json_decref(opts);
		fhttp_status(fd, fail, fail == 403 ? "Forbidden" : "InternalError", "injected failure");
		return;
	}
	pthread_mutex_lock(&f->mu);
	f->n.deletes++;
	cur = json_object_get(f->objs[c], name);
	if (!cur) {
		pthread_mutex_unlock(&f->mu);
		fhttp_status(fd, 404, "NotFound", "not found");
	} else if (want && strcmp(want, json_string_value(json_object_get(
			json_object_get(cur, "metadata"), "resourceVersion")))) {
		f->n.conflicts++;
		pthread_mutex_unlock(&f->mu);
		fhttp_status(fd, 409, "Conflict", "Precondition failed: resourceVersion");
	} else {
		json_object_del(f->objs[c], name);
		f->rv++;
		pthread_cond_broadcast(&f->cond);
		pthread_mutex_unlock(&f->mu);
		fhttp_status(fd, 200, "Success", "deleted");
	}
	json_decref(opts);
}

static void handle(void *ctx, int fd, const char *method, char *target, const char *head,
		   const char *body)
{
	struct fcm *f = ctx;
	size_t cl = 0;
	int c;

	(void)head;
	for (c = 0; c < NCOLL; c++) {
		cl = strlen(f->collection[c]);
		/* strchr also finds the terminating NUL: the collection itself */
		if (!strncmp(target, f->collection[c], cl) && strchr("/?", target[cl]))
			break;
	}
	if (c == NCOLL) {
		fhttp_status(fd, 404, "NotFound", "not served here");
	} else if (c == CONFIGMAPS && f->forbid_configmaps) {
		fhttp_status(fd, 403, "Forbidden", "configmaps is forbidden");
	} else if (!strcmp(method, "GET") && (target[cl] == '?' || !target[cl])) {
		do_list(f, c, fd, target);
	} else if (!strcmp(method, "GET") && target[cl] == '/') {
		json_t *o;

		pthread_mutex_lock(&f->mu);
		f->n.gets++;
		o = json_deep_copy(json_object_get(f->objs[c], target + cl + 1));
		pthread_mutex_unlock(&f->mu);
		if (o)
			fhttp_respond(fd, 200, o);
		else
			fhttp_status(fd, 404, "NotFound", "not found");
		json_decref(o);
	} else if (!strcmp(method, "POST") && !target[cl]) {
		do_write(f, c, fd, method, NULL, body);
	} else if (!strcmp(method, "PUT") && target[cl] == '/') {
		do_write(f, c, fd, method, target + cl + 1, body);
	} else if (!strcmp(method, "DELETE") && target[cl] == '/') {
		do_delete(f, c, fd, target + cl + 1, body);
	} else {
		fhttp_status(fd, 405, "MethodNotAllowed", "not supported by the fake");
	}
}

struct fcm *fcm_start(const char *ns)
{
	struct fcm *f = xcalloc(1, sizeof(*f));

	f->ns = xstrdup(ns);
	f->collection[LEASES] = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", ns);
	f->collection[CONFIGMAPS] = xasprintf("/api/v1/namespaces/%s/configmaps", ns);
	for (int c = 0; c < NCOLL; c++)
		f->objs[c] = json_object();
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
	for (int c = 0; c < NCOLL; c++) {
		json_decref(f->objs[c]);
		free(f->collection[c]);
	}
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
	o = json_deep_copy(json_object_get(f->objs[LEASES], name));
	pthread_mutex_unlock(&f->mu);
	return o;
}

int64_t fcm_set(struct fcm *f, json_t *obj)
{
	const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"),
							     "name"));
	int64_t rv;

	pthread_mutex_lock(&f->mu);
	store(f, strcmp(json_string_value(json_object_get(obj, "kind")) ?: "", "ConfigMap") ?
	      LEASES : CONFIGMAPS, name, json_deep_copy(obj));
	rv = f->rv;
	pthread_mutex_unlock(&f->mu);
	return rv;
}

/* A shard of kind c with `pairs` as its records. */
static int64_t put_shard(struct fcm *f, int c, const char *name, const char *label,
			 const char *holder, const char *const *pairs)
{
	json_t *ann = json_object(), *data = json_object(), *o;
	int64_t rv;

	if (holder)
		json_object_set_new(ann, "csi-provisioner.dev/journal-holder", json_string(holder));
	for (size_t i = 0; pairs && pairs[i]; i += 2) {
		char *k = xasprintf("intent.csi-provisioner.dev/%s", pairs[i]);

		json_object_set_new(c == LEASES ? ann : data, c == LEASES ? k : pairs[i],
				    json_string(pairs[i + 1]));
		free(k);
	}
	o = json_pack("{s:s, s:s, s:{s:s, s:{s:s}, s:o}}", "apiVersion",
		      c == LEASES ? "coordination.k8s.io/v1" : "v1", "kind", kinds[c],
		      "metadata", "name", name, "labels", "csi-provisioner.dev/journal", label,
		      "annotations", ann);
	if (c == CONFIGMAPS)
		json_object_set_new(o, "data", data);
	else
		json_decref(data);
	rv = fcm_set(f, o);
	json_decref(o);
	return rv;
}

int64_t fcm_put_shard(struct fcm *f, const char *name, const char *label, const char *holder,
		      const char *const *pairs)
{
	return put_shard(f, LEASES, name, label, holder, pairs);
}

int64_t fcm_put_configmap(struct fcm *f, const char *name, const char *label,
			  const char *holder, const char *const *pairs)
{
	return put_shard(f, CONFIGMAPS, name, label, holder, pairs);
}

size_t fcm_configmaps(struct fcm *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = json_object_size(f->objs[CONFIGMAPS]);
	pthread_mutex_unlock(&f->mu);
	return n;
}

void fcm_forbid_configmaps(struct fcm *f, bool forbid)
{
	pthread_mutex_lock(&f->mu);
	f->forbid_configmaps = forbid;
	pthread_mutex_unlock(&f->mu);
}

void fcm_delete(struct fcm *f, const char *name)
{
	pthread_mutex_lock(&f->mu);
	json_object_del(f->objs[LEASES], name);
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
	json_t *o = fcm_get(f, name), *ann, *v;
	char *short_name = xasprintf("intent.csi-provisioner.dev/%s", key), *r;
	const char *k;
	size_t kl = strlen(key);

	ann = json_object_get(json_object_get(o, "metadata"), "annotations");
	r = xstrdup(json_string_value(json_object_get(ann, short_name)));
	json_object_foreach(ann, k, v) {
		const char *s = json_string_value(v);

		if (!r && !strncmp(k, "intent-long.csi-provisioner.dev/", 32) && s &&
		    !strncmp(s, key, kl) && s[kl] == '\n')
			r = xstrdup(s + kl + 1);
	}
	free(short_name);
	json_decref(o);
	return r;
}

size_t fcm_objects(struct fcm *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = json_object_size(f->objs[LEASES]);
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
