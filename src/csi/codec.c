// SPDX-License-Identifier: Apache-2.0
/*
 * codec.c - CSI v1 protobuf bytes -> our reply structs (see codec.h), and
 * redacting secrets from messages.
 *
 * Decoding unpacks with protobuf-c, then copies what we use into plain heap
 * structs, so no protobuf-c type leaks out of src/csi. Encoding is in
 * codec_encode.c.
 */
#include "csi/codec.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "csi/csi.pb-c.h"

/* A string field of an unpacked message, NULL read as "". */
static const char *str(const char *s)
{
	return s ? s : "";
}

static int undecodable(struct err *e, const char *method, size_t n)
{
	return err_set(e, CSI_ERR_LOCAL, "%s: the driver's reply (%zu bytes) does not decode",
		       method, n);
}

static char *dup_nonempty(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

#define DEFINE_MAP_DECODER(fn, T)						\
	static int fn(T *const *entries, size_t n, struct strmap *out,	\
		      const char *what, struct err *e)				\
	{									\
		memset(out, 0, sizeof(*out));					\
		if (n > CSI_MAX_MAP_ENTRIES)					\
			return err_set(e, CSI_ERR_LOCAL,			\
				       "%s has %zu entries, more than %d",	\
				       what, n, CSI_MAX_MAP_ENTRIES);		\
		if (!n)								\
			return 0;						\
		/* last wins, as for protobuf maps */				\
		for (size_t i = 0; i < n; i++)					\
			strmap_set(out, str(entries[i]->key), str(entries[i]->value)); \
		return 0;							\
	}

DEFINE_MAP_DECODER(dec_context, Csi__V1__Volume__VolumeContextEntry)
DEFINE_MAP_DECODER(dec_segments, Csi__V1__Topology__SegmentsEntry)

static int longer_first(const void *a, const void *b)
{
	size_t la = strlen(*(const char *const *)a), lb = strlen(*(const char *const *)b);

	return la < lb ? 1 : la > lb ? -1 : 0;
}

bool csi_redact_secrets(struct err *e, const struct strmap *secrets)
{
	const char **vals, *p;
	struct buf b;
	bool hidden = false;
	size_t n = 0;

	if (!e || !e->msg || !secrets || !secrets->n)
		return false;
	vals = xcalloc(secrets->n, sizeof(*vals));
	for (size_t i = 0; i < secrets->n; i++)
		if (secrets->items[i].value && *secrets->items[i].value)
			vals[n++] = secrets->items[i].value;
	qsort(vals, n, sizeof(*vals), longer_first);
	/* one pass over the message: what was put in is never looked at again */
	buf_init(&b, (size_t)-1);
	for (p = e->msg; *p;) {
		size_t i;

		for (i = 0; i < n; i++)
			if (!strncmp(p, vals[i], strlen(vals[i])))
				break;
		if (i < n) {
			buf_append(&b, "***", 3);
			p += strlen(vals[i]);
			hidden = true;
		} else {
			buf_append(&b, p++, 1);
		}
	}
	free(vals);
	if (hidden) {
		buf_appendf(&b, " (values of the request's secrets hidden)");
		explicit_bzero(e->msg, strlen(e->msg));
		free(e->msg);
		e->msg = buf_detach(&b, NULL);
	}
	buf_release(&b);
	return hidden;
}

void csi_volume_release(struct csi_volume *v)
{
	if (!v)
		return;
	free(v->volume_id);
	strmap_release(&v->context);
	free(v->source_snapshot_id);
	free(v->source_volume_id);
	for (size_t i = 0; i < v->n_accessible_topology; i++)
		strmap_release(&v->accessible_topology[i]);
	free(v->accessible_topology);
	memset(v, 0, sizeof(*v));
}

void csi_snapshot_release(struct csi_snapshot *s)
{
	if (!s)
		return;
	free(s->snapshot_id);
	free(s->source_volume_id);
	free(s->group_snapshot_id);
	memset(s, 0, sizeof(*s));
}

void csi_volume_list_release(struct csi_volume_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		csi_volume_release(&l->volumes[i]);
	free(l->volumes);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

/* Copy a decoded Volume; does not check volume_id (the caller decides). */
static int dec_volume(const Csi__V1__Volume *pv, struct csi_volume *v, const char *method,
		      struct err *e)
{
	memset(v, 0, sizeof(*v));
	v->capacity_bytes = pv->capacity_bytes;
	v->volume_id = dup_nonempty(pv->volume_id);
	if (dec_context(pv->volume_context, pv->n_volume_context, &v->context,
			"volume_context", e))
		goto fail;
	if (pv->content_source) {
		const Csi__V1__VolumeContentSource *s = pv->content_source;

		v->has_content_source = true;
		if (s->type_case == CSI__V1__VOLUME_CONTENT_SOURCE__TYPE_SNAPSHOT && s->snapshot)
			v->source_snapshot_id = xstrdup(str(s->snapshot->snapshot_id));
		else if (s->type_case == CSI__V1__VOLUME_CONTENT_SOURCE__TYPE_VOLUME && s->volume)
			v->source_volume_id = xstrdup(str(s->volume->volume_id));
	}
	if (pv->n_accessible_topology > CSI_MAX_MAP_ENTRIES) {
		err_set(e, CSI_ERR_LOCAL, "accessible_topology has %zu entries, more than %d",
			pv->n_accessible_topology, CSI_MAX_MAP_ENTRIES);
		goto fail;
	}
	if (pv->n_accessible_topology) {
		v->accessible_topology = xcalloc(pv->n_accessible_topology,
						 sizeof(*v->accessible_topology));
		for (size_t i = 0; i < pv->n_accessible_topology; i++) {
			const Csi__V1__Topology *t = pv->accessible_topology[i];

			v->n_accessible_topology = i + 1;
			if (dec_segments(t->segments, t->n_segments,
					 &v->accessible_topology[i], "accessible_topology", e))
				goto fail;
		}
	}
	return 0;
fail:
	csi_volume_release(v);
	return err_prefix(e, "%s: volume '%s'", method, str(pv->volume_id));
}

int csi_codec_decode_probe(const uint8_t *p, size_t n, bool *ready, struct err *e)
{
	Csi__V1__ProbeResponse *r = csi__v1__probe_response__unpack(NULL, n, p);

	*ready = false;
	if (!r)
		return undecodable(e, "Probe", n);
	/* An unset `ready` means ready (CSI spec, ProbeResponse). */
	*ready = r->ready ? r->ready->value : true;
	csi__v1__probe_response__free_unpacked(r, NULL);
	return 0;
}

int csi_codec_decode_plugin_info(const uint8_t *p, size_t n, char **name,
				 char **vendor_version, struct err *e)
{
	Csi__V1__GetPluginInfoResponse *r = csi__v1__get_plugin_info_response__unpack(NULL, n, p);

	*name = *vendor_version = NULL;
	if (!r)
		return undecodable(e, "GetPluginInfo", n);
	if (!r->name || !*r->name) {
		csi__v1__get_plugin_info_response__free_unpacked(r, NULL);
		return err_set(e, CSI_ERR_LOCAL, "GetPluginInfo: the driver returned no name");
	}
	*name = xstrdup(r->name);
	*vendor_version = xstrdup(str(r->vendor_version));
	csi__v1__get_plugin_info_response__free_unpacked(r, NULL);
	return 0;
}

int csi_codec_decode_plugin_caps(const uint8_t *p, size_t n, struct csi_plugin_caps *out,
				 struct err *e)
{
	Csi__V1__GetPluginCapabilitiesResponse *r =
		csi__v1__get_plugin_capabilities_response__unpack(NULL, n, p);

	memset(out, 0, sizeof(*out));
	if (!r)
		return undecodable(e, "GetPluginCapabilities", n);
	for (size_t i = 0; i < r->n_capabilities; i++) {
		const Csi__V1__PluginCapability *c = r->capabilities[i];

		if (c->type_case == CSI__V1__PLUGIN_CAPABILITY__TYPE_SERVICE && c->service) {
			switch (c->service->type) {
			case CSI__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__CONTROLLER_SERVICE:
				out->controller_service = true;
				break;
			case CSI__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__VOLUME_ACCESSIBILITY_CONSTRAINTS:
				out->accessibility_constraints = true;
				break;
			case CSI__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__GROUP_CONTROLLER_SERVICE:
				out->group_controller = true;
				break;
			case CSI__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__SNAPSHOT_METADATA_SERVICE:
				out->snapshot_metadata = true;
				break;
			default:	/* newer than us: ignore */
				break;
			}
		} else if (c->type_case == CSI__V1__PLUGIN_CAPABILITY__TYPE_VOLUME_EXPANSION &&
			   c->volume_expansion) {
			switch (c->volume_expansion->type) {
			case CSI__V1__PLUGIN_CAPABILITY__VOLUME_EXPANSION__TYPE__ONLINE:
				out->online_expansion = true;
				break;
			case CSI__V1__PLUGIN_CAPABILITY__VOLUME_EXPANSION__TYPE__OFFLINE:
				out->offline_expansion = true;
				break;
			default:
				break;
			}
		}
	}
	csi__v1__get_plugin_capabilities_response__free_unpacked(r, NULL);
	return 0;
}

int csi_codec_decode_controller_caps(const uint8_t *p, size_t n,
				     struct csi_controller_caps *out, struct err *e)
{
	Csi__V1__ControllerGetCapabilitiesResponse *r =
		csi__v1__controller_get_capabilities_response__unpack(NULL, n, p);

	memset(out, 0, sizeof(*out));
	if (!r)
		return undecodable(e, "ControllerGetCapabilities", n);
	for (size_t i = 0; i < r->n_capabilities; i++) {
		const Csi__V1__ControllerServiceCapability *c = r->capabilities[i];

		if (c->type_case != CSI__V1__CONTROLLER_SERVICE_CAPABILITY__TYPE_RPC || !c->rpc)
			continue;
		switch (c->rpc->type) {
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__CREATE_DELETE_VOLUME:
			out->create_delete = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__PUBLISH_UNPUBLISH_VOLUME:
			out->publish_unpublish = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__LIST_VOLUMES:
			out->list_volumes = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__GET_CAPACITY:
			out->get_capacity = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__CREATE_DELETE_SNAPSHOT:
			out->create_delete_snapshot = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__LIST_SNAPSHOTS:
			out->list_snapshots = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__CLONE_VOLUME:
			out->clone_volume = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__PUBLISH_READONLY:
			out->publish_readonly = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__EXPAND_VOLUME:
			out->expand_volume = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__LIST_VOLUMES_PUBLISHED_NODES:
			out->list_volumes_published_nodes = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__VOLUME_CONDITION:
			out->volume_condition = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__GET_VOLUME:
			out->get_volume = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__SINGLE_NODE_MULTI_WRITER:
			out->single_node_multi_writer = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__MODIFY_VOLUME:
			out->modify_volume = true;
			break;
		case CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__TYPE__GET_SNAPSHOT:
			out->get_snapshot = true;
			break;
		default:
			break;
		}
	}
	csi__v1__controller_get_capabilities_response__free_unpacked(r, NULL);
	return 0;
}

int csi_codec_decode_create_volume(const uint8_t *p, size_t n, struct csi_volume *out,
				   struct err *e)
{
	Csi__V1__CreateVolumeResponse *r = csi__v1__create_volume_response__unpack(NULL, n, p);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!r)
		return undecodable(e, "CreateVolume", n);
	if (!r->volume || !r->volume->volume_id || !*r->volume->volume_id) {
		rc = err_set(e, CSI_ERR_LOCAL, "CreateVolume: the driver returned no volume_id");
		goto out;
	}
	rc = dec_volume(r->volume, out, "CreateVolume", e);
out:
	csi__v1__create_volume_response__free_unpacked(r, NULL);
	return rc;
}

int csi_codec_decode_delete_volume(const uint8_t *p, size_t n, struct err *e)
{
	Csi__V1__DeleteVolumeResponse *r = csi__v1__delete_volume_response__unpack(NULL, n, p);

	if (!r)
		return undecodable(e, "DeleteVolume", n);
	csi__v1__delete_volume_response__free_unpacked(r, NULL);
	return 0;
}

int csi_codec_decode_get_capacity(const uint8_t *p, size_t n, struct csi_capacity *out,
				  struct err *e)
{
	Csi__V1__GetCapacityResponse *r = csi__v1__get_capacity_response__unpack(NULL, n, p);

	memset(out, 0, sizeof(*out));
	if (!r)
		return undecodable(e, "GetCapacity", n);
	out->available_capacity = r->available_capacity;
	if (r->maximum_volume_size) {
		out->has_maximum_volume_size = true;
		out->maximum_volume_size = r->maximum_volume_size->value;
	}
	if (r->minimum_volume_size) {
		out->has_minimum_volume_size = true;
		out->minimum_volume_size = r->minimum_volume_size->value;
	}
	csi__v1__get_capacity_response__free_unpacked(r, NULL);
	return 0;
}

int csi_codec_decode_list_volumes(const uint8_t *p, size_t n, struct csi_volume_list *out,
				  struct err *e)
{
	Csi__V1__ListVolumesResponse *r = csi__v1__list_volumes_response__unpack(NULL, n, p);
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!r)
		return undecodable(e, "ListVolumes", n);
	if (r->n_entries) {
		out->volumes = xcalloc(r->n_entries, sizeof(*out->volumes));
		for (size_t i = 0; i < r->n_entries; i++) {
			const Csi__V1__ListVolumesResponse__Entry *en = r->entries[i];

			if (!en->volume || !en->volume->volume_id || !*en->volume->volume_id) {
				rc = err_set(e, CSI_ERR_LOCAL,
					     "ListVolumes: entry %zu has no volume_id", i);
				goto out;
			}
			rc = dec_volume(en->volume, &out->volumes[i], "ListVolumes", e);
			if (rc)
				goto out;
			out->n = i + 1;
		}
	}
	out->next_token = dup_nonempty(r->next_token);
out:
	if (rc)
		csi_volume_list_release(out);
	csi__v1__list_volumes_response__free_unpacked(r, NULL);
	return rc;
}

