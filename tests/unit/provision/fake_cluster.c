// SPDX-License-Identifier: Apache-2.0
/*
 * fake_cluster.c - the API server stand-in of the provisioning controller
 * tests (see fake_cluster.h).
 *
 * DESIGN: `mu` guards the store, the event log and the counters;
 * connection threads hold it only to look at or change them, never while
 * reading or writing a socket. Watches wait on `cond` (broadcast on every
 * change) with a short timeout, to notice a client that went away.
 */
#include "fake_cluster.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/xalloc.h"
#include "fake_http.h"

/*
 * Watches end (after a BOOKMARK, so the informer's next watch goes on from
 * there) once they are this old. libcurl parks a request that waits to
 * multiplex (CURLOPT_PIPEWAIT) on a plain-HTTP connection until some
 * transfer ends; against a real API server (HTTP/2) nothing waits.
 */
#define WATCH_LIFE_MS 200

static const char *const res_names[FCL_NRES] = {
	[FCL_PVC] = "persistentvolumeclaims", [FCL_PV] = "persistentvolumes",
	[FCL_SC] = "storageclasses", [FCL_CM] = "configmaps", [FCL_EVENT] = "events",
	[FCL_NODE] = "nodes", [FCL_CSINODE] = "csinodes", [FCL_LEASE] = "leases",
};
static const char *const res_kinds[FCL_NRES] = {
	[FCL_PVC] = "PersistentVolumeClaim", [FCL_PV] = "PersistentVolume",
	[FCL_SC] = "StorageClass", [FCL_CM] = "ConfigMap", [FCL_EVENT] = "Event",
	[FCL_NODE] = "Node", [FCL_CSINODE] = "CSINode", [FCL_LEASE] = "Lease",
};

struct fcl {
	struct fhttp *http;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stopping;
	bool held[FCL_NRES];		/* lists and watches of it wait (fcl_hold) */
	int64_t rv, uids;
	json_t *store[FCL_NRES];	/* key ("ns/name" or "name") -> object */
	json_t *log;			/* [{res, rv, type, object}] */
	size_t n[FCL_NRES][FCL_NVERBS];
};

/* A parsed request target. */
struct target {
	int res;		/* -1: not served */
	char ns[128], name[256];
	char *query;		/* points into the target, or NULL */
};

static const char *meta_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(json_object_get(o, "metadata"), key));
}

