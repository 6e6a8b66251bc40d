// SPDX-License-Identifier: Apache-2.0
/*
 * codec_encode.c - our CSI request structs -> CSI v1 protobuf bytes (see
 * codec.h).
 *
 * Encoding builds a protobuf-c message tree whose strings point into the
 * caller's borrowed request (protobuf-c's char * fields are only read by
 * pack), with every node allocated from a small arena that is freed in one
 * go after packing. Decoding is in codec.c.
 */
#include "csi/codec.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "csi/csi.pb-c.h"

/* Every allocation of one message tree, freed together after packing. */
struct arena {
	void **ptrs;
	size_t n, alloc;
};

static void *arena_calloc(struct arena *a, size_t nmemb, size_t size)
{
	void *p = xcalloc(nmemb ? nmemb : 1, size);

	a->ptrs = xgrow(a->ptrs, a->n + 1, &a->alloc, sizeof(*a->ptrs));
	a->ptrs[a->n++] = p;
	return p;
}

static void arena_release(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->ptrs[i]);
	free(a->ptrs);
	a->ptrs = NULL;
	a->n = a->alloc = 0;
}

/* protobuf-c wants char *; pack only reads through it. */
static char *str(const char *s)
{
	return (char *)(s ? s : "");
}

static int check_map(const struct strmap *m, const char *what, struct err *e)
{
	if (!m || !m->n)
		return 0;
	if (!m->items)
		return err_set(e, CSI_ERR_LOCAL, "%s: %zu entries but no items", what, m->n);
	for (size_t i = 0; i < m->n; i++) {
		/* Name the key, never the value: the map may hold secrets. */
		if (!m->items[i].key)
			return err_set(e, CSI_ERR_LOCAL, "%s: entry %zu has no key", what, i);
		if (!m->items[i].value)
			return err_set(e, CSI_ERR_LOCAL, "%s: entry '%s' has no value",
				       what, m->items[i].key);
	}
	return 0;
}

/*
 * Every generated map-entry type has the fields base, key, value; one
 * builder per type keeps the code type-checked.
 */
#define DEFINE_MAP_ENCODER(fn, T, INIT)						\
	static T **fn(struct arena *a, const struct strmap *m, size_t *n_out)	\
	{									\
		T **v;								\
		*n_out = 0;							\
		if (!m || !m->n)						\
			return NULL;						\
		v = arena_calloc(a, m->n, sizeof(*v));				\
		for (size_t i = 0; i < m->n; i++) {				\
			T init = INIT;						\
			v[i] = arena_calloc(a, 1, sizeof(*v[i]));		\
			*v[i] = init;						\
			v[i]->key = str(m->items[i].key);			\
			v[i]->value = str(m->items[i].value);			\
		}								\
		*n_out = m->n;							\
		return v;							\
	}

DEFINE_MAP_ENCODER(enc_create_params, Csi__V1__CreateVolumeRequest__ParametersEntry,
		   CSI__V1__CREATE_VOLUME_REQUEST__PARAMETERS_ENTRY__INIT)
DEFINE_MAP_ENCODER(enc_create_secrets, Csi__V1__CreateVolumeRequest__SecretsEntry,
		   CSI__V1__CREATE_VOLUME_REQUEST__SECRETS_ENTRY__INIT)
DEFINE_MAP_ENCODER(enc_create_mutable, Csi__V1__CreateVolumeRequest__MutableParametersEntry,
		   CSI__V1__CREATE_VOLUME_REQUEST__MUTABLE_PARAMETERS_ENTRY__INIT)
DEFINE_MAP_ENCODER(enc_delete_secrets, Csi__V1__DeleteVolumeRequest__SecretsEntry,
		   CSI__V1__DELETE_VOLUME_REQUEST__SECRETS_ENTRY__INIT)
DEFINE_MAP_ENCODER(enc_capacity_params, Csi__V1__GetCapacityRequest__ParametersEntry,
		   CSI__V1__GET_CAPACITY_REQUEST__PARAMETERS_ENTRY__INIT)
