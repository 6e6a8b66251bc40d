/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan.h - the provisioning decisions, as pure functions.
 *
 * Given a claim, its class, the driver's capabilities and our options, these
 * functions decide whether we provision, build the CreateVolume request and
 * the PersistentVolume. They do no I/O and keep no state, so unit tests can
 * cover every rule without a cluster (DESIGN.md: "plan").
 */
#ifndef PROVISION_PLAN_H
#define PROVISION_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "csi/client.h"
#include "kube/objects.h"
#include "provision/secrets.h"

/* Annotations and names shared with Kubernetes and upstream. */
#define ANN_STORAGE_PROVISIONER "volume.kubernetes.io/storage-provisioner"
#define ANN_BETA_STORAGE_PROVISIONER "volume.beta.kubernetes.io/storage-provisioner"
#define ANN_BETA_STORAGE_CLASS "volume.beta.kubernetes.io/storage-class"
#define ANN_SELECTED_NODE "volume.kubernetes.io/selected-node"
#define ANN_PROVISIONED_BY "pv.kubernetes.io/provisioned-by"
#define ANN_MIGRATED_TO "pv.kubernetes.io/migrated-to"
#define ANN_DELETION_SECRET_NAME "volume.kubernetes.io/provisioner-deletion-secret-name"
#define ANN_DELETION_SECRET_NAMESPACE "volume.kubernetes.io/provisioner-deletion-secret-namespace"
#define ANN_MODIFY_SECRET_NAME "volume.kubernetes.io/controller-modify-secret-name"
#define ANN_MODIFY_SECRET_NAMESPACE "volume.kubernetes.io/controller-modify-secret-namespace"
#define ATTR_PROVISIONER_IDENTITY "storage.kubernetes.io/csiProvisionerIdentity"

/*
 * Our durable mark on a claim: set before the first CreateVolume, cleared
 * when the PV is saved or DeleteVolume confirmed the volume is gone. While
 * it is there the claim cannot vanish, so no volume exists unaccounted for.
 */
#define FINALIZER_CLAIM "csi-provisioner.dev/volume-accounting"
#define ANN_CLAIM_VOLUME "csi-provisioner.dev/volume-name"
/*
 * Set on a marked claim when a CreateVolume ended in doubt (timed out,
 * driver unreachable, reply unreadable): the driver may hold a volume no
 * later refusal can disprove, so only a volume found and deleted (or saved
 * in a PV) lets the mark go.
 */
#define ANN_CLAIM_IN_DOUBT "csi-provisioner.dev/create-in-doubt"
/* On PVs whose volume we delete (upstream's name, so PVs move between the two). */
#define FINALIZER_PV "external-provisioner.volume.kubernetes.io/finalizer"

/* What the plan needs to know about us and the driver. Borrowed strings. */
struct plan_opts {
	const char *provisioner;	/* matched against class.provisioner */
	const char *driver;		/* the CSI driver's own name: PV spec.csi.driver */
	const char *identity;		/* this process, stamped into volumeAttributes */
	const char *prefix;		/* volume name prefix */
	int64_t uuid_length;		/* -1 = whole UID */
	const char *default_fstype;	/* NULL = none */
	bool extra_create_metadata;
	bool single_node_multi_writer;	/* driver has SINGLE_NODE_MULTI_WRITER */
	bool controller_publish_readonly; /* --controller-publish-readonly */
	char *const *class_whitelist;	/* NULL-terminated; NULL = every class */
	bool vac_disabled;		/* VolumeAttributesClass gate off: a claim's class is ignored */
	/*
	 * CSI migration: the provisioner name of the in-tree plugin our driver
	 * replaces ("kubernetes.io/aws-ebs" for ebs.csi.aws.com); NULL when
	 * none. Its classes and PVs are then ours too (upstream's additional
	 * provisioner name).
	 */
	const char *migrated_from;
};

/* Whether a claim is ours to provision now. */
enum plan_verdict {
	PLAN_IGNORE,		/* not ours, already bound, or already provisioned */
	PLAN_WAIT,		/* ours, but not yet (e.g. no selected node) */
	PLAN_PROVISION,
};

/* The class a claim asks for (beta annotation first, then the field); NULL if none. */
const char *plan_claim_class(const struct kube_pvc *claim);

