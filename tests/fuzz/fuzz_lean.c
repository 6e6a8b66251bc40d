// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_lean.c - libFuzzer target for lean parsing (src/kube/json_lean.c),
 * differential against jansson. Property: whenever jansson parses the text,
 * the lean parse gives the same tree with every object's
 * metadata.managedFields array replaced by null and its
 * metadata.annotations' last-applied value by ""; whenever the lean parse
 * fails, jansson fails the same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "kube/json_lean.h"

#define LA "kubectl.kubernetes.io/last-applied-configuration"

/* What the lean parse must have done, on jansson's tree. */
static void expect(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			expect(v);
		return;
	}
	if (!json_is_object(j))
		return;
	json_object_foreach(j, k, v) {
		if (!strcmp(k, "metadata") && json_is_object(v)) {
			json_t *mf = json_object_get(v, "managedFields");
			json_t *ann = json_object_get(v, "annotations");

			if (json_is_array(mf))
				json_object_set_new(v, "managedFields", json_null());
			if (json_is_object(ann) && json_is_string(json_object_get(ann, LA)))
				json_object_set_new(ann, LA, json_string(""));
		}
		expect(v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t a, b;
	json_t *lean = kube_json_loadb_lean((const char *)data, size, 0, &a);
	json_t *full = json_loadb((const char *)data, size, 0, &b);

	if (full) {
		expect(full);
		if (!lean || !json_equal(lean, full))
			BUG("the lean tree differs from jansson's");
	} else if (!lean && (strcmp(a.text, b.text) || a.position != b.position)) {
		BUG("the lean parse failed unlike jansson: '%s' vs '%s'", a.text, b.text);
	}
	json_decref(lean);
	json_decref(full);
	return 0;
}
