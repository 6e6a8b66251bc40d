/* SPDX-License-Identifier: Apache-2.0 */
/*
 * path.c - REST paths to named objects, each segment checked against
 * Kubernetes' name rules and percent-escaped (see path.h for why).
 */
#include "kube/path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "kube/client.h"
#include "kube/status.h"

#define DNS1123_LABEL_MAX 63
#define DNS1123_SUBDOMAIN_MAX 253
/* How much of an invalid name a message shows. */
#define QUOTE_MAX 80

/* Each kind's collection across namespaces; a path splits it at its last '/'. */
static const struct {
	const char *kind, *all;
	bool namespaced;
} res[KUBE_RES_COUNT] = {
	[KUBE_RES_PVC] = { "PersistentVolumeClaim", KUBE_PATH_ALL_PVC, true },
	[KUBE_RES_PV] = { "PersistentVolume", KUBE_PATH_ALL_PV, false },
	[KUBE_RES_SECRET] = { "Secret", KUBE_API_CORE "/secrets", true },
	[KUBE_RES_EVENT] = { "Event", KUBE_API_CORE "/events", true },
	[KUBE_RES_NODE] = { "Node", KUBE_PATH_ALL_NODE, false },
	[KUBE_RES_STORAGE_CLASS] = { "StorageClass", KUBE_PATH_ALL_STORAGE_CLASS, false },
	[KUBE_RES_VAC] = { "VolumeAttributesClass", KUBE_API_STORAGE "/volumeattributesclasses",
			   false },
	[KUBE_RES_SNAPSHOT] = { "VolumeSnapshot",
				"/apis/snapshot.storage.k8s.io/v1/volumesnapshots", true },
	[KUBE_RES_SNAPSHOT_CONTENT] = { "VolumeSnapshotContent",
					"/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents",
					false },
	[KUBE_RES_LEASE] = { "Lease", "/apis/coordination.k8s.io/v1/leases", true },
	[KUBE_RES_CONFIGMAP] = { "ConfigMap", KUBE_API_CORE "/configmaps", true },
	[KUBE_RES_REFERENCE_GRANT] = { "ReferenceGrant",
				       "/apis/gateway.networking.k8s.io/v1beta1/referencegrants",
				       true },
	[KUBE_RES_VOLUME_ATTACHMENT] = { "VolumeAttachment", KUBE_PATH_ALL_VOLUME_ATTACHMENT,
					 false },
	[KUBE_RES_CSINODE] = { "CSINode", KUBE_PATH_ALL_CSINODE, false },
	[KUBE_RES_CSI_CAPACITY] = { "CSIStorageCapacity", KUBE_API_STORAGE "/csistoragecapacities",
				    true },
	[KUBE_RES_SSAR] = { "SelfSubjectAccessReview",
			    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", false },
};

/* (client.h) */
char *kube_path_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0, n = s ? strlen(s) : 0;
	char *out = xmalloc(n * 3 + 1);

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return out;
}

