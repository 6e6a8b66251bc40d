// SPDX-License-Identifier: Apache-2.0
/*
 * test_objects.c - the object decoders (PVC, PV, StorageClass, Node,
 * CSINode, Secret, VolumeAttachment, VolumeAttributesClass,
 * CSIStorageCapacity, VolumeSnapshot, VolumeSnapshotContent, Lease): good
 * objects, unset fields, and a table of wrong JSON types that must be
 * KUBE_ERR_DECODE naming the field.
 */
#include "kube_test.h"

#include "base/err.h"
#include "kube/objects.h"
#include "kube/status.h"

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	if (!j)
		fail_msg("test JSON is invalid: %s (line %d)", jerr.text, jerr.line);
	return j;
}

static const char pvc_json[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\","
	" \"metadata\":{\"name\":\"data\",\"namespace\":\"ns1\",\"uid\":\"u-1\","
	"  \"resourceVersion\":\"123\",\"generation\":2,"
	"  \"deletionTimestamp\":\"2024-01-01T00:00:00Z\","
	"  \"annotations\":{\"volume.kubernetes.io/storage-provisioner\":\"hostpath.csi.k8s.io\","
	"   \"kubectl.kubernetes.io/last-applied-configuration\":\"{}\","
	"   \"volume.kubernetes.io/selected-node\":\"node-1\"},"
	"  \"labels\":{\"app\":\"db\"},"
	"  \"finalizers\":[\"kubernetes.io/pvc-protection\"]},"
	" \"spec\":{\"storageClassName\":\"fast\",\"accessModes\":[\"ReadWriteOnce\",\"ReadOnlyMany\"],"
	"  \"resources\":{\"requests\":{\"storage\":\"1.5Gi\"}},"
	"  \"volumeMode\":\"Block\",\"selector\":{\"matchLabels\":{}},"
	"  \"dataSource\":{\"kind\":\"PersistentVolumeClaim\",\"name\":\"src\"},"
	"  \"volumeAttributesClassName\":\"gold\"},"
	" \"status\":{\"phase\":\"Pending\"}}";

static void test_pvc_good(void **state)
{
	json_t *j = load(pvc_json);
	struct kube_pvc p;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_pvc_decode(j, &p, &e), 0);
	assert_string_equal(p.meta.name, "data");
	assert_string_equal(p.meta.namespace, "ns1");
	assert_string_equal(p.meta.uid, "u-1");
	assert_string_equal(p.meta.resource_version, "123");
	assert_int_equal(p.meta.generation, 2);
	assert_true(p.meta.deleting);
	assert_string_equal(strmap_get(&p.meta.annotations,
					    "volume.kubernetes.io/selected-node"), "node-1");
	assert_null(strmap_get(&p.meta.annotations, "missing"));
	/* not cached: nobody reads it, and it is the largest annotation */
	assert_null(strmap_get(&p.meta.annotations,
				    "kubectl.kubernetes.io/last-applied-configuration"));
	assert_int_equal(p.meta.annotations.n, 2);
	assert_string_equal(strmap_get(&p.meta.labels, "app"), "db");
	assert_int_equal(p.meta.n_finalizers, 1);
	assert_string_equal(p.meta.finalizers[0], "kubernetes.io/pvc-protection");
	assert_string_equal(p.storage_class_name, "fast");
	assert_int_equal(p.n_access_modes, 2);
	assert_string_equal(p.access_modes[1], "ReadOnlyMany");
	assert_true(p.has_request);
	assert_int_equal(p.request_bytes, 1610612736);
	assert_null(p.volume_name);
	assert_string_equal(p.volume_mode, "Block");
	assert_true(p.has_selector);
	assert_string_equal(p.data_source_kind, "PersistentVolumeClaim");
	assert_null(p.data_source_api_group);
	assert_string_equal(p.data_source_name, "src");
	assert_string_equal(p.vac_name, "gold");
	assert_string_equal(p.phase, "Pending");
	kube_pvc_release(&p);
	kube_pvc_release(&p);	/* release twice: zeroed the first time */
	kube_pvc_release(NULL);
	json_decref(j);
}

static void test_pvc_minimal_fields_unset(void **state)
{
	json_t *j = load("{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\","
			 "\"annotations\":null},\"spec\":{\"storageClassName\":null}}");
	struct kube_pvc p;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_pvc_decode(j, &p, &e), 0);
	assert_null(p.storage_class_name);
	assert_int_equal(p.n_access_modes, 0);
	assert_null(p.access_modes);
	assert_false(p.has_request);
	assert_false(p.has_selector);
	assert_false(p.meta.deleting);
	assert_int_equal(p.meta.annotations.n, 0);
	assert_null(p.volume_mode);
	assert_null(p.phase);
	kube_pvc_release(&p);
	json_decref(j);
}

