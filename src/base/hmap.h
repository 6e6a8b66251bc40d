/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hmap.h - a hash map from strings to pointers.
 *
 * Chained, power-of-two sized, grows at load factor 1. The map owns copies
 * of its keys; values are the caller's. Not thread-safe: the owner locks.
 */
#ifndef BASE_HMAP_H
#define BASE_HMAP_H

#include <stdbool.h>
#include <stddef.h>

struct hmap_entry {
	struct hmap_entry *next;
	size_t hash;
	void *value;
	char key[];
};

struct hmap {
	struct hmap_entry **buckets;
	size_t nbuckets;	/* 0 or a power of two */
	size_t count;
};

#define HMAP_INIT { NULL, 0, 0 }

void *hmap_get(const struct hmap *m, const char *key);
bool hmap_has(const struct hmap *m, const char *key);
/* Insert or replace; returns the previous value (or NULL). */
void *hmap_put(struct hmap *m, const char *key, void *value);
/* Remove; returns the value that was there (or NULL). */
void *hmap_remove(struct hmap *m, const char *key);
/* Call fn for every entry; fn must not change the map. */
void hmap_each(const struct hmap *m, void (*fn)(void *ctx, const char *key, void *value), void *ctx);
/* Free the entries (not the values). Accepts NULL. */
void hmap_release(struct hmap *m);
size_t hmap_hash(const char *key);

#endif
