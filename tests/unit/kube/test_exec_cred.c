// SPDX-License-Identifier: Apache-2.0
/*
 * test_exec_cred.c - kubeconfig exec credential plugins: the kubeconfig
 * fields, the ExecCredential answer, and real runs of fake plugin scripts
 * (args and env passed without a shell, KUBERNETES_EXEC_INFO, stderr in
 * errors, timeouts, output caps) and the cache (until expiry, again after
 * a 401).
 */
#include "kube_test.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/xalloc.h"
#include "kube/exec_cred.h"
#include "kube/kubeconfig.h"
#include "kube/status.h"

static char *slurp(const char *path)
{
	char *data = NULL;
	size_t len;

	assert_int_equal(kube_read_file(path, 1 << 20, &data, &len, NULL), 0);
	return data;
}

#define CRED(v, status) "{\"apiVersion\":\"client.authentication.k8s.io/" v "\"," \
	"\"kind\":\"ExecCredential\",\"status\":" status "}"

/* ---- kubeconfig ---- */

#define KC_HEAD "current-context: x\n" \
	"clusters: [{name: c, cluster: {server: 'https://h'}}]\n" \
	"contexts: [{name: x, context: {cluster: c, user: u}}]\n"

static void test_kubeconfig_reads_exec(void **state)
{
	struct tmp *t = *state;
	char *path = tmp_put(t, "config", KC_HEAD
			 "users:\n"
			 "- name: u\n"
			 "  user:\n"
			 "    exec:\n"
			 "      apiVersion: client.authentication.k8s.io/v1\n"
			 "      command: ./bin/get-token\n"
			 "      args: [--cluster, 'a b']\n"
			 "      env: [{name: REGION, value: eu-1}]\n"
			 "      installHint: install get-token\n"
			 "      provideClusterInfo: true\n"
			 "      interactiveMode: Never\n");
	struct kube_config *c = NULL;
	struct err e = ERR_INIT;
	char *want = xasprintf("%s/./bin/get-token", t->dir);

	assert_int_equal(kube_config_load_file(&c, path, &e), 0);
	assert_non_null(c->exec);
	assert_string_equal(c->exec->api_version, KUBE_EXEC_V1);
	assert_string_equal(c->exec->command, want);
	assert_int_equal(c->exec->n_args, 2);
	assert_string_equal(c->exec->args[1], "a b");
	assert_int_equal(c->exec->n_env, 1);
	assert_string_equal(c->exec->env[0], "REGION=eu-1");
	assert_string_equal(c->exec->install_hint, "install get-token");
	assert_true(c->exec->provide_cluster_info);
	kube_config_free(c);
	free(want);
	free(path);
}

static void test_kubeconfig_exec_errors(void **state)
{
	static const struct {
		const char *user, *want;
	} cases[] = {
		{ "{exec: {command: aws}}", "apiVersion must be" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: aws}}",
		  "apiVersion must be" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1beta1}}", "no command" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}}",
		  "interactiveMode must be specified" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1, command: aws, "
		  "interactiveMode: Always}}", "no terminal" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws, "
		  "env: [{value: x}]}}", "needs a name" },
		{ "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws, "
		  "args: [[1]]}}", "not a string" },
		{ "{token: t, exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws}}",
		  "choose one" },
	};
	struct tmp *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *yaml = xasprintf(KC_HEAD "users: [{name: u, user: %s}]\n", cases[i].user);
		char *path = tmp_put(t, "config", yaml);
		struct kube_config *c = NULL;
		struct err e = ERR_INIT;

		assert_int_equal(kube_config_load_file(&c, path, &e), KUBE_ERR_INVALID);
		assert_null(c);
		assert_contains(e.msg, cases[i].want);
		err_release(&e);
		free(path);
		free(yaml);
	}
}

static void test_kubeconfig_exec_over_plain_http_is_refused(void **state)
{
	char *path = tmp_put(*state, "config",
			 "current-context: x\n"
			 "clusters: [{name: c, cluster: {server: 'http://h'}}]\n"
			 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
			 "users: [{name: u, user: {exec: {apiVersion: "
			 "client.authentication.k8s.io/v1beta1, command: aws}}}]\n");
	struct kube_config *c = NULL;
	struct err e = ERR_INIT;

	assert_int_equal(kube_config_load_file(&c, path, &e), KUBE_ERR_INVALID);
	assert_contains(e.msg, "clear text");
	err_release(&e);
	free(path);
}

/* ---- the answer ---- */

