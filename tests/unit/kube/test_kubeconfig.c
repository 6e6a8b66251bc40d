// SPDX-License-Identifier: Apache-2.0
/*
 * test_kubeconfig.c - kubeconfig and in-cluster loading from temporary
 * files, plus the base64 decoder; what is refused as unsafe (insecure
 * with a CA, a token over plain http, CR/LF inside a token).
 */
#include "kube_test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "kube/kubeconfig.h"
#include "kube/status.h"

static const char two_contexts[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: b\n"
	"clusters:\n"
	"- name: one\n"
	"  cluster:\n"
	"    server: https://one.example:6443\n"
	"- name: two\n"
	"  cluster:\n"
	"    server: https://127.0.0.1:6443/\n"
	"    certificate-authority: pki/ca.crt\n"
	"contexts:\n"
	"- name: a\n"
	"  context: {cluster: one, user: u1}\n"
	"- name: b\n"
	"  context:\n"
	"    cluster: two\n"
	"    user: u2\n"
	"    namespace: kube-system\n"
	"users:\n"
	"- name: u1\n"
	"  user: {token: wrong}\n"
	"- name: u2\n"
	"  user:\n"
	"    token: \"s3cret\"\n"
	"    tokenFile: /abs/token\n"
	"    client-certificate: client.crt\n"
	"    client-key: ../keys/client.key\n";

static void test_current_context_selects_cluster_and_user(void **state)
{
	struct tmp *t = *state;
	char *path = tmp_put(t, "config", two_contexts);
	struct kube_config *c;
	struct err e = ERR_INIT;
	char *want;

	assert_int_equal(kube_config_load_file(&c, path, &e), 0);
	assert_string_equal(c->server, "https://127.0.0.1:6443");
	assert_string_equal(c->token, "s3cret");
	assert_string_equal(c->token_file, "/abs/token");
	assert_string_equal(c->namespace, "kube-system");
	assert_false(c->insecure);
	want = xasprintf("%s/pki/ca.crt", t->dir);
	assert_string_equal(c->ca_file, want);
	free(want);
	want = xasprintf("%s/client.crt", t->dir);
	assert_string_equal(c->client_cert_file, want);
	free(want);
	want = xasprintf("%s/../keys/client.key", t->dir);
	assert_string_equal(c->client_key_file, want);
	free(want);
	assert_null(c->ca_data);
	kube_config_free(c);
	free(path);
}

static void test_inline_data_is_base64_decoded(void **state)
{
	struct tmp *t = *state;
	/* "-----BEGIN CERTIFICATE-----\nMIIB\n" and "KEYDATA" */
	char *path = tmp_put(t, "config",
		"current-context: x\n"
		"clusters:\n"
		"- name: c\n"
		"  cluster:\n"
		"    server: https://10.0.0.1\n"
		"    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIK\n"
		"    insecure-skip-tls-verify: false\n"
		"contexts:\n"
		"- name: x\n"
		"  context: {cluster: c, user: u}\n"
		"users:\n"
		"- name: u\n"
		"  user:\n"
		"    client-certificate-data: |\n"
		"      Q0VSVERB\n"
		"      VEE=\n"
		"    client-key-data: S0VZREFUQQ==\n");
	struct kube_config *c;
	struct err e = ERR_INIT;

	assert_int_equal(kube_config_load_file(&c, path, &e), 0);
	assert_string_equal(c->ca_data, "-----BEGIN CERTIFICATE-----\nMIIB\n");
	assert_int_equal(c->ca_data_len, strlen("-----BEGIN CERTIFICATE-----\nMIIB\n"));
	assert_string_equal(c->client_cert_data, "CERTDATA");
	assert_int_equal(c->client_cert_data_len, 8);
	assert_string_equal(c->client_key_data, "KEYDATA");
	assert_null(c->token);
	kube_config_free(c);
	free(path);
}

static void test_insecure_flag(void **state)
{
	struct tmp *t = *state;
	char *path = tmp_put(t, "config",
		"current-context: x\n"
		"clusters: [{name: c, cluster: {server: 'https://h:1', insecure-skip-tls-verify: true}}]\n"
		"contexts: [{name: x, context: {cluster: c}}]\n");
	struct kube_config *c;
	struct err e = ERR_INIT;

	assert_int_equal(kube_config_load_file(&c, path, &e), 0);
	assert_true(c->insecure);
	assert_null(c->token);
	kube_config_free(c);
	free(path);
}

/* Load `yaml` and expect failure with a message containing `want`. */
static void expect_error(struct tmp *t, const char *yaml, int code, const char *want)
{
	char *path = tmp_put(t, "config", yaml);
	struct kube_config *c = (void *)1;
	struct err e = ERR_INIT;

	assert_int_equal(kube_config_load_file(&c, path, &e), code);
	assert_null(c);
	assert_contains(e.msg, path);
	assert_contains(e.msg, want);
	err_release(&e);
	free(path);
}

static void test_missing_cluster_is_named(void **state)
{
	expect_error(*state,
		"current-context: foo\n"
		"clusters: [{name: other, cluster: {server: 'https://h'}}]\n"
		"contexts: [{name: foo, context: {cluster: bar, user: u}}]\n"
		"users: [{name: u, user: {token: t}}]\n",
		KUBE_ERR_INVALID, "context 'foo' names cluster 'bar' which is not defined");
}

static void test_missing_user_is_named(void **state)
{
	expect_error(*state,
		"current-context: foo\n"
		"clusters: [{name: bar, cluster: {server: 'https://h'}}]\n"
		"contexts: [{name: foo, context: {cluster: bar, user: nobody}}]\n",
		KUBE_ERR_INVALID, "context 'foo' names user 'nobody' which is not defined");
}

static void test_missing_context(void **state)
{
	expect_error(*state, "current-context: gone\ncontexts: []\n", KUBE_ERR_INVALID,
		     "current-context 'gone' is not defined");
}

static void test_no_current_context(void **state)
{
	expect_error(*state, "clusters: []\n", KUBE_ERR_INVALID, "current-context is not set");
}

static void test_cluster_without_server(void **state)
{
	expect_error(*state,
		"current-context: x\n"
		"clusters: [{name: c, cluster: {certificate-authority: ca}}]\n"
		"contexts: [{name: x, context: {cluster: c}}]\n",
		KUBE_ERR_INVALID, "cluster 'c' has no server");
}

static void test_bad_yaml_names_file(void **state)
{
	expect_error(*state, "current-context: [unclosed\n  x: : :\n", KUBE_ERR_INVALID,
		     "invalid YAML at line");
}

static void test_wrong_type_is_named(void **state)
{
	expect_error(*state,
		"current-context: x\n"
		"clusters: [{name: c, cluster: {server: [1, 2]}}]\n"
		"contexts: [{name: x, context: {cluster: c}}]\n",
		KUBE_ERR_INVALID, "cluster 'c': 'server' is not a string");
}

static void test_clusters_not_a_list(void **state)
{
	expect_error(*state,
		"current-context: x\n"
		"clusters: {c: 1}\n"
		"contexts: [{name: x, context: {cluster: c}}]\n",
		KUBE_ERR_INVALID, "'clusters' is not a list");
}

static void test_bad_base64(void **state)
{
	expect_error(*state,
		"current-context: x\n"
		"clusters: [{name: c, cluster: {server: 'https://h', certificate-authority-data: '@@@'}}]\n"
		"contexts: [{name: x, context: {cluster: c}}]\n",
		KUBE_ERR_INVALID, "'certificate-authority-data' is not valid base64");
}

/* exec plugins are read (test_exec_cred.c); auth-provider is refused */
static void test_auth_provider_unsupported(void **state)
{
	expect_error(*state,
		"current-context: x\n"
		"clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		"users: [{name: u, user: {auth-provider: {name: gcp}}}]\n",
		KUBE_ERR_INVALID, "user 'u' uses 'auth-provider', which is not supported");
}

static void test_cert_without_key(void **state)
{
	expect_error(*state,
		"current-context: x\n"
		"clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		"users: [{name: u, user: {client-certificate: a.crt}}]\n",
		KUBE_ERR_INVALID, "without a key");
}

static void test_missing_file_is_named(void **state)
{
	struct tmp *t = *state;
	char *path = xasprintf("%s/nope", t->dir);
	struct kube_config *c;
	struct err e = ERR_INIT;

	assert_int_equal(kube_config_load_file(&c, path, &e), KUBE_ERR_INVALID);
	assert_contains(e.msg, path);
	err_release(&e);
	free(path);
}

static void test_too_large_file(void **state)
{
	struct tmp *t = *state;
	char *big = xmalloc(KUBE_CONFIG_MAX_SIZE + 2);
	char *path;
	struct kube_config *c;
	struct err e = ERR_INIT;

	memset(big, '#', KUBE_CONFIG_MAX_SIZE + 1);
	big[KUBE_CONFIG_MAX_SIZE + 1] = '\0';
	path = tmp_put(t, "big", big);
	assert_int_equal(kube_config_load_file(&c, path, &e), KUBE_ERR_TOO_LARGE);
	assert_contains(e.msg, path);
	err_release(&e);
	free(big);
	free(path);
}

static const char minimal[] =
	"current-context: x\n"
	"clusters: [{name: c, cluster: {server: 'https://%s'}}]\n"
	"contexts: [{name: x, context: {cluster: c}}]\n";

static void test_kubeconfig_env_first_entry(void **state)
{
	struct tmp *t = *state;
	char *y1 = xasprintf(minimal, "first"), *y2 = xasprintf(minimal, "second");
	char *p1 = tmp_put(t, "one", y1), *p2 = tmp_put(t, "two", y2);
	char *env = xasprintf(":%s:%s", p1, p2);
	struct kube_config *c;
	struct err e = ERR_INIT;

	setenv("KUBECONFIG", env, 1);
	assert_int_equal(kube_config_load(&c, NULL, &e), 0);
	assert_string_equal(c->server, "https://first");
	kube_config_free(c);
	/* An explicit path wins over the environment. */
	assert_int_equal(kube_config_load(&c, p2, &e), 0);
	assert_string_equal(c->server, "https://second");
	kube_config_free(c);
	unsetenv("KUBECONFIG");
	free(y1);
	free(y2);
	free(p1);
	free(p2);
	free(env);
}

static void test_in_cluster(void **state)
{
	struct tmp *t = *state;
	char *tok = tmp_put(t, "token", "abc\n"), *ca = tmp_put(t, "ca.crt", "PEM");
	char *ns = tmp_put(t, "namespace", "storage\n");
	struct kube_config *c;
	struct err e = ERR_INIT;

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	setenv("KUBE_SA_DIR", t->dir, 1);
	assert_int_equal(kube_config_load(&c, "", &e), 0);
	assert_string_equal(c->server, "https://10.96.0.1:443");
	assert_string_equal(c->token_file, tok);
	assert_string_equal(c->ca_file, ca);
	assert_string_equal(c->namespace, "storage");
	assert_null(c->token);
	kube_config_free(c);

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	assert_int_equal(kube_config_in_cluster(&c, NULL, &e), 0);
	assert_string_equal(c->server, "https://[fd00::1]:443");
	kube_config_free(c);
	free(tok);
	free(ca);
	free(ns);
}

static void test_in_cluster_missing_token(void **state)
{
	struct tmp *t = *state;
	struct kube_config *c;
	struct err e = ERR_INIT;

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_config_in_cluster(&c, t->dir, &e), KUBE_ERR_INVALID);
	assert_null(c);
	assert_contains(e.msg, "token");
	assert_contains(e.msg, t->dir);
	err_release(&e);
}

