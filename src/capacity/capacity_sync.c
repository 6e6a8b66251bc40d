// SPDX-License-Identifier: Apache-2.0
/*
 * capacity_sync.c - the syncs of one CSIStorageCapacity object (GetCapacity,
 * then create or patch; delete when obsolete or duplicate) and the owner
 * lookup (see capacity_int.h; threads and locks: capacity.c).
 */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "capacity/capacity_int.h"
#include "csi/client.h"
#include "kube/client.h"
#include "kube/objects.h"
#include "kube/path.h"
#include "workqueue/workqueue.h"

/*
 * Our object for (class, segment): of several, the one with the smallest
 * name (the others are duplicates and go). A reference, or NULL.
 */
static struct iobj *find_object(struct capacity *c, const char *class_name,
				const struct strmap *s)
{
	struct iobj **refs, *best = NULL;
	size_t n;

	refs = informer_list(c->objects, &n);
	for (size_t i = 0; i < n; i++) {
		const struct cap_object *o = iobj_data(refs[i]);

		if (!o->c.meta.name || !cap_object_managed(o, c->o.driver, c->params.managed_by) ||
		    !cap_object_matches(o, class_name, s))
			continue;
		if (!best || strcmp(o->c.meta.name,
				    ((const struct cap_object *)iobj_data(best))->c.meta.name) < 0)
			best = refs[i];
	}
	if (best)
		iobj_ref(best);
	informer_list_free(refs, n);
	return best;
}

static char *object_path(struct capacity *c, const char *name)
{
	struct err e = ERR_INIT;
	char *p;

	/* names come from our own objects; a bad one gets no path, so no request */
	if (kube_path_object(&p, KUBE_RES_CSI_CAPACITY, c->o.namespace, name, &e))
		log_error("capacity: %s", err_msg(&e));
	err_release(&e);
	return p;
}

/* Whether a create of `key` is still on its way into the cache. */
static bool creation_pending(struct capacity *c, const char *key)
{
	struct cap_pending *p;
	bool yes = false;

	pthread_mutex_lock(&c->mu);
	p = hmap_get(&c->pending, key);
	if (p && clock_now_ms() - p->at < PENDING_MS)
		yes = true;
	else if (p)
		capacity_pending_free(NULL, key, hmap_remove(&c->pending, key));
	pthread_mutex_unlock(&c->mu);
	return yes;
}

static void set_pending(struct capacity *c, const char *key, const char *name)
{
	struct cap_pending *p = xcalloc(1, sizeof(*p));

	p->name = xstrdup(name);
	p->at = clock_now_ms();
	pthread_mutex_lock(&c->mu);
	capacity_pending_free(NULL, key, hmap_put(&c->pending, key, p));
	pthread_mutex_unlock(&c->mu);
}

static int get_capacity(struct capacity *c, const struct kube_storage_class *sc,
			const struct strmap *seg, struct cap_value *v, struct err *e)
{
	struct csi_get_capacity_req req;
	struct csi_capacity out;
	int rc;

	memset(&req, 0, sizeof(req));
	req.parameters = sc->parameters;	/* borrowed for the call */
	req.accessible_topology = seg->n ? seg : NULL;
	memset(&out, 0, sizeof(out));
	rc = csi_get_capacity(c->csi, &req, &out, e);
	if (rc)
		return rc;
	if (out.available_capacity < 0 ||
	    (out.has_maximum_volume_size && out.maximum_volume_size < 0))
		return err_set(e, CSI_ERR_LOCAL, "GetCapacity: the driver reported a negative size");
	*v = (struct cap_value){ out.available_capacity, out.has_maximum_volume_size,
				 out.maximum_volume_size };
	return 0;
}

enum capacity_result capacity_sync_item(struct capacity *c, const char *key)
{
	struct cap_item *it;
	char *class_name = NULL, *where = NULL, *path = NULL;
	struct strmap seg = { 0 };
	struct iobj *sco = NULL, *oo = NULL;
	struct cap_value v;
	struct err e = ERR_INIT;
	json_t *body = NULL, *created = NULL;
	enum capacity_result res = CAP_RETRY;

	pthread_mutex_lock(&c->mu);
	it = hmap_get(&c->wanted, key);
	if (it) {
		class_name = xstrdup(it->class_name);
		strmap_copy(&seg, &it->seg);
	}
	pthread_mutex_unlock(&c->mu);
	if (!class_name)
		return CAP_DONE;	/* no longer wanted: its object goes through "o:" */
	where = cap_segment_string(&seg);
	sco = informer_get(c->classes, class_name);
	if (!sco) {
		res = CAP_DONE;
		goto out;
	}
	if (get_capacity(c, iobj_data(sco), &seg, &v, &e)) {
		log_error("capacity: GetCapacity for class %s, segment %s failed, will retry: %s",
			  class_name, where, err_msg(&e));
		goto out;
	}
	oo = find_object(c, class_name, &seg);
	if (!oo) {
		if (creation_pending(c, key)) {
			char *ik = xasprintf("i:%s", key);

			wq_add_after(c->q, ik, PENDING_RECHECK_MS);
			free(ik);
			res = CAP_DONE;
			goto out;
		}
		body = cap_object_new(&c->params, class_name, &seg, &v);
		if (kube_create(c->ckube, c->collection, body, &created, &e)) {
			log_error("capacity: creating the CSIStorageCapacity of class %s, segment "
				  "%s failed, will retry: %s", class_name, where, err_msg(&e));
			goto out;
		}
		{
			const char *name = json_string_value(json_object_get(
				json_object_get(created, "metadata"), "name"));

			if (name)
				set_pending(c, key, name);
			log_v(3, "capacity: created CSIStorageCapacity %s for class %s, segment %s: "
			      "capacity %lld", name ? name : "?", class_name, where,
			      (long long)v.capacity);
		}
		res = CAP_DONE;
		goto out;
	}
	{
		const struct cap_object *o = iobj_data(oo);

		body = cap_update_patch(o, &c->params, &v);
		if (!body) {
			log_v(5, "capacity: %s unchanged", o->c.meta.name);
			res = CAP_DONE;
			goto out;
		}
		path = object_path(c, o->c.meta.name);
		if (kube_patch(c->ckube, path, "application/merge-patch+json", body, NULL, &e)) {
			log_error("capacity: updating CSIStorageCapacity %s (class %s, segment %s) "
				  "failed, will retry: %s", o->c.meta.name, class_name, where,
				  err_msg(&e));
			goto out;
		}
		log_v(3, "capacity: updated CSIStorageCapacity %s for class %s, segment %s: "
		      "capacity %lld", o->c.meta.name, class_name, where, (long long)v.capacity);
	}
	res = CAP_DONE;
out:
	json_decref(body);
	json_decref(created);
	iobj_unref(sco);
	iobj_unref(oo);
	strmap_release(&seg);
	free(class_name);
	free(where);
	free(path);
	err_release(&e);
	return res;
}

