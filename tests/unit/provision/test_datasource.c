// SPDX-License-Identifier: Apache-2.0
/*
 * test_datasource.c - restoring a snapshot: the volume-mode conversion rule
 * of --prevent-volume-mode-conversion, decided from the decoded claim,
 * VolumeSnapshot and VolumeSnapshotContent as the API server sends them.
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

#define DRIVER "hostpath.csi.k8s.io"

/* A claim of `mode` (NULL: the field left out) restoring snapshot "snap". */
static void claim_of(struct kube_pvc *c, const char *mode)
{
	char buf[1024];
	struct err e = ERR_INIT;
	json_t *j;

	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"restore\",\"namespace\":\"ns\",\"uid\":\"u1\"},"
		 "\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],%s%s%s"
		 "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}},"
		 "\"dataSource\":{\"kind\":\"VolumeSnapshot\",\"apiGroup\":\"snapshot.storage.k8s.io\","
		 "\"name\":\"snap\"}}}",
		 mode ? "\"volumeMode\":\"" : "", mode ? mode : "", mode ? "\"," : "");
	j = test_json(buf);
	if (kube_pvc_decode(j, c, &e))
		fail_msg("%s", err_msg(&e));
	json_decref(j);
}

static void snapshot_of(struct kube_volume_snapshot *s)
{
	struct err e = ERR_INIT;
	json_t *j = test_json("{\"metadata\":{\"name\":\"snap\",\"namespace\":\"ns\",\"uid\":\"s1\"},"
			  "\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"src\"}},"
			  "\"status\":{\"boundVolumeSnapshotContentName\":\"content\","
			  "\"readyToUse\":true,\"restoreSize\":\"1Gi\"}}");

	if (kube_volume_snapshot_decode(j, s, &e))
		fail_msg("%s", err_msg(&e));
	json_decref(j);
}

/* A content taken of a `mode` volume (NULL: unknown), annotated `allow` (NULL: not). */
static void content_of(struct kube_snapshot_content *c, const char *mode, const char *allow)
{
	char buf[1024];
	struct err e = ERR_INIT;
	json_t *j;

	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"content\"%s%s%s},"
		 "\"spec\":{\"driver\":\"" DRIVER "\",\"deletionPolicy\":\"Delete\",%s%s%s"
		 "\"source\":{\"volumeHandle\":\"vol-1\"},"
		 "\"volumeSnapshotRef\":{\"name\":\"snap\",\"namespace\":\"ns\",\"uid\":\"s1\"}},"
		 "\"status\":{\"snapshotHandle\":\"snap-1\",\"readyToUse\":true}}",
		 allow ? ",\"annotations\":{\"" ANN_ALLOW_MODE_CHANGE "\":\"" : "",
		 allow ? allow : "", allow ? "\"}" : "",
		 mode ? "\"sourceVolumeMode\":\"" : "", mode ? mode : "", mode ? "\"," : "");
	j = test_json(buf);
	if (kube_snapshot_content_decode(j, c, &e))
		fail_msg("%s", err_msg(&e));
	json_decref(j);
}

struct mode_case {
	const char *name;
	const char *claim_mode, *source_mode, *allow;
	bool prevent;
	bool ok;
	const char *msg;	/* a part of the error, when refused */
};

static const struct mode_case mode_cases[] = {
	{ "same mode", "Block", "Block", NULL, true, true, NULL },
	{ "filesystem to block refused", "Block", "Filesystem", NULL, true, false,
	  "needs annotation " ANN_ALLOW_MODE_CHANGE "=true" },
	{ "block to filesystem refused", "Filesystem", "Block", NULL, true, false,
	  "asks for volume mode Filesystem but snapshot content content holds a Block volume" },
	{ "allowed by annotation true", "Block", "Filesystem", "true", true, true, NULL },
	{ "allowed by Go spelling T", "Block", "Filesystem", "T", true, true, NULL },
	{ "allowed by Go spelling 1", "Filesystem", "Block", "1", true, true, NULL },
	{ "annotation false refuses", "Block", "Filesystem", "False", true, false,
	  "sets " ANN_ALLOW_MODE_CHANGE " to false" },
	{ "annotation not a boolean refuses", "Block", "Filesystem", "yes", true, false,
	  "=\"yes\" is not a boolean" },
	{ "flag off allows any change", "Block", "Filesystem", NULL, false, true, NULL },
	{ "source mode unknown is not checked", "Block", NULL, NULL, true, true, NULL },
	{ "claim mode unset is not checked", NULL, "Block", NULL, true, true, NULL },
};

static void test_mode_conversion(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mode_cases) / sizeof(mode_cases[0]); i++) {
		const struct mode_case *t = &mode_cases[i];
		struct kube_pvc claim;
		struct kube_volume_snapshot snap;
		struct kube_snapshot_content content;
		struct err e = ERR_INIT;
		const char *id = NULL;
		int rc;

		claim_of(&claim, t->claim_mode);
		snapshot_of(&snap);
		content_of(&content, t->source_mode, t->allow);
		rc = ds_check_snapshot(&claim, &snap, &content, DRIVER, t->prevent, &id, &e);
		if (t->ok && rc)
			fail_msg("%s: refused: %s", t->name, err_msg(&e));
		if (!t->ok && !rc)
			fail_msg("%s: allowed", t->name);
		if (t->ok && (!id || strcmp(id, "snap-1")))
			fail_msg("%s: snapshot id %s", t->name, id ? id : "(null)");
		if (!t->ok && !strstr(err_msg(&e), t->msg))
			fail_msg("%s: message \"%s\" lacks \"%s\"", t->name, err_msg(&e), t->msg);
		err_release(&e);
		kube_pvc_release(&claim);
		kube_volume_snapshot_release(&snap);
		kube_snapshot_content_release(&content);
	}
}

static void test_content_decodes_source_mode(void **state)
{
	struct kube_snapshot_content c;

	(void)state;
	content_of(&c, "Block", NULL);
	assert_string_equal(c.source_volume_mode, "Block");
	kube_snapshot_content_release(&c);
	content_of(&c, NULL, NULL);
	assert_null(c.source_volume_mode);
	kube_snapshot_content_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_conversion),
		cmocka_unit_test(test_content_decodes_source_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
