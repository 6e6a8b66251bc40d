// SPDX-License-Identifier: Apache-2.0
/*
 * strmap.c - the string map of strmap.h: one array of owned entries,
 * linear lookups, sorted on request.
 */
#include "base/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

/* The index of `key` in m, or m->n when it is not there. */
static size_t index_of(const struct strmap *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->items[i].key, key))
			break;
	return i;
}

const struct strmap_entry *strmap_find(const struct strmap *m, const char *key)
{
	size_t i;

	if (!m || !key)
		return NULL;
	i = index_of(m, key);
	return i < m->n ? &m->items[i] : NULL;
}

const char *strmap_get(const struct strmap *m, const char *key)
{
	const struct strmap_entry *e = strmap_find(m, key);

	return e ? e->value : NULL;
}

void strmap_add_owned(struct strmap *m, char *key, char *value)
{
	m->items = xgrow(m->items, m->n + 1, &m->alloc, sizeof(*m->items));
	m->items[m->n++] = (struct strmap_entry){ key, value };
}

void strmap_set(struct strmap *m, const char *key, const char *value)
{
	size_t i = index_of(m, key);

	if (i == m->n) {
		strmap_add_owned(m, xstrdup(key), xstrdup(value));
		return;
	}
	free(m->items[i].value);
	m->items[i].value = xstrdup(value);
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct strmap_entry *)a)->key,
		      ((const struct strmap_entry *)b)->key);
}

void strmap_sort(struct strmap *m)
{
	if (m->n > 1)
		qsort(m->items, m->n, sizeof(*m->items), by_key);
}

int strmap_cmp(const struct strmap *a, const struct strmap *b)
{
	int c;

	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	for (size_t i = 0; i < a->n; i++) {
		if ((c = strcmp(a->items[i].key, b->items[i].key)))
			return c;
		if ((c = strcmp(a->items[i].value, b->items[i].value)))
			return c;
	}
	return 0;
}

bool strmap_subset(const struct strmap *a, const struct strmap *b)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct strmap_entry *e = strmap_find(b, a->items[i].key);

		if (!e || strcmp(e->value, a->items[i].value))
			return false;
	}
	return true;
}

bool strmap_equal(const struct strmap *a, const struct strmap *b)
{
	return a->n == b->n && strmap_subset(a, b);
}

void strmap_copy(struct strmap *dst, const struct strmap *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src->n)
		return;
	dst->items = xcalloc(src->n, sizeof(*dst->items));
	dst->alloc = src->n;
	for (size_t i = 0; i < src->n; i++)
		dst->items[i] = (struct strmap_entry){ xstrdup(src->items[i].key),
						       xstrdup(src->items[i].value) };
	dst->n = src->n;
}

static void release(struct strmap *m, bool wipe)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->items[i].key);
		if (wipe && m->items[i].value)
			explicit_bzero(m->items[i].value, strlen(m->items[i].value));
		free(m->items[i].value);
	}
	free(m->items);
	memset(m, 0, sizeof(*m));
}

void strmap_release(struct strmap *m)
{
	release(m, false);
}

void strmap_release_secret(struct strmap *m)
{
	release(m, true);
}
