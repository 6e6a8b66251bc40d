// SPDX-License-Identifier: Apache-2.0
/*
 * test_codec.c - the CSI codec without a driver: requests we encode are
 * unpacked with the generated protobuf-c code and checked field by field;
 * replies built with protobuf-c are decoded; garbage never crashes and
 * always gives CSI_ERR_LOCAL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csi/codec.h"
#include "csi/csi.pb-c.h"

/* ---- helpers ---- */

/* Find `key` in an unpacked map of any entry type (all share key/value). */
#define ENTRY_GET(entries, n, k)						\
	({									\
		const char *v_ = NULL;						\
		for (size_t i_ = 0; i_ < (n); i_++)				\
			if (!strcmp((entries)[i_]->key, (k)))			\
				v_ = (entries)[i_]->value;			\
		v_;								\
	})

/* Pack any protobuf-c message into a heap buffer. */
static uint8_t *pack_msg(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *p = malloc(*len ? *len : 1);

	assert_non_null(p);
	assert_int_equal(protobuf_c_message_pack(m, p), *len);
	return p;
}

static struct strmap_entry params_kv[] = { { "type", "fast" }, { "zone-policy", "any" } };
static struct strmap_entry secrets_kv[] = { { "password", "hunter2" } };
static struct strmap_entry mutable_kv[] = { { "iops", "3000" } };
static struct strmap_entry zone_a[] = { { "topology.kubernetes.io/zone", "a" },
				  { "topology.kubernetes.io/region", "r1" } };
static struct strmap_entry zone_b[] = { { "topology.kubernetes.io/zone", "b" } };

/* ---- CreateVolume encoding ---- */

static Csi__V1__CreateVolumeRequest *encode_create(const struct csi_create_volume_req *req)
{
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;
	Csi__V1__CreateVolumeRequest *m;

	if (csi_codec_encode_create_volume(req, &buf, &len, &e))
		fail_msg("encode failed: %s", err_msg(&e));
	m = csi__v1__create_volume_request__unpack(NULL, len, buf);
	assert_non_null(m);
	free(buf);
	return m;
}

static void create_request_full_round_trip(void **state)
{
	static const char *const flags[] = { "noatime", "discard" };
	const struct csi_volume_capability caps[] = {
		{ .fs_type = "ext4", .mount_flags = flags, .n_mount_flags = 2,
		  .mount_group = "1000", .access_mode = CSI_ACCESS_SINGLE_NODE_WRITER },
		{ .block = true, .access_mode = CSI_ACCESS_MULTI_NODE_MULTI_WRITER },
	};
	const struct strmap requisite[] = { { zone_a, 2, 0 }, { zone_b, 1, 0 } };
	const struct strmap preferred[] = { { zone_b, 1, 0 } };
	const struct csi_create_volume_req req = {
		.name = "pvc-0a1b",
		.required_bytes = 1073741824,
		.limit_bytes = 2147483648,
		.caps = caps, .n_caps = 2,
		.parameters = { params_kv, 2, 0 },
		.secrets = { secrets_kv, 1, 0 },
		.mutable_parameters = { mutable_kv, 1, 0 },
		.source_snapshot_id = "snap-1",
		.requisite = requisite, .n_requisite = 2,
		.preferred = preferred, .n_preferred = 1,
	};
	Csi__V1__CreateVolumeRequest *m = encode_create(&req);

	assert_string_equal(m->name, "pvc-0a1b");
	assert_non_null(m->capacity_range);
	assert_int_equal(m->capacity_range->required_bytes, 1073741824);
	assert_int_equal(m->capacity_range->limit_bytes, 2147483648LL);

	assert_int_equal(m->n_volume_capabilities, 2);
	assert_int_equal(m->volume_capabilities[0]->access_type_case,
			 CSI__V1__VOLUME_CAPABILITY__ACCESS_TYPE_MOUNT);
	assert_string_equal(m->volume_capabilities[0]->mount->fs_type, "ext4");
	assert_int_equal(m->volume_capabilities[0]->mount->n_mount_flags, 2);
	assert_string_equal(m->volume_capabilities[0]->mount->mount_flags[0], "noatime");
	assert_string_equal(m->volume_capabilities[0]->mount->mount_flags[1], "discard");
	assert_string_equal(m->volume_capabilities[0]->mount->volume_mount_group, "1000");
	assert_int_equal(m->volume_capabilities[0]->access_mode->mode,
			 CSI__V1__VOLUME_CAPABILITY__ACCESS_MODE__MODE__SINGLE_NODE_WRITER);
	assert_int_equal(m->volume_capabilities[1]->access_type_case,
			 CSI__V1__VOLUME_CAPABILITY__ACCESS_TYPE_BLOCK);
	assert_int_equal(m->volume_capabilities[1]->access_mode->mode,
			 CSI__V1__VOLUME_CAPABILITY__ACCESS_MODE__MODE__MULTI_NODE_MULTI_WRITER);

	assert_int_equal(m->n_parameters, 2);
	assert_string_equal(ENTRY_GET(m->parameters, m->n_parameters, "type"), "fast");
	assert_string_equal(ENTRY_GET(m->parameters, m->n_parameters, "zone-policy"), "any");
	assert_int_equal(m->n_secrets, 1);
	assert_string_equal(ENTRY_GET(m->secrets, m->n_secrets, "password"), "hunter2");
	assert_int_equal(m->n_mutable_parameters, 1);
	assert_string_equal(ENTRY_GET(m->mutable_parameters, m->n_mutable_parameters, "iops"),
			    "3000");

	assert_non_null(m->volume_content_source);
	assert_int_equal(m->volume_content_source->type_case,
			 CSI__V1__VOLUME_CONTENT_SOURCE__TYPE_SNAPSHOT);
	assert_string_equal(m->volume_content_source->snapshot->snapshot_id, "snap-1");

	assert_non_null(m->accessibility_requirements);
	assert_int_equal(m->accessibility_requirements->n_requisite, 2);
	assert_int_equal(m->accessibility_requirements->n_preferred, 1);
	{
		Csi__V1__Topology *t0 = m->accessibility_requirements->requisite[0];
		Csi__V1__Topology *t1 = m->accessibility_requirements->requisite[1];
		Csi__V1__Topology *p0 = m->accessibility_requirements->preferred[0];

		assert_string_equal(ENTRY_GET(t0->segments, t0->n_segments,
					      "topology.kubernetes.io/zone"), "a");
		assert_string_equal(ENTRY_GET(t0->segments, t0->n_segments,
					      "topology.kubernetes.io/region"), "r1");
		assert_string_equal(ENTRY_GET(t1->segments, t1->n_segments,
					      "topology.kubernetes.io/zone"), "b");
		assert_string_equal(ENTRY_GET(p0->segments, p0->n_segments,
					      "topology.kubernetes.io/zone"), "b");
	}
	csi__v1__create_volume_request__free_unpacked(m, NULL);
}

