// SPDX-License-Identifier: Apache-2.0
/* discovery.c - what the API server serves (see discovery.h). */
#include "kube/discovery.h"

#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "kube/status.h"

int kube_serves_kind(struct kube_client *c, const char *gv, const char *kind, bool *served,
		     struct err *e)
{
	char *path = xasprintf(strchr(gv, '/') ? "/apis/%s" : "/api/%s", gv);
	json_t *list = NULL, *r;
	size_t i;
	int rc;

	*served = false;
	rc = kube_get(c, path, &list, e);
	free(path);
	if (rc == KUBE_ERR_NOT_FOUND) {
		err_release(e);
		return 0;
	}
	if (rc)
		return rc;
	json_array_foreach(json_object_get(list, "resources"), i, r) {
		const char *k = json_string_value(json_object_get(r, "kind"));

		if (k && !strcmp(k, kind)) {
			*served = true;
			break;
		}
	}
	json_decref(list);
	return 0;
}

bool kube_gate_needs_kind(struct kube_client *c, const char *gate, bool on, bool set,
			  const char *gv, const char *kind)
{
	struct err e = ERR_INIT;
	bool served;

	if (!on || set)
		return on;
	if (kube_serves_kind(c, gv, kind, &served, &e)) {
		log_warn("cannot tell whether the cluster serves %s %s; keeping the %s feature "
			 "gate on: %s", gv, kind, gate, err_msg(&e));
		err_release(&e);
		return true;
	}
	if (!served)
		log_info("disabling the %s feature gate: the cluster does not serve %s %s", gate, gv,
			 kind);
	return served;
}
