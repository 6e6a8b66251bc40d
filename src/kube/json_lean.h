/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_lean.h - parse an API server's JSON into a jansson tree without the
 * parts of an object that no decoder reads and that cost the most to parse.
 *
 * metadata.managedFields is about half of a typical PV or PVC and, being
 * hundreds of tiny nested objects, most of jansson's work; kubectl's
 * last-applied-configuration annotation is a second copy of the object. A
 * byte scan (no allocation, no tree) finds their values, and the text
 * jansson parses has them replaced: managedFields by null, the annotation's
 * value by "". Everything else is parsed as sent, so the decoders see the
 * same tree minus those two values.
 *
 * Only for callers that decode and drop the tree (informer lists and watch
 * events): an object read this way must never be written back (a PUT would
 * clear the annotation). Pure function, any thread.
 */
#ifndef KUBE_JSON_LEAN_H
#define KUBE_JSON_LEAN_H

#include <stddef.h>

#include <jansson.h>

/*
 * As json_loadb(text, len, flags, err), with the replacements above. Text
 * the scan does not understand (not JSON, nested deeper than it tracks) is
 * parsed unchanged, and a failure is always reported as jansson reports it
 * for the original text. Caller owns the result (json_decref).
 */
json_t *kube_json_loadb_lean(const char *text, size_t len, size_t flags, json_error_t *err);

#endif