static void test_nothing_configured(void **state)
{
	struct kube_config *c;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_config_load(&c, NULL, &e), KUBE_ERR_INVALID);
	assert_contains(e.msg, "KUBERNETES_SERVICE_HOST");
	err_release(&e);
}

/* client-go: "specifying a root certificates file with the insecure flag is not allowed" */
static void test_insecure_with_ca_is_refused(void **state)
{
	expect_error(*state,
		"current-context: x\n"
		"clusters: [{name: c, cluster: {server: 'https://h:1', insecure-skip-tls-verify: true,"
		" certificate-authority: /ca.crt}}]\n"
		"contexts: [{name: x, context: {cluster: c}}]\n",
		KUBE_ERR_INVALID, "insecure-skip-tls-verify together with a certificate authority");
	expect_error(*state,
		"current-context: x\n"
		"clusters: [{name: c, cluster: {server: 'https://h:1', insecure-skip-tls-verify: true,"
		" certificate-authority-data: UEVN}}]\n"
		"contexts: [{name: x, context: {cluster: c}}]\n",
		KUBE_ERR_INVALID, "insecure-skip-tls-verify together with a certificate authority");
}

static void test_token_over_plain_http_is_refused(void **state)
{
	expect_error(*state,
		"current-context: x\n"
		"clusters: [{name: c, cluster: {server: 'http://h:1'}}]\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		"users: [{name: u, user: {token: abc}}]\n",
		KUBE_ERR_INVALID, "clear text to the plain http server 'http://h:1'");
	expect_error(*state,
		"current-context: x\n"
		"clusters: [{name: c, cluster: {server: 'http://h:1'}}]\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		"users: [{name: u, user: {tokenFile: /t}}]\n",
		KUBE_ERR_INVALID, "clear text");
}