DEFINE_MAP_ENCODER(enc_segments, Csi__V1__Topology__SegmentsEntry,
		   CSI__V1__TOPOLOGY__SEGMENTS_ENTRY__INIT)
DEFINE_MAP_ENCODER(enc_snapshot_secrets, Csi__V1__CreateSnapshotRequest__SecretsEntry,
		   CSI__V1__CREATE_SNAPSHOT_REQUEST__SECRETS_ENTRY__INIT)
DEFINE_MAP_ENCODER(enc_snapshot_params, Csi__V1__CreateSnapshotRequest__ParametersEntry,
		   CSI__V1__CREATE_SNAPSHOT_REQUEST__PARAMETERS_ENTRY__INIT)
DEFINE_MAP_ENCODER(enc_delete_snapshot_secrets, Csi__V1__DeleteSnapshotRequest__SecretsEntry,
		   CSI__V1__DELETE_SNAPSHOT_REQUEST__SECRETS_ENTRY__INIT)

static Csi__V1__Topology *enc_topology(struct arena *a, const struct strmap *m)
{
	Csi__V1__Topology init = CSI__V1__TOPOLOGY__INIT;
	Csi__V1__Topology *t = arena_calloc(a, 1, sizeof(*t));

	*t = init;
	t->segments = enc_segments(a, m, &t->n_segments);
	return t;
}

static Csi__V1__Topology **enc_topologies(struct arena *a, const struct strmap *m, size_t n)
{
	Csi__V1__Topology **v;

	if (!n)
		return NULL;
	v = arena_calloc(a, n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = enc_topology(a, &m[i]);
	return v;
}

static int check_topologies(const struct strmap *m, size_t n, const char *what,
			    struct err *e)
{
	if (n && !m)
		return err_set(e, CSI_ERR_LOCAL, "%s: %zu segments but no array", what, n);
	for (size_t i = 0; i < n; i++)
		if (check_map(&m[i], what, e))
			return CSI_ERR_LOCAL;
	return 0;
}

static int check_caps(const struct csi_volume_capability *caps, size_t n, struct err *e)
{
	if (n && !caps)
		return err_set(e, CSI_ERR_LOCAL, "%zu volume capabilities but no array", n);
	for (size_t i = 0; i < n; i++) {
		const struct csi_volume_capability *c = &caps[i];

		if (c->access_mode < CSI_ACCESS_UNKNOWN ||
		    c->access_mode > CSI_ACCESS_SINGLE_NODE_MULTI_WRITER)
			return err_set(e, CSI_ERR_LOCAL,
				       "volume capability %zu: access mode %d is not a CSI access mode",
				       i, c->access_mode);
		if (c->block && (c->n_mount_flags || (c->fs_type && *c->fs_type) ||
				 c->mount_group))
			return err_set(e, CSI_ERR_LOCAL,
				       "volume capability %zu: block access with mount options", i);
		if (c->n_mount_flags && !c->mount_flags)
			return err_set(e, CSI_ERR_LOCAL,
				       "volume capability %zu: %zu mount flags but no array",
				       i, c->n_mount_flags);
		for (size_t j = 0; j < c->n_mount_flags; j++)
			if (!c->mount_flags[j])
				return err_set(e, CSI_ERR_LOCAL,
					       "volume capability %zu: mount flag %zu is NULL", i, j);
	}
	return 0;
}

static Csi__V1__VolumeCapability **enc_caps(struct arena *a,
					    const struct csi_volume_capability *caps, size_t n)
{
	Csi__V1__VolumeCapability **v;

	if (!n)
		return NULL;
	v = arena_calloc(a, n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		const struct csi_volume_capability *c = &caps[i];
		Csi__V1__VolumeCapability init = CSI__V1__VOLUME_CAPABILITY__INIT;
		Csi__V1__VolumeCapability__AccessMode mode_init =
			CSI__V1__VOLUME_CAPABILITY__ACCESS_MODE__INIT;
		Csi__V1__VolumeCapability *vc = arena_calloc(a, 1, sizeof(*vc));

		*vc = init;
		vc->access_mode = arena_calloc(a, 1, sizeof(*vc->access_mode));
		*vc->access_mode = mode_init;
		vc->access_mode->mode = (Csi__V1__VolumeCapability__AccessMode__Mode)c->access_mode;
		if (c->block) {
			Csi__V1__VolumeCapability__BlockVolume binit =
				CSI__V1__VOLUME_CAPABILITY__BLOCK_VOLUME__INIT;

			vc->access_type_case = CSI__V1__VOLUME_CAPABILITY__ACCESS_TYPE_BLOCK;
			vc->block = arena_calloc(a, 1, sizeof(*vc->block));
			*vc->block = binit;
		} else {
			Csi__V1__VolumeCapability__MountVolume minit =
				CSI__V1__VOLUME_CAPABILITY__MOUNT_VOLUME__INIT;
			Csi__V1__VolumeCapability__MountVolume *mv;

			vc->access_type_case = CSI__V1__VOLUME_CAPABILITY__ACCESS_TYPE_MOUNT;
			mv = vc->mount = arena_calloc(a, 1, sizeof(*vc->mount));
			*mv = minit;
			mv->fs_type = str(c->fs_type);
			mv->volume_mount_group = str(c->mount_group);
			if (c->n_mount_flags) {
				mv->mount_flags = arena_calloc(a, c->n_mount_flags,
							       sizeof(*mv->mount_flags));
				for (size_t j = 0; j < c->n_mount_flags; j++)
					mv->mount_flags[j] = str(c->mount_flags[j]);
				mv->n_mount_flags = c->n_mount_flags;
			}
		}
		v[i] = vc;
	}
	return v;
}

/* Pack `msg` into a fresh heap buffer, enforcing the request cap. */
static int pack(const ProtobufCMessage *msg, const char *what, uint8_t **out, size_t *len,
		struct err *e)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *p;

	*out = NULL;
	*len = 0;
	if (n > CSI_MAX_REQUEST_BYTES)
		return err_set(e, CSI_ERR_LOCAL, "%s: request of %zu bytes exceeds the %d-byte cap",
			       what, n, CSI_MAX_REQUEST_BYTES);
	p = xmalloc(n ? n : 1);
	if (protobuf_c_message_pack(msg, p) != n) {
		free(p);
		return err_set(e, CSI_ERR_LOCAL, "%s: packing the request failed", what);
	}
	*out = p;
	*len = n;
	return 0;
}

