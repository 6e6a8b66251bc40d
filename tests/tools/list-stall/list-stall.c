// SPDX-License-Identifier: Apache-2.0
/*
 * list-stall - list through src/kube many times at once and count the
 * lists that stall: the check for libcurl 7.88's HTTP/2 stalls (an answer
 * whose bytes have all arrived, left unfinished until the request timeout
 * when an idle watch shared its connection; since requests run on HTTP/1.1
 * connections of their own, src/kube/direct.c, no page shares one with a
 * watch, and streamed lists share the watches' lanes).
 *
 *   list-stall --kubeconfig=PATH [--threads=T] [--rounds=R] [--limit=L]
 *              [--stall-ms=S] [--timeout-ms=X] [--stream] [--watchers=W]
 *              [--watch-timeout=WS] [--idlers=I] [--v=N] PATH
 *
 * T threads (default 4) each list PATH (an absolute API path without a
 * query, e.g. /api/v1/persistentvolumes) R times (default 5), in pages of
 * L objects (default 500) following metadata.continue, all on one client
 * (its requests' HTTP/1.1 connections). Every page is one attempt (no retry) with a
 * timeout of X ms (default 30000). A page that takes longer than S ms
 * (default 5000) or fails is a stall.
 *
 * --stream: each list is a streamed one instead (a watch with
 * sendInitialEvents, ended at its initial-events-end bookmark, as the
 * informers list), on the watches' connection; a "page" is then one such
 * list, and a stall a gap of more than S ms between two of its events (or
 * a list that fails, or is silent for X ms).
 * --watchers=W: meanwhile W watches of PATH from its current
 * resourceVersion (idle unless the objects change), each ended by the
 * server after WS s (default 600) and started again; an end seen more than
 * S ms late is a stall too. --idlers=I: meanwhile I plain GETs at a time that the
 * server answers only after 2 s.
 *
 * Prints one line
 *   pages N items I watch_ends E stalls S slow W max_ms M total_s T
 * (W: pages of a second or more, stalls included) and, per stall, a
 * "stall: ..." line to stderr; exits 1 when anything stalled or failed, 64
 * on a usage error.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

struct run {
	struct kube_client *kube;
	const char *path;
	long rounds, limit, stall_ms, timeout_ms;
	bool stream;
	atomic_bool stop;
	char *watch_rv;
	long watch_s;		/* the watchers' timeoutSeconds */
	atomic_long watch_ends;
	atomic_long pages, items, stalls, slow, max_ms;
};

static void note_ms(struct run *r, long ms)
{
	long cur = atomic_load(&r->max_ms);

	while (ms > cur && !atomic_compare_exchange_weak(&r->max_ms, &cur, ms))
		;
}

/* One list of r->path, page by page; 0 when it reached the end. */
static int list_once(struct run *r)
{
	char *cont = NULL;
	int rc = 0;

	do {
		struct kube_call_opts co = { .no_retry = true };
		struct err e = ERR_INIT;
		json_t *page = NULL, *items;
		const char *next;
		char *url, *esc = NULL;
		int64_t t0 = clock_now_ms();
		long ms;
		int failed;

		if (cont)
			esc = kube_path_escape(cont);
		url = esc ? xasprintf("%s?limit=%ld&continue=%s", r->path, r->limit, esc)
			  : xasprintf("%s?limit=%ld", r->path, r->limit);
		free(esc);
		failed = kube_call(r->kube, "GET", url, NULL, &co, &page, &e);
		ms = (long)(clock_now_ms() - t0);
		note_ms(r, ms);
		atomic_fetch_add(&r->pages, 1);
		if (ms >= 1000)
			atomic_fetch_add(&r->slow, 1);
		if (failed || ms > r->stall_ms) {
			atomic_fetch_add(&r->stalls, 1);
			fprintf(stderr, "stall: %ld ms %s %s\n", ms, url,
				failed ? err_msg(&e) : "(complete)");
		}
		free(url);
		err_release(&e);
		free(cont);
		cont = NULL;
		if (failed) {
			rc = -1;
			break;
		}
		items = json_object_get(page, "items");
		atomic_fetch_add(&r->items, (long)json_array_size(items));
		next = json_string_value(json_object_get(json_object_get(page, "metadata"),
							 "continue"));
		if (next && *next)
			cont = xstrdup(next);
		json_decref(page);
	} while (cont);
	return rc;
}

