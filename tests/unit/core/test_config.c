// SPDX-License-Identifier: Apache-2.0
/* test_config.c - flags > environment > defaults, and clear errors for bad values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"

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

static void parse_ok(struct config *c, const char *const *args)
{
	struct err e = ERR_INIT;

	if (parse(c, NULL, args, &e))
		fail_msg("%s: %s", args[0], err_msg(&e));
}

/* Upstream's defaults for the flags added for parity. */
static void test_upstream_defaults(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, (const char *const[]){ NULL });
	assert_null(c.master);
	assert_int_equal(c.retry_max_ms, 5 * 60 * 1000);
	assert_int_equal(c.cloning_protection_threads, 1);
	assert_int_equal(c.snapshot_orphan_sweep_ms, 5 * 60 * 1000);
	assert_true(c.prevent_volume_mode_conversion);
	assert_false(c.enable_capacity);
	assert_false(c.capacity_for_immediate_binding);
	assert_int_equal(c.capacity_poll_ms, 60000);
	assert_int_equal(c.capacity_ownerref_level, 1);
	assert_int_equal(c.capacity_threads, 1);
	assert_true(c.kube_api_capacity_qps == 1.0);
	assert_int_equal(c.kube_api_capacity_burst, 5);
	assert_false(c.node_deployment);
	assert_true(c.node_deployment_immediate_binding);
	assert_int_equal(c.node_deployment_base_delay_ms, 20000);
	assert_int_equal(c.node_deployment_max_delay_ms, 60000);
	assert_null(c.leader_election_labels);
	assert_null(c.metrics_address);
	assert_string_equal(c.metrics_path, "/metrics");
	assert_false(c.enable_pprof);
	assert_string_equal(c.logging_format, "text");
	assert_null(c.vmodule);
	assert_int_equal(c.log_flush_ms, 5000);
	assert_false(c.log_text_split_stream);
	assert_int_equal(c.log_text_info_buffer, 0);
	assert_false(c.log_json_split_stream);
	assert_int_equal(c.log_json_info_buffer, 0);
	assert_false(c.automaxprocs);
	assert_true(c.gates.topology);
	assert_true(c.gates.volume_attributes_class);
	assert_false(c.gates.volume_attributes_class_set);
	assert_false(c.gates.cross_namespace_volume_data_source);
	assert_false(c.gates.release_leader_election_on_exit);
	assert_null(c.notices);
	assert_true(c.kube_api_qps == 5.0);
	config_release(&c);
}

#define F(field) offsetof(struct config, field)
enum kind { K_BOOL, K_INT, K_STR, K_DBL };