int csi_codec_encode_create_volume(const struct csi_create_volume_req *req,
				   uint8_t **out, size_t *len, struct err *e)
{
	Csi__V1__CreateVolumeRequest m = CSI__V1__CREATE_VOLUME_REQUEST__INIT;
	struct arena a = { 0 };
	int rc;

	*out = NULL;
	*len = 0;
	if (!req || !req->name || !*req->name)
		return err_set(e, CSI_ERR_LOCAL, "CreateVolume: the volume name is required");
	if (req->required_bytes < 0 || req->limit_bytes < 0)
		return err_set(e, CSI_ERR_LOCAL, "CreateVolume '%s': negative capacity", req->name);
	if (req->source_snapshot_id && req->source_volume_id)
		return err_set(e, CSI_ERR_LOCAL,
			       "CreateVolume '%s': both a snapshot and a volume as content source",
			       req->name);
	if (check_caps(req->caps, req->n_caps, e) ||
	    check_map(&req->parameters, "CreateVolume parameters", e) ||
	    check_map(&req->secrets, "CreateVolume secrets", e) ||
	    check_map(&req->mutable_parameters, "CreateVolume mutable_parameters", e) ||
	    check_topologies(req->requisite, req->n_requisite, "CreateVolume requisite", e) ||
	    check_topologies(req->preferred, req->n_preferred, "CreateVolume preferred", e))
		return err_prefix(e, "CreateVolume '%s'", req->name);

	m.name = str(req->name);
	if (req->required_bytes || req->limit_bytes) {
		Csi__V1__CapacityRange init = CSI__V1__CAPACITY_RANGE__INIT;

		m.capacity_range = arena_calloc(&a, 1, sizeof(*m.capacity_range));
		*m.capacity_range = init;
		m.capacity_range->required_bytes = req->required_bytes;
		m.capacity_range->limit_bytes = req->limit_bytes;
	}
	m.volume_capabilities = enc_caps(&a, req->caps, req->n_caps);
	m.n_volume_capabilities = req->n_caps;
	m.parameters = enc_create_params(&a, &req->parameters, &m.n_parameters);
	m.secrets = enc_create_secrets(&a, &req->secrets, &m.n_secrets);
	m.mutable_parameters = enc_create_mutable(&a, &req->mutable_parameters,
						  &m.n_mutable_parameters);
	if (req->source_snapshot_id || req->source_volume_id) {
		Csi__V1__VolumeContentSource init = CSI__V1__VOLUME_CONTENT_SOURCE__INIT;
		Csi__V1__VolumeContentSource *s = arena_calloc(&a, 1, sizeof(*s));

		*s = init;
		if (req->source_snapshot_id) {
			Csi__V1__VolumeContentSource__SnapshotSource sinit =
				CSI__V1__VOLUME_CONTENT_SOURCE__SNAPSHOT_SOURCE__INIT;

			s->type_case = CSI__V1__VOLUME_CONTENT_SOURCE__TYPE_SNAPSHOT;
			s->snapshot = arena_calloc(&a, 1, sizeof(*s->snapshot));
			*s->snapshot = sinit;
			s->snapshot->snapshot_id = str(req->source_snapshot_id);
		} else {
			Csi__V1__VolumeContentSource__VolumeSource vinit =
				CSI__V1__VOLUME_CONTENT_SOURCE__VOLUME_SOURCE__INIT;

			s->type_case = CSI__V1__VOLUME_CONTENT_SOURCE__TYPE_VOLUME;
			s->volume = arena_calloc(&a, 1, sizeof(*s->volume));
			*s->volume = vinit;
			s->volume->volume_id = str(req->source_volume_id);
		}
		m.volume_content_source = s;
	}
	if (req->n_requisite || req->n_preferred) {
		Csi__V1__TopologyRequirement init = CSI__V1__TOPOLOGY_REQUIREMENT__INIT;
		Csi__V1__TopologyRequirement *t = arena_calloc(&a, 1, sizeof(*t));

		*t = init;
		t->requisite = enc_topologies(&a, req->requisite, req->n_requisite);
		t->n_requisite = req->n_requisite;
		t->preferred = enc_topologies(&a, req->preferred, req->n_preferred);
		t->n_preferred = req->n_preferred;
		m.accessibility_requirements = t;
	}
	rc = pack(&m.base, "CreateVolume", out, len, e);
	arena_release(&a);
	return rc;
}

