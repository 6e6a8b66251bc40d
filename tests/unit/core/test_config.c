// SPDX-License-Identifier: Apache-2.0
/* test_config.c - flags > environment > defaults, and clear errors for bad values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

/* A fake environment for each test. */
static const char *const *fake_env;

static const char *env_get(const char *name)
{
	for (const char *const *p = fake_env; p && *p; p += 2)
		if (!strcmp(p[0], name))
			return p[1];
	return NULL;
}

static int parse(struct config *c, const char *const *env, const char *const *args,
		 struct err *e)
{
	char *argv[32] = { "csi-provisioner" };
	int argc = 1;

	fake_env = env;
	for (const char *const *a = args; a && *a; a++)
		argv[argc++] = (char *)*a;
	return config_parse(c, argc, argv, env_get, e);
}

static void test_defaults(void **state)
{
	struct config c;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(parse(&c, NULL, NULL, &e), 0);
	assert_string_equal(c.csi_address, "/run/csi/socket");
	assert_null(c.provisioner);
	assert_string_equal(c.volume_name_prefix, "pvc");
	assert_int_equal(c.volume_name_uuid_length, -1);
	assert_int_equal(c.retry_start_ms, 1000);
	assert_int_equal(c.retry_max_ms, 300000);
	assert_int_equal(c.timeout_ms, 10000);
	assert_int_equal(c.verbosity, 0);
	assert_int_equal(c.worker_threads, 100);
	assert_int_equal(c.kube_api_burst, 10);
	assert_null(c.class_whitelist);
	assert_true(config_class_allowed(&c, "anything"));
	config_release(&c);
}

static void test_environment(void **state)
{
	static const char *const env[] = {
		"CSI_ENDPOINT", "unix:///csi/csi.sock", "PROVISIONER_NAME", "example.com/csi",
		"STORAGECLASS_WHITELIST", "standard, fast,,", "RETRY_INTERVAL", "30",
		"VERBOSE", "5", NULL,
	};
	struct config c;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(parse(&c, env, NULL, &e), 0);
	assert_string_equal(c.csi_address, "unix:///csi/csi.sock");
	assert_string_equal(c.provisioner, "example.com/csi");
	assert_int_equal(c.retry_start_ms, 30000);
	assert_int_equal(c.verbosity, 5);
	assert_true(config_class_allowed(&c, "standard"));
	assert_true(config_class_allowed(&c, "fast"));
	assert_false(config_class_allowed(&c, "slow"));
	assert_false(config_class_allowed(&c, ""));
	config_release(&c);
}

static void test_flags_win_over_environment(void **state)
{
	static const char *const env[] = {
		"CSI_ENDPOINT", "/env.sock", "PROVISIONER_NAME", "env", "VERBOSE", "1",
		"STORAGECLASS_WHITELIST", "a", NULL,
	};
	static const char *const args[] = {
		"--csi-address=/flag.sock", "--provisioner", "flag", "-v=4",
		"--storageclass-whitelist=b", "--retry-interval-start=2s",
		"--retry-interval-max", "5m", "--extra-create-metadata", NULL,
	};
	struct config c;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(parse(&c, env, args, &e), 0);
	assert_string_equal(c.csi_address, "/flag.sock");
	assert_string_equal(c.provisioner, "flag");
	assert_int_equal(c.verbosity, 4);
	assert_false(config_class_allowed(&c, "a"));
	assert_true(config_class_allowed(&c, "b"));
	assert_int_equal(c.retry_start_ms, 2000);
	assert_int_equal(c.retry_max_ms, 300000);
	assert_true(c.extra_create_metadata);
	config_release(&c);
}

/* Each bad input fails, and the message names the flag (or variable) and the value. */
static void test_bad_values(void **state)
{
	static const struct {
		const char *env_name, *env_value, *arg;
		const char *want1, *want2;
	} cases[] = {
		{ NULL, NULL, "--retry-interval-start=soon", "--retry-interval-start", "soon" },
		{ NULL, NULL, "--retry-interval-max=-5s", "--retry-interval-max", "-5s" },
		{ NULL, NULL, "--timeout=0", "--timeout", "0" },
		{ NULL, NULL, "--v=x", "--v", "x" },
		{ NULL, NULL, "--worker-threads=0", "--worker-threads", "0" },
		{ NULL, NULL, "--volume-name-uuid-length=33", "--volume-name-uuid-length", "33" },
		{ NULL, NULL, "--volume-name-uuid-length=-2", "--volume-name-uuid-length", "-2" },
		{ NULL, NULL, "--kube-api-qps=fast", "--kube-api-qps", "fast" },
		{ NULL, NULL, "--extra-create-metadata=maybe", "--extra-create-metadata", "maybe" },
		{ NULL, NULL, "--no-such-flag=1", "--no-such-flag", "unknown" },
		{ NULL, NULL, "stray", "stray", "unexpected" },
		{ NULL, NULL, "--volume-name-prefix=", "prefix", "empty" },
		{ "RETRY_INTERVAL", "abc", NULL, "RETRY_INTERVAL", "abc" },
		{ "VERBOSE", "loud", NULL, "VERBOSE", "loud" },
		{ NULL, NULL, "--retry-interval-start=10m", "--retry-interval-start", "--retry-interval-max" },
		{ NULL, NULL, "--leader-election-renew-deadline=20s", "--leader-election-renew-deadline",
		  "--leader-election-lease-duration" },
		{ NULL, NULL, "--leader-election-retry-period=10s", "--leader-election-retry-period",
		  "--leader-election-renew-deadline" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *env[3] = { cases[i].env_name, cases[i].env_value, NULL };
		const char *args[2] = { cases[i].arg, NULL };
		struct config c;
		struct err e = ERR_INIT;

		assert_int_not_equal(parse(&c, cases[i].env_name ? env : NULL, args, &e), 0);
		if (!strstr(err_msg(&e), cases[i].want1) || !strstr(err_msg(&e), cases[i].want2))
			fail_msg("case %zu: message \"%s\" lacks \"%s\" or \"%s\"", i, err_msg(&e),
				 cases[i].want1, cases[i].want2);
		err_release(&e);
		config_release(&c);
	}
}

static void test_flag_needs_value(void **state)
{
	static const char *const args[] = { "--csi-address", NULL };
	struct config c;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_not_equal(parse(&c, NULL, args, &e), 0);
	assert_non_null(strstr(err_msg(&e), "--csi-address needs a value"));
	err_release(&e);
	config_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_flags_win_over_environment),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_flag_needs_value),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
