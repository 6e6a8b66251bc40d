// SPDX-License-Identifier: Apache-2.0
/*
 * journal_store.c - the journal's shards on the API server: listing them,
 * taking them over, and writing one shard with its conflicts handled
 * (see journal.h for the model, journal.c for the locking).
 *
 * A shard is a Lease (coordination.k8s.io/v1) whose annotations hold the
 * records (see JOURNAL_INTENT_PREFIX in journal_int.h); its spec carries
 * the holder too (holderIdentity), so `kubectl get lease` shows it, but
 * nothing renews it: it is a store, not a lock. Leases, because upstream's
 * RBAC grants them in the provisioner's namespace and nothing else there.
 * The API server refuses an object whose annotations (names and values)
 * exceed 256 KiB, hence the shard size (journal.c).
 *
 * Fencing of new shards: resourceVersion preconditions fence writes to
 * shards that exist, but a POST of a new shard has nothing to be fenced by.
 * So shard 0 carries the annotation csi-provisioner.dev/journal-shards = N,
 * the number of shards its holder may have created, and a holder raises N
 * (a PUT of shard 0, fenced like any other) before it creates shard N or
 * later. A take-over writes shard 0 first, then makes sure every shard
 * below N exists with the new holder (creating empty ones that are
 * missing). An old holder can then create no shard: below N they exist,
 * and raising N fails on shard 0. A take-over also creates shard 0 when
 * other shards exist without it (an operator deleted it).
 *
 * Leases with the label whose name is not "<base>-<n>" (n a decimal
 * number without leading zeros, below JOURNAL_INDEX_MAX) are not ours:
 * they are logged at load and otherwise ignored.
 */
#include "journal/journal_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "kube/client.h"
#include "kube/path.h"

void shards_reserve(struct journal *j, size_t n)
{
	size_t old = j->shards_alloc;

	if (n <= old)
		return;
	j->shards = xgrow(j->shards, n, &j->shards_alloc, sizeof(*j->shards));
	for (size_t i = old; i < j->shards_alloc; i++) {
		struct shard *s = &j->shards[i];

		memset(s, 0, sizeof(*s));
		s->name = xasprintf("%s-%zu", j->base, i);
		kube_path_object(&s->path, KUBE_RES_LEASE, j->ns, s->name, NULL);
	}
}

static void free_value(void *ctx, const char *key, void *value)
{
	free(value);
}

static void data_release(struct hmap *m)
{
	hmap_each(m, free_value, NULL);
	hmap_release(m);
}

void shard_release(struct shard *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->path);
	free(s->rv);
	json_decref(s->obj);
	data_release(&s->data);
}

/* The index of a shard name, or -1 when the name is not "<base>-<n>". */
long shard_index(struct journal *j, const char *name)
{
	size_t bl = strlen(j->base);
	const char *p = name + bl + 1;
	long v = 0;

	if (strncmp(name, j->base, bl) || name[bl] != '-' || !*p || (p[0] == '0' && p[1]))
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
		if (v >= JOURNAL_INDEX_MAX)
			return -1;
	}
	return v;
}

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool entry_short(const char *key)
{
	size_t n = strlen(key);

	return n && n <= JOURNAL_NAME_MAX && alnum(key[0]) && alnum(key[n - 1]);
}

/* Digits of a long record's number: a shard (at most 240 KiB) holds fewer than 10^6 records. */
#define LONG_DIGITS 6

size_t entry_cost(const char *key, size_t vlen)
{
	size_t kl = strlen(key);

	if (entry_short(key))
		return sizeof(JOURNAL_INTENT_PREFIX) - 1 + kl + vlen;
	return sizeof(JOURNAL_LONG_PREFIX) - 1 + LONG_DIGITS + kl + 1 + vlen;
}

int entry_parse(const char *name, const char *v, char **key, const char **value, struct err *e)
{
	const char *nl;

	if (!strncmp(name, JOURNAL_INTENT_PREFIX, sizeof(JOURNAL_INTENT_PREFIX) - 1)) {
		*key = xstrdup(name + sizeof(JOURNAL_INTENT_PREFIX) - 1);
		*value = v;
		return 1;
	}
	if (strncmp(name, JOURNAL_LONG_PREFIX, sizeof(JOURNAL_LONG_PREFIX) - 1))
		return 0;
	nl = strchr(v, '\n');
	if (!nl || nl == v)
		return err_set(e, KUBE_ERR_DECODE, "journal record '%s' has no key line", name);
	*key = xstrndup(v, (size_t)(nl - v));
	*value = nl + 1;
	return 1;
}