static void create_request_minimal_leaves_optional_fields_unset(void **state)
{
	const struct csi_volume_capability cap = { .access_mode = CSI_ACCESS_SINGLE_NODE_WRITER };
	const struct csi_create_volume_req req = { .name = "v", .caps = &cap, .n_caps = 1 };
	Csi__V1__CreateVolumeRequest *m = encode_create(&req);

	assert_null(m->capacity_range);
	assert_null(m->volume_content_source);
	assert_null(m->accessibility_requirements);
	assert_int_equal(m->n_parameters + m->n_secrets + m->n_mutable_parameters, 0);
	/* Mount with no fs_type: the mount oneof is still chosen, fs_type empty. */
	assert_int_equal(m->volume_capabilities[0]->access_type_case,
			 CSI__V1__VOLUME_CAPABILITY__ACCESS_TYPE_MOUNT);
	assert_string_equal(m->volume_capabilities[0]->mount->fs_type, "");
	assert_int_equal(m->volume_capabilities[0]->mount->n_mount_flags, 0);
	csi__v1__create_volume_request__free_unpacked(m, NULL);
}

static void create_request_every_access_mode(void **state)
{
	for (int mode = CSI_ACCESS_UNKNOWN; mode <= CSI_ACCESS_SINGLE_NODE_MULTI_WRITER; mode++) {
		const struct csi_volume_capability cap = { .block = mode % 2, .access_mode = mode };
		const struct csi_create_volume_req req = { .name = "v", .caps = &cap, .n_caps = 1 };
		Csi__V1__CreateVolumeRequest *m = encode_create(&req);

		assert_int_equal((int)m->volume_capabilities[0]->access_mode->mode, mode);
		assert_int_equal(m->volume_capabilities[0]->access_type_case,
				 mode % 2 ? CSI__V1__VOLUME_CAPABILITY__ACCESS_TYPE_BLOCK
					  : CSI__V1__VOLUME_CAPABILITY__ACCESS_TYPE_MOUNT);
		csi__v1__create_volume_request__free_unpacked(m, NULL);
	}
	/* The enum values are the wire values of the specification. */
	assert_int_equal(CSI_ACCESS_SINGLE_NODE_SINGLE_WRITER,
			 CSI__V1__VOLUME_CAPABILITY__ACCESS_MODE__MODE__SINGLE_NODE_SINGLE_WRITER);
	assert_int_equal(CSI_ACCESS_SINGLE_NODE_MULTI_WRITER,
			 CSI__V1__VOLUME_CAPABILITY__ACCESS_MODE__MODE__SINGLE_NODE_MULTI_WRITER);
	assert_int_equal(CSI_ACCESS_SINGLE_NODE_SINGLE_WRITER, 6);
	assert_int_equal(CSI_ACCESS_SINGLE_NODE_MULTI_WRITER, 7);
}

static void create_request_clone_source(void **state)
{
	const struct csi_create_volume_req req = { .name = "v", .source_volume_id = "vol-9" };
	Csi__V1__CreateVolumeRequest *m = encode_create(&req);

	assert_int_equal(m->volume_content_source->type_case,
			 CSI__V1__VOLUME_CONTENT_SOURCE__TYPE_VOLUME);
	assert_string_equal(m->volume_content_source->volume->volume_id, "vol-9");
	csi__v1__create_volume_request__free_unpacked(m, NULL);
}

struct bad_create {
	const char *what;
	struct csi_create_volume_req req;
};