static void test_pvc_data_source_ref_wins(void **state)
{
	json_t *j = load("{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},\"spec\":{"
			 "\"dataSource\":{\"kind\":\"PersistentVolumeClaim\",\"name\":\"old\"},"
			 "\"dataSourceRef\":{\"apiGroup\":\"snapshot.storage.k8s.io\","
			 "\"kind\":\"VolumeSnapshot\",\"name\":\"snap\",\"namespace\":\"other\"}}}");
	struct kube_pvc p;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_pvc_decode(j, &p, &e), 0);
	assert_string_equal(p.data_source_kind, "VolumeSnapshot");
	assert_string_equal(p.data_source_api_group, "snapshot.storage.k8s.io");
	assert_string_equal(p.data_source_name, "snap");
	assert_string_equal(p.data_source_namespace, "other");
	kube_pvc_release(&p);
	json_decref(j);
}

static void test_pv_good(void **state)
{
	json_t *j = load("{\"metadata\":{\"name\":\"pvc-1\",\"uid\":\"x\",\"resourceVersion\":\"9\","
			 "\"annotations\":{\"pv.kubernetes.io/provisioned-by\":\"d\"}},"
			 "\"spec\":{\"csi\":{\"driver\":\"hostpath.csi.k8s.io\",\"volumeHandle\":\"h-1\"},"
			 "\"persistentVolumeReclaimPolicy\":\"Delete\",\"storageClassName\":\"fast\","
			 "\"capacity\":{\"storage\":\"10Gi\"},"
			 "\"claimRef\":{\"namespace\":\"ns1\",\"name\":\"data\",\"uid\":\"u-1\"}},"
			 "\"status\":{\"phase\":\"Released\"}}");
	struct kube_pv p;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_pv_decode(j, &p, &e), 0);
	assert_string_equal(p.meta.name, "pvc-1");
	assert_null(p.meta.namespace);
	assert_string_equal(p.csi_driver, "hostpath.csi.k8s.io");
	assert_string_equal(p.csi_volume_handle, "h-1");
	assert_string_equal(p.reclaim_policy, "Delete");
	assert_string_equal(p.phase, "Released");
	assert_string_equal(p.claim_ns, "ns1");
	assert_string_equal(p.claim_name, "data");
	assert_string_equal(p.claim_uid, "u-1");
	assert_string_equal(p.storage_class_name, "fast");
	assert_int_equal(p.capacity_bytes, 10737418240);
	kube_pv_release(&p);
	kube_pv_release(NULL);
	json_decref(j);
}

static void test_storage_class_good_and_defaults(void **state)
{
	json_t *j = load("{\"metadata\":{\"name\":\"fast\"},\"provisioner\":\"hostpath.csi.k8s.io\","
			 "\"parameters\":{\"type\":\"ssd\",\"csi.storage.k8s.io/fstype\":\"xfs\"},"
			 "\"mountOptions\":[\"noatime\"],\"allowVolumeExpansion\":true}");
	struct kube_storage_class s;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_storage_class_decode(j, &s, &e), 0);
	assert_string_equal(s.meta.name, "fast");
	assert_string_equal(s.provisioner, "hostpath.csi.k8s.io");
	assert_int_equal(s.parameters.n, 2);
	assert_string_equal(strmap_get(&s.parameters, "type"), "ssd");
	assert_string_equal(strmap_get(&s.parameters, "csi.storage.k8s.io/fstype"), "xfs");
	assert_string_equal(s.reclaim_policy, "Delete");
	assert_string_equal(s.volume_binding_mode, "Immediate");
	assert_int_equal(s.n_mount_options, 1);
	assert_string_equal(s.mount_options[0], "noatime");
	assert_true(s.allow_volume_expansion);
	kube_storage_class_release(&s);
	kube_storage_class_release(NULL);
	json_decref(j);
}

static void test_storage_class_explicit_policy(void **state)
{
	json_t *j = load("{\"metadata\":{\"name\":\"keep\"},\"provisioner\":\"p\","
			 "\"reclaimPolicy\":\"Retain\",\"volumeBindingMode\":\"WaitForFirstConsumer\"}");
	struct kube_storage_class s;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_storage_class_decode(j, &s, &e), 0);
	assert_string_equal(s.reclaim_policy, "Retain");
	assert_string_equal(s.volume_binding_mode, "WaitForFirstConsumer");
	assert_false(s.allow_volume_expansion);
	kube_storage_class_release(&s);
	json_decref(j);
}