static const char *holder_of(json_t *obj)
{
	json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");

	return json_string_value(json_object_get(ann, JOURNAL_HOLDER_KEY));
}

int shard_adopt(struct journal *j, struct shard *s, json_t *obj, struct err *e)
{
	json_t *meta = json_object_get(obj, "metadata"), *ann = json_object_get(meta, "annotations");
	const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
	struct hmap m = HMAP_INIT;
	size_t used = 0;
	const char *k;
	json_t *v;
	void *it;

	if (!rv || (ann && !json_is_object(ann) && !json_is_null(ann))) {
		json_decref(obj);
		return err_set(e, KUBE_ERR_DECODE, "journal shard '%s': no resourceVersion or "
			       "annotations are not an object", s->name);
	}
	json_object_foreach_safe(ann, it, k, v) {
		char *key = NULL;
		const char *value;
		int r = json_is_string(v) ? entry_parse(k, json_string_value(v), &key, &value, e) : 0;

		if (r < 0) {
			data_release(&m);
			json_decref(obj);
			return err_prefix(e, "journal shard '%s'", s->name);
		}
		if (!r)
			continue;
		free(hmap_put(&m, key, xstrdup(value)));
		used += entry_cost(key, strlen(value));
		free(key);
		json_object_del(ann, k);	/* kept in s->data; body_of puts them back */
	}
	if (s == &j->shards[0]) {
		const char *n = json_string_value(json_object_get(ann, JOURNAL_SHARDS_KEY));
		char *end = NULL;
		long a = n ? strtol(n, &end, 10) : 0;

		if (n && (*end || a < 0 || a > JOURNAL_INDEX_MAX)) {
			log_warn("journal shard '%s': ignoring bad %s '%s'", s->name,
				 JOURNAL_SHARDS_KEY, n);
			a = 0;
		}
		j->announced = a;
	}
	json_object_del(meta, "managedFields");
	data_release(&s->data);
	s->data = m;
	s->used = used;
	free(s->rv);
	s->rv = xstrdup(rv);
	json_decref(s->obj);
	s->obj = obj;
	s->exists = true;
	return 0;
}

int shard_of(struct journal *j, const char *key)
{
	for (size_t i = 0; i < j->nshards; i++)
		if (hmap_has(&j->shards[i].data, key))
			return (int)i;
	return -1;
}

struct records {
	json_t *ann;
	size_t longs;
};

static void put_record(struct records *r, const char *key, const char *value)
{
	char *name, *v;

	if (entry_short(key)) {
		name = xasprintf("%s%s", JOURNAL_INTENT_PREFIX, key);
		json_object_set_new(r->ann, name, json_string(value));
	} else {
		name = xasprintf("%s%zu", JOURNAL_LONG_PREFIX, r->longs++);
		v = xasprintf("%s\n%s", key, value);
		json_object_set_new(r->ann, name, json_string(v));
		free(v);
	}
	free(name);
}

static void put_data(void *ctx, const char *key, void *value)
{
	json_object_set_new(ctx, key, json_string(value));
}

/*
 * The object to PUT (or POST when the shard does not exist): the shard's
 * last object with our holder, the announcement on shard 0, and its records
 * with the changes applied. Read without mu: only the committer (or
 * journal_load before it starts) changes a shard's content.
 */
