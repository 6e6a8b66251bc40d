// SPDX-License-Identifier: Apache-2.0
/*
 * intent_index.c - which intents of the journal belong to which claim key
 * (intents_mu), and which are in doubt (the gauge). The claim state machine
 * (claim_sync.c) keeps it in step with the journal.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "journal/journal.h"
#include "metrics/metrics.h"
#include "provision/controller_internal.h"
#include "provision/intent.h"
#include "workqueue/workqueue.h"

/* Volume names recorded for one claim key (usually one). */
struct name_set {
	char **v;
	size_t n;
};

static void name_set_free(struct name_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s);
}

void ctl_index_add(struct controller *c, const char *key, const char *volume)
{
	struct name_set *s;

	pthread_mutex_lock(&c->intents_mu);
	s = hmap_get(&c->intents, key);
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		hmap_put(&c->intents, key, s);
	}
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], volume))
			goto out;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = xstrdup(volume);
out:
	pthread_mutex_unlock(&c->intents_mu);
}

void ctl_index_remove(struct controller *c, const char *key, const char *volume)
{
	struct name_set *s;

	pthread_mutex_lock(&c->intents_mu);
	s = hmap_get(&c->intents, key);
	for (size_t i = 0; s && i < s->n; i++) {
		if (strcmp(s->v[i], volume))
			continue;
		free(s->v[i]);
		s->v[i] = s->v[--s->n];
		break;
	}
	if (s && !s->n)
		name_set_free(hmap_remove(&c->intents, key));
	hmap_remove(&c->doubt, volume);
	pthread_mutex_unlock(&c->intents_mu);
}

/* A copy of the names recorded for `key` (caller frees each and the array). */
char **ctl_index_names(struct controller *c, const char *key, size_t *n)
{
	struct name_set *s;
	char **out = NULL;

	*n = 0;
	pthread_mutex_lock(&c->intents_mu);
	s = hmap_get(&c->intents, key);
	if (s && s->n) {
		out = xcalloc(s->n, sizeof(*out));
		for (size_t i = 0; i < s->n; i++)
			out[i] = xstrdup(s->v[i]);
		*n = s->n;
	}
	pthread_mutex_unlock(&c->intents_mu);
	return out;
}

void ctl_free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

bool ctl_claim_has_intents(struct controller *c, const char *key)
{
	bool has;

	if (!c->journal)
		return false;
	pthread_mutex_lock(&c->intents_mu);
	has = hmap_has(&c->intents, key);
	pthread_mutex_unlock(&c->intents_mu);
	return has;
}

/* An intent that cannot be settled now; the gauge counts them. */
void ctl_set_doubt(struct controller *c, const char *volume, bool on)
{
	size_t n;

	pthread_mutex_lock(&c->intents_mu);
	if (on)
		hmap_put(&c->doubt, volume, NULL);
	else
		hmap_remove(&c->doubt, volume);
	n = c->doubt.count;
	pthread_mutex_unlock(&c->intents_mu);
	if (c->intents_in_doubt)
		metric_set(c->intents_in_doubt, NULL, (double)n);
}

void ctl_intents_loaded(struct controller *c)
{
	size_t n;
	struct journal_entry *es = journal_entries(c->journal, &n);

	for (size_t i = 0; i < n; i++) {
		struct intent in;
		struct err e = ERR_INIT;

		if (intent_decode(es[i].value, &in, &e)) {
			log_error("intent journal: the record of volume %s is unreadable (%s); it "
				  "stays until an operator checks that volume and removes the record",
				  es[i].key, err_msg(&e));
			ctl_set_doubt(c, es[i].key, true);
		} else {
			char *key = intent_claim_key(&in);

			ctl_index_add(c, key, es[i].key);
			wq_add(c->claim_q, key);
			free(key);
		}
		intent_release(&in);
		err_release(&e);
	}
	journal_entries_free(es, n);
}

static void free_name_set(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	name_set_free(value);
}

void ctl_intents_release(struct controller *c)
{
	hmap_each(&c->intents, free_name_set, NULL);
	hmap_release(&c->intents);
	hmap_release(&c->doubt);
}

/* The intent is proven unnecessary: remove it (written lazily). */
void ctl_drop_intent(struct controller *c, const char *key, const char *volume)
{
	if (!c->journal)
		return;
	journal_remove(c->journal, volume);
	ctl_index_remove(c, key, volume);
	ctl_set_doubt(c, volume, false);
}