/* Plain http without credentials (a local test server) still loads. */
static void test_plain_http_without_token_loads(void **state)
{
	struct tmp *t = *state;
	char *path = tmp_put(t, "config",
		"current-context: x\n"
		"clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\n"
		"contexts: [{name: x, context: {cluster: c}}]\n");
	struct kube_config *c;
	struct err e = ERR_INIT;

	assert_int_equal(kube_config_load_file(&c, path, &e), 0);
	kube_config_free(c);
	free(path);
}

static void test_static_token_with_newline_is_refused(void **state)
{
	expect_error(*state,
		"current-context: x\n"
		"clusters: [{name: c, cluster: {server: 'https://h:1'}}]\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		"users: [{name: u, user: {token: \"abc\\r\\nX-Evil: 1\"}}]\n",
		KUBE_ERR_INVALID, "control character");
}

struct token_case {
	const char *in;		/* bytes, with their length below */
	size_t len;
	const char *want;	/* NULL: refused */
};

#define TC(s, w) { s, sizeof(s) - 1, w }
static const struct token_case token_cases[] = {
	TC("abc", "abc"),
	TC("abc\n", "abc"),
	TC("abc\r\n", "abc"),
	TC("  abc \t\n\n", "abc"),	/* as client-go's strings.TrimSpace */
	TC("\nabc", "abc"),
	TC("ab\ncd", NULL),
	TC("ab\rcd\n", NULL),
	TC("ab\x01" "cd", NULL),
	TC("ab\0cd", NULL),
	TC("ab\x7f", NULL),
	TC("\n\r\n", NULL),
	TC("", NULL),
};

static void test_token_clean(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(token_cases) / sizeof(token_cases[0]); i++) {
		const struct token_case *tc = &token_cases[i];
		char *buf = xmalloc(tc->len + 1);
		size_t len = tc->len;
		struct err e = ERR_INIT;
		int rc;

		memcpy(buf, tc->in, tc->len);
		buf[tc->len] = '\0';
		rc = kube_token_clean(buf, &len, "/run/token", &e);
		if (tc->want) {
			if (rc)
				fail_msg("case %zu refused: %s", i, err_msg(&e));
			assert_string_equal(buf, tc->want);
			assert_int_equal(len, strlen(tc->want));
		} else {
			if (!rc)
				fail_msg("case %zu accepted as '%s'", i, buf);
			assert_int_equal(rc, KUBE_ERR_INVALID);
			assert_contains(err_msg(&e), "/run/token");
		}
		err_release(&e);
		free(buf);
	}
}

static void test_in_cluster_token_with_inner_newline_is_refused(void **state)
{
	struct tmp *t = *state;
	char *tok = tmp_put(t, "token", "abc\ndef\n"), *ca = tmp_put(t, "ca.crt", "PEM");
	struct kube_config *c;
	struct err e = ERR_INIT;

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_config_in_cluster(&c, t->dir, &e), KUBE_ERR_INVALID);
	assert_null(c);
	assert_contains(e.msg, "control character");
	assert_contains(e.msg, tok);
	err_release(&e);
	free(tok);
	free(ca);
}

struct b64_case {
	const char *in;
	const char *want;	/* NULL: invalid */
};

static const struct b64_case b64_cases[] = {
	{ "", "" },
	{ "Zg==", "f" },
	{ "Zm8=", "fo" },
	{ "Zm9v", "foo" },
	{ "Zm9vYg", "foob" },
	{ "Zm9v\nYmFy\n", "foobar" },
	{ "Zm9v!", NULL },
	{ "Zg==Zg==", NULL },
	{ "Z", NULL },
	{ "Zh==", NULL },
};

static void test_base64(void **state)
{
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		const struct b64_case *bc = &b64_cases[i];
		char *out = kube_base64_decode(bc->in, strlen(bc->in), &len);

		if (!bc->want) {
			if (out)
				fail_msg("'%s' decoded but is invalid", bc->in);
			continue;
		}
		if (!out)
			fail_msg("'%s' rejected", bc->in);
		assert_string_equal(out, bc->want);
		assert_int_equal(len, strlen(bc->want));
		free(out);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, tmp_setup, tmp_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_current_context_selects_cluster_and_user),
		T(test_inline_data_is_base64_decoded),
		T(test_insecure_flag),
		T(test_missing_cluster_is_named),
		T(test_missing_user_is_named),
		T(test_missing_context),
		T(test_no_current_context),
		T(test_cluster_without_server),
		T(test_bad_yaml_names_file),
		T(test_wrong_type_is_named),
		T(test_clusters_not_a_list),
		T(test_bad_base64),
		T(test_auth_provider_unsupported),
		T(test_cert_without_key),
		T(test_missing_file_is_named),
		T(test_too_large_file),
		T(test_kubeconfig_env_first_entry),
		T(test_in_cluster),
		T(test_in_cluster_missing_token),
		T(test_nothing_configured),
		T(test_insecure_with_ca_is_refused),
		T(test_token_over_plain_http_is_refused),
		T(test_plain_http_without_token_loads),
		T(test_static_token_with_newline_is_refused),
		T(test_in_cluster_token_with_inner_newline_is_refused),
		cmocka_unit_test(test_token_clean),
		cmocka_unit_test(test_base64),
	};

	return kt_run("kubeconfig", tests, sizeof(tests) / sizeof(tests[0]));
}