static void test_parse_table(void **state)
{
	static const struct {
		const char *what, *out;
		int want;		/* 0, or the code */
		const char *msg;	/* in the error */
	} cases[] = {
		{ "token", CRED("v1", "{\"token\":\"SECRET\"}"), 0, NULL },
		{ "cert and key", CRED("v1", "{\"clientCertificateData\":\"C\","
				       "\"clientKeyData\":\"K\"}"), 0, NULL },
		{ "expiry", CRED("v1", "{\"token\":\"SECRET\","
				 "\"expirationTimestamp\":\"2030-01-02T03:04:05Z\"}"), 0, NULL },
		{ "only a cert", CRED("v1", "{\"clientCertificateData\":\"C\"}"), KUBE_ERR_INVALID,
		  "only a certificate or only a private key" },
		{ "nothing", CRED("v1", "{}"), KUBE_ERR_INVALID, "didn't return a token" },
		{ "empty token", CRED("v1", "{\"token\":\"\"}"), KUBE_ERR_INVALID,
		  "didn't return a token" },
		{ "no status", "{\"apiVersion\":\"client.authentication.k8s.io/v1\","
		  "\"kind\":\"ExecCredential\"}", KUBE_ERR_INVALID, "didn't return a status" },
		{ "another version", CRED("v1beta1", "{\"token\":\"SECRET\"}"), KUBE_ERR_INVALID,
		  "returned \"client.authentication.k8s.io/v1beta1\"" },
		{ "another kind", "{\"apiVersion\":\"client.authentication.k8s.io/v1\","
		  "\"kind\":\"Secret\",\"status\":{\"token\":\"SECRET\"}}", KUBE_ERR_INVALID,
		  "no ExecCredential" },
		{ "newline in token", CRED("v1", "{\"token\":\"SEC\\nRET\"}"), KUBE_ERR_INVALID,
		  "control character" },
		{ "token not a string", CRED("v1", "{\"token\":7}"), KUBE_ERR_INVALID,
		  "not a string" },
		{ "bad expiry", CRED("v1", "{\"token\":\"SECRET\",\"expirationTimestamp\":\"soon\"}"),
		  KUBE_ERR_INVALID, "expirationTimestamp" },
		{ "not JSON", "token: SECRET", KUBE_ERR_DECODE, "is not JSON (line 1" },
		/* jansson's message would quote the token up to the bad byte */
		{ "newline in the token", "{\"status\":{\"token\":\"tok-SECRET\n\"}}", KUBE_ERR_DECODE,
		  "is not JSON" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_exec_cred c;
		struct err e = ERR_INIT;
		int rc = kube_exec_parse(KUBE_EXEC_V1, cases[i].out, strlen(cases[i].out), &c, &e);

		if (rc != cases[i].want)
			fail_msg("%s: got %d (%s), want %d", cases[i].what, rc, err_msg(&e),
				 cases[i].want);
		if (cases[i].msg)
			assert_contains(e.msg, cases[i].msg);
		if (rc && e.msg && strstr(e.msg, "SECRET"))
			fail_msg("%s: the error quotes the token: %s", cases[i].what, e.msg);
		if (!rc && !strcmp(cases[i].what, "expiry"))
			assert_true(c.expiry_us == 1893553445LL * 1000000);
		if (!rc && !strcmp(cases[i].what, "cert and key"))
			assert_true(c.cert_pem && !strcmp(c.cert_pem, "C") && c.key_len == 1 &&
				    !c.token);
		kube_exec_cred_release(&c);
		err_release(&e);
	}
}

/* ---- runs ---- */

static struct kube_exec_config *plugin(const char *command, const char *const *args)
{
	struct kube_exec_config *x = xcalloc(1, sizeof(*x));

	x->api_version = xstrdup(KUBE_EXEC_V1BETA1);
	x->command = xstrdup(command);
	x->args = xcalloc(8, sizeof(char *));
	while (args && args[x->n_args])
		x->args[x->n_args] = xstrdup(args[x->n_args]), x->n_args++;
	x->env = xcalloc(2, sizeof(char *));
	return x;
}

#define TOKEN_SCRIPT(extra) "#!/bin/sh\n" extra \
	"printf '%s' '" CRED("v1beta1", "{\"token\":\"tok-1\"}") "'\n"

static void test_run_passes_args_env_and_exec_info(void **state)
{
	struct tmp *t = *state;
	char *script = tmp_put(t, "plugin", TOKEN_SCRIPT(
		"printf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args\"\n"
		"printf '%s\\n' \"$REGION\" \"$KUBERNETES_EXEC_INFO\" > \"$(dirname \"$0\")/env\"\n"));
	static const char *const args[] = { "--x", "$(touch pwned); `id`", NULL };
	struct kube_exec_config *x = plugin(script, args);
	struct kube_exec_cluster cl = { "https://127.0.0.1:6443", "CA-PEM", 6, false };
	struct kube_exec_cred c;
	struct err e = ERR_INIT;
	char *got, *path;

	x->env[x->n_env++] = xstrdup("REGION=eu-1");
	x->provide_cluster_info = true;
	assert_int_equal(kube_exec_run(x, &cl, 10000, &c, &e), 0);
	assert_string_equal(c.token, "tok-1");
	path = xasprintf("%s/args", t->dir);
	got = slurp(path);
	assert_string_equal(got, "--x\n$(touch pwned); `id`\n");	/* no shell ran over them */
	free(got);
	free(path);
	path = xasprintf("%s/pwned", t->dir);
	assert_int_not_equal(access(path, F_OK), 0);
	free(path);
	path = xasprintf("%s/env", t->dir);
	got = slurp(path);
	assert_contains(got, "eu-1\n");
	assert_contains(got, "\"apiVersion\":\"client.authentication.k8s.io/v1beta1\"");
	assert_contains(got, "\"kind\":\"ExecCredential\"");
	assert_contains(got, "\"interactive\":false");
	assert_contains(got, "\"server\":\"https://127.0.0.1:6443\"");
	assert_contains(got, "\"certificate-authority-data\":\"Q0EtUEVN\"");	/* base64 */
	free(got);
	free(path);
	kube_exec_cred_release(&c);
	kube_exec_config_free(x);
	free(script);
}

static void test_run_failures(void **state)
{
	static const struct {
		const char *what, *script;
		int64_t timeout_ms;
		const char *want;
	} cases[] = {
		{ "exit status", "#!/bin/sh\nprintf 'no creds\\nfor you' >&2\nexit 3\n", 10000,
		  "exit status 3 (its stderr is in the log)" },
		{ "timeout", "#!/bin/sh\nexec sleep 30\n", 300, "no answer within 300 ms" },
		{ "output too large", "#!/bin/sh\nhead -c 2000000 /dev/zero\n", 10000,
		  "output larger than" },
		{ "bad output", "#!/bin/sh\necho '{}'\n", 10000, "is configured to use API version" },
		{ "killed", "#!/bin/sh\nkill -9 $$\n", 10000, "killed by signal 9" },
	};
	struct tmp *t = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *script = tmp_put(t, "plugin", cases[i].script);
		struct kube_exec_config *x = plugin(script, NULL);
		struct kube_exec_cred c;
		struct err e = ERR_INIT;
		int64_t start = clock_now_ms();

		assert_int_equal(kube_exec_run(x, NULL, cases[i].timeout_ms, &c, &e),
				 KUBE_ERR_UNAUTHORIZED);
		if (!e.msg || !strstr(e.msg, cases[i].want))
			fail_msg("%s: '%s' lacks '%s'", cases[i].what, err_msg(&e), cases[i].want);
		/* the plugin's stderr may echo what it fetched: never in the error */
		if (strstr(e.msg, "no creds"))
			fail_msg("%s: the error quotes the plugin's stderr: %s", cases[i].what, e.msg);
		assert_null(c.token);
		/* the timeout is what bounds the run, not the plugin */
		assert_true(clock_now_ms() - start < 20000);
		err_release(&e);
		kube_exec_config_free(x);
		free(script);
	}
}

