// SPDX-License-Identifier: Apache-2.0
/*
 * intent.c - journal records of CreateVolume requests (see intent.h):
 * encoding with sorted keys, and a checked decoding back into a request
 * the CSI client can send.
 */
#include "provision/intent.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define MAX_LIST 1024		/* caps, flags, segments, map entries */

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *map_json(const struct strmap *m)
{
	json_t *o = json_object();

	for (size_t i = 0; m && i < m->n; i++)
		json_object_set_new(o, m->items[i].key, json_string(m->items[i].value));
	return o;
}

static json_t *segments_json(const struct strmap *segs, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, map_json(&segs[i]));
	return a;
}

char *intent_encode(const struct intent_owner *o, const struct csi_create_volume_req *r)
{
	json_t *caps = json_array(), *req, *doc, *secret;
	char *out;

	for (size_t i = 0; i < r->n_caps; i++) {
		const struct csi_volume_capability *c = &r->caps[i];
		json_t *flags = json_array();

		for (size_t k = 0; k < c->n_mount_flags; k++)
			json_array_append_new(flags, json_string(c->mount_flags[k]));
		json_array_append_new(caps, json_pack("{s:b,s:o,s:o,s:o,s:i}", "block", c->block,
						      "fs", str_or_null(c->fs_type), "flags", flags,
						      "group", str_or_null(c->mount_group),
						      "mode", c->access_mode));
	}
	req = json_pack("{s:s,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
			"name", r->name, "required", (json_int_t)r->required_bytes,
			"limit", (json_int_t)r->limit_bytes, "caps", caps,
			"params", map_json(&r->parameters),
			"mutable", map_json(&r->mutable_parameters),
			"source_volume", str_or_null(r->source_volume_id),
			"source_snapshot", str_or_null(r->source_snapshot_id),
			"requisite", segments_json(r->requisite, r->n_requisite),
			"preferred", segments_json(r->preferred, r->n_preferred));
	secret = o->secret_name ? json_pack("{s:s,s:s}", "namespace",
					    o->secret_namespace ? o->secret_namespace : "",
					    "name", o->secret_name) : json_null();
	doc = json_pack("{s:i,s:{s:s,s:s,s:s},s:o,s:o,s:o}", "v", 1, "claim",
			"namespace", o->claim_namespace, "name", o->claim_name,
			"uid", o->claim_uid, "class", str_or_null(o->class_name),
			"secret", secret, "req", req);
	out = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	if (!out)
		abort();	/* only on allocation failure: every value above is valid */
	return out;
}

/* A string member: required unless opt; NULL for JSON null or when absent and opt. */
static int get_str(json_t *o, const char *k, bool opt, char **out, struct err *e)
{
	json_t *v = json_object_get(o, k);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (opt)
			return 0;
		return err_set(e, INTENT_ERR_DECODE, "intent record: \"%s\" is missing", k);
	}
	if (!json_is_string(v))
		return err_set(e, INTENT_ERR_DECODE, "intent record: \"%s\" is not a string", k);
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int get_map(json_t *o, const char *what, struct strmap *out, struct err *e)
{
	const char *k;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o) || json_object_size(o) > MAX_LIST)
		return err_set(e, INTENT_ERR_DECODE, "intent record: \"%s\" is not a map", what);
	json_object_foreach(o, k, v) {
		if (!json_is_string(v))
			return err_set(e, INTENT_ERR_DECODE, "intent record: \"%s\" value of \"%s\" "
				       "is not a string", what, k);
		strmap_add_owned(out, xstrdup(k), xstrdup(json_string_value(v)));
	}
	return 0;
}

static int get_segments(json_t *a, const char *what, struct strmap **out, size_t *n,
			struct err *e)
{
	*out = NULL;
	*n = 0;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > MAX_LIST)
		return err_set(e, INTENT_ERR_DECODE, "intent record: \"%s\" is not a list", what);
	*out = xcalloc(json_array_size(a) + 1, sizeof(**out));
	for (size_t i = 0; i < json_array_size(a); i++) {
		int rc = get_map(json_array_get(a, i), what, &(*out)[i], e);

		*n = i + 1;
		if (rc)
			return rc;
	}
	return 0;
}

static int get_int(json_t *o, const char *k, int64_t *out, struct err *e)
{
	json_t *v = json_object_get(o, k);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return err_set(e, INTENT_ERR_DECODE, "intent record: \"%s\" is not a size", k);
	*out = json_integer_value(v);
	return 0;
}

