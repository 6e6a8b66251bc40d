// SPDX-License-Identifier: Apache-2.0
/*
 * test_objects.c - PVC, PV and StorageClass decoders: good objects, unset
 * fields, and a table of wrong JSON types that must be KUBE_ERR_DECODE
 * naming the field.
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
	assert_string_equal(kube_strmap_get(&p.meta.annotations,
					    "volume.kubernetes.io/selected-node"), "node-1");
	assert_null(kube_strmap_get(&p.meta.annotations, "missing"));
	assert_string_equal(kube_strmap_get(&p.meta.labels, "app"), "db");
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
	assert_string_equal(kube_strmap_get(&s.parameters, "type"), "ssd");
	assert_string_equal(kube_strmap_get(&s.parameters, "csi.storage.k8s.io/fstype"), "xfs");
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

enum kind { PVC, PV, SC };

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
	}
	assert_int_equal(rc, KUBE_ERR_DECODE);
	assert_contains(e.msg, c->want);
	err_release(&e);
	json_decref(j);
}

#define N_BAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

int main(void)
{
	static struct CMUnitTest tests[N_BAD + 6];
	static char names[N_BAD][160];
	size_t n = 0, i;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pvc_good);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pvc_minimal_fields_unset);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pvc_data_source_ref_wins);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pv_good);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_storage_class_good_and_defaults);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_storage_class_explicit_policy);
	for (i = 0; i < N_BAD; i++) {
		snprintf(names[i], sizeof(names[i]), "wrong type: %s", bad_cases[i].want);
		tests[n++] = (struct CMUnitTest){ names[i], test_bad, NULL, NULL,
						  (void *)&bad_cases[i] };
	}
	return kt_run("objects", tests, n);
}
