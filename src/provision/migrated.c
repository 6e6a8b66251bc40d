// SPDX-License-Identifier: Apache-2.0
/*
 * migrated.c - the controller's side of CSI migration (rules in
 * src/migration): when our driver replaces an in-tree plugin
 * (plan_opts.migrated_from), classes naming that plugin are translated
 * before the CreateVolume request is built, their PVs are saved in the
 * in-tree form with provisioned-by set to the in-tree name (as upstream),
 * and in-tree PVs of the plugin are deleted through the driver with the
 * volume handle translated from their source.
 *
 * Pure helpers over the controller's options: any worker may call them.
 */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "migration/translate.h"
#include "provision/controller_internal.h"

const struct mig_plugin *ctl_class_migrated(struct controller *c,
					    const struct kube_storage_class *class)
{
	const char *from = c->o.plan.migrated_from;

	if (!from || !class || !class->provisioner || strcmp(class->provisioner, from))
		return NULL;
	return mig_plugin_by_in_tree(from);
}

int ctl_class_for_driver(struct controller *c, const struct kube_storage_class *class,
			 struct kube_storage_class *tmp, const struct kube_storage_class **use,
			 struct err *e)
{
	const struct mig_plugin *p = ctl_class_migrated(c, class);

	*use = class;
	if (!p)
		return 0;
	if (mig_class_to_csi(p, class, tmp, e))
		return err_prefix(e, "failed to translate storage class");
	*use = tmp;
	return 0;
}

int ctl_pv_for_class(struct controller *c, const struct kube_storage_class *class, json_t *pv,
		     struct err *e)
{
	const struct mig_plugin *p = ctl_class_migrated(c, class);
	json_t *ann;
	int rc;

	if (!p)
		return 0;
	if ((rc = mig_pv_to_in_tree(p, pv, e)))
		return rc;
	/* as upstream: the class's provisioner, the in-tree name */
	ann = json_object_get(json_object_get(pv, "metadata"), "annotations");
	if (json_is_object(ann))
		json_object_set_new(ann, ANN_PROVISIONED_BY, json_string(class->provisioner));
	return 0;
}

struct csi_client *ctl_csi(struct controller *c, bool migrated)
{
	return migrated && c->o.csi_migrated ? c->o.csi_migrated : c->csi;
}

bool ctl_pv_of_driver(struct controller *c, const struct kube_pv *pv)
{
	if (pv->csi_driver)
		return !strcmp(pv->csi_driver, c->o.plan.driver);
	return plan_pv_migrated(pv, &c->o.plan);
}

int ctl_pv_handle(struct controller *c, const struct kube_pv *pv, char **out, struct err *e)
{
	const struct mig_plugin *p;

	*out = NULL;
	if (pv->csi_volume_handle && *pv->csi_volume_handle) {
		*out = xstrdup(pv->csi_volume_handle);
		return 0;
	}
	p = plan_pv_migrated(pv, &c->o.plan) ? mig_plugin_by_kind(pv->intree.kind) : NULL;
	if (!p)
		return err_set(e, ERR_INVALID, "PersistentVolume %s has no CSI volume handle", pv->meta.name);
	return mig_pv_volume_handle(p, pv, out, e);
}
