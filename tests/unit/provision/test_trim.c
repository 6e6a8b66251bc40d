// SPDX-License-Identifier: Apache-2.0
/*
 * test_trim.c - what the caches keep of claims and PVs that are not ours
 * (src/provision/trim.c): which objects are trimmed, which stay whole
 * (ours, of our driver, carrying our marks, not yet Bound), and that a
 * trimmed object, packed as the informer packs it, still answers every
 * question the controller asks of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_json.h"

#include "base/xalloc.h"
#include "provision/controller_internal.h"

#define DRIVER "ours.example.com"

static struct controller *ctl(void)
{
	static struct controller c;

	c.o.plan.driver = DRIVER;
	c.o.plan.provisioner = DRIVER;
	return &c;
}

/* Decode `json`, trim, pack as the informer does; *trimmed says whether it was. */
static struct kube_pv *pv_cached(const char *json, bool *trimmed)
{
	json_t *j = test_json(json);
	struct kube_pv pv, scratch;
	const struct kube_pv *src;
	struct kube_pv *block;
	struct err e = ERR_INIT;

	memset(&pv, 0, sizeof(pv));
	memset(&scratch, 0, sizeof(scratch));
	assert_int_equal(kube_pv_decode(j, &pv, &e), 0);
	json_decref(j);
	src = ctl_trim_pv(ctl(), &pv, &scratch);
	*trimmed = src == &scratch;
	block = xmalloc(kube_pv_packed_size(src));
	kube_pv_pack(src, block);
	kube_pv_release(&pv);
	return block;
}

static struct kube_pvc *pvc_cached(const char *json, bool *trimmed)
{
	json_t *j = test_json(json);
	struct kube_pvc pvc, scratch;
	const struct kube_pvc *src;
	struct kube_pvc *block;
	struct err e = ERR_INIT;

	memset(&pvc, 0, sizeof(pvc));
	memset(&scratch, 0, sizeof(scratch));
	assert_int_equal(kube_pvc_decode(j, &pvc, &e), 0);
	json_decref(j);
	src = ctl_trim_pvc(ctl(), &pvc, &scratch);
	*trimmed = src == &scratch;
	block = xmalloc(kube_pvc_packed_size(src));
	kube_pvc_pack(src, block);
	kube_pvc_release(&pvc);
	return block;
}

#define PV_META "\"metadata\":{\"name\":\"pv1\",\"uid\":\"u1\",\"resourceVersion\":\"7\"," \
	"\"labels\":{\"team\":\"x\"},\"finalizers\":[\"kubernetes.io/pv-protection\"],"
#define PV_SPEC "\"spec\":{\"persistentVolumeReclaimPolicy\":\"Delete\",\"storageClassName\":\"c\"," \
	"\"capacity\":{\"storage\":\"1Gi\"},\"claimRef\":{\"namespace\":\"n\",\"name\":\"claim\"," \
	"\"uid\":\"cu\"},\"nodeAffinity\":{\"required\":{\"nodeSelectorTerms\":[{\"matchExpressions\":" \
	"[{\"key\":\"k\",\"operator\":\"In\",\"values\":[\"v\"]}]}]}},"

/* A PV of another driver keeps what readers of a foreign PV use, and nothing else. */
static void test_foreign_pv_trimmed(void **state)
{
	bool t;
	struct kube_pv *pv = pv_cached("{" PV_META "\"annotations\":{\"pv.kubernetes.io/provisioned-by\":"
				       "\"other\",\"big\":\"xxxxxxxxxxxxxxxx\"}}," PV_SPEC
				       "\"csi\":{\"driver\":\"other\",\"volumeHandle\":\"h1\"}},"
				       "\"status\":{\"phase\":\"Bound\"}}", &t);

	(void)state;
	assert_true(t);
	assert_string_equal(pv->meta.name, "pv1");
	assert_string_equal(pv->meta.uid, "u1");
	assert_string_equal(pv->meta.resource_version, "7");
	assert_string_equal(pv->csi_driver, "other");
	assert_string_equal(pv->csi_volume_handle, "h1");
	assert_string_equal(pv->claim_ns, "n");
	assert_string_equal(pv->claim_name, "claim");
	assert_string_equal(pv->claim_uid, "cu");
	assert_string_equal(pv->phase, "Bound");
	assert_string_equal(pv->reclaim_policy, "Delete");
	assert_string_equal(pv->storage_class_name, "c");
	assert_true(pv->capacity_bytes == 1073741824);
	assert_true(pv->has_node_affinity);
	assert_int_equal(pv->meta.annotations.n, 0);
	assert_int_equal(pv->meta.labels.n, 0);
	assert_int_equal(pv->meta.n_finalizers, 0);
	assert_int_equal(pv->n_affinity, 0);
	/* the controller's questions get the same answers as for the whole PV */
	assert_false(plan_pv_is_ours(pv, &ctl()->o.plan));
	assert_false(ctl_pv_of_driver(ctl(), pv));
	free(pv);
}

/* Ours by driver, by annotation, or holding our finalizer: cached whole. */
static void test_pv_of_ours_whole(void **state)
{
	static const char *const cases[] = {
		/* our driver */
		"{" PV_META "\"annotations\":{}}," PV_SPEC
		"\"csi\":{\"driver\":\"" DRIVER "\",\"volumeHandle\":\"h\"}}}",
		/* another driver's spec, provisioned by us (plan_pv_is_ours) */
		"{" PV_META "\"annotations\":{\"pv.kubernetes.io/provisioned-by\":\"" DRIVER "\"}},"
		PV_SPEC "\"csi\":{\"driver\":\"other\",\"volumeHandle\":\"h\"}}}",
		/* migrated to us */
		"{" PV_META "\"annotations\":{\"pv.kubernetes.io/migrated-to\":\"" DRIVER "\"}},"
		PV_SPEC "\"csi\":{\"driver\":\"other\",\"volumeHandle\":\"h\"}}}",
		/* our finalizer */
		"{\"metadata\":{\"name\":\"pv1\",\"finalizers\":[\"" FINALIZER_PV "\"]}," PV_SPEC
		"\"csi\":{\"driver\":\"other\",\"volumeHandle\":\"h\"}}}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool t;
		struct kube_pv *pv = pv_cached(cases[i], &t);

		if (t)
			fail_msg("case %zu trimmed: %s", i, cases[i]);
		assert_int_equal(pv->n_affinity, 1);
		assert_true(pv->meta.n_finalizers == 1);
		free(pv);
	}
}