static bool lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* One label of [a-z0-9]([-a-z0-9]*[a-z0-9])? spanning s[0..n). */
static bool label_ok(const char *s, size_t n)
{
	if (!n || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool kube_name_is_dns1123_label(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n <= DNS1123_LABEL_MAX && label_ok(s, n);
}

bool kube_name_is_dns1123_subdomain(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	const char *p = s;

	/* as Kubernetes: the whole is at most 253; its labels are not capped one by one */
	if (!n || n > DNS1123_SUBDOMAIN_MAX)
		return false;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (!label_ok(p, len))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

const char *kube_resource_kind(enum kube_resource r)
{
	return (unsigned)r < KUBE_RES_COUNT ? res[r].kind : "object";
}

char *kube_name_quote(const char *s, size_t max)
{
	struct buf b;
	size_t i;

	buf_init(&b, max * 4 + 8);
	buf_append(&b, "\"", 1);
	for (i = 0; s && s[i] && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			buf_appendf(&b, "\\%c", ch);
		else if (ch == '\n')
			buf_append(&b, "\\n", 2);
		else if (ch < 0x20 || ch >= 0x7f)
			buf_appendf(&b, "\\x%02x", ch);
		else
			buf_append(&b, &s[i], 1);
	}
	buf_append(&b, "\"", 1);
	if (s && s[i])
		buf_append(&b, "...", 3);
	return buf_detach(&b, NULL);
}

static int invalid(struct err *e, const char *what, const char *name, const char *rule)
{
	char *q = kube_name_quote(name, QUOTE_MAX);
	int rc = err_set(e, KUBE_ERR_INVALID, "invalid %s %s: %s", what, name ? q : "(none)",
			 rule);

	free(q);
	return rc;
}

#define LABEL_RULE "a namespace must be a DNS-1123 label (at most 63 characters of a-z, " \
	"0-9 and '-', starting and ending with a letter or digit)"
#define SUBDOMAIN_RULE "a name must be a DNS-1123 subdomain (at most 253 characters of " \
	"a-z, 0-9, '-' and '.', each part starting and ending with a letter or digit)"

int kube_name_check(enum kube_resource r, const char *ns, const char *name, struct err *e)
{
	char what[64];

	if ((unsigned)r >= KUBE_RES_COUNT)
		return err_set(e, KUBE_ERR_INVALID, "unknown resource %d", (int)r);
	if (ns && !kube_name_is_dns1123_label(ns)) {
		snprintf(what, sizeof(what), "namespace of a %s", res[r].kind);
		return invalid(e, what, ns, LABEL_RULE);
	}
	if (!kube_name_is_dns1123_subdomain(name)) {
		snprintf(what, sizeof(what), "%s name", res[r].kind);
		return invalid(e, what, name, SUBDOMAIN_RULE);
	}
	return 0;
}

int kube_namespace_check(const char *ns, struct err *e)
{
	if (!kube_name_is_dns1123_label(ns))
		return invalid(e, "namespace", ns, LABEL_RULE);
	return 0;
}

static int build(char **out, enum kube_resource r, const char *ns, const char *name,
		 struct err *e)
{
	const char *plural;
	struct buf b;
	int rc;

	*out = NULL;
	if ((unsigned)r >= KUBE_RES_COUNT)
		return err_set(e, KUBE_ERR_INVALID, "unknown resource %d", (int)r);
	if (ns && !res[r].namespaced)
		return err_set(e, KUBE_ERR_INVALID, "%s is not namespaced", res[r].kind);
	if (name && res[r].namespaced && !ns)
		return err_set(e, KUBE_ERR_INVALID, "%s %s needs a namespace", res[r].kind,
			       name);
	if (ns && !kube_name_is_dns1123_label(ns))
		return kube_name_check(r, ns, name, e);
	if (name && (rc = kube_name_check(r, NULL, name, e)))
		return rc;
	plural = strrchr(res[r].all, '/');
	buf_init(&b, (size_t)-1);
	buf_append(&b, res[r].all, (size_t)(plural - res[r].all));
	if (ns) {
		char *x = kube_path_escape(ns);

		buf_appendf(&b, "/namespaces/%s", x);
		free(x);
	}
	buf_appendf(&b, "%s", plural);
	if (name) {
		char *x = kube_path_escape(name);

		buf_appendf(&b, "/%s", x);
		free(x);
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

int kube_path_object(char **out, enum kube_resource r, const char *ns, const char *name,
		     struct err *e)
{
	if (!name) {
		*out = NULL;
		return err_set(e, KUBE_ERR_INVALID, "no %s name", kube_resource_kind(r));
	}
	return build(out, r, ns, name, e);
}

int kube_path_collection(char **out, enum kube_resource r, const char *ns, struct err *e)
{
	return build(out, r, ns, NULL, e);
}

/* "&key=<value escaped>" (the first one with '?'). */
static void query_add(struct buf *b, bool *first, const char *key, const char *value)
{
	char *x = kube_path_escape(value);

	buf_appendf(b, "%c%s=%s", *first ? '?' : '&', key, x);
	*first = false;
	free(x);
}

int kube_path_list(char **out, enum kube_resource r, const char *ns,
		   const struct kube_list_query *q, struct err *e)
{
	char *coll;
	struct buf b;
	bool first = true;
	int rc;

	*out = NULL;
	if ((rc = build(&coll, r, ns, NULL, e)))
		return rc;
	if (!q)
		goto done;
	buf_init(&b, (size_t)-1);
	buf_appendf(&b, "%s", coll);
	free(coll);
	if (q->label_selector)
		query_add(&b, &first, "labelSelector", q->label_selector);
	if (q->field_selector)
		query_add(&b, &first, "fieldSelector", q->field_selector);
	if (q->limit > 0) {
		buf_appendf(&b, "%climit=%ld", first ? '?' : '&', q->limit);
		first = false;
	}
	if (q->cont)
		query_add(&b, &first, "continue", q->cont);
	coll = buf_detach(&b, NULL);
done:
	*out = coll;
	return 0;
}