struct streamed {
	struct run *r;
	int64_t last_ms;
	long gap_ms, items;
};

static int stream_event(void *p, const char *type, json_t *obj)
{
	struct streamed *s = p;
	int64_t now = clock_now_ms();
	const char *end;

	if (now - s->last_ms > s->gap_ms)
		s->gap_ms = (long)(now - s->last_ms);
	s->last_ms = now;
	if (strcmp(type, "BOOKMARK")) {
		s->items++;
		return 0;
	}
	end = json_string_value(json_object_get(json_object_get(json_object_get(obj,
		"metadata"), "annotations"), "k8s.io/initial-events-end"));
	return end && !strcmp(end, "true");	/* the list is complete: end the watch */
}

/* One streamed list of r->path; 0 when it reached its end. */
static int stream_once(struct run *r)
{
	struct streamed s = { .r = r, .last_ms = clock_now_ms() };
	char *url = xasprintf("%s?watch=1&sendInitialEvents=true&resourceVersionMatch="
			      "NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=600",
			      r->path);
	struct err e = ERR_INIT;
	int64_t t0 = s.last_ms;
	long idle_s = (r->timeout_ms + 999) / 1000;
	int failed = kube_watch_idle(r->kube, url, stream_event, &s, NULL, idle_s, &e);

	note_ms(r, s.gap_ms);
	atomic_fetch_add(&r->pages, 1);
	atomic_fetch_add(&r->items, s.items);
	if (failed || s.gap_ms > r->stall_ms) {
		atomic_fetch_add(&r->stalls, 1);
		fprintf(stderr, "stall: %ld ms gap in %ld ms %s %s\n", s.gap_ms,
			(long)(clock_now_ms() - t0), url, failed ? err_msg(&e) : "(complete)");
	}
	err_release(&e);
	free(url);
	return failed ? -1 : 0;
}

static void *worker(void *arg)
{
	struct run *r = arg;

	for (long i = 0; i < r->rounds; i++)
		(void)(r->stream ? stream_once(r) : list_once(r));	/* a failed list: the next round starts over */
	return NULL;
}

static int idle_event(void *p, const char *type, json_t *obj)
{
	(void)p;
	(void)type;
	(void)obj;
	return 0;
}

/* A watch of r->path from the current resourceVersion: idle unless the objects change. */
static void *watcher(void *arg)
{
	struct run *r = arg;
	char *url = xasprintf("%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%ld&"
			      "resourceVersion=%s", r->path, r->watch_s, r->watch_rv);

	while (!atomic_load(&r->stop)) {
		struct err e = ERR_INIT;
		int64_t t0 = clock_now_ms();
		long late;

		if (kube_watch(r->kube, url, idle_event, r, &r->stop, &e) &&
		    err_code(&e) != KUBE_ERR_CANCELLED)
			fprintf(stderr, "watch: %s\n", err_msg(&e));
		late = (long)(clock_now_ms() - t0) - r->watch_s * 1000;
		if (!atomic_load(&r->stop)) {
			/* the server ended it after timeoutSeconds: how late did we see the end? */
			atomic_fetch_add(&r->watch_ends, 1);
			if (late > r->stall_ms) {
				atomic_fetch_add(&r->stalls, 1);
				fprintf(stderr, "stall: watch end seen %ld ms late\n", late);
			}
		}
		err_release(&e);
	}
	free(url);
	return NULL;
}

/* Plain GETs the server answers only after 2 s (a watch that ends at once
 * with no event): a slow request on the requests' own connection. */
static void *idler(void *arg)
{
	struct run *r = arg;
	char *url = xasprintf("%s?watch=1&timeoutSeconds=2&resourceVersion=%s", r->path,
			      r->watch_rv);

	while (!atomic_load(&r->stop)) {
		struct kube_call_opts co = { .no_retry = true };
		struct err e = ERR_INIT;
		json_t *out = NULL;

		(void)kube_call(r->kube, "GET", url, NULL, &co, &out, &e);
		json_decref(out);
		err_release(&e);
	}
	free(url);
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: list-stall --kubeconfig=PATH [--threads=T] [--rounds=R] "
		"[--limit=L] [--stall-ms=S] [--timeout-ms=X] [--stream] [--watchers=W] "
		"[--watch-timeout=WS] [--idlers=I] [--v=N] PATH\n");
	return 64;
}