static void test_run_missing_command_shows_hint(void **state)
{
	struct kube_exec_config *x = plugin("/nonexistent/get-token", NULL);
	struct kube_exec_cred c;
	struct err e = ERR_INIT;

	(void)state;
	x->install_hint = xstrdup("install get-token from your cloud");
	assert_int_equal(kube_exec_run(x, NULL, 1000, &c, &e), KUBE_ERR_UNAUTHORIZED);
	/* posix_spawn reports it, or (under valgrind) the child's exit status 127 does */
	assert_contains(e.msg, "/nonexistent/get-token");
	if (!strstr(e.msg, "cannot run") && !strstr(e.msg, "exit status 127"))
		fail_msg("'%s' does not say the command could not be run", e.msg);
	assert_contains(e.msg, "install get-token from your cloud");
	err_release(&e);
	kube_exec_config_free(x);
}

/* ---- the cache ---- */

/* A plugin that counts its runs and answers token "tok-N" expiring at `expiry`. */
static struct kube_exec *counting_plugin(struct tmp *t, const char *expiry)
{
	char *text = xasprintf("#!/bin/sh\n"
			       "f=\"$(dirname \"$0\")/runs\"\n"
			       "n=$(( $(cat \"$f\" 2>/dev/null || echo 0) + 1 ))\n"
			       "echo $n > \"$f\"\n"
			       "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
			       "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"tok-%%s\","
			       "\"expirationTimestamp\":\"%s\"}}' $n\n", expiry);
	char *script = tmp_put(t, "plugin", text);
	struct kube_exec_config *x = plugin(script, NULL);
	struct kube_exec *p = kube_exec_new(x, NULL);