static void test_pvc_limits_and_status_capacity(void **state)
{
	json_t *j = load("{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},\"spec\":{"
			 "\"resources\":{\"requests\":{\"storage\":\"1Gi\"},"
			 "\"limits\":{\"storage\":\"2Gi\"}}},"
			 "\"status\":{\"phase\":\"Bound\",\"capacity\":{\"storage\":\"3Gi\"}}}");
	struct kube_pvc p;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_pvc_decode(j, &p, &e), 0);
	assert_true(p.has_limit);
	assert_int_equal(p.limit_bytes, 2147483648);
	assert_true(p.has_status_capacity);
	assert_int_equal(p.status_capacity_bytes, 3221225472);
	kube_pvc_release(&p);
	json_decref(j);
}

static void test_pv_claim_rv_and_node_affinity(void **state)
{
	json_t *j = load("{\"metadata\":{\"name\":\"p\",\"finalizers\":[\"kubernetes.io/pv-protection\"]},"
			 "\"spec\":{\"claimRef\":{\"name\":\"c\",\"resourceVersion\":\"77\"},"
			 "\"nodeAffinity\":{\"required\":{\"nodeSelectorTerms\":[]}}}}");
	json_t *j2 = load("{\"metadata\":{\"name\":\"q\"},\"spec\":{}}");
	struct kube_pv p;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_pv_decode(j, &p, &e), 0);
	assert_string_equal(p.claim_rv, "77");
	assert_true(p.has_node_affinity);
	assert_int_equal(p.meta.n_finalizers, 1);
	kube_pv_release(&p);
	assert_int_equal(kube_pv_decode(j2, &p, &e), 0);
	assert_null(p.claim_rv);
	assert_false(p.has_node_affinity);
	kube_pv_release(&p);
	json_decref(j);
	json_decref(j2);
}

static void test_storage_class_allowed_topologies(void **state)
{
	json_t *j = load("{\"metadata\":{\"name\":\"t\"},\"provisioner\":\"p\",\"allowedTopologies\":["
			 "{\"matchLabelExpressions\":[{\"key\":\"zone\",\"values\":[\"a\",\"b\"]},"
			 "{\"key\":\"rack\",\"values\":[\"r1\"]}]},"
			 "{\"matchLabelExpressions\":[{\"key\":\"zone\",\"values\":[\"c\"]}]}]}");
	struct kube_storage_class s;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_storage_class_decode(j, &s, &e), 0);
	assert_int_equal(s.n_allowed_topologies, 2);
	assert_int_equal(s.allowed_topologies[0].n_reqs, 2);
	assert_string_equal(s.allowed_topologies[0].reqs[0].key, "zone");
	assert_int_equal(s.allowed_topologies[0].reqs[0].n_values, 2);
	assert_string_equal(s.allowed_topologies[0].reqs[0].values[1], "b");
	assert_string_equal(s.allowed_topologies[0].reqs[1].key, "rack");
	assert_string_equal(s.allowed_topologies[1].reqs[0].values[0], "c");
	kube_storage_class_release(&s);
	json_decref(j);
}

static void test_node_and_csinode(void **state)
{
	json_t *n = load("{\"metadata\":{\"name\":\"node-1\",\"labels\":{\"topology.hostpath.csi/node\":\"node-1\"}},"
			 "\"status\":{\"capacity\":{\"cpu\":\"4\"}}}");
	json_t *c = load("{\"metadata\":{\"name\":\"node-1\"},\"spec\":{\"drivers\":["
			 "{\"name\":\"hostpath.csi.k8s.io\",\"nodeID\":\"node-1\","
			 "\"topologyKeys\":[\"topology.hostpath.csi/node\"]},"
			 "{\"name\":\"other\",\"nodeID\":\"n1\",\"topologyKeys\":null}]}}");
	struct kube_node node;
	struct kube_csinode cn;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_node_decode(n, &node, &e), 0);
	assert_string_equal(node.meta.name, "node-1");
	assert_string_equal(strmap_get(&node.meta.labels, "topology.hostpath.csi/node"), "node-1");
	kube_node_release(&node);
	kube_node_release(NULL);
	assert_int_equal(kube_csinode_decode(c, &cn, &e), 0);
	assert_int_equal(cn.n_drivers, 2);
	assert_string_equal(cn.drivers[0].name, "hostpath.csi.k8s.io");
	assert_string_equal(cn.drivers[0].node_id, "node-1");
	assert_int_equal(cn.drivers[0].n_topology_keys, 1);
	assert_string_equal(cn.drivers[0].topology_keys[0], "topology.hostpath.csi/node");
	assert_int_equal(cn.drivers[1].n_topology_keys, 0);
	kube_csinode_release(&cn);
	kube_csinode_release(NULL);
	json_decref(n);
	json_decref(c);
}

