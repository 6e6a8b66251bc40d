// SPDX-License-Identifier: Apache-2.0
/*
 * metrics.c - a small Prometheus registry (see metrics.h).
 *
 * DESIGN: `mu` guards every family's series map and values. Collectors run
 * before rendering without `mu` held (they call metric_set, which takes it)
 * but under `collect_mu`, which also guards the collector list: lock order
 * collect_mu, then whatever a collector takes (a work queue's mutex), then
 * mu. Nothing is called out to with `mu` held.
 * Series keys are the label values joined by \x1f, a byte that cannot
 * appear in our label values.
 */
#include "metrics/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "base/xalloc.h"

struct series {
	char **values;		/* label values */
	double value;		/* counter/gauge; histogram sum */
	unsigned long long count;
	unsigned long long *bucket_counts;
};

struct metric {
	enum metric_type type;
	const char *name, *help;
	const char *const *labels;
	size_t nlabels;
	size_t *by_name;	/* label indexes in the order of their names (the output order) */
	const double *buckets;
	size_t nbuckets;
	struct hmap series;
	char **order;		/* keys in creation order, for stable output */
	size_t norder, order_alloc;
	struct metrics *owner;
};

struct collector {
	metrics_collect_fn fn;
	void *ctx;
};

struct metrics {
	pthread_mutex_t mu;
	pthread_mutex_t collect_mu;
	struct metric **families;
	size_t n, alloc;
	struct collector *collectors;
	size_t ncollectors, collectors_alloc;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->mu, NULL);
	pthread_mutex_init(&m->collect_mu, NULL);
	return m;
}

struct metric *metrics_add(struct metrics *m, enum metric_type type, const char *name,
			   const char *help, const char *const *labels,
			   const double *buckets, size_t nbuckets)
{
	struct metric *f = xcalloc(1, sizeof(*f));

	f->type = type;
	f->name = name;
	f->help = help;
	f->labels = labels;
	while (labels && labels[f->nlabels])
		f->nlabels++;
	f->by_name = xcalloc(f->nlabels + 1, sizeof(*f->by_name));
	for (size_t i = 0; i < f->nlabels; i++) {
		size_t j = i;

		for (; j > 0 && strcmp(labels[f->by_name[j - 1]], labels[i]) > 0; j--)
			f->by_name[j] = f->by_name[j - 1];
		f->by_name[j] = i;
	}
	f->buckets = buckets;
	f->nbuckets = nbuckets;
	f->owner = m;
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->families[i]->name, name) && m->families[i]->type == type) {
			/* declared again (a module created anew): the same family */
			struct metric *old = m->families[i];

			pthread_mutex_unlock(&m->mu);
			free(f->by_name);
			free(f);
			return old;
		}
	m->families = xgrow(m->families, m->n + 1, &m->alloc, sizeof(*m->families));
	m->families[m->n++] = f;
	pthread_mutex_unlock(&m->mu);
	return f;
}

void metrics_add_collector(struct metrics *m, metrics_collect_fn fn, void *ctx)
{
	pthread_mutex_lock(&m->collect_mu);
	m->collectors = xgrow(m->collectors, m->ncollectors + 1, &m->collectors_alloc,
			      sizeof(*m->collectors));
	m->collectors[m->ncollectors++] = (struct collector){ fn, ctx };
	pthread_mutex_unlock(&m->collect_mu);
}

void metrics_remove_collector(struct metrics *m, metrics_collect_fn fn, void *ctx)
{
	pthread_mutex_lock(&m->collect_mu);
	for (size_t i = 0; i < m->ncollectors; i++)
		if (m->collectors[i].fn == fn && m->collectors[i].ctx == ctx) {
			memmove(&m->collectors[i], &m->collectors[i + 1],
				(m->ncollectors - i - 1) * sizeof(*m->collectors));
			m->ncollectors--;
			break;
		}
	pthread_mutex_unlock(&m->collect_mu);
}

void metrics_exponential_buckets(double start, double factor, size_t n, double *out)
{
	/* multiplied step by step, not pow(): the bounds must be the same doubles as upstream's */
	for (size_t i = 0; i < n; i++)
		out[i] = i ? out[i - 1] * factor : start;
}

