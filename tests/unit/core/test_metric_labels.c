// SPDX-License-Identifier: Apache-2.0
/*
 * test_metric_labels.c - the class and source labels of the provision
 * metrics, as sig-storage-lib-external-provisioner sets them: the claim's
 * spec.storageClassName and the kind of its spec.dataSource.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kube/objects.h"
#include "provision/controller_internal.h"

static void test_source_label(void **state)
{
	static const struct {
		const char *kind, *ns, *want;
	} cases[] = {
		{ NULL, NULL, "" },				/* no data source */
		{ "PersistentVolumeClaim", NULL, "PersistentVolumeClaim" },
		{ "VolumeSnapshot", NULL, "VolumeSnapshot" },
		{ "VolumeSnapshot", "", "VolumeSnapshot" },	/* empty namespace: the claim's own */
		{ "MyPopulator", NULL, "MyPopulator" },		/* any kind, as upstream */
		/* a dataSourceRef to another namespace is not mirrored into spec.dataSource */
		{ "VolumeSnapshot", "other", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_pvc claim;

		memset(&claim, 0, sizeof(claim));
		claim.data_source_kind = (char *)cases[i].kind;
		claim.data_source_namespace = (char *)cases[i].ns;
		assert_string_equal(ctl_source_label(&claim), cases[i].want);
	}
}

static void test_class_label(void **state)
{
	struct kube_pvc claim;

	(void)state;
	memset(&claim, 0, sizeof(claim));
	assert_string_equal(ctl_class_label(&claim), "");	/* only the beta annotation, or none */
	claim.storage_class_name = (char *)"fast";
	assert_string_equal(ctl_class_label(&claim), "fast");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_label),
		cmocka_unit_test(test_class_label),
	};

	return cmocka_run_group_tests_name("metric-labels", tests, NULL, NULL);
}
