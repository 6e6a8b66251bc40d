// SPDX-License-Identifier: Apache-2.0
/* test_plan.c - the pure provisioning decisions, table by table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kube/status.h"
#include "provision/plan.h"

#define UID "8f1a2b3c-0d4e-4f50-9a6b-7c8d9e0f1a2b"

static const struct plan_opts base_opts = {
	.provisioner = "hostpath.csi.k8s.io",
	.driver = "hostpath.csi.k8s.io",
	.identity = "123-4-hostpath.csi.k8s.io",
	.prefix = "pvc",
	.uuid_length = -1,
};

/* A claim from JSON; `extra_meta` and `extra_spec` are spliced into the object. */
static void make_claim(struct kube_pvc *c, const char *extra_meta, const char *extra_spec)
{
	char json[4096];
	json_t *j;
	json_error_t je;
	struct err e = ERR_INIT;

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"data\",\"namespace\":\"ns\",\"uid\":\"" UID "\","
		 "\"resourceVersion\":\"7\",\"annotations\":{\"" ANN_STORAGE_PROVISIONER
		 "\":\"hostpath.csi.k8s.io\"}%s},"
		 "\"spec\":{\"storageClassName\":\"fast\",\"accessModes\":[\"ReadWriteOnce\"],"
		 "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}%s}}",
		 extra_meta ? extra_meta : "", extra_spec ? extra_spec : "");
	j = json_loads(json, 0, &je);
	if (!j)
		fail_msg("bad test JSON: %s: %s", je.text, json);
	memset(c, 0, sizeof(*c));
	if (kube_pvc_decode(j, c, &e))
		fail_msg("decode: %s", err_msg(&e));
	json_decref(j);
}

static void make_class(struct kube_storage_class *sc, const char *extra)
{
	char json[4096];
	json_t *j;
	json_error_t je;
	struct err e = ERR_INIT;

	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"fast\",\"uid\":\"c1\"},"
		 "\"provisioner\":\"hostpath.csi.k8s.io\"%s}", extra ? extra : "");
	j = json_loads(json, 0, &je);
	if (!j)
		fail_msg("bad test JSON: %s: %s", je.text, json);
	memset(sc, 0, sizeof(*sc));
	if (kube_storage_class_decode(j, sc, &e))
		fail_msg("decode: %s", err_msg(&e));
	json_decref(j);
}

static void test_claim_verdicts(void **state)
{
	static char *const whitelist[] = { "other", NULL };
	static const struct {
		const char *meta, *spec, *class_extra;
		bool no_class, use_whitelist;
		enum plan_verdict want;
	} cases[] = {
		{ NULL, NULL, NULL, false, false, PLAN_PROVISION },
		{ NULL, ",\"volumeName\":\"pv-1\"", NULL, false, false, PLAN_IGNORE },
		{ NULL, NULL, NULL, true, false, PLAN_WAIT },
		{ NULL, NULL, NULL, false, true, PLAN_IGNORE },
		{ ",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\"", NULL, NULL, false, false, PLAN_IGNORE },
		{ NULL, NULL, ",\"provisioner\":\"other.example.com\"", false, false, PLAN_IGNORE },
		{ NULL, NULL, ",\"volumeBindingMode\":\"WaitForFirstConsumer\"", false, false, PLAN_WAIT },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_pvc c;
		struct kube_storage_class sc;
		struct plan_opts o = base_opts;
		const char *why = NULL;
		enum plan_verdict v;

		make_claim(&c, cases[i].meta, cases[i].spec);
		make_class(&sc, cases[i].class_extra);
		if (cases[i].use_whitelist)
			o.class_whitelist = whitelist;
		v = plan_claim(&c, cases[i].no_class ? NULL : &sc, &o, &why);
		if (v != cases[i].want)
			fail_msg("case %zu: verdict %d, want %d (%s)", i, v, cases[i].want, why);
		assert_non_null(why);
		kube_pvc_release(&c);
		kube_storage_class_release(&sc);
	}
}