#define PVC_HEAD "{\"metadata\":{\"name\":\"c\",\"namespace\":\"n\",\"uid\":\"cu\"," \
	"\"labels\":{\"app\":\"x\"},"
#define PVC_SPEC "\"spec\":{\"storageClassName\":\"other\",\"accessModes\":[\"ReadWriteOnce\"]," \
	"\"resources\":{\"requests\":{\"storage\":\"1Gi\"}},\"volumeMode\":\"Block\","

/* A Bound claim keeps its spec, status, finalizers and the annotations the controller reads. */
static void test_bound_claim_trimmed(void **state)
{
	bool t;
	struct kube_pvc *p = pvc_cached(PVC_HEAD "\"finalizers\":[\"kubernetes.io/pvc-protection\"],"
					"\"annotations\":{\"pv.kubernetes.io/bind-completed\":\"yes\","
					"\"volume.beta.kubernetes.io/storage-class\":\"beta\","
					"\"volume.kubernetes.io/storage-provisioner\":\"other\","
					"\"tenant\":\"yyyyyyyyyyyy\","
					"\"volume.kubernetes.io/selected-node\":\"n1\"}},"
					PVC_SPEC "\"volumeName\":\"pv9\"},"
					"\"status\":{\"phase\":\"Bound\",\"capacity\":{\"storage\":\"1Gi\"}}}",
					&t);

	(void)state;
	assert_true(t);
	assert_string_equal(p->meta.name, "c");
	assert_string_equal(p->meta.namespace, "n");
	assert_string_equal(p->meta.uid, "cu");
	assert_string_equal(p->storage_class_name, "other");
	assert_string_equal(p->volume_name, "pv9");
	assert_string_equal(p->volume_mode, "Block");
	assert_string_equal(p->phase, "Bound");
	assert_int_equal(p->n_access_modes, 1);
	assert_true(p->has_request && p->request_bytes == 1073741824);
	assert_true(p->has_status_capacity);
	assert_int_equal(p->meta.labels.n, 0);
	/* the finalizers stay: a clone-source finalizer is added by a merge patch of the list */
	assert_int_equal(p->meta.n_finalizers, 1);
	assert_int_equal(p->meta.annotations.n, 3);
	assert_string_equal(strmap_get(&p->meta.annotations, ANN_BETA_STORAGE_CLASS), "beta");
	assert_string_equal(strmap_get(&p->meta.annotations, ANN_STORAGE_PROVISIONER), "other");
	assert_string_equal(strmap_get(&p->meta.annotations, ANN_SELECTED_NODE), "n1");
	assert_null(strmap_get(&p->meta.annotations, "tenant"));
	assert_string_equal(plan_claim_class(p), "beta");	/* the beta annotation wins, kept */
	free(p);
}

/* Not Bound yet, or carrying a mark of ours: cached whole, whatever the class. */
static void test_claim_not_bound_or_marked_whole(void **state)
{
	static const char *const cases[] = {
		/* Pending: it may be ours (its class may be created later, or be the default) */
		PVC_HEAD "\"annotations\":{\"a\":\"b\"}}," PVC_SPEC "\"volumeName\":\"pv9\"},"
		"\"status\":{\"phase\":\"Pending\"}}",
		/* Bound by phase but no volumeName */
		PVC_HEAD "\"annotations\":{\"a\":\"b\"}}," PVC_SPEC "\"volumeMode\":\"Block\"},"
		"\"status\":{\"phase\":\"Bound\"}}",
		/* a clone source of ours */
		PVC_HEAD "\"annotations\":{\"a\":\"b\"},\"finalizers\":[\"kubernetes.io/pvc-protection\","
		"\"" FINALIZER_CLONE_SOURCE "\"]}," PVC_SPEC "\"volumeName\":\"pv9\"},"
		"\"status\":{\"phase\":\"Bound\"}}",
		/* the old claim mark */
		PVC_HEAD "\"annotations\":{\"a\":\"b\",\"" ANN_CLAIM_VOLUME "\":\"pvc-1\"}}," PVC_SPEC
		"\"volumeName\":\"pv9\"},\"status\":{\"phase\":\"Bound\"}}",
		PVC_HEAD "\"annotations\":{\"a\":\"b\",\"" ANN_CLAIM_IN_DOUBT "\":\"x\"}}," PVC_SPEC
		"\"volumeName\":\"pv9\"},\"status\":{\"phase\":\"Bound\"}}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool t;
		struct kube_pvc *p = pvc_cached(cases[i], &t);

		if (t)
			fail_msg("case %zu trimmed: %s", i, cases[i]);
		assert_int_equal(p->meta.labels.n, 1);
		assert_string_equal(strmap_get(&p->meta.annotations, "a"), "b");
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_foreign_pv_trimmed),
		cmocka_unit_test(test_pv_of_ours_whole),
		cmocka_unit_test(test_bound_claim_trimmed),
		cmocka_unit_test(test_claim_not_bound_or_marked_whole),
	};

	return cmocka_run_group_tests_name("trim", tests, NULL, NULL);
}
