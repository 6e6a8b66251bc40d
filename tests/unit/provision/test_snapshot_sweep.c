// SPDX-License-Identifier: Apache-2.0
/*
 * test_snapshot_sweep.c - which snapshot finalizers the orphan sweep
 * removes (snapshot_sweep.h): claims as the API server sends them go into
 * the index of pending sources, then each snapshot is judged against it.
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

#include "provision/datasource.h"
#include "provision/snapshot_sweep.h"

/* Claims: ns "a" unless the JSON says otherwise; each restores or not. */
static const char *const claims[] = {
	/* Pending, restores a/pending-src */
	"{\"metadata\":{\"name\":\"c1\",\"namespace\":\"a\"},\"spec\":{\"dataSource\":"
	"{\"kind\":\"VolumeSnapshot\",\"apiGroup\":\"snapshot.storage.k8s.io\",\"name\":\"pending-src\"}},"
	"\"status\":{\"phase\":\"Pending\"}}",
	/* no phase yet, restores a/new-src */
	"{\"metadata\":{\"name\":\"c2\",\"namespace\":\"a\"},\"spec\":{\"dataSource\":"
	"{\"kind\":\"VolumeSnapshot\",\"apiGroup\":\"snapshot.storage.k8s.io\",\"name\":\"new-src\"}}}",
	/* Bound: its restore is over */
	"{\"metadata\":{\"name\":\"c3\",\"namespace\":\"a\"},\"spec\":{\"dataSource\":"
	"{\"kind\":\"VolumeSnapshot\",\"apiGroup\":\"snapshot.storage.k8s.io\",\"name\":\"bound-src\"}},"
	"\"status\":{\"phase\":\"Bound\"}}",
	/* dataSourceRef into namespace b */
	"{\"metadata\":{\"name\":\"c4\",\"namespace\":\"a\"},\"spec\":{\"dataSourceRef\":"
	"{\"kind\":\"VolumeSnapshot\",\"apiGroup\":\"snapshot.storage.k8s.io\",\"name\":\"xns-src\","
	"\"namespace\":\"b\"}},\"status\":{\"phase\":\"Pending\"}}",
	/* no apiGroup: counted, as upstream */
	"{\"metadata\":{\"name\":\"c5\",\"namespace\":\"a\"},\"spec\":{\"dataSource\":"
	"{\"kind\":\"VolumeSnapshot\",\"name\":\"nogroup-src\"}},\"status\":{\"phase\":\"Pending\"}}",
	/* another group's VolumeSnapshot kind: not ours */
	"{\"metadata\":{\"name\":\"c6\",\"namespace\":\"a\"},\"spec\":{\"dataSource\":"
	"{\"kind\":\"VolumeSnapshot\",\"apiGroup\":\"example.com\",\"name\":\"foreign-src\"}},"
	"\"status\":{\"phase\":\"Pending\"}}",
	/* a clone, not a restore */
	"{\"metadata\":{\"name\":\"c7\",\"namespace\":\"a\"},\"spec\":{\"dataSource\":"
	"{\"kind\":\"PersistentVolumeClaim\",\"name\":\"clone-src\"}},\"status\":{\"phase\":\"Pending\"}}",
};

static const struct {
	const char *ns, *name;
	bool finalizer, orphaned;
} snapshots[] = {
	{ "a", "pending-src", true, false },
	{ "a", "new-src", true, false },
	{ "a", "bound-src", true, true },
	{ "b", "xns-src", true, false },
	{ "a", "xns-src", true, true },		/* the same name in the claim's namespace */
	{ "a", "nogroup-src", true, false },
	{ "a", "foreign-src", true, true },
	{ "a", "clone-src", true, true },
	{ "a", "unused", true, true },
	{ "a", "unused-unmarked", false, false },	/* nothing of ours to remove */
	{ "b", "pending-src", true, true },	/* another namespace's snapshot */
};

static void test_orphaned_finalizers(void **state)
{
	struct hmap index = HMAP_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
		struct kube_pvc p;
		struct err e = ERR_INIT;
		json_t *j = test_json(claims[i]);

		if (kube_pvc_decode(j, &p, &e))
			fail_msg("claim %zu: %s", i, err_msg(&e));
		snapshot_pending_add(&index, &p);
		kube_pvc_release(&p);
		json_decref(j);
	}
	for (size_t i = 0; i < sizeof(snapshots) / sizeof(snapshots[0]); i++) {
		struct kube_volume_snapshot s;
		struct err e = ERR_INIT;
		char buf[512];
		json_t *j;

		snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
			 "\"finalizers\":[\"snapshot.storage.kubernetes.io/volumesnapshot-as-source\"%s]},"
			 "\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"x\"}}}",
			 snapshots[i].name, snapshots[i].ns,
			 snapshots[i].finalizer ? ",\"" FINALIZER_SNAPSHOT_SOURCE "\"" : "");
		j = test_json(buf);
		if (kube_volume_snapshot_decode(j, &s, &e))
			fail_msg("snapshot %s: %s", snapshots[i].name, err_msg(&e));
		if (snapshot_orphaned(&s, &index) != snapshots[i].orphaned)
			fail_msg("snapshot %s/%s: orphaned should be %s", snapshots[i].ns,
				 snapshots[i].name, snapshots[i].orphaned ? "true" : "false");
		kube_volume_snapshot_release(&s);
		json_decref(j);
	}
	hmap_release(&index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orphaned_finalizers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