static void test_claim_annotations(void **state)
{
	struct kube_pvc c;
	struct kube_storage_class sc;
	const char *why;
	char json[1024];
	json_t *j;
	struct err e = ERR_INIT;

	(void)state;
	make_class(&sc, ",\"volumeBindingMode\":\"WaitForFirstConsumer\"");
	/* the beta provisioner annotation and the beta class annotation are honoured,
	 * and a selected node releases WaitForFirstConsumer */
	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"d\",\"namespace\":\"ns\",\"uid\":\"u\",\"annotations\":{"
		 "\"" ANN_BETA_STORAGE_PROVISIONER "\":\"hostpath.csi.k8s.io\","
		 "\"" ANN_BETA_STORAGE_CLASS "\":\"fast\","
		 "\"" ANN_SELECTED_NODE "\":\"node-1\"}},"
		 "\"spec\":{\"accessModes\":[\"ReadWriteOnce\"]}}");
	j = json_loads(json, 0, NULL);
	assert_non_null(j);
	memset(&c, 0, sizeof(c));
	assert_int_equal(kube_pvc_decode(j, &c, &e), 0);
	assert_string_equal(plan_claim_class(&c), "fast");
	assert_int_equal(plan_claim(&c, &sc, &base_opts, &why), PLAN_PROVISION);
	kube_pvc_release(&c);
	json_decref(j);

	/* another provisioner's claim is not ours */
	make_claim(&c, NULL, NULL);
	{
		struct plan_opts o = base_opts;

		o.provisioner = "other";
		assert_int_equal(plan_claim(&c, &sc, &o, &why), PLAN_IGNORE);
	}
	kube_pvc_release(&c);
	kube_storage_class_release(&sc);
}

static void test_volume_name(void **state)
{
	struct err e = ERR_INIT;
	char *name;

	(void)state;
	assert_int_equal(plan_volume_name("pvc", UID, -1, &name, &e), 0);
	assert_string_equal(name, "pvc-" UID);
	free(name);
	assert_int_equal(plan_volume_name("csi", UID, 8, &name, &e), 0);
	assert_string_equal(name, "csi-8f1a2b3c");
	free(name);
	assert_int_equal(plan_volume_name("csi", UID, 32, &name, &e), 0);
	assert_string_equal(name, "csi-8f1a2b3c0d4e4f509a6b7c8d9e0f1a2b");
	free(name);
	assert_int_not_equal(plan_volume_name("csi", "abc", 8, &name, &e), 0);
	assert_non_null(strstr(err_msg(&e), "longer than the claim UID"));
	assert_int_not_equal(plan_volume_name("", UID, -1, &name, &e), 0);
	assert_int_not_equal(plan_volume_name("pvc", "", -1, &name, &e), 0);
	err_release(&e);
}