int main(int argc, char **argv)
{
	const char *kubeconfig = getenv("KUBECONFIG");
	struct kube_client_opts o = { .qps = -1, .user_agent = "list-stall",
				      .timeout_ms = 30000 };
	struct kube_config *cfg = NULL;
	struct run r = { .rounds = 5, .limit = 500, .stall_ms = 5000, .watch_s = 600 };
	struct err e = ERR_INIT;
	long threads = 4, watchers = 0, idlers = 0;
	pthread_t *tids, *wids;
	int64_t t0;
	int a;

	for (a = 1; a < argc && !strncmp(argv[a], "--", 2); a++) {
		char *end = NULL;
		long v = 0;
		const char *eq = strchr(argv[a], '=');

		if (eq) {
			v = strtol(eq + 1, &end, 10);
			if (end == eq + 1 || *end)
				end = NULL;
		}
		if (!strncmp(argv[a], "--kubeconfig=", 13))
			kubeconfig = argv[a] + 13;
		else if (!strcmp(argv[a], "--stream"))
			r.stream = true;
		else if (!end || v < 1)
			return usage();
		else if (!strncmp(argv[a], "--threads=", 10))
			threads = v;
		else if (!strncmp(argv[a], "--watchers=", 11))
			watchers = v;
		else if (!strncmp(argv[a], "--watch-timeout=", 16))
			r.watch_s = v;
		else if (!strncmp(argv[a], "--idlers=", 9))
			idlers = v;
		else if (!strncmp(argv[a], "--rounds=", 9))
			r.rounds = v;
		else if (!strncmp(argv[a], "--limit=", 8))
			r.limit = v;
		else if (!strncmp(argv[a], "--stall-ms=", 11))
			r.stall_ms = v;
		else if (!strncmp(argv[a], "--timeout-ms=", 13))
			o.timeout_ms = v;
		else if (!strncmp(argv[a], "--v=", 4))
			log_set_level((int)v);
		else
			return usage();
	}
	if (argc - a != 1 || !kubeconfig || argv[a][0] != '/' || strchr(argv[a], '?'))
		return usage();
	r.path = argv[a];
	r.timeout_ms = o.timeout_ms;
	if (kube_config_load(&cfg, kubeconfig, &e) || kube_client_new(&r.kube, cfg, &o, &e)) {
		fprintf(stderr, "list-stall: %s\n", err_msg(&e));
		err_release(&e);
		kube_config_free(cfg);
		return 1;
	}
	if (watchers || idlers) {
		char *u = xasprintf("%s?limit=1", r.path);
		json_t *l = NULL;

		if (kube_get(r.kube, u, &l, &e))
			BUG("list-stall: %s", err_msg(&e));
		r.watch_rv = xstrdup(json_string_value(json_object_get(json_object_get(l,
			"metadata"), "resourceVersion")));
		json_decref(l);
		free(u);
	}
	wids = xcalloc((size_t)(watchers + idlers) + 1, sizeof(*wids));
	for (long t = 0; t < watchers + idlers; t++)
		if (pthread_create(&wids[t], NULL, t < watchers ? watcher : idler, &r))
			BUG("cannot start a thread");

	tids = xcalloc((size_t)threads, sizeof(*tids));
	t0 = clock_now_ms();
	for (long t = 0; t < threads; t++)
		if (pthread_create(&tids[t], NULL, worker, &r))
			BUG("cannot start a thread");
	for (long t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	atomic_store(&r.stop, true);
	for (long t = 0; t < watchers + idlers; t++)
		pthread_join(wids[t], NULL);
	free(wids);
	free(r.watch_rv);
	printf("pages %ld items %ld watch_ends %ld stalls %ld slow %ld max_ms %ld total_s %.1f\n",
	       atomic_load(&r.pages), atomic_load(&r.items), atomic_load(&r.watch_ends),
	       atomic_load(&r.stalls),
	       atomic_load(&r.slow),
	       atomic_load(&r.max_ms), (double)(clock_now_ms() - t0) / 1000.0);
	free(tids);
	kube_client_free(r.kube);
	kube_config_free(cfg);
	return atomic_load(&r.stalls) ? 1 : 0;
}
