// SPDX-License-Identifier: Apache-2.0
/*
 * objects_cluster.c - decode the objects a provisioner consults beside
 * claims and volumes: Node, CSINode, Secret (capped, wiped on release),
 * VolumeAttachment, VolumeAttributesClass, CSIStorageCapacity,
 * VolumeSnapshot, VolumeSnapshotContent and Lease (see objects.h).
 *
 * Every decoder starts with dec_begin() and reads fields through the typed
 * getters of objects_dec.c.
 */
#include "kube/objects_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "kube/kubeconfig.h"
#include "kube/status.h"

/* ---- Node ---- */

void kube_node_release(struct kube_node *n)
{
	if (!n)
		return;
	kube_meta_release(&n->meta);
	memset(n, 0, sizeof(*n));
}

int kube_node_decode(json_t *obj, struct kube_node *out, struct err *e)
{
	struct dec d;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = dec_begin(&d, "node", obj, &what, &out->meta, e);
	if (rc)
		kube_node_release(out);
	free(what);
	return rc;
}

/* ---- CSINode ---- */

void kube_csinode_release(struct kube_csinode *n)
{
	size_t i;

	if (!n)
		return;
	kube_meta_release(&n->meta);
	for (i = 0; i < n->n_drivers; i++) {
		free(n->drivers[i].name);
		free(n->drivers[i].node_id);
		dec_strv_free(n->drivers[i].topology_keys, n->drivers[i].n_topology_keys);
	}
	free(n->drivers);
	memset(n, 0, sizeof(*n));
}

int kube_csinode_decode(json_t *obj, struct kube_csinode *out, struct err *e)
{
	struct dec d;
	json_t *spec, *drivers, *drv;
	char *what, *path = NULL;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = dec_begin(&d, "csinode", obj, &what, &out->meta, e)) ||
	    (rc = dec_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = dec_arr(&d, spec, "spec", "drivers", &drivers)) || !drivers)
		goto out;
	out->drivers = xcalloc(json_array_size(drivers) + 1, sizeof(*out->drivers));
	json_array_foreach(drivers, i, drv) {
		struct kube_csinode_driver *dr = &out->drivers[out->n_drivers++];

		free(path);
		path = xasprintf("spec.drivers[%zu]", i);
		if ((rc = dec_item_obj(&d, "spec.drivers", i, drv)) ||
		    (rc = dec_str(&d, drv, path, "name", &dr->name)) ||
		    (rc = dec_str(&d, drv, path, "nodeID", &dr->node_id)) ||
		    (rc = dec_strlist(&d, drv, path, "topologyKeys", &dr->topology_keys,
				      &dr->n_topology_keys)))
			goto out;
	}
out:
	if (rc)
		kube_csinode_release(out);
	free(path);
	free(what);
	return rc;
}

/* ---- Secret ---- */

void kube_secret_release(struct kube_secret *s)
{
	if (!s)
		return;
	kube_meta_release(&s->meta);
	free(s->type);
	/* secrets should not linger in freed memory (values may hold NULs) */
	for (size_t i = 0; s->data_lens && i < s->data.n; i++)
		explicit_bzero(s->data.items[i].value, s->data_lens[i]);
	strmap_release(&s->data);
	free(s->data_lens);
	memset(s, 0, sizeof(*s));
}

