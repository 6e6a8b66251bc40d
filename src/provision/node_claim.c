// SPDX-License-Identifier: Apache-2.0
/*
 * node_claim.c - --node-deployment in the controller: the stand-in Node and
 * CSINode built from NodeGetInfo, which PVs are this node's, and taking a
 * claim with Immediate binding (upstream's becomeOwner).
 *
 * Taking a claim, as upstream: every instance that sees a claim with
 * Immediate binding and no selected node waits nd_delay_ms (jittered,
 * growing with each lost attempt), gives up early if another instance's
 * annotation shows up meanwhile (its update event requeues the claim, whose
 * sync then sees another node), checks with GetCapacity that its node has
 * room, and writes the selected-node annotation with a merge patch that
 * carries the claim's resourceVersion: of two instances at most one write
 * succeeds, the other gets a conflict and waits again. Only the instance
 * named by the annotation ever provisions (claim_sync.c), so one claim gets
 * one volume. Unlike upstream, the wait does not hold a worker: the key is
 * queued again for when it ends (nd_attempt.due).
 *
 * The attempts per claim UID live in controller.nd_attempts, guarded by
 * slow_mu (never held across I/O), as is the random state nd_seed.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "informer/informer.h"
#include "kube/client.h"
#include "provision/controller_internal.h"
#include "provision/node_deploy.h"
#include "workqueue/workqueue.h"

struct nd_attempt {
	unsigned requeues;	/* lost or failed attempts so far */
	int64_t due;		/* when the current wait ends (ms); 0 = none under way */
};

void ctl_nd_init(struct controller *c)
{
	nd_local_node(c->o.node_name, c->o.plan.driver, c->o.node_info, &c->nd_node,
		      &c->nd_csinode);
	c->nd_seed = (unsigned)time(NULL) ^ (unsigned)clock_now_ms();
}

static void free_attempt(void *ctx, const char *key, void *value)
{
	(void)ctx;
	(void)key;
	free(value);
}

void ctl_nd_release(struct controller *c)
{
	kube_node_release(&c->nd_node);
	kube_csinode_release(&c->nd_csinode);
	hmap_each(&c->nd_attempts, free_attempt, NULL);
	hmap_release(&c->nd_attempts);
}

void ctl_nd_forget(struct controller *c, const char *uid)
{
	if (!c->o.node_name || !uid)
		return;
	pthread_mutex_lock(&c->slow_mu);
	free(hmap_remove(&c->nd_attempts, uid));
	pthread_mutex_unlock(&c->slow_mu);
}

bool ctl_nd_pv_mine(struct controller *c, const struct kube_pv *pv)
{
	const struct csi_node_info *ni = c->o.node_info;

	return nd_volume_accessible(pv, ni && ni->has_topology ? &ni->topology : NULL);
}

/*
 * The topology inputs of a claim: only this node, as upstream's stand-in
 * listers give them (the selected node found only when it is this one).
 */
void ctl_nd_topology_input(struct controller *c, struct topo_input *in,
			   const struct kube_node **node, const struct kube_csinode **csinode)
{
	*node = &c->nd_node;
	*csinode = &c->nd_csinode;
	if (in->selected_node_name && !strcmp(in->selected_node_name, c->o.node_name)) {
		in->selected_node = *node;
		in->selected_csinode = *csinode;
	}
	in->nodes = node;
	in->n_nodes = 1;
	in->csinodes = csinode;
	in->n_csinodes = 1;
}

/* A class with allowedTopologies must admit this node, or another instance takes the claim. */
static bool topology_admits(struct controller *c, const struct kube_pvc *claim,
			    const struct kube_storage_class *class, const char *key)
{
	const struct kube_node *node;
	const struct kube_csinode *csinode;
	struct topo_input in;
	struct topo_result r;
	struct err e = ERR_INIT;
	bool ok;

	if (!class->n_allowed_topologies || !c->o.topology)
		return true;
	memset(&in, 0, sizeof(in));
	memset(&r, 0, sizeof(r));
	in.driver = c->o.plan.driver;
	in.class = class;
	in.claim_name = claim->meta.name;
	in.selected_node_name = c->o.node_name;
	in.strict = c->o.strict_topology;
	in.immediate = c->o.immediate_topology;
	ctl_nd_topology_input(c, &in, &node, &csinode);
	ok = topo_requirements(&in, &r, &e) == TOPO_OK;
	if (!ok)
		log_v(5, "claim %s: not taking it: the class's allowedTopologies do not fit node "
		      "%s: %s", key, c->o.node_name, err_msg(&e));
	topo_result_release(&r);
	err_release(&e);
	return ok;
}

/*
 * Whether this node has room for the claim now (upstream's checkCapacity):
 * GetCapacity with the request's capabilities and parameters, once per
 * requisite segment (once without topology when there is none); *room set
 * when one of them has room. The code when the question could not be asked.
 */
