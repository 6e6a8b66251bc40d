/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secrets.h - which Secret a StorageClass names for each CSI operation.
 *
 * Pure functions: a class's parameters, the claim and the PV name in; a
 * {namespace, name} reference (or none) out. The rules are upstream's:
 * a prefixed key (csi.storage.k8s.io/provisioner-secret-name) or its
 * deprecated form (csiProvisionerSecretName), never both; name and
 * namespace together or not at all; the class-wide
 * csi.storage.k8s.io/secret-name/-namespace as a fallback; templates
 * ${pv.name}, ${pvc.namespace} and, in names only, ${pvc.name} and
 * ${pvc.annotations['KEY']}; the result a DNS-1123 label (namespace) and
 * subdomain (name).
 */
#ifndef PROVISION_SECRETS_H
#define PROVISION_SECRETS_H

#include <stdbool.h>

#include "base/err.h"
#include "kube/objects.h"

enum secret_kind {
	SECRET_PROVISIONER,
	SECRET_CONTROLLER_PUBLISH,
	SECRET_NODE_STAGE,
	SECRET_NODE_PUBLISH,
	SECRET_CONTROLLER_EXPAND,
	SECRET_NODE_EXPAND,
	SECRET_CONTROLLER_MODIFY,
	SECRET_KINDS,
};

/* A resolved reference; both NULL when the class names no secret. Owned. */
struct secret_ref {
	char *namespace;
	char *name;
};

/* What templates may refer to. annotations may be NULL (then no KEY resolves). */
struct secret_context {
	const char *pv_name;
	const char *pvc_name;
	const char *pvc_namespace;
	const struct strmap *pvc_annotations;
};

/* For messages: "provisioner", "controller-publish", ... */
const char *secret_kind_name(enum secret_kind kind);

/*
 * Resolve the reference of `kind` from class parameters. Returns 0 (with
 * out->name NULL when there is none), or -1 with a message naming the
 * parameter and the problem.
 */
int secret_ref_resolve(const struct strmap *params, enum secret_kind kind,
		       const struct secret_context *ctx, struct secret_ref *out, struct err *e);
void secret_ref_release(struct secret_ref *r);

#endif
