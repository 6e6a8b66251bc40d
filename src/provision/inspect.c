// SPDX-License-Identifier: Apache-2.0
/*
 * inspect.c - explain one claim as the daemon sees it (see inspect.h).
 *
 * The checks follow ctl_sync_claim (claim_sync.c) step by step and call the
 * same functions, so a cause named here is the one the daemon acts on:
 * plan_claim for ownership, ctl_prepare for the CreateVolume request (it
 * only reads: the source finalizer is set by provision(), not by prepare),
 * the journal record of the volume name, a PV already there, and
 * plan_pv_should_delete for the claim's Released volumes. What only the
 * running daemon knows (the infeasible delay) is read back from the events
 * it wrote. A controller is built for its caches only: its informers list
 * and watch, no worker runs and no journal is loaded, so nothing is written.
 */
#include "provision/inspect.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "informer/informer.h"
#include "journal/journal.h"
#include "kube/client.h"
#include "kube/objects.h"
#include "provision/controller_internal.h"
#include "provision/intent.h"

#define MAX_EVENTS 8
#define EVENTS_COMPONENT "csi-provisioner"
#define INFEASIBLE_MARK "infeasible"

struct inspection {
	struct controller *c;
	const struct kube_pvc *claim;
	const struct kube_storage_class *class;
	json_t *report, *blockers, *notes;
	int64_t now_ms;
};

