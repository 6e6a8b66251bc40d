// SPDX-License-Identifier: Apache-2.0
/*
 * test_translate.c - CSI migration rules per plugin, table by table:
 * names, StorageClass -> driver parameters and topologies, in-tree PV ->
 * volume handle, provisioned CSI PV -> in-tree form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "migration/translate.h"

#include "mig_test.h"

static void assert_json_eq(json_t *got, const char *want_text, const char *what)
{
	json_t *want = parse(want_text);

	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);

		print_error("%s:\n got  %s\n want %s\n", what, g, w);
		free(g);
		free(w);
		json_decref(want);
		fail();
	}
	json_decref(want);
}

static void test_names(void **state)
{
	static const struct {
		const char *csi, *in_tree, *field;
	} rows[] = {
		{ "ebs.csi.aws.com", "kubernetes.io/aws-ebs", "awsElasticBlockStore" },
		{ "pd.csi.storage.gke.io", "kubernetes.io/gce-pd", "gcePersistentDisk" },
		{ "disk.csi.azure.com", "kubernetes.io/azure-disk", "azureDisk" },
		{ "file.csi.azure.com", "kubernetes.io/azure-file", "azureFile" },
		{ "cinder.csi.openstack.org", "kubernetes.io/cinder", "cinder" },
		{ "csi.vsphere.vmware.com", "kubernetes.io/vsphere-volume", "vsphereVolume" },
		{ "pxd.portworx.com", "kubernetes.io/portworx-volume", "portworxVolume" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct mig_plugin *a = mig_plugin_by_csi(rows[i].csi);
		const struct mig_plugin *b = mig_plugin_by_in_tree(rows[i].in_tree);

		assert_non_null(a);
		assert_ptr_equal(a, b);
		assert_string_equal(a->in_tree, rows[i].in_tree);
		assert_string_equal(a->csi, rows[i].csi);
		assert_string_equal(a->pv_field, rows[i].field);
		assert_ptr_equal(mig_plugin_by_kind(a->kind), a);
	}
	assert_null(mig_plugin_by_csi("hostpath.csi.k8s.io"));
	assert_null(mig_plugin_by_csi(NULL));
	assert_null(mig_plugin_by_in_tree("kubernetes.io/host-path"));
	assert_null(mig_plugin_by_in_tree("ebs.csi.aws.com"));
	assert_null(mig_plugin_by_kind(KUBE_INTREE_NONE));
}

/* The translated class as {"parameters":{...},"allowedTopologies":[[{"key","values"}]]}. */
static json_t *class_json(const struct kube_storage_class *sc)
{
	json_t *params = json_object(), *terms = json_array();

	for (size_t i = 0; i < sc->parameters.n; i++)
		json_object_set_new(params, sc->parameters.items[i].key,
				    json_string(sc->parameters.items[i].value));
	for (size_t t = 0; t < sc->n_allowed_topologies; t++) {
		json_t *term = json_array();

		for (size_t r = 0; r < sc->allowed_topologies[t].n_reqs; r++) {
			const struct kube_label_req *q = &sc->allowed_topologies[t].reqs[r];
			json_t *vals = json_array();

			for (size_t v = 0; v < q->n_values; v++)
				json_array_append_new(vals, json_string(q->values[v]));
			json_array_append_new(term, json_pack("{s:s, s:o}", "key", q->key,
							      "values", vals));
		}
		json_array_append_new(terms, term);
	}
	return json_pack("{s:o, s:o}", "parameters", params, "allowedTopologies", terms);
}

#define TOPO(k, v) "[{\"matchLabelExpressions\":[{\"key\":\"" k "\",\"values\":" v "}]}]"
#define GA_ZONE "topology.kubernetes.io/zone"
#define BETA_ZONE "failure-domain.beta.kubernetes.io/zone"