static int has_capacity(struct controller *c, const struct kube_pvc *claim,
			const struct kube_storage_class *class, bool *room, struct err *e)
{
	const struct strmap *a = &claim->meta.annotations;
	struct kube_pvc as = *claim;	/* shallow: only the annotations are its own */
	struct prepared p;
	enum prep_result pr;
	int rc = 0;

	*room = true;
	if (claim->request_bytes <= 0)
		return 0;
	*room = false;
	/* the request as if this node were selected, as upstream asks it */
	strmap_copy(&as.meta.annotations, a);
	strmap_set(&as.meta.annotations, ANN_SELECTED_NODE, c->o.node_name);
	pr = ctl_prepare(c, &as, class, false, &p, e);
	strmap_release(&as.meta.annotations);
	if (pr != PREP_OK) {
		ctl_prepared_release(&p);
		/* e says why (a claim for a populator has no request to ask with) */
		return err_code(e) ? err_code(e) : ERR_FAILED;
	}
	for (size_t i = 0; i < (p.cr.req.n_requisite ? p.cr.req.n_requisite : 1) && !rc && !*room;
	     i++) {
		struct csi_get_capacity_req req = {
			p.cr.req.caps, p.cr.req.n_caps, p.cr.req.parameters,
			p.cr.req.n_requisite ? &p.cr.req.requisite[i] : NULL,
		};
		struct csi_capacity cap;

		if ((rc = csi_get_capacity(c->csi, &req, &cap, e)))
			err_prefix(e, "GetCapacity");
		else if (claim->request_bytes <= cap.available_capacity)
			*room = true;
	}
	ctl_prepared_release(&p);
	return rc;
}

/* The claim's attempts, created if new; call with slow_mu held. */
static struct nd_attempt *attempt_of(struct controller *c, const char *uid)
{
	struct nd_attempt *a = hmap_get(&c->nd_attempts, uid);

	if (!a) {
		a = xcalloc(1, sizeof(*a));
		hmap_put(&c->nd_attempts, uid, a);
	}
	return a;
}

/* Start the next wait for the claim; queue it for when it ends. */
static void wait_again(struct controller *c, const struct kube_pvc *claim, const char *key)
{
	struct nd_attempt *a;
	int64_t delay;
	unsigned n;

	pthread_mutex_lock(&c->slow_mu);
	a = attempt_of(c, claim->meta.uid);
	n = a->requeues++;
	delay = nd_delay_ms(c->o.node_base_delay_ms, c->o.node_max_delay_ms, n,
			    rand_r(&c->nd_seed) / ((double)RAND_MAX + 1.0));
	a->due = clock_now_ms() + delay;
	pthread_mutex_unlock(&c->slow_mu);
	log_v(5, "claim %s: will try to become its owner with resource version %s in %lld ms "
	      "(attempt #%u)", key, claim->meta.resource_version ? claim->meta.resource_version :
	      "?", (long long)delay, n);
	wq_add_after(c->claim_q, key, delay > 0 ? delay : 1);
}

/* Write our node into the claim's selected-node annotation, fenced by its resourceVersion. */
static int select_this_node(struct controller *c, const struct kube_pvc *claim, struct err *e)
{
	json_t *patch = json_pack("{s:{s:s, s:{s:s}}}", "metadata", "resourceVersion",
				  claim->meta.resource_version ? claim->meta.resource_version : "",
				  "annotations", ANN_SELECTED_NODE, c->o.node_name);
	char *path = ctl_claim_path(claim);
	int rc;

	if (!claim->meta.resource_version)
		rc = err_set(e, ERR_INVALID, "the cached claim has no resourceVersion");
	else
		rc = kube_patch(c->kube, path, "application/merge-patch+json", patch, NULL, e);
	json_decref(patch);
	free(path);
	return rc;
}

enum sync_result ctl_nd_take(struct controller *c, const struct kube_pvc *claim,
			     const struct kube_storage_class *class, const char *key)
{
	struct nd_attempt *a;
	struct err e = ERR_INIT;
	enum sync_result res = SYNC_DONE;
	int64_t left;
	bool waiting, room;
	int rc;

	if (!class || !class->volume_binding_mode ||
	    strcmp(class->volume_binding_mode, "Immediate") || !c->o.node_immediate_binding) {
		log_v(5, "claim %s: no node selected, and not one to take (node deployment)", key);
		return SYNC_DONE;
	}
	if (!claim->meta.uid || !topology_admits(c, claim, class, key))
		return SYNC_DONE;
	pthread_mutex_lock(&c->slow_mu);
	a = attempt_of(c, claim->meta.uid);
	waiting = a->due != 0;
	left = a->due - clock_now_ms();
	if (waiting && left <= 0)
		a->due = 0;	/* the wait is over: this sync is the attempt */
	pthread_mutex_unlock(&c->slow_mu);
	if (!waiting) {
		wait_again(c, claim, key);	/* no wait under way: start one */
		return SYNC_DONE;
	}
	if (left > 0) {
		/* an event requeued it early: back for the end of the wait */
		wq_add_after(c->claim_q, key, left);
		return SYNC_DONE;
	}
	/* as late as possible: GetCapacity is costly */
	if (has_capacity(c, claim, class, &room, &e)) {
		log_v(3, "claim %s: trying to become its owner although the capacity check failed: "
		      "%s", key, err_msg(&e));
		err_release(&e);
	} else if (!room) {
		log_v(5, "claim %s: not enough capacity on node %s", key, c->o.node_name);
		return SYNC_DONE;
	}
	rc = select_this_node(c, claim, &e);
	if (!rc) {
		log_v(3, "claim %s: became its owner (selected node %s)", key, c->o.node_name);
		ctl_nd_forget(c, claim->meta.uid);
	} else if (rc == KUBE_ERR_CONFLICT) {
		log_v(3, "claim %s: conflict while selecting node %s, will try again", key,
		      c->o.node_name);
		wait_again(c, claim, key);
	} else if (rc != KUBE_ERR_NOT_FOUND) {
		log_error("claim %s: selecting node %s failed: %s", key, c->o.node_name,
			  err_msg(&e));
		res = SYNC_RETRY;
	}
	err_release(&e);
	return res;
}