static void blocker(struct inspection *in, const char *cause, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void blocker(struct inspection *in, const char *cause, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	json_array_append_new(in->blockers, json_pack("{s:s, s:s}", "cause", cause, "message", msg));
	free(msg);
}

static void note(struct inspection *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct inspection *in, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	json_array_append_new(in->notes, json_string(msg));
	free(msg);
}

/* A JSON string, or null for NULL. */
static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static bool whitelisted(const struct plan_opts *o, const char *class_name)
{
	if (!o->class_whitelist || !o->class_whitelist[0])
		return true;
	for (char *const *w = o->class_whitelist; *w; w++)
		if (class_name && !strcmp(*w, class_name))
			return true;
	return false;
}

static bool str_same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* Our provisioner name, or the in-tree one our driver replaces (as plan_claim). */
static bool known(const struct plan_opts *o, const char *name)
{
	return str_same(name, o->provisioner) || str_same(name, o->migrated_from);
}

/* Is it ours and why: the facts plan_claim reads, and its verdict. */
static enum plan_verdict ownership(struct inspection *in)
{
	const struct kube_pvc *claim = in->claim;
	const struct plan_opts *o = &in->c->o.plan;
	const char *cls = plan_claim_class(claim), *why;
	const char *ann = strmap_get(&claim->meta.annotations, ANN_STORAGE_PROVISIONER);
	enum plan_verdict v;
	json_t *j;

	if (!ann)
		ann = strmap_get(&claim->meta.annotations, ANN_BETA_STORAGE_PROVISIONER);
	v = plan_claim(claim, in->class, o, &why);
	j = json_pack("{s:s, s:s, s:o, s:b, s:o, s:s, s:o, s:b, s:o, s:o}",
		      "verdict", v == PLAN_PROVISION ? "provision" : v == PLAN_WAIT ? "wait" : "ignore",
		      "reason", *why ? why : "ours to provision now",
		      "class", jstr(cls), "class_found", in->class != NULL,
		      "class_provisioner", jstr(in->class ? in->class->provisioner : NULL),
		      "provisioner", o->provisioner,
		      "annotated_provisioner", jstr(ann),
		      "whitelisted", whitelisted(o, cls),
		      "binding_mode", jstr(in->class ? in->class->volume_binding_mode : NULL),
		      "selected_node", jstr(ctl_selected_node(claim)));
	if (o->migrated_from)
		json_object_set_new(j, "migrated_from", json_string(o->migrated_from));
	json_object_set_new(in->report, "ownership", j);
	if (v == PLAN_PROVISION)
		return v;
	/* the cause an operator acts on, in the order that matters to them */
	if (claim->volume_name && *claim->volume_name)
		return v;	/* bound: nothing blocks */
	if (claim->meta.deleting)
		blocker(in, "claim-deleting", "the claim is being deleted");
	else if (!cls || !*cls)
		blocker(in, "no-class", "the claim names no StorageClass");
	else if (!in->class)
		blocker(in, "class-not-found", "StorageClass \"%s\" does not exist", cls);
	else if (!known(o, in->class->provisioner))
		blocker(in, "not-ours", "StorageClass \"%s\" names provisioner \"%s\", not \"%s\"",
			cls, in->class->provisioner ? in->class->provisioner : "", o->provisioner);
	else if (!whitelisted(o, cls))
		blocker(in, "not-whitelisted", "StorageClass \"%s\" is not in "
			"--storageclass-whitelist", cls);
	else if (in->class->volume_binding_mode &&
		 !strcmp(in->class->volume_binding_mode, "WaitForFirstConsumer") &&
		 !ctl_selected_node(claim))
		/* the PV controller annotates such a claim only once a node is chosen */
		blocker(in, "waiting-for-node", "StorageClass \"%s\" binds WaitForFirstConsumer and "
			"no node is selected yet: a pod using the claim must be scheduled first", cls);
	else if (!known(o, ann) || !(str_same(ann, o->provisioner) ||
				      str_same(strmap_get(&claim->meta.annotations,
							       ANN_MIGRATED_TO), o->provisioner)))
		blocker(in, "not-annotated", "the claim's %s annotation is \"%s\", not \"%s\" (the "
			"PersistentVolume controller sets it)", ANN_STORAGE_PROVISIONER,
			ann ? ann : "", o->provisioner);
	else
		blocker(in, v == PLAN_WAIT ? "waiting" : "ignored", "%s", why);
	return v;
}

/* The request as JSON: the journal's encoding, plus the secret keys (values redacted). */
static json_t *request_json(const struct kube_pvc *claim, const struct kube_storage_class *class,
			    const struct csi_create_volume_req *req, const struct secret_ref *ref)
{
	struct intent_owner o = { claim->meta.namespace, claim->meta.name, claim->meta.uid,
				  class ? class->meta.name : NULL, ref ? ref->namespace : NULL,
				  ref ? ref->name : NULL };
	char *enc = intent_encode(&o, req);
	json_t *doc = json_loads(enc, 0, NULL), *r, *secrets = json_object();

	free(enc);
	r = json_incref(json_object_get(doc, "req"));
	json_decref(doc);
	if (!r)
		r = json_object();
	static const char *const modes[] = {
		[CSI_ACCESS_SINGLE_NODE_WRITER] = "SINGLE_NODE_WRITER",
		[CSI_ACCESS_SINGLE_NODE_READER_ONLY] = "SINGLE_NODE_READER_ONLY",
		[CSI_ACCESS_MULTI_NODE_READER_ONLY] = "MULTI_NODE_READER_ONLY",
		[CSI_ACCESS_MULTI_NODE_SINGLE_WRITER] = "MULTI_NODE_SINGLE_WRITER",
		[CSI_ACCESS_MULTI_NODE_MULTI_WRITER] = "MULTI_NODE_MULTI_WRITER",
		[CSI_ACCESS_SINGLE_NODE_SINGLE_WRITER] = "SINGLE_NODE_SINGLE_WRITER",
		[CSI_ACCESS_SINGLE_NODE_MULTI_WRITER] = "SINGLE_NODE_MULTI_WRITER",
	};
	json_t *names = json_array();

	/* the journal's encoding has CSI's numbers; the names are for people */
	for (size_t i = 0; i < req->n_caps; i++) {
		int m = req->caps[i].access_mode;

		json_array_append_new(names, json_string(m > 0 && m < (int)(sizeof(modes) /
				      sizeof(modes[0])) && modes[m] ? modes[m] : "UNKNOWN"));
	}
	json_object_set_new(r, "access_modes", names);
	for (size_t i = 0; i < req->secrets.n; i++)
		json_object_set_new(secrets, req->secrets.items[i].key, json_string("<redacted>"));
	json_object_set_new(r, "secrets", secrets);
	if (ref && ref->name)
		json_object_set_new(r, "secret_ref", json_sprintf("%s/%s", ref->namespace, ref->name));
	return r;
}

/* What the journal holds for the volume name, without taking the journal over. */
static void journal_section(struct inspection *in, const char *volume)
{
	struct controller *c = in->c;
	char *label, *value = NULL, *shard = NULL;
	struct intent it;
	struct err e = ERR_INIT;
	json_t *j = json_object();

	memset(&it, 0, sizeof(it));
	json_object_set_new(in->report, "journal", j);
	if (!c->o.volume_accounting) {
		json_object_set_new(j, "state", json_string("off (--volume-accounting=false)"));
		return;
	}
	label = journal_label_of(c->o.plan.driver);
	json_object_set_new(j, "namespace", jstr(c->o.journal_namespace));
	if (journal_peek(c->kube, c->o.journal_namespace, label, volume, &value, &shard, &e)) {
		json_object_set_new(j, "state", json_string("unreadable"));
		json_object_set_new(j, "error", json_string(err_msg(&e)));
		note(in, "the journal could not be read: %s", err_msg(&e));
		goto out;
	}
	if (!value) {
		json_object_set_new(j, "state", json_string("no intent"));
		goto out;
	}
	json_object_set_new(j, "shard", jstr(shard));
	if (intent_decode(value, &it, &e)) {
		json_object_set_new(j, "state", json_string("unreadable record"));
		blocker(in, "journal-record-unreadable", "the journal record of volume %s cannot be "
			"read (%s): an operator must check the volume and remove the record", volume,
			err_msg(&e));
		goto out;
	}
	json_object_set_new(j, "claim_uid", jstr(it.claim_uid));
	if (strcmp(it.claim_uid, in->claim->meta.uid)) {
		json_object_set_new(j, "state", json_string("recorded for another claim"));
		blocker(in, "journal-other-claim", "volume name %s is recorded for claim uid %s, "
			"not this claim's %s", volume, it.claim_uid, in->claim->meta.uid);
		goto out;
	}
	{
		struct secret_ref ref = { it.secret_namespace, it.secret_name };

		json_object_set_new(j, "request", request_json(in->claim, in->class, &it.req, &ref));
	}
	json_object_set_new(j, "state", json_string("intent recorded"));
	note(in, "an intent for %s is in the journal: CreateVolume was sent or is about to be, "
	     "and the daemon repeats exactly the recorded request (journal.request) until the "
	     "driver answers for sure", volume);
out:
	intent_release(&it);
	err_release(&e);
	free(value);
	free(shard);
	free(label);
}

/* ctl_prepare, as provision() calls it, and the cause of a failure. */
static void request_section(struct inspection *in)
{
	struct prepared p;
	struct err e = ERR_INIT;
	enum prep_result r = ctl_prepare(in->c, in->claim, in->class, false, &p, &e);
	static const char *const causes[] = {
		[PREP_STEP_PLAN] = "class-invalid", [PREP_STEP_SOURCE] = "data-source",
		[PREP_STEP_VAC] = "volume-attributes-class", [PREP_STEP_SECRET] = "secret",
		[PREP_STEP_TOPOLOGY] = "topology", [PREP_STEP_DONE] = "request",
	};

	switch (r) {
	case PREP_OK:
		json_object_set_new(in->report, "request",
				    request_json(in->claim, in->class, &p.cr.req,
						 &p.r.secrets[SECRET_PROVISIONER]));
		break;
	case PREP_EXTERNAL:
		note(in, "the claim's data source is for a volume populator: the daemon leaves it "
		     "to the populator");
		break;
	case PREP_RESCHEDULE:
		blocker(in, "reschedule", "%s; the daemon removes the selected node so the scheduler "
			"picks another", err_msg(&e));
		break;
	case PREP_FAILED:
	case PREP_INVALID:
		if (p.step == PREP_STEP_SECRET && err_is(&e, KUBE_ERR_NOT_FOUND))
			blocker(in, "secret-missing", "%s", err_msg(&e));
		else
			blocker(in, causes[p.step], "%s", err_msg(&e));
		break;
	}
	ctl_prepared_release(&p);
	err_release(&e);
}

static int64_t event_time_ms(json_t *ev, const char **when)
{
	static const char *const keys[] = { "lastTimestamp", "eventTime", "firstTimestamp" };
	int64_t us;
	struct err e = ERR_INIT;

	*when = NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *s = json_string_value(json_object_get(ev, keys[i]));

		if (s && !kube_time_parse(s, &us, &e)) {
			*when = s;
			return us / 1000;
		}
		err_release(&e);
	}
	return 0;
}

