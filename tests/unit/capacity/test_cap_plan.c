// SPDX-License-Identifier: Apache-2.0
/*
 * test_cap_plan.c - the pure decisions of capacity tracking: segments from
 * CSINodes and Nodes, which classes, owner references and their paths, the
 * object bodies, and when an existing object is patched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "capacity/cap_plan.h"
#include "kube/status.h"

#define DRIVER "hostpath.csi.k8s.io"

static json_t *parse(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);

	if (!j)
		fail_msg("bad test JSON: %s: %s", je.text, s);
	return j;
}

static struct kube_node *node(const char *json)
{
	struct kube_node *n = calloc(1, sizeof(*n));
	struct err e = ERR_INIT;
	json_t *j = parse(json);

	assert_int_equal(kube_node_decode(j, n, &e), 0);
	json_decref(j);
	return n;
}

static struct kube_csinode *csinode(const char *json)
{
	struct kube_csinode *n = calloc(1, sizeof(*n));
	struct err e = ERR_INIT;
	json_t *j = parse(json);

	assert_int_equal(kube_csinode_decode(j, n, &e), 0);
	json_decref(j);
	return n;
}

static struct cap_object *object(const char *json)
{
	struct cap_object *o = calloc(1, sizeof(*o));
	struct err e = ERR_INIT;
	json_t *j = parse(json);

	assert_int_equal(cap_object_decode(j, o, &e), 0);
	json_decref(j);
	return o;
}

static void free_object(struct cap_object *o)
{
	cap_object_release(o);
	free(o);
}

/* The segments of a cluster, as "k=v,k=v;k=v" (segments sorted). */
static char *segments_of(const char *const *nodes, const char *const *csinodes)
{
	struct kube_node *n[8];
	struct kube_csinode *c[8];
	size_t nn = 0, nc = 0, ns;
	struct strmap *segs;
	char out[1024] = "";

	for (; nodes[nn]; nn++)
		n[nn] = node(nodes[nn]);
	for (; csinodes[nc]; nc++)
		c[nc] = csinode(csinodes[nc]);
	cap_segments_from_nodes(DRIVER, (const struct kube_csinode *const *)c, nc,
				(const struct kube_node *const *)n, nn, &segs, &ns);
	for (size_t i = 0; i < ns; i++) {
		char *s = cap_segment_string(&segs[i]);

		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? ";" : "", s);
		free(s);
	}
	cap_segments_free(segs, ns);
	for (size_t i = 0; i < nn; i++) {
		kube_node_release(n[i]);
		free(n[i]);
	}
	for (size_t i = 0; i < nc; i++) {
		kube_csinode_release(c[i]);
		free(c[i]);
	}
	return strdup(out);
}

#define NODE(name, labels) "{\"metadata\":{\"name\":\"" name "\",\"labels\":{" labels "}}}"
#define CSINODE(name, drivers) "{\"metadata\":{\"name\":\"" name "\"},\"spec\":{\"drivers\":[" drivers "]}}"
#define OURS(keys) "{\"name\":\"" DRIVER "\",\"nodeID\":\"x\",\"topologyKeys\":[" keys "]}"
#define OTHER "{\"name\":\"other.csi\",\"nodeID\":\"x\",\"topologyKeys\":[\"zone\"]}"