static int decode_caps(json_t *a, struct intent *in, struct err *e)
{
	size_t n;

	if (!json_is_array(a) || !json_array_size(a) || json_array_size(a) > MAX_LIST)
		return err_set(e, INTENT_ERR_DECODE, "intent record: \"caps\" is not a list");
	n = json_array_size(a);
	in->caps = xcalloc(n + 1, sizeof(*in->caps));
	in->mount_flags = xcalloc(n + 1, sizeof(*in->mount_flags));
	in->req.caps = in->caps;
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(a, i), *flags = json_object_get(c, "flags");
		json_t *mode = json_object_get(c, "mode"), *block = json_object_get(c, "block");
		char *fs = NULL, *group = NULL;
		int rc;

		in->req.n_caps = i + 1;
		if (!json_is_object(c) || !json_is_integer(mode) || !json_is_boolean(block) ||
		    (flags && !json_is_array(flags)) || json_array_size(flags) > MAX_LIST)
			return err_set(e, INTENT_ERR_DECODE, "intent record: capability %zu is "
				       "malformed", i);
		if ((rc = get_str(c, "fs", true, &fs, e)) ||
		    (rc = get_str(c, "group", true, &group, e))) {
			free(fs);
			return rc;
		}
		in->caps[i].fs_type = fs;
		in->caps[i].mount_group = group;
		in->caps[i].block = json_is_true(block);
		in->caps[i].access_mode = (int)json_integer_value(mode);
		in->mount_flags[i] = xcalloc(json_array_size(flags) + 1, sizeof(char *));
		for (size_t k = 0; k < json_array_size(flags); k++) {
			json_t *f = json_array_get(flags, k);

			if (!json_is_string(f))
				return err_set(e, INTENT_ERR_DECODE, "intent record: a mount flag is "
					       "not a string");
			in->mount_flags[i][k] = xstrdup(json_string_value(f));
			in->caps[i].n_mount_flags = k + 1;
		}
		in->caps[i].mount_flags = (const char *const *)in->mount_flags[i];
	}
	return 0;
}

int intent_decode(const char *json, struct intent *in, struct err *e)
{
	json_t *doc, *claim, *req, *secret;
	json_error_t je;
	int rc = INTENT_ERR_DECODE;

	memset(in, 0, sizeof(*in));
	if (!json || !*json || strlen(json) > INTENT_MAX_BYTES)
		return err_set(e, INTENT_ERR_DECODE, "intent record is empty or too large");
	doc = json_loads(json, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return err_set(e, INTENT_ERR_DECODE, "intent record is not JSON: %s", je.text);
	claim = json_object_get(doc, "claim");
	req = json_object_get(doc, "req");
	secret = json_object_get(doc, "secret");
	if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "v")) != 1 ||
	    !json_is_object(claim) || !json_is_object(req)) {
		err_set(e, INTENT_ERR_DECODE, "intent record: not a version 1 record");
		goto out;
	}
	if (get_str(claim, "namespace", false, &in->claim_namespace, e) ||
	    get_str(claim, "name", false, &in->claim_name, e) ||
	    get_str(claim, "uid", false, &in->claim_uid, e) ||
	    get_str(doc, "class", true, &in->class_name, e) ||
	    get_str(req, "name", false, &in->name, e) ||
	    get_str(req, "source_volume", true, &in->source_volume_id, e) ||
	    get_str(req, "source_snapshot", true, &in->source_snapshot_id, e) ||
	    get_int(req, "required", &in->req.required_bytes, e) ||
	    get_int(req, "limit", &in->req.limit_bytes, e) ||
	    decode_caps(json_object_get(req, "caps"), in, e) ||
	    get_map(json_object_get(req, "params"), "params", &in->parameters, e) ||
	    get_map(json_object_get(req, "mutable"), "mutable", &in->mutable_parameters, e) ||
	    get_segments(json_object_get(req, "requisite"), "requisite", &in->requisite,
			 &in->req.n_requisite, e) ||
	    get_segments(json_object_get(req, "preferred"), "preferred", &in->preferred,
			 &in->req.n_preferred, e))
		goto out;
	if (secret && !json_is_null(secret) &&
	    (!json_is_object(secret) || get_str(secret, "namespace", false, &in->secret_namespace, e) ||
	     get_str(secret, "name", false, &in->secret_name, e))) {
		if (!err_code(e))
			err_set(e, INTENT_ERR_DECODE, "intent record: \"secret\" is malformed");
		goto out;
	}
	if (!*in->name || !*in->claim_uid) {
		err_set(e, INTENT_ERR_DECODE, "intent record: empty volume name or claim uid");
		goto out;
	}
	in->req.name = in->name;
	in->req.source_volume_id = in->source_volume_id;
	in->req.source_snapshot_id = in->source_snapshot_id;
	in->req.parameters = in->parameters;
	in->req.mutable_parameters = in->mutable_parameters;
	in->req.requisite = in->requisite;
	in->req.preferred = in->preferred;
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

void intent_release(struct intent *in)
{
	if (!in)
		return;
	free(in->claim_namespace);
	free(in->claim_name);
	free(in->claim_uid);
	free(in->class_name);
	free(in->secret_namespace);
	free(in->secret_name);
	free(in->name);
	free(in->source_volume_id);
	free(in->source_snapshot_id);
	for (size_t i = 0; in->caps && i < in->req.n_caps; i++) {
		free((char *)in->caps[i].fs_type);
		free((char *)in->caps[i].mount_group);
		for (size_t k = 0; in->mount_flags[i] && k < in->caps[i].n_mount_flags; k++)
			free(in->mount_flags[i][k]);
		free(in->mount_flags[i]);
	}
	free(in->caps);
	free(in->mount_flags);
	strmap_release(&in->parameters);
	strmap_release(&in->mutable_parameters);
	for (size_t i = 0; in->requisite && i < in->req.n_requisite; i++)
		strmap_release(&in->requisite[i]);
	for (size_t i = 0; in->preferred && i < in->req.n_preferred; i++)
		strmap_release(&in->preferred[i]);
	free(in->requisite);
	free(in->preferred);
	memset(in, 0, sizeof(*in));
}

char *intent_claim_key(const struct intent *in)
{
	return xasprintf("%s/%s", in->claim_namespace, in->claim_name);
}
