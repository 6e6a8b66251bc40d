// SPDX-License-Identifier: Apache-2.0
/* secrets.c - Secret references from StorageClass parameters (see secrets.h). */
#include "provision/secrets.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "kube/path.h"

#define CSI_PREFIX "csi.storage.k8s.io/"
#define MAX_SECRET_FIELD 1024

static const struct {
	const char *name;		/* for messages */
	const char *prefixed;		/* "<prefixed>-name" / "<prefixed>-namespace" */
	const char *deprecated_name, *deprecated_namespace;
} kinds[SECRET_KINDS] = {
	[SECRET_PROVISIONER] = { "provisioner", CSI_PREFIX "provisioner-secret",
				 "csiProvisionerSecretName", "csiProvisionerSecretNamespace" },
	[SECRET_CONTROLLER_PUBLISH] = { "controller-publish", CSI_PREFIX "controller-publish-secret",
					"csiControllerPublishSecretName",
					"csiControllerPublishSecretNamespace" },
	[SECRET_NODE_STAGE] = { "node-stage", CSI_PREFIX "node-stage-secret",
				"csiNodeStageSecretName", "csiNodeStageSecretNamespace" },
	[SECRET_NODE_PUBLISH] = { "node-publish", CSI_PREFIX "node-publish-secret",
				  "csiNodePublishSecretName", "csiNodePublishSecretNamespace" },
	[SECRET_CONTROLLER_EXPAND] = { "controller-expand", CSI_PREFIX "controller-expand-secret",
				       NULL, NULL },
	[SECRET_NODE_EXPAND] = { "node-expand", CSI_PREFIX "node-expand-secret", NULL, NULL },
	[SECRET_CONTROLLER_MODIFY] = { "controller-modify", CSI_PREFIX "controller-modify-secret",
				       NULL, NULL },
};

const char *secret_kind_name(enum secret_kind kind)
{
	return kind < SECRET_KINDS ? kinds[kind].name : "unknown";
}

/* Look up one field: the prefixed key or the deprecated one, not both. */
static int lookup(const struct strmap *params, const char *prefixed, const char *deprecated,
		  const char **key, const char **value, struct err *e)
{
	const char *a = strmap_get(params, prefixed);
	const char *b = deprecated ? strmap_get(params, deprecated) : NULL;

	if (a && b)
		return err_set(e, ERR_INVALID, "StorageClass parameters \"%s\" and its deprecated form \"%s\" "
			       "are both set; keep only \"%s\"", prefixed, deprecated, prefixed);
	*key = a ? prefixed : b ? deprecated : NULL;
	*value = a ? a : b;
	return 0;
}

/*
 * Expand ${...} tokens. `names` allows the name-only tokens. Unknown
 * tokens are collected into one error, as upstream reports them.
 */
static int expand(const char *tmpl, const char *key, bool names, const struct secret_context *ctx,
		  char **out, struct err *e)
{
	struct buf b, bad;
	const char *p = tmpl;
	int rc = 0;

	buf_init(&b, MAX_SECRET_FIELD);
	buf_init(&bad, MAX_SECRET_FIELD);
	while (*p) {
		const char *end, *val = NULL;
		char *tok;

		if (p[0] != '$' || p[1] != '{' || !(end = strchr(p + 2, '}'))) {
			if (buf_append(&b, p, 1))
				goto too_long;
			p++;
			continue;
		}
		tok = xstrndup(p + 2, end - p - 2);
		if (!strcmp(tok, "pv.name"))
			val = ctx->pv_name;
		else if (!strcmp(tok, "pvc.namespace"))
			val = ctx->pvc_namespace;
		else if (names && !strcmp(tok, "pvc.name"))
			val = ctx->pvc_name;
		else if (names && !strncmp(tok, "pvc.annotations['", 17) && strlen(tok) > 19 &&
			 !strcmp(tok + strlen(tok) - 2, "']")) {
			char *ann = xstrndup(tok + 17, strlen(tok) - 19);

			val = ctx->pvc_annotations ? strmap_get(ctx->pvc_annotations, ann) : NULL;
			free(ann);
		}
		if (!val) {
			buf_appendf(&bad, "%s\"%s\"", bad.len ? ", " : "", tok);
			free(tok);
			p = end + 1;
			continue;
		}
		free(tok);
		if (buf_append(&b, val, strlen(val)))
			goto too_long;
		p = end + 1;
	}
	if (bad.len) {
		rc = err_set(e, ERR_INVALID, "StorageClass parameter \"%s\" = \"%s\" has invalid tokens: [%s]",
			     key, tmpl, bad.data);
		goto out;
	}
	*out = buf_detach(&b, NULL);
	goto out;
too_long:
	rc = err_set(e, ERR_INVALID, "StorageClass parameter \"%s\" expands to more than %d characters",
		     key, MAX_SECRET_FIELD);
out:
	buf_release(&b);
	buf_release(&bad);
	return rc;
}

int secret_ref_resolve(const struct strmap *params, enum secret_kind kind,
		       const struct secret_context *ctx, struct secret_ref *out, struct err *e)
{
	char *pname = xasprintf("%s-name", kinds[kind].prefixed);
	char *pns = xasprintf("%s-namespace", kinds[kind].prefixed);
	const char *name_key = NULL, *name_val = NULL, *ns_key = NULL, *ns_val = NULL;
	int rc = ERR_INVALID;	/* every failure below is a bad StorageClass parameter */

	memset(out, 0, sizeof(*out));
	if (lookup(params, pname, kinds[kind].deprecated_name, &name_key, &name_val, e) ||
	    lookup(params, pns, kinds[kind].deprecated_namespace, &ns_key, &ns_val, e))
		goto out;
	if (!name_key && !ns_key) {
		name_key = CSI_PREFIX "secret-name";
		ns_key = CSI_PREFIX "secret-namespace";
		name_val = strmap_get(params, name_key);
		ns_val = strmap_get(params, ns_key);
		if (!name_val && !ns_val) {
			rc = 0;		/* no secret of this kind */
			goto out;
		}
	}
	if (!name_val || !ns_val) {
		err_set(e, ERR_INVALID, "StorageClass sets \"%s\" without \"%s\"; the %s secret needs both",
			name_val ? name_key : ns_key, name_val ? (ns_key ? ns_key : pns) :
			(name_key ? name_key : pname), kinds[kind].name);
		goto out;
	}
	if (!*name_val || !*ns_val) {
		err_set(e, ERR_INVALID, "StorageClass parameter \"%s\" is empty", !*name_val ? name_key : ns_key);
		goto out;
	}
	if (expand(ns_val, ns_key, false, ctx, &out->namespace, e) ||
	    expand(name_val, name_key, true, ctx, &out->name, e))
		goto out;
	if (!kube_name_is_dns1123_label(out->namespace)) {
		err_set(e, ERR_INVALID, "%s secret namespace \"%s\" (from \"%s\") is not a valid namespace "
			"(a DNS-1123 label)", kinds[kind].name, out->namespace, ns_key);
		goto out;
	}
	if (!kube_name_is_dns1123_subdomain(out->name)) {
		err_set(e, ERR_INVALID, "%s secret name \"%s\" (from \"%s\") is not a valid Secret name "
			"(a DNS-1123 subdomain)", kinds[kind].name, out->name, name_key);
		goto out;
	}
	rc = 0;
out:
	if (rc)
		secret_ref_release(out);
	free(pname);
	free(pns);
	return rc;
}

void secret_ref_release(struct secret_ref *r)
{
	if (!r)
		return;
	free(r->namespace);
	free(r->name);
	r->namespace = r->name = NULL;
}