static char *key_of(const char *ns, const char *name)
{
	return ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

/* Record a change in the log. Under mu. */
static void log_event(struct fcl *f, int res, const char *type, json_t *obj)
{
	json_array_append_new(f->log, json_pack("{s:i, s:I, s:s, s:O}", "res", res, "rv",
						(json_int_t)f->rv, "type", type, "object", obj));
	pthread_cond_broadcast(&f->cond);
}

/* Store `obj` (stolen) with a new resourceVersion and log it. Under mu. */
static void store(struct fcl *f, int res, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	const char *name = meta_str(obj, "name"), *ns = meta_str(obj, "namespace");
	char rv[32], *key = key_of(ns, name);
	bool had = json_object_get(f->store[res], key) != NULL;

	if (!json_is_object(meta)) {	/* callers checked the name, so it is there */
		meta = json_object();
		json_object_set_new(obj, "metadata", meta);
	}
	if (!meta_str(obj, "uid")) {
		char uid[64];

		snprintf(uid, sizeof(uid), "00000000-0000-4000-8000-%012lld", (long long)++f->uids);
		json_object_set_new(meta, "uid", json_string(uid));
	}
	json_object_set_new(obj, "kind", json_string(res_kinds[res]));
	snprintf(rv, sizeof(rv), "%lld", (long long)++f->rv);
	json_object_set_new(meta, "resourceVersion", json_string(rv));
	json_object_set(f->store[res], key, obj);
	log_event(f, res, had ? "MODIFIED" : "ADDED", obj);
	json_decref(obj);
	free(key);
}

/* Delete or, with finalizers, mark deleting. Under mu. */
static bool remove_obj(struct fcl *f, int res, const char *key)
{
	json_t *o = json_object_get(f->store[res], key), *fin;

	if (!o)
		return false;
	fin = json_object_get(json_object_get(o, "metadata"), "finalizers");
	if (json_array_size(fin)) {
		o = json_deep_copy(o);
		json_object_set_new(json_object_get(o, "metadata"), "deletionTimestamp",
				    json_string("2026-01-01T00:00:00Z"));
		store(f, res, o);
		return true;
	}
	json_incref(o);
	json_object_del(f->store[res], key);
	f->rv++;
	log_event(f, res, "DELETED", o);
	json_decref(o);
	return true;
}

/* The value of query parameter `key`, or NULL. Caller frees. */
static char *query(const struct target *t, const char *key)
{
	const char *q = t->query;
	size_t kl = strlen(key);

	while (q) {
		if (!strncmp(q, key, kl) && q[kl] == '=') {
			char *v = xstrndup(q + kl + 1, strcspn(q + kl + 1, "&"));

			fhttp_url_decode(v);
			return v;
		}
		q = strchr(q, '&');
		q = q ? q + 1 : NULL;
	}
	return NULL;
}

/* "/api/v1[/namespaces/NS]/RES[/NAME]", or under /apis/storage.k8s.io/v1/ or
 * /apis/coordination.k8s.io/v1/. */
static void parse_target(char *target, struct target *t)
{
	char *q = strchr(target, '?'), *p, *res, *slash;

	memset(t, 0, sizeof(*t));
	t->res = -1;
	if (q) {
		*q = '\0';
		t->query = q + 1;
	}
	if (!strncmp(target, "/api/v1/", 8))
		p = target + 8;
	else if (!strncmp(target, "/apis/storage.k8s.io/v1/", 24))
		p = target + 24;
	else if (!strncmp(target, "/apis/coordination.k8s.io/v1/", 29))
		p = target + 29;
	else
		return;
	if (!strncmp(p, "namespaces/", 11)) {
		slash = strchr(p + 11, '/');
		if (!slash || (size_t)(slash - p - 11) >= sizeof(t->ns))
			return;
		memcpy(t->ns, p + 11, (size_t)(slash - p - 11));
		p = slash + 1;
	}
	res = p;
	slash = strchr(p, '/');
	if (slash) {
		*slash = '\0';
		if (strlen(slash + 1) >= sizeof(t->name) || strchr(slash + 1, '/'))
			return;
		snprintf(t->name, sizeof(t->name), "%s", slash + 1);
		fhttp_url_decode(t->name);
	}
	for (int r = 0; r < FCL_NRES; r++)
		if (!strcmp(res, res_names[r]))
			t->res = r;
}

static bool label_matches(json_t *obj, const char *selector)
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

static void do_list(struct fcl *f, int fd, const struct target *t)
{
	char *sel = query(t, "labelSelector"), rv[32];
	json_t *items = json_array(), *list, *o;
	const char *key;

	pthread_mutex_lock(&f->mu);
	json_object_foreach(f->store[t->res], key, o) {
		const char *ns = meta_str(o, "namespace");

		if ((!*t->ns || (ns && !strcmp(ns, t->ns))) && (!sel || label_matches(o, sel)))
			json_array_append_new(items, json_deep_copy(o));
	}
	snprintf(rv, sizeof(rv), "%lld", (long long)f->rv);
	pthread_mutex_unlock(&f->mu);
	list = json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", "List", "apiVersion", "v1",
			 "metadata", "resourceVersion", rv, "items", items);
	fhttp_respond(fd, 200, list);
	json_decref(list);
	free(sel);
}

/* Stream every change of the resource after the asked resourceVersion, then wait for more. */
static void do_watch(struct fcl *f, int fd, const struct target *t)
{
	char *rvs = query(t, "resourceVersion");
	int64_t from = rvs ? strtoll(rvs, NULL, 10) : 0;
	size_t next = 0;
	int64_t began = clock_now_ms();
	bool last = false;

	free(rvs);
	if (fhttp_watch_head(fd))
		return;
	while (!last) {
		char *line = NULL;
		bool end = false;

		pthread_mutex_lock(&f->mu);
		while (!line && !end) {
			json_t *ev = json_array_get(f->log, next);

			if (f->stopping || (!ev && fhttp_peer_gone(fd))) {
				end = true;
			} else if (!ev && clock_now_ms() - began >= WATCH_LIFE_MS) {
				char bm[160];

				snprintf(bm, sizeof(bm), "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":"
					 "\"%s\",\"metadata\":{\"resourceVersion\":\"%lld\"}}}",
					 res_kinds[t->res], (long long)f->rv);
				line = xstrdup(bm);
				last = true;
			} else if (!ev) {
				struct timespec ts = clock_deadline_ms(50);

				pthread_cond_timedwait(&f->cond, &f->mu, &ts);
			} else {
				next++;
				if (json_integer_value(json_object_get(ev, "res")) == t->res &&
				    json_integer_value(json_object_get(ev, "rv")) > from) {
					json_t *w = json_pack("{s:O, s:O}", "type",
							      json_object_get(ev, "type"), "object",
							      json_object_get(ev, "object"));

					line = json_dumps(w, JSON_COMPACT);
					json_decref(w);
				}
			}
		}
		pthread_mutex_unlock(&f->mu);
		if (end || fhttp_chunk(fd, line, strlen(line))) {
			free(line);
			return;
		}
		free(line);
	}
	fhttp_chunk_end(fd);	/* ended as timeoutSeconds ends it */
}