int csi_codec_encode_delete_volume(const char *volume_id, const struct strmap *secrets,
				   uint8_t **out, size_t *len, struct err *e)
{
	Csi__V1__DeleteVolumeRequest m = CSI__V1__DELETE_VOLUME_REQUEST__INIT;
	struct arena a = { 0 };
	int rc;

	*out = NULL;
	*len = 0;
	if (!volume_id || !*volume_id)
		return err_set(e, CSI_ERR_LOCAL, "DeleteVolume: the volume id is required");
	if (check_map(secrets, "DeleteVolume secrets", e))
		return err_prefix(e, "DeleteVolume '%s'", volume_id);
	m.volume_id = str(volume_id);
	m.secrets = enc_delete_secrets(&a, secrets, &m.n_secrets);
	rc = pack(&m.base, "DeleteVolume", out, len, e);
	arena_release(&a);
	return rc;
}

int csi_codec_encode_get_capacity(const struct csi_get_capacity_req *req,
				  uint8_t **out, size_t *len, struct err *e)
{
	Csi__V1__GetCapacityRequest m = CSI__V1__GET_CAPACITY_REQUEST__INIT;
	struct arena a = { 0 };
	int rc;

	*out = NULL;
	*len = 0;
	if (!req)
		return err_set(e, CSI_ERR_LOCAL, "GetCapacity: no request");
	if (check_caps(req->caps, req->n_caps, e) ||
	    check_map(&req->parameters, "GetCapacity parameters", e) ||
	    check_map(req->accessible_topology, "GetCapacity accessible_topology", e))
		return err_prefix(e, "GetCapacity");
	m.volume_capabilities = enc_caps(&a, req->caps, req->n_caps);
	m.n_volume_capabilities = req->n_caps;
	m.parameters = enc_capacity_params(&a, &req->parameters, &m.n_parameters);
	if (req->accessible_topology)
		m.accessible_topology = enc_topology(&a, req->accessible_topology);
	rc = pack(&m.base, "GetCapacity", out, len, e);
	arena_release(&a);
	return rc;
}

