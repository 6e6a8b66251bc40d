// SPDX-License-Identifier: Apache-2.0
/*
 * translate.c - CSI migration (see translate.h): the table of migratable
 * plugins, their lookups, the StorageClass translation and the steps that
 * every plugin's PV translation shares. The per-plugin rules live in
 * plugins_block.c and plugins_other.c, the zone keys in topology.c.
 */
#include "migration/translate.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "migration/migration_int.h"

static const struct {
	struct mig_plugin p;
	const struct mig_ops *ops;
} plugins[] = {
	{ { KUBE_INTREE_AWS_EBS, "kubernetes.io/aws-ebs", "ebs.csi.aws.com",
	    "awsElasticBlockStore", "topology.ebs.csi.aws.com/zone" }, &mig_ebs_ops },
	{ { KUBE_INTREE_GCE_PD, "kubernetes.io/gce-pd", "pd.csi.storage.gke.io",
	    "gcePersistentDisk", "topology.gke.io/zone" }, &mig_gce_ops },
	{ { KUBE_INTREE_AZURE_DISK, "kubernetes.io/azure-disk", "disk.csi.azure.com",
	    "azureDisk", "topology.disk.csi.azure.com/zone" }, &mig_azure_disk_ops },
	{ { KUBE_INTREE_AZURE_FILE, "kubernetes.io/azure-file", "file.csi.azure.com",
	    "azureFile", NULL }, &mig_azure_file_ops },
	{ { KUBE_INTREE_CINDER, "kubernetes.io/cinder", "cinder.csi.openstack.org",
	    "cinder", "topology.cinder.csi.openstack.org/zone" }, &mig_cinder_ops },
	{ { KUBE_INTREE_VSPHERE, "kubernetes.io/vsphere-volume", "csi.vsphere.vmware.com",
	    "vsphereVolume", "topology.csi.vmware.com/zone" }, &mig_vsphere_ops },
	{ { KUBE_INTREE_PORTWORX, "kubernetes.io/portworx-volume", "pxd.portworx.com",
	    "portworxVolume", NULL }, &mig_portworx_ops },
};
#define N_PLUGINS (sizeof(plugins) / sizeof(plugins[0]))

static bool eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

const struct mig_plugin *mig_plugin_by_csi(const char *driver)
{
	for (size_t i = 0; i < N_PLUGINS; i++)
		if (eq(plugins[i].p.csi, driver))
			return &plugins[i].p;
	return NULL;
}

const struct mig_plugin *mig_plugin_by_in_tree(const char *provisioner)
{
	for (size_t i = 0; i < N_PLUGINS; i++)
		if (eq(plugins[i].p.in_tree, provisioner))
			return &plugins[i].p;
	return NULL;
}

const struct mig_plugin *mig_plugin_by_kind(enum kube_intree_kind kind)
{
	for (size_t i = 0; i < N_PLUGINS; i++)
		if (plugins[i].p.kind == kind)
			return &plugins[i].p;
	return NULL;
}

static const struct mig_ops *ops_of(const struct mig_plugin *p)
{
	for (size_t i = 0; i < N_PLUGINS; i++)
		if (&plugins[i].p == p)
			return plugins[i].ops;
	return NULL;
}

void mig_params_zones(struct mig_params *p, const char *v, bool split)
{
	size_t n = 1;

	mig_strv_free(p->zones, p->n_zones);
	if (split)
		for (const char *s = v; *s; s++)
			n += *s == ',';
	p->zones = xcalloc(n, sizeof(char *));
	p->n_zones = 0;
	if (!split) {
		p->zones[p->n_zones++] = xstrdup(v);
		return;
	}
	/* no trimming and empty items kept: upstream splits just so */
	for (const char *s = v;; ) {
		const char *c = strchr(s, ',');

		p->zones[p->n_zones++] = c ? xstrndup(s, (size_t)(c - s)) : xstrdup(s);
		if (!c)
			break;
		s = c + 1;
	}
}

void mig_params_release(struct mig_params *p)
{
	if (!p)
		return;
	strmap_release(&p->out);
	mig_strv_free(p->zones, p->n_zones);
	memset(p, 0, sizeof(*p));
}