/* RFC 7386: null removes, objects merge, anything else replaces. */
static void merge_patch(json_t *target, json_t *patch)
{
	const char *k;
	json_t *v;

	json_object_foreach(patch, k, v) {
		json_t *cur = json_object_get(target, k);

		if (json_is_null(v)) {
			json_object_del(target, k);
		} else if (json_is_object(v) && json_is_object(cur)) {
			merge_patch(cur, v);
		} else if (json_is_object(v)) {
			json_t *o = json_object();

			merge_patch(o, v);
			json_object_set_new(target, k, o);
		} else {
			json_object_set(target, k, v);
		}
	}
}

/* Resolve a JSON pointer to the parent of its last token; *last gets that token. */
static json_t *pointer_parent(json_t *doc, const char *ptr, char **last)
{
	char *copy = xstrdup(ptr), *p = copy, *tok;
	json_t *cur = doc;

	*last = NULL;
	if (*p != '/') {
		free(copy);
		return NULL;
	}
	for (tok = ++p;; tok = p) {
		char *o, *i;

		p = strchr(tok, '/');
		if (p)
			*p++ = '\0';
		for (i = o = tok; *i; i++, o++) {	/* ~1 is '/', ~0 is '~' */
			if (i[0] == '~' && (i[1] == '0' || i[1] == '1'))
				*o = *++i == '1' ? '/' : '~';
			else
				*o = *i;
		}
		*o = '\0';
		if (!p) {
			*last = xstrdup(tok);
			break;
		}
		cur = json_is_array(cur) ? json_array_get(cur, strtoul(tok, NULL, 10)) :
					   json_object_get(cur, tok);
		if (!cur)
			break;
	}
	free(copy);
	return cur;
}

/* Apply JSON patch `ops` to `doc`; 0, or -1 when an op fails (422). */
static int json_patch(json_t *doc, json_t *ops)
{
	size_t i;
	json_t *op;

	json_array_foreach(ops, i, op) {
		const char *name = json_string_value(json_object_get(op, "op"));
		const char *path = json_string_value(json_object_get(op, "path"));
		json_t *value = json_object_get(op, "value"), *parent, *cur;
		char *last;
		int rc = -1;
		size_t idx;

		if (!name || !path || !(parent = pointer_parent(doc, path, &last)))
			return -1;
		idx = strtoul(last, NULL, 10);
		cur = json_is_array(parent) ? json_array_get(parent, idx) :
					      json_object_get(parent, last);
		if (!strcmp(name, "test")) {
			rc = cur && value && json_equal(cur, value) ? 0 : -1;
		} else if (!strcmp(name, "remove") && cur) {
			rc = json_is_array(parent) ? json_array_remove(parent, idx) :
						     json_object_del(parent, last);
		} else if ((!strcmp(name, "add") || (!strcmp(name, "replace") && cur)) && value) {
			if (json_is_object(parent))
				rc = json_object_set(parent, last, value);
			else if (!strcmp(last, "-"))
				rc = json_array_append(parent, value);
			else if (!strcmp(name, "add"))
				rc = json_array_insert(parent, idx, value);
			else
				rc = json_array_set(parent, idx, value);
		}
		free(last);
		if (rc)
			return -1;
	}
	return 0;
}

/* The resourceVersion precondition of a write: true when it holds. */
static bool rv_ok(json_t *cur, json_t *body)
{
	const char *want = meta_str(body, "resourceVersion");

	return !want || !strcmp(want, meta_str(cur, "resourceVersion"));
}