static void test_secret_data_decoded(void **state)
{
	/* "c2VjcmV0" = "secret"; "AGI=" = "\0b" (a NUL inside) */
	json_t *j = load("{\"metadata\":{\"name\":\"s\",\"namespace\":\"n\"},\"type\":\"Opaque\","
			 "\"data\":{\"password\":\"c2VjcmV0\",\"bin\":\"AGI=\",\"empty\":\"\"}}");
	struct kube_secret s;
	struct err e = ERR_INIT;
	const struct strmap_entry *ent;

	(void)state;
	assert_int_equal(kube_secret_decode(j, &s, &e), 0);
	assert_string_equal(s.type, "Opaque");
	assert_int_equal(s.data.n, 3);
	ent = strmap_find(&s.data, "password");
	assert_int_equal(s.data_lens[ent - s.data.items], 6);
	assert_memory_equal(ent->value, "secret", 6);
	ent = strmap_find(&s.data, "bin");
	assert_int_equal(s.data_lens[ent - s.data.items], 2);
	assert_memory_equal(ent->value, "\0b", 2);
	ent = strmap_find(&s.data, "empty");
	assert_int_equal(s.data_lens[ent - s.data.items], 0);
	assert_null(strmap_find(&s.data, "missing"));
	kube_secret_release(&s);
	kube_secret_release(NULL);
	json_decref(j);
}

static void test_secret_over_cap(void **state)
{
	size_t n = KUBE_SECRET_DATA_MAX / 3 * 4 / 2 + 8, i;
	char *b64 = malloc(n + 1);
	json_t *j = load("{\"metadata\":{\"name\":\"big\",\"namespace\":\"n\"},\"data\":{}}");
	json_t *data = json_object_get(j, "data");
	struct kube_secret s;
	struct err e = ERR_INIT;

	(void)state;
	for (i = 0; i < n; i++)
		b64[i] = 'A';
	b64[n] = '\0';
	/* each value alone fits, the two together do not */
	json_object_set_new(data, "a", json_string(b64));
	json_object_set_new(data, "b", json_string(b64));
	assert_int_equal(kube_secret_decode(j, &s, &e), KUBE_ERR_TOO_LARGE);
	assert_contains(e.msg, "secret 'n/big': data is larger than");
	assert_null(s.data.items);
	err_release(&e);
	free(b64);
	json_decref(j);
}

static void test_volume_attachment(void **state)
{
	json_t *j = load("{\"metadata\":{\"name\":\"csi-123\"},\"spec\":{\"attacher\":\"hostpath.csi.k8s.io\","
			 "\"nodeName\":\"node-1\",\"source\":{\"persistentVolumeName\":\"pv-1\"}},"
			 "\"status\":{\"attached\":true}}");
	struct kube_volume_attachment v;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_volume_attachment_decode(j, &v, &e), 0);
	assert_string_equal(v.attacher, "hostpath.csi.k8s.io");
	assert_string_equal(v.node_name, "node-1");
	assert_string_equal(v.pv_name, "pv-1");
	assert_true(v.attached);
	kube_volume_attachment_release(&v);
	kube_volume_attachment_release(NULL);
	json_decref(j);
}

static void test_vac_and_capacity(void **state)
{
	json_t *v = load("{\"metadata\":{\"name\":\"gold\"},\"driverName\":\"d\","
			 "\"parameters\":{\"iops\":\"1000\"}}");
	json_t *c = load("{\"metadata\":{\"name\":\"csisc-1\",\"namespace\":\"kube-system\"},"
			 "\"storageClassName\":\"fast\",\"capacity\":\"10Gi\",\"maximumVolumeSize\":\"1Gi\","
			 "\"nodeTopology\":{\"matchLabels\":{\"topology.hostpath.csi/node\":\"node-1\"}}}");
	json_t *c2 = load("{\"metadata\":{\"name\":\"csisc-2\",\"namespace\":\"kube-system\"},"
			  "\"storageClassName\":\"fast\"}");
	struct kube_vac vac;
	struct kube_csi_capacity cap;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_vac_decode(v, &vac, &e), 0);
	assert_string_equal(vac.driver_name, "d");
	assert_string_equal(strmap_get(&vac.parameters, "iops"), "1000");
	kube_vac_release(&vac);
	kube_vac_release(NULL);
	assert_int_equal(kube_csi_capacity_decode(c, &cap, &e), 0);
	assert_string_equal(cap.storage_class_name, "fast");
	assert_true(cap.has_capacity);
	assert_int_equal(cap.capacity_bytes, 10737418240);
	assert_true(cap.has_max_volume);
	assert_int_equal(cap.max_volume_bytes, 1073741824);
	assert_true(cap.has_node_topology);
	assert_string_equal(strmap_get(&cap.node_topology, "topology.hostpath.csi/node"), "node-1");
	kube_csi_capacity_release(&cap);
	assert_int_equal(kube_csi_capacity_decode(c2, &cap, &e), 0);
	assert_false(cap.has_capacity);
	assert_false(cap.has_max_volume);
	assert_false(cap.has_node_topology);
	kube_csi_capacity_release(&cap);
	kube_csi_capacity_release(NULL);
	json_decref(v);
	json_decref(c);
	json_decref(c2);
}

