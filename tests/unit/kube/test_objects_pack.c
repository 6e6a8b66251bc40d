// SPDX-License-Identifier: Apache-2.0
/*
 * test_objects_pack.c - packed copies of decoded PVCs and PVs
 * (src/kube/objects_pack.c): every field equal to the decoded object's,
 * every pointer inside the one block, nothing borrowed from the source
 * (the source is released before the copy is read; ASan builds see any
 * use after free), unset fields stay unset.
 */
#include "kube_test.h"

#include "base/err.h"
#include "kube/objects.h"

static const char meta_json[] =
	"\"metadata\":{\"name\":\"data\",\"namespace\":\"ns1\",\"uid\":\"u-1\","
	"\"resourceVersion\":\"123\",\"generation\":2,\"deletionTimestamp\":\"2024-01-01T00:00:00Z\","
	"\"annotations\":{\"a/one\":\"1\",\"a/two\":\"\"},\"labels\":{\"app\":\"db\"},"
	"\"finalizers\":[\"f/one\",\"f/two\"]}";

static const char pvc_json[] =
	"{\"kind\":\"PersistentVolumeClaim\",%s,"
	"\"spec\":{\"storageClassName\":\"fast\",\"accessModes\":[\"ReadWriteOnce\",\"ReadOnlyMany\"],"
	"\"resources\":{\"requests\":{\"storage\":\"1Gi\"},\"limits\":{\"storage\":\"2Gi\"}},"
	"\"volumeName\":\"pv-1\",\"volumeMode\":\"Block\",\"selector\":{},"
	"\"dataSourceRef\":{\"kind\":\"VolumeSnapshot\",\"apiGroup\":\"snapshot.storage.k8s.io\","
	"\"name\":\"snap\",\"namespace\":\"other\"},\"volumeAttributesClassName\":\"gold\"},"
	"\"status\":{\"phase\":\"Bound\",\"capacity\":{\"storage\":\"1Gi\"}}}";

static const char pv_json[] =
	"{\"kind\":\"PersistentVolume\",%s,"
	"\"spec\":{\"capacity\":{\"storage\":\"1Gi\"},\"persistentVolumeReclaimPolicy\":\"Delete\","
	"\"storageClassName\":\"fast\",\"nodeAffinity\":%s,"
	"\"csi\":{\"driver\":\"d.example.com\",\"volumeHandle\":\"h-1\"},"
	"\"claimRef\":{\"namespace\":\"ns1\",\"name\":\"data\",\"uid\":\"u-1\",\"resourceVersion\":\"9\"},"
	"\"azureFile\":{\"shareName\":\"share\",\"secretName\":\"s\",\"secretNamespace\":\"sn\","
	"\"readOnly\":true}},"
	"\"status\":{\"phase\":\"Released\"}}";

/* two terms: expressions with and without values, and one of matchFields */
static const char affinity_json[] =
	"{\"required\":{\"nodeSelectorTerms\":["
	"{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"z1\",\"z2\"]},"
	"{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]},"
	"{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"n1\"]}]}]}}";

struct block {
	const char *start;
	size_t len;
};

static void in_block(const struct block *b, const void *p)
{
	if (p && ((const char *)p < b->start || (const char *)p >= b->start + b->len))
		fail_msg("a pointer outside the packed block");
}

/* `got` is a copy of `want` inside b (both NULL, or equal and inside). */
static void same_str(const struct block *b, const char *got, const char *want)
{
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_ptr_not_equal(got, want);
	assert_string_equal(got, want);
	in_block(b, got);
	in_block(b, got + strlen(got));
}

static void same_strmap(const struct block *b, const struct strmap *got,
			const struct strmap *want)
{
	if (!want->items) {
		assert_null(got->items);
		return;
	}
	in_block(b, got->items);
	in_block(b, (char *)(got->items + want->n) - 1);
	for (size_t i = 0; i < want->n; i++) {
		same_str(b, got->items[i].key, want->items[i].key);
		same_str(b, got->items[i].value, want->items[i].value);
	}
}

static void same_strv(const struct block *b, char **got, char **want, size_t n)
{
	if (!want) {
		assert_null(got);
		return;
	}
	in_block(b, got);
	in_block(b, (char *)(got + n) - 1);
	for (size_t i = 0; i < n; i++)
		same_str(b, got[i], want[i]);
}