static char **strv_dup(char *const *v, size_t n)
{
	char **out = xcalloc(n + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static struct kube_topology_term *terms_copy(const struct kube_topology_term *t, size_t n)
{
	struct kube_topology_term *out = xcalloc(n + 1, sizeof(*out));

	for (size_t i = 0; i < n; i++) {
		out[i].n_reqs = t[i].n_reqs;
		out[i].reqs = xcalloc(t[i].n_reqs + 1, sizeof(*out[i].reqs));
		for (size_t r = 0; r < t[i].n_reqs; r++) {
			out[i].reqs[r].key = xstrdup(t[i].reqs[r].key);
			out[i].reqs[r].n_values = t[i].reqs[r].n_values;
			out[i].reqs[r].values = strv_dup(t[i].reqs[r].values, t[i].reqs[r].n_values);
		}
	}
	return out;
}

/* What the provisioner reads of a class, copied; parameters and topologies are set after. */
static void class_copy_base(struct kube_storage_class *out, const struct kube_storage_class *in)
{
	memset(out, 0, sizeof(*out));
	out->meta.name = in->meta.name ? xstrdup(in->meta.name) : NULL;
	out->meta.uid = in->meta.uid ? xstrdup(in->meta.uid) : NULL;
	out->meta.resource_version = in->meta.resource_version ?
				     xstrdup(in->meta.resource_version) : NULL;
	strmap_copy(&out->meta.annotations, &in->meta.annotations);
	strmap_copy(&out->meta.labels, &in->meta.labels);
	out->provisioner = in->provisioner ? xstrdup(in->provisioner) : NULL;
	out->reclaim_policy = in->reclaim_policy ? xstrdup(in->reclaim_policy) : NULL;
	out->volume_binding_mode = in->volume_binding_mode ? xstrdup(in->volume_binding_mode) :
				   NULL;
	out->n_mount_options = in->n_mount_options;
	out->mount_options = strv_dup(in->mount_options, in->n_mount_options);
	out->allow_volume_expansion = in->allow_volume_expansion;
}

int mig_class_to_csi(const struct mig_plugin *p, const struct kube_storage_class *in,
		     struct kube_storage_class *out, struct err *e)
{
	const struct mig_ops *ops = ops_of(p);
	struct mig_params params;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&params, 0, sizeof(params));
	if (!ops)
		return err_set(e, ERR_INVALID, "no CSI migration rules for this plugin");
	if ((rc = ops->params(&in->parameters, &params, e)))
		goto fail;
	if (params.zones && in->n_allowed_topologies) {
		rc = err_set(e, ERR_INVALID, "StorageClass \"%s\": cannot simultaneously set "
			     "allowed topologies and zone/zones parameters", in->meta.name);
		goto fail;
	}
	class_copy_base(out, in);
	out->parameters = params.out;
	memset(&params.out, 0, sizeof(params.out));
	if (params.zones) {
		out->allowed_topologies = xcalloc(1, sizeof(*out->allowed_topologies));
		out->n_allowed_topologies = 1;
		out->allowed_topologies[0].reqs = xcalloc(1, sizeof(struct kube_label_req));
		out->allowed_topologies[0].n_reqs = 1;
		out->allowed_topologies[0].reqs[0].key = xstrdup(p->topology_key);
		out->allowed_topologies[0].reqs[0].values = params.zones;
		out->allowed_topologies[0].reqs[0].n_values = params.n_zones;
		params.zones = NULL;
		params.n_zones = 0;
	} else if (in->n_allowed_topologies) {
		out->allowed_topologies = terms_copy(in->allowed_topologies, in->n_allowed_topologies);
		out->n_allowed_topologies = in->n_allowed_topologies;
		if (ops->rekey_allowed)
			mig_terms_rekey(out->allowed_topologies, out->n_allowed_topologies,
					p->topology_key);
	}
	if (p->kind == KUBE_INTREE_AZURE_DISK)
		mig_terms_blank_numeric(out->allowed_topologies, out->n_allowed_topologies,
					p->topology_key);
	mig_params_release(&params);
	return 0;
fail:
	mig_params_release(&params);
	kube_storage_class_release(out);
	return rc;
}

int mig_pv_volume_handle(const struct mig_plugin *p, const struct kube_pv *pv, char **out,
			 struct err *e)
{
	const struct mig_ops *ops = ops_of(p);

	*out = NULL;
	if (!ops || pv->intree.kind != p->kind)
		return err_set(e, ERR_INVALID, "PersistentVolume %s has no %s source", pv->meta.name,
			       p->pv_field);
	if (!pv->intree.id || !*pv->intree.id)
		return err_set(e, ERR_INVALID, "PersistentVolume %s: spec.%s names no volume", pv->meta.name,
			       p->pv_field);
	return ops->handle(p, pv, out, e);
}

int mig_pv_to_in_tree(const struct mig_plugin *p, json_t *pv, struct err *e)
{
	const struct mig_ops *ops = ops_of(p);
	json_t *spec = json_object_get(pv, "spec");
	json_t *csi = json_object_get(spec, "csi");
	json_t *src;

	if (!ops || !json_is_object(csi))
		return err_set(e, ERR_INVALID, "the PersistentVolume has no CSI source to translate");
	if (!eq(mig_json_str(csi, "driver"), p->csi))
		return err_set(e, ERR_INVALID, "the PersistentVolume's driver %s is not %s",
			       mig_json_str(csi, "driver"), p->csi);
	src = json_object();
	json_incref(csi);
	if (ops->to_in_tree(p, pv, csi, src, e)) {
		json_decref(csi);
		json_decref(src);
		return err_prefix(e, "cannot translate the PersistentVolume to the in-tree %s "
				  "form", p->in_tree);
	}
	json_object_del(spec, "csi");
	json_object_set_new(spec, p->pv_field, src);
	json_decref(csi);
	return 0;
}

const char *mig_json_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

const char *mig_csi_attr(json_t *csi, const char *key)
{
	return json_string_value(json_object_get(json_object_get(csi, "volumeAttributes"), key));
}

void mig_set_nonempty(json_t *obj, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(obj, key, json_string(v));
}

int mig_parse_int(const char *s, const char *what, json_int_t *out, struct err *e)
{
	char *end;
	long long v;

	if (!s || !*s)
		return err_set(e, ERR_INVALID, "%s is empty, want an integer", what);
	if (isspace((unsigned char)*s))
		return err_set(e, ERR_INVALID, "%s \"%s\" is not an integer", what, s);
	v = strtoll(s, &end, 10);
	if (*end || v < -2147483648LL || v > 2147483647LL)
		return err_set(e, ERR_INVALID, "%s \"%s\" is not an integer", what, s);
	*out = (json_int_t)v;
	return 0;
}
