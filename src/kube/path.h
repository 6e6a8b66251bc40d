/* SPDX-License-Identifier: Apache-2.0 */
/*
 * path.h - the one place where REST paths to named objects are built.
 *
 * Names that go into a path often come from tenants (a claim's dataSource
 * name, a Secret named by a StorageClass template, a VolumeAttributesClass
 * named by a claim): pasted as they are, "../../secrets/x" would make the
 * provisioner ask for something far outside the claim's business. Every
 * segment is therefore checked against the rule Kubernetes applies to that
 * kind of name (namespaces are DNS-1123 labels, the names of every kind we
 * address are DNS-1123 subdomains) and percent-escaped all the same. An
 * invalid name is KUBE_ERR_INVALID with a message that quotes the name
 * (escaped and shortened, so it is safe in a log line or an Event); no
 * path is built and so no request is sent.
 *
 * Paths with a query (a page of a list, a label or field selector) are
 * built here too, every value escaped. The collections the informers watch
 * are compile-time constants (KUBE_PATH_ALL_*), the same strings the table
 * of path.c builds from.
 *
 * All functions are pure and thread-safe.
 */
#ifndef KUBE_PATH_H
#define KUBE_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* The kinds of object we address by name. */
enum kube_resource {
	KUBE_RES_PVC,			/* namespaced, core */
	KUBE_RES_PV,
	KUBE_RES_SECRET,		/* namespaced, core */
	KUBE_RES_EVENT,			/* namespaced, core */
	KUBE_RES_NODE,
	KUBE_RES_STORAGE_CLASS,
	KUBE_RES_VAC,			/* VolumeAttributesClass */
	KUBE_RES_SNAPSHOT,		/* namespaced, snapshot.storage.k8s.io */
	KUBE_RES_SNAPSHOT_CONTENT,
	KUBE_RES_LEASE,			/* namespaced, coordination.k8s.io */
	KUBE_RES_CONFIGMAP,		/* namespaced, core */
	KUBE_RES_REFERENCE_GRANT,	/* namespaced, gateway.networking.k8s.io v1beta1 */
	KUBE_RES_VOLUME_ATTACHMENT,
	KUBE_RES_CSINODE,
	KUBE_RES_CSI_CAPACITY,		/* namespaced, CSIStorageCapacity */
	KUBE_RES_SSAR,			/* SelfSubjectAccessReview (create only) */
	KUBE_RES_COUNT
};

/* Collections across all namespaces (cluster-scoped kinds: all objects). */
#define KUBE_API_CORE "/api/v1"
#define KUBE_API_STORAGE "/apis/storage.k8s.io/v1"
#define KUBE_PATH_ALL_PVC KUBE_API_CORE "/persistentvolumeclaims"
#define KUBE_PATH_ALL_PV KUBE_API_CORE "/persistentvolumes"
#define KUBE_PATH_ALL_NODE KUBE_API_CORE "/nodes"
#define KUBE_PATH_ALL_STORAGE_CLASS KUBE_API_STORAGE "/storageclasses"
#define KUBE_PATH_ALL_VOLUME_ATTACHMENT KUBE_API_STORAGE "/volumeattachments"
#define KUBE_PATH_ALL_CSINODE KUBE_API_STORAGE "/csinodes"

/* What a list asks for beyond its collection; NULL / 0 fields are left out. */
struct kube_list_query {
	const char *label_selector;	/* "key=value,..." as written: escaped here */
	const char *field_selector;
	long limit;			/* a page size; 0: no limit */
	const char *cont;		/* the previous page's metadata.continue */
};

/* Kubernetes' name rules (IsDNS1123Label, IsDNS1123Subdomain). NULL is invalid. */
bool kube_name_is_dns1123_label(const char *s);
bool kube_name_is_dns1123_subdomain(const char *s);

/* The Kind, for messages ("PersistentVolumeClaim"). */
const char *kube_resource_kind(enum kube_resource r);

/*
 * Check `name` as a name of kind `r` (and `ns`, when not NULL, as a
 * namespace) without building anything: KUBE_ERR_INVALID and a message
 * naming the kind, the invalid name and the rule.
 */
int kube_name_check(enum kube_resource r, const char *ns, const char *name, struct err *e);

/* Check `ns` as a namespace (a DNS-1123 label): KUBE_ERR_INVALID naming it. */
int kube_namespace_check(const char *ns, struct err *e);

/*
 * The path of one object: "/api/v1/namespaces/<ns>/persistentvolumeclaims/<name>".
 * `ns` must be NULL for cluster-scoped kinds and set for namespaced ones.
 * On success the caller frees *out; on failure *out is NULL.
 */
int kube_path_object(char **out, enum kube_resource r, const char *ns, const char *name,
		     struct err *e);

/*
 * The path of a collection: of one namespace, or of all (or a
 * cluster-scoped kind's) with ns NULL. Caller frees *out.
 */
int kube_path_collection(char **out, enum kube_resource r, const char *ns, struct err *e);

/*
 * The collection path (as kube_path_collection) with the query `q` (may be
 * NULL): "...?labelSelector=a%3Db&limit=500". Caller frees *out.
 */
int kube_path_list(char **out, enum kube_resource r, const char *ns,
		   const struct kube_list_query *q, struct err *e);

/*
 * `s` quoted for a message: printable ASCII kept, anything else escaped
 * (\n, \xNN), at most `max` input bytes shown then "...". Caller frees.
 */
char *kube_name_quote(const char *s, size_t max);

#endif