static json_t *body_of(struct journal *j, struct shard *s, struct change **cs, size_t n,
		       long announce)
{
	json_t *b, *meta, *labels, *ann, *spec, *data = json_object(), *v;
	struct records r = { 0 };
	const char *k;
	char num[24];

	if (s->exists && s->obj) {
		b = json_deep_copy(s->obj);
		meta = json_object_get(b, "metadata");
		json_object_set_new(meta, "resourceVersion", json_string(s->rv));
	} else {
		b = json_object();
		meta = json_pack("{s:s, s:s}", "name", s->name, "namespace", j->ns);
		json_object_set_new(b, "metadata", meta);
	}
	json_object_set_new(b, "apiVersion", json_string("coordination.k8s.io/v1"));
	json_object_set_new(b, "kind", json_string("Lease"));
	labels = json_object_get(meta, "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(meta, "labels", labels);
	}
	json_object_set_new(labels, JOURNAL_LABEL_KEY, json_string(j->label));
	ann = json_object_get(meta, "annotations");
	if (!json_is_object(ann)) {
		ann = json_object();
		json_object_set_new(meta, "annotations", ann);
	}
	json_object_set_new(ann, JOURNAL_HOLDER_KEY, json_string(j->holder));
	if (s == &j->shards[0]) {
		long a = announce > j->announced ? announce : j->announced;

		snprintf(num, sizeof(num), "%ld", a > 1 ? a : 1);
		json_object_set_new(ann, JOURNAL_SHARDS_KEY, json_string(num));
	}
	spec = json_object_get(b, "spec");
	if (!json_is_object(spec)) {
		spec = json_object();
		json_object_set_new(b, "spec", spec);
	}
	json_object_set_new(spec, "holderIdentity", json_string(j->holder));
	hmap_each(&s->data, put_data, data);
	for (size_t i = 0; i < n; i++) {
		if (cs[i]->value)
			json_object_set_new(data, cs[i]->key, json_string(cs[i]->value));
		else
			json_object_del(data, cs[i]->key);
	}
	r.ann = ann;
	json_object_foreach(data, k, v)
		put_record(&r, k, json_string_value(v));
	json_decref(data);
	return b;
}

/*
 * Write shard `idx` (see store_write). With `takeover`, a conflict with
 * another holder is not a loss: the shard is re-read and written again with
 * our holder (journal_load).
 */
static int write_shard(struct journal *j, int idx, struct change **cs, size_t n, long announce,
		       bool takeover, struct err *e)
{
	struct shard *s = &j->shards[idx];
	struct err we = ERR_INIT;	/* a failure we may get past */
	int rc;

	for (int tries = 1;; tries++) {
		bool create = !s->exists;
		json_t *body = body_of(j, s, cs, n, announce), *out = NULL, *cur = NULL;
		const char *holder;

		err_release(&we);
		if (create)
			rc = kube_create(j->kube, j->collection, body, &out, &we);
		else
			rc = kube_update(j->kube, s->path, body, &out, &we);
		json_decref(body);
		if (!rc) {
			pthread_mutex_lock(&j->mu);
			rc = shard_adopt(j, s, out, e);
			journal_count_write(j, false);
			pthread_mutex_unlock(&j->mu);
			return rc;
		}
		if (rc != KUBE_ERR_CONFLICT && rc != KUBE_ERR_ALREADY_EXISTS &&
		    !(rc == KUBE_ERR_NOT_FOUND && !create)) {
			err_set(e, rc, "cannot write journal shard '%s': %s", s->name, err_msg(&we));
			break;
		}
		pthread_mutex_lock(&j->mu);
		journal_count_write(j, true);
		pthread_mutex_unlock(&j->mu);
		if (tries >= JOURNAL_CONFLICTS_MAX) {
			rc = err_set(e, KUBE_ERR_CONFLICT, "journal shard '%s': %d conflicts in a "
				     "row: %s", s->name, tries, err_msg(&we));
			break;
		}
		err_release(&we);
		rc = kube_get(j->kube, s->path, &cur, &we);
		if (rc == KUBE_ERR_NOT_FOUND) {
			/* deleted behind our back: create it again with what we hold */
			log_warn("journal shard '%s' was deleted; creating it again", s->name);
			pthread_mutex_lock(&j->mu);
			s->exists = false;
			pthread_mutex_unlock(&j->mu);
			continue;
		}
		if (rc) {
			err_set(e, rc, "cannot re-read journal shard '%s': %s", s->name, err_msg(&we));
			break;
		}
		holder = holder_of(cur);
		if (!takeover && holder && strcmp(holder, j->holder)) {
			rc = err_set(e, JOURNAL_ERR_LOST, "journal shard '%s' is now held by '%s'",
				     s->name, holder);
			json_decref(cur);
			break;
		}
		if (!takeover)
			log_info("journal shard '%s' changed on the server; applying %zu queued "
				 "changes to its new content", s->name, n);
		pthread_mutex_lock(&j->mu);
		rc = shard_adopt(j, s, cur, e);
		pthread_mutex_unlock(&j->mu);
		if (rc)
			break;
	}
	err_release(&we);
	return rc;
}

