/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_lease.h - an in-process HTTP/1.1 stand-in for the API server that
 * serves ONE coordination.k8s.io/v1 Lease (GET, POST to its collection,
 * PUT with resourceVersion checks, as kube-apiserver does), for the leader
 * election tests.
 *
 * It can misbehave the ways that matter for split brain: hang (take
 * requests and never answer, as a paused API server or a frozen network
 * path), fail with 500, refuse the next PUT with a 409 Conflict, and let
 * "another replica" take the Lease behind the leader's back.
 *
 * Threads: an accept thread and one thread per connection (one request
 * each, then close). All state is guarded by one mutex; fl_stop frees
 * everything, cutting hung requests.
 */
#ifndef FAKE_LEASE_H
#define FAKE_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_lease;

enum fl_mode {
	FL_SERVE,	/* answer as the API server would */
	FL_HANG,	/* read requests, answer none until the mode changes */
	FL_FAIL,	/* answer every request 500 */
};

/* Serve /apis/coordination.k8s.io/v1/namespaces/<ns>/leases/<name>; NULL on failure. */
struct fake_lease *fl_start(const char *ns, const char *name);
void fl_stop(struct fake_lease *f);	/* accepts NULL */
const char *fl_url(const struct fake_lease *f);	/* "http://127.0.0.1:PORT", borrowed */

void fl_set_mode(struct fake_lease *f, enum fl_mode m);
/* Answer every request `ms` after it arrived (0: at once). */
void fl_set_delay(struct fake_lease *f, int64_t ms);
/* When (clock_now_ms) the last PUT arrived; 0 before the first. */
int64_t fl_last_put_at(struct fake_lease *f);
/* Make the next `n` PUTs fail with 409 Conflict whatever their resourceVersion. */
void fl_conflict_puts(struct fake_lease *f, int n);
/* Write the Lease as another replica would: `holder`, duration, renewTime now. */
void fl_take(struct fake_lease *f, const char *holder, int duration_s);

/* Requests received with `verb` (GET, PUT, POST), answered or not. */
size_t fl_count(struct fake_lease *f, const char *verb);
/* Requests being held by FL_HANG right now. */
size_t fl_hanging(struct fake_lease *f);
/* A field of the Lease's spec as text ("" when absent; numbers as digits). Caller frees. */
char *fl_spec(struct fake_lease *f, const char *field);
/* Whether the Lease exists. */
bool fl_exists(struct fake_lease *f);
/* Wait up to ms until fl_count(verb) >= n; true if so. */
bool fl_wait_count(struct fake_lease *f, const char *verb, size_t n, int64_t ms);

#endif
