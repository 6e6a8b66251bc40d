// SPDX-License-Identifier: Apache-2.0
/*
 * topology.c - zone keys under CSI migration: a driver's zone key (say
 * topology.ebs.csi.aws.com/zone) against Kubernetes' own zone and region
 * keys, in StorageClass allowedTopologies and in a PersistentVolume's
 * nodeAffinity and labels, and the region of a set of zones for the clouds
 * whose zone names contain it (AWS, GCE).
 *
 * Which Kubernetes keys a PV uses (GA topology.kubernetes.io/ or the older
 * failure-domain.beta.kubernetes.io/) is read from the PV itself: its
 * nodeAffinity first, then its labels, GA when it says nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "migration/migration_int.h"

void mig_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static bool is_zone_key(const char *k)
{
	return !strcmp(k, MIG_LABEL_ZONE) || !strcmp(k, MIG_LABEL_BETA_ZONE);
}

void mig_terms_rekey(struct kube_topology_term *t, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		for (size_t r = 0; r < t[i].n_reqs; r++)
			if (is_zone_key(t[i].reqs[r].key)) {
				free(t[i].reqs[r].key);
				t[i].reqs[r].key = xstrdup(key);
			}
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/*
 * Azure regions without zones number their failure domains "0", "1" ...;
 * the CSI driver calls all of them "".
 */
void mig_terms_blank_numeric(struct kube_topology_term *t, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		for (size_t r = 0; r < t[i].n_reqs; r++) {
			struct kube_label_req *q = &t[i].reqs[r];

			if (strcmp(q->key, key))
				continue;
			for (size_t v = 0; v < q->n_values; v++)
				if (all_digits(q->values[v]))
					q->values[v][0] = '\0';
		}
}

/* "a-b-c" -> n parts, each [start, end) in s. Caller frees *parts. */
static size_t split_dash(const char *s, const char ***parts)
{
	size_t n = 1, i = 0;

	for (const char *p = s; *p; p++)
		n += *p == '-';
	*parts = xcalloc(n + 1, sizeof(char *));
	(*parts)[i++] = s;
	for (const char *p = s; *p; p++)
		if (*p == '-')
			(*parts)[i++] = p + 1;
	(*parts)[n] = s + strlen(s) + 1;	/* one past the end, as if a '-' followed */
	return n;
}

/* Collect one region per zone into a set; exactly one must remain. */
static int one_region(char *const *zones, size_t n, char **out, struct err *e,
		      char *(*region_of)(const char *zone))
{
	char *found = NULL;

	*out = NULL;
	if (!n)
		return err_set(e, ERR_INVALID, "no zones specified");
	for (size_t i = 0; i < n; i++) {
		char *r = region_of(zones[i]);

		if (!r) {
			free(found);
			return err_set(e, ERR_INVALID, "zone \"%s\" is not in the expected format", zones[i]);
		}
		if (found && strcmp(found, r)) {
			int rc = err_set(e, ERR_INVALID, "multiple regions from zones (%s, %s)", found,
					 r);

			free(r);
			free(found);
			return rc;
		}
		free(found);
		found = r;
	}
	*out = found;
	return 0;
}

/*
 * us-west-2a, us-gov-east-1a -> drop the zone letter; local zones
 * (us-west-2-lax-1a) and wavelength zones (us-east-1-wl1-bos-wlz-1) -> the
 * first three parts.
 */
static char *aws_region_of(const char *zone)
{
	const char **p;
	size_t n = split_dash(zone, &p);
	char *r = NULL;

	if ((n == 3 || n == 4) && p[n] - p[n - 1] - 1 == 2)
		r = xstrndup(zone, (size_t)(p[n - 1] - zone) + 1);
	else if (n == 5 || n == 7)
		r = xstrndup(zone, (size_t)(p[3] - zone) - 1);
	free(p);
	return r;
}

/* {locale}-{region}-{zone} -> {locale}-{region} */
static char *gce_region_of(const char *zone)
{
	const char **p;
	size_t n = split_dash(zone, &p);
	char *r = n == 3 ? xstrndup(zone, (size_t)(p[2] - zone) - 1) : NULL;

	free(p);
	return r;
}

