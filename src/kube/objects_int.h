/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects_int.h - internal to the object decoders (objects.c,
 * objects_cluster.c, objects_dec.c): the decoding context and the typed
 * field getters.
 *
 * Every getter reads `key` of the JSON object `o` (which may be NULL: then
 * the field is absent) whose dotted path is `prefix` ("" at the top). Absent
 * and null fields are unset: the getter returns 0 with *out empty (NULL,
 * 0, false). A field of another JSON type is KUBE_ERR_DECODE in d->e,
 * naming the object and the field. Strings and lists are heap copies the
 * caller owns; json_t results are borrowed from `o`.
 */
#ifndef KUBE_OBJECTS_INT_H
#define KUBE_OBJECTS_INT_H

#include "kube/objects.h"

struct dec {
	const char *what;	/* "persistentvolumeclaim 'ns/name'" */
	struct err *e;
};

/* "an object", "a list", ... for messages. */
const char *dec_type_name(json_t *v);
/* Sets d->e to "<what>: <prefix>.<key> is <type of v>, want <want>"; returns its code. */
int dec_wrong_type(struct dec *d, const char *prefix, const char *key, json_t *v,
		   const char *want);

int dec_obj(struct dec *d, json_t *o, const char *prefix, const char *key, json_t **out);
int dec_arr(struct dec *d, json_t *o, const char *prefix, const char *key, json_t **out);
int dec_str(struct dec *d, json_t *o, const char *prefix, const char *key, char **out);
int dec_bool(struct dec *d, json_t *o, const char *prefix, const char *key, bool *out);
int dec_int(struct dec *d, json_t *o, const char *prefix, const char *key, int64_t *out);
int dec_strlist(struct dec *d, json_t *o, const char *prefix, const char *key,
		char ***out, size_t *n);
int dec_strmap(struct dec *d, json_t *o, const char *prefix, const char *key,
	       struct strmap *m);
/* A quantity (string, or a number as the API server also accepts) in bytes. */
int dec_quantity(struct dec *d, json_t *o, const char *prefix, const char *key,
		 int64_t *out, bool *has);
/* Item i of list `path` must be an object: "spec.drivers[2] is a string". */
int dec_item_obj(struct dec *d, const char *path, size_t i, json_t *item);

/* Frees n strings and the array; accepts NULL. */
void dec_strv_free(char **v, size_t n);

/* metadata into *m (zeroed first; released again on error). */
int dec_meta(struct dec *d, json_t *md, struct kube_meta *m);
/* "kind 'ns/name'" or "kind 'name'" from the raw tree; caller frees. */
char *dec_describe(const char *kind, json_t *obj);
/*
 * The common start of a decoder: name the object for messages (*what,
 * which the caller frees), require a JSON object, decode metadata.
 */
int dec_begin(struct dec *d, const char *kind, json_t *obj, char **what,
	      struct kube_meta *meta, struct err *e);

#endif
