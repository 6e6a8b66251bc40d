// SPDX-License-Identifier: Apache-2.0
/*
 * test_node_deploy.c - the pure decisions of --node-deployment
 * (src/provision/node_deploy.c): whose claim, the jittered growing delay
 * before taking one, which PVs are this node's (from PVs decoded as the API
 * server sends them), and names shortened as upstream's.
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

#include "provision/node_deploy.h"

static void test_claim_owner(void **state)
{
	static const struct {
		const char *selected, *node;
		enum nd_owner want;
	} cases[] = {
		{ NULL, "n1", ND_NONE },
		{ "", "n1", ND_NONE },
		{ "n1", "n1", ND_MINE },
		{ "n2", "n1", ND_OTHER },
		{ "n1x", "n1", ND_OTHER },
		{ "n", "n1", ND_OTHER },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (nd_claim_owner(cases[i].selected, cases[i].node) != cases[i].want)
			fail_msg("case %zu: selected %s, node %s", i,
				 cases[i].selected ? cases[i].selected : "(null)", cases[i].node);
}

static void test_delay(void **state)
{
	static const struct {
		int64_t base, max;
		unsigned requeues;
		double r;
		int64_t want;
	} cases[] = {
		/* first attempt: between 0 and base */
		{ 20000, 60000, 0, 0.0, 20000 },
		{ 20000, 60000, 0, 0.5, 10000 },
		{ 20000, 60000, 0, 0.999999, 1 },
		/* doubling per lost attempt, the jitter still up to base */
		{ 20000, 60000, 1, 0.0, 40000 },
		{ 20000, 60000, 1, 0.5, 30000 },
		/* capped at max */
		{ 20000, 60000, 2, 0.0, 60000 },
		{ 20000, 60000, 2, 0.25, 55000 },
		{ 20000, 60000, 40, 0.0, 60000 },
		{ 20000, 60000, 4000, 0.5, 50000 },
		/* base == max: always within [0, max] */
		{ 1000, 1000, 3, 0.0, 1000 },
		{ 1000, 1000, 3, 0.75, 250 },
		/* no delay */
		{ 0, 0, 0, 0.3, 0 },
		{ 0, 60000, 5, 0.3, 0 },
		/* r out of range is clamped, never a negative delay */
		{ 100, 100, 0, 1.5, 1 },
		{ 100, 100, 0, -1.0, 100 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = nd_delay_ms(cases[i].base, cases[i].max, cases[i].requeues, cases[i].r);

		if (got != cases[i].want)
			fail_msg("case %zu: base %lld max %lld requeues %u r %g: got %lld, want %lld", i,
				 (long long)cases[i].base, (long long)cases[i].max, cases[i].requeues,
				 cases[i].r, (long long)got, (long long)cases[i].want);
	}
}

/* A PV with `affinity` (a JSON nodeAffinity; NULL: none). */
static void pv_of(struct kube_pv *pv, const char *affinity)
{
	char buf[2048];
	struct err e = ERR_INIT;
	json_t *j;

	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"pvc-1\",\"uid\":\"u1\"},\"spec\":{\"csi\":"
		 "{\"driver\":\"hostpath.csi.k8s.io\",\"volumeHandle\":\"h\"}%s%s}}",
		 affinity ? ",\"nodeAffinity\":" : "", affinity ? affinity : "");
	j = test_json(buf);
	if (kube_pv_decode(j, pv, &e))
		fail_msg("%s: %s", buf, err_msg(&e));
	json_decref(j);
}

#define TERMS(x) "{\"required\":{\"nodeSelectorTerms\":[" x "]}}"
#define IN(k, v) "{\"key\":\"" k "\",\"operator\":\"In\",\"values\":[\"" v "\"]}"