static void test_segments(void **state)
{
	static const struct {
		const char *what;
		const char *nodes[4], *csinodes[4];
		const char *want;
	} cases[] = {
		{ "one node, one key",
		  { NODE("a", "\"zone\":\"z1\""), NULL }, { CSINODE("a", OURS("\"zone\"")), NULL },
		  "zone=z1" },
		{ "two nodes in one zone give one segment",
		  { NODE("a", "\"zone\":\"z1\""), NODE("b", "\"zone\":\"z1\""), NULL },
		  { CSINODE("a", OURS("\"zone\"")), CSINODE("b", OURS("\"zone\"")), NULL },
		  "zone=z1" },
		{ "sorted by key and by segment",
		  { NODE("a", "\"zone\":\"z2\",\"rack\":\"r1\""), NODE("b", "\"rack\":\"r1\",\"zone\":\"z1\""),
		    NULL },
		  { CSINODE("a", OURS("\"zone\",\"rack\"")), CSINODE("b", OURS("\"zone\",\"rack\"")), NULL },
		  "rack=r1,zone=z1;rack=r1,zone=z2" },
		{ "a node lacking a key label is left out",
		  { NODE("a", "\"zone\":\"z1\""), NODE("b", "\"other\":\"x\""), NULL },
		  { CSINODE("a", OURS("\"zone\"")), CSINODE("b", OURS("\"zone\"")), NULL },
		  "zone=z1" },
		{ "a CSINode without our driver is left out",
		  { NODE("a", "\"zone\":\"z1\""), NODE("b", "\"zone\":\"z2\""), NULL },
		  { CSINODE("a", OURS("\"zone\"")), CSINODE("b", OTHER), NULL },
		  "zone=z1" },
		{ "a CSINode without its Node is left out",
		  { NODE("a", "\"zone\":\"z1\""), NULL },
		  { CSINODE("a", OURS("\"zone\"")), CSINODE("gone", OURS("\"zone\"")), NULL },
		  "zone=z1" },
		{ "our driver without topology keys: the empty segment",
		  { NODE("a", "\"zone\":\"z1\""), NULL }, { CSINODE("a", OURS("")), NULL },
		  "(no topology)" },
		{ "no CSINode lists the driver: no segment",
		  { NODE("a", "\"zone\":\"z1\""), NULL }, { CSINODE("a", OTHER), NULL }, "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = segments_of(cases[i].nodes, cases[i].csinodes);

		if (strcmp(got, cases[i].want))
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].what, got, cases[i].want);
		free(got);
	}
}

static void test_item_keys(void **state)
{
	const char *k1[] = { "zone", "rack" }, *v1[] = { "z1", "r1" };
	const char *k2[] = { "rack", "zone" }, *v2[] = { "r1", "z1" };
	const char *k3[] = { "zone" }, *v3[] = { "z1,rack=r1" };
	struct strmap a, b, c;
	char *ka, *kb, *kc, *kd;

	(void)state;
	cap_segment_from_pairs(&a, k1, v1, 2);
	cap_segment_from_pairs(&b, k2, v2, 2);
	cap_segment_from_pairs(&c, k3, v3, 1);
	assert_true(strmap_equal(&a, &b));
	ka = cap_item_key("fast", &a);
	kb = cap_item_key("fast", &b);
	kc = cap_item_key("fast", &c);
	kd = cap_item_key("slow", &a);
	assert_string_equal(ka, kb);		/* the order of the pairs does not matter */
	assert_string_not_equal(ka, kc);	/* a value cannot forge another segment */
	assert_string_not_equal(ka, kd);
	free(ka);
	free(kb);
	free(kc);
	free(kd);
	strmap_release(&a);
	strmap_release(&b);
	strmap_release(&c);
}

