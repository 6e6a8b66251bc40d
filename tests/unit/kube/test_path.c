// SPDX-License-Identifier: Apache-2.0
/*
 * test_path.c - kube_path_object / _collection / _list and the DNS-1123
 * name rules: crafted names (traversal, separators, escapes, control
 * characters, overlong) never become a path; valid ones give the exact
 * path. One cmocka test per table row.
 */
#include "kube_test.h"

#include "base/err.h"
#include "kube/path.h"
#include "kube/status.h"

struct path_case {
	enum kube_resource r;
	const char *ns, *name;
	const char *want;	/* NULL: KUBE_ERR_INVALID */
	const char *msg;	/* part of the error message */
};

#define LONG63 "a23456789012345678901234567890123456789012345678901234567890123"
#define LONG64 LONG63 "4"
/* 4 * 63 + 3 dots = 255 > 253, though every label is fine */
#define LONG255 LONG63 "." LONG63 "." LONG63 "." LONG63
#define LONG253 LONG63 "." LONG63 "." LONG63 "." "a23456789012345678901234567890123456789012345678901234567890"

static const struct path_case cases[] = {
	{ KUBE_RES_PVC, "ns1", "claim-1", "/api/v1/namespaces/ns1/persistentvolumeclaims/claim-1", 0 },
	{ KUBE_RES_PV, NULL, "pvc-0a1b", "/api/v1/persistentvolumes/pvc-0a1b", 0 },
	{ KUBE_RES_SECRET, "kube-system", "a.b.c", "/api/v1/namespaces/kube-system/secrets/a.b.c", 0 },
	{ KUBE_RES_SNAPSHOT, "n", "snap", "/apis/snapshot.storage.k8s.io/v1/namespaces/n/volumesnapshots/snap", 0 },
	{ KUBE_RES_SNAPSHOT_CONTENT, NULL, "snapcontent-1", "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/snapcontent-1", 0 },
	{ KUBE_RES_VAC, NULL, "gold", "/apis/storage.k8s.io/v1/volumeattributesclasses/gold", 0 },
	{ KUBE_RES_STORAGE_CLASS, NULL, "fast", "/apis/storage.k8s.io/v1/storageclasses/fast", 0 },
	{ KUBE_RES_NODE, NULL, "node-1.example.com", "/api/v1/nodes/node-1.example.com", 0 },
	{ KUBE_RES_EVENT, "ns", "claim.17a", "/api/v1/namespaces/ns/events/claim.17a", 0 },
	{ KUBE_RES_LEASE, "ns", "x-y", "/apis/coordination.k8s.io/v1/namespaces/ns/leases/x-y", 0 },
	{ KUBE_RES_CONFIGMAP, "ns", "j-0", "/api/v1/namespaces/ns/configmaps/j-0", 0 },
	{ KUBE_RES_REFERENCE_GRANT, "src", "g", "/apis/gateway.networking.k8s.io/v1beta1/namespaces/src/referencegrants/g", 0 },
	{ KUBE_RES_PVC, "n", "0", "/api/v1/namespaces/n/persistentvolumeclaims/0", 0 },
	{ KUBE_RES_VOLUME_ATTACHMENT, NULL, "csi-0a", "/apis/storage.k8s.io/v1/volumeattachments/csi-0a", 0 },
	{ KUBE_RES_CSINODE, NULL, "node-1", "/apis/storage.k8s.io/v1/csinodes/node-1", 0 },
	{ KUBE_RES_CSI_CAPACITY, "ns", "csisc-1", "/apis/storage.k8s.io/v1/namespaces/ns/csistoragecapacities/csisc-1", 0 },
	{ KUBE_RES_PV, NULL, LONG253, "/api/v1/persistentvolumes/" LONG253, 0 },
	/* traversal and separators */
	{ KUBE_RES_SNAPSHOT, "n", "../../secrets/x", NULL, "invalid VolumeSnapshot name \"../../secrets/x\"" },
	{ KUBE_RES_PVC, "n", "..", NULL, "\"..\"" },
	{ KUBE_RES_PVC, "n", ".", NULL, "\".\"" },
	{ KUBE_RES_PVC, "n", "a/b", NULL, "\"a/b\"" },
	{ KUBE_RES_PVC, "n", "a%2Fb", NULL, "\"a%2Fb\"" },
	{ KUBE_RES_PVC, "n", "a?watch=1", NULL, "DNS-1123 subdomain" },
	{ KUBE_RES_PVC, "n", "a#b", NULL, "DNS-1123 subdomain" },
	{ KUBE_RES_PVC, "n", "a\\b", NULL, "\"a\\\\b\"" },
	{ KUBE_RES_PVC, "n", "a\nb", NULL, "\"a\\nb\"" },
	{ KUBE_RES_PVC, "n", "a\r\nHost: x", NULL, "\"a\\x0d\\nHost: x\"" },
	{ KUBE_RES_PVC, "n", "a b", NULL, "DNS-1123 subdomain" },
	{ KUBE_RES_PVC, "n", "\xc3\xa9t\xc3\xa9", NULL, "\"\\xc3\\xa9t\\xc3\\xa9\"" },
	/* shape of the name */
	{ KUBE_RES_PVC, "n", "", NULL, "DNS-1123 subdomain" },
	{ KUBE_RES_PVC, "n", NULL, NULL, "no PersistentVolumeClaim name" },
	{ KUBE_RES_PVC, "n", "Claim", NULL, "DNS-1123 subdomain" },
	{ KUBE_RES_PVC, "n", "-a", NULL, "DNS-1123 subdomain" },
	{ KUBE_RES_PVC, "n", "a-", NULL, "DNS-1123 subdomain" },
	{ KUBE_RES_PVC, "n", "a..b", NULL, "DNS-1123 subdomain" },
	{ KUBE_RES_PVC, "n", ".a", NULL, "DNS-1123 subdomain" },
	{ KUBE_RES_PVC, "n", "a.", NULL, "DNS-1123 subdomain" },
	{ KUBE_RES_PVC, "n", "a_b", NULL, "DNS-1123 subdomain" },
	{ KUBE_RES_PV, NULL, LONG255, NULL, "\"" LONG63 ".a234567890123456\"..." },
	/* namespaces are labels */
	{ KUBE_RES_SECRET, "..", "x", NULL, "invalid namespace of a Secret \"..\"" },
	{ KUBE_RES_SECRET, "a.b", "x", NULL, "DNS-1123 label" },
	{ KUBE_RES_SECRET, LONG64, "x", NULL, "DNS-1123 label" },
	{ KUBE_RES_SECRET, LONG63, "x", "/api/v1/namespaces/" LONG63 "/secrets/x", 0 },
	{ KUBE_RES_SECRET, "", "x", NULL, "DNS-1123 label" },
	/* scope */
	{ KUBE_RES_SECRET, NULL, "x", NULL, "needs a namespace" },
	{ KUBE_RES_PV, "n", "x", NULL, "not namespaced" },
};

