// SPDX-License-Identifier: Apache-2.0
/*
 * plugins_block.c - the migration rules of the block-disk plugins: AWS EBS,
 * GCE PD, Azure Disk and OpenStack Cinder (see translate.h). For each:
 * StorageClass parameters, the CSI volume handle of an in-tree PV, and the
 * in-tree source of a provisioned CSI PV.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"
#include "migration/migration_int.h"

#define CSI_FSTYPE "csi.storage.k8s.io/fstype"
#define UNSPECIFIED "UNSPECIFIED"

/* fstype -> csi.storage.k8s.io/fstype; with `zones`, zone/zones -> topology. */
static int common_params(const struct strmap *in, struct mig_params *out, bool fstype,
			 bool zones, bool ebs)
{
	for (size_t i = 0; i < in->n; i++) {
		const char *k = in->items[i].key, *v = in->items[i].value;

		if (fstype && !strcasecmp(k, "fstype")) {
			strmap_set(&out->out, CSI_FSTYPE, v);
		} else if (zones && !strcasecmp(k, "zone")) {
			mig_params_zones(out, v, false);
		} else if (zones && !strcasecmp(k, "zones")) {
			mig_params_zones(out, v, true);
		} else if (ebs && !strcasecmp(k, "iopspergb")) {
			/* the in-tree plugin raised too low IOPS to the minimum; so may the driver */
			strmap_set(&out->out, k, v);
			strmap_set(&out->out, "allowautoiopspergbincrease", "true");
		} else {
			strmap_set(&out->out, k, v);
		}
	}
	return 0;
}

static int ebs_params(const struct strmap *in, struct mig_params *out, struct err *e)
{
	return common_params(in, out, true, true, true);
}

static int gce_params(const struct strmap *in, struct mig_params *out, struct err *e)
{
	return common_params(in, out, true, true, false);
}

static int azure_disk_params(const struct strmap *in, struct mig_params *out,
			     struct err *e)
{
	return common_params(in, out, false, true, false);	/* the driver reads fstype itself */
}

static int cinder_params(const struct strmap *in, struct mig_params *out, struct err *e)
{
	/* "availability" stays a parameter: the driver reads it */
	return common_params(in, out, true, false, false);
}

int mig_id_handle(const struct mig_plugin *p, const struct kube_pv *pv, char **out,
		  struct err *e)
{
	*out = xstrdup(pv->intree.id);
	return 0;
}

/* aws://<zone>/vol-..., aws:///vol-... or a bare vol-... ID. */
static int ebs_handle(const struct mig_plugin *p, const struct kube_pv *pv, char **out,
		      struct err *e)
{
	const char *id = pv->intree.id, *path, *end;

	if (strncmp(id, "aws://", 6)) {
		*out = xstrdup(id);
		return 0;
	}
	path = strchr(id + 6, '/');
	if (!path)
		path = id + strlen(id);
	while (*path == '/')
		path++;
	end = path + strlen(path);
	while (end > path && end[-1] == '/')
		end--;
	if (strncmp(path, "vol-", 4) || end - path < 4 || memchr(path, '/', (size_t)(end - path)))
		return err_set(e, ERR_INVALID, "PersistentVolume %s: invalid format for AWS volume (%s)",
			       pv->meta.name, id);
	*out = xstrndup(path, (size_t)(end - path));
	return 0;
}

/* projects/UNSPECIFIED/{zones/<zone>|regions/<region>}/disks/<pd>, from the zone labels. */
static int gce_handle(const struct mig_plugin *p, const struct kube_pv *pv, char **out,
		      struct err *e)
{
	size_t n;
	char **zones = mig_pv_zones(pv, &n), *region;
	int rc = 0;

	if (n == 1 && *zones[0]) {
		*out = xasprintf("projects/" UNSPECIFIED "/zones/%s/disks/%s", zones[0],
				 pv->intree.id);
	} else if (n > 1) {
		rc = mig_gce_region(zones, n, &region, e);
		if (rc)
			err_prefix(e, "PersistentVolume %s: region of its zones", pv->meta.name);
		else
			*out = xasprintf("projects/" UNSPECIFIED "/regions/%s/disks/%s", region,
					 pv->intree.id);
		if (!rc)
			free(region);
	} else {
		*out = xasprintf("projects/" UNSPECIFIED "/zones/" UNSPECIFIED "/disks/%s",
				 pv->intree.id);
	}
	mig_strv_free(zones, n);
	return rc;
}

static int azure_disk_handle(const struct mig_plugin *p, const struct kube_pv *pv, char **out,
			     struct err *e)
{
	if (pv->intree.disk_kind && strcasecmp(pv->intree.disk_kind, "Managed"))
		return err_set(e, ERR_INVALID, "PersistentVolume %s: azureDisk kind %s is not supported by "
			       "CSI migration", pv->meta.name, pv->intree.disk_kind);
	*out = xstrdup(pv->intree.id);
	return 0;
}

/* The last occurrence of `needle` in s at or after `from` with something after it. */
static const char *last_with_tail(const char *from, const char *needle)
{
	const char *found = NULL, *s = from;
	size_t l = strlen(needle);

	while ((s = strstr(s, needle))) {
		if (s[l])
			found = s;
		s++;
	}
	return found ? found + l : NULL;
}

