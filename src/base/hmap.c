// SPDX-License-Identifier: Apache-2.0
/* hmap.c - a chained hash map from strings to pointers (see hmap.h). */
#include "base/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

size_t hmap_hash(const char *key)
{
	/* FNV-1a, 64 bit */
	size_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct hmap_entry **find(const struct hmap *m, const char *key, size_t h)
{
	struct hmap_entry **pp;

	if (!m->nbuckets)
		return NULL;
	for (pp = &m->buckets[h & (m->nbuckets - 1)]; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && !strcmp((*pp)->key, key))
			return pp;
	return NULL;
}

void *hmap_get(const struct hmap *m, const char *key)
{
	struct hmap_entry **pp = find(m, key, hmap_hash(key));

	return pp ? (*pp)->value : NULL;
}

bool hmap_has(const struct hmap *m, const char *key)
{
	return find(m, key, hmap_hash(key)) != NULL;
}

static void grow(struct hmap *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
	struct hmap_entry **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < m->nbuckets; i++) {
		struct hmap_entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

void *hmap_put(struct hmap *m, const char *key, void *value)
{
	size_t h = hmap_hash(key), len;
	struct hmap_entry **pp = find(m, key, h), *e;
	void *old;

	if (pp) {
		old = (*pp)->value;
		(*pp)->value = value;
		return old;
	}
	if (m->count >= m->nbuckets)
		grow(m);
	len = strlen(key);
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->value = value;
	e->next = m->buckets[h & (m->nbuckets - 1)];
	m->buckets[h & (m->nbuckets - 1)] = e;
	m->count++;
	return NULL;
}

void *hmap_remove(struct hmap *m, const char *key)
{
	struct hmap_entry **pp = find(m, key, hmap_hash(key)), *e;
	void *old;

	if (!pp)
		return NULL;
	e = *pp;
	*pp = e->next;
	old = e->value;
	free(e);
	m->count--;
	return old;
}

void hmap_each(const struct hmap *m, void (*fn)(void *ctx, const char *key, void *value), void *ctx)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct hmap_entry *e = m->buckets[i]; e; e = e->next)
			fn(ctx, e->key, e->value);
}

void hmap_release(struct hmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct hmap_entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->count = 0;
}
