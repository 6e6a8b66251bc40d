// SPDX-License-Identifier: Apache-2.0
/* test_topology.c - accessibility requirements: selected node, strict, immediate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_json.h"

#include "provision/topology.h"

#define DRIVER "hostpath.csi.k8s.io"
#define ZONE "topology.kubernetes.io/zone"

static struct kube_node *node(const char *name, const char *zone)
{
	struct kube_node *n = calloc(1, sizeof(*n));
	char buf[512];
	struct err e = ERR_INIT;
	json_t *j;

	snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s%s%s}}}", name,
		 zone ? "\"" ZONE "\":\"" : "", zone ? zone : "", zone ? "\"" : "");
	j = test_json(buf);
	assert_int_equal(kube_node_decode(j, n, &e), 0);
	json_decref(j);
	return n;
}

static struct kube_csinode *csinode(const char *name, const char *keys)
{
	struct kube_csinode *n = calloc(1, sizeof(*n));
	char buf[512];
	struct err e = ERR_INIT;
	json_t *j;

	snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"drivers\":[{\"name\":"
		 "\"" DRIVER "\",\"nodeID\":\"%s\",\"topologyKeys\":%s}]}}", name, name, keys);
	j = test_json(buf);
	if (kube_csinode_decode(j, n, &e))
		fail_msg("%s", err_msg(&e));
	json_decref(j);
	return n;
}

static struct kube_storage_class *class(const char *allowed)
{
	struct kube_storage_class *c = calloc(1, sizeof(*c));
	char buf[1024];
	struct err e = ERR_INIT;
	json_t *j;

	snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"c\"},\"provisioner\":\"" DRIVER "\"%s%s}",
		 allowed ? ",\"allowedTopologies\":" : "", allowed ? allowed : "");
	j = test_json(buf);
	if (kube_storage_class_decode(j, c, &e))
		fail_msg("%s", err_msg(&e));
	json_decref(j);
	return c;
}

/* "k=v,k=v;k=v" for a segment list. */
static char *show(const struct strmap *s, size_t n)
{
	char buf[1024] = "";

	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < s[i].n; k++)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s=%s", k ? "," : "",
				 s[i].items[k].key, s[i].items[k].value);
		if (i + 1 < n)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ";");
	}
	return strdup(buf);
}

struct world {
	struct kube_node *n1, *n2, *n3;
	struct kube_csinode *c1, *c2;
	const struct kube_node *nodes[3];
	const struct kube_csinode *csinodes[2];
};

static void world_init(struct world *w)
{
	w->n1 = node("node-1", "a");
	w->n2 = node("node-2", "b");
	w->n3 = node("node-3", NULL);	/* no zone label: not aggregated */
	w->c1 = csinode("node-1", "[\"" ZONE "\"]");
	w->c2 = csinode("node-2", "[\"" ZONE "\"]");
	w->nodes[0] = w->n1;
	w->nodes[1] = w->n2;
	w->nodes[2] = w->n3;
	w->csinodes[0] = w->c1;
	w->csinodes[1] = w->c2;
}

static void world_release(struct world *w)
{
	struct kube_node *n[] = { w->n1, w->n2, w->n3 };

	for (int i = 0; i < 3; i++) {
		kube_node_release(n[i]);
		free(n[i]);
	}
	kube_csinode_release(w->c1);
	kube_csinode_release(w->c2);
	free(w->c1);
	free(w->c2);
}

static void run(const struct topo_input *in, int want_rc, const char *want_req,
		const char *want_pref, const char *want_msg)
{
	struct topo_result r;
	struct err e = ERR_INIT;
	int rc = topo_requirements(in, &r, &e);
	char *req, *pref;

	if (rc != want_rc)
		fail_msg("rc %d, want %d (%s)", rc, want_rc, err_msg(&e));
	if (want_msg && !strstr(err_msg(&e), want_msg))
		fail_msg("message \"%s\" lacks \"%s\"", err_msg(&e), want_msg);
	req = show(r.requisite, r.n_requisite);
	pref = show(r.preferred, r.n_preferred);
	if (want_req)
		assert_string_equal(req, want_req);
	if (want_pref)
		assert_string_equal(pref, want_pref);
	free(req);
	free(pref);
	topo_result_release(&r);
	err_release(&e);
}

static void test_selected_node(void **state)
{
	struct world w;
	struct kube_storage_class *sc = class(NULL);
	struct topo_input in = { 0 };

	(void)state;
	world_init(&w);
	in.driver = DRIVER;
	in.class = sc;
	in.claim_name = "data";
	in.nodes = w.nodes;
	in.n_nodes = 3;
	in.csinodes = w.csinodes;
	in.n_csinodes = 2;
	in.selected_node_name = "node-2";
	in.selected_node = w.n2;
	in.selected_csinode = w.c2;
	/* non-strict: every zone, the selected one first */
	run(&in, TOPO_OK, ZONE "=a;" ZONE "=b", ZONE "=b;" ZONE "=a", NULL);
	/* strict: only the selected one */
	in.strict = true;
	run(&in, TOPO_OK, ZONE "=b", ZONE "=b", NULL);
	/* no CSINode for the node yet: reschedule */
	in.selected_csinode = NULL;
	run(&in, TOPO_ERR_RESCHEDULE, "", "", "CSINode node-2 not found");
	/* the node lacks a label its CSINode names */
	in.selected_csinode = w.c2;
	in.selected_node = w.n3;
	run(&in, TOPO_ERR_FINAL, "", "", "label " ZONE " missing");
	world_release(&w);
	kube_storage_class_release(sc);
	free(sc);
}