static void test_object(void **state)
{
	const struct path_case *c = *state;
	struct err e = ERR_INIT;
	char *out = (char *)"unset";
	int rc = kube_path_object(&out, c->r, c->ns, c->name, &e);

	if (c->want) {
		assert_int_equal(rc, 0);
		assert_string_equal(out, c->want);
	} else {
		assert_int_equal(rc, KUBE_ERR_INVALID);
		assert_null(out);
		assert_contains(err_msg(&e), c->msg);
	}
	free(out);
	err_release(&e);
}

static void test_collections(void **state)
{
	struct err e = ERR_INIT;
	char *out = NULL;

	(void)state;
	assert_int_equal(kube_path_collection(&out, KUBE_RES_EVENT, "n-1", &e), 0);
	assert_string_equal(out, "/api/v1/namespaces/n-1/events");
	free(out);
	assert_int_equal(kube_path_collection(&out, KUBE_RES_PVC, NULL, &e), 0);
	assert_string_equal(out, "/api/v1/persistentvolumeclaims");
	free(out);
	assert_int_equal(kube_path_collection(&out, KUBE_RES_LEASE, "../x", &e), KUBE_ERR_INVALID);
	assert_null(out);
	assert_contains(err_msg(&e), "\"../x\"");
	err_release(&e);
}