static void same_meta(const struct block *b, const struct kube_meta *got,
		      const struct kube_meta *want)
{
	same_str(b, got->name, want->name);
	same_str(b, got->namespace, want->namespace);
	same_str(b, got->uid, want->uid);
	same_str(b, got->resource_version, want->resource_version);
	assert_int_equal(got->generation, want->generation);
	assert_int_equal(got->deleting, want->deleting);
	assert_int_equal(got->annotations.n, want->annotations.n);
	same_strmap(b, &got->annotations, &want->annotations);
	assert_int_equal(got->labels.n, want->labels.n);
	same_strmap(b, &got->labels, &want->labels);
	assert_int_equal(got->n_finalizers, want->n_finalizers);
	same_strv(b, got->finalizers, want->finalizers, want->n_finalizers);
}

static void pvc_packed_equal(const char *meta)
{
	char text[2048];
	struct kube_pvc src, again;
	struct err e = ERR_INIT;
	struct block b;
	struct kube_pvc *p;
	json_t *j;

	snprintf(text, sizeof(text), pvc_json, meta);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_int_equal(kube_pvc_decode(j, &src, &e), 0);
	b.len = kube_pvc_packed_size(&src);
	b.start = malloc(b.len);
	kube_pvc_pack(&src, (void *)b.start);
	p = (struct kube_pvc *)b.start;
	same_meta(&b, &p->meta, &src.meta);
	same_str(&b, p->storage_class_name, src.storage_class_name);
	assert_int_equal(p->n_access_modes, src.n_access_modes);
	same_strv(&b, p->access_modes, src.access_modes, src.n_access_modes);
	assert_int_equal(p->request_bytes, src.request_bytes);
	assert_int_equal(p->has_request, src.has_request);
	assert_int_equal(p->limit_bytes, src.limit_bytes);
	assert_int_equal(p->has_limit, src.has_limit);
	same_str(&b, p->volume_name, src.volume_name);
	same_str(&b, p->volume_mode, src.volume_mode);
	assert_int_equal(p->has_selector, src.has_selector);
	same_str(&b, p->data_source_kind, src.data_source_kind);
	same_str(&b, p->data_source_api_group, src.data_source_api_group);
	same_str(&b, p->data_source_name, src.data_source_name);
	same_str(&b, p->data_source_namespace, src.data_source_namespace);
	same_str(&b, p->vac_name, src.vac_name);
	same_str(&b, p->phase, src.phase);
	assert_int_equal(p->status_capacity_bytes, src.status_capacity_bytes);
	assert_int_equal(p->has_status_capacity, src.has_status_capacity);
	/* nothing borrowed: the copy still reads the same once the source is gone */
	kube_pvc_release(&src);
	assert_int_equal(kube_pvc_decode(j, &again, &e), 0);
	same_meta(&b, &p->meta, &again.meta);
	same_str(&b, p->phase, again.phase);
	kube_pvc_release(&again);
	free((void *)b.start);
	json_decref(j);
}

static void test_pvc_every_field(void **state)
{
	(void)state;
	pvc_packed_equal(meta_json);
}

static void test_pvc_unset_fields(void **state)
{
	(void)state;
	pvc_packed_equal("\"metadata\":{\"name\":\"bare\"}");
}

static void same_affinity(const struct block *b, const struct kube_pv *got,
			  const struct kube_pv *want)
{
	assert_int_equal(got->n_affinity, want->n_affinity);
	if (!want->affinity) {
		assert_null(got->affinity);
		return;
	}
	in_block(b, got->affinity);
	for (size_t i = 0; i < want->n_affinity; i++) {
		const struct kube_topology_term *gt = &got->affinity[i], *wt = &want->affinity[i];

		assert_int_equal(gt->n_reqs, wt->n_reqs);
		if (wt->reqs)
			in_block(b, gt->reqs);
		for (size_t j = 0; j < wt->n_reqs; j++) {
			same_str(b, gt->reqs[j].key, wt->reqs[j].key);
			same_str(b, gt->reqs[j].op, wt->reqs[j].op);
			assert_int_equal(gt->reqs[j].n_values, wt->reqs[j].n_values);
			same_strv(b, gt->reqs[j].values, wt->reqs[j].values, wt->reqs[j].n_values);
		}
	}
}