static void create_request_rejects_bad_arguments(void **state)
{
	static const struct csi_volume_capability bad_mode = { .access_mode = 8 };
	static const struct csi_volume_capability neg_mode = { .access_mode = -1 };
	static const struct csi_volume_capability block_fs = { .block = true, .fs_type = "xfs" };
	static const struct csi_volume_capability null_flags = { .n_mount_flags = 1 };
	static struct strmap_entry null_value[] = { { "k", NULL } };
	static struct strmap_entry null_key[] = { { NULL, "v" } };
	static const struct strmap null_segment[] = { { null_key, 1, 0 } };
	const struct bad_create cases[] = {
		{ "no name", { .name = NULL } },
		{ "empty name", { .name = "" } },
		{ "negative bytes", { .name = "v", .required_bytes = -1 } },
		{ "two sources", { .name = "v", .source_snapshot_id = "s", .source_volume_id = "v" } },
		{ "mode 8", { .name = "v", .caps = &bad_mode, .n_caps = 1 } },
		{ "mode -1", { .name = "v", .caps = &neg_mode, .n_caps = 1 } },
		{ "block with fs", { .name = "v", .caps = &block_fs, .n_caps = 1 } },
		{ "flags NULL", { .name = "v", .caps = &null_flags, .n_caps = 1 } },
		{ "caps NULL", { .name = "v", .caps = NULL, .n_caps = 2 } },
		{ "NULL param value", { .name = "v", .parameters = { null_value, 1, 0 } } },
		{ "NULL secret key", { .name = "v", .secrets = { null_key, 1, 0 } } },
		{ "items NULL", { .name = "v", .mutable_parameters = { NULL, 3, 0 } } },
		{ "NULL segment key", { .name = "v", .requisite = null_segment, .n_requisite = 1 } },
		{ "preferred NULL", { .name = "v", .preferred = NULL, .n_preferred = 1 } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err e = ERR_INIT;
		uint8_t *buf = (uint8_t *)"x";
		size_t len = 99;
		int rc = csi_codec_encode_create_volume(&cases[i].req, &buf, &len, &e);

		if (rc != CSI_ERR_LOCAL || err_code(&e) != CSI_ERR_LOCAL || buf || len)
			fail_msg("%s: rc %d, want CSI_ERR_LOCAL and no output", cases[i].what, rc);
		assert_non_null(strstr(err_msg(&e), "CreateVolume"));
		err_release(&e);
	}
}

static void create_request_error_never_shows_secret_values(void **state)
{
	static struct strmap_entry secrets[] = { { "password", "hunter2" }, { "token", NULL } };
	const struct csi_create_volume_req req = { .name = "v", .secrets = { secrets, 2, 0 } };
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;

	assert_int_equal(csi_codec_encode_create_volume(&req, &buf, &len, &e), CSI_ERR_LOCAL);
	assert_null(strstr(err_msg(&e), "hunter2"));
	assert_non_null(strstr(err_msg(&e), "token"));
	err_release(&e);
}

static void create_request_above_cap_is_local(void **state)
{
	size_t big = CSI_MAX_REQUEST_BYTES + 1;
	char *value = malloc(big + 1);
	struct strmap_entry kv = { "blob", value };
	const struct csi_create_volume_req req = { .name = "v", .parameters = { &kv, 1, 0 } };
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;

	assert_non_null(value);
	memset(value, 'x', big);
	value[big] = '\0';
	assert_int_equal(csi_codec_encode_create_volume(&req, &buf, &len, &e), CSI_ERR_LOCAL);
	assert_null(buf);
	assert_non_null(strstr(err_msg(&e), "cap"));
	err_release(&e);
	free(value);
}

/* ---- other requests ---- */

static void delete_request_round_trip(void **state)
{
	const struct strmap secrets = { secrets_kv, 1, 0 };
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;
	Csi__V1__DeleteVolumeRequest *m;

	assert_int_equal(csi_codec_encode_delete_volume("vol-1", &secrets, &buf, &len, &e), 0);
	m = csi__v1__delete_volume_request__unpack(NULL, len, buf);
	assert_non_null(m);
	assert_string_equal(m->volume_id, "vol-1");
	assert_int_equal(m->n_secrets, 1);
	assert_string_equal(ENTRY_GET(m->secrets, m->n_secrets, "password"), "hunter2");
	csi__v1__delete_volume_request__free_unpacked(m, NULL);
	free(buf);

	/* No secrets at all. */
	assert_int_equal(csi_codec_encode_delete_volume("vol-2", NULL, &buf, &len, &e), 0);
	m = csi__v1__delete_volume_request__unpack(NULL, len, buf);
	assert_non_null(m);
	assert_string_equal(m->volume_id, "vol-2");
	assert_int_equal(m->n_secrets, 0);
	csi__v1__delete_volume_request__free_unpacked(m, NULL);
	free(buf);

	assert_int_equal(csi_codec_encode_delete_volume("", NULL, &buf, &len, &e), CSI_ERR_LOCAL);
	assert_int_equal(csi_codec_encode_delete_volume(NULL, NULL, &buf, &len, &e), CSI_ERR_LOCAL);
	err_release(&e);
}

static void get_capacity_request_round_trip(void **state)
{
	const struct csi_volume_capability cap = { .block = true,
						   .access_mode = CSI_ACCESS_SINGLE_NODE_WRITER };
	const struct strmap topo = { zone_a, 2, 0 };
	const struct csi_get_capacity_req req = {
		.caps = &cap, .n_caps = 1, .parameters = { params_kv, 2, 0 },
		.accessible_topology = &topo,
	};
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;
	Csi__V1__GetCapacityRequest *m;

	assert_int_equal(csi_codec_encode_get_capacity(&req, &buf, &len, &e), 0);
	m = csi__v1__get_capacity_request__unpack(NULL, len, buf);
	assert_non_null(m);
	assert_int_equal(m->n_volume_capabilities, 1);
	assert_int_equal(m->volume_capabilities[0]->access_type_case,
			 CSI__V1__VOLUME_CAPABILITY__ACCESS_TYPE_BLOCK);
	assert_string_equal(ENTRY_GET(m->parameters, m->n_parameters, "type"), "fast");
	assert_non_null(m->accessible_topology);
	assert_string_equal(ENTRY_GET(m->accessible_topology->segments,
				      m->accessible_topology->n_segments,
				      "topology.kubernetes.io/region"), "r1");
	csi__v1__get_capacity_request__free_unpacked(m, NULL);
	free(buf);
}

static void list_volumes_request_round_trip(void **state)
{
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;
	Csi__V1__ListVolumesRequest *m;

	assert_int_equal(csi_codec_encode_list_volumes(50, "page-2", &buf, &len, &e), 0);
	m = csi__v1__list_volumes_request__unpack(NULL, len, buf);
	assert_non_null(m);
	assert_int_equal(m->max_entries, 50);
	assert_string_equal(m->starting_token, "page-2");
	csi__v1__list_volumes_request__free_unpacked(m, NULL);
	free(buf);
	assert_int_equal(csi_codec_encode_list_volumes(-1, NULL, &buf, &len, &e), CSI_ERR_LOCAL);
	err_release(&e);
}

/* ---- reply decoding ---- */

static void create_reply_full_decode(void **state)
{
	Csi__V1__Volume__VolumeContextEntry ctx1 = CSI__V1__VOLUME__VOLUME_CONTEXT_ENTRY__INIT;
	Csi__V1__Volume__VolumeContextEntry ctx2 = CSI__V1__VOLUME__VOLUME_CONTEXT_ENTRY__INIT;
	Csi__V1__Volume__VolumeContextEntry ctx3 = CSI__V1__VOLUME__VOLUME_CONTEXT_ENTRY__INIT;
	Csi__V1__Volume__VolumeContextEntry *ctx[] = { &ctx1, &ctx2, &ctx3 };
	Csi__V1__Topology__SegmentsEntry seg = CSI__V1__TOPOLOGY__SEGMENTS_ENTRY__INIT;
	Csi__V1__Topology__SegmentsEntry *segs[] = { &seg };
	Csi__V1__Topology topo = CSI__V1__TOPOLOGY__INIT;
	Csi__V1__Topology *topos[] = { &topo };
	Csi__V1__VolumeContentSource__VolumeSource vs =
		CSI__V1__VOLUME_CONTENT_SOURCE__VOLUME_SOURCE__INIT;
	Csi__V1__VolumeContentSource src = CSI__V1__VOLUME_CONTENT_SOURCE__INIT;
	Csi__V1__Volume vol = CSI__V1__VOLUME__INIT;
	Csi__V1__CreateVolumeResponse r = CSI__V1__CREATE_VOLUME_RESPONSE__INIT;
	struct csi_volume out;
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;

	ctx1.key = "a", ctx1.value = "1";
	ctx2.key = "b", ctx2.value = "2";
	ctx3.key = "a", ctx3.value = "3";	/* repeated key: last wins */
	seg.key = "zone", seg.value = "z1";
	topo.segments = segs, topo.n_segments = 1;
	vs.volume_id = "parent";
	src.type_case = CSI__V1__VOLUME_CONTENT_SOURCE__TYPE_VOLUME, src.volume = &vs;
	vol.capacity_bytes = 5368709120LL;
	vol.volume_id = "vol-42";
	vol.volume_context = ctx, vol.n_volume_context = 3;
	vol.content_source = &src;
	vol.accessible_topology = topos, vol.n_accessible_topology = 1;
	r.volume = &vol;

	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_create_volume(buf, len, &out, &e), 0);
	assert_string_equal(out.volume_id, "vol-42");
	assert_int_equal(out.capacity_bytes, 5368709120LL);
	assert_int_equal(out.context.n, 2);
	assert_string_equal(strmap_get(&out.context, "a"), "3");
	assert_string_equal(strmap_get(&out.context, "b"), "2");
	assert_null(strmap_get(&out.context, "c"));
	assert_true(out.has_content_source);
	assert_string_equal(out.source_volume_id, "parent");
	assert_null(out.source_snapshot_id);
	assert_int_equal(out.n_accessible_topology, 1);
	assert_string_equal(strmap_get(&out.accessible_topology[0], "zone"), "z1");
	csi_volume_release(&out);
	assert_null(out.volume_id);
	csi_volume_release(&out);	/* twice is harmless */
	csi_volume_release(NULL);
	free(buf);
}

