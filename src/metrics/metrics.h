/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - a small Prometheus registry: counters, gauges, histograms
 * with labels, rendered in the text exposition format.
 *
 * Families are declared once at start-up; series appear on first use
 * (or metric_touch). Updates and rendering are thread-safe (one mutex per
 * registry, held only for the arithmetic). Gauges that are cheaper to read
 * than to track (queue depth, resident memory) are filled by collectors
 * called just before each render.
 *
 * The output follows what the Go client library writes, so that scrapes of
 * upstream's sidecar and of ours read the same: a family without series is
 * left out, and numbers (sample values and `le` bounds) are written in Go's
 * shortest form ("1e-08", "9.999999999999999e-06", "1.7e+09").
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
/* Create the series (at zero) if it does not exist yet, so it is exported before its first event. */
void metric_touch(struct metric *f, const char *const *values);

/*
 * Collectors run before every render, one render at a time, with no lock of
 * the registry held (they call metric_set). Remove a collector before its
 * ctx goes; after metrics_remove_collector returns it is not running and
 * will not run again.
 */
void metrics_add_collector(struct metrics *m, metrics_collect_fn fn, void *ctx);
void metrics_remove_collector(struct metrics *m, metrics_collect_fn fn, void *ctx);

/* `n` bounds start, start*factor, ... computed as the Go library does (same doubles). */
void metrics_exponential_buckets(double start, double factor, size_t n, double *out);
/* `v` as Go's strconv.FormatFloat(v, 'g', -1, 64), with +Inf/-Inf/NaN as the text format has them. */
void metrics_format_number(double v, char *out, size_t size);

/* Append the exposition text to `out`. Returns -1 if out's cap was hit. */
int metrics_render(struct metrics *m, struct buf *out);

#endif