static void test_selected_node_and_allowed(void **state)
{
	struct world w;
	struct kube_storage_class *sc = class(
		"[{\"matchLabelExpressions\":[{\"key\":\"" ZONE "\",\"values\":[\"a\",\"c\"]}]}]");
	struct topo_input in = { 0 };

	(void)state;
	world_init(&w);
	in.driver = DRIVER;
	in.class = sc;
	in.nodes = w.nodes;
	in.n_nodes = 3;
	in.selected_node_name = "node-1";
	in.selected_node = w.n1;
	in.selected_csinode = w.c1;
	run(&in, TOPO_OK, ZONE "=a;" ZONE "=c", ZONE "=a;" ZONE "=c", NULL);
	in.strict = true;
	run(&in, TOPO_OK, ZONE "=a", ZONE "=a", NULL);
	/* node-2 is in zone b, outside the allowed zones */
	in.selected_node_name = "node-2";
	in.selected_node = w.n2;
	in.selected_csinode = w.c2;
	run(&in, TOPO_ERR_FINAL, "", "", "allowedTopologies");
	in.strict = false;
	run(&in, TOPO_ERR_FINAL, "", "", "selected node node-2");
	world_release(&w);
	kube_storage_class_release(sc);
	free(sc);
}

static void test_immediate(void **state)
{
	struct world w;
	struct kube_storage_class *plain = class(NULL);
	struct kube_storage_class *multi = class(
		"[{\"matchLabelExpressions\":[{\"key\":\"" ZONE "\",\"values\":[\"b\",\"a\"]},"
		"{\"key\":\"rack\",\"values\":[\"r1\"]}]}]");
	struct topo_input in = { 0 };

	(void)state;
	world_init(&w);
	in.driver = DRIVER;
	in.class = multi;
	in.claim_name = "data";
	in.nodes = w.nodes;
	in.n_nodes = 3;
	in.csinodes = w.csinodes;
	in.n_csinodes = 2;
	in.immediate = true;
	/* allowed topologies multiplied out, sorted */
	run(&in, TOPO_OK, "rack=r1," ZONE "=a;rack=r1," ZONE "=b", NULL, NULL);
	/* aggregated from the nodes */
	in.class = plain;
	run(&in, TOPO_OK, ZONE "=a;" ZONE "=b", NULL, NULL);
	/* --immediate-topology=false: no requirements */
	in.immediate = false;
	run(&in, TOPO_OK, "", "", NULL);
	/* no CSINode with our driver */
	in.immediate = true;
	in.n_csinodes = 0;
	run(&in, TOPO_ERR_FINAL, "", "", "no available topology");
	world_release(&w);
	kube_storage_class_release(plain);
	kube_storage_class_release(multi);
	free(plain);
	free(multi);
}

/*
 * Upstream's spreading hash (getPVCNameHashAndIndexOffset): FNV-1 32 of the
 * StatefulSet part only, and the ordinal. Hash values from Go's hash/fnv.
 */
static const struct {
	const char *name;
	unsigned hash, ordinal;
} sts_cases[] = {
	{ "data-web-0", 0x46661985u, 0 },	/* "web" */
	{ "logs-web-0", 0x46661985u, 0 },	/* another claim of the same pod: same zone */
	{ "data-web-1", 0x46661985u, 1 },
	{ "www-data-my-sts-2", 0x25707323u, 2 },	/* "sts": after the last dash, as upstream */
	{ "web-3", 0x46661985u, 3 },		/* "<name>-<id>" hashes the name */
	{ "data-web-4294967295", 0x46661985u, 4294967295u },
	{ "data", 0x74cb23bdu, 0 },		/* no suffix: the whole name */
	{ "data-web-x1", 0xc57b6f04u, 0 },
	{ "data-web-", 0xff4b5235u, 0 },
	{ "data-web-4294967296", 0x92109e77u, 0 },	/* beyond 32 bits: not an ordinal */
	{ "data-web-+1", 0xf27bb63du, 0 },	/* ParseUint takes no sign */
	{ "-7", 0x811c9dc5u, 7 },
};

static void test_statefulset_spreading(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sts_cases) / sizeof(sts_cases[0]); i++) {
		unsigned h, o;

		topo_claim_hash(sts_cases[i].name, &h, &o);
		if (h != sts_cases[i].hash || o != sts_cases[i].ordinal)
			fail_msg("%s: hash %#x ordinal %u, want %#x %u", sts_cases[i].name, h, o,
				 sts_cases[i].hash, sts_cases[i].ordinal);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selected_node),
		cmocka_unit_test(test_selected_node_and_allowed),
		cmocka_unit_test(test_immediate),
		cmocka_unit_test(test_statefulset_spreading),
	};

	return cmocka_run_group_tests_name("topology", tests, NULL, NULL);
}