/*
 * The disk name of a managed disk URI (.../subscriptions/S/resourceGroups/G/
 * providers/Microsoft.Compute/disks/NAME) or an unmanaged blob
 * (http(s)://.../vhds/NAME).
 */
static int azure_disk_name(const char *uri, char **out, struct err *e)
{
	const char *s, *name = NULL;

	if (strlen(uri) > 4 && !strncasecmp(uri, "http", 4)) {
		if ((s = strstr(uri + 4, "://")))
			name = last_with_tail(s + 3, "/vhds/");
	} else if ((s = strstr(uri, "/subscriptions/")) &&
		   (s = strstr(s + strlen("/subscriptions/"), "/resourceGroups/"))) {
		name = last_with_tail(s + strlen("/resourceGroups/"),
				      "/providers/Microsoft.Compute/disks/");
	}
	if (!name)
		return err_set(e, ERR_INVALID, "could not get the disk name from \"%s\"", uri);
	*out = xstrdup(name);
	return 0;
}

static int ebs_to_in_tree(const struct mig_plugin *p, json_t *pv, json_t *csi, json_t *src,
			  struct err *e)
{
	const char *part = mig_csi_attr(csi, "partition");
	json_int_t n = 0;
	int rc;

	json_object_set_new(src, "volumeID", json_string(mig_json_str(csi, "volumeHandle")));
	mig_set_nonempty(src, "fsType", mig_json_str(csi, "fsType"));
	if (json_is_true(json_object_get(csi, "readOnly")))
		json_object_set_new(src, "readOnly", json_true());
	if (part && (rc = mig_parse_int(part, "volume attribute partition", &n, e)))
		return rc;
	if (n)
		json_object_set_new(src, "partition", json_integer(n));
	return mig_topology_to_in_tree(pv, p->topology_key, mig_aws_region, e);
}

static int gce_to_in_tree(const struct mig_plugin *p, json_t *pv, json_t *csi, json_t *src,
			  struct err *e)
{
	const char *handle = mig_json_str(csi, "volumeHandle"), *part, *s = handle;
	size_t slashes = 0;
	json_int_t n = 0;
	int rc;

	/* projects/P/zones/Z/disks/NAME: the name is the sixth element */
	for (const char *c = handle; *c; c++)
		if (*c == '/' && ++slashes <= 5)
			s = c + 1;
	if (slashes < 5)
		return err_set(e, ERR_INVALID, "volume handle \"%s\" has fewer than 6 elements", handle);
	json_object_set_new(src, "pdName", json_stringn(s, strcspn(s, "/")));
	mig_set_nonempty(src, "fsType", mig_json_str(csi, "fsType"));
	if (json_is_true(json_object_get(csi, "readOnly")))
		json_object_set_new(src, "readOnly", json_true());
	part = mig_csi_attr(csi, "partition");
	if (part && *part && (rc = mig_parse_int(part, "volume attribute partition", &n, e)))
		return rc;
	if (n)
		json_object_set_new(src, "partition", json_integer(n));
	return mig_topology_to_in_tree(pv, p->topology_key, mig_gce_region, e);
}

static int azure_disk_to_in_tree(const struct mig_plugin *p, json_t *pv, json_t *csi,
				 json_t *src, struct err *e)
{
	const char *uri = mig_json_str(csi, "volumeHandle"), *key;
	json_t *v;
	char *name = NULL;
	int rc;

	if ((rc = azure_disk_name(uri, &name, e)))
		return rc;
	json_object_set_new(src, "diskName", json_string(name));
	free(name);
	json_object_set_new(src, "diskURI", json_string(uri));
	/* set even when empty, as the in-tree fields are pointers there */
	json_object_set_new(src, "fsType", json_string(mig_json_str(csi, "fsType")));
	json_object_set_new(src, "readOnly",
			    json_boolean(json_is_true(json_object_get(csi, "readOnly"))));
	json_object_set_new(src, "kind", json_string("Managed"));
	json_object_foreach(json_object_get(csi, "volumeAttributes"), key, v) {
		const char *s = json_string_value(v);

		if (!s || !*s)
			continue;
		if (!strcasecmp(key, "cachingmode"))
			json_object_set_new(src, "cachingMode", json_string(s));
		else if (!strcasecmp(key, "fstype"))
			json_object_set_new(src, "fsType", json_string(s));
	}
	return 0;	/* no topology translation for Azure Disk, as upstream */
}

static int cinder_to_in_tree(const struct mig_plugin *p, json_t *pv, json_t *csi, json_t *src,
			     struct err *e)
{
	json_object_set_new(src, "volumeID", json_string(mig_json_str(csi, "volumeHandle")));
	mig_set_nonempty(src, "fsType", mig_json_str(csi, "fsType"));
	if (json_is_true(json_object_get(csi, "readOnly")))
		json_object_set_new(src, "readOnly", json_true());
	/* a Cinder region cannot be told from its zone: none is added */
	return mig_topology_to_in_tree(pv, p->topology_key, NULL, e);
}

const struct mig_ops mig_ebs_ops = { ebs_params, true, ebs_handle, ebs_to_in_tree };
const struct mig_ops mig_gce_ops = { gce_params, true, gce_handle, gce_to_in_tree };
const struct mig_ops mig_azure_disk_ops = { azure_disk_params, true, azure_disk_handle,
					    azure_disk_to_in_tree };
const struct mig_ops mig_cinder_ops = { cinder_params, true, mig_id_handle, cinder_to_in_tree };