static void create_reply_without_volume_id_is_local(void **state)
{
	Csi__V1__Volume vol = CSI__V1__VOLUME__INIT;
	Csi__V1__CreateVolumeResponse r = CSI__V1__CREATE_VOLUME_RESPONSE__INIT;
	struct csi_volume out;
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;

	/* No volume at all: an empty message. */
	assert_int_equal(csi_codec_decode_create_volume((const uint8_t *)"", 0, &out, &e),
			 CSI_ERR_LOCAL);
	assert_null(out.volume_id);

	vol.capacity_bytes = 1;
	r.volume = &vol;
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_create_volume(buf, len, &out, &e), CSI_ERR_LOCAL);
	assert_int_equal(err_code(&e), CSI_ERR_LOCAL);
	assert_non_null(strstr(err_msg(&e), "volume_id"));
	assert_null(out.volume_id);
	free(buf);
	err_release(&e);
}

static void probe_reply_ready_unset_means_ready(void **state)
{
	Csi__V1__BoolValue no = CSI__V1__BOOL_VALUE__INIT;
	Csi__V1__ProbeResponse r = CSI__V1__PROBE_RESPONSE__INIT;
	struct err e = ERR_INIT;
	bool ready = false;
	uint8_t *buf;
	size_t len;

	assert_int_equal(csi_codec_decode_probe((const uint8_t *)"", 0, &ready, &e), 0);
	assert_true(ready);

	r.ready = &no;	/* present and false */
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_probe(buf, len, &ready, &e), 0);
	assert_false(ready);
	free(buf);

	no.value = true;
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_probe(buf, len, &ready, &e), 0);
	assert_true(ready);
	free(buf);
}