static int by_time(const void *a, const void *b)
{
	int64_t x = json_integer_value(json_object_get(*(json_t *const *)a, "time_ms"));
	int64_t y = json_integer_value(json_object_get(*(json_t *const *)b, "time_ms"));

	return x < y ? -1 : x > y;
}

/*
 * Whether an event's source is a provisioner of this driver: upstream's
 * and ours name it "<provisioner>_<host>_<uuid>" (event_component); older
 * builds of ours said "csi-provisioner"; the populator notice comes from
 * "external-provisioner".
 */
static bool our_component(const struct inspection *in, const char *comp)
{
	const char *prov = in->c->o.plan.provisioner;
	size_t n = prov ? strlen(prov) : 0;

	if (!comp)
		return false;
	if (!strcmp(comp, EVENTS_COMPONENT) || !strcmp(comp, "external-provisioner"))
		return true;
	return n && !strncmp(comp, prov, n) && comp[n] == '_';
}

/* The claim's last events, newest last; and what they tell that the caches cannot. */
static void events_section(struct inspection *in, bool may_block)
{
	const struct kube_pvc *claim = in->claim;
	struct kube_list_query q = { 0 };
	char *sel, *path = NULL;
	int rc;
	json_t *list = NULL, *it, **evs = NULL, *out = json_array(), *last = NULL, *inf = NULL;
	struct err e = ERR_INIT;
	size_t i, n = 0;

	json_object_set_new(in->report, "events", out);
	sel = xasprintf("involvedObject.kind=PersistentVolumeClaim,involvedObject.name=%s",
			claim->meta.name);
	q.field_selector = sel;
	rc = kube_path_list(&path, KUBE_RES_EVENT, claim->meta.namespace, &q, &e);
	free(sel);
	if (rc)
		goto fail;
	if (kube_get(in->c->kube, path, &list, &e)) {
		free(path);
		goto fail;
	}
	free(path);
	evs = xcalloc(json_array_size(json_object_get(list, "items")) + 1, sizeof(*evs));
	json_array_foreach(json_object_get(list, "items"), i, it) {
		const char *uid = json_string_value(json_object_get(json_object_get(it,
							"involvedObject"), "uid"));
		const char *when, *comp = json_string_value(json_object_get(json_object_get(it,
							"source"), "component"));
		int64_t t = event_time_ms(it, &when);

		if (uid && claim->meta.uid && strcmp(uid, claim->meta.uid))
			continue;	/* an earlier claim of the same name */
		if (!comp)
			comp = json_string_value(json_object_get(it, "reportingComponent"));
		evs[n++] = json_pack("{s:o, s:o, s:o, s:I, s:o, s:o, s:I}",
				     "type", jstr(json_string_value(json_object_get(it, "type"))),
				     "reason", jstr(json_string_value(json_object_get(it, "reason"))),
				     "message", jstr(json_string_value(json_object_get(it, "message"))),
				     "count", (json_int_t)json_integer_value(json_object_get(it, "count")),
				     "time", jstr(when), "component", jstr(comp), "time_ms", (json_int_t)t);
	}
	qsort(evs, n, sizeof(*evs), by_time);
	for (i = 0; i < n; i++) {
		const char *comp = json_string_value(json_object_get(evs[i], "component"));

		if (our_component(in, comp)) {
			last = evs[i];
			if (strstr(json_string_value(json_object_get(evs[i], "message")) ?: "",
				   INFEASIBLE_MARK))
				inf = evs[i];
		}
		if (i + MAX_EVENTS >= n)
			json_array_append(out, evs[i]);
	}
	if (may_block && inf) {
		int64_t left = json_integer_value(json_object_get(inf, "time_ms")) +
			       in->c->o.retry_max_ms - in->now_ms;

		if (left > 0)
			blocker(in, "infeasible", "the driver rejected the request as infeasible (%s); "
				"the next attempt is in about %lld s (--retry-interval-max after the "
				"last refusal)", json_string_value(json_object_get(inf, "message")),
				(long long)(left + 999) / 1000);
	}
	if (may_block && !json_array_size(in->blockers) && last &&
	    !strcmp(json_string_value(json_object_get(last, "type")) ?: "", "Warning"))
		blocker(in, "last-attempt-failed", "the daemon's last attempt failed: %s; it retries "
			"with backoff", json_string_value(json_object_get(last, "message")) ?: "");
	goto out;
fail:
	json_object_set_new(in->report, "events_error", json_string(err_msg(&e)));
	note(in, "the claim's events cannot be read: %s", err_msg(&e));
out:
	for (i = 0; i < n; i++)
		json_decref(evs[i]);
	free(evs);
	json_decref(list);
	err_release(&e);
}

