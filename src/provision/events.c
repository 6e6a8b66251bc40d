// SPDX-License-Identifier: Apache-2.0
/* events.c - Kubernetes Events on the objects we act on (see events.h). */
#include "provision/events.h"

#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "kube/client.h"

void event_emit(struct kube_client *c, const char *component, const char *kind,
		const struct kube_meta *obj, const char *type, const char *reason,
		const char *fmt, ...)
{
	const char *ns = obj->namespace && *obj->namespace ? obj->namespace : "default";
	struct err e = ERR_INIT;
	char stamp[32], *msg, *path, *gen;
	json_t *ev, *involved;
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);

	involved = json_pack("{s:s, s:s, s:s, s:s}", "kind", kind, "apiVersion", "v1",
			     "name", obj->name, "uid", obj->uid ? obj->uid : "");
	if (obj->namespace && *obj->namespace)
		json_object_set_new(involved, "namespace", json_string(obj->namespace));
	if (obj->resource_version)
		json_object_set_new(involved, "resourceVersion", json_string(obj->resource_version));
	gen = xasprintf("%s.", obj->name);
	ev = json_pack("{s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:i, s:s}",
		       "metadata", "generateName", gen, "namespace", ns,
		       "involvedObject", involved,
		       "type", type, "reason", reason, "message", msg,
		       "source", "component", component,
		       "firstTimestamp", stamp, "lastTimestamp", stamp, "count", 1,
		       "reportingComponent", component);
	path = xasprintf("/api/v1/namespaces/%s/events", ns);
	if (!ev)
		log_v(2, "cannot build event %s for %s %s", reason, kind, obj->name);
	else if (kube_create(c, path, ev, NULL, &e))
		log_v(2, "cannot record event %s for %s %s: %s", reason, kind, obj->name, err_msg(&e));
	err_release(&e);
	json_decref(ev);
	free(path);
	free(gen);
	free(msg);
}