void metrics_format_number(double v, char *out, size_t size)
{
	char e[40], *end;
	int digits;
	long exp;

	if (isnan(v)) {
		snprintf(out, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, size, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == 0) {
		snprintf(out, size, "0");
		return;
	}
	/* the fewest significant digits that read back as the same double */
	for (digits = 1; digits < 17; digits++) {
		snprintf(e, sizeof(e), "%.*e", digits - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	snprintf(e, sizeof(e), "%.*e", digits - 1, v);
	exp = strtol(strchr(e, 'e') + 1, &end, 10);
	/* Go's 'g' with the shortest precision switches to an exponent below 1e-4 and from 1e6 */
	if (exp < -4 || exp >= 6)
		snprintf(out, size, "%s", e);
	else
		snprintf(out, size, "%.*f", digits - 1 - (int)exp > 0 ? digits - 1 - (int)exp : 0, v);
}

/* Find or create the series; caller holds mu. */
static struct series *series_of(struct metric *f, const char *const *values)
{
	struct buf key;
	struct series *s;

	buf_init(&key, (size_t)-1 / 2);
	for (size_t i = 0; i < f->nlabels; i++) {
		const char *v = values && values[i] ? values[i] : "";

		buf_append(&key, v, strlen(v));
		buf_append(&key, "\x1f", 1);
	}
	buf_append(&key, "", 0);
	s = hmap_get(&f->series, key.data);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->values = xcalloc(f->nlabels + 1, sizeof(char *));
		for (size_t i = 0; i < f->nlabels; i++)
			s->values[i] = xstrdup(values && values[i] ? values[i] : "");
		if (f->type == METRIC_HISTOGRAM)
			s->bucket_counts = xcalloc(f->nbuckets + 1, sizeof(*s->bucket_counts));
		hmap_put(&f->series, key.data, s);
		f->order = xgrow(f->order, f->norder + 1, &f->order_alloc, sizeof(char *));
		f->order[f->norder++] = xstrdup(key.data);
	}
	buf_release(&key);
	return s;
}

void metric_add(struct metric *f, const char *const *values, double delta)
{
	pthread_mutex_lock(&f->owner->mu);
	series_of(f, values)->value += delta;
	pthread_mutex_unlock(&f->owner->mu);
}

void metric_set(struct metric *f, const char *const *values, double v)
{
	pthread_mutex_lock(&f->owner->mu);
	series_of(f, values)->value = v;
	pthread_mutex_unlock(&f->owner->mu);
}

void metric_touch(struct metric *f, const char *const *values)
{
	pthread_mutex_lock(&f->owner->mu);
	series_of(f, values);
	pthread_mutex_unlock(&f->owner->mu);
}

void metric_observe(struct metric *f, const char *const *values, double v)
{
	struct series *s;

	pthread_mutex_lock(&f->owner->mu);
	s = series_of(f, values);
	s->value += v;
	s->count++;
	for (size_t i = 0; i < f->nbuckets; i++)
		if (v <= f->buckets[i])
			s->bucket_counts[i]++;
	pthread_mutex_unlock(&f->owner->mu);
}

/* Label values escaped as the exposition format asks: \\ \" \n. */
static int put_labels(struct buf *out, const struct metric *f, const struct series *s,
		      const char *extra_name, const char *extra_value)
{
	int rc = 0;
	bool any = f->nlabels || extra_name;

	if (!any)
		return 0;
	rc |= buf_append(out, "{", 1);
	/* label names sorted, `le` last, as the Go library writes them */
	for (size_t i = 0; i <= f->nlabels; i++) {
		const char *name = i < f->nlabels ? f->labels[f->by_name[i]] : extra_name;
		const char *v = i < f->nlabels ? s->values[f->by_name[i]] : extra_value;

		if (!name)
			break;
		rc |= buf_appendf(out, "%s%s=\"", i ? "," : "", name);
		for (const char *p = v; *p; p++) {
			if (*p == '\\' || *p == '"')
				rc |= buf_appendf(out, "\\%c", *p);
			else if (*p == '\n')
				rc |= buf_append(out, "\\n", 2);
			else
				rc |= buf_append(out, p, 1);
		}
		rc |= buf_append(out, "\"", 1);
	}
	rc |= buf_append(out, "}", 1);
	return rc;
}

static int put_number(struct buf *out, double v)
{
	char num[40];

	metrics_format_number(v, num, sizeof(num));
	return buf_appendf(out, " %s\n", num);
}

static int by_family_name(const void *a, const void *b)
{
	return strcmp((*(struct metric *const *)a)->name, (*(struct metric *const *)b)->name);
}

/* The Go library's series order: label values compared one by one, in label-name order. */
static int by_label_values(const void *a, const void *b, void *ctx)
{
	const struct series *x = *(struct series *const *)a, *y = *(struct series *const *)b;
	const struct metric *f = ctx;

	for (size_t i = 0; i < f->nlabels; i++) {
		int c = strcmp(x->values[f->by_name[i]], y->values[f->by_name[i]]);

		if (c)
			return c;
	}
	return 0;
}

int metrics_render(struct metrics *m, struct buf *out)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	struct metric **families;
	struct series **list = NULL;
	size_t list_alloc = 0;
	int rc = 0;

	pthread_mutex_lock(&m->collect_mu);
	for (size_t i = 0; i < m->ncollectors; i++)
		m->collectors[i].fn(m->collectors[i].ctx, m);

	pthread_mutex_lock(&m->mu);
	/* families by name, as the Go library gathers them */
	families = xcalloc(m->n + 1, sizeof(*families));
	if (m->n)	/* m->families is NULL before the first family */
		memcpy(families, m->families, m->n * sizeof(*families));
	qsort(families, m->n, sizeof(*families), by_family_name);
	for (size_t i = 0; i < m->n; i++) {
		struct metric *f = families[i];

		if (!f->norder)
			continue;	/* as the Go library: no series, no family */
		rc |= buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
				  types[f->type]);
		list = xgrow(list, f->norder, &list_alloc, sizeof(*list));
		for (size_t k = 0; k < f->norder; k++)
			list[k] = hmap_get(&f->series, f->order[k]);
		qsort_r(list, f->norder, sizeof(*list), by_label_values, f);
		for (size_t k = 0; k < f->norder; k++) {
			struct series *s = list[k];

			if (f->type != METRIC_HISTOGRAM) {
				rc |= buf_appendf(out, "%s", f->name);
				rc |= put_labels(out, f, s, NULL, NULL);
				rc |= put_number(out, s->value);
				continue;
			}
			for (size_t b = 0; b <= f->nbuckets; b++) {
				char le[40];

				metrics_format_number(b < f->nbuckets ? f->buckets[b] : INFINITY,
						      le, sizeof(le));
				rc |= buf_appendf(out, "%s_bucket", f->name);
				rc |= put_labels(out, f, s, "le", le);
				rc |= put_number(out, (double)(b < f->nbuckets ? s->bucket_counts[b]
									  : s->count));
			}
			rc |= buf_appendf(out, "%s_sum", f->name);
			rc |= put_labels(out, f, s, NULL, NULL);
			rc |= put_number(out, s->value);
			rc |= buf_appendf(out, "%s_count", f->name);
			rc |= put_labels(out, f, s, NULL, NULL);
			rc |= put_number(out, (double)s->count);
		}
	}
	pthread_mutex_unlock(&m->mu);
	pthread_mutex_unlock(&m->collect_mu);
	free(families);
	free(list);
	return rc ? -1 : 0;
}

static void free_series(void *ctx, const char *key, void *value)
{
	struct series *s = value;
	struct metric *f = ctx;

	(void)key;
	for (size_t i = 0; i < f->nlabels; i++)
		free(s->values[i]);
	free(s->values);
	free(s->bucket_counts);
	free(s);
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct metric *f = m->families[i];

		hmap_each(&f->series, free_series, f);
		hmap_release(&f->series);
		for (size_t k = 0; k < f->norder; k++)
			free(f->order[k]);
		free(f->order);
		free(f->by_name);
		free(f);
	}
	free(m->families);
	free(m->collectors);
	pthread_mutex_destroy(&m->mu);
	pthread_mutex_destroy(&m->collect_mu);
	free(m);
}