static void plugin_info_reply(void **state)
{
	Csi__V1__GetPluginInfoResponse r = CSI__V1__GET_PLUGIN_INFO_RESPONSE__INIT;
	struct err e = ERR_INIT;
	char *name, *version;
	uint8_t *buf;
	size_t len;

	r.name = "hostpath.csi.k8s.io";
	r.vendor_version = "v1.17.1";
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_plugin_info(buf, len, &name, &version, &e), 0);
	assert_string_equal(name, "hostpath.csi.k8s.io");
	assert_string_equal(version, "v1.17.1");
	free(name);
	free(version);
	free(buf);

	/* A driver without a name cannot be told apart from others. */
	assert_int_equal(csi_codec_decode_plugin_info((const uint8_t *)"", 0, &name, &version,
						      &e), CSI_ERR_LOCAL);
	assert_null(name);
	assert_null(version);
	err_release(&e);
}

static void plugin_caps_reply(void **state)
{
	Csi__V1__PluginCapability__Service s1 = CSI__V1__PLUGIN_CAPABILITY__SERVICE__INIT;
	Csi__V1__PluginCapability__Service s2 = CSI__V1__PLUGIN_CAPABILITY__SERVICE__INIT;
	Csi__V1__PluginCapability__VolumeExpansion x = CSI__V1__PLUGIN_CAPABILITY__VOLUME_EXPANSION__INIT;
	Csi__V1__PluginCapability c1 = CSI__V1__PLUGIN_CAPABILITY__INIT;
	Csi__V1__PluginCapability c2 = CSI__V1__PLUGIN_CAPABILITY__INIT;
	Csi__V1__PluginCapability c3 = CSI__V1__PLUGIN_CAPABILITY__INIT;
	Csi__V1__PluginCapability *cs[] = { &c1, &c2, &c3 };
	Csi__V1__GetPluginCapabilitiesResponse r = CSI__V1__GET_PLUGIN_CAPABILITIES_RESPONSE__INIT;
	struct csi_plugin_caps out;
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;

	s1.type = CSI__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__CONTROLLER_SERVICE;
	s2.type = CSI__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__VOLUME_ACCESSIBILITY_CONSTRAINTS;
	x.type = CSI__V1__PLUGIN_CAPABILITY__VOLUME_EXPANSION__TYPE__OFFLINE;
	c1.type_case = CSI__V1__PLUGIN_CAPABILITY__TYPE_SERVICE, c1.service = &s1;
	c2.type_case = CSI__V1__PLUGIN_CAPABILITY__TYPE_SERVICE, c2.service = &s2;
	c3.type_case = CSI__V1__PLUGIN_CAPABILITY__TYPE_VOLUME_EXPANSION, c3.volume_expansion = &x;
	r.capabilities = cs, r.n_capabilities = 3;
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_plugin_caps(buf, len, &out, &e), 0);
	assert_true(out.controller_service);
	assert_true(out.accessibility_constraints);
	assert_false(out.group_controller);
	assert_false(out.online_expansion);
	assert_true(out.offline_expansion);
	free(buf);
}

