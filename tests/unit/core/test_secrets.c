// SPDX-License-Identifier: Apache-2.0
/* test_secrets.c - Secret references from class parameters: keys, templates, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kube/path.h"
#include "provision/secrets.h"

/* Parameters as "k=v" strings. */
static void make_params(struct strmap *m, const char *const *kv)
{
	size_t n = 0;

	while (kv[n])
		n++;
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(kv[i], '=');
		char *k = strndup(kv[i], eq - kv[i]);

		strmap_set(m, k, eq + 1);
		free(k);
	}
}

static void test_resolve_table(void **state)
{
	static struct strmap_entry ann_kv[] = { { "team", "blue" } };
	static const struct {
		enum secret_kind kind;
		const char *params[5];
		const char *want_ns, *want_name;	/* NULL name: none; "!..." : error containing */
	} cases[] = {
		/* none */
		{ SECRET_PROVISIONER, { "foo=bar" }, NULL, NULL },
		/* prefixed keys */
		{ SECRET_PROVISIONER, { "csi.storage.k8s.io/provisioner-secret-name=a",
					"csi.storage.k8s.io/provisioner-secret-namespace=b" }, "b", "a" },
		/* deprecated keys */
		{ SECRET_NODE_PUBLISH, { "csiNodePublishSecretName=a", "csiNodePublishSecretNamespace=b" },
		  "b", "a" },
		/* both forms for one field */
		{ SECRET_PROVISIONER, { "csi.storage.k8s.io/provisioner-secret-name=a",
					"csiProvisionerSecretName=a",
					"csi.storage.k8s.io/provisioner-secret-namespace=b" }, NULL, "!both set" },
		/* only one of the pair */
		{ SECRET_CONTROLLER_EXPAND, { "csi.storage.k8s.io/controller-expand-secret-name=a" },
		  NULL, "!needs both" },
		/* empty value */
		{ SECRET_NODE_EXPAND, { "csi.storage.k8s.io/node-expand-secret-name=",
					"csi.storage.k8s.io/node-expand-secret-namespace=x" }, NULL, "!is empty" },
		/* the class-wide default pair */
		{ SECRET_CONTROLLER_MODIFY, { "csi.storage.k8s.io/secret-name=d",
					      "csi.storage.k8s.io/secret-namespace=e" }, "e", "d" },
		/* templates */
		{ SECRET_PROVISIONER, { "csi.storage.k8s.io/provisioner-secret-name=${pvc.name}-${pv.name}-${pvc.annotations['team']}",
					"csi.storage.k8s.io/provisioner-secret-namespace=${pvc.namespace}" },
		  "ns1", "data-pvc-1-blue" },
		/* ${pvc.name} is not allowed in a namespace */
		{ SECRET_PROVISIONER, { "csi.storage.k8s.io/provisioner-secret-name=a",
					"csi.storage.k8s.io/provisioner-secret-namespace=${pvc.name}" },
		  NULL, "!invalid tokens: [\"pvc.name\"]" },
		/* unknown tokens, all reported */
		{ SECRET_PROVISIONER, { "csi.storage.k8s.io/provisioner-secret-name=${foo}${bar}",
					"csi.storage.k8s.io/provisioner-secret-namespace=x" },
		  NULL, "!invalid tokens: [\"foo\", \"bar\"]" },
		/* a missing annotation is an invalid token */
		{ SECRET_PROVISIONER, { "csi.storage.k8s.io/provisioner-secret-name=${pvc.annotations['nope']}",
					"csi.storage.k8s.io/provisioner-secret-namespace=x" },
		  NULL, "!invalid tokens" },
		/* DNS-1123 */
		{ SECRET_PROVISIONER, { "csi.storage.k8s.io/provisioner-secret-name=Bad_Name",
					"csi.storage.k8s.io/provisioner-secret-namespace=x" }, NULL, "!DNS-1123 subdomain" },
		{ SECRET_PROVISIONER, { "csi.storage.k8s.io/provisioner-secret-name=a.b-c",
					"csi.storage.k8s.io/provisioner-secret-namespace=x.y" }, NULL, "!DNS-1123 label" },
		{ SECRET_PROVISIONER, { "csi.storage.k8s.io/provisioner-secret-name=a.b-c",
					"csi.storage.k8s.io/provisioner-secret-namespace=x-y" }, "x-y", "a.b-c" },
	};
	struct strmap ann = { ann_kv, 1, 0 };
	struct secret_context ctx = { "pvc-1", "data", "ns1", &ann };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strmap params;
		struct secret_ref ref;
		struct err e = ERR_INIT;
		int rc;

		make_params(&params, cases[i].params);
		rc = secret_ref_resolve(&params, cases[i].kind, &ctx, &ref, &e);
		if (cases[i].want_name && cases[i].want_name[0] == '!') {
			if (!rc || !strstr(err_msg(&e), cases[i].want_name + 1))
				fail_msg("case %zu: rc %d, message \"%s\", want \"%s\"", i, rc, err_msg(&e),
					 cases[i].want_name + 1);
			assert_null(ref.name);
		} else {
			if (rc)
				fail_msg("case %zu: %s", i, err_msg(&e));
			if (!cases[i].want_name) {
				assert_null(ref.name);
			} else {
				assert_string_equal(ref.name, cases[i].want_name);
				assert_string_equal(ref.namespace, cases[i].want_ns);
			}
		}
		secret_ref_release(&ref);
		err_release(&e);
		strmap_release(&params);
	}
}

static void test_dns1123(void **state)
{
	char long_label[70];

	(void)state;
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	assert_true(kube_name_is_dns1123_label("kube-system"));
	assert_false(kube_name_is_dns1123_label("-a"));
	assert_false(kube_name_is_dns1123_label("a-"));
	assert_false(kube_name_is_dns1123_label("A"));
	assert_false(kube_name_is_dns1123_label(""));
	assert_false(kube_name_is_dns1123_label(long_label));
	assert_true(kube_name_is_dns1123_subdomain("a.b.c"));
	assert_false(kube_name_is_dns1123_subdomain("a..b"));
	assert_false(kube_name_is_dns1123_subdomain(".a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_table),
		cmocka_unit_test(test_dns1123),
	};

	return cmocka_run_group_tests_name("secrets", tests, NULL, NULL);
}