int csi_codec_encode_list_volumes(int32_t max_entries, const char *starting_token,
				  uint8_t **out, size_t *len, struct err *e)
{
	Csi__V1__ListVolumesRequest m = CSI__V1__LIST_VOLUMES_REQUEST__INIT;

	if (max_entries < 0) {
		*out = NULL;
		*len = 0;
		return err_set(e, CSI_ERR_LOCAL, "ListVolumes: negative max_entries %d",
			       (int)max_entries);
	}
	m.max_entries = max_entries;
	m.starting_token = str(starting_token);
	return pack(&m.base, "ListVolumes", out, len, e);
}

int csi_codec_encode_create_snapshot(const struct csi_create_snapshot_req *req,
				     uint8_t **out, size_t *len, struct err *e)
{
	Csi__V1__CreateSnapshotRequest m = CSI__V1__CREATE_SNAPSHOT_REQUEST__INIT;
	struct arena a = { 0 };
	int rc;

	*out = NULL;
	*len = 0;
	if (!req || !req->name || !*req->name)
		return err_set(e, CSI_ERR_LOCAL, "CreateSnapshot: the snapshot name is required");
	if (!req->source_volume_id || !*req->source_volume_id)
		return err_set(e, CSI_ERR_LOCAL, "CreateSnapshot '%s': the source volume id is "
			       "required", req->name);
	if (check_map(&req->secrets, "CreateSnapshot secrets", e) ||
	    check_map(&req->parameters, "CreateSnapshot parameters", e))
		return err_prefix(e, "CreateSnapshot '%s'", req->name);
	m.source_volume_id = str(req->source_volume_id);
	m.name = str(req->name);
	m.secrets = enc_snapshot_secrets(&a, &req->secrets, &m.n_secrets);
	m.parameters = enc_snapshot_params(&a, &req->parameters, &m.n_parameters);
	rc = pack(&m.base, "CreateSnapshot", out, len, e);
	arena_release(&a);
	return rc;
}

int csi_codec_encode_delete_snapshot(const char *snapshot_id, const struct strmap *secrets,
				     uint8_t **out, size_t *len, struct err *e)
{
	Csi__V1__DeleteSnapshotRequest m = CSI__V1__DELETE_SNAPSHOT_REQUEST__INIT;
	struct arena a = { 0 };
	int rc;

	*out = NULL;
	*len = 0;
	if (!snapshot_id || !*snapshot_id)
		return err_set(e, CSI_ERR_LOCAL, "DeleteSnapshot: the snapshot id is required");
	if (check_map(secrets, "DeleteSnapshot secrets", e))
		return err_prefix(e, "DeleteSnapshot '%s'", snapshot_id);
	m.snapshot_id = str(snapshot_id);
	m.secrets = enc_delete_snapshot_secrets(&a, secrets, &m.n_secrets);
	rc = pack(&m.base, "DeleteSnapshot", out, len, e);
	arena_release(&a);
	return rc;
}
