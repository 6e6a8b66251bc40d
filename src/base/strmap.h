/* SPDX-License-Identifier: Apache-2.0 */
/*
 * strmap.h - a small map from strings to strings (or byte values): labels,
 * annotations, class parameters, Secret data, CSI parameters, volume
 * context and topology segments all use it.
 *
 * Entries sit in one array in insertion order (the order the API server or
 * the driver sent them) unless strmap_sort puts them in key order; lookups
 * are linear, as these maps are small. Keys are unique when every entry
 * came through strmap_set. Values are NUL-terminated strings (a Secret's
 * binary values keep their lengths beside the map, see kube_secret).
 *
 * Ownership: a map owns its keys and values and frees them with
 * strmap_release (strmap_release_secret wipes the values first). A map that
 * a request only borrows is passed as `const struct strmap *`. Not
 * thread-safe: the owner locks.
 */
#ifndef BASE_STRMAP_H
#define BASE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap_entry {
	char *key;
	char *value;
};

struct strmap {
	struct strmap_entry *items;
	size_t n, alloc;
};

#define STRMAP_INIT { NULL, 0, 0 }

/* The value for `key`, borrowed from m, or NULL (also for a NULL m or key). */
const char *strmap_get(const struct strmap *m, const char *key);
/* The entry for `key`, borrowed, or NULL. */
const struct strmap_entry *strmap_find(const struct strmap *m, const char *key);
/* Add a copy of key and value, or replace the value of an existing key. */
void strmap_set(struct strmap *m, const char *key, const char *value);
/*
 * Append without looking for the key (the caller knows it is new); takes
 * ownership of the heap strings `key` and `value`.
 */
void strmap_add_owned(struct strmap *m, char *key, char *value);
/* Put the entries in key order (byte order, as strcmp). */
void strmap_sort(struct strmap *m);
/*
 * Order of two key-sorted maps: fewer entries first, then entry by entry
 * by key, then by value. 0 when they hold the same pairs.
 */
int strmap_cmp(const struct strmap *a, const struct strmap *b);
/* Every pair of `a` is in `b` (any order). */
bool strmap_subset(const struct strmap *a, const struct strmap *b);
/* The same pairs, in any order. */
bool strmap_equal(const struct strmap *a, const struct strmap *b);
/* Deep copy of src into dst, which it overwrites (release dst first). */
void strmap_copy(struct strmap *dst, const struct strmap *src);
/* Free the contents and zero the map. Accepts NULL. */
void strmap_release(struct strmap *m);
/* The same, zeroing every value (up to its NUL) first: for secrets. */
void strmap_release_secret(struct strmap *m);

#endif