int kube_secret_decode(json_t *obj, struct kube_secret *out, struct err *e)
{
	struct dec d;
	json_t *data, *val;
	const char *k;
	char *what;
	size_t total = 0, cap;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = dec_begin(&d, "secret", obj, &what, &out->meta, e)) ||
	    (rc = dec_str(&d, obj, "", "type", &out->type)))
		goto out;
	data = json_object_get(obj, "data");
	if (!data || json_is_null(data))
		goto out;
	if (!json_is_object(data)) {
		rc = dec_wrong_type(&d, "", "data", data, "a map of base64 strings");
		goto out;
	}
	cap = json_object_size(data) + 1;
	out->data.items = xcalloc(cap, sizeof(*out->data.items));
	out->data.alloc = cap;
	out->data_lens = xcalloc(cap, sizeof(*out->data_lens));
	json_object_foreach(data, k, val) {
		char *v;
		size_t len;

		if (!json_is_string(val)) {
			rc = err_set(e, KUBE_ERR_DECODE, "%s: data['%s'] is %s, want a string",
				     what, k, dec_type_name(val));
			goto out;
		}
		/* Never quote the value: it is a secret. */
		if (json_string_length(val) / 4 * 3 > KUBE_SECRET_DATA_MAX - total) {
			rc = err_set(e, KUBE_ERR_TOO_LARGE, "%s: data is larger than %zu bytes",
				     what, KUBE_SECRET_DATA_MAX);
			goto out;
		}
		v = kube_base64_decode(json_string_value(val), json_string_length(val), &len);
		if (!v) {
			rc = err_set(e, KUBE_ERR_DECODE, "%s: data['%s'] is not valid base64",
				     what, k);
			goto out;
		}
		out->data_lens[out->data.n] = len;
		strmap_add_owned(&out->data, xstrdup(k), v);
		if (len > KUBE_SECRET_DATA_MAX - total) {
			rc = err_set(e, KUBE_ERR_TOO_LARGE, "%s: data is larger than %zu bytes",
				     what, KUBE_SECRET_DATA_MAX);
			goto out;
		}
		total += len;
	}
out:
	if (rc)
		kube_secret_release(out);
	free(what);
	return rc;
}

/* ---- VolumeAttachment ---- */

void kube_volume_attachment_release(struct kube_volume_attachment *v)
{
	if (!v)
		return;
	kube_meta_release(&v->meta);
	free(v->attacher);
	free(v->node_name);
	free(v->pv_name);
	memset(v, 0, sizeof(*v));
}

int kube_volume_attachment_decode(json_t *obj, struct kube_volume_attachment *out,
				  struct err *e)
{
	struct dec d;
	json_t *spec, *src, *status;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = dec_begin(&d, "volumeattachment", obj, &what, &out->meta, e)) ||
	    (rc = dec_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = dec_obj(&d, obj, "", "status", &status)) ||
	    (rc = dec_str(&d, spec, "spec", "attacher", &out->attacher)) ||
	    (rc = dec_str(&d, spec, "spec", "nodeName", &out->node_name)) ||
	    (rc = dec_obj(&d, spec, "spec", "source", &src)) ||
	    (rc = dec_str(&d, src, "spec.source", "persistentVolumeName", &out->pv_name)) ||
	    (rc = dec_bool(&d, status, "status", "attached", &out->attached)))
		kube_volume_attachment_release(out);
	free(what);
	return rc;
}

/* ---- VolumeAttributesClass ---- */

void kube_vac_release(struct kube_vac *v)
{
	if (!v)
		return;
	kube_meta_release(&v->meta);
	free(v->driver_name);
	strmap_release(&v->parameters);
	memset(v, 0, sizeof(*v));
}

int kube_vac_decode(json_t *obj, struct kube_vac *out, struct err *e)
{
	struct dec d;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = dec_begin(&d, "volumeattributesclass", obj, &what, &out->meta, e)) ||
	    (rc = dec_str(&d, obj, "", "driverName", &out->driver_name)) ||
	    (rc = dec_strmap(&d, obj, "", "parameters", &out->parameters)))
		kube_vac_release(out);
	free(what);
	return rc;
}

/* ---- CSIStorageCapacity ---- */

void kube_csi_capacity_release(struct kube_csi_capacity *c)
{
	if (!c)
		return;
	kube_meta_release(&c->meta);
	free(c->storage_class_name);
	strmap_release(&c->node_topology);
	memset(c, 0, sizeof(*c));
}