int mig_aws_region(char *const *zones, size_t n, char **out, struct err *e)
{
	return one_region(zones, n, out, e, aws_region_of);
}

int mig_gce_region(char *const *zones, size_t n, char **out, struct err *e)
{
	return one_region(zones, n, out, e, gce_region_of);
}

char **mig_pv_zones(const struct kube_pv *pv, size_t *n)
{
	const char *label = strmap_get(&pv->meta.labels, MIG_LABEL_BETA_ZONE);
	size_t dl = strlen(MIG_ZONE_DELIMITER), count = 1, i = 0;
	char **out;

	if (!label || !*label)
		label = strmap_get(&pv->meta.labels, MIG_LABEL_ZONE);
	if (!label)
		label = "";
	for (const char *s = strstr(label, MIG_ZONE_DELIMITER); s; s = strstr(s + dl,
									      MIG_ZONE_DELIMITER))
		count++;
	out = xcalloc(count + 1, sizeof(char *));
	for (const char *s = label;; ) {
		const char *d = strstr(s, MIG_ZONE_DELIMITER);

		out[i++] = d ? xstrndup(s, (size_t)(d - s)) : xstrdup(s);
		if (!d)
			break;
		s = d + dl;
	}
	*n = i;
	return out;
}

/* spec.nodeAffinity.required.nodeSelectorTerms, or NULL. */
static json_t *terms_of(json_t *pv)
{
	json_t *t = json_object_get(json_object_get(json_object_get(json_object_get(pv, "spec"),
		"nodeAffinity"), "required"), "nodeSelectorTerms");

	return json_is_array(t) ? t : NULL;
}

static bool key_in_affinity(json_t *pv, const char *key)
{
	json_t *terms = terms_of(pv), *term, *expr;
	size_t i, j;

	json_array_foreach(terms, i, term)
		json_array_foreach(json_object_get(term, "matchExpressions"), j, expr)
			if (!strcmp(mig_json_str(expr, "key"), key))
				return true;
	return false;
}

static json_t *labels_of(json_t *pv, bool create)
{
	json_t *meta = json_object_get(pv, "metadata"), *labels = json_object_get(meta, "labels");

	if (!json_is_object(labels) && create && json_is_object(meta)) {
		labels = json_object();
		json_object_set_new(meta, "labels", labels);
	}
	return json_is_object(labels) ? labels : NULL;
}

static void set_label_if_absent(json_t *pv, const char *key, const char *value)
{
	json_t *labels = labels_of(pv, true);

	if (labels && !json_object_get(labels, key))
		json_object_set_new(labels, key, json_string(value));
}

/* Which Kubernetes zone and region keys the PV uses. */
static void kube_keys(json_t *pv, const char **zone, const char **region)
{
	json_t *labels = labels_of(pv, false);
	bool beta = !key_in_affinity(pv, MIG_LABEL_ZONE) &&
		    (key_in_affinity(pv, MIG_LABEL_BETA_ZONE) ||
		     (!json_object_get(labels, MIG_LABEL_ZONE) &&
		      json_object_get(labels, MIG_LABEL_BETA_ZONE)));

	*zone = beta ? MIG_LABEL_BETA_ZONE : MIG_LABEL_ZONE;
	*region = beta ? MIG_LABEL_BETA_REGION : MIG_LABEL_REGION;
}

