// SPDX-License-Identifier: Apache-2.0
/*
 * test_discovery.c - what the API server serves, and the start-up decision
 * on gates that need an API (VolumeAttributesClass), against an in-process
 * fake API server whose discovery answer each test chooses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fake_http.h"
#include "kube/discovery.h"

/* What the fake answers on GET /apis/storage.k8s.io/v1. */
struct answer {
	int status;		/* 200: the resource list below; else a Status */
	const char *kinds[4];	/* kinds listed (NULL-terminated) */
	int hits;		/* requests seen */
	char path[128];		/* the last request target */
};

static void handle(void *ctx, int fd, const char *method, char *target, const char *head,
		   const char *body)
{
	struct answer *a = ctx;
	json_t *list, *res;

	(void)method, (void)head, (void)body;
	a->hits++;
	snprintf(a->path, sizeof(a->path), "%s", target);
	if (a->status != 200) {
		fhttp_status(fd, a->status, a->status == 404 ? "NotFound" : "InternalError", "no");
		return;
	}
	res = json_array();
	for (size_t i = 0; a->kinds[i]; i++)
		json_array_append_new(res, json_pack("{s:s,s:s,s:b}", "name", "x", "kind",
						     a->kinds[i], "namespaced", 0));
	list = json_pack("{s:s,s:s,s:o}", "kind", "APIResourceList", "groupVersion",
			 "storage.k8s.io/v1", "resources", res);
	fhttp_respond(fd, 200, list);
	json_decref(list);
}

static struct kube_client *client_for(struct fhttp *s)
{
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = -1 };
	struct kube_client *c = NULL;
	struct err e = ERR_INIT;

	cfg.server = (char *)fhttp_url(s);
	assert_int_equal(kube_client_new(&c, &cfg, &o, &e), 0);
	return c;
}

static void test_serves_kind(void **state)
{
	static const struct {
		int status;
		const char *kinds[4];
		int want_rc;
		bool want_served;
	} cases[] = {
		{ 200, { "StorageClass", "VolumeAttributesClass" }, 0, true },
		{ 200, { "StorageClass", "CSINode" }, 0, false },
		{ 200, { NULL }, 0, false },
		{ 404, { NULL }, 0, false },		/* the group version is not served */
		{ 500, { NULL }, KUBE_ERR_SERVER, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct answer a = { .status = cases[i].status };
		struct fhttp *s;
		struct kube_client *c;
		struct err e = ERR_INIT;
		bool served = !cases[i].want_served;

		memcpy(a.kinds, cases[i].kinds, sizeof(a.kinds));
		s = fhttp_start(handle, &a);
		assert_non_null(s);
		c = client_for(s);
		assert_int_equal(kube_serves_kind(c, "storage.k8s.io/v1", "VolumeAttributesClass",
						  &served, &e), cases[i].want_rc);
		assert_true(served == cases[i].want_served);
		assert_string_equal(a.path, "/apis/storage.k8s.io/v1");
		err_release(&e);
		kube_client_free(c);
		fhttp_stop(s);
	}
}

/* upstream's rule: only a gate on by default and not set by name follows the cluster */
static void test_gate_follows_cluster_unless_set(void **state)
{
	static const struct {
		int status;
		const char *kinds[4];
		bool on, set, want;
		int want_hits;		/* -1: at least one (a 500 is retried) */
	} cases[] = {
		{ 200, { "VolumeAttributesClass" }, true, false, true, 1 },
		{ 200, { "StorageClass" }, true, false, false, 1 },	/* switched off */
		{ 404, { NULL }, true, false, false, 1 },		/* switched off */
		{ 500, { NULL }, true, false, true, -1 },	/* cannot tell: stays on */
		{ 200, { "StorageClass" }, true, true, true, 0 },	/* set by name: kept, not asked */
		{ 200, { "VolumeAttributesClass" }, false, true, false, 0 },
		{ 200, { "VolumeAttributesClass" }, false, false, false, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct answer a = { .status = cases[i].status };
		struct fhttp *s;
		struct kube_client *c;
		bool got;

		memcpy(a.kinds, cases[i].kinds, sizeof(a.kinds));
		s = fhttp_start(handle, &a);
		assert_non_null(s);
		c = client_for(s);
		got = kube_gate_needs_kind(c, "VolumeAttributesClass", cases[i].on, cases[i].set,
					   "storage.k8s.io/v1", "VolumeAttributesClass");
		if (got != cases[i].want ||
		    (cases[i].want_hits < 0 ? a.hits < 1 : a.hits != cases[i].want_hits))
			fail_msg("case %zu: gate %d (want %d), %d requests (want %d)", i, got,
				 cases[i].want, a.hits, cases[i].want_hits);
		kube_client_free(c);
		fhttp_stop(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serves_kind),
		cmocka_unit_test(test_gate_follows_cluster_unless_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