/* The node a VolumeAttachment of `pv` names, or NULL (borrowed from the cache entry). */
static char *attached_node(struct controller *c, const char *pv)
{
	struct iobj **vas;
	size_t n;
	char *node = NULL;

	if (!c->attachments)
		return NULL;
	vas = informer_list(c->attachments, &n);
	for (size_t i = 0; i < n && !node; i++) {
		const struct kube_volume_attachment *va = iobj_data(vas[i]);

		if (va->pv_name && !strcmp(va->pv_name, pv))
			node = xstrdup(va->node_name ? va->node_name : "?");
	}
	informer_list_free(vas, n);
	return node;
}

/* The volumes that name the claim (it may be gone): whether the daemon deletes them, and why. */
static void volumes_section(struct inspection *in, const char *ns, const char *name)
{
	struct controller *c = in->c;
	json_t *out = json_array();
	struct iobj **all;
	size_t n;

	json_object_set_new(in->report, "volumes", out);
	all = informer_list(c->volumes, &n);
	for (size_t i = 0; i < n; i++) {
		const struct kube_pv *pv = iobj_data(all[i]);
		const char *why;
		bool del;
		char *node = NULL;
		json_t *j;

		if (!pv->claim_ns || !pv->claim_name || strcmp(pv->claim_ns, ns) ||
		    strcmp(pv->claim_name, name))
			continue;
		del = plan_pv_should_delete(pv, &c->o.plan, &why);
		if (del && (node = attached_node(c, pv->meta.name)))
			blocker(in, "volume-attached", "PersistentVolume %s is Released but still "
				"attached to node %s: the daemon deletes it after the detach",
				pv->meta.name, node);
		j = json_pack("{s:s, s:o, s:o, s:o, s:b, s:b, s:s}", "name", pv->meta.name,
			      "phase", jstr(pv->phase), "reclaim_policy", jstr(pv->reclaim_policy),
			      "claim_uid", jstr(pv->claim_uid), "ours", plan_pv_is_ours(pv, &c->o.plan),
			      "delete", del && !node,
			      "reason", del ? (node ? "waiting for the detach" :
					       "Released with reclaim policy Delete: the daemon "
					       "deletes the volume, then the PersistentVolume") : why);
		json_array_append_new(out, j);
		free(node);
	}
	informer_list_free(all, n);
}

