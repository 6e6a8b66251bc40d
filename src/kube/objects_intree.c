// SPDX-License-Identifier: Apache-2.0
/*
 * objects_intree.c - the in-tree volume sources of a PersistentVolume that
 * CSI migration moves to a CSI driver (see objects.h, struct
 * kube_pv_intree). Only what deleting such a volume through its CSI driver
 * needs is kept. As in objects.c, a field of the wrong JSON type is
 * KUBE_ERR_DECODE naming the field; absent and null fields are unset.
 */
#include "kube/objects.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "kube/status.h"

enum field_type { F_STR, F_BOOL, F_INT };

struct field {
	const char *key;
	enum field_type type;
	size_t offset;		/* into struct kube_pv_intree */
};

#define STR(k, m) { k, F_STR, offsetof(struct kube_pv_intree, m) }
#define BOOL(k, m) { k, F_BOOL, offsetof(struct kube_pv_intree, m) }
#define INT(k, m) { k, F_INT, offsetof(struct kube_pv_intree, m) }
#define END { NULL, F_STR, 0 }

static const struct field ebs_fields[] = {
	STR("volumeID", id), STR("fsType", fs_type), INT("partition", partition),
	BOOL("readOnly", read_only), END,
};
static const struct field gce_fields[] = {
	STR("pdName", id), STR("fsType", fs_type), INT("partition", partition),
	BOOL("readOnly", read_only), END,
};
static const struct field azure_disk_fields[] = {
	STR("diskURI", id), STR("fsType", fs_type), STR("kind", disk_kind),
	BOOL("readOnly", read_only), END,
};
static const struct field azure_file_fields[] = {
	STR("shareName", id), STR("secretName", secret_name),
	STR("secretNamespace", secret_namespace), BOOL("readOnly", read_only), END,
};
static const struct field id_fs_ro_fields[] = {	/* cinder, portworxVolume */
	STR("volumeID", id), STR("fsType", fs_type), BOOL("readOnly", read_only), END,
};
static const struct field vsphere_fields[] = {
	STR("volumePath", id), STR("fsType", fs_type), END,
};

static const struct {
	enum kube_intree_kind kind;
	const char *spec_field;
	const struct field *fields;
} sources[] = {
	{ KUBE_INTREE_AWS_EBS, "awsElasticBlockStore", ebs_fields },
	{ KUBE_INTREE_GCE_PD, "gcePersistentDisk", gce_fields },
	{ KUBE_INTREE_AZURE_DISK, "azureDisk", azure_disk_fields },
	{ KUBE_INTREE_AZURE_FILE, "azureFile", azure_file_fields },
	{ KUBE_INTREE_CINDER, "cinder", id_fs_ro_fields },
	{ KUBE_INTREE_VSPHERE, "vsphereVolume", vsphere_fields },
	{ KUBE_INTREE_PORTWORX, "portworxVolume", id_fs_ro_fields },
};

static int read_field(json_t *src, const char *what, const char *spec_field,
		      const struct field *f, struct kube_pv_intree *out, struct err *e)
{
	json_t *v = json_object_get(src, f->key);
	char *base = (char *)out + f->offset;
	static const char *const want[] = { "a string", "a boolean", "an integer" };
	bool ok;

	if (!v || json_is_null(v))
		return 0;
	ok = (f->type == F_STR && json_is_string(v)) || (f->type == F_BOOL && json_is_boolean(v)) ||
	     (f->type == F_INT && json_is_integer(v));
	if (!ok)
		return err_set(e, KUBE_ERR_DECODE, "%s: spec.%s.%s is not %s", what, spec_field,
			       f->key, want[f->type]);
	switch (f->type) {
	case F_STR:
		*(char **)base = xstrndup(json_string_value(v), json_string_length(v));
		break;
	case F_BOOL:
		*(bool *)base = json_is_true(v);
		break;
	case F_INT:
		*(int64_t *)base = (int64_t)json_integer_value(v);
		break;
	}
	return 0;
}

int kube_pv_intree_decode(json_t *spec, const char *what, struct kube_pv_intree *out,
			  struct err *e)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(spec))
		return 0;
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		json_t *src = json_object_get(spec, sources[i].spec_field);

		if (!src || json_is_null(src))
			continue;
		if (!json_is_object(src))
			return err_set(e, KUBE_ERR_DECODE, "%s: spec.%s is not an object", what,
				       sources[i].spec_field);
		out->kind = sources[i].kind;
		for (const struct field *f = sources[i].fields; f->key; f++) {
			if (read_field(src, what, sources[i].spec_field, f, out, e)) {
				kube_pv_intree_release(out);
				return KUBE_ERR_DECODE;
			}
		}
		return 0;
	}
	return 0;
}

void kube_pv_intree_release(struct kube_pv_intree *s)
{
	if (!s)
		return;
	free(s->id);
	free(s->fs_type);
	free(s->disk_kind);
	free(s->secret_name);
	free(s->secret_namespace);
	memset(s, 0, sizeof(*s));
}
