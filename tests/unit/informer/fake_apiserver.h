/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_apiserver.h - a tiny in-process HTTP/1.1 server on 127.0.0.1 that
 * plays the API server for one cluster-scoped collection, so the informer
 * can be tested without a cluster.
 *
 * It keeps a "world" of objects (name -> resourceVersion, plus a flag that
 * makes an object undecodable) and a log of the events that built it, with
 * one resourceVersion counter, as etcd does. GET <path>?limit=N[&continue=K]
 * lists it in pages; GET <path>?watch=1&resourceVersion=R streams every
 * event after R and then waits for more; R older than the last compaction
 * gets an ERROR event with a 410 Status, as kube-apiserver without its
 * watch cache. A watch with sendInitialEvents=true (a streamed list) gets
 * every object as ADDED and a BOOKMARK annotated initial-events-end, as
 * kube-apiserver with its WatchList feature, or 422 as without it. Tests change the world with fake_put/fake_delete, compact
 * it, send bookmarks and cut every open watch (an API server restart).
 *
 * Threads: an accept thread, and one thread per connection (each answers
 * one request and closes). All state is guarded by `mu`; `cond` is
 * broadcast on every change. Everything is freed by fake_stop.
 */
#ifndef FAKE_APISERVER_H
#define FAKE_APISERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake;

/* Serve `path` (e.g. "/api/v1/persistentvolumes"); NULL on failure. */
struct fake *fake_start(const char *path);
void fake_stop(struct fake *f);	/* accepts NULL */
/* "http://127.0.0.1:PORT", borrowed */
const char *fake_url(const struct fake *f);

/* Create or update `name` (a new resourceVersion); `bad` makes its JSON undecodable. */
int64_t fake_put(struct fake *f, const char *name, bool bad);
int64_t fake_delete(struct fake *f, const char *name);
/* Forget the event history up to now: older watches get 410. */
void fake_compact(struct fake *f);
/* Send a BOOKMARK at a fresh resourceVersion to every open watch. */
int64_t fake_bookmark(struct fake *f);
/* End every open watch properly once it sent what is pending (timeoutSeconds). */
void fake_end_watches(struct fake *f);
/* Close every open watch connection at once (a crash or a restart). */
void fake_cut_watches(struct fake *f);

/* Add an annotation of `bytes` characters to every object served (big objects). */
void fake_set_padding(struct fake *f, size_t bytes);
/* With `on`, every watch ends properly at once, before any event. */
void fake_set_watch_ends_at_once(struct fake *f, bool on);
/* With `on`, streamed lists are refused (422), as by a server without WatchList. */
void fake_set_stream_refused(struct fake *f, bool on);
/* With `on`, streamed lists send their objects but never the end bookmark. */
void fake_set_stream_end_withheld(struct fake *f, bool on);
/* Streamed list requests (not counted as watches). */
size_t fake_streams(struct fake *f);
/* The limit of the last list request; -1 without one. */
long fake_last_list_limit(struct fake *f);

/* Request counters. */
size_t fake_lists(struct fake *f);	/* list requests (pages) */
size_t fake_watches(struct fake *f);	/* watch requests */
/* The resourceVersion asked for by the last watch request ("" if none). */
void fake_last_watch_rv(struct fake *f, char *out, size_t n);
/* Wait up to ms until at least `n` watch requests were made; true if so. */
bool fake_wait_watch_requests(struct fake *f, size_t n, int64_t ms);
/* Wait up to ms until at least `n` list requests were made; true if so. */
bool fake_wait_lists(struct fake *f, size_t n, int64_t ms);
/* Wait up to ms for at least `n` watches to be open; true if so. */
bool fake_wait_watching(struct fake *f, size_t n, int64_t ms);

#endif
