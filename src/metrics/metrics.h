/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - a small Prometheus registry: counters, gauges, histograms
 * with labels, rendered in the text exposition format.
 *
 * Families are declared once at start-up; series appear on first use.
 * Updates and rendering are thread-safe (one mutex per registry, held only
 * for the arithmetic). Gauges that are cheaper to read than to track
 * (queue depth, resident memory) are filled by collectors called just
 * before each render.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

#include "base/buf.h"

struct metrics;
struct metric;

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

typedef void (*metrics_collect_fn)(void *ctx, struct metrics *m);

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);	/* accepts NULL */

/*
 * Declare a family. `labels` is a NULL-terminated list of label names
 * (NULL for none); `buckets` (histograms only) are upper bounds in
 * ascending order. Strings are borrowed and must outlive the registry
 * (use literals). Declaring a name already declared with the same type
 * returns that family (its series and values carry on).
 */
struct metric *metrics_add(struct metrics *m, enum metric_type type, const char *name,
			   const char *help, const char *const *labels,
			   const double *buckets, size_t nbuckets);

/* `values` has one entry per label name, in order (NULL when there are none). */
void metric_add(struct metric *f, const char *const *values, double delta);	/* counter, gauge */
void metric_set(struct metric *f, const char *const *values, double v);		/* gauge */
void metric_observe(struct metric *f, const char *const *values, double v);	/* histogram */

void metrics_add_collector(struct metrics *m, metrics_collect_fn fn, void *ctx);

/* Append the exposition text to `out`. Returns -1 if out's cap was hit. */
int metrics_render(struct metrics *m, struct buf *out);

#endif