static void do_write(struct fcl *f, int fd, const char *method, const struct target *t,
		     const char *ctype, const char *body)
{
	json_t *in = json_loads(body, 0, NULL), *cur, *out = NULL;
	const char *name = json_is_object(in) ? meta_str(in, "name") : NULL;
	char *key = NULL, msg[512];
	int code = 200;

	if (!in) {
		fhttp_status(fd, 400, "BadRequest", "body is not JSON");
		return;
	}
	if (!strcmp(method, "POST") && !name && meta_str(in, "generateName")) {
		char gen[300];

		pthread_mutex_lock(&f->mu);
		snprintf(gen, sizeof(gen), "%s%lld", meta_str(in, "generateName"),
			 (long long)f->rv + 1);
		pthread_mutex_unlock(&f->mu);
		json_object_set_new(json_object_get(in, "metadata"), "name", json_string(gen));
		name = meta_str(in, "name");
	}
	if (strcmp(method, "POST"))
		name = t->name;
	if (!name || !*name) {
		json_decref(in);
		fhttp_status(fd, 400, "BadRequest", "no name");
		return;
	}
	key = key_of(t->ns, name);
	pthread_mutex_lock(&f->mu);
	cur = json_object_get(f->store[t->res], key);
	if (!strcmp(method, "POST") && cur) {
		code = 409;
		snprintf(msg, sizeof(msg), "%s \"%s\" already exists", res_names[t->res], name);
	} else if (strcmp(method, "POST") && !cur) {
		code = 404;
		snprintf(msg, sizeof(msg), "%s \"%s\" not found", res_names[t->res], name);
	} else if (!strcmp(method, "POST")) {
		if (*t->ns)
			json_object_set_new(json_object_get(in, "metadata"), "namespace",
					    json_string(t->ns));
		out = json_incref(in);
	} else if (!strcmp(method, "PUT") || !strstr(ctype, "json-patch")) {
		if (!rv_ok(cur, in)) {
			code = 409;
			snprintf(msg, sizeof(msg), "Operation cannot be fulfilled on %s \"%s\": the "
				 "object has been modified", res_names[t->res], name);
		} else if (!strcmp(method, "PUT")) {
			out = json_incref(in);
		} else {
			out = json_deep_copy(cur);
			merge_patch(out, in);
		}
	} else {
		out = json_deep_copy(cur);
		if (json_patch(out, in)) {
			json_decref(out);
			out = NULL;
			code = 422;
			snprintf(msg, sizeof(msg), "the JSON patch of %s \"%s\" does not apply",
				 res_names[t->res], name);
		}
	}
	if (out) {
		store(f, t->res, out);	/* steals */
		out = json_deep_copy(json_object_get(f->store[t->res], key));
	}
	pthread_mutex_unlock(&f->mu);
	if (out)
		fhttp_respond(fd, strcmp(method, "POST") ? 200 : 201, out);
	else
		fhttp_status(fd, code, code == 409 ? (strcmp(method, "POST") ? "Conflict" :
						      "AlreadyExists") : code == 404 ? "NotFound" :
			     "Invalid", msg);
	json_decref(out);
	json_decref(in);
	free(key);
}

static void count(struct fcl *f, int res, enum fcl_verb v)
{
	pthread_mutex_lock(&f->mu);
	f->n[res][v]++;
	pthread_mutex_unlock(&f->mu);
}

/* Wait while lists and watches of `res` are held (or until the fake stops). */
static void wait_unheld(struct fcl *f, int res)
{
	pthread_mutex_lock(&f->mu);
	while (f->held[res] && !f->stopping) {
		struct timespec ts = clock_deadline_ms(50);

		pthread_cond_timedwait(&f->cond, &f->mu, &ts);
	}
	pthread_mutex_unlock(&f->mu);
}