static void pv_packed_equal(const char *meta, const char *affinity)
{
	char text[2048];
	struct kube_pv src, again;
	struct err e = ERR_INIT;
	struct block b;
	struct kube_pv *p;
	json_t *j;

	snprintf(text, sizeof(text), pv_json, meta, affinity);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_int_equal(kube_pv_decode(j, &src, &e), 0);
	assert_int_equal(src.intree.kind, KUBE_INTREE_AZURE_FILE);
	b.len = kube_pv_packed_size(&src);
	b.start = malloc(b.len);
	kube_pv_pack(&src, (void *)b.start);
	p = (struct kube_pv *)b.start;
	same_meta(&b, &p->meta, &src.meta);
	assert_int_equal(p->intree.kind, src.intree.kind);
	same_str(&b, p->intree.id, src.intree.id);
	same_str(&b, p->intree.fs_type, src.intree.fs_type);
	same_str(&b, p->intree.disk_kind, src.intree.disk_kind);
	same_str(&b, p->intree.secret_name, src.intree.secret_name);
	same_str(&b, p->intree.secret_namespace, src.intree.secret_namespace);
	assert_int_equal(p->intree.partition, src.intree.partition);
	assert_int_equal(p->intree.read_only, src.intree.read_only);
	same_str(&b, p->csi_driver, src.csi_driver);
	same_str(&b, p->csi_volume_handle, src.csi_volume_handle);
	same_str(&b, p->reclaim_policy, src.reclaim_policy);
	same_str(&b, p->phase, src.phase);
	same_str(&b, p->claim_ns, src.claim_ns);
	same_str(&b, p->claim_name, src.claim_name);
	same_str(&b, p->claim_uid, src.claim_uid);
	same_str(&b, p->claim_rv, src.claim_rv);
	same_str(&b, p->storage_class_name, src.storage_class_name);
	assert_int_equal(p->capacity_bytes, src.capacity_bytes);
	assert_int_equal(p->has_node_affinity, src.has_node_affinity);
	same_affinity(&b, p, &src);
	kube_pv_release(&src);
	assert_int_equal(kube_pv_decode(j, &again, &e), 0);
	same_meta(&b, &p->meta, &again.meta);
	same_str(&b, p->csi_volume_handle, again.csi_volume_handle);
	kube_pv_release(&again);
	free((void *)b.start);
	json_decref(j);
}

static void test_pv_every_field(void **state)
{
	(void)state;
	pv_packed_equal(meta_json, affinity_json);
}

static void test_pv_unset_fields(void **state)
{
	(void)state;
	pv_packed_equal("\"metadata\":{\"name\":\"bare\"}", "{}");
}

/* A packed object is smaller than the sum of its separate allocations. */
static void test_pv_packed_size_is_the_data(void **state)
{
	char text[2048];
	struct kube_pv src;
	struct err e = ERR_INIT;
	json_t *j;

	(void)state;
	snprintf(text, sizeof(text), pv_json, meta_json, "{}");
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_int_equal(kube_pv_decode(j, &src, &e), 0);
	/* the struct, the pointer arrays (annotations 2+2, labels 1+1, finalizers 2), the strings */
	assert_int_equal(kube_pv_packed_size(&src),
			 sizeof(src) + 8 * sizeof(char *) +
			 strlen("data") + strlen("ns1") + strlen("u-1") + strlen("123") +
			 strlen("a/one") + strlen("1") + strlen("a/two") + strlen("") +
			 strlen("app") + strlen("db") + strlen("f/one") + strlen("f/two") +
			 strlen("share") + strlen("s") + strlen("sn") +
			 strlen("d.example.com") + strlen("h-1") + strlen("Delete") +
			 strlen("Released") + strlen("ns1") + strlen("data") + strlen("u-1") +
			 strlen("9") + strlen("fast") + 24);
	kube_pv_release(&src);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pvc_every_field),
		cmocka_unit_test(test_pvc_unset_fields),
		cmocka_unit_test(test_pv_every_field),
		cmocka_unit_test(test_pv_unset_fields),
		cmocka_unit_test(test_pv_packed_size_is_the_data),
	};

	return kt_run("objects_pack", tests, sizeof(tests) / sizeof(tests[0]));
}
