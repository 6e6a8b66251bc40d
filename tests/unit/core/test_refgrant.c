// SPDX-License-Identifier: Apache-2.0
/*
 * test_refgrant.c - ReferenceGrants for cross-namespace data sources: which
 * grants let a claim in one namespace copy from a source in another.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kube/status.h"
#include "provision/refgrant.h"

/* A claim "dst/clone" whose dataSourceRef names KIND/NAME (group GROUP) in "src". */
static void claim_init(struct kube_pvc *c, const char *group, const char *kind, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->meta.namespace = strdup("dst");
	c->meta.name = strdup("clone");
	c->data_source_api_group = group ? strdup(group) : NULL;
	c->data_source_kind = strdup(kind);
	c->data_source_name = strdup(name);
	c->data_source_namespace = strdup("src");
}

/* A one-grant list in namespace NS with the given from and to entries (JSON arrays). */
static json_t *grant_list(const char *ns, const char *from, const char *to)
{
	char buf[2048];
	json_error_t je;
	json_t *l;

	snprintf(buf, sizeof(buf),
		 "{\"kind\":\"ReferenceGrantList\",\"items\":[{\"metadata\":{\"name\":\"g\","
		 "\"namespace\":\"%s\"},\"spec\":{\"from\":%s,\"to\":%s}}]}", ns, from, to);
	l = json_loads(buf, 0, &je);
	assert_non_null(l);
	return l;
}

#define FROM_DST "[{\"group\":\"\",\"kind\":\"PersistentVolumeClaim\",\"namespace\":\"dst\"}]"
#define TO_PVC "[{\"group\":\"\",\"kind\":\"PersistentVolumeClaim\"}]"
#define TO_SNAP "[{\"group\":\"snapshot.storage.k8s.io\",\"kind\":\"VolumeSnapshot\"}]"

static void test_rules_table(void **state)
{
	static const struct {
		const char *what, *group, *kind, *ns, *from, *to;
		int want;	/* 0 allowed, ERR_INVALID refused, else the error code */
	} cases[] = {
		{ "clone, any name", NULL, "PersistentVolumeClaim", "src", FROM_DST, TO_PVC, 0 },
		{ "clone, group \"\" on the claim", "", "PersistentVolumeClaim", "src", FROM_DST, TO_PVC, 0 },
		{ "clone, named", NULL, "PersistentVolumeClaim", "src", FROM_DST,
		  "[{\"group\":\"\",\"kind\":\"PersistentVolumeClaim\",\"name\":\"data\"}]", 0 },
		{ "clone, empty name is any", NULL, "PersistentVolumeClaim", "src", FROM_DST,
		  "[{\"group\":\"\",\"kind\":\"PersistentVolumeClaim\",\"name\":\"\"}]", 0 },
		{ "clone, another name", NULL, "PersistentVolumeClaim", "src", FROM_DST,
		  "[{\"group\":\"\",\"kind\":\"PersistentVolumeClaim\",\"name\":\"other\"}]", ERR_INVALID },
		{ "snapshot", "snapshot.storage.k8s.io", "VolumeSnapshot", "src", FROM_DST, TO_SNAP, 0 },
		{ "snapshot, grant for claims only", "snapshot.storage.k8s.io", "VolumeSnapshot", "src",
		  FROM_DST, TO_PVC, ERR_INVALID },
		{ "clone, grant for snapshots only", NULL, "PersistentVolumeClaim", "src", FROM_DST,
		  TO_SNAP, ERR_INVALID },
		{ "snapshot, wrong group", "snapshot.storage.k8s.io", "VolumeSnapshot", "src", FROM_DST,
		  "[{\"group\":\"\",\"kind\":\"VolumeSnapshot\"}]", ERR_INVALID },
		{ "from another namespace", NULL, "PersistentVolumeClaim", "src",
		  "[{\"group\":\"\",\"kind\":\"PersistentVolumeClaim\",\"namespace\":\"other\"}]",
		  TO_PVC, ERR_INVALID },
		{ "from another kind", NULL, "PersistentVolumeClaim", "src",
		  "[{\"group\":\"\",\"kind\":\"Pod\",\"namespace\":\"dst\"}]", TO_PVC, ERR_INVALID },
		{ "from a group", NULL, "PersistentVolumeClaim", "src",
		  "[{\"group\":\"x.io\",\"kind\":\"PersistentVolumeClaim\",\"namespace\":\"dst\"}]",
		  TO_PVC, ERR_INVALID },
		{ "second from entry matches", NULL, "PersistentVolumeClaim", "src",
		  "[{\"group\":\"\",\"kind\":\"Pod\",\"namespace\":\"dst\"},"
		  "{\"group\":\"\",\"kind\":\"PersistentVolumeClaim\",\"namespace\":\"dst\"}]",
		  TO_PVC, 0 },
		{ "grant in another namespace", NULL, "PersistentVolumeClaim", "elsewhere", FROM_DST,
		  TO_PVC, ERR_INVALID },
		{ "no entries", NULL, "PersistentVolumeClaim", "src", "[]", "[]", ERR_INVALID },
		{ "from is not a list", NULL, "PersistentVolumeClaim", "src", "{}", TO_PVC,
		  KUBE_ERR_DECODE },
		{ "kind is not a string", NULL, "PersistentVolumeClaim", "src", FROM_DST,
		  "[{\"group\":\"\",\"kind\":7}]", KUBE_ERR_DECODE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_pvc c;
		struct err e = ERR_INIT;
		json_t *l;
		int rc;

		claim_init(&c, cases[i].group, cases[i].kind, "data");
		l = grant_list(cases[i].ns, cases[i].from, cases[i].to);
		rc = refgrant_check(&c, l, &e);
		if (rc != cases[i].want)
			fail_msg("%s: got %d (%s), want %d", cases[i].what, rc, err_msg(&e),
				 cases[i].want);
		json_decref(l);
		err_release(&e);
		kube_pvc_release(&c);
	}
}

static void test_refusal_names_both_sides(void **state)
{
	struct kube_pvc c;
	struct err e = ERR_INIT;
	json_t *l = json_pack("{s:s,s:[]}", "kind", "ReferenceGrantList", "items");

	(void)state;
	claim_init(&c, NULL, "PersistentVolumeClaim", "data");
	assert_int_equal(refgrant_check(&c, l, &e), ERR_INVALID);
	assert_string_equal(err_msg(&e), "accessing src/data of PersistentVolumeClaim dataSource "
			    "from dst/clone isn't allowed");
	json_decref(l);
	err_release(&e);
	kube_pvc_release(&c);
}

static void test_list_without_items_refuses(void **state)
{
	struct kube_pvc c;
	struct err e = ERR_INIT;
	json_t *l = json_object();

	(void)state;
	claim_init(&c, NULL, "PersistentVolumeClaim", "data");
	assert_int_equal(refgrant_check(&c, l, &e), ERR_INVALID);
	json_decref(l);
	err_release(&e);
	l = json_string("not a list");
	assert_int_equal(refgrant_check(&c, l, &e), KUBE_ERR_DECODE);
	json_decref(l);
	err_release(&e);
	kube_pvc_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_table),
		cmocka_unit_test(test_refusal_names_both_sides),
		cmocka_unit_test(test_list_without_items_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