static void test_snapshot_and_content(void **state)
{
	json_t *s = load("{\"metadata\":{\"name\":\"snap\",\"namespace\":\"n\"},"
			 "\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"data\"},"
			 "\"volumeSnapshotClassName\":\"cls\"},"
			 "\"status\":{\"boundVolumeSnapshotContentName\":\"snapcontent-1\","
			 "\"readyToUse\":true,\"restoreSize\":\"1Gi\"}}");
	json_t *c = load("{\"metadata\":{\"name\":\"snapcontent-1\",\"annotations\":"
			 "{\"snapshot.storage.kubernetes.io/deletion-secret-name\":\"sec\"}},"
			 "\"spec\":{\"driver\":\"hostpath.csi.k8s.io\",\"deletionPolicy\":\"Delete\","
			 "\"source\":{\"volumeHandle\":\"vol-1\"},"
			 "\"volumeSnapshotRef\":{\"namespace\":\"n\",\"name\":\"snap\",\"uid\":\"u-s\"}},"
			 "\"status\":{\"snapshotHandle\":\"snap-h\",\"readyToUse\":true,"
			 "\"restoreSize\":1073741824}}");
	json_t *pre = load("{\"metadata\":{\"name\":\"pre\"},\"spec\":{\"driver\":\"d\","
			   "\"source\":{\"snapshotHandle\":\"given\"}}}");
	struct kube_volume_snapshot vs;
	struct kube_snapshot_content sc;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_volume_snapshot_decode(s, &vs, &e), 0);
	assert_string_equal(vs.source_pvc, "data");
	assert_null(vs.source_content);
	assert_string_equal(vs.class_name, "cls");
	assert_string_equal(vs.bound_content, "snapcontent-1");
	assert_true(vs.ready);
	assert_true(vs.has_restore_size);
	assert_int_equal(vs.restore_bytes, 1073741824);
	kube_volume_snapshot_release(&vs);
	kube_volume_snapshot_release(NULL);
	assert_int_equal(kube_snapshot_content_decode(c, &sc, &e), 0);
	assert_string_equal(sc.driver, "hostpath.csi.k8s.io");
	assert_string_equal(sc.snapshot_handle, "snap-h");
	assert_string_equal(sc.source_volume_handle, "vol-1");
	assert_string_equal(sc.deletion_policy, "Delete");
	assert_string_equal(sc.ref_ns, "n");
	assert_string_equal(sc.ref_name, "snap");
	assert_string_equal(sc.ref_uid, "u-s");
	assert_true(sc.ready);
	assert_true(sc.has_restore_size);
	assert_int_equal(sc.restore_bytes, 1073741824);
	assert_string_equal(strmap_get(&sc.meta.annotations,
					    "snapshot.storage.kubernetes.io/deletion-secret-name"), "sec");
	kube_snapshot_content_release(&sc);
	assert_int_equal(kube_snapshot_content_decode(pre, &sc, &e), 0);
	assert_string_equal(sc.snapshot_handle, "given");
	assert_false(sc.ready);
	assert_false(sc.has_restore_size);
	kube_snapshot_content_release(&sc);
	kube_snapshot_content_release(NULL);
	json_decref(s);
	json_decref(c);
	json_decref(pre);
}

static void test_lease(void **state)
{
	json_t *j = load("{\"metadata\":{\"name\":\"hostpath-csi-k8s-io\",\"namespace\":\"kube-system\"},"
			 "\"spec\":{\"holderIdentity\":\"pod-1\",\"leaseDurationSeconds\":15,"
			 "\"acquireTime\":\"2024-05-01T10:00:00.000000Z\","
			 "\"renewTime\":\"2024-05-01T10:00:05.250000Z\",\"leaseTransitions\":3}}");
	json_t *free_lease = load("{\"metadata\":{\"name\":\"l\",\"namespace\":\"n\"},\"spec\":{}}");
	struct kube_lease l;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_lease_decode(j, &l, &e), 0);
	assert_string_equal(l.holder, "pod-1");
	assert_int_equal(l.duration_s, 15);
	assert_int_equal(l.acquire_us, INT64_C(1714557600) * 1000000);
	assert_int_equal(l.renew_us - l.acquire_us, 5250000);
	assert_int_equal(l.transitions, 3);
	kube_lease_release(&l);
	assert_int_equal(kube_lease_decode(free_lease, &l, &e), 0);
	assert_null(l.holder);
	assert_int_equal(l.renew_us, 0);
	kube_lease_release(&l);
	kube_lease_release(NULL);
	json_decref(j);
	json_decref(free_lease);
}