int csi_codec_decode_create_snapshot(const uint8_t *p, size_t n, struct csi_snapshot *out,
				     struct err *e)
{
	Csi__V1__CreateSnapshotResponse *r = csi__v1__create_snapshot_response__unpack(NULL, n, p);
	const Csi__V1__Snapshot *ps;

	memset(out, 0, sizeof(*out));
	if (!r)
		return undecodable(e, "CreateSnapshot", n);
	ps = r->snapshot;
	if (!ps || !ps->snapshot_id || !*ps->snapshot_id) {
		csi__v1__create_snapshot_response__free_unpacked(r, NULL);
		return err_set(e, CSI_ERR_LOCAL, "CreateSnapshot: the driver returned no snapshot_id");
	}
	out->size_bytes = ps->size_bytes;
	out->snapshot_id = xstrdup(ps->snapshot_id);
	out->source_volume_id = dup_nonempty(ps->source_volume_id);
	if (ps->creation_time) {
		out->has_creation_time = true;
		out->creation_seconds = ps->creation_time->seconds;
		out->creation_nanos = ps->creation_time->nanos;
	}
	out->ready_to_use = ps->ready_to_use;
	out->group_snapshot_id = dup_nonempty(ps->group_snapshot_id);
	csi__v1__create_snapshot_response__free_unpacked(r, NULL);
	return 0;
}