	kube_exec_config_free(x);
	free(script);
	free(text);
	return p;
}

static void get_token(struct kube_exec *p, uint64_t refused, const char *want, uint64_t *gen)
{
	struct kube_exec_cred c;
	struct err e = ERR_INIT;

	if (kube_exec_get(p, refused, &c, gen, &e))
		fail_msg("kube_exec_get: %s", err_msg(&e));
	assert_string_equal(c.token, want);
	kube_exec_cred_release(&c);
}

static void test_cache_until_expiry_and_after_401(void **state)
{
	struct kube_exec *p = counting_plugin(*state, "2099-01-01T00:00:00Z");
	uint64_t g1, g2, g3;

	get_token(p, 0, "tok-1", &g1);
	get_token(p, 0, "tok-1", &g2);	/* cached */
	assert_int_equal(kube_exec_runs(p), 1);
	assert_true(g1 == g2);
	get_token(p, g1, "tok-2", &g2);	/* the server refused tok-1: run again */
	assert_int_equal(kube_exec_runs(p), 2);
	get_token(p, g1, "tok-2", &g3);	/* a late 401 for tok-1: tok-2 is kept */
	assert_int_equal(kube_exec_runs(p), 2);
	assert_true(g3 == g2 && g2 > g1);
	kube_exec_unref(p);
}

/* A 401 in a call that could not retry (leader election's): the next request gets a new run. */
static void test_refusal_is_remembered_for_the_next_request(void **state)
{
	struct kube_exec *p = counting_plugin(*state, "2099-01-01T00:00:00Z");
	uint64_t g1, g2;

	get_token(p, 0, "tok-1", &g1);
	kube_exec_refused(p, g1);
	get_token(p, 0, "tok-2", &g2);
	assert_int_equal(kube_exec_runs(p), 2);
	kube_exec_refused(p, g1);	/* a late refusal of tok-1 keeps tok-2 */
	get_token(p, 0, "tok-2", &g2);
	assert_int_equal(kube_exec_runs(p), 2);
	kube_exec_unref(p);
}

static void test_expired_credential_is_renewed(void **state)
{
	struct kube_exec *p = counting_plugin(*state, "2001-01-01T00:00:00Z");
	uint64_t g;

	get_token(p, 0, "tok-1", &g);
	get_token(p, 0, "tok-2", &g);
	assert_int_equal(kube_exec_runs(p), 2);
	kube_exec_unref(p);
}

/* A failing plugin is not run for every request: its error is repeated for a while. */
static void test_failed_run_is_not_repeated_at_once(void **state)
{
	char *script = tmp_put(*state, "plugin", "#!/bin/sh\nexit 3\n");
	struct kube_exec_config *x = plugin(script, NULL);
	struct kube_exec *p = kube_exec_new(x, NULL);
	struct kube_exec_cred c;
	struct err e = ERR_INIT;
	uint64_t g;

	assert_int_equal(kube_exec_get(p, 0, &c, &g, &e), KUBE_ERR_UNAUTHORIZED);
	err_release(&e);
	assert_int_equal(kube_exec_get(p, 0, &c, &g, &e), KUBE_ERR_UNAUTHORIZED);
	assert_contains(e.msg, "exit status 3");
	assert_contains(e.msg, "not run again");
	assert_int_equal(kube_exec_runs(p), 1);
	err_release(&e);
	kube_exec_unref(p);
	kube_exec_config_free(x);
	free(script);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tmp_setup, tmp_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_kubeconfig_reads_exec),
		T(test_kubeconfig_exec_errors),
		T(test_kubeconfig_exec_over_plain_http_is_refused),
		cmocka_unit_test(test_parse_table),
		T(test_run_passes_args_env_and_exec_info),
		T(test_run_failures),
		cmocka_unit_test(test_run_missing_command_shows_hint),
		T(test_cache_until_expiry_and_after_401),
		T(test_expired_credential_is_renewed),
		T(test_refusal_is_remembered_for_the_next_request),
		T(test_failed_run_is_not_repeated_at_once),
	};

	return kt_run("exec-cred", tests, sizeof(tests) / sizeof(tests[0]));
}