/*
 * Decide for `claim` with its `class` (NULL when the class is not cached).
 * *why gets a static reason string for logs (never NULL). A missing class
 * for a claim that names our provisioner is PLAN_WAIT: the class may come.
 */
enum plan_verdict plan_claim(const struct kube_pvc *claim, const struct kube_storage_class *class,
			     const struct plan_opts *o, const char **why);

/* "<prefix>-<uid>", or the first n UID characters without dashes. Caller frees. */
int plan_volume_name(const char *prefix, const char *uid, int64_t uuid_length, char **out,
		     struct err *e);

/* A CreateVolume request, owned. */
struct plan_request {
	char *name;
	int64_t required_bytes;
	bool block;
	char *fs_type;			/* NULL = let the driver choose */
	enum csi_access_mode *access_modes;	/* what the claim's accessModes map to */
	size_t n_access_modes;
	char **mount_flags;
	size_t n_mount_flags;
	struct strmap params;		/* what the driver gets as parameters */
	struct secret_ref secrets[SECRET_KINDS];	/* resolved from the class */
};

/* Build the request, or fail with a message an operator can act on. */
int plan_create_request(const struct kube_pvc *claim, const struct kube_storage_class *class,
			const struct plan_opts *o, struct plan_request *out, struct err *e);
void plan_request_release(struct plan_request *r);

/* What the driver answered, borrowed. */
struct plan_volume {
	const char *volume_id;
	int64_t capacity_bytes;		/* 0 = the driver did not say */
	const struct strmap *context;	/* NULL = none */
	/* accessible_topology: one segment (key/value pairs) per entry */
	const struct strmap *topology;
	size_t n_topology;
};

/* The PersistentVolume to create for the claim; caller owns the JSON. */
json_t *plan_pv(const struct kube_pvc *claim, const struct kube_storage_class *class,
		const struct plan_opts *o, const struct plan_request *req,
		const struct plan_volume *vol);

/* Whether the object lists this finalizer. */
bool plan_has_finalizer(const struct kube_meta *m, const char *finalizer);

/* Whether the claim carries our mark (finalizer or volume-name annotation). */
bool plan_claim_marked(const struct kube_pvc *claim);

/*
 * Merge patches (caller owns the JSON) that add or remove `finalizer` on an
 * object, guarded by its resourceVersion so a concurrent change is a
 * conflict rather than lost. `ann_key`, when not NULL, is set to `ann_value`
 * (add) or removed (remove) in the same patch.
 */
json_t *plan_finalizer_patch(const struct kube_meta *m, const char *finalizer, bool add,
			     const char *ann_key, const char *ann_value);

/*
 * A JSON patch (caller owns it) that removes `finalizer` (may be NULL) and,
 * when present in `m`, the annotation `ann_key` (may be NULL). Each removal
 * is guarded by a "test" of what `m` says is there, so a stale view fails
 * cleanly instead of removing someone else's entry. NULL when there is
 * nothing to remove.
 */
json_t *plan_unmark_patch(const struct kube_meta *m, const char *finalizer, const char *ann_key);

/* Append to JSON patch `ops` a guarded removal of annotation `key`, if `m` has it. */
void plan_patch_remove_annotation(json_t *ops, const struct kube_meta *m, const char *key);

/* How to treat a failed CSI call (upstream's classes, section 2.5). */
enum plan_error_class {
	PLAN_ERR_FINAL,		/* the driver answered; retry with backoff, nothing in flight */
	PLAN_ERR_IN_BACKGROUND,	/* the driver may still be working: retry the same call */
	PLAN_ERR_INFEASIBLE,	/* InvalidArgument: retry, but no sooner than the max interval */
};
/* `code` is a code of the error space (a CSI call's result), never a bare gRPC number. */
enum plan_error_class plan_classify_csi_error(int code);

/* Whether the PV has an in-tree source of the plugin our driver replaces (o->migrated_from). */
bool plan_pv_migrated(const struct kube_pv *pv, const struct plan_opts *o);

/* Whether we provisioned this PV (and so may delete its volume). */
bool plan_pv_is_ours(const struct kube_pv *pv, const struct plan_opts *o);

/* Whether a PV should now have its volume deleted. *why as in plan_claim. */
bool plan_pv_should_delete(const struct kube_pv *pv, const struct plan_opts *o, const char **why);

#endif
