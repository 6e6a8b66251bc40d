// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_objects.c - libFuzzer target for every object decoder: the input is
 * JSON as an API server (or an impostor) might send it; each decoder must
 * either succeed or fail with KUBE_ERR_DECODE / KUBE_ERR_TOO_LARGE and a
 * message, and leave nothing behind. Also feeds any string it finds at
 * "t" to kube_time_parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "kube/objects.h"
#include "kube/status.h"

static void check(int rc, struct err *e)
{
	if (rc && rc != KUBE_ERR_DECODE && rc != KUBE_ERR_TOO_LARGE)
		BUG("decoder returned %d", rc);
	if (rc && !e->msg)
		BUG("decoder failed without a message");
	err_release(e);
}

#define TRY(T, fn) do {							\
	struct T x;							\
	struct err e = ERR_INIT;					\
	check(kube_##fn##_decode(j, &x, &e), &e);			\
	kube_##fn##_release(&x);					\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
	const char *t;

	if (!j)
		return 0;
	TRY(kube_pvc, pvc);
	TRY(kube_pv, pv);
	TRY(kube_storage_class, storage_class);
	TRY(kube_node, node);
	TRY(kube_csinode, csinode);
	TRY(kube_secret, secret);
	TRY(kube_volume_attachment, volume_attachment);
	TRY(kube_vac, vac);
	TRY(kube_csi_capacity, csi_capacity);
	TRY(kube_volume_snapshot, volume_snapshot);
	TRY(kube_snapshot_content, snapshot_content);
	TRY(kube_lease, lease);
	t = json_string_value(json_object_get(j, "t"));
	if (t) {
		struct err e = ERR_INIT;
		int64_t us;

		kube_time_parse(t, &us, &e);
		err_release(&e);
	}
	json_decref(j);
	return 0;
}