static void test_class_wanted(void **state)
{
	static const struct {
		const char *json;
		bool immediate, want;
	} cases[] = {
		{ "{\"metadata\":{\"name\":\"a\"},\"provisioner\":\"" DRIVER "\","
		  "\"volumeBindingMode\":\"WaitForFirstConsumer\"}", false, true },
		{ "{\"metadata\":{\"name\":\"a\"},\"provisioner\":\"" DRIVER "\","
		  "\"volumeBindingMode\":\"Immediate\"}", false, false },
		{ "{\"metadata\":{\"name\":\"a\"},\"provisioner\":\"" DRIVER "\"}", false, false },
		{ "{\"metadata\":{\"name\":\"a\"},\"provisioner\":\"" DRIVER "\"}", true, true },
		{ "{\"metadata\":{\"name\":\"a\"},\"provisioner\":\"other\","
		  "\"volumeBindingMode\":\"WaitForFirstConsumer\"}", true, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_storage_class sc;
		struct err e = ERR_INIT;
		json_t *j = parse(cases[i].json);

		assert_int_equal(kube_storage_class_decode(j, &sc, &e), 0);
		if (cap_class_wanted(&sc, DRIVER, cases[i].immediate) != cases[i].want)
			fail_msg("case %zu: %s, immediate %d", i, cases[i].json, cases[i].immediate);
		kube_storage_class_release(&sc);
		json_decref(j);
	}
}

static void test_owner_path(void **state)
{
	static const struct {
		const char *api_version, *kind, *name, *want;
	} cases[] = {
		{ "v1", "Pod", "web-0", "/api/v1/namespaces/ns/pods/web-0" },
		{ "apps/v1", "ReplicaSet", "web-5d4f", "/apis/apps/v1/namespaces/ns/replicasets/web-5d4f" },
		{ "apps/v1", "Deployment", "web", "/apis/apps/v1/namespaces/ns/deployments/web" },
		{ "apps/v1", "StatefulSet", "db", "/apis/apps/v1/namespaces/ns/statefulsets/db" },
		{ "apps/v1", "ReplicaSet", "../secrets/x", NULL },
		{ "apps/v1", "Replica/Set", "x", NULL },
		{ "apps/v1/x", "ReplicaSet", "x", NULL },
		{ "Apps/v1", "ReplicaSet", "x", NULL },
		{ "", "Pod", "x", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cap_owner o = { (char *)cases[i].api_version, (char *)cases[i].kind,
				       (char *)cases[i].name, NULL };
		struct err e = ERR_INIT;
		char *path = NULL;
		int rc = cap_owner_path("ns", &o, &path, &e);

		if (cases[i].want) {
			if (rc || strcmp(path, cases[i].want))
				fail_msg("case %zu: got %s (%s)", i, path ? path : "error", err_msg(&e));
		} else if (!rc || !strlen(err_msg(&e))) {
			fail_msg("case %zu: %s %s %s accepted as %s", i, cases[i].api_version,
				 cases[i].kind, cases[i].name, path);
		}
		free(path);
		err_release(&e);
	}
}

static void test_controller_ref(void **state)
{
	struct cap_owner o;
	struct err e = ERR_INIT;
	json_t *j;

	(void)state;
	j = parse("{\"metadata\":{\"ownerReferences\":["
		  "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":\"n\",\"uid\":\"1\"},"
		  "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"uid\":\"2\","
		  "\"controller\":true}]}}");
	assert_int_equal(cap_controller_ref(j, "pod ns/p", &o, &e), 0);
	assert_string_equal(o.kind, "ReplicaSet");
	assert_string_equal(o.name, "rs");
	assert_string_equal(o.uid, "2");
	assert_string_equal(o.api_version, "apps/v1");
	cap_owner_release(&o);
	json_decref(j);

	j = parse("{\"metadata\":{\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Node\","
		  "\"name\":\"n\",\"uid\":\"1\"}]}}");
	assert_int_equal(cap_controller_ref(j, "pod ns/p", &o, &e), KUBE_ERR_NOT_FOUND);
	assert_non_null(strstr(err_msg(&e), "pod ns/p has no controlling owner"));
	err_release(&e);
	json_decref(j);

	j = parse("{\"metadata\":{\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
		  "\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"controller\":true}]}}");
	assert_int_equal(cap_controller_ref(j, "pod ns/p", &o, &e), KUBE_ERR_DECODE);
	assert_non_null(strstr(err_msg(&e), "lacks uid"));
	err_release(&e);
	json_decref(j);

	j = parse("{\"metadata\":{\"ownerReferences\":\"x\"}}");
	assert_int_equal(cap_controller_ref(j, "pod ns/p", &o, &e), KUBE_ERR_DECODE);
	err_release(&e);
	json_decref(j);
}

static const struct cap_owner owner = { "apps/v1", "ReplicaSet", "csi-6b7", "uid-rs" };

static void test_object_new(void **state)
{
	const char *k[] = { "zone" }, *v[] = { "z1" };
	struct cap_params p = { "kube-system", DRIVER, CAP_MANAGED_BY, &owner };
	struct cap_value val = { 10737418240LL, true, 1073741824LL };
	struct strmap s;
	struct cap_object *o;
	struct err e = ERR_INIT;
	json_t *j, *want;
	char *txt;

	(void)state;
	cap_segment_from_pairs(&s, k, v, 1);
	j = cap_object_new(&p, "fast", &s, &val);
	want = parse("{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"CSIStorageCapacity\","
		     "\"metadata\":{\"generateName\":\"csisc-\",\"namespace\":\"kube-system\","
		     "\"labels\":{\"csi.storage.k8s.io/drivername\":\"" DRIVER "\","
		     "\"csi.storage.k8s.io/managed-by\":\"external-provisioner\"},"
		     "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
		     "\"name\":\"csi-6b7\",\"uid\":\"uid-rs\",\"controller\":true}]},"
		     "\"storageClassName\":\"fast\",\"nodeTopology\":{\"matchLabels\":{\"zone\":\"z1\"}},"
		     "\"capacity\":\"10Gi\",\"maximumVolumeSize\":\"1Gi\"}");
	txt = json_dumps(j, JSON_SORT_KEYS);
	if (!json_equal(j, want))
		fail_msg("object: %s", txt);
	free(txt);
	/* what we write, read back, is ours and matches its item */
	json_object_set_new(json_object_get(j, "metadata"), "name", json_string("csisc-abc"));
	o = calloc(1, sizeof(*o));
	assert_int_equal(cap_object_decode(j, o, &e), 0);
	assert_true(cap_object_managed(o, DRIVER, CAP_MANAGED_BY));
	assert_false(cap_object_managed(o, DRIVER, "external-provisioner-node-1"));
	assert_true(cap_object_matches(o, "fast", &s));
	assert_false(cap_object_matches(o, "slow", &s));
	assert_null(cap_update_patch(o, &p, &val));
	free_object(o);
	json_decref(j);
	json_decref(want);

	/* no owner, no maximum, no topology */
	p.owner = NULL;
	val.has_max = false;
	strmap_release(&s);
	j = cap_object_new(&p, "fast", &s, &val);
	assert_null(json_object_get(json_object_get(j, "metadata"), "ownerReferences"));
	assert_null(json_object_get(j, "maximumVolumeSize"));
	assert_int_equal(json_object_size(json_object_get(json_object_get(j, "nodeTopology"),
							  "matchLabels")), 0);
	json_decref(j);
}

#define OBJ(extra) "{\"metadata\":{\"name\":\"csisc-1\",\"namespace\":\"ns\",\"uid\":\"u1\"," \
	"\"resourceVersion\":\"7\",\"labels\":{\"csi.storage.k8s.io/drivername\":\"" DRIVER "\"," \
	"\"csi.storage.k8s.io/managed-by\":\"external-provisioner\"}" extra "}," \
	"\"storageClassName\":\"fast\",\"nodeTopology\":{\"matchLabels\":{\"zone\":\"z1\"}}," \
	"\"capacity\":\"100Mi\",\"maximumVolumeSize\":\"10Mi\"}"
#define OURS_REF ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\"," \
	"\"name\":\"csi-6b7\",\"uid\":\"uid-rs\",\"controller\":true}]"

static void test_update_patch(void **state)
{
	static const struct {
		const char *what, *obj;
		struct cap_value v;
		const char *want;	/* NULL: no write */
	} cases[] = {
		{ "same values, our owner", OBJ(OURS_REF), { 104857600, true, 10485760 }, NULL },
		{ "capacity changed", OBJ(OURS_REF), { 94371840, true, 10485760 },
		  "{\"metadata\":{\"resourceVersion\":\"7\"},\"capacity\":\"90Mi\"}" },
		{ "maximum gone", OBJ(OURS_REF), { 104857600, false, 0 },
		  "{\"metadata\":{\"resourceVersion\":\"7\"},\"maximumVolumeSize\":null}" },
		{ "maximum changed", OBJ(OURS_REF), { 104857600, true, 1024 },
		  "{\"metadata\":{\"resourceVersion\":\"7\"},\"maximumVolumeSize\":\"1Ki\"}" },
		{ "no owner yet: ours is added", OBJ(""), { 104857600, true, 10485760 },
		  "{\"metadata\":{\"resourceVersion\":\"7\",\"ownerReferences\":[{\"apiVersion\":"
		  "\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"csi-6b7\",\"uid\":\"uid-rs\","
		  "\"controller\":true}]}}" },
		{ "another controller is replaced, other references stay",
		  OBJ(",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
		      "\"name\":\"old\",\"uid\":\"uid-old\",\"controller\":true},{\"apiVersion\":\"v1\","
		      "\"kind\":\"ConfigMap\",\"name\":\"keep\",\"uid\":\"uid-cm\"}]"),
		  { 104857600, true, 10485760 },
		  "{\"metadata\":{\"resourceVersion\":\"7\",\"ownerReferences\":[{\"apiVersion\":\"v1\","
		  "\"kind\":\"ConfigMap\",\"name\":\"keep\",\"uid\":\"uid-cm\"},{\"apiVersion\":"
		  "\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"csi-6b7\",\"uid\":\"uid-rs\","
		  "\"controller\":true}]}}" },
	};
	struct cap_params p = { "ns", DRIVER, CAP_MANAGED_BY, &owner };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cap_object *o = object(cases[i].obj);
		json_t *got = cap_update_patch(o, &p, &cases[i].v), *want;
		char *txt = got ? json_dumps(got, JSON_SORT_KEYS) : NULL;

		if (!cases[i].want) {
			if (got)
				fail_msg("%s: wrote %s", cases[i].what, txt);
		} else {
			want = parse(cases[i].want);
			if (!got || !json_equal(got, want))
				fail_msg("%s: got %s", cases[i].what, txt ? txt : "no write");
			json_decref(want);
		}
		free(txt);
		json_decref(got);
		free_object(o);
	}
}

static void test_object_matches(void **state)
{
	const char *k[] = { "zone" }, *v[] = { "z1" }, *v2[] = { "z2" };
	struct strmap z1, z2, none = { 0 };
	struct cap_object *o;

	(void)state;
	cap_segment_from_pairs(&z1, k, v, 1);
	cap_segment_from_pairs(&z2, k, v2, 1);
	o = object(OBJ(""));
	assert_true(cap_object_matches(o, "fast", &z1));
	assert_false(cap_object_matches(o, "fast", &z2));
	assert_false(cap_object_matches(o, "fast", &none));
	free_object(o);
	/* a selector with expressions is not one of ours */
	o = object("{\"metadata\":{\"name\":\"x\"},\"storageClassName\":\"fast\",\"nodeTopology\":"
		   "{\"matchLabels\":{\"zone\":\"z1\"},\"matchExpressions\":[{\"key\":\"a\","
		   "\"operator\":\"Exists\"}]},\"capacity\":\"1\"}");
	assert_false(cap_object_matches(o, "fast", &z1));
	free_object(o);
	/* the empty selector is the segment without topology; an absent one is nothing */
	o = object("{\"metadata\":{\"name\":\"x\"},\"storageClassName\":\"fast\",\"nodeTopology\":{},"
		   "\"capacity\":\"1\"}");
	assert_true(cap_object_matches(o, "fast", &none));
	free_object(o);
	o = object("{\"metadata\":{\"name\":\"x\"},\"storageClassName\":\"fast\",\"capacity\":\"1\"}");
	assert_false(cap_object_matches(o, "fast", &none));
	free_object(o);
	strmap_release(&z1);
	strmap_release(&z2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_item_keys),
		cmocka_unit_test(test_class_wanted),
		cmocka_unit_test(test_owner_path),
		cmocka_unit_test(test_controller_ref),
		cmocka_unit_test(test_object_new),
		cmocka_unit_test(test_update_patch),
		cmocka_unit_test(test_object_matches),
	};

	return cmocka_run_group_tests_name("capacity-plan", tests, NULL, NULL);
}