int kube_csi_capacity_decode(json_t *obj, struct kube_csi_capacity *out, struct err *e)
{
	struct dec d;
	json_t *topo;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = dec_begin(&d, "csistoragecapacity", obj, &what, &out->meta, e)) ||
	    (rc = dec_str(&d, obj, "", "storageClassName", &out->storage_class_name)) ||
	    (rc = dec_quantity(&d, obj, "", "capacity", &out->capacity_bytes,
			       &out->has_capacity)) ||
	    (rc = dec_quantity(&d, obj, "", "maximumVolumeSize", &out->max_volume_bytes,
			       &out->has_max_volume)) ||
	    (rc = dec_obj(&d, obj, "", "nodeTopology", &topo)) ||
	    (rc = dec_strmap(&d, topo, "nodeTopology", "matchLabels", &out->node_topology)))
		goto out;
	out->has_node_topology = topo != NULL;
out:
	if (rc)
		kube_csi_capacity_release(out);
	free(what);
	return rc;
}

/* ---- VolumeSnapshot ---- */

void kube_volume_snapshot_release(struct kube_volume_snapshot *s)
{
	if (!s)
		return;
	kube_meta_release(&s->meta);
	free(s->source_pvc);
	free(s->source_content);
	free(s->class_name);
	free(s->bound_content);
	memset(s, 0, sizeof(*s));
}

int kube_volume_snapshot_decode(json_t *obj, struct kube_volume_snapshot *out, struct err *e)
{
	struct dec d;
	json_t *spec, *src, *status;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = dec_begin(&d, "volumesnapshot", obj, &what, &out->meta, e)) ||
	    (rc = dec_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = dec_obj(&d, obj, "", "status", &status)) ||
	    (rc = dec_obj(&d, spec, "spec", "source", &src)) ||
	    (rc = dec_str(&d, src, "spec.source", "persistentVolumeClaimName",
			  &out->source_pvc)) ||
	    (rc = dec_str(&d, src, "spec.source", "volumeSnapshotContentName",
			  &out->source_content)) ||
	    (rc = dec_str(&d, spec, "spec", "volumeSnapshotClassName", &out->class_name)) ||
	    (rc = dec_str(&d, status, "status", "boundVolumeSnapshotContentName",
			  &out->bound_content)) ||
	    (rc = dec_bool(&d, status, "status", "readyToUse", &out->ready)) ||
	    (rc = dec_quantity(&d, status, "status", "restoreSize", &out->restore_bytes,
			       &out->has_restore_size)))
		kube_volume_snapshot_release(out);
	free(what);
	return rc;
}

/* ---- VolumeSnapshotContent ---- */

void kube_snapshot_content_release(struct kube_snapshot_content *s)
{
	if (!s)
		return;
	kube_meta_release(&s->meta);
	free(s->driver);
	free(s->snapshot_handle);
	free(s->source_volume_handle);
	free(s->deletion_policy);
	free(s->ref_ns);
	free(s->ref_name);
	free(s->ref_uid);
	free(s->source_volume_mode);
	memset(s, 0, sizeof(*s));
}