/* One row per flag: an argument list and the field it sets. */
static void test_each_flag(void **state)
{
	static const struct {
		const char *args[3];
		size_t off;
		enum kind kind;
		int64_t i;
		const char *s;
	} cases[] = {
		{ { "--csi-address", "/x.sock" }, F(csi_address), K_STR, 0, "/x.sock" },
		{ { "--provisioner=p.example.com" }, F(provisioner), K_STR, 0, "p.example.com" },
		{ { "--volume-name-prefix=vol" }, F(volume_name_prefix), K_STR, 0, "vol" },
		{ { "--volume-name-uuid-length=16" }, F(volume_name_uuid_length), K_INT, 16, NULL },
		{ { "--default-fstype=xfs" }, F(default_fstype), K_STR, 0, "xfs" },
		{ { "--kubeconfig=/k" }, F(kubeconfig), K_STR, 0, "/k" },
		{ { "--master=https://10.0.0.1:6443" }, F(master), K_STR, 0, "https://10.0.0.1:6443" },
		{ { "--kube-api-burst=100" }, F(kube_api_burst), K_INT, 100, NULL },
		{ { "--retry-interval-start=500ms" }, F(retry_start_ms), K_INT, 500, NULL },
		{ { "--retry-interval-max=30m" }, F(retry_max_ms), K_INT, 1800000, NULL },
		{ { "--timeout=1m50s" }, F(timeout_ms), K_INT, 110000, NULL },
		{ { "--worker-threads=10" }, F(worker_threads), K_INT, 10, NULL },
		{ { "--cloning-protection-threads=4" }, F(cloning_protection_threads), K_INT, 4, NULL },
		{ { "--snapshot-orphan-sweep-interval=0" }, F(snapshot_orphan_sweep_ms), K_INT, 0, NULL },
		{ { "--extra-create-metadata" }, F(extra_create_metadata), K_BOOL, 1, NULL },
		{ { "--controller-publish-readonly=true" }, F(controller_publish_readonly), K_BOOL, 1, NULL },
		{ { "--prevent-volume-mode-conversion=false" }, F(prevent_volume_mode_conversion), K_BOOL, 0,
		  NULL },
		{ { "--strict-topology" }, F(strict_topology), K_BOOL, 1, NULL },
		{ { "--immediate-topology=false" }, F(immediate_topology), K_BOOL, 0, NULL },
		{ { "--volume-accounting=false" }, F(volume_accounting), K_BOOL, 0, NULL },
		{ { "--enable-capacity=false" }, F(enable_capacity), K_BOOL, 0, NULL },
		{ { "--capacity-for-immediate-binding" }, F(capacity_for_immediate_binding), K_BOOL, 1, NULL },
		{ { "--capacity-poll-interval=2m" }, F(capacity_poll_ms), K_INT, 120000, NULL },
		{ { "--capacity-ownerref-level=-1" }, F(capacity_ownerref_level), K_INT, -1, NULL },
		{ { "--capacity-threads=3" }, F(capacity_threads), K_INT, 3, NULL },
		{ { "--kube-api-capacity-burst=50" }, F(kube_api_capacity_burst), K_INT, 50, NULL },
		{ { "--node-deployment=false" }, F(node_deployment), K_BOOL, 0, NULL },
		{ { "--node-deployment-immediate-binding=false" }, F(node_deployment_immediate_binding),
		  K_BOOL, 0, NULL },
		{ { "--node-deployment-base-delay=1s" }, F(node_deployment_base_delay_ms), K_INT, 1000, NULL },
		{ { "--node-deployment-max-delay=2m" }, F(node_deployment_max_delay_ms), K_INT, 120000, NULL },
		{ { "--leader-election" }, F(leader_election), K_BOOL, 1, NULL },
		{ { "--leader-election-namespace", "kube-system" }, F(leader_election_namespace), K_STR, 0,
		  "kube-system" },
		{ { "--leader-election-lease-duration=137s" }, F(le_lease_duration_ms), K_INT, 137000, NULL },
		{ { "--leader-election-renew-deadline=11s" }, F(le_renew_deadline_ms), K_INT, 11000, NULL },
		{ { "--leader-election-retry-period=2s" }, F(le_retry_period_ms), K_INT, 2000, NULL },
		{ { "--http-endpoint=:8080" }, F(http_endpoint), K_STR, 0, ":8080" },
		{ { "--metrics-address=:8081" }, F(metrics_address), K_STR, 0, ":8081" },
		{ { "--metrics-path=/m" }, F(metrics_path), K_STR, 0, "/m" },
		{ { "--enable-pprof" }, F(enable_pprof), K_BOOL, 1, NULL },
		{ { "--v=7" }, F(verbosity), K_INT, 7, NULL },
		{ { "--vmodule=controller=5" }, F(vmodule), K_STR, 0, "controller=5" },
		{ { "--logging-format=json" }, F(logging_format), K_STR, 0, "json" },
		{ { "--log-flush-frequency=10s" }, F(log_flush_ms), K_INT, 10000, NULL },
		{ { "--log-text-split-stream" }, F(log_text_split_stream), K_BOOL, 1, NULL },
		{ { "--log-text-info-buffer-size=64Ki" }, F(log_text_info_buffer), K_INT, 65536, NULL },
		{ { "--log-json-split-stream=true" }, F(log_json_split_stream), K_BOOL, 1, NULL },
		{ { "--log-json-info-buffer-size=1M" }, F(log_json_info_buffer), K_INT, 1000000, NULL },
		{ { "--automaxprocs" }, F(automaxprocs), K_BOOL, 1, NULL },
		{ { "--version" }, F(show_version), K_BOOL, 1, NULL },
		{ { "--help" }, F(show_help), K_BOOL, 1, NULL },
		{ { "-h" }, F(show_help), K_BOOL, 1, NULL },
		{ { "--kube-api-qps=20" }, F(kube_api_qps), K_DBL, 20, NULL },
		{ { "--kube-api-capacity-qps=0.5" }, F(kube_api_capacity_qps), K_DBL, 0, "0.5" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;
		char *base = (char *)&c + cases[i].off;

		parse_ok(&c, cases[i].args);
		switch (cases[i].kind) {
		case K_BOOL:
			if (*(bool *)base != (cases[i].i != 0))
				fail_msg("%s: got %d", cases[i].args[0], *(bool *)base);
			break;
		case K_INT:
			if (*(int64_t *)base != cases[i].i)
				fail_msg("%s: got %lld", cases[i].args[0], (long long)*(int64_t *)base);
			break;
		case K_STR:
			if (!*(char **)base || strcmp(*(char **)base, cases[i].s))
				fail_msg("%s: got %s", cases[i].args[0], *(char **)base);
			break;
		case K_DBL:
			if (*(double *)base != (cases[i].s ? strtod(cases[i].s, NULL) : (double)cases[i].i))
				fail_msg("%s: got %g", cases[i].args[0], *(double *)base);
			break;
		}
		config_release(&c);
	}
}

/* strconv.ParseBool's twelve spellings, a bare boolean flag, and single dashes. */
static void test_bool_forms(void **state)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	static const char *const bad[] = { "yes", "no", "tRUE", "on", "", "2" };
	char arg[64];
	struct config c;
	struct err e = ERR_INIT;

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		snprintf(arg, sizeof(arg), "--leader-election=%s", yes[i]);
		parse_ok(&c, (const char *const[]){ arg, NULL });
		assert_true(c.leader_election);
		config_release(&c);
		snprintf(arg, sizeof(arg), "-immediate-topology=%s", no[i]);
		parse_ok(&c, (const char *const[]){ arg, NULL });
		assert_false(c.immediate_topology);
		config_release(&c);
		snprintf(arg, sizeof(arg), "--extra-create-metadata=%s", bad[i]);
		assert_int_not_equal(parse(&c, NULL, (const char *const[]){ arg, NULL }, &e), 0);
		assert_non_null(strstr(err_msg(&e), "want true or false"));
		err_release(&e);
		config_release(&c);
	}
	parse_ok(&c, (const char *const[]){ "-leader-election", NULL });
	assert_true(c.leader_election);
	config_release(&c);
	/* a boolean does not take the next argument: a stray value is an error, not a silent true */
	assert_int_not_equal(parse(&c, NULL, (const char *const[]){ "--leader-election", "false", NULL },
				   &e), 0);
	assert_non_null(strstr(err_msg(&e), "--leader-election=false"));
	err_release(&e);
	config_release(&c);
}