static void replace_key(json_t *pv, const char *old, const char *new)
{
	json_t *terms = terms_of(pv), *term, *expr;
	size_t i, j;

	json_array_foreach(terms, i, term)
		json_array_foreach(json_object_get(term, "matchExpressions"), j, expr)
			if (!strcmp(mig_json_str(expr, "key"), old))
				json_object_set_new(expr, "key", json_string(new));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every value of `key` in the nodeAffinity, sorted, once each. Borrowed strings. */
static const char **values_of(json_t *pv, const char *key, size_t *n)
{
	json_t *terms = terms_of(pv), *term, *expr, *v;
	const char **out = NULL;
	size_t i, j, k, alloc = 0, m = 0;

	json_array_foreach(terms, i, term)
		json_array_foreach(json_object_get(term, "matchExpressions"), j, expr) {
			if (strcmp(mig_json_str(expr, "key"), key))
				continue;
			json_array_foreach(json_object_get(expr, "values"), k, v) {
				if (!json_is_string(v))
					continue;
				out = xgrow(out, m + 1, &alloc, sizeof(char *));
				out[m++] = json_string_value(v);
			}
		}
	if (m)
		qsort(out, m, sizeof(char *), cmp_str);
	*n = 0;
	for (i = 0; i < m; i++)
		if (!*n || strcmp(out[*n - 1], out[i]))
			out[(*n)++] = out[i];
	return out;
}

/* Each term without a region gets the region of its zones; then the region label. */
static int add_regions(json_t *pv, mig_region_fn region_fn, struct err *e)
{
	json_t *terms = terms_of(pv), *term, *expr, *v;
	const char *zone, *region, **regions;
	size_t i, j, k, n;

	if (!json_array_size(terms))
		return 0;
	kube_keys(pv, &zone, &region);
	json_array_foreach(terms, i, term) {
		json_t *exprs = json_object_get(term, "matchExpressions");
		char **zones = NULL, *r;
		size_t nz = 0, alloc = 0;
		bool has_region = false;
		int rc;

		json_array_foreach(exprs, j, expr) {
			if (!strcmp(mig_json_str(expr, "key"), region)) {
				has_region = true;
				break;
			}
			if (strcmp(mig_json_str(expr, "key"), zone))
				continue;
			json_array_foreach(json_object_get(expr, "values"), k, v) {
				zones = xgrow(zones, nz + 1, &alloc, sizeof(char *));
				zones[nz++] = (char *)(json_is_string(v) ? json_string_value(v) : "");
			}
		}
		if (has_region) {
			free(zones);
			continue;
		}
		rc = region_fn(zones, nz, &r, e);
		free(zones);
		if (rc)
			return err_prefix(e, "region of nodeSelectorTerms[%zu]", i);
		if (!json_is_array(exprs)) {
			exprs = json_array();
			json_object_set_new(term, "matchExpressions", exprs);
		}
		json_array_append_new(exprs, json_pack("{s:s, s:s, s:[s]}", "key", region,
						       "operator", "In", "values", r));
		free(r);
	}
	regions = values_of(pv, region, &n);
	if (n == 1)
		set_label_if_absent(pv, region, regions[0]);
	free(regions);
	return 0;
}

int mig_topology_to_in_tree(json_t *pv, const char *csi_key, mig_region_fn region_fn,
			    struct err *e)
{
	const char *zone, *region, **zones;
	size_t n;
	int rc;

	kube_keys(pv, &zone, &region);
	replace_key(pv, csi_key, zone);
	if (region_fn && (rc = add_regions(pv, region_fn, e)))
		return rc;
	zones = values_of(pv, zone, &n);
	if (n) {
		size_t len = 0;
		char *joined, *p;

		for (size_t i = 0; i < n; i++)
			len += strlen(zones[i]) + strlen(MIG_ZONE_DELIMITER);
		joined = p = xmalloc(len + 1);
		for (size_t i = 0; i < n; i++) {
			size_t l = strlen(zones[i]);

			if (i) {
				memcpy(p, MIG_ZONE_DELIMITER, strlen(MIG_ZONE_DELIMITER));
				p += strlen(MIG_ZONE_DELIMITER);
			}
			memcpy(p, zones[i], l);
			p += l;
		}
		*p = '\0';
		set_label_if_absent(pv, zone, joined);
		free(joined);
	}
	free(zones);
	return 0;
}

int mig_topology_to_in_tree_vsphere(json_t *pv, const char *zone_key, const char *region_key)
{
	const char *zone, *region, **vals;
	size_t n;

	kube_keys(pv, &zone, &region);
	replace_key(pv, zone_key, zone);
	replace_key(pv, region_key, region);
	vals = values_of(pv, zone, &n);
	if (n)
		set_label_if_absent(pv, zone, vals[0]);
	free(vals);
	vals = values_of(pv, region, &n);
	if (n)
		set_label_if_absent(pv, region, vals[0]);
	free(vals);
	return 0;
}