int store_write(struct journal *j, int idx, struct change **cs, size_t n, long announce,
		struct err *e)
{
	return write_shard(j, idx, cs, n, announce, false, e);
}

/* Make shard i exist with our holder, reading it first when we have not seen it. */
static int take_over(struct journal *j, size_t i, long announce, struct err *e)
{
	struct shard *s = &j->shards[i];

	if (!s->exists) {
		json_t *cur = NULL;
		struct err ge = ERR_INIT;
		int rc = kube_get(j->kube, s->path, &cur, &ge);

		if (rc && rc != KUBE_ERR_NOT_FOUND) {
			err_set(e, rc, "cannot read journal shard '%s': %s", s->name, err_msg(&ge));
			err_release(&ge);
			return rc;
		}
		err_release(&ge);
		if (!rc) {
			pthread_mutex_lock(&j->mu);
			rc = shard_adopt(j, s, cur, e);
			pthread_mutex_unlock(&j->mu);
			if (rc)
				return rc;
		}
	}
	return write_shard(j, (int)i, NULL, 0, announce, true, e);
}

int store_load(struct journal *j, struct err *e)
{
	json_t *list = NULL, *items, *it;
	size_t k, alloc, count = 0;
	long top = -1, n;
	int rc;

	rc = kube_get(j->kube, j->list_path, &list, e);
	if (rc)
		return err_prefix(e, "cannot list journal shards in '%s'", j->ns);
	items = json_object_get(list, "items");
	if (!json_is_array(items)) {
		json_decref(list);
		return err_set(e, KUBE_ERR_DECODE, "journal shards in '%s': no items", j->ns);
	}
	json_array_foreach(items, k, it) {
		const char *name = json_string_value(json_object_get(json_object_get(it, "metadata"),
								     "name"));
		long i = name ? shard_index(j, name) : -1;

		if (i < 0)
			log_warn("journal: ignoring Lease '%s' labelled %s=%s: not a shard "
				 "name '%s-<n>'", name ? name : "?", JOURNAL_LABEL_KEY, j->label,
				 j->base);
		else if (i > top)
			top = i;
	}
	alloc = (size_t)(top + 1 > j->max_shards ? top + 1 : j->max_shards);
	pthread_mutex_lock(&j->mu);
	shards_reserve(j, alloc);
	json_array_foreach(items, k, it) {
		const char *name = json_string_value(json_object_get(json_object_get(it, "metadata"),
								     "name"));
		long i = name ? shard_index(j, name) : -1;

		if (i >= 0 && !rc) {
			rc = shard_adopt(j, &j->shards[i], json_incref(it), e);
			count++;
		}
	}
	j->nshards = (size_t)(top + 1);
	pthread_mutex_unlock(&j->mu);
	json_decref(list);
	if (rc)
		return rc;
	if (!count)
		return 0;	/* nothing to take over: shard 0 comes with the first add */
	rc = take_over(j, 0, (long)j->nshards, e);
	if (rc)
		return rc;
	n = j->announced > (long)j->nshards ? j->announced : (long)j->nshards;
	if (n > (long)alloc) {
		/* more than this configuration would ever create: a typo, not a holder */
		log_warn("journal shard '%s' announces %ld shards; taking over %zu", j->shards[0].name,
			 n, alloc);
		n = (long)alloc;
	}
	pthread_mutex_lock(&j->mu);
	shards_reserve(j, (size_t)n);
	j->nshards = (size_t)n;
	pthread_mutex_unlock(&j->mu);
	for (size_t i = 1; i < j->nshards; i++) {
		rc = take_over(j, i, 0, e);
		if (rc)
			return rc;
	}
	log_info("journal: took over %zu shards of '%s/%s' as '%s'", j->nshards, j->ns,
		 j->base, j->holder);
	return 0;
}
