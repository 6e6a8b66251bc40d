// SPDX-License-Identifier: Apache-2.0
/* kinds.c - informer types shared by the controllers (see kinds.h). */
#include "informer/kinds.h"
#include "kube/objects.h"

static int decode_sc(json_t *j, void *out, struct err *e) { return kube_storage_class_decode(j, out, e); }
static void release_sc(void *p) { kube_storage_class_release(p); }
static int decode_node(json_t *j, void *out, struct err *e) { return kube_node_decode(j, out, e); }
static void release_node(void *p) { kube_node_release(p); }
static int decode_csinode(json_t *j, void *out, struct err *e) { return kube_csinode_decode(j, out, e); }
static void release_csinode(void *p) { kube_csinode_release(p); }

const struct informer_type informer_type_storage_class = {
	"storageclasses", "/apis/storage.k8s.io/v1/storageclasses",
	sizeof(struct kube_storage_class), decode_sc, release_sc,
};
const struct informer_type informer_type_node = {
	"nodes", "/api/v1/nodes", sizeof(struct kube_node), decode_node, release_node,
};
const struct informer_type informer_type_csinode = {
	"csinodes", "/apis/storage.k8s.io/v1/csinodes", sizeof(struct kube_csinode),
	decode_csinode, release_csinode,
};