int csi_codec_decode_delete_snapshot(const uint8_t *p, size_t n, struct err *e)
{
	Csi__V1__DeleteSnapshotResponse *r = csi__v1__delete_snapshot_response__unpack(NULL, n, p);

	if (!r)
		return undecodable(e, "DeleteSnapshot", n);
	csi__v1__delete_snapshot_response__free_unpacked(r, NULL);
	return 0;
}

void csi_node_info_release(struct csi_node_info *n)
{
	if (!n)
		return;
	free(n->node_id);
	strmap_release(&n->topology);
	memset(n, 0, sizeof(*n));
}

int csi_codec_decode_node_info(const uint8_t *p, size_t n, struct csi_node_info *out,
			       struct err *e)
{
	Csi__V1__NodeGetInfoResponse *r = csi__v1__node_get_info_response__unpack(NULL, n, p);
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!r)
		return undecodable(e, "NodeGetInfo", n);
	if (!r->node_id || !*r->node_id) {
		rc = err_set(e, CSI_ERR_LOCAL, "NodeGetInfo: the driver returned no node_id");
		goto out;
	}
	out->node_id = xstrdup(r->node_id);
	out->max_volumes_per_node = r->max_volumes_per_node;
	if (r->accessible_topology) {
		out->has_topology = true;
		rc = dec_segments(r->accessible_topology->segments,
				  r->accessible_topology->n_segments, &out->topology,
				  "NodeGetInfo accessible_topology", e);
	}
out:
	if (rc)
		csi_node_info_release(out);
	csi__v1__node_get_info_response__free_unpacked(r, NULL);
	return rc;
}
