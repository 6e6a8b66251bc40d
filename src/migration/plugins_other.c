// SPDX-License-Identifier: Apache-2.0
/*
 * plugins_other.c - the migration rules of Azure File, vSphere and
 * Portworx (see translate.h): StorageClass parameters, the CSI volume
 * handle of an in-tree PV, and the in-tree source of a provisioned CSI PV.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "migration/migration_int.h"

#define AZURE_RG_ANNOTATION "kubernetes.io/azure-file-resource-group"
#define AZURE_SECRET_PREFIX "azure-storage-account-"
#define AZURE_SECRET_SUFFIX "-secret"
#define VSPHERE_REGION_KEY "topology.csi.vmware.com/region"
#define CSI_PREFIX "csi.storage.k8s.io/"

static int copy_params(const struct strmap *in, struct mig_params *out, struct err *e)
{
	for (size_t i = 0; i < in->n; i++)
		strmap_set(&out->out, in->items[i].key, in->items[i].value);
	return 0;
}

/* "azure-storage-account-<account>-secret" -> <account>; NULL if not that shape. */
static char *azure_account(const char *secret)
{
	const char *s = secret ? strstr(secret, AZURE_SECRET_PREFIX) : NULL, *end = NULL, *p;

	if (!s)
		return NULL;
	s += strlen(AZURE_SECRET_PREFIX);
	/* the account is as long as it can be: up to the last "-secret" after one character */
	for (p = s + 1; *p && (p = strstr(p, AZURE_SECRET_SUFFIX)); p++)
		end = p;
	return end ? xstrndup(s, (size_t)(end - s)) : NULL;
}

/* <resource group>#<account>#<share>#<pv name>#<secret namespace> */
static int azure_file_handle(const struct mig_plugin *p, const struct kube_pv *pv, char **out,
			     struct err *e)
{
	const char *rg = strmap_get(&pv->meta.annotations, AZURE_RG_ANNOTATION);
	const char *ns = pv->intree.secret_namespace ? pv->intree.secret_namespace : pv->claim_ns;
	char *account = azure_account(pv->intree.secret_name);

	if (!ns || !*ns) {
		free(account);
		return err_set(e, ERR_INVALID, "PersistentVolume %s: could not find a secret namespace in "
			       "spec.azureFile or spec.claimRef", pv->meta.name);
	}
	*out = xasprintf("%s#%s#%s#%s#%s", rg ? rg : "",
			 account ? account : pv->intree.secret_name ? pv->intree.secret_name : "",
			 pv->intree.id, pv->meta.name, ns);
	free(account);
	return 0;
}

static int azure_file_to_in_tree(const struct mig_plugin *p, json_t *pv, json_t *csi,
				 json_t *src, struct err *e)
{
	const char *key, *share = "", *secret = "", *ns = NULL;
	json_t *v, *stage = json_object_get(csi, "nodeStageSecretRef");
	char *made_secret = NULL, *rg = NULL;

	json_object_foreach(json_object_get(csi, "volumeAttributes"), key, v) {
		const char *s = json_string_value(v);

		if (!s)
			continue;
		if (!strcasecmp(key, "sharename"))
			share = s;
		else if (!strcasecmp(key, "secretname"))
			secret = s;
		else if (!strcasecmp(key, "secretnamespace"))
			ns = s;
	}
	if (*mig_json_str(stage, "name")) {
		secret = mig_json_str(stage, "name");
		ns = mig_json_str(stage, "namespace");
	}
	if (!*share || !*secret) {
		/* from the handle: <rg>#<account>#<share>[#...] */
		const char *h = mig_json_str(csi, "volumeHandle");
		const char *a = strchr(h, '#'), *b = a ? strchr(a + 1, '#') : NULL;

		if (!b)
			return err_set(e, ERR_INVALID, "volume handle \"%s\" has fewer than three "
				       "'#'-separated fields", h);
		rg = xstrndup(h, (size_t)(a - h));
		if (!*share) {
			size_t l = strcspn(b + 1, "#");
			char *sh = xstrndup(b + 1, l);

			json_object_set_new(src, "shareName", json_string(sh));
			free(sh);
		}
		if (!*secret) {
			made_secret = xasprintf(AZURE_SECRET_PREFIX "%.*s" AZURE_SECRET_SUFFIX,
						(int)(b - a - 1), a + 1);
			secret = made_secret;
		}
	}
	if (!json_object_get(src, "shareName"))
		json_object_set_new(src, "shareName", json_string(share));
	json_object_set_new(src, "secretName", json_string(secret));
	json_object_set_new(src, "secretNamespace", json_string(ns ? ns : "default"));
	if (json_is_true(json_object_get(csi, "readOnly")))
		json_object_set_new(src, "readOnly", json_true());
	if (rg && *rg) {
		json_t *meta = json_object_get(pv, "metadata");
		json_t *ann = json_object_get(meta, "annotations");

		if (!json_is_object(ann)) {
			ann = json_object();
			json_object_set_new(meta, "annotations", ann);
		}
		json_object_set_new(ann, AZURE_RG_ANNOTATION, json_string(rg));
	}
	free(made_secret);
	free(rg);
	return 0;
}