/* The claim is there: the daemon's steps, as ctl_sync_claim takes them. */
static void inspect_live(struct inspection *in)
{
	struct controller *c = in->c;
	const struct kube_pvc *claim = in->claim;
	struct err e = ERR_INIT;
	char *volume = NULL;
	struct iobj *po = NULL;
	enum plan_verdict v;
	bool bound = claim->volume_name && *claim->volume_name;

	json_object_set_new(in->report, "uid", jstr(claim->meta.uid));
	json_object_set_new(in->report, "phase", jstr(claim->phase));
	json_object_set_new(in->report, "bound_to", jstr(bound ? claim->volume_name : NULL));
	if (plan_volume_name(c->o.plan.prefix, claim->meta.uid, c->o.plan.uuid_length, &volume,
			     &e)) {
		blocker(in, "volume-name", "%s", err_msg(&e));
		goto out;
	}
	json_object_set_new(in->report, "volume_name", json_string(volume));
	journal_section(in, volume);
	if (plan_claim_marked(claim))
		note(in, "the claim carries the mark of an older csi-provisioner: the daemon "
		     "replaces it with a journal intent");
	v = ownership(in);
	po = informer_get(c->volumes, volume);
	if (po) {
		const struct kube_pv *pv = iobj_data(po);
		bool ours = pv->claim_uid && !strcmp(pv->claim_uid, claim->meta.uid) &&
			    pv->csi_driver && !strcmp(pv->csi_driver, c->o.plan.driver);

		json_object_set_new(in->report, "pv", json_pack("{s:s, s:o, s:b}", "name", volume,
				    "phase", jstr(pv->phase), "ours", ours));
		if (!ours && !bound)
			blocker(in, "pv-not-ours", "PersistentVolume %s exists but is not this claim's "
				"(claim uid %s, driver %s): the daemon will not create another", volume,
				pv->claim_uid ? pv->claim_uid : "none", pv->csi_driver ? pv->csi_driver :
				"none");
		else if (!bound)
			note(in, "PersistentVolume %s is saved: the PersistentVolume controller binds "
			     "the claim to it", volume);
	}
	if (v == PLAN_PROVISION && !po)
		request_section(in);
	events_section(in, !bound && !po && v == PLAN_PROVISION);
out:
	iobj_unref(po);
	free(volume);
	err_release(&e);
}