static void test_access_modes(void **state)
{
	static const struct {
		const char *modes;
		bool snmw;
		int want[4];
		size_t n;
	} cases[] = {
		{ "[\"ReadWriteOnce\"]", false, { 1 }, 1 },
		{ "[\"ReadWriteOnce\"]", true, { 7 }, 1 },
		{ "[\"ReadOnlyMany\"]", false, { 3 }, 1 },
		{ "[\"ReadWriteMany\"]", false, { 5 }, 1 },
		{ "[\"ReadWriteOncePod\"]", false, { 1 }, 1 },
		{ "[\"ReadWriteOncePod\"]", true, { 6 }, 1 },
		{ "[\"ReadWriteOnce\",\"ReadOnlyMany\",\"ReadWriteOnce\"]", false, { 1, 3, 1 }, 3 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_pvc c;
		struct kube_storage_class sc;
		struct plan_request r;
		struct plan_opts o = base_opts;
		struct err e = ERR_INIT;
		char spec[256];

		/* a later "accessModes" key overrides the default one in make_claim */
		snprintf(spec, sizeof(spec), ",\"accessModes\":%s", cases[i].modes);
		make_claim(&c, NULL, spec);
		make_class(&sc, NULL);
		o.single_node_multi_writer = cases[i].snmw;
		if (plan_create_request(&c, &sc, &o, &r, &e))
			fail_msg("case %zu: %s", i, err_msg(&e));
		assert_int_equal(r.n_access_modes, cases[i].n);
		for (size_t k = 0; k < cases[i].n; k++)
			assert_int_equal(r.access_modes[k], cases[i].want[k]);
		plan_request_release(&r);
		kube_pvc_release(&c);
		kube_storage_class_release(&sc);
	}
}

/* Requests that must fail, each with a message that says what to fix. */
static void test_request_errors(void **state)
{
	static const struct {
		const char *spec, *class_extra, *want;
	} cases[] = {
		{ ",\"accessModes\":[]", NULL, "no spec.accessModes" },
		{ ",\"accessModes\":[\"ReadWriteSometimes\"]", NULL, "ReadWriteSometimes" },
		{ ",\"resources\":{}", NULL, "no spec.resources.requests.storage" },
		{ NULL, ",\"parameters\":{\"csi.storage.k8s.io/bogus\":\"x\"}",
		  "found unknown parameter key \"csi.storage.k8s.io/bogus\"" },
		{ NULL, ",\"parameters\":{\"csi.storage.k8s.io/fstype\":\"ext4\",\"FSType\":\"xfs\"}",
		  "both" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_pvc c;
		struct kube_storage_class sc;
		struct plan_request r;
		struct err e = ERR_INIT;

		make_claim(&c, NULL, cases[i].spec);
		make_class(&sc, cases[i].class_extra);
		assert_int_not_equal(plan_create_request(&c, &sc, &base_opts, &r, &e), 0);
		if (!strstr(err_msg(&e), cases[i].want))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err_msg(&e), cases[i].want);
		assert_null(r.name);	/* released on failure */
		err_release(&e);
		kube_pvc_release(&c);
		kube_storage_class_release(&sc);
	}
}

static const char *param(const struct plan_request *r, const char *k)
{
	return strmap_get(&r->params, k);
}

static void test_request_parameters(void **state)
{
	struct kube_pvc c;
	struct kube_storage_class sc;
	struct plan_request r;
	struct plan_opts o = base_opts;
	struct err e = ERR_INIT;

	(void)state;
	make_claim(&c, NULL, NULL);
	make_class(&sc, ",\"parameters\":{\"replicas\":\"3\",\"csi.storage.k8s.io/fstype\":\"xfs\","
		   "\"csi.storage.k8s.io/provisioner-secret-name\":\"s-${pvc.name}\","
		   "\"csi.storage.k8s.io/provisioner-secret-namespace\":\"${pvc.namespace}\","
		   "\"csiNodeStageSecretName\":\"old\",\"csiNodeStageSecretNamespace\":\"kube-system\"},"
		   "\"mountOptions\":[\"noatime\"]");
	o.extra_create_metadata = true;
	assert_int_equal(plan_create_request(&c, &sc, &o, &r, &e), 0);
	assert_string_equal(r.name, "pvc-" UID);
	assert_int_equal(r.required_bytes, 1073741824);
	assert_false(r.block);
	assert_string_equal(r.fs_type, "xfs");
	assert_int_equal(r.n_mount_flags, 1);
	assert_string_equal(r.mount_flags[0], "noatime");
	assert_string_equal(param(&r, "replicas"), "3");
	assert_string_equal(param(&r, "csiNodeStageSecretName"), "old");	/* passed through */
	assert_string_equal(r.secrets[SECRET_PROVISIONER].name, "s-data");
	assert_string_equal(r.secrets[SECRET_PROVISIONER].namespace, "ns");
	assert_string_equal(r.secrets[SECRET_NODE_STAGE].name, "old");
	assert_null(r.secrets[SECRET_NODE_PUBLISH].name);
	assert_null(param(&r, "csi.storage.k8s.io/fstype"));
	assert_null(param(&r, "csi.storage.k8s.io/provisioner-secret-name"));
	assert_string_equal(param(&r, "csi.storage.k8s.io/pvc/name"), "data");
	assert_string_equal(param(&r, "csi.storage.k8s.io/pvc/namespace"), "ns");
	assert_string_equal(param(&r, "csi.storage.k8s.io/pv/name"), "pvc-" UID);
	assert_int_equal(r.params.n, 6);
	plan_request_release(&r);
	kube_storage_class_release(&sc);

	/* deprecated fstype is used and passed on; --default-fstype fills a gap */
	make_class(&sc, ",\"parameters\":{\"fsType\":\"ext3\"}");
	assert_int_equal(plan_create_request(&c, &sc, &base_opts, &r, &e), 0);
	assert_string_equal(r.fs_type, "ext3");
	assert_string_equal(param(&r, "fsType"), "ext3");
	plan_request_release(&r);
	kube_storage_class_release(&sc);
	make_class(&sc, NULL);
	o = base_opts;
	o.default_fstype = "ext4";
	assert_int_equal(plan_create_request(&c, &sc, &o, &r, &e), 0);
	assert_string_equal(r.fs_type, "ext4");
	plan_request_release(&r);
	kube_pvc_release(&c);

	/* block volumes carry no filesystem */
	make_claim(&c, NULL, ",\"volumeMode\":\"Block\"");
	assert_int_equal(plan_create_request(&c, &sc, &o, &r, &e), 0);
	assert_true(r.block);
	assert_null(r.fs_type);
	plan_request_release(&r);
	kube_pvc_release(&c);
	kube_storage_class_release(&sc);
}

static void test_pv_object(void **state)
{
	static struct strmap_entry ckv[] = { { "k1", "v1" },
					     { ATTR_PROVISIONER_IDENTITY, "driver-says" } };
	static const struct strmap ctx = { ckv, 2, 0 };
	struct kube_pvc c;
	struct kube_storage_class sc;
	struct plan_request r;
	static struct strmap_entry tkv[] = { { "topology.hostpath.csi/node", "node-1" },
					     { "zone", "z1" } };
	const struct strmap seg = { tkv, 2, 0 };
	struct plan_volume vol = { "vol-1", 2147483648LL, &ctx, &seg, 1 };
	struct err e = ERR_INIT;
	json_t *pv, *spec, *csi;

	(void)state;
	make_claim(&c, NULL, NULL);
	make_class(&sc, ",\"reclaimPolicy\":\"Retain\",\"mountOptions\":[\"ro\"],"
		   "\"parameters\":{\"csi.storage.k8s.io/fstype\":\"ext4\"}");
	assert_int_equal(plan_create_request(&c, &sc, &base_opts, &r, &e), 0);
	pv = plan_pv(&c, &sc, &base_opts, &r, &vol);
	assert_non_null(pv);
	assert_string_equal(json_string_value(json_object_get(json_object_get(pv, "metadata"), "name")),
			    "pvc-" UID);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(pv, "metadata"), "annotations"), ANN_PROVISIONED_BY)),
		"hostpath.csi.k8s.io");
	spec = json_object_get(pv, "spec");
	assert_string_equal(json_string_value(json_object_get(json_object_get(spec, "capacity"),
							      "storage")), "2Gi");
	assert_string_equal(json_string_value(json_object_get(spec, "persistentVolumeReclaimPolicy")),
			    "Retain");
	assert_string_equal(json_string_value(json_object_get(spec, "storageClassName")), "fast");
	assert_string_equal(json_string_value(json_object_get(spec, "volumeMode")), "Filesystem");
	assert_string_equal(json_string_value(json_array_get(json_object_get(spec, "mountOptions"), 0)),
			    "ro");
	assert_string_equal(json_string_value(json_object_get(json_object_get(spec, "claimRef"), "uid")),
			    UID);
	assert_string_equal(json_string_value(json_object_get(json_object_get(spec, "claimRef"),
							      "namespace")), "ns");
	csi = json_object_get(spec, "csi");
	assert_string_equal(json_string_value(json_object_get(csi, "volumeHandle")), "vol-1");
	assert_string_equal(json_string_value(json_object_get(csi, "fsType")), "ext4");
	assert_string_equal(json_string_value(json_object_get(json_object_get(csi, "volumeAttributes"),
							      "k1")), "v1");
	/* the driver's volume_context wins over our identity, as upstream */
	assert_string_equal(json_string_value(json_object_get(json_object_get(csi, "volumeAttributes"),
							      ATTR_PROVISIONER_IDENTITY)), "driver-says");
	{
		json_t *term = json_array_get(json_object_get(json_object_get(json_object_get(spec,
			"nodeAffinity"), "required"), "nodeSelectorTerms"), 0);
		json_t *expr = json_array_get(json_object_get(term, "matchExpressions"), 1);
		char *dump = json_dumps(expr, JSON_SORT_KEYS | JSON_COMPACT);

		assert_string_equal(dump, "{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"z1\"]}");
		free(dump);
	}
	/* Retain: no finalizer of ours */
	assert_null(json_object_get(json_object_get(pv, "metadata"), "finalizers"));
	json_decref(pv);

	/* capacity 0 from the driver means the requested size */
	vol.capacity_bytes = 0;
	pv = plan_pv(&c, &sc, &base_opts, &r, &vol);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(pv, "spec"), "capacity"), "storage")), "1Gi");
	json_decref(pv);
	plan_request_release(&r);
	kube_pvc_release(&c);
	kube_storage_class_release(&sc);
}