/* The in-tree vSphere parameters the driver knows, by their names for it. */
static const struct {
	const char *in_tree, *csi;
} vsphere_params_map[] = {
	{ "fstype", CSI_PREFIX "fstype" },
	{ "storagepolicyname", "storagepolicyname" },
	{ "datastore", "datastore-migrationparam" },
	{ "diskformat", "diskformat-migrationparam" },
	{ "hostfailurestotolerate", "hostfailurestotolerate-migrationparam" },
	{ "forceprovisioning", "forceprovisioning-migrationparam" },
	{ "cachereservation", "cachereservation-migrationparam" },
	{ "diskstripes", "diskstripes-migrationparam" },
	{ "objectspacereservation", "objectspacereservation-migrationparam" },
	{ "iopslimit", "iopslimit-migrationparam" },
};

static int vsphere_params(const struct strmap *in, struct mig_params *out, struct err *e)
{
	size_t nmap = sizeof(vsphere_params_map) / sizeof(vsphere_params_map[0]);

	for (size_t i = 0; i < in->n; i++) {
		size_t m;

		for (m = 0; m < nmap; m++)
			if (!strcasecmp(in->items[i].key, vsphere_params_map[m].in_tree))
				break;
		if (m < nmap)
			strmap_set(&out->out, vsphere_params_map[m].csi, in->items[i].value);
		else
			log_v(2, "StorageClass parameter %s is not supported by CSI migration of "
			      "vSphere volumes; dropped", in->items[i].key);
	}
	/* tells the driver to answer with the volume path the in-tree form needs */
	strmap_set(&out->out, "csimigration", "true");
	return 0;
}

static int vsphere_to_in_tree(const struct mig_plugin *p, json_t *pv, json_t *csi, json_t *src,
			      struct err *e)
{
	const char *path = mig_csi_attr(csi, "initialvolumefilepath");

	json_object_set_new(src, "volumePath", json_string(path ? path : ""));
	mig_set_nonempty(src, "fsType", mig_json_str(csi, "fsType"));
	return mig_topology_to_in_tree_vsphere(pv, p->topology_key, VSPHERE_REGION_KEY);
}

static const char *const portworx_secret_kinds[] = {
	"provisioner", "controller-publish", "node-publish", "node-stage", "controller-expand",
	"node-expand",
};

/* Portworx's one auth secret serves every operation. */
static int portworx_params(const struct strmap *in, struct mig_params *out, struct err *e)
{
	size_t nk = sizeof(portworx_secret_kinds) / sizeof(portworx_secret_kinds[0]);

	for (size_t i = 0; i < in->n; i++) {
		const char *what = !strcasecmp(in->items[i].key, "openstorage.io/auth-secret-name") ?
				   "name" : !strcasecmp(in->items[i].key,
							"openstorage.io/auth-secret-namespace") ?
				   "namespace" : NULL;

		if (!what) {
			strmap_set(&out->out, in->items[i].key, in->items[i].value);
			continue;
		}
		for (size_t k = 0; k < nk; k++) {
			char *key = xasprintf(CSI_PREFIX "%s-secret-%s", portworx_secret_kinds[k],
					      what);

			strmap_set(&out->out, key, in->items[i].value);
			free(key);
		}
	}
	return 0;
}

static int portworx_to_in_tree(const struct mig_plugin *p, json_t *pv, json_t *csi, json_t *src,
			       struct err *e)
{
	json_object_set_new(src, "volumeID", json_string(mig_json_str(csi, "volumeHandle")));
	mig_set_nonempty(src, "fsType", mig_json_str(csi, "fsType"));
	if (json_is_true(json_object_get(csi, "readOnly")))
		json_object_set_new(src, "readOnly", json_true());
	return 0;
}

const struct mig_ops mig_azure_file_ops = { copy_params, false, azure_file_handle,
					    azure_file_to_in_tree };
const struct mig_ops mig_vsphere_ops = { vsphere_params, true, mig_id_handle,
					 vsphere_to_in_tree };
const struct mig_ops mig_portworx_ops = { portworx_params, false, mig_id_handle,
					  portworx_to_in_tree };
