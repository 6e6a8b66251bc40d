/* SPDX-License-Identifier: Apache-2.0 */
/*
 * refgrant.h - may a claim copy from a data source in another namespace?
 *
 * With the CrossNamespaceVolumeDataSource gate, a claim's dataSourceRef may
 * name a PersistentVolumeClaim or VolumeSnapshot in another namespace. The
 * owner of that namespace consents with a ReferenceGrant
 * (gateway.networking.k8s.io/v1beta1) in it: one of its `from` entries must
 * be group "", kind PersistentVolumeClaim, namespace of the claim, and one
 * of its `to` entries must have the group and kind of the reference and
 * either no name or the reference's name. These are upstream's rules
 * (IsGranted in pkg/controller/util.go). Pure functions, thread-safe.
 */
#ifndef PROVISION_REFGRANT_H
#define PROVISION_REFGRANT_H

#include <jansson.h>

#include "base/err.h"
#include "kube/objects.h"

/*
 * Check `claim`'s cross-namespace reference against `list` (a
 * ReferenceGrantList from the source namespace, borrowed). 0 when a grant
 * allows it; -1 with upstream's message ("accessing NS/NAME of KIND
 * dataSource from NS/NAME isn't allowed") when none does; KUBE_ERR_DECODE
 * naming the field when the list does not have the expected shape.
 */
int refgrant_check(const struct kube_pvc *claim, json_t *list, struct err *e);

#endif