static void controller_caps_reply_every_type(void **state)
{
	enum { N = 15 };
	Csi__V1__ControllerServiceCapability__RPC rpcs[N];
	Csi__V1__ControllerServiceCapability caps[N], *ptrs[N];
	Csi__V1__ControllerGetCapabilitiesResponse r =
		CSI__V1__CONTROLLER_GET_CAPABILITIES_RESPONSE__INIT;
	struct csi_controller_caps out;
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;

	for (int i = 0; i < N; i++) {
		Csi__V1__ControllerServiceCapability__RPC ri =
			CSI__V1__CONTROLLER_SERVICE_CAPABILITY__RPC__INIT;
		Csi__V1__ControllerServiceCapability ci =
			CSI__V1__CONTROLLER_SERVICE_CAPABILITY__INIT;

		rpcs[i] = ri;
		rpcs[i].type = (Csi__V1__ControllerServiceCapability__RPC__Type)(i + 1);
		caps[i] = ci;
		caps[i].type_case = CSI__V1__CONTROLLER_SERVICE_CAPABILITY__TYPE_RPC;
		caps[i].rpc = &rpcs[i];
		ptrs[i] = &caps[i];
	}
	r.capabilities = ptrs, r.n_capabilities = N;
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_controller_caps(buf, len, &out, &e), 0);
	assert_true(out.create_delete && out.publish_unpublish && out.list_volumes &&
		    out.get_capacity && out.create_delete_snapshot && out.list_snapshots &&
		    out.clone_volume && out.publish_readonly && out.expand_volume &&
		    out.list_volumes_published_nodes && out.volume_condition &&
		    out.get_volume && out.single_node_multi_writer && out.modify_volume &&
		    out.get_snapshot);
	free(buf);

	/* Only the first: everything else stays false. */
	r.n_capabilities = 1;
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_controller_caps(buf, len, &out, &e), 0);
	assert_true(out.create_delete);
	assert_false(out.get_capacity);
	assert_false(out.modify_volume);
	free(buf);
}

static void get_capacity_reply_wrappers(void **state)
{
	Csi__V1__Int64Value max = CSI__V1__INT64_VALUE__INIT;
	Csi__V1__GetCapacityResponse r = CSI__V1__GET_CAPACITY_RESPONSE__INIT;
	struct csi_capacity out;
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;

	r.available_capacity = 1000;
	max.value = 0;	/* present with value 0 is not the same as absent */
	r.maximum_volume_size = &max;
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_get_capacity(buf, len, &out, &e), 0);
	assert_int_equal(out.available_capacity, 1000);
	assert_true(out.has_maximum_volume_size);
	assert_int_equal(out.maximum_volume_size, 0);
	assert_false(out.has_minimum_volume_size);
	free(buf);
}

static void list_volumes_reply(void **state)
{
	Csi__V1__Volume v1 = CSI__V1__VOLUME__INIT, v2 = CSI__V1__VOLUME__INIT;
	Csi__V1__ListVolumesResponse__Entry e1 = CSI__V1__LIST_VOLUMES_RESPONSE__ENTRY__INIT;
	Csi__V1__ListVolumesResponse__Entry e2 = CSI__V1__LIST_VOLUMES_RESPONSE__ENTRY__INIT;
	Csi__V1__ListVolumesResponse__Entry *es[] = { &e1, &e2 };
	Csi__V1__ListVolumesResponse r = CSI__V1__LIST_VOLUMES_RESPONSE__INIT;
	struct csi_volume_list out;
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;

	v1.volume_id = "a", v1.capacity_bytes = 1;
	v2.volume_id = "b", v2.capacity_bytes = 2;
	e1.volume = &v1, e2.volume = &v2;
	r.entries = es, r.n_entries = 2;
	r.next_token = "t2";
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_list_volumes(buf, len, &out, &e), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.volumes[0].volume_id, "a");
	assert_string_equal(out.volumes[1].volume_id, "b");
	assert_int_equal(out.volumes[1].capacity_bytes, 2);
	assert_string_equal(out.next_token, "t2");
	csi_volume_list_release(&out);
	free(buf);

	/* An entry without a volume id spoils the page. */
	v2.volume_id = "";
	r.next_token = "";
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_list_volumes(buf, len, &out, &e), CSI_ERR_LOCAL);
	assert_int_equal(out.n, 0);
	assert_null(out.volumes);
	free(buf);
	err_release(&e);
	csi_volume_list_release(NULL);
}

static void map_entry_cap_is_local(void **state)
{
	size_t n = CSI_MAX_MAP_ENTRIES + 1;
	Csi__V1__Volume__VolumeContextEntry *entries = calloc(n, sizeof(*entries));
	Csi__V1__Volume__VolumeContextEntry **ptrs = calloc(n, sizeof(*ptrs));
	char (*keys)[16] = calloc(n, sizeof(*keys));
	Csi__V1__Volume vol = CSI__V1__VOLUME__INIT;
	Csi__V1__CreateVolumeResponse r = CSI__V1__CREATE_VOLUME_RESPONSE__INIT;
	struct csi_volume out;
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;

	assert_true(entries && ptrs && keys);
	for (size_t i = 0; i < n; i++) {
		Csi__V1__Volume__VolumeContextEntry init =
			CSI__V1__VOLUME__VOLUME_CONTEXT_ENTRY__INIT;

		entries[i] = init;
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		entries[i].key = keys[i];
		entries[i].value = "v";
		ptrs[i] = &entries[i];
	}
	vol.volume_id = "v";
	vol.volume_context = ptrs, vol.n_volume_context = n;
	r.volume = &vol;
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_create_volume(buf, len, &out, &e), CSI_ERR_LOCAL);
	assert_null(out.volume_id);
	assert_int_equal(out.context.n, 0);
	err_release(&e);
	free(buf);
	free(keys);
	free(ptrs);
	free(entries);
}

