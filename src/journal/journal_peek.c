// SPDX-License-Identifier: Apache-2.0
/*
 * journal_peek.c - read one intent of a journal without taking it over (see
 * journal_peek in journal.h): one list of the labelled Leases, nothing
 * written, no committer. For `csi-provisioner explain`, which must not
 * fence the running daemon out of its own journal. Also the journal's
 * naming rule for a driver, which the daemon and explain share.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/xalloc.h"
#include "journal/journal.h"
#include "journal/journal_int.h"
#include "kube/client.h"
#include "kube/path.h"

int journal_peek(struct kube_client *kube, const char *namespace, const char *label,
		 const char *key, char **value, char **shard, struct err *e)
{
	char *coll = NULL, *sel, *esc, *path;
	json_t *list = NULL, *it;
	size_t i;
	int rc;

	*value = NULL;
	if (shard)
		*shard = NULL;
	if ((rc = kube_path_collection(&coll, KUBE_RES_LEASE, namespace, e)))
		return rc;
	sel = xasprintf("%s=%s", JOURNAL_LABEL_KEY, label);
	esc = kube_path_escape(sel);
	path = xasprintf("%s?labelSelector=%s", coll, esc);
	rc = kube_get(kube, path, &list, e);
	free(path);
	free(esc);
	free(sel);
	free(coll);
	if (rc)
		return err_prefix(e, "cannot list journal shards in '%s'", namespace);
	json_array_foreach(json_object_get(list, "items"), i, it) {
		json_t *ann = json_object_get(json_object_get(it, "metadata"), "annotations"), *a;
		const char *name, *v = NULL;

		json_object_foreach(ann, name, a) {
			char *k = NULL;
			const char *val;
			struct err pe = ERR_INIT;

			if (json_is_string(a) &&
			    entry_parse(name, json_string_value(a), &k, &val, &pe) > 0 &&
			    !strcmp(k, key))
				v = val;
			free(k);
			err_release(&pe);
			if (v)
				break;
		}
		if (!v)
			continue;
		if (strlen(v) > JOURNAL_PEEK_MAX_VALUE) {
			rc = err_set(e, JOURNAL_ERR_INVALID, "journal record '%s' is over %d bytes", key,
				     JOURNAL_PEEK_MAX_VALUE);
			break;
		}
		*value = xstrdup(v);
		if (shard)
			*shard = xstrdup(json_string_value(json_object_get(
				json_object_get(it, "metadata"), "name")) ?: "?");
		break;
	}
	json_decref(list);
	return rc;
}

char *journal_label_of(const char *driver)
{
	char label[64];
	size_t n = 0;

	for (const char *p = driver; *p && n < sizeof(label) - 1; p++) {
		char ch = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;

		label[n++] = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ?
			     ch : '-';
	}
	while (n && (label[n - 1] == '-' || label[n - 1] == '.'))
		n--;
	label[n] = '\0';
	return xstrdup(n ? label : "driver");
}