static void test_volume_accessible(void **state)
{
	struct strmap_entry kv[] = { { "topology.hostpath.csi/node", "n1" }, { "rack", "7" } };
	struct strmap topo = { kv, 2, 0 }, empty = STRMAP_INIT;
	static const struct {
		const char *affinity;
		bool want;
	} cases[] = {
		/* no affinity: no node's (upstream: every node's, so any instance could
		 * delete it on its own driver and leave the real volume behind) */
		{ NULL, false },
		{ "{}", false },				/* no required part */
		{ TERMS("{\"matchExpressions\":[" IN("topology.hostpath.csi/node", "n1") "]}"), true },
		{ TERMS("{\"matchExpressions\":[" IN("topology.hostpath.csi/node", "n2") "]}"), false },
		/* requirements of a term all hold */
		{ TERMS("{\"matchExpressions\":[" IN("topology.hostpath.csi/node", "n1") ","
			IN("rack", "8") "]}"), false },
		/* terms are ORed */
		{ TERMS("{\"matchExpressions\":[" IN("topology.hostpath.csi/node", "n2") "]},"
			"{\"matchExpressions\":[" IN("topology.hostpath.csi/node", "n1") "]}"), true },
		/* a key the node lacks */
		{ TERMS("{\"matchExpressions\":[" IN("zone", "a") "]}"), false },
		{ TERMS("{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"DoesNotExist\"}]}"),
		  true },
		{ TERMS("{\"matchExpressions\":[{\"key\":\"rack\",\"operator\":\"Exists\"}]}"), true },
		{ TERMS("{\"matchExpressions\":[{\"key\":\"rack\",\"operator\":\"NotIn\","
			"\"values\":[\"7\"]}]}"), false },
		{ TERMS("{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\","
			"\"values\":[\"a\"]}]}"), true },
		{ TERMS("{\"matchExpressions\":[{\"key\":\"rack\",\"operator\":\"Gt\","
			"\"values\":[\"6\"]}]}"), true },
		{ TERMS("{\"matchExpressions\":[{\"key\":\"rack\",\"operator\":\"Lt\","
			"\"values\":[\"7\"]}]}"), false },
		{ TERMS("{\"matchExpressions\":[{\"key\":\"rack\",\"operator\":\"Gt\","
			"\"values\":[\"x\"]}]}"), false },
		/* an unknown operator, an empty term and matchFields match nothing */
		{ TERMS("{\"matchExpressions\":[{\"key\":\"rack\",\"operator\":\"Near\","
			"\"values\":[\"7\"]}]}"), false },
		{ TERMS("{}"), false },
		{ TERMS("{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\","
			"\"values\":[\"n1\"]}]}"), false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_pv pv;

		pv_of(&pv, cases[i].affinity);
		if (nd_volume_accessible(&pv, &topo) != cases[i].want)
			fail_msg("case %zu: %s: want %d", i, cases[i].affinity ? cases[i].affinity :
				 "(none)", cases[i].want);
		/* a driver without topology (refused at start): no PV is its own */
		assert_false(nd_volume_accessible(&pv, NULL));
		kube_pv_release(&pv);
	}
	/* an empty segment set is topology all the same: a node-bound PV is not ours */
	{
		struct kube_pv pv;

		pv_of(&pv, cases[2].affinity);
		assert_false(nd_volume_accessible(&pv, &empty));
		kube_pv_release(&pv);
	}
}

static void test_affinity_decode_errors(void **state)
{
	static const char *bad[] = {
		TERMS("\"x\""),
		"{\"required\":{\"nodeSelectorTerms\":{}}}",
		TERMS("{\"matchExpressions\":[{\"key\":3}]}"),
		TERMS("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":\"b\"}]}"),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[1024];
		struct kube_pv pv;
		struct err e = ERR_INIT;
		json_t *j;

		snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeAffinity\":%s}}",
			 bad[i]);
		j = test_json(buf);
		if (!kube_pv_decode(j, &pv, &e))
			fail_msg("%s was accepted", bad[i]);
		assert_non_null(strstr(err_msg(&e), "nodeSelectorTerms"));
		err_release(&e);
		json_decref(j);
	}
}

static void test_name_with_max_length(void **state)
{
	char *s;

	(void)state;
	s = nd_name_with_max_length("external-provisioner", "node-1", 63);
	assert_string_equal(s, "external-provisioner-node-1");
	free(s);
	/* no base: the suffix alone */
	s = nd_name_with_max_length("", "node-1", 63);
	assert_string_equal(s, "node-1");
	free(s);
	/* too long: a cut base, the FNV-1a hash of the base, the suffix */
	s = nd_name_with_max_length("external-provisioner",
				    "a-rather-long-node-name-in-a-large-cluster-number-42", 63);
	assert_int_equal(strlen(s), 63);
	/* 63 - 10 - 52 = 1 character of base; 53f40b57 = fnv1a("external-provisioner") */
	assert_string_equal(s, "e-53f40b57-a-rather-long-node-name-in-a-large-cluster-number-42");
	free(s);
	/* a suffix that leaves no room: the base cut and the hash of everything */
	s = nd_name_with_max_length("external-provisioner",
				    "a-very-very-long-node-name-in-an-even-larger-cluster-number-4242",
				    63);
	assert_string_equal(s, "external-provisioner-70a962fa");
	free(s);
}

/* FNV-1a as upstream's hash(): known values. */
static void test_name_hash(void **state)
{
	char *s;

	(void)state;
	/* 22 characters in 21: 21 - 10 - 10 = 1 character of base; fa682adb = fnv1a32(base) */
	s = nd_name_with_max_length("abcdefghijk", "0123456789", 21);
	assert_string_equal(s, "a-fa682adb-0123456789");
	free(s);
	s = nd_name_with_max_length("abcdefghijk", "0123456789", 22);
	assert_string_equal(s, "abcdefghijk-0123456789");
	free(s);
	/* no base and a suffix too long: its hash alone */
	s = nd_name_with_max_length("", "0123456789abcdef", 10);
	assert_string_equal(s, "87bc333d");
	free(s);
}

static void test_local_node(void **state)
{
	struct strmap_entry kv[] = { { "topology.hostpath.csi/node", "n1" } };
	struct csi_node_info info = { "n1-id", 0, true, { kv, 1, 0 } };
	struct kube_node n;
	struct kube_csinode cn;

	(void)state;
	nd_local_node("n1", "hostpath.csi.k8s.io", &info, &n, &cn);
	assert_string_equal(n.meta.name, "n1");
	assert_int_equal(n.meta.labels.n, 1);
	assert_string_equal(strmap_get(&n.meta.labels, "topology.hostpath.csi/node"), "n1");
	assert_string_equal(cn.meta.name, "n1");
	assert_int_equal(cn.n_drivers, 1);
	assert_string_equal(cn.drivers[0].name, "hostpath.csi.k8s.io");
	assert_string_equal(cn.drivers[0].node_id, "n1-id");
	assert_int_equal(cn.drivers[0].n_topology_keys, 1);
	assert_string_equal(cn.drivers[0].topology_keys[0], "topology.hostpath.csi/node");
	kube_node_release(&n);
	kube_csinode_release(&cn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claim_owner),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_volume_accessible),
		cmocka_unit_test(test_affinity_decode_errors),
		cmocka_unit_test(test_name_with_max_length),
		cmocka_unit_test(test_name_hash),
		cmocka_unit_test(test_local_node),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