struct time_case {
	const char *in;
	int64_t want;	/* -1: must fail */
};

static const struct time_case time_cases[] = {
	{ "1970-01-01T00:00:00Z", 0 },
	{ "1970-01-01T00:00:01.5Z", 1500000 },
	{ "1970-01-01T00:00:00.1234567Z", 123456 },
	{ "1970-01-01T02:00:00+02:00", 0 },
	{ "1969-12-31T23:00:00-01:00", 0 },
	{ "2024-02-29T00:00:00Z", INT64_C(1709164800) * 1000000 },
	{ "", -1 },
	{ "1970-01-01", -1 },
	{ "1970-01-01T00:00:00", -1 },
	{ "1970-01-01T00:00:00.Z", -1 },
	{ "1970-13-01T00:00:00Z", -1 },
	{ "1970-01-01T24:00:00Z", -1 },
	{ "1970-01-01T00:00:00Zjunk", -1 },
	{ "1970-01-01T00:00:00+0200", -1 },
	{ "yesterday", -1 },
};

static void test_time_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(time_cases) / sizeof(time_cases[0]); i++) {
		struct err e = ERR_INIT;
		int64_t v = -7;
		int rc = kube_time_parse(time_cases[i].in, &v, &e);

		if (time_cases[i].want < 0) {
			if (rc != KUBE_ERR_INVALID)
				fail_msg("'%s' parsed (%lld)", time_cases[i].in, (long long)v);
			assert_int_equal(v, -7);
			assert_contains(e.msg, "is not RFC 3339");
		} else if (rc || v != time_cases[i].want) {
			fail_msg("'%s': rc %d, %lld, want %lld", time_cases[i].in, rc,
				 (long long)v, (long long)time_cases[i].want);
		}
		err_release(&e);
	}
}

enum kind { PVC, PV, SC, CSINODE, SECRET, VA, VAC, CAP, VS, VSC, LEASE, NODE };

struct bad_case {
	enum kind kind;
	const char *json;
	const char *want;	/* in the message */
};

#define MD "\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"}"