int inspect_claim(struct kube_client *kube, struct csi_client *csi,
		  const struct controller_opts *o, const char *ns, const char *name,
		  int64_t now_ms, json_t **report, struct err *e)
{
	struct controller_opts co = *o;
	struct inspection in;
	struct iobj *co_claim = NULL, *so = NULL;
	char *key = xasprintf("%s/%s", ns, name);
	int rc;

	*report = NULL;
	memset(&in, 0, sizeof(in));
	/* caches only: no journal object (it would take the journal over), no metrics */
	co.volume_accounting = false;
	co.metrics = NULL;
	co.component = co.component ? co.component : EVENTS_COMPONENT;
	in.c = controller_new(kube, csi, &co);
	in.c->o.volume_accounting = o->volume_accounting;	/* for journal_section */
	in.now_ms = now_ms;
	rc = controller_load_caches(in.c, e);
	if (rc)
		goto out;
	in.report = json_pack("{s:s}", "claim", key);
	in.blockers = json_array();
	in.notes = json_array();
	co_claim = informer_get(in.c->claims, key);
	in.claim = co_claim ? iobj_data(co_claim) : NULL;
	json_object_set_new(in.report, "found", json_boolean(in.claim != NULL));
	if (in.claim) {
		const char *cls = plan_claim_class(in.claim);

		if (cls && *cls && (so = informer_get(in.c->classes, cls)))
			in.class = iobj_data(so);
		inspect_live(&in);
	} else {
		blocker(&in, "claim-not-found", "claim %s does not exist", key);
	}
	volumes_section(&in, ns, name);
	/* a gone claim whose volumes are all accounted for blocks nothing more */
	if (!in.claim && json_array_size(json_object_get(in.report, "volumes")))
		json_array_remove(in.blockers, 0);
	json_object_set_new(in.report, "blockers", in.blockers);
	json_object_set_new(in.report, "notes", in.notes);
	json_object_set_new(in.report, "blocked", json_boolean(json_array_size(in.blockers) > 0));
	*report = in.report;
out:
	iobj_unref(so);
	iobj_unref(co_claim);
	controller_free(in.c);
	free(key);
	return rc;
}
