/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kinds.h - informer types of the cluster-scoped objects more than one
 * controller caches (StorageClass, Node, CSINode), decoded with the
 * src/kube/objects.h decoders into struct kube_storage_class, kube_node and
 * kube_csinode. Constant; use them with informer_new.
 */
#ifndef INFORMER_KINDS_H
#define INFORMER_KINDS_H

#include "informer/informer.h"

extern const struct informer_type informer_type_storage_class;
extern const struct informer_type informer_type_node;
extern const struct informer_type informer_type_csinode;

#endif