static const struct bad_case bad_cases[] = {
	{ PVC, "[1]", "not an object" },
	{ PVC, "{\"spec\":{}}", "metadata is missing" },
	{ PVC, "{\"metadata\":\"x\"}", "metadata is a string" },
	{ PVC, "{\"metadata\":{\"name\":5}}", "metadata.name is a number, want a string" },
	{ PVC, "{\"metadata\":{\"name\":\"a\",\"generation\":\"2\"}}", "metadata.generation is a string" },
	{ PVC, "{\"metadata\":{\"name\":\"a\",\"annotations\":{\"k\":1}}}", "metadata.annotations['k'] is a number" },
	{ PVC, "{\"metadata\":{\"name\":\"a\",\"labels\":[]}}", "metadata.labels is a list" },
	{ PVC, "{\"metadata\":{\"name\":\"a\",\"finalizers\":[\"f\",true]}}", "metadata.finalizers[1] is a boolean" },
	{ PVC, "{\"metadata\":{\"name\":\"a\",\"deletionTimestamp\":1}}", "metadata.deletionTimestamp is a number" },
	{ PVC, "{" MD ",\"spec\":\"x\"}", "persistentvolumeclaim 'n/a': spec is a string, want an object" },
	{ PVC, "{" MD ",\"spec\":{\"accessModes\":[\"ReadWriteOnce\",7]}}", "spec.accessModes[1] is a number, want a string" },
	{ PVC, "{" MD ",\"spec\":{\"accessModes\":\"ReadWriteOnce\"}}", "spec.accessModes is a string" },
	{ PVC, "{" MD ",\"spec\":{\"storageClassName\":{}}}", "spec.storageClassName is an object" },
	{ PVC, "{" MD ",\"spec\":{\"resources\":{\"requests\":{\"storage\":\"12Gb\"}}}}", "spec.resources.requests.storage: quantity '12Gb'" },
	{ PVC, "{" MD ",\"spec\":{\"resources\":{\"requests\":{\"storage\":[]}}}}", "spec.resources.requests.storage is a list" },
	{ PVC, "{" MD ",\"spec\":{\"resources\":[]}}", "spec.resources is a list" },
	{ PVC, "{" MD ",\"spec\":{\"selector\":\"app=x\"}}", "spec.selector is a string" },
	{ PVC, "{" MD ",\"spec\":{\"dataSource\":{\"name\":1}}}", "spec.dataSource.name is a number" },
	{ PVC, "{" MD ",\"status\":{\"phase\":false}}", "status.phase is a boolean" },
	{ PV, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"csi\":{\"driver\":1}}}", "persistentvolume 'p': spec.csi.driver is a number" },
	{ PV, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"claimRef\":{\"uid\":[]}}}", "spec.claimRef.uid is a list" },
	{ PV, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"capacity\":{\"storage\":\"big\"}}}", "spec.capacity.storage" },
	{ PV, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"csi\":[]}}", "spec.csi is a list" },
	{ SC, "{\"metadata\":{\"name\":\"s\"},\"provisioner\":[]}", "storageclass 's': provisioner is a list" },
	{ SC, "{\"metadata\":{\"name\":\"s\"},\"parameters\":{\"a\":\"b\",\"c\":{}}}", "parameters['c'] is an object" },
	{ SC, "{\"metadata\":{\"name\":\"s\"},\"mountOptions\":[1]}", "mountOptions[0] is a number" },
	{ SC, "{\"metadata\":{\"name\":\"s\"},\"allowVolumeExpansion\":\"true\"}", "allowVolumeExpansion is a string, want a boolean" },
	{ PVC, "{" MD ",\"spec\":{\"resources\":{\"limits\":{\"storage\":true}}}}", "spec.resources.limits.storage is a boolean" },
	{ PVC, "{" MD ",\"status\":{\"capacity\":{\"storage\":\"1Zi\"}}}", "status.capacity.storage: quantity" },
	{ PV, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"claimRef\":{\"resourceVersion\":5}}}", "spec.claimRef.resourceVersion is a number" },
	{ PV, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeAffinity\":[]}}", "spec.nodeAffinity is a list" },
	{ SC, "{\"metadata\":{\"name\":\"s\"},\"allowedTopologies\":{}}", "allowedTopologies is an object, want a list" },
	{ SC, "{\"metadata\":{\"name\":\"s\"},\"allowedTopologies\":[\"zone\"]}", "allowedTopologies[0] is a string, want an object" },
	{ SC, "{\"metadata\":{\"name\":\"s\"},\"allowedTopologies\":[{\"matchLabelExpressions\":[{\"key\":\"k\",\"values\":[1]}]}]}", "allowedTopologies[0].matchLabelExpressions[0].values[0] is a number" },
	{ SC, "{\"metadata\":{\"name\":\"s\"},\"allowedTopologies\":[{},{\"matchLabelExpressions\":[7]}]}", "allowedTopologies[1].matchLabelExpressions[0] is a number, want an object" },
	{ NODE, "{\"metadata\":{\"name\":\"n\",\"labels\":{\"a\":null}}}", "node 'n': metadata.labels['a'] is null" },
	{ CSINODE, "{\"metadata\":{\"name\":\"n\"},\"spec\":{\"drivers\":{}}}", "csinode 'n': spec.drivers is an object, want a list" },
	{ CSINODE, "{\"metadata\":{\"name\":\"n\"},\"spec\":{\"drivers\":[{\"name\":\"d\"},{\"nodeID\":3}]}}", "spec.drivers[1].nodeID is a number" },
	{ CSINODE, "{\"metadata\":{\"name\":\"n\"},\"spec\":{\"drivers\":[{\"name\":\"d\",\"topologyKeys\":[null]}]}}", "spec.drivers[0].topologyKeys[0] is null" },
	{ SECRET, "{" MD ",\"data\":[]}", "secret 'n/a': data is a list" },
	{ SECRET, "{" MD ",\"data\":{\"k\":1}}", "data['k'] is a number" },
	{ SECRET, "{" MD ",\"data\":{\"k\":\"not base64!\"}}", "data['k'] is not valid base64" },
	{ SECRET, "{" MD ",\"type\":{}}", "type is an object" },
	{ VA, "{\"metadata\":{\"name\":\"v\"},\"spec\":{\"source\":{\"persistentVolumeName\":false}}}", "volumeattachment 'v': spec.source.persistentVolumeName is a boolean" },
	{ VA, "{\"metadata\":{\"name\":\"v\"},\"status\":{\"attached\":\"yes\"}}", "status.attached is a string, want a boolean" },
	{ VAC, "{\"metadata\":{\"name\":\"v\"},\"parameters\":{\"a\":2}}", "volumeattributesclass 'v': parameters['a'] is a number" },
	{ VAC, "{\"metadata\":{\"name\":\"v\"},\"driverName\":[]}", "driverName is a list" },
	{ CAP, "{" MD ",\"capacity\":\"lots\"}", "csistoragecapacity 'n/a': capacity: quantity 'lots'" },
	{ CAP, "{" MD ",\"maximumVolumeSize\":{}}", "maximumVolumeSize is an object" },
	{ CAP, "{" MD ",\"nodeTopology\":{\"matchLabels\":{\"k\":[]}}}", "nodeTopology.matchLabels['k'] is a list" },
	{ VS, "{" MD ",\"spec\":{\"source\":{\"persistentVolumeClaimName\":1}}}", "volumesnapshot 'n/a': spec.source.persistentVolumeClaimName is a number" },
	{ VS, "{" MD ",\"status\":{\"readyToUse\":\"true\"}}", "status.readyToUse is a string" },
	{ VS, "{" MD ",\"status\":{\"restoreSize\":\"1 Gi\"}}", "status.restoreSize: quantity" },
	{ VSC, "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"volumeSnapshotRef\":{\"uid\":1}}}", "volumesnapshotcontent 'c': spec.volumeSnapshotRef.uid is a number" },
	{ VSC, "{\"metadata\":{\"name\":\"c\"},\"status\":{\"restoreSize\":\"1Gi\"}}", "status.restoreSize is a string, want an integer" },
	{ VSC, "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"source\":{\"snapshotHandle\":[]}}}", "spec.source.snapshotHandle is a list" },
	{ LEASE, "{" MD ",\"spec\":{\"leaseDurationSeconds\":\"15\"}}", "lease 'n/a': spec.leaseDurationSeconds is a string" },
	{ LEASE, "{" MD ",\"spec\":{\"renewTime\":\"now\"}}", "spec.renewTime: time 'now' is not RFC 3339" },
	{ LEASE, "{" MD ",\"spec\":{\"holderIdentity\":7}}", "spec.holderIdentity is a number" },
};