/* Go durations (and our bare seconds), Go integer literals, klog levels. */
static void test_value_syntax(void **state)
{
	static const struct {
		const char *arg;
		size_t off;
		int64_t want;
	} cases[] = {
		{ "--timeout=1h30m", F(timeout_ms), 5400000 },
		{ "--timeout=1.5s", F(timeout_ms), 1500 },
		{ "--timeout=.5s", F(timeout_ms), 500 },
		{ "--timeout=+2s", F(timeout_ms), 2000 },
		{ "--timeout=90", F(timeout_ms), 90000 },
		{ "--timeout=1ns", F(timeout_ms), 1 },
		{ "--timeout=1500us", F(timeout_ms), 2 },
		{ "--timeout=3\xc2\xb5s", F(timeout_ms), 1 },
		{ "--timeout=2m5s", F(timeout_ms), 125000 },
		{ "--snapshot-orphan-sweep-interval=0s", F(snapshot_orphan_sweep_ms), 0 },
		{ "--worker-threads=0x10", F(worker_threads), 16 },
		{ "--worker-threads=0o17", F(worker_threads), 15 },
		{ "--worker-threads=017", F(worker_threads), 15 },
		{ "--worker-threads=0b11", F(worker_threads), 3 },
		{ "--worker-threads=1_000", F(worker_threads), 1000 },
		{ "--volume-name-uuid-length=+8", F(volume_name_uuid_length), 8 },
		{ "--kube-api-burst=0x_ff", F(kube_api_burst), 255 },
		{ "-v=3", F(verbosity), 3 },
		{ "-v4", F(verbosity), 4 },
		{ "--v=12", F(verbosity), 12 },
		{ "--log-text-info-buffer-size=512", F(log_text_info_buffer), 512 },
		{ "--log-text-info-buffer-size=2Ki", F(log_text_info_buffer), 2048 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;

		parse_ok(&c, (const char *const[]){ cases[i].arg, NULL });
		if (*(int64_t *)((char *)&c + cases[i].off) != cases[i].want)
			fail_msg("%s: got %lld", cases[i].arg,
				 (long long)*(int64_t *)((char *)&c + cases[i].off));
		config_release(&c);
	}
}

/* Each bad value fails with a message naming the flag and saying what is wanted. */
static void test_bad_values_upstream_flags(void **state)
{
	static const struct {
		const char *arg, *want1, *want2;
	} cases[] = {
		{ "--timeout=-1s", "--timeout", "positive" },
		{ "--timeout=1d", "--timeout", "not a duration" },
		{ "--timeout=5S", "--timeout", "not a duration" },
		{ "--worker-threads=-1", "--worker-threads", "non-negative integer" },
		{ "--worker-threads=08", "--worker-threads", "integer" },
		{ "--worker-threads=1__0", "--worker-threads", "integer" },
		{ "--worker-threads=_1", "--worker-threads", "integer" },
		{ "--worker-threads=1_", "--worker-threads", "integer" },
		{ "--worker-threads=1.5", "--worker-threads", "integer" },
		{ "--v=-1", "--v", "log level" },
		{ "--v=0x5", "--v", "log level" },
		{ "--v=2147483648", "--v", "between" },
		{ "--kube-api-qps=0", "--kube-api-qps", "positive number" },
		{ "--kube-api-qps=inf", "--kube-api-qps", "positive number" },
		{ "--kube-api-capacity-qps=-1", "--kube-api-capacity-qps", "positive number" },
		{ "--capacity-ownerref-level=-2", "--capacity-ownerref-level", "between" },
		{ "--snapshot-orphan-sweep-interval=-5m", "--snapshot-orphan-sweep-interval", "zero or positive" },
		{ "--log-flush-frequency=0", "--log-flush-frequency", "positive" },
		{ "--log-text-info-buffer-size=lots", "--log-text-info-buffer-size", "not a size" },
		{ "--log-json-info-buffer-size=3Gi", "--log-json-info-buffer-size", "between" },
		{ "--logging-format=xml", "--logging-format", "text or json" },
		{ "--vmodule=controller", "--vmodule", "pattern=N" },
		{ "--vmodule=controller=x", "--vmodule", "controller=x" },
		{ "--leader-election-labels=team", "--leader-election-labels", "key:value" },
		{ "--leader-election-labels=a:b:c", "--leader-election-labels", "key:value" },
		{ "--leader-election-labels=a:b,", "--leader-election-labels", "key:value" },
		{ "--leader-election-labels=a b:c", "--leader-election-labels", "not a valid Kubernetes label" },
		{ "--leader-election-labels=team:-x", "--leader-election-labels", "not a valid Kubernetes label" },
		{ "--leader-election-labels=Example.com/team:x", "--leader-election-labels",
		  "not a valid Kubernetes label" },
		{ "--metrics-path=metrics", "--metrics-path", "start with /" },
		{ "--node-deployment-base-delay=2m", "--node-deployment-base-delay", "--node-deployment-max-delay" },
		{ "--feature-gates=Topology", "--feature-gates", "Name=true" },
		{ "--feature-gates=Topology=yes", "--feature-gates", "want true or false" },
		{ "--feature-gates=NoSuchGate=true", "--feature-gates", "unrecognized feature gate: NoSuchGate" },
		{ "--feature-gates=HonorPVReclaimPolicy=true", "--feature-gates",
		  "unrecognized feature gate: HonorPVReclaimPolicy" },
		{ "--feature-gates=APIServerTracing=false", "APIServerTracing", "locked to true" },
		{ "--enable-capacity=maybe", "--enable-capacity", "maybe" },
		{ "--capacity-ownerref-level=-2", "--capacity-ownerref-level", "-2" },
		{ "--unknown-flag", "unknown flag", "--unknown-flag" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;
		struct err e = ERR_INIT;

		if (!parse(&c, NULL, (const char *const[]){ cases[i].arg, NULL }, &e))
			fail_msg("%s was accepted", cases[i].arg);
		if (!strstr(err_msg(&e), cases[i].want1) || !strstr(err_msg(&e), cases[i].want2))
			fail_msg("%s: message \"%s\" lacks \"%s\" or \"%s\"", cases[i].arg, err_msg(&e),
				 cases[i].want1, cases[i].want2);
		err_release(&e);
		config_release(&c);
	}
}

static void test_not_built_features_message(void **state)
{
	struct config c;
	struct err e = ERR_INIT;

	(void)state;
	/* the capacity and node flags alone are validated but ask for nothing */
	parse_ok(&c, (const char *const[]){ "--capacity-poll-interval=5m", "--capacity-ownerref-level=0",
					    "--kube-api-capacity-qps=3", "--node-deployment-max-delay=2m",
					    NULL });
	config_release(&c);
	/* capacity tracking is built: the flag is taken with its companions */
	parse_ok(&c, (const char *const[]){ "--leader-election", "--enable-capacity",
					    "--capacity-ownerref-level=2", "--capacity-threads=3", NULL });
	assert_true(c.enable_capacity);
	assert_int_equal(c.capacity_ownerref_level, 2);
	assert_int_equal(c.capacity_threads, 3);
	config_release(&c);
	/* node deployment is built too, but one lease cannot serve every node */
	parse_ok(&c, (const char *const[]){ "--node-deployment", "--node-deployment-base-delay=1s",
					    NULL });
	assert_true(c.node_deployment);
	assert_int_equal(c.node_deployment_base_delay_ms, 1000);
	config_release(&c);
	assert_int_not_equal(parse(&c, NULL, (const char *const[]){ "--node-deployment",
								  "--leader-election", NULL }, &e), 0);
	assert_non_null(strstr(err_msg(&e), "--leader-election"));
	err_release(&e);
	config_release(&c);
}

static void test_feature_gates(void **state)
{
	struct config c;

	(void)state;
	/* several flags accumulate, blanks are trimmed, Go bools, later wins */
	parse_ok(&c, (const char *const[]){ "--feature-gates=Topology=false, VolumeAttributesClass = F",
					    "--feature-gates=ReleaseLeaderElectionOnExit=1,,Topology=T", NULL });
	assert_true(c.gates.topology);
	assert_false(c.gates.volume_attributes_class);
	assert_true(c.gates.volume_attributes_class_set);
	assert_true(c.gates.release_leader_election_on_exit);
	assert_true(c.gates.release_leader_election_on_exit_set);
	assert_false(c.gates.cross_namespace_volume_data_source);
	/* Topology and VolumeAttributesClass are GA: upstream warns when they are set */
	assert_non_null(c.notices);
	assert_non_null(strstr(c.notices[0], "GA feature gate Topology=true"));
	config_release(&c);

	/* AllAlpha turns on the alpha gates not set by name */
	parse_ok(&c, (const char *const[]){ "--feature-gates=AllAlpha=true,ReleaseLeaderElectionOnExit=false",
					    NULL });
	assert_true(c.gates.cross_namespace_volume_data_source);
	assert_false(c.gates.release_leader_election_on_exit);
	assert_true(c.gates.topology);
	config_release(&c);

	/* gates our code ignores but upstream's binary knows are accepted */
	parse_ok(&c, (const char *const[]){ "--feature-gates=WatchList=false,NativeHistograms=true", NULL });
	config_release(&c);
}

static void test_labels_and_endpoints(void **state)
{
	struct config c;
	struct err e = ERR_INIT;

	(void)state;
	parse_ok(&c, (const char *const[]){ "--leader-election-labels=team:storage,tier:",
					    "--leader-election-labels=team:infra,example.com/app:my_app.v1", NULL });
	assert_string_equal(c.leader_election_labels[0], "team");
	assert_string_equal(c.leader_election_labels[1], "infra");
	assert_string_equal(c.leader_election_labels[2], "tier");
	assert_string_equal(c.leader_election_labels[3], "");
	assert_string_equal(c.leader_election_labels[4], "example.com/app");
	assert_string_equal(c.leader_election_labels[5], "my_app.v1");
	assert_null(c.leader_election_labels[6]);
	config_release(&c);

	assert_int_not_equal(parse(&c, NULL, (const char *const[]){ "--metrics-address=:1",
								    "--http-endpoint=:2", NULL }, &e), 0);
	assert_string_equal(err_msg(&e), "only one of --metrics-address and --http-endpoint can be set");
	err_release(&e);
	config_release(&c);

	assert_int_not_equal(parse(&c, NULL, (const char *const[]){ "--logging-format=json",
								    "--vmodule=controller=4", NULL }, &e), 0);
	assert_non_null(strstr(err_msg(&e), "only supported with --logging-format=text"));
	err_release(&e);
	config_release(&c);
}

/* Flags with no effect here say so, once logging is set up (config.notices). */
static void test_notices(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, (const char *const[]){ "--enable-pprof", "--automaxprocs=true", "--metrics-address=:9",
					    NULL });
	assert_non_null(c.notices);
	assert_non_null(strstr(c.notices[0], "perf"));
	assert_non_null(strstr(c.notices[1], "--automaxprocs has no effect"));
	assert_non_null(strstr(c.notices[2], "deprecated"));
	assert_null(c.notices[3]);
	config_release(&c);
	parse_ok(&c, (const char *const[]){ "--automaxprocs=false", NULL });
	assert_null(c.notices);
	config_release(&c);
}

/* "--" ends the flags; what follows is ignored, as by upstream's flag parser. */
static void test_double_dash(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, (const char *const[]){ "--v=2", "--", "--v=9", "stray", NULL });
	assert_int_equal(c.verbosity, 2);
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
		cmocka_unit_test(test_upstream_defaults),
		cmocka_unit_test(test_each_flag),
		cmocka_unit_test(test_bool_forms),
		cmocka_unit_test(test_value_syntax),
		cmocka_unit_test(test_bad_values_upstream_flags),
		cmocka_unit_test(test_not_built_features_message),
		cmocka_unit_test(test_feature_gates),
		cmocka_unit_test(test_labels_and_endpoints),
		cmocka_unit_test(test_notices),
		cmocka_unit_test(test_double_dash),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
