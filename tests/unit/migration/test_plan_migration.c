// SPDX-License-Identifier: Apache-2.0
/*
 * test_plan_migration.c - the provisioning decisions under CSI migration,
 * table by table: which claims of in-tree classes we serve, and which
 * in-tree PVs are ours and deleted through the driver.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "provision/plan.h"

#include "mig_test.h"

#define EBS "ebs.csi.aws.com"
#define IN_TREE "kubernetes.io/aws-ebs"

static const struct plan_opts ebs_opts = {
	.provisioner = EBS,
	.driver = EBS,
	.identity = "1-2-" EBS,
	.prefix = "pvc",
	.uuid_length = -1,
	.migrated_from = IN_TREE,
};

static void test_migrated_claim_verdicts(void **state)
{
	static const struct {
		const char *name, *annotations, *class_provisioner;
		bool migration_off;
		enum plan_verdict want;
	} rows[] = {
		{ "handed over by the controller manager",
		  "\"" ANN_STORAGE_PROVISIONER "\":\"" EBS "\",\"" ANN_MIGRATED_TO "\":\"" EBS "\"",
		  IN_TREE, false, PLAN_PROVISION },
		{ "in-tree name, migrated-to us",
		  "\"" ANN_STORAGE_PROVISIONER "\":\"" IN_TREE "\",\"" ANN_MIGRATED_TO "\":\"" EBS "\"",
		  IN_TREE, false, PLAN_PROVISION },
		{ "in-tree name, not migrated",
		  "\"" ANN_STORAGE_PROVISIONER "\":\"" IN_TREE "\"", IN_TREE, false, PLAN_IGNORE },
		{ "in-tree name, migrated to another driver",
		  "\"" ANN_STORAGE_PROVISIONER "\":\"" IN_TREE "\",\"" ANN_MIGRATED_TO "\":\"x.y\"",
		  IN_TREE, false, PLAN_IGNORE },
		{ "in-tree class without migration",
		  "\"" ANN_STORAGE_PROVISIONER "\":\"" EBS "\"", IN_TREE, true, PLAN_IGNORE },
		{ "another plugin's in-tree class",
		  "\"" ANN_STORAGE_PROVISIONER "\":\"" EBS "\",\"" ANN_MIGRATED_TO "\":\"" EBS "\"",
		  "kubernetes.io/gce-pd", false, PLAN_IGNORE },
		{ "our own CSI class", "\"" ANN_STORAGE_PROVISIONER "\":\"" EBS "\"", EBS, false,
		  PLAN_PROVISION },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct kube_pvc claim;
		struct kube_storage_class sc;
		struct plan_opts o = ebs_opts;
		struct err e = ERR_INIT;
		const char *why = NULL;
		char text[2048];
		json_t *j;
		enum plan_verdict v;

		snprintf(text, sizeof(text), "{\"metadata\":{\"name\":\"d\",\"namespace\":\"ns\","
			 "\"uid\":\"u1\",\"annotations\":{%s}},\"spec\":{\"storageClassName\":\"old\","
			 "\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":"
			 "{\"storage\":\"1Gi\"}}}}", rows[i].annotations);
		j = parse(text);
		if (kube_pvc_decode(j, &claim, &e))
			fail_msg("%s: %s", rows[i].name, err_msg(&e));
		json_decref(j);
		snprintf(text, sizeof(text), "{\"metadata\":{\"name\":\"old\",\"uid\":\"c1\"},"
			 "\"provisioner\":\"%s\"}", rows[i].class_provisioner);
		j = parse(text);
		if (kube_storage_class_decode(j, &sc, &e))
			fail_msg("%s: %s", rows[i].name, err_msg(&e));
		json_decref(j);
		if (rows[i].migration_off)
			o.migrated_from = NULL;
		v = plan_claim(&claim, &sc, &o, &why);
		if (v != rows[i].want)
			fail_msg("%s: verdict %d, want %d (%s)", rows[i].name, v, rows[i].want, why);
		kube_pvc_release(&claim);
		kube_storage_class_release(&sc);
	}
}

static void test_migrated_pvs(void **state)
{
	static const struct {
		const char *name, *annotations, *source, *phase;
		bool migration_off, want_ours, want_delete;
		const char *why;	/* a piece of the reason when not deleted */
	} rows[] = {
		{ "migrated EBS PV, Released", "\"" ANN_MIGRATED_TO "\":\"" EBS "\"",
		  "\"awsElasticBlockStore\":{\"volumeID\":\"vol-1\"}", "Released", false, true, true,
		  NULL },
		/* as upstream: the in-tree plugin's until the controller manager migrates it to us */
		{ "provisioned-by the in-tree name, not migrated-to", "\"" ANN_PROVISIONED_BY "\":\""
		  IN_TREE "\"", "\"awsElasticBlockStore\":{\"volumeID\":\"vol-1\"}", "Released",
		  false, false, false, "not provisioned by us" },
		{ "provisioned-by the in-tree name, migrated-to us", "\"" ANN_PROVISIONED_BY "\":\""
		  IN_TREE "\",\"" ANN_MIGRATED_TO "\":\"" EBS "\"",
		  "\"awsElasticBlockStore\":{\"volumeID\":\"vol-1\"}", "Released", false, true, true,
		  NULL },
		{ "provisioned-by the in-tree name, migration off",
		  "\"" ANN_PROVISIONED_BY "\":\"" IN_TREE "\"",
		  "\"awsElasticBlockStore\":{\"volumeID\":\"vol-1\"}", "Released", true, false, false,
		  "not provisioned by us" },
		{ "migrated-to us, no migration rules for us", "\"" ANN_MIGRATED_TO "\":\"" EBS "\"",
		  "\"awsElasticBlockStore\":{\"volumeID\":\"vol-1\"}", "Released", true, true, false,
		  "in-tree plugin our driver does not replace" },
		{ "another plugin's PV migrated-to us", "\"" ANN_MIGRATED_TO "\":\"" EBS "\"",
		  "\"gcePersistentDisk\":{\"pdName\":\"d\"}", "Released", false, true, false,
		  "in-tree plugin our driver does not replace" },
		{ "migrated EBS PV, Bound", "\"" ANN_MIGRATED_TO "\":\"" EBS "\"",
		  "\"awsElasticBlockStore\":{\"volumeID\":\"vol-1\"}", "Bound", false, true, false,
		  "not Released" },
		{ "migrated elsewhere", "\"" ANN_MIGRATED_TO "\":\"pd.csi.storage.gke.io\"",
		  "\"awsElasticBlockStore\":{\"volumeID\":\"vol-1\"}", "Released", false, false, false,
		  "not provisioned by us" },
		{ "no source at all", "\"" ANN_MIGRATED_TO "\":\"" EBS "\"", "\"nfs\":{}", "Released",
		  false, true, false, "no CSI volume handle" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct kube_pv pv;
		struct plan_opts o = ebs_opts;
		struct err e = ERR_INIT;
		const char *why = NULL;
		char text[2048];
		json_t *j;
		bool del;

		snprintf(text, sizeof(text), "{\"metadata\":{\"name\":\"pv1\",\"annotations\":{%s}},"
			 "\"spec\":{%s,\"persistentVolumeReclaimPolicy\":\"Delete\"},"
			 "\"status\":{\"phase\":\"%s\"}}", rows[i].annotations, rows[i].source,
			 rows[i].phase);
		j = parse(text);
		if (kube_pv_decode(j, &pv, &e))
			fail_msg("%s: %s", rows[i].name, err_msg(&e));
		json_decref(j);
		if (rows[i].migration_off)
			o.migrated_from = NULL;
		if (plan_pv_is_ours(&pv, &o) != rows[i].want_ours)
			fail_msg("%s: ours %d, want %d", rows[i].name, !rows[i].want_ours,
				 rows[i].want_ours);
		del = plan_pv_should_delete(&pv, &o, &why);
		if (del != rows[i].want_delete)
			fail_msg("%s: delete %d, want %d (%s)", rows[i].name, del, rows[i].want_delete,
				 why);
		if (rows[i].why && !strstr(why, rows[i].why))
			fail_msg("%s: reason \"%s\" lacks \"%s\"", rows[i].name, why, rows[i].why);
		kube_pv_release(&pv);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrated_claim_verdicts),
		cmocka_unit_test(test_migrated_pvs),
	};

	return cmocka_run_group_tests_name("plan-migration", tests, NULL, NULL);
}