struct unpend_ctx {
	const char *name;
	struct capacity_keys *out;
};

static void unpend_cb(void *ctx, const char *key, void *v)
{
	struct unpend_ctx *u = ctx;
	const struct cap_pending *p = v;

	if (!strcmp(p->name, u->name))
		capacity_keys_add(u->out, key);
}

enum capacity_result capacity_sync_object(struct capacity *c, const char *name)
{
	char *ikey = xasprintf("%s/%s", c->o.namespace, name), *k = NULL, *path = NULL;
	struct iobj *oo = informer_get(c->objects, ikey), *best = NULL;
	const struct cap_object *o;
	struct capacity_keys seen = { 0 };
	struct unpend_ctx uc = { name, &seen };
	struct strmap seg = { 0 };
	struct err e = ERR_INIT;
	const struct cap_item *it;
	bool wanted = false;
	enum capacity_result res = CAP_DONE;
	int rc;

	if (!oo)
		goto out;
	o = iobj_data(oo);
	if (!cap_object_managed(o, c->o.driver, c->params.managed_by) || !o->c.storage_class_name)
		goto out;	/* not ours: never touched */
	cap_object_segment(o, &seg);
	k = cap_item_key(o->c.storage_class_name, &seg);
	pthread_mutex_lock(&c->mu);
	hmap_each(&c->pending, unpend_cb, &uc);	/* it is in the cache now */
	for (size_t i = 0; i < seen.n; i++) {
		capacity_pending_free(NULL, seen.keys[i], hmap_remove(&c->pending, seen.keys[i]));
		free(seen.keys[i]);
	}
	free(seen.keys);
	it = hmap_get(&c->wanted, k);
	wanted = it && cap_object_matches(o, it->class_name, &it->seg);
	pthread_mutex_unlock(&c->mu);
	if (wanted) {
		best = find_object(c, o->c.storage_class_name, &seg);
		if (best == oo || (best && !strcmp(((const struct cap_object *)iobj_data(best))->c.meta.name,
						    name)))
			goto out;
	}
	path = object_path(c, name);
	rc = kube_delete(c->ckube, path, o->c.meta.uid, NULL, &e);
	if (rc && rc != KUBE_ERR_NOT_FOUND && rc != KUBE_ERR_CONFLICT) {
		log_error("capacity: deleting %s CSIStorageCapacity %s failed, will retry: %s",
			  wanted ? "duplicate" : "obsolete", name, err_msg(&e));
		res = CAP_RETRY;
		goto out;
	}
	log_v(3, "capacity: deleted %s CSIStorageCapacity %s (class %s)",
	      wanted ? "duplicate" : "obsolete", name, o->c.storage_class_name);
out:
	iobj_unref(oo);
	iobj_unref(best);
	strmap_release(&seg);
	free(ikey);
	free(k);
	free(path);
	err_release(&e);
	return res;
}


int capacity_lookup_owner(struct kube_client *kube, const char *ns, const char *pod, int levels,
			  struct cap_owner *out, struct err *e)
{
	struct cap_owner cur = { xstrdup("v1"), xstrdup("Pod"), xstrdup(pod), NULL };
	char *path = NULL, *what = NULL;
	json_t *obj = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	for (;;) {
		free(what);
		what = xasprintf("%s %s/%s %s", cur.api_version, cur.kind, ns, cur.name);
		if ((rc = cap_owner_path(ns, &cur, &path, e)) ||
		    (rc = kube_get(kube, path, &obj, e))) {
			err_prefix(e, "get %s", what);
			break;
		}
		free(path);
		path = NULL;
		if (levels == 0) {
			const char *uid = json_string_value(json_object_get(
				json_object_get(obj, "metadata"), "uid"));

			if (!uid || !*uid) {
				rc = err_set(e, KUBE_ERR_DECODE, "%s has no uid", what);
				break;
			}
			cur.uid = xstrdup(uid);
			*out = cur;
			memset(&cur, 0, sizeof(cur));
			break;
		}
		cap_owner_release(&cur);
		if ((rc = cap_controller_ref(obj, what, &cur, e)))
			break;
		json_decref(obj);
		obj = NULL;
		if (--levels == 0) {
			*out = cur;
			memset(&cur, 0, sizeof(cur));
			break;
		}
	}
	cap_owner_release(&cur);
	json_decref(obj);
	free(path);
	free(what);
	return rc;
}
