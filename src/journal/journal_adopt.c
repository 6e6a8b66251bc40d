// SPDX-License-Identifier: Apache-2.0
/*
 * journal_adopt.c - the upgrade from versions that kept the journal in
 * ConfigMaps: at load, the ConfigMap shards of this journal (same label,
 * same names "<base>-<n>") are read, their records added to the Lease
 * shards (one group commit, durable before anything else), and only then
 * deleted, each with a precondition on the resourceVersion that was read:
 * a record an older instance still running wrote meanwhile makes the delete
 * conflict, and the adoption starts over with the new content. No record is
 * lost on the way: until the Lease write is durable the ConfigMap stays.
 *
 * A record the Leases hold already keeps the Leases' value (it is newer).
 * A record the Leases cannot take (over a shard's size) is logged and its
 * ConfigMap kept for an operator. When the identity may not list
 * ConfigMaps (upstream's RBAC), one log line says so and nothing else is
 * done: such a deployment never ran a version with ConfigMap shards.
 * An older instance that keeps running after the adoption (no leader
 * election during a rolling update) may create its ConfigMap again; the
 * next start adopts it.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "journal/journal_int.h"
#include "kube/client.h"
#include "kube/path.h"

/* Rounds of adopt-then-delete before giving up while an older instance keeps writing. */
#define ADOPT_ROUNDS 5

struct adopted {
	struct journal_entry *es;
	size_t n, alloc;
	struct hmap seen;	/* keys in es */
	json_t *keep;		/* name -> resourceVersion of the ConfigMaps to delete */
};

/* Queue the records of one ConfigMap shard; false when one cannot be taken. */
static bool take_records(struct journal *j, json_t *cm, const char *name, struct adopted *a)
{
	json_t *data = json_object_get(cm, "data"), *v;
	const char *k;
	bool all = true;

	json_object_foreach(data, k, v) {
		const char *val = json_string_value(v);
		char *have;

		if (!val || entry_cost(k, strlen(val)) > j->shard_bytes) {
			log_error("journal: record '%s' of ConfigMap '%s' cannot be adopted (%s); "
				  "the ConfigMap is kept", k, name, val ? "too large" : "not a string");
			all = false;
			continue;
		}
		have = journal_get(j, k);
		if (!have && !hmap_has(&a->seen, k)) {
			hmap_put(&a->seen, k, NULL);
			a->es = xgrow(a->es, a->n + 1, &a->alloc, sizeof(*a->es));
			a->es[a->n].key = xstrdup(k);
			a->es[a->n].value = xstrdup(val);
			a->n++;
		}
		free(have);
	}
	return all;
}

/*
 * One round: 0 done, or with *again set when a delete met a conflict (start
 * over); else an error.
 */
static int adopt_round(struct journal *j, const char *path, size_t *moved, bool *again,
		       struct err *e)
{
	json_t *list = NULL, *it;
	struct adopted a = { .seen = HMAP_INIT, .keep = json_object() };
	const char *name;
	size_t i;
	int rc;

	rc = kube_get(j->kube, path, &list, e);
	if (rc == KUBE_ERR_FORBIDDEN || rc == KUBE_ERR_NOT_FOUND) {
		log_info("journal: not looking for ConfigMap shards of an older version in '%s' "
			 "(%s)", j->ns, err_msg(e));
		err_release(e);
		rc = 0;
		goto out;
	}
	if (rc) {
		err_prefix(e, "cannot list the ConfigMap shards of an older version in '%s'", j->ns);
		goto out;
	}
	json_array_foreach(json_object_get(list, "items"), i, it) {
		json_t *meta = json_object_get(it, "metadata");
		const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));

		name = json_string_value(json_object_get(meta, "name"));
		if (!name || shard_index(j, name) < 0 || !rv)
			continue;	/* not a shard of ours: left alone */
		if (take_records(j, it, name, &a))
			json_object_set_new(a.keep, name, json_string(rv));
	}
	if (a.n) {
		rc = journal_add_many(j, a.es, a.n, e);
		if (rc) {
			err_prefix(e, "cannot adopt %zu records of the ConfigMap journal", a.n);
			goto out;
		}
		*moved += a.n;
		log_info("journal: adopted %zu records of the ConfigMap shards in '%s' into its "
			 "Leases", a.n, j->ns);
	}
	json_object_foreach(a.keep, name, it) {
		char *p = NULL;

		if ((rc = kube_path_object(&p, KUBE_RES_CONFIGMAP, j->ns, name, e)))
			goto out;
		rc = kube_delete(j->kube, p, NULL, json_string_value(it), e);
		free(p);
		if (rc == KUBE_ERR_NOT_FOUND) {
			err_release(e);
			rc = 0;
		} else if (rc == KUBE_ERR_CONFLICT) {
			log_info("journal: ConfigMap '%s' changed while it was adopted; again", name);
			err_release(e);
			*again = true;
			rc = 0;
			goto out;
		} else if (rc == KUBE_ERR_FORBIDDEN) {
			log_warn("journal: may not delete the adopted ConfigMap shards in '%s' (%s); "
				 "their records are in the Leases, delete them by hand", j->ns,
				 err_msg(e));
			err_release(e);
			rc = 0;
			goto out;
		} else if (rc) {
			err_prefix(e, "cannot delete adopted journal ConfigMap '%s'", name);
			goto out;
		} else {
			log_info("journal: deleted ConfigMap shard '%s' (adopted)", name);
		}
	}
out:
	journal_entries_free(a.es, a.n);
	hmap_release(&a.seen);
	json_decref(a.keep);
	json_decref(list);
	return rc;
}

int journal_adopt_configmaps(struct journal *j, struct err *e)
{
	char *coll = NULL, *sel, *esc, *path;
	size_t moved = 0;
	bool again = false;
	int rc;

	if ((rc = kube_path_collection(&coll, KUBE_RES_CONFIGMAP, j->ns, e)))
		return rc;
	sel = xasprintf("%s=%s", JOURNAL_LABEL_KEY, j->label);
	esc = kube_path_escape(sel);
	path = xasprintf("%s?labelSelector=%s", coll, esc);
	for (int round = 0; round < ADOPT_ROUNDS; round++) {
		again = false;
		rc = adopt_round(j, path, &moved, &again, e);
		if (rc || !again)
			break;
	}
	if (again)
		rc = err_set(e, KUBE_ERR_CONFLICT, "journal: the ConfigMap shards in '%s' changed "
			     "%d times while they were adopted (an older version still running?)",
			     j->ns, ADOPT_ROUNDS);
	free(path);
	free(esc);
	free(sel);
	free(coll);
	return rc;
}