static void handle(void *ctx, int fd, const char *method, char *target, const char *head,
		   const char *body)
{
	struct fcl *f = ctx;
	char *ctype = fhttp_header(head, "Content-Type"), *watch;
	struct target t;

	parse_target(target, &t);
	if (t.res < 0) {
		fhttp_status(fd, 404, "NotFound", "not served by the fake");
		free(ctype);
		return;
	}
	watch = query(&t, "watch");
	if (!strcmp(method, "GET") && !*t.name)
		wait_unheld(f, t.res);
	if (!strcmp(method, "GET") && !*t.name && watch && !strcmp(watch, "1")) {
		count(f, t.res, FCL_WATCH);
		do_watch(f, fd, &t);
	} else if (!strcmp(method, "GET") && !*t.name) {
		count(f, t.res, FCL_LIST);
		do_list(f, fd, &t);
	} else if (!strcmp(method, "GET")) {
		char *key = key_of(t.ns, t.name);
		json_t *o;

		pthread_mutex_lock(&f->mu);
		f->n[t.res][FCL_GET]++;
		o = json_deep_copy(json_object_get(f->store[t.res], key));
		pthread_mutex_unlock(&f->mu);
		if (o)
			fhttp_respond(fd, 200, o);
		else
			fhttp_status(fd, 404, "NotFound", "not found");
		json_decref(o);
		free(key);
	} else if (!strcmp(method, "DELETE") && *t.name) {
		char *key = key_of(t.ns, t.name);
		bool found;

		pthread_mutex_lock(&f->mu);
		f->n[t.res][FCL_DELETE]++;
		found = remove_obj(f, t.res, key);
		pthread_mutex_unlock(&f->mu);
		if (found) {
			json_t *st = json_pack("{s:s, s:s}", "kind", "Status", "status", "Success");

			fhttp_respond(fd, 200, st);
			json_decref(st);
		} else {
			fhttp_status(fd, 404, "NotFound", "not found");
		}
		free(key);
	} else if ((!strcmp(method, "POST") && !*t.name) ||
		   ((!strcmp(method, "PUT") || !strcmp(method, "PATCH")) && *t.name)) {
		count(f, t.res, !strcmp(method, "POST") ? FCL_POST : !strcmp(method, "PUT") ?
			  FCL_PUT : FCL_PATCH);
		do_write(f, fd, method, &t, ctype ? ctype : "", body);
	} else {
		fhttp_status(fd, 405, "MethodNotAllowed", "not supported by the fake");
	}
	free(watch);
	free(ctype);
}

struct fcl *fcl_start(void)
{
	struct fcl *f = xcalloc(1, sizeof(*f));

	for (int r = 0; r < FCL_NRES; r++)
		f->store[r] = json_object();
	f->log = json_array();
	f->rv = 100;
	pthread_mutex_init(&f->mu, NULL);
	clock_cond_init(&f->cond);
	f->http = fhttp_start(handle, f);
	if (!f->http) {
		fcl_stop(f);
		return NULL;
	}
	return f;
}

void fcl_stop(struct fcl *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stopping = true;	/* open watches end */
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
	fhttp_stop(f->http);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cond);
	for (int r = 0; r < FCL_NRES; r++)
		json_decref(f->store[r]);
	json_decref(f->log);
	free(f);
}

void fcl_hold(struct fcl *f, enum fcl_res r, bool held)
{
	pthread_mutex_lock(&f->mu);
	f->held[r] = held;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
}

const char *fcl_url(const struct fcl *f)
{
	return fhttp_url(f->http);
}

int64_t fcl_put(struct fcl *f, enum fcl_res r, json_t *obj)
{
	int64_t rv;

	pthread_mutex_lock(&f->mu);
	store(f, r, json_deep_copy(obj));
	rv = f->rv;
	pthread_mutex_unlock(&f->mu);
	return rv;
}

bool fcl_delete(struct fcl *f, enum fcl_res r, const char *ns, const char *name)
{
	char *key = key_of(ns, name);
	bool found;

	pthread_mutex_lock(&f->mu);
	found = remove_obj(f, r, key);
	pthread_mutex_unlock(&f->mu);
	free(key);
	return found;
}

json_t *fcl_get(struct fcl *f, enum fcl_res r, const char *ns, const char *name)
{
	char *key = key_of(ns, name);
	json_t *o;

	pthread_mutex_lock(&f->mu);
	o = json_deep_copy(json_object_get(f->store[r], key));
	pthread_mutex_unlock(&f->mu);
	free(key);
	return o;
}

json_t *fcl_all(struct fcl *f, enum fcl_res r)
{
	json_t *out = json_array(), *o;
	const char *key;

	pthread_mutex_lock(&f->mu);
	json_object_foreach(f->store[r], key, o)
		json_array_append_new(out, json_deep_copy(o));
	pthread_mutex_unlock(&f->mu);
	return out;
}

size_t fcl_count(struct fcl *f, enum fcl_res r, enum fcl_verb v)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->n[r][v];
	pthread_mutex_unlock(&f->mu);
	return n;
}

bool fcl_wait_for(struct fcl *f, bool (*check)(void *ctx), void *ctx, int64_t ms)
{
	int64_t deadline = clock_now_ms() + ms;

	while (!check(ctx)) {
		int64_t left = deadline - clock_now_ms(), rv;
		struct timespec ts;

		if (left <= 0)
			return check(ctx);
		ts = clock_deadline_ms(left < 50 ? left : 50);
		pthread_mutex_lock(&f->mu);
		rv = f->rv;
		while (f->rv == rv && pthread_cond_timedwait(&f->cond, &f->mu, &ts) == 0)
			;
		pthread_mutex_unlock(&f->mu);
	}
	return true;
}