/* ---- snapshots (CreateSnapshot / DeleteSnapshot) ---- */

static void create_snapshot_request_round_trip(void **state)
{
	const struct csi_create_snapshot_req req = {
		.source_volume_id = "vol-src", .name = "snap-1",
		.secrets = { secrets_kv, 1, 0 }, .parameters = { params_kv, 2, 0 },
	};
	struct csi_create_snapshot_req bad = { .source_volume_id = "vol-src" };
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;
	Csi__V1__CreateSnapshotRequest *m;

	assert_int_equal(csi_codec_encode_create_snapshot(&req, &buf, &len, &e), 0);
	m = csi__v1__create_snapshot_request__unpack(NULL, len, buf);
	assert_non_null(m);
	assert_string_equal(m->source_volume_id, "vol-src");
	assert_string_equal(m->name, "snap-1");
	assert_int_equal(m->n_secrets, 1);
	assert_string_equal(ENTRY_GET(m->secrets, m->n_secrets, "password"), "hunter2");
	assert_int_equal(m->n_parameters, 2);
	assert_string_equal(ENTRY_GET(m->parameters, m->n_parameters, "type"), "fast");
	assert_string_equal(ENTRY_GET(m->parameters, m->n_parameters, "zone-policy"), "any");
	csi__v1__create_snapshot_request__free_unpacked(m, NULL);
	free(buf);

	/* name and source volume are both required */
	assert_int_equal(csi_codec_encode_create_snapshot(&bad, &buf, &len, &e), CSI_ERR_LOCAL);
	assert_non_null(strstr(err_msg(&e), "name"));
	bad = (struct csi_create_snapshot_req){ .name = "snap-1" };
	assert_int_equal(csi_codec_encode_create_snapshot(&bad, &buf, &len, &e), CSI_ERR_LOCAL);
	assert_non_null(strstr(err_msg(&e), "source volume"));
	assert_null(buf);
	err_release(&e);
}

static void delete_snapshot_request_round_trip(void **state)
{
	const struct strmap secrets = { secrets_kv, 1, 0 };
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;
	Csi__V1__DeleteSnapshotRequest *m;

	assert_int_equal(csi_codec_encode_delete_snapshot("snap-9", &secrets, &buf, &len, &e), 0);
	m = csi__v1__delete_snapshot_request__unpack(NULL, len, buf);
	assert_non_null(m);
	assert_string_equal(m->snapshot_id, "snap-9");
	assert_int_equal(m->n_secrets, 1);
	assert_string_equal(ENTRY_GET(m->secrets, m->n_secrets, "password"), "hunter2");
	csi__v1__delete_snapshot_request__free_unpacked(m, NULL);
	free(buf);
	assert_int_equal(csi_codec_encode_delete_snapshot("", NULL, &buf, &len, &e), CSI_ERR_LOCAL);
	err_release(&e);
}

static void create_snapshot_reply_decode(void **state)
{
	Csi__V1__Timestamp ts = CSI__V1__TIMESTAMP__INIT;
	Csi__V1__Snapshot snap = CSI__V1__SNAPSHOT__INIT;
	Csi__V1__CreateSnapshotResponse r = CSI__V1__CREATE_SNAPSHOT_RESPONSE__INIT;
	struct csi_snapshot out;
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;

	ts.seconds = 1700000000;
	ts.nanos = 42;
	snap.size_bytes = 2097152;
	snap.snapshot_id = "snap-7";
	snap.source_volume_id = "vol-src";
	snap.creation_time = &ts;
	snap.ready_to_use = true;
	r.snapshot = &snap;
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_create_snapshot(buf, len, &out, &e), 0);
	free(buf);
	assert_string_equal(out.snapshot_id, "snap-7");
	assert_string_equal(out.source_volume_id, "vol-src");
	assert_int_equal(out.size_bytes, 2097152);
	assert_true(out.has_creation_time);
	assert_int_equal(out.creation_seconds, 1700000000);
	assert_int_equal(out.creation_nanos, 42);
	assert_true(out.ready_to_use);
	assert_null(out.group_snapshot_id);
	csi_snapshot_release(&out);
	csi_snapshot_release(NULL);

	/* not ready yet, no time: still a snapshot */
	snap.ready_to_use = false;
	snap.creation_time = NULL;
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_create_snapshot(buf, len, &out, &e), 0);
	free(buf);
	assert_false(out.ready_to_use);
	assert_false(out.has_creation_time);
	csi_snapshot_release(&out);

	/* no snapshot_id: ours to report, nothing to use */
	snap.snapshot_id = "";
	buf = pack_msg(&r.base, &len);
	assert_int_equal(csi_codec_decode_create_snapshot(buf, len, &out, &e), CSI_ERR_LOCAL);
	free(buf);
	assert_non_null(strstr(err_msg(&e), "snapshot_id"));
	assert_null(out.snapshot_id);
	assert_int_equal(csi_codec_decode_create_snapshot((const uint8_t *)"", 0, &out, &e),
			 CSI_ERR_LOCAL);
	err_release(&e);
}

/* ---- garbage ---- */

typedef int (*decode_any)(const uint8_t *p, size_t n, struct err *e);