int kube_snapshot_content_decode(json_t *obj, struct kube_snapshot_content *out,
				 struct err *e)
{
	struct dec d;
	json_t *spec, *src, *ref, *status;
	char *what, *status_handle = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = dec_begin(&d, "volumesnapshotcontent", obj, &what, &out->meta, e)) ||
	    (rc = dec_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = dec_obj(&d, obj, "", "status", &status)) ||
	    (rc = dec_str(&d, spec, "spec", "driver", &out->driver)) ||
	    (rc = dec_str(&d, spec, "spec", "deletionPolicy", &out->deletion_policy)) ||
	    (rc = dec_str(&d, spec, "spec", "sourceVolumeMode", &out->source_volume_mode)) ||
	    (rc = dec_obj(&d, spec, "spec", "source", &src)) ||
	    (rc = dec_str(&d, src, "spec.source", "snapshotHandle", &out->snapshot_handle)) ||
	    (rc = dec_str(&d, src, "spec.source", "volumeHandle",
			  &out->source_volume_handle)) ||
	    (rc = dec_obj(&d, spec, "spec", "volumeSnapshotRef", &ref)) ||
	    (rc = dec_str(&d, ref, "spec.volumeSnapshotRef", "namespace", &out->ref_ns)) ||
	    (rc = dec_str(&d, ref, "spec.volumeSnapshotRef", "name", &out->ref_name)) ||
	    (rc = dec_str(&d, ref, "spec.volumeSnapshotRef", "uid", &out->ref_uid)) ||
	    (rc = dec_str(&d, status, "status", "snapshotHandle", &status_handle)) ||
	    (rc = dec_bool(&d, status, "status", "readyToUse", &out->ready)) ||
	    (rc = dec_int(&d, status, "status", "restoreSize", &out->restore_bytes)))
		goto out;
	out->has_restore_size = json_is_integer(json_object_get(status, "restoreSize"));
	/* A dynamically created snapshot's handle is only in the status. */
	if (status_handle) {
		free(out->snapshot_handle);
		out->snapshot_handle = status_handle;
		status_handle = NULL;
	}
out:
	if (rc)
		kube_snapshot_content_release(out);
	free(status_handle);
	free(what);
	return rc;
}

/* ---- Lease ---- */

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

int kube_time_parse(const char *s, int64_t *unix_us, struct err *e)
{
	const char *p = s;
	struct tm tm = { 0 };
	int y, mo, dd, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t us = 0, scale = 100000, t;

	if (!s || strlen(s) > 64)
		goto bad;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &dd) || (*p != 'T' && *p != 't') || !*p++ || digits(&p, 2, &h) ||
	    *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
		goto bad;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			goto bad;
		for (; *p >= '0' && *p <= '9'; p++) {
			us += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			goto bad;
	} else {
		goto bad;
	}
	if (*p || mo < 1 || mo > 12 || dd < 1 || dd > 31 || h > 23 || mi > 59 || sec > 60)
		goto bad;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = dd;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	*unix_us = t * 1000000 + us;
	return 0;
bad:
	return err_set(e, KUBE_ERR_INVALID, "time '%.64s' is not RFC 3339", s ? s : "(null)");
}

static int dec_time(struct dec *d, json_t *o, const char *prefix, const char *key,
		    int64_t *out)
{
	struct err te = ERR_INIT;
	char *s;
	int rc;

	*out = 0;
	if ((rc = dec_str(d, o, prefix, key, &s)) || !s)
		return rc;
	rc = kube_time_parse(s, out, &te);
	free(s);
	if (rc) {
		rc = err_set(d->e, KUBE_ERR_DECODE, "%s: %s%s%s: %s", d->what, prefix,
			     *prefix ? "." : "", key, err_msg(&te));
		err_release(&te);
	}
	return rc;
}

void kube_lease_release(struct kube_lease *l)
{
	if (!l)
		return;
	kube_meta_release(&l->meta);
	free(l->holder);
	memset(l, 0, sizeof(*l));
}

int kube_lease_decode(json_t *obj, struct kube_lease *out, struct err *e)
{
	struct dec d;
	json_t *spec;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = dec_begin(&d, "lease", obj, &what, &out->meta, e)) ||
	    (rc = dec_obj(&d, obj, "", "spec", &spec)) ||
	    (rc = dec_str(&d, spec, "spec", "holderIdentity", &out->holder)) ||
	    (rc = dec_int(&d, spec, "spec", "leaseDurationSeconds", &out->duration_s)) ||
	    (rc = dec_time(&d, spec, "spec", "acquireTime", &out->acquire_us)) ||
	    (rc = dec_time(&d, spec, "spec", "renewTime", &out->renew_us)) ||
	    (rc = dec_int(&d, spec, "spec", "leaseTransitions", &out->transitions)))
		kube_lease_release(out);
	free(what);
	return rc;
}