static void test_class_translation(void **state)
{
	static const struct {
		const char *name, *driver, *params, *topologies;
		const char *want;	/* {"parameters":..,"allowedTopologies":..}; NULL = error */
	} rows[] = {
		{ "ebs fstype, zone, iops", "ebs.csi.aws.com",
		  "{\"fsType\":\"xfs\",\"zone\":\"us-east-1a\",\"iopsPerGB\":\"10\",\"type\":\"io1\"}",
		  NULL,
		  "{\"parameters\":{\"csi.storage.k8s.io/fstype\":\"xfs\",\"iopsPerGB\":\"10\","
		  "\"allowautoiopspergbincrease\":\"true\",\"type\":\"io1\"},\"allowedTopologies\":"
		  "[[{\"key\":\"topology.ebs.csi.aws.com/zone\",\"values\":[\"us-east-1a\"]}]]}" },
		{ "ebs zones split, not trimmed", "ebs.csi.aws.com", "{\"zones\":\"a, b,c\"}", NULL,
		  "{\"parameters\":{},\"allowedTopologies\":[[{\"key\":"
		  "\"topology.ebs.csi.aws.com/zone\",\"values\":[\"a\",\" b\",\"c\"]}]]}" },
		{ "ebs allowedTopologies rekeyed", "ebs.csi.aws.com", "{}",
		  "[{\"matchLabelExpressions\":[{\"key\":\"" BETA_ZONE "\",\"values\":[\"z1\"]},"
		  "{\"key\":\"other\",\"values\":[\"x\"]}]}]",
		  "{\"parameters\":{},\"allowedTopologies\":[[{\"key\":"
		  "\"topology.ebs.csi.aws.com/zone\",\"values\":[\"z1\"]},{\"key\":\"other\","
		  "\"values\":[\"x\"]}]]}" },
		{ "ebs zone and allowedTopologies", "ebs.csi.aws.com", "{\"zone\":\"a\"}",
		  TOPO(GA_ZONE, "[\"a\"]"), NULL },
		{ "gce", "pd.csi.storage.gke.io",
		  "{\"FSTYPE\":\"ext4\",\"type\":\"pd-ssd\",\"replication-type\":\"none\"}",
		  TOPO(GA_ZONE, "[\"us-central1-a\"]"),
		  "{\"parameters\":{\"csi.storage.k8s.io/fstype\":\"ext4\",\"type\":\"pd-ssd\","
		  "\"replication-type\":\"none\"},\"allowedTopologies\":[[{\"key\":"
		  "\"topology.gke.io/zone\",\"values\":[\"us-central1-a\"]}]]}" },
		{ "gce zones", "pd.csi.storage.gke.io", "{\"zones\":\"z1,z2\"}", NULL,
		  "{\"parameters\":{},\"allowedTopologies\":[[{\"key\":\"topology.gke.io/zone\","
		  "\"values\":[\"z1\",\"z2\"]}]]}" },
		{ "azure disk keeps fstype, numeric zones blank", "disk.csi.azure.com",
		  "{\"fsType\":\"ext4\",\"skuName\":\"Premium_LRS\"}",
		  TOPO(GA_ZONE, "[\"0\",\"eastus-1\"]"),
		  "{\"parameters\":{\"fsType\":\"ext4\",\"skuName\":\"Premium_LRS\"},"
		  "\"allowedTopologies\":[[{\"key\":\"topology.disk.csi.azure.com/zone\","
		  "\"values\":[\"\",\"eastus-1\"]}]]}" },
		{ "azure file unchanged", "file.csi.azure.com",
		  "{\"skuName\":\"Standard_LRS\",\"fstype\":\"x\"}", TOPO(GA_ZONE, "[\"z\"]"),
		  "{\"parameters\":{\"skuName\":\"Standard_LRS\",\"fstype\":\"x\"},"
		  "\"allowedTopologies\":[[{\"key\":\"" GA_ZONE "\",\"values\":[\"z\"]}]]}" },
		{ "cinder keeps availability", "cinder.csi.openstack.org",
		  "{\"fstype\":\"ext4\",\"availability\":\"nova\"}", TOPO(BETA_ZONE, "[\"nova\"]"),
		  "{\"parameters\":{\"csi.storage.k8s.io/fstype\":\"ext4\",\"availability\":"
		  "\"nova\"},\"allowedTopologies\":[[{\"key\":"
		  "\"topology.cinder.csi.openstack.org/zone\",\"values\":[\"nova\"]}]]}" },
		{ "vsphere renames and drops", "csi.vsphere.vmware.com",
		  "{\"fstype\":\"ext4\",\"datastore\":\"ds1\",\"diskformat\":\"thin\","
		  "\"StoragePolicyName\":\"gold\",\"hostFailuresToTolerate\":\"1\","
		  "\"unknown\":\"x\"}", TOPO(GA_ZONE, "[\"z\"]"),
		  "{\"parameters\":{\"csi.storage.k8s.io/fstype\":\"ext4\",\"datastore-"
		  "migrationparam\":\"ds1\",\"diskformat-migrationparam\":\"thin\","
		  "\"storagepolicyname\":\"gold\",\"hostfailurestotolerate-migrationparam\":\"1\","
		  "\"csimigration\":\"true\"},\"allowedTopologies\":[[{\"key\":"
		  "\"topology.csi.vmware.com/zone\",\"values\":[\"z\"]}]]}" },
		{ "portworx secrets", "pxd.portworx.com",
		  "{\"repl\":\"2\",\"openstorage.io/auth-secret-name\":\"s\","
		  "\"openstorage.io/auth-secret-namespace\":\"ns\"}", NULL,
		  "{\"parameters\":{\"repl\":\"2\","
		  "\"csi.storage.k8s.io/provisioner-secret-name\":\"s\","
		  "\"csi.storage.k8s.io/controller-publish-secret-name\":\"s\","
		  "\"csi.storage.k8s.io/node-publish-secret-name\":\"s\","
		  "\"csi.storage.k8s.io/node-stage-secret-name\":\"s\","
		  "\"csi.storage.k8s.io/controller-expand-secret-name\":\"s\","
		  "\"csi.storage.k8s.io/node-expand-secret-name\":\"s\","
		  "\"csi.storage.k8s.io/provisioner-secret-namespace\":\"ns\","
		  "\"csi.storage.k8s.io/controller-publish-secret-namespace\":\"ns\","
		  "\"csi.storage.k8s.io/node-publish-secret-namespace\":\"ns\","
		  "\"csi.storage.k8s.io/node-stage-secret-namespace\":\"ns\","
		  "\"csi.storage.k8s.io/controller-expand-secret-namespace\":\"ns\","
		  "\"csi.storage.k8s.io/node-expand-secret-namespace\":\"ns\"},"
		  "\"allowedTopologies\":[]}" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct mig_plugin *p = mig_plugin_by_csi(rows[i].driver);
		struct kube_storage_class in, out;
		struct err e = ERR_INIT;
		char text[4096];
		json_t *j;
		int rc;

		snprintf(text, sizeof(text), "{\"metadata\":{\"name\":\"old\",\"uid\":\"u1\"},"
			 "\"provisioner\":\"%s\",\"reclaimPolicy\":\"Retain\",\"parameters\":%s%s%s}",
			 p->in_tree, rows[i].params, rows[i].topologies ? ",\"allowedTopologies\":" :
			 "", rows[i].topologies ? rows[i].topologies : "");
		j = parse(text);
		if (kube_storage_class_decode(j, &in, &e))
			fail_msg("%s: decode: %s", rows[i].name, err_msg(&e));
		json_decref(j);
		rc = mig_class_to_csi(p, &in, &out, &e);
		if (!rows[i].want) {
			if (!rc)
				fail_msg("%s: translated, want an error", rows[i].name);
			assert_non_null(strstr(err_msg(&e), "cannot simultaneously set"));
		} else {
			if (rc)
				fail_msg("%s: %s", rows[i].name, err_msg(&e));
			j = class_json(&out);
			assert_json_eq(j, rows[i].want, rows[i].name);
			json_decref(j);
			assert_string_equal(out.meta.name, "old");
			assert_string_equal(out.meta.uid, "u1");
			assert_string_equal(out.reclaim_policy, "Retain");
		}
		kube_storage_class_release(&out);
		kube_storage_class_release(&in);
		err_release(&e);
	}
}

static void test_pv_handles(void **state)
{
	static const struct {
		const char *name, *driver, *meta, *source;
		const char *want;	/* the handle, or a piece of the error when err */
		bool err;
	} rows[] = {
		{ "ebs bare", "ebs.csi.aws.com", "", "\"awsElasticBlockStore\":{\"volumeID\":"
		  "\"vol-0123\"}", "vol-0123", false },
		{ "ebs url with zone", "ebs.csi.aws.com", "", "\"awsElasticBlockStore\":{"
		  "\"volumeID\":\"aws://us-east-1a/vol-0abc\"}", "vol-0abc", false },
		{ "ebs url without zone", "ebs.csi.aws.com", "", "\"awsElasticBlockStore\":{"
		  "\"volumeID\":\"aws:///vol-0abc/\"}", "vol-0abc", false },
		{ "ebs url not a volume", "ebs.csi.aws.com", "", "\"awsElasticBlockStore\":{"
		  "\"volumeID\":\"aws://us-east-1a/snap-1\"}", "invalid format", true },
		{ "gce no zone", "pd.csi.storage.gke.io", "", "\"gcePersistentDisk\":{\"pdName\":"
		  "\"d1\"}", "projects/UNSPECIFIED/zones/UNSPECIFIED/disks/d1", false },
		{ "gce zone label", "pd.csi.storage.gke.io", ",\"labels\":{\"" GA_ZONE "\":"
		  "\"us-central1-b\"}", "\"gcePersistentDisk\":{\"pdName\":\"d1\"}",
		  "projects/UNSPECIFIED/zones/us-central1-b/disks/d1", false },
		{ "gce regional, beta label first", "pd.csi.storage.gke.io", ",\"labels\":{\""
		  BETA_ZONE "\":\"us-central1-a__us-central1-c\",\"" GA_ZONE "\":\"x-y-z\"}",
		  "\"gcePersistentDisk\":{\"pdName\":\"d1\"}",
		  "projects/UNSPECIFIED/regions/us-central1/disks/d1", false },
		{ "gce regional across regions", "pd.csi.storage.gke.io", ",\"labels\":{\""
		  GA_ZONE "\":\"us-central1-a__europe-west1-b\"}",
		  "\"gcePersistentDisk\":{\"pdName\":\"d1\"}", "multiple regions", true },
		{ "azure disk managed", "disk.csi.azure.com", "", "\"azureDisk\":{\"diskName\":"
		  "\"d\",\"diskURI\":\"/subscriptions/s/resourceGroups/g/providers/"
		  "Microsoft.Compute/disks/d\",\"kind\":\"Managed\"}",
		  "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/disks/d", false },
		{ "azure disk shared", "disk.csi.azure.com", "", "\"azureDisk\":{\"diskName\":"
		  "\"d\",\"diskURI\":\"https://a/vhds/d.vhd\",\"kind\":\"Shared\"}",
		  "not supported", true },
		{ "azure file, namespace from claim", "file.csi.azure.com",
		  ",\"annotations\":{\"kubernetes.io/azure-file-resource-group\":\"rg\"}",
		  "\"azureFile\":{\"shareName\":\"share\",\"secretName\":"
		  "\"azure-storage-account-acct-secret\"},\"claimRef\":{\"namespace\":\"cns\","
		  "\"name\":\"c\"}", "rg#acct#share#pv1#cns", false },
		{ "azure file, own secret name and namespace", "file.csi.azure.com", "",
		  "\"azureFile\":{\"shareName\":\"share\",\"secretName\":\"mine\","
		  "\"secretNamespace\":\"sns\"}", "#mine#share#pv1#sns", false },
		{ "azure file, no namespace", "file.csi.azure.com", "",
		  "\"azureFile\":{\"shareName\":\"share\",\"secretName\":\"mine\"}",
		  "secret namespace", true },
		{ "cinder", "cinder.csi.openstack.org", "", "\"cinder\":{\"volumeID\":\"c-1\"}",
		  "c-1", false },
		{ "vsphere", "csi.vsphere.vmware.com", "", "\"vsphereVolume\":{\"volumePath\":"
		  "\"[ds] kubevols/v.vmdk\"}", "[ds] kubevols/v.vmdk", false },
		{ "portworx", "pxd.portworx.com", "", "\"portworxVolume\":{\"volumeID\":\"px1\"}",
		  "px1", false },
		{ "another plugin's source", "ebs.csi.aws.com", "", "\"cinder\":{\"volumeID\":\"x\"}",
		  "no awsElasticBlockStore source", true },
		{ "no volume named", "cinder.csi.openstack.org", "", "\"cinder\":{\"fsType\":\"x\"}",
		  "names no volume", true },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct mig_plugin *p = mig_plugin_by_csi(rows[i].driver);
		struct kube_pv pv;
		struct err e = ERR_INIT;
		char text[4096], *handle = NULL;
		json_t *j;
		int rc;

		snprintf(text, sizeof(text), "{\"metadata\":{\"name\":\"pv1\"%s},\"spec\":{%s}}",
			 rows[i].meta, rows[i].source);
		j = parse(text);
		if (kube_pv_decode(j, &pv, &e))
			fail_msg("%s: decode: %s", rows[i].name, err_msg(&e));
		json_decref(j);
		rc = mig_pv_volume_handle(p, &pv, &handle, &e);
		if (rows[i].err) {
			if (!rc)
				fail_msg("%s: got handle %s, want an error", rows[i].name, handle);
			if (!strstr(err_msg(&e), rows[i].want))
				fail_msg("%s: error \"%s\" lacks \"%s\"", rows[i].name, err_msg(&e),
					 rows[i].want);
		} else {
			if (rc)
				fail_msg("%s: %s", rows[i].name, err_msg(&e));
			if (strcmp(handle, rows[i].want))
				fail_msg("%s: handle %s, want %s", rows[i].name, handle, rows[i].want);
		}
		free(handle);
		kube_pv_release(&pv);
		err_release(&e);
	}
}

static void test_intree_decode_errors(void **state)
{
	static const char *const bad[] = {
		"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"awsElasticBlockStore\":\"vol-1\"}}",
		"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"gcePersistentDisk\":{\"pdName\":1}}}",
		"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"awsElasticBlockStore\":{\"volumeID\":"
		"\"v\",\"partition\":\"1\"}}}",
		"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"azureFile\":{\"readOnly\":\"yes\"}}}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = parse(bad[i]);
		struct kube_pv pv;
		struct err e = ERR_INIT;

		if (!kube_pv_decode(j, &pv, &e))
			fail_msg("decoded %s", bad[i]);
		assert_non_null(strstr(err_msg(&e), "persistentvolume 'p'"));
		assert_int_equal(pv.intree.kind, KUBE_INTREE_NONE);
		json_decref(j);
		err_release(&e);
	}
}

/* The PV as plan_pv builds it, with this csi source, nodeAffinity and metadata. */
static json_t *csi_pv(const char *csi, const char *affinity, const char *meta)
{
	char text[4096];

	snprintf(text, sizeof(text), "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\","
		 "\"metadata\":{\"name\":\"pvc-1\",\"annotations\":{\"a\":\"b\"}%s},"
		 "\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"csi\":%s%s%s}}", meta, csi,
		 affinity ? ",\"nodeAffinity\":{\"required\":{\"nodeSelectorTerms\":" : "",
		 affinity ? affinity : "");
	return parse(affinity ? strcat(text, "}}") : text);
}

#define TERM(k, v) "{\"matchExpressions\":[{\"key\":\"" k "\",\"operator\":\"In\",\"values\":" v "}]}"
#define TERM2(k1, v1, k2, v2) "{\"matchExpressions\":[{\"key\":\"" k1 "\",\"operator\":\"In\"," \
	"\"values\":" v1 "},{\"key\":\"" k2 "\",\"operator\":\"In\",\"values\":" v2 "}]}"
#define AFF(terms) ",\"nodeAffinity\":{\"required\":{\"nodeSelectorTerms\":[" terms "]}}"
#define WANT(labels, src, aff) "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\"," \
	"\"metadata\":{\"name\":\"pvc-1\",\"annotations\":{\"a\":\"b\"}" labels "}," \
	"\"spec\":{\"accessModes\":[\"ReadWriteOnce\"]," src aff "}}"

static void test_pv_to_in_tree(void **state)
{
	static const struct {
		const char *name, *driver, *csi, *affinity, *meta;
		const char *want;	/* the whole PV; NULL = error */
	} rows[] = {
		{ "ebs with zone: region and labels", "ebs.csi.aws.com",
		  "{\"driver\":\"ebs.csi.aws.com\",\"volumeHandle\":\"vol-1\",\"fsType\":\"ext4\","
		  "\"volumeAttributes\":{\"partition\":\"2\",\"x\":\"y\"}}",
		  "[" TERM("topology.ebs.csi.aws.com/zone", "[\"us-west-2a\"]") "]", "",
		  WANT(",\"labels\":{\"topology.kubernetes.io/region\":\"us-west-2\","
		       "\"topology.kubernetes.io/zone\":\"us-west-2a\"}",
		       "\"awsElasticBlockStore\":{\"volumeID\":\"vol-1\",\"fsType\":\"ext4\","
		       "\"partition\":2}",
		       AFF(TERM2("topology.kubernetes.io/zone", "[\"us-west-2a\"]",
				 "topology.kubernetes.io/region", "[\"us-west-2\"]"))) },
		{ "ebs without topology", "ebs.csi.aws.com",
		  "{\"driver\":\"ebs.csi.aws.com\",\"volumeHandle\":\"vol-1\",\"readOnly\":true}",
		  NULL, "", WANT("", "\"awsElasticBlockStore\":{\"volumeID\":\"vol-1\","
				 "\"readOnly\":true}", "") },
		{ "ebs bad partition", "ebs.csi.aws.com",
		  "{\"driver\":\"ebs.csi.aws.com\",\"volumeHandle\":\"vol-1\","
		  "\"volumeAttributes\":{\"partition\":\"two\"}}", NULL, "", NULL },
		{ "ebs zone of another shape", "ebs.csi.aws.com",
		  "{\"driver\":\"ebs.csi.aws.com\",\"volumeHandle\":\"vol-1\"}",
		  "[" TERM("topology.ebs.csi.aws.com/zone", "[\"nowhere\"]") "]", "", NULL },
		{ "ebs local zone, beta labels kept", "ebs.csi.aws.com",
		  "{\"driver\":\"ebs.csi.aws.com\",\"volumeHandle\":\"vol-1\"}",
		  "[" TERM("topology.ebs.csi.aws.com/zone", "[\"us-west-2-lax-1a\"]") "]",
		  ",\"labels\":{\"" BETA_ZONE "\":\"keep\"}",
		  WANT(",\"labels\":{\"" BETA_ZONE "\":\"keep\","
		       "\"failure-domain.beta.kubernetes.io/region\":\"us-west-2\"}",
		       "\"awsElasticBlockStore\":{\"volumeID\":\"vol-1\"}",
		       AFF(TERM2(BETA_ZONE, "[\"us-west-2-lax-1a\"]",
				 "failure-domain.beta.kubernetes.io/region", "[\"us-west-2\"]"))) },
		{ "gce regional", "pd.csi.storage.gke.io",
		  "{\"driver\":\"pd.csi.storage.gke.io\",\"volumeHandle\":"
		  "\"projects/p/regions/us-central1/disks/d9\",\"volumeAttributes\":"
		  "{\"partition\":\"\"}}",
		  "[" TERM("topology.gke.io/zone", "[\"us-central1-c\",\"us-central1-a\"]") "]", "",
		  WANT(",\"labels\":{\"topology.kubernetes.io/region\":\"us-central1\","
		       "\"topology.kubernetes.io/zone\":\"us-central1-a__us-central1-c\"}",
		       "\"gcePersistentDisk\":{\"pdName\":\"d9\"}",
		       AFF(TERM2("topology.kubernetes.io/zone", "[\"us-central1-c\",\"us-central1-a\"]",
				 "topology.kubernetes.io/region", "[\"us-central1\"]"))) },
		{ "gce short handle", "pd.csi.storage.gke.io",
		  "{\"driver\":\"pd.csi.storage.gke.io\",\"volumeHandle\":\"d9\"}", NULL, "", NULL },
		{ "azure disk", "disk.csi.azure.com",
		  "{\"driver\":\"disk.csi.azure.com\",\"volumeHandle\":\"/subscriptions/s/"
		  "resourceGroups/g/providers/Microsoft.Compute/disks/dd\",\"volumeAttributes\":"
		  "{\"cachingMode\":\"None\",\"fsType\":\"xfs\"}}",
		  "[" TERM("topology.disk.csi.azure.com/zone", "[\"z\"]") "]", "",
		  WANT("", "\"azureDisk\":{\"diskName\":\"dd\",\"diskURI\":\"/subscriptions/s/"
		       "resourceGroups/g/providers/Microsoft.Compute/disks/dd\",\"fsType\":\"xfs\","
		       "\"readOnly\":false,\"kind\":\"Managed\",\"cachingMode\":\"None\"}",
		       AFF(TERM("topology.disk.csi.azure.com/zone", "[\"z\"]"))) },
		{ "azure disk bad uri", "disk.csi.azure.com",
		  "{\"driver\":\"disk.csi.azure.com\",\"volumeHandle\":\"dd\"}", NULL, "", NULL },
		{ "azure file from handle", "file.csi.azure.com",
		  "{\"driver\":\"file.csi.azure.com\",\"volumeHandle\":\"rg#acct#share#x\"}", NULL,
		  "", "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":"
		  "\"pvc-1\",\"annotations\":{\"a\":\"b\",\"kubernetes.io/azure-file-resource-group\":"
		  "\"rg\"}},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"azureFile\":{\"shareName\":"
		  "\"share\",\"secretName\":\"azure-storage-account-acct-secret\","
		  "\"secretNamespace\":\"default\"}}}" },
		{ "azure file from stage secret", "file.csi.azure.com",
		  "{\"driver\":\"file.csi.azure.com\",\"volumeHandle\":\"h\",\"volumeAttributes\":"
		  "{\"shareName\":\"s\"},\"nodeStageSecretRef\":{\"name\":\"sec\",\"namespace\":"
		  "\"ns\"}}", NULL, "",
		  WANT("", "\"azureFile\":{\"shareName\":\"s\",\"secretName\":\"sec\","
		       "\"secretNamespace\":\"ns\"}", "") },
		{ "cinder: zone, no region", "cinder.csi.openstack.org",
		  "{\"driver\":\"cinder.csi.openstack.org\",\"volumeHandle\":\"c1\",\"fsType\":"
		  "\"ext4\"}", "[" TERM("topology.cinder.csi.openstack.org/zone", "[\"nova\"]") "]",
		  "", WANT(",\"labels\":{\"topology.kubernetes.io/zone\":\"nova\"}",
			   "\"cinder\":{\"volumeID\":\"c1\",\"fsType\":\"ext4\"}",
			   AFF(TERM("topology.kubernetes.io/zone", "[\"nova\"]"))) },
		{ "vsphere", "csi.vsphere.vmware.com",
		  "{\"driver\":\"csi.vsphere.vmware.com\",\"volumeHandle\":\"id\",\"volumeAttributes\":"
		  "{\"initialvolumefilepath\":\"[ds] v.vmdk\"}}",
		  "[" TERM2("topology.csi.vmware.com/zone", "[\"z2\",\"z1\"]",
			    "topology.csi.vmware.com/region", "[\"r\"]") "]", "",
		  WANT(",\"labels\":{\"topology.kubernetes.io/zone\":\"z1\","
		       "\"topology.kubernetes.io/region\":\"r\"}",
		       "\"vsphereVolume\":{\"volumePath\":\"[ds] v.vmdk\"}",
		       AFF(TERM2("topology.kubernetes.io/zone", "[\"z2\",\"z1\"]",
				 "topology.kubernetes.io/region", "[\"r\"]"))) },
		{ "portworx", "pxd.portworx.com",
		  "{\"driver\":\"pxd.portworx.com\",\"volumeHandle\":\"px\",\"fsType\":\"ext4\"}",
		  NULL, "", WANT("", "\"portworxVolume\":{\"volumeID\":\"px\",\"fsType\":\"ext4\"}",
				 "") },
		{ "another driver's PV", "pxd.portworx.com",
		  "{\"driver\":\"ebs.csi.aws.com\",\"volumeHandle\":\"px\"}", NULL, "", NULL },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *pv = csi_pv(rows[i].csi, rows[i].affinity, rows[i].meta);
		struct err e = ERR_INIT;
		int rc = mig_pv_to_in_tree(mig_plugin_by_csi(rows[i].driver), pv, &e);

		if (!rows[i].want) {
			if (!rc)
				fail_msg("%s: translated, want an error", rows[i].name);
		} else {
			if (rc)
				fail_msg("%s: %s", rows[i].name, err_msg(&e));
			assert_json_eq(pv, rows[i].want, rows[i].name);
		}
		json_decref(pv);
		err_release(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_class_translation),
		cmocka_unit_test(test_pv_handles),
		cmocka_unit_test(test_intree_decode_errors),
		cmocka_unit_test(test_pv_to_in_tree),
	};

	return cmocka_run_group_tests_name("migration", tests, NULL, NULL);
}