static int any_probe(const uint8_t *p, size_t n, struct err *e)
{
	bool r;
	return csi_codec_decode_probe(p, n, &r, e);
}

static int any_info(const uint8_t *p, size_t n, struct err *e)
{
	char *a, *b;
	int rc = csi_codec_decode_plugin_info(p, n, &a, &b, e);

	free(a);
	free(b);
	return rc;
}

static int any_plugin_caps(const uint8_t *p, size_t n, struct err *e)
{
	struct csi_plugin_caps c;
	return csi_codec_decode_plugin_caps(p, n, &c, e);
}

static int any_ctrl_caps(const uint8_t *p, size_t n, struct err *e)
{
	struct csi_controller_caps c;
	return csi_codec_decode_controller_caps(p, n, &c, e);
}

static int any_create(const uint8_t *p, size_t n, struct err *e)
{
	struct csi_volume v;
	int rc = csi_codec_decode_create_volume(p, n, &v, e);

	csi_volume_release(&v);
	return rc;
}

static int any_capacity(const uint8_t *p, size_t n, struct err *e)
{
	struct csi_capacity c;
	return csi_codec_decode_get_capacity(p, n, &c, e);
}

static int any_list(const uint8_t *p, size_t n, struct err *e)
{
	struct csi_volume_list l;
	int rc = csi_codec_decode_list_volumes(p, n, &l, e);

	csi_volume_list_release(&l);
	return rc;
}

static int any_create_snapshot(const uint8_t *p, size_t n, struct err *e)
{
	struct csi_snapshot s;
	int rc = csi_codec_decode_create_snapshot(p, n, &s, e);

	csi_snapshot_release(&s);
	return rc;
}

static const decode_any decoders[] = {
	any_probe, any_info, any_plugin_caps, any_ctrl_caps, any_create,
	csi_codec_decode_delete_volume, any_capacity, any_list, any_create_snapshot,
	csi_codec_decode_delete_snapshot,
};

/* Byte strings that are not valid protobuf for any of our messages. */
static const struct {
	const char *bytes;
	size_t len;
} garbage[] = {
	{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11 },	/* overlong varint key */
	{ "\x0a\x10\x01", 3 },					/* length past the end */
	{ "\x0a", 1 },						/* key without value */
	{ "\x0f\x00", 2 },					/* wire type 7 */
	{ "\x0a\xff\xff\xff\xff\x0f", 6 },			/* 4 GiB length */
	{ "HTTP/1.1 200 OK\r\n", 17 },
};

static void garbage_replies_are_local_errors(void **state)
{
	for (size_t d = 0; d < sizeof(decoders) / sizeof(decoders[0]); d++) {
		for (size_t g = 0; g < sizeof(garbage) / sizeof(garbage[0]); g++) {
			struct err e = ERR_INIT;
			int rc = decoders[d]((const uint8_t *)garbage[g].bytes, garbage[g].len, &e);

			if (rc != CSI_ERR_LOCAL || err_code(&e) != CSI_ERR_LOCAL)
				fail_msg("decoder %zu, garbage %zu: rc %d", d, g, rc);
			err_release(&e);
		}
	}
}

/* Deterministic pseudo-random bytes: no decoder may crash or leak. */
static void random_replies_never_crash(void **state)
{
	uint32_t x = 2463534242u;
	uint8_t buf[256];

	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(round % (int)sizeof(buf));

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (uint8_t)x;
		}
		for (size_t d = 0; d < sizeof(decoders) / sizeof(decoders[0]); d++) {
			struct err e = ERR_INIT;
			int rc = decoders[d](buf, n, &e);

			assert_true(rc == 0 || rc == CSI_ERR_LOCAL);
			err_release(&e);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_request_full_round_trip),
		cmocka_unit_test(create_request_minimal_leaves_optional_fields_unset),
		cmocka_unit_test(create_request_every_access_mode),
		cmocka_unit_test(create_request_clone_source),
		cmocka_unit_test(create_request_rejects_bad_arguments),
		cmocka_unit_test(create_request_error_never_shows_secret_values),
		cmocka_unit_test(create_request_above_cap_is_local),
		cmocka_unit_test(delete_request_round_trip),
		cmocka_unit_test(get_capacity_request_round_trip),
		cmocka_unit_test(list_volumes_request_round_trip),
		cmocka_unit_test(create_reply_full_decode),
		cmocka_unit_test(create_reply_without_volume_id_is_local),
		cmocka_unit_test(probe_reply_ready_unset_means_ready),
		cmocka_unit_test(plugin_info_reply),
		cmocka_unit_test(plugin_caps_reply),
		cmocka_unit_test(controller_caps_reply_every_type),
		cmocka_unit_test(get_capacity_reply_wrappers),
		cmocka_unit_test(list_volumes_reply),
		cmocka_unit_test(map_entry_cap_is_local),
		cmocka_unit_test(create_snapshot_request_round_trip),
		cmocka_unit_test(delete_snapshot_request_round_trip),
		cmocka_unit_test(create_snapshot_reply_decode),
		cmocka_unit_test(garbage_replies_are_local_errors),
		cmocka_unit_test(random_replies_never_crash),
	};
	int n = (int)(sizeof(tests) / sizeof(tests[0]));
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	printf("tests: %d passed, %d failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