static void test_bad(void **state)
{
	const struct bad_case *c = *state;
	json_t *j = load(c->json);
	struct err e = ERR_INIT;
	union {
		struct kube_pvc pvc;
		struct kube_pv pv;
		struct kube_storage_class sc;
		struct kube_node node;
		struct kube_csinode cn;
		struct kube_secret sec;
		struct kube_volume_attachment va;
		struct kube_vac vac;
		struct kube_csi_capacity cap;
		struct kube_volume_snapshot vs;
		struct kube_snapshot_content vsc;
		struct kube_lease lease;
	} u;
	int rc = -1;

	memset(&u, 0x5a, sizeof(u));	/* garbage: the decoder must not read it */
	switch (c->kind) {
	case PVC:
		rc = kube_pvc_decode(j, &u.pvc, &e);
		assert_null(u.pvc.meta.name);
		break;
	case PV:
		rc = kube_pv_decode(j, &u.pv, &e);
		assert_null(u.pv.csi_driver);
		break;
	case SC:
		rc = kube_storage_class_decode(j, &u.sc, &e);
		assert_null(u.sc.provisioner);
		break;
	case NODE:
		rc = kube_node_decode(j, &u.node, &e);
		assert_null(u.node.meta.name);
		break;
	case CSINODE:
		rc = kube_csinode_decode(j, &u.cn, &e);
		assert_null(u.cn.drivers);
		break;
	case SECRET:
		rc = kube_secret_decode(j, &u.sec, &e);
		assert_null(u.sec.data.items);
		break;
	case VA:
		rc = kube_volume_attachment_decode(j, &u.va, &e);
		assert_null(u.va.attacher);
		break;
	case VAC:
		rc = kube_vac_decode(j, &u.vac, &e);
		assert_null(u.vac.parameters.items);
		break;
	case CAP:
		rc = kube_csi_capacity_decode(j, &u.cap, &e);
		assert_null(u.cap.storage_class_name);
		break;
	case VS:
		rc = kube_volume_snapshot_decode(j, &u.vs, &e);
		assert_null(u.vs.source_pvc);
		break;
	case VSC:
		rc = kube_snapshot_content_decode(j, &u.vsc, &e);
		assert_null(u.vsc.driver);
		break;
	case LEASE:
		rc = kube_lease_decode(j, &u.lease, &e);
		assert_null(u.lease.holder);
		break;
	}
	assert_int_equal(rc, KUBE_ERR_DECODE);
	assert_contains(e.msg, c->want);
	err_release(&e);
	json_decref(j);
}

#define N_BAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

int main(void)
{
	static struct CMUnitTest tests[N_BAD + 17];
	static char names[N_BAD][160];
	size_t n = 0, i;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pvc_good);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pvc_minimal_fields_unset);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pvc_data_source_ref_wins);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pv_good);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_storage_class_good_and_defaults);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_storage_class_explicit_policy);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pvc_limits_and_status_capacity);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pv_claim_rv_and_node_affinity);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_storage_class_allowed_topologies);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_node_and_csinode);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_secret_data_decoded);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_secret_over_cap);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_volume_attachment);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_vac_and_capacity);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_snapshot_and_content);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_lease);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_time_parse);
	for (i = 0; i < N_BAD; i++) {
		snprintf(names[i], sizeof(names[i]), "wrong type: %s", bad_cases[i].want);
		tests[n++] = (struct CMUnitTest){ names[i], test_bad, NULL, NULL,
						  (void *)&bad_cases[i] };
	}
	return kt_run("objects", tests, n);
}