/* --controller-publish-readonly marks a PV readOnly only for a lone ReadOnlyMany. */
static void test_pv_read_only(void **state)
{
	static const struct {
		const char *modes;
		bool flag, want;
	} cases[] = {
		{ "[\"ReadOnlyMany\"]", true, true },
		{ "[\"ReadOnlyMany\"]", false, false },
		{ "[\"ReadOnlyMany\",\"ReadWriteOnce\"]", true, false },
		{ "[\"ReadWriteOnce\"]", true, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_pvc c;
		struct kube_storage_class sc;
		struct plan_request r;
		struct plan_opts o = base_opts;
		struct plan_volume vol = { "v", 0, NULL, NULL, 0 };
		struct err e = ERR_INIT;
		char spec[128];
		json_t *pv;

		snprintf(spec, sizeof(spec), ",\"accessModes\":%s", cases[i].modes);
		make_claim(&c, NULL, spec);
		make_class(&sc, NULL);
		o.controller_publish_readonly = cases[i].flag;
		assert_int_equal(plan_create_request(&c, &sc, &o, &r, &e), 0);
		pv = plan_pv(&c, &sc, &o, &r, &vol);
		if (json_is_true(json_object_get(json_object_get(json_object_get(pv, "spec"), "csi"),
						 "readOnly")) != cases[i].want)
			fail_msg("case %zu: readOnly != %d", i, cases[i].want);
		json_decref(pv);
		plan_request_release(&r);
		kube_pvc_release(&c);
		kube_storage_class_release(&sc);
	}
}

static void test_should_delete(void **state)
{
	static const struct {
		const char *ann, *by, *driver, *phase, *policy, *extra_meta;
		bool want;
	} cases[] = {
		{ ANN_PROVISIONED_BY, "hostpath.csi.k8s.io", "hostpath.csi.k8s.io", "Released", "Delete", "", true },
		{ ANN_PROVISIONED_BY, "hostpath.csi.k8s.io", "hostpath.csi.k8s.io", "Bound", "Delete", "", false },
		{ ANN_PROVISIONED_BY, "hostpath.csi.k8s.io", "hostpath.csi.k8s.io", "Released", "Retain", "", false },
		{ ANN_MIGRATED_TO, "hostpath.csi.k8s.io", "other.csi", "Released", "Delete", "", true },
		/* provisioned by someone else, even if for our driver */
		{ ANN_PROVISIONED_BY, "other", "hostpath.csi.k8s.io", "Released", "Delete", "", false },
		/* a static PV of our driver: its reclaim policy is honoured */
		{ "unrelated/annotation", "x", "hostpath.csi.k8s.io", "Released", "Delete", "", true },
		{ "unrelated/annotation", "x", "other.csi", "Released", "Delete", "", false },
		/* deleted while our finalizer holds it: still ours to finish */
		{ ANN_PROVISIONED_BY, "hostpath.csi.k8s.io", "hostpath.csi.k8s.io", "Released", "Delete",
		  ",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\",\"finalizers\":[\"" FINALIZER_PV "\"]", true },
		/* deleted without it: not ours any more */
		{ ANN_PROVISIONED_BY, "hostpath.csi.k8s.io", "hostpath.csi.k8s.io", "Released", "Delete",
		  ",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\"", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_pv pv;
		struct err e = ERR_INIT;
		char json[2048];
		const char *why;
		json_t *j;

		snprintf(json, sizeof(json),
			 "{\"metadata\":{\"name\":\"pv\",\"uid\":\"u\",\"annotations\":"
			 "{\"%s\":\"%s\"}%s},\"spec\":{\"persistentVolumeReclaimPolicy\":"
			 "\"%s\",\"csi\":{\"driver\":\"%s\",\"volumeHandle\":\"h\"}},"
			 "\"status\":{\"phase\":\"%s\"}}", cases[i].ann, cases[i].by, cases[i].extra_meta,
			 cases[i].policy, cases[i].driver, cases[i].phase);
		j = json_loads(json, 0, NULL);
		assert_non_null(j);
		memset(&pv, 0, sizeof(pv));
		assert_int_equal(kube_pv_decode(j, &pv, &e), 0);
		if (plan_pv_should_delete(&pv, &base_opts, &why) != cases[i].want)
			fail_msg("case %zu: want %d (%s)", i, cases[i].want, why);
		kube_pv_release(&pv);
		json_decref(j);
	}
}

/* The patches that set and clear our marks say exactly what they change. */
static void test_mark_patches(void **state)
{
	struct kube_pvc c;
	json_t *p;
	char *s;

	(void)state;
	make_claim(&c, ",\"finalizers\":[\"kubernetes.io/pvc-protection\"]", NULL);
	assert_false(plan_claim_marked(&c));
	p = plan_finalizer_patch(&c.meta, FINALIZER_CLAIM, true, ANN_CLAIM_VOLUME, "pvc-x");
	s = json_dumps(p, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"metadata\":{\"annotations\":{\"" ANN_CLAIM_VOLUME "\":\"pvc-x\"},"
			    "\"finalizers\":[\"kubernetes.io/pvc-protection\",\"" FINALIZER_CLAIM "\"],"
			    "\"resourceVersion\":\"7\"}}");
	free(s);
	json_decref(p);
	assert_null(plan_unmark_patch(&c.meta, FINALIZER_CLAIM, ANN_CLAIM_VOLUME));
	kube_pvc_release(&c);

	make_claim(&c, ",\"finalizers\":[\"kubernetes.io/pvc-protection\",\"" FINALIZER_CLAIM "\"]",
		   NULL);
	assert_true(plan_claim_marked(&c));
	p = plan_unmark_patch(&c.meta, FINALIZER_CLAIM, ANN_STORAGE_PROVISIONER);
	s = json_dumps(p, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "[{\"op\":\"test\",\"path\":\"/metadata/finalizers/1\",\"value\":\""
			    FINALIZER_CLAIM "\"},{\"op\":\"remove\",\"path\":\"/metadata/finalizers/1\"},"
			    "{\"op\":\"test\",\"path\":\"/metadata/annotations/"
			    "volume.kubernetes.io~1storage-provisioner\",\"value\":\"hostpath.csi.k8s.io\"},"
			    "{\"op\":\"remove\",\"path\":\"/metadata/annotations/"
			    "volume.kubernetes.io~1storage-provisioner\"}]");
	free(s);
	json_decref(p);
	kube_pvc_release(&c);
}

static void test_error_classes(void **state)
{
	(void)state;
	assert_int_equal(plan_classify_csi_error(CSI_DEADLINE_EXCEEDED), PLAN_ERR_IN_BACKGROUND);
	assert_int_equal(plan_classify_csi_error(CSI_UNAVAILABLE), PLAN_ERR_IN_BACKGROUND);
	assert_int_equal(plan_classify_csi_error(CSI_CANCELLED), PLAN_ERR_IN_BACKGROUND);
	assert_int_equal(plan_classify_csi_error(CSI_ABORTED), PLAN_ERR_IN_BACKGROUND);
	assert_int_equal(plan_classify_csi_error(CSI_ERR_LOCAL), PLAN_ERR_IN_BACKGROUND);
	assert_int_equal(plan_classify_csi_error(CSI_INVALID_ARGUMENT), PLAN_ERR_INFEASIBLE);
	assert_int_equal(plan_classify_csi_error(CSI_RESOURCE_EXHAUSTED), PLAN_ERR_FINAL);
	assert_int_equal(plan_classify_csi_error(CSI_INTERNAL), PLAN_ERR_FINAL);
	assert_int_equal(plan_classify_csi_error(CSI_ALREADY_EXISTS), PLAN_ERR_FINAL);
	/* codes of the error space, never bare gRPC numbers: 3 alone is no INVALID_ARGUMENT */
	assert_int_equal(plan_classify_csi_error(3), PLAN_ERR_IN_BACKGROUND);
	assert_int_equal(plan_classify_csi_error(KUBE_ERR_NOT_FOUND), PLAN_ERR_IN_BACKGROUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claim_verdicts),
		cmocka_unit_test(test_claim_annotations),
		cmocka_unit_test(test_volume_name),
		cmocka_unit_test(test_access_modes),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_request_parameters),
		cmocka_unit_test(test_pv_object),
		cmocka_unit_test(test_pv_read_only),
		cmocka_unit_test(test_should_delete),
		cmocka_unit_test(test_mark_patches),
		cmocka_unit_test(test_error_classes),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