/* Every query value is escaped; the informers' constants are the table's paths. */
static void test_lists(void **state)
{
	struct kube_list_query q = { .label_selector = "a=b,c in (d)", .limit = 500,
				     .cont = "tok/en&x=y" };
	struct err e = ERR_INIT;
	char *out = NULL;

	(void)state;
	assert_int_equal(kube_path_list(&out, KUBE_RES_CONFIGMAP, "ns", &q, &e), 0);
	assert_string_equal(out, "/api/v1/namespaces/ns/configmaps?labelSelector=a%3Db%2Cc%20in%20"
			    "%28d%29&limit=500&continue=tok%2Fen%26x%3Dy");
	free(out);
	q = (struct kube_list_query){ .field_selector = "involvedObject.name=c&d" };
	assert_int_equal(kube_path_list(&out, KUBE_RES_EVENT, "ns", &q, &e), 0);
	assert_string_equal(out, "/api/v1/namespaces/ns/events?fieldSelector=involvedObject.name%3Dc%26d");
	free(out);
	assert_int_equal(kube_path_list(&out, KUBE_RES_SNAPSHOT, NULL, NULL, &e), 0);
	assert_string_equal(out, "/apis/snapshot.storage.k8s.io/v1/volumesnapshots");
	free(out);
	assert_int_equal(kube_path_list(&out, KUBE_RES_CONFIGMAP, "../x", &q, &e), KUBE_ERR_INVALID);
	assert_null(out);
	err_release(&e);
	assert_int_equal(kube_path_collection(&out, KUBE_RES_VOLUME_ATTACHMENT, NULL, &e), 0);
	assert_string_equal(out, KUBE_PATH_ALL_VOLUME_ATTACHMENT);
	free(out);
}

static void test_label_rule(void **state)
{
	(void)state;
	assert_true(kube_name_is_dns1123_label("a"));
	assert_true(kube_name_is_dns1123_label("a-1"));
	assert_true(kube_name_is_dns1123_label(LONG63));
	assert_false(kube_name_is_dns1123_label(LONG64));
	assert_false(kube_name_is_dns1123_label("a.b"));
	assert_false(kube_name_is_dns1123_label(NULL));
	assert_false(kube_name_is_dns1123_label("A"));
}

static void test_check_without_path(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_name_check(KUBE_RES_SNAPSHOT, "n", "ok", &e), 0);
	assert_int_equal(kube_name_check(KUBE_RES_SNAPSHOT, NULL, "../x", &e), KUBE_ERR_INVALID);
	assert_contains(err_msg(&e), "invalid VolumeSnapshot name \"../x\"");
	err_release(&e);
	assert_int_equal(kube_namespace_check("kube-system", &e), 0);
	assert_int_equal(kube_namespace_check("../x", &e), KUBE_ERR_INVALID);
	assert_contains(err_msg(&e), "invalid namespace \"../x\"");
	assert_int_equal(kube_namespace_check(NULL, &e), KUBE_ERR_INVALID);
	err_release(&e);
}

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

int main(void)
{
	static struct CMUnitTest tests[N_CASES + 4];
	static char names[N_CASES][128];
	size_t n = 0;

	for (size_t i = 0; i < N_CASES; i++) {
		char *q = kube_name_quote(cases[i].name, 40);

		snprintf(names[n], sizeof(names[n]), "%s %s %s", kube_resource_kind(cases[i].r), q,
			 cases[i].want ? "builds" : "is refused");
		free(q);
		tests[n] = (struct CMUnitTest){ names[n], test_object, NULL, NULL,
						(void *)&cases[i] };
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_collections);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_lists);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_label_rule);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_check_without_path);
	return kt_run("path", tests, n);
}
