// SPDX-License-Identifier: Apache-2.0
/*
 * config.c - flags > environment > defaults, validated (see config.h).
 *
 * Flags are written as Go programs take them, since operators copy them
 * from manifests made for the upstream sidecar: "--name=value",
 * "--name value", a single dash works too ("-v=5", "-v 5", "-v5"), a
 * boolean flag alone means true ("--leader-election"), "--" ends the
 * flags. Values follow goparse.h.
 */
#include "config/config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "config/goparse.h"
#include "kube/quantity.h"

enum opt_type {
	OPT_STRING, OPT_LIST, OPT_BOOL, OPT_INT, OPT_UINT, OPT_DURATION, OPT_DOUBLE,
	OPT_LEVEL,	/* klog verbosity: decimal, 0 to 2^31-1 */
	OPT_GATES,	/* --feature-gates, accumulated in the parse context */
	OPT_LABELS,	/* key:value,... accumulated into a key, value, ... list */
	OPT_QUANTITY,	/* a resource quantity of bytes: 512, 1K, 2Ki, 3M */
};

struct opt {
	const char *flag;
	const char *env;	/* NULL: no environment variable */
	enum opt_type type;
	size_t offset;
	const char *def;	/* default, parsed like any value; NULL = unset */
	int64_t min, max;	/* OPT_INT / OPT_UINT / OPT_DURATION (ms) / OPT_LEVEL */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)
#define NOLIMIT 0, 0
#define ANY INT64_MIN, INT64_MAX
#define POS 1, INT64_MAX
#define NONNEG 0, INT64_MAX

static const struct opt opts[] = {
	/* the driver and the names */
	{ "csi-address", "CSI_ENDPOINT", OPT_STRING, OFF(csi_address), "/run/csi/socket", NOLIMIT,
	  "CSI driver endpoint: unix:///path, unix:/path or /path" },
	{ "provisioner", "PROVISIONER_NAME", OPT_STRING, OFF(provisioner), NULL, NOLIMIT,
	  "provisioner name matched against StorageClass.provisioner (default: the driver's name)" },
	{ "volume-name-prefix", NULL, OPT_STRING, OFF(volume_name_prefix), "pvc", NOLIMIT,
	  "prefix of the names of provisioned volumes and PersistentVolumes" },
	{ "volume-name-uuid-length", NULL, OPT_INT, OFF(volume_name_uuid_length), "-1", -1, 32,
	  "characters of the claim UID (dashes removed) in volume names; -1 = the whole UID" },
	{ "default-fstype", NULL, OPT_STRING, OFF(default_fstype), NULL, NOLIMIT,
	  "filesystem type when the StorageClass names none (default: the driver decides)" },
	{ "storageclass-whitelist", "STORAGECLASS_WHITELIST", OPT_LIST, OFF(class_whitelist), NULL,
	  NOLIMIT, "comma-separated StorageClass names to serve (default: all)" },
	/* the Kubernetes client */
	{ "kubeconfig", NULL, OPT_STRING, OFF(kubeconfig), NULL, NOLIMIT,
	  "kubeconfig file (default: $KUBECONFIG, else in-cluster configuration)" },
	{ "master", NULL, OPT_STRING, OFF(master), NULL, NOLIMIT,
	  "API server URL; overrides the kubeconfig's server" },
	{ "kube-api-qps", NULL, OPT_DOUBLE, OFF(kube_api_qps), "5", NOLIMIT,
	  "client-side limit of requests per second to the API server (when neither this nor "
	  "--kube-api-burst is given: follow the server's priority and fairness, else 5)" },
	{ "kube-api-burst", NULL, OPT_INT, OFF(kube_api_burst), "10", 1, 1000000,
	  "client-side burst of requests to the API server (see --kube-api-qps)" },
	/* provisioning */
	{ "retry-interval-start", "RETRY_INTERVAL", OPT_DURATION, OFF(retry_start_ms), "1s", POS,
	  "first retry delay after a failure; doubles up to --retry-interval-max" },
	{ "retry-interval-max", NULL, OPT_DURATION, OFF(retry_max_ms), "5m", POS,
	  "longest retry delay" },
	{ "timeout", NULL, OPT_DURATION, OFF(timeout_ms), "10s", POS,
	  "deadline of every call to the CSI driver" },
	{ "worker-threads", NULL, OPT_UINT, OFF(worker_threads), "100", 1, 10000,
	  "concurrent provisioning and deletion workers, each" },
	{ "cloning-protection-threads", NULL, OPT_UINT, OFF(cloning_protection_threads), "1", 0, 10000,
	  "workers that remove the clone-source protection finalizer" },
	{ "snapshot-orphan-sweep-interval", NULL, OPT_DURATION, OFF(snapshot_orphan_sweep_ms), "5m",
	  NONNEG, "how often to look for orphaned snapshot source-protection finalizers; 0 = never" },
	{ "extra-create-metadata", NULL, OPT_BOOL, OFF(extra_create_metadata), "false", NOLIMIT,
	  "pass the claim name and namespace and the PV name to CreateVolume as parameters" },
	{ "controller-publish-readonly", NULL, OPT_BOOL, OFF(controller_publish_readonly), "false",
	  NOLIMIT, "mark a PV readOnly when its only access mode is ReadOnlyMany" },
	{ "prevent-volume-mode-conversion", NULL, OPT_BOOL, OFF(prevent_volume_mode_conversion), "true",
	  NOLIMIT, "refuse to restore a snapshot into a claim of another volume mode" },
	{ "strict-topology", NULL, OPT_BOOL, OFF(strict_topology), "false", NOLIMIT,
	  "with WaitForFirstConsumer, allow only the selected node's topology" },
	{ "immediate-topology", NULL, OPT_BOOL, OFF(immediate_topology), "true", NOLIMIT,
	  "with Immediate binding, send every node's topology as requisite (false: none)" },
	{ "volume-accounting", NULL, OPT_BOOL, OFF(volume_accounting), "true", NOLIMIT,
	  "record every CreateVolume in an intent journal first, so no volume can leak; "
	  "false behaves as upstream" },
	{ "feature-gates", NULL, OPT_GATES, OFF(gates), NULL, NOLIMIT,
	  "Name=true|false,... (see the list below)" },
	/* capacity tracking (src/capacity) */
	{ "enable-capacity", NULL, OPT_BOOL, OFF(enable_capacity), "false", NOLIMIT,
	  "publish CSIStorageCapacity objects (needs $NAMESPACE, and $POD_NAME for an owner)" },
	{ "capacity-for-immediate-binding", NULL, OPT_BOOL, OFF(capacity_for_immediate_binding),
	  "false", NOLIMIT, "capacity also for classes with Immediate binding" },
	{ "capacity-poll-interval", NULL, OPT_DURATION, OFF(capacity_poll_ms), "1m", POS,
	  "how often to ask the driver for capacity" },
	{ "capacity-ownerref-level", NULL, OPT_INT, OFF(capacity_ownerref_level), "1", -1, 100,
	  "owner of CSIStorageCapacity objects: -1 none, 0 the pod, 1 its StatefulSet/DaemonSet, ..." },
	{ "capacity-threads", NULL, OPT_UINT, OFF(capacity_threads), "1", 0, 10000,
	  "workers that update CSIStorageCapacity objects" },
	{ "kube-api-capacity-qps", NULL, OPT_DOUBLE, OFF(kube_api_capacity_qps), "1", NOLIMIT,
	  "requests per second for capacity updates" },
	{ "kube-api-capacity-burst", NULL, OPT_INT, OFF(kube_api_capacity_burst), "5", 1, 1000000,
	  "burst of requests for capacity updates" },
	/* node deployment (NODE_NAME from the environment, read in main.c) */
	{ "node-deployment", NULL, OPT_BOOL, OFF(node_deployment), "false", NOLIMIT,
	  "run beside the CSI driver on each node, for node-local volumes (needs NODE_NAME)" },
	{ "node-deployment-immediate-binding", NULL, OPT_BOOL, OFF(node_deployment_immediate_binding),
	  "true", NOLIMIT, "with --node-deployment, also take claims with Immediate binding" },
	{ "node-deployment-base-delay", NULL, OPT_DURATION, OFF(node_deployment_base_delay_ms), "20s",
	  NONNEG, "with --node-deployment, first delay before claiming an Immediate claim" },
	{ "node-deployment-max-delay", NULL, OPT_DURATION, OFF(node_deployment_max_delay_ms), "60s",
	  NONNEG, "with --node-deployment, longest such delay" },
	/* leader election */
	{ "leader-election", NULL, OPT_BOOL, OFF(leader_election), "false", NOLIMIT,
	  "run several replicas: only the holder of a Lease provisions" },
	{ "leader-election-namespace", NULL, OPT_STRING, OFF(leader_election_namespace), NULL, NOLIMIT,
	  "namespace of the Lease (default: $POD_NAMESPACE, else the service account's, else default)" },
	{ "leader-election-labels", NULL, OPT_LABELS, OFF(leader_election_labels), NULL, NOLIMIT,
	  "labels the leader puts on the Lease: key:value,key:value" },
	{ "leader-election-lease-duration", NULL, OPT_DURATION, OFF(le_lease_duration_ms), "15s", POS,
	  "how long a standby waits after the last renewal before taking over" },
	{ "leader-election-renew-deadline", NULL, OPT_DURATION, OFF(le_renew_deadline_ms), "10s", POS,
	  "how long the leader keeps trying to renew before it gives up" },
	{ "leader-election-retry-period", NULL, OPT_DURATION, OFF(le_retry_period_ms), "5s", POS,
	  "interval between attempts to take or renew the Lease" },
	/* HTTP */
	{ "http-endpoint", NULL, OPT_STRING, OFF(http_endpoint), NULL, NOLIMIT,
	  "serve metrics and health checks on host:port (\":8080\" = all interfaces)" },
	{ "metrics-address", NULL, OPT_STRING, OFF(metrics_address), NULL, NOLIMIT,
	  "(deprecated) serve metrics only on host:port; not together with --http-endpoint" },
	{ "metrics-path", NULL, OPT_STRING, OFF(metrics_path), "/metrics", NOLIMIT,
	  "path of the Prometheus metrics" },
	{ "enable-pprof", NULL, OPT_BOOL, OFF(enable_pprof), "false", NOLIMIT,
	  "accepted for compatibility: there is no Go profiler here (use perf; see README)" },
	/* logging */
	{ "v", "VERBOSE", OPT_LEVEL, OFF(verbosity), "0", 0, INT32_MAX,
	  "log verbosity (5 is the most detailed level we use)" },
	{ "vmodule", NULL, OPT_STRING, OFF(vmodule), NULL, NOLIMIT,
	  "pattern=N,...: verbosity per source file (pattern without .c; text format only)" },
	{ "logging-format", NULL, OPT_STRING, OFF(logging_format), "text", NOLIMIT,
	  "text (klog lines) or json (one JSON object a line)" },
	{ "log-flush-frequency", NULL, OPT_DURATION, OFF(log_flush_ms), "5s", POS,
	  "longest time a buffered log line waits before it is written" },
	{ "log-text-split-stream", NULL, OPT_BOOL, OFF(log_text_split_stream), "false", NOLIMIT,
	  "text format: info lines to stdout, warnings and errors to stderr" },
	{ "log-text-info-buffer-size", NULL, OPT_QUANTITY, OFF(log_text_info_buffer), "0", 0,
	  (int64_t)2 << 30, "text format with split streams: buffer this many bytes of info lines" },
	{ "log-json-split-stream", NULL, OPT_BOOL, OFF(log_json_split_stream), "false", NOLIMIT,
	  "json format: info lines to stdout, errors to stderr" },
	{ "log-json-info-buffer-size", NULL, OPT_QUANTITY, OFF(log_json_info_buffer), "0", 0,
	  (int64_t)2 << 30, "json format with split streams: buffer this many bytes of info lines" },
	/* Go runtime */
	{ "automaxprocs", NULL, OPT_BOOL, OFF(automaxprocs), "false", NOLIMIT,
	  "accepted for compatibility: tunes the Go runtime, which this program has not; no effect" },
	/* the process */
	{ "help", NULL, OPT_BOOL, OFF(show_help), "false", NOLIMIT, "print this help and exit" },
	{ "version", NULL, OPT_BOOL, OFF(show_version), "false", NOLIMIT,
	  "print the version and exit" },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

struct parse_ctx {
	struct config *c;
	struct gates_input gates;
};

static void free_list(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

static size_t list_len(char **list)
{
	size_t n = 0;

	while (list && list[n])
		n++;
	return n;
}

static char **list_push(char **list, const char *s, size_t len)
{
	size_t n = list_len(list);

	list = xrealloc(list, (n + 2) * sizeof(*list));
	list[n] = xstrndup(s, len);
	list[n + 1] = NULL;
	return list;
}

static void add_notice(struct config *c, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	c->notices = list_push(c->notices, msg, strlen(msg));
	free(msg);
}

static void gate_note(void *ctx, const char *msg)
{
	add_notice(ctx, "%s", msg);
}

/* Split "a, b,,c" into {"a","b","c",NULL}; an all-empty list gives NULL. */
static char **split_list(const char *s)
{
	char **list = NULL;

	while (*s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *a = s, *b = s + len;

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a)
			list = list_push(list, a, b - a);
		s += len;
		if (*s == ',')
			s++;
	}
	return list;
}

/* A label name part or value: up to 63 of [A-Za-z0-9_.-], alphanumeric at both ends. */
static bool label_part(const char *s, size_t n)
{
	if (n > 63 || (n && (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

/* Kubernetes label syntax: [dns-subdomain/]name=value, so the API server will not refuse the Lease. */
static bool label_ok(const char *k, size_t klen, const char *v, size_t vlen)
{
	const char *slash = memchr(k, '/', klen);
	const char *name = slash ? slash + 1 : k;
	size_t nlen = k + klen - name;

	if (slash) {
		size_t plen = slash - k;

		if (!plen || plen > 253 || strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789-.") < plen ||
		    !isalnum((unsigned char)k[0]) || !isalnum((unsigned char)k[plen - 1]))
			return false;
	}
	return nlen && label_part(name, nlen) && label_part(v, vlen);
}

/* "k:v,k2:v2" appended as k, v, k2, v2 (a later key replaces an earlier one's value). */
static int add_labels(char ***field, const char *val, const char *origin, struct err *e)
{
	const char *s = val;

	for (;;) {
		const char *end = strchr(s, ','), *colon;
		size_t len = end ? (size_t)(end - s) : strlen(s), klen, n;
		char **list = *field;
		bool replaced = false;

		colon = memchr(s, ':', len);
		if (!colon || colon == s || memchr(colon + 1, ':', s + len - colon - 1))
			return err_set(e, ERR_INVALID, "invalid value \"%s\" for %s: malformed item \"%.*s\" "
				       "(want key:value)", val, origin, (int)len, s);
		klen = colon - s;
		if (!label_ok(s, klen, colon + 1, s + len - colon - 1))
			return err_set(e, ERR_INVALID, "invalid value \"%s\" for %s: \"%.*s\" is not a valid "
				       "Kubernetes label (key: [prefix/]name, name and value up to 63 of "
				       "A-Z a-z 0-9 - _ . starting and ending alphanumeric)", val, origin,
				       (int)len, s);
		n = list_len(list);
		for (size_t i = 0; i + 1 < n && !replaced; i += 2) {
			if (strlen(list[i]) == klen && !strncmp(list[i], s, klen)) {
				free(list[i + 1]);
				list[i + 1] = xstrndup(colon + 1, s + len - colon - 1);
				replaced = true;
			}
		}
		if (!replaced) {
			list = list_push(list, s, klen);
			*field = list_push(list, colon + 1, s + len - colon - 1);
		}
		if (!end)
			return 0;
		s = end + 1;
	}
}

static int check_range(const struct opt *o, int64_t i, const char *val, const char *origin,
		       struct err *e)
{
	if (i >= o->min && i <= o->max)
		return 0;
	if (o->type == OPT_DURATION)
		return err_set(e, ERR_INVALID, "invalid value \"%s\" for %s: must be %s", val, origin,
			       o->min > 0 ? "positive" : "zero or positive");
	if (o->max == INT64_MAX)
		return err_set(e, ERR_INVALID, "invalid value \"%s\" for %s: must be at least %" PRId64,
			       val, origin, o->min);
	return err_set(e, ERR_INVALID, "invalid value \"%s\" for %s: must be between %" PRId64 " and %" PRId64,
		       val, origin, o->min, o->max);
}

/* Apply one value; `origin` names where it came from for the error message. */
static int set_value(struct parse_ctx *ctx, const struct opt *o, const char *val,
		     const char *origin, struct err *e)
{
	int rc;

	void *field = (char *)ctx->c + o->offset;
	struct err qe = ERR_INIT;
	int64_t i;
	double d;

	switch (o->type) {
	case OPT_STRING:
		free(*(char **)field);
		*(char **)field = xstrdup(val);
		return 0;
	case OPT_LIST:
		free_list(*(char ***)field);
		*(char ***)field = split_list(val);
		return 0;
	case OPT_LABELS:
		return add_labels(field, val, origin, e);
	case OPT_GATES:
		if (gates_parse(&ctx->gates, val, e))
			return err_prefix(e, "invalid value \"%s\" for %s", val, origin);
		return 0;
	case OPT_BOOL:
		if (goparse_bool(val, field))
			return err_set(e, ERR_INVALID, "invalid value \"%s\" for %s: want true or false",
				       val, origin);
		return 0;
	case OPT_INT:
	case OPT_UINT:
		if (o->type == OPT_INT ? goparse_int(val, &i) : goparse_uint(val, &i))
			return err_set(e, ERR_INVALID, "invalid value \"%s\" for %s: not %s integer", val,
				       origin, o->type == OPT_INT ? "an" : "a non-negative");
		break;
	case OPT_LEVEL:
		/* klog's own rule: decimal digits only */
		if (!*val || strspn(val, "0123456789") != strlen(val) || goparse_uint(val, &i))
			return err_set(e, ERR_INVALID, "invalid value \"%s\" for %s: not a log level (0, 1, 2, ...)",
				       val, origin);
		break;
	case OPT_DURATION:
		if (goparse_duration_ms(val, &i))
			return err_set(e, ERR_INVALID, "invalid value \"%s\" for %s: not a duration "
				       "(examples: 30s, 5m, 1h30m, 500ms; a bare number is seconds)",
				       val, origin);
		break;
	case OPT_QUANTITY:
		if (kube_quantity_parse(val, &i, &qe)) {
			err_release(&qe);
			return err_set(e, ERR_INVALID, "invalid value \"%s\" for %s: not a size (examples: 512, "
				       "64Ki, 1M)", val, origin);
		}
		break;
	case OPT_DOUBLE:
		if (goparse_float(val, &d) || d <= 0)
			return err_set(e, ERR_INVALID, "invalid value \"%s\" for %s: want a positive number",
				       val, origin);
		*(double *)field = d;
		return 0;
	default:
		return err_set(e, ERR_INVALID, "option %s has an unknown type", origin);
	}
	if ((rc = check_range(o, i, val, origin, e)))
		return rc;
	*(int64_t *)field = i;
	return 0;
}

static const struct opt *find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opts[i].flag) == len && !strncmp(opts[i].flag, name, len))
			return &opts[i];
	return NULL;
}

/* One command-line argument at argv[*i]; may consume the next one as its value. */
static int parse_arg(struct parse_ctx *ctx, int argc, char *const argv[], int *i, struct err *e)
{
	const char *arg = argv[*i], *name, *eq, *val, *glued = NULL;
	char origin[128];
	const struct opt *o;
	size_t len;

	name = arg + 1 + (arg[1] == '-');
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	if (len == 1 && *name == 'h') {
		ctx->c->show_help = true;
		return 0;
	}
	o = find_opt(name, len);
	/* "-v5": a value glued to the one-letter flag, as pflag's shorthand allows */
	if (!o && arg[1] != '-' && name[0] == 'v' && !eq && len > 1 &&
	    strspn(name + 1, "0123456789") == len - 1) {
		o = find_opt("v", 1);
		glued = name + 1;
	}
	if (!o)
		return err_set(e, ERR_INVALID, "unknown flag \"%.*s\" (see --help)", (int)(name - arg + len), arg);
	if (glued)
		val = glued;
	else if (eq)
		val = eq + 1;
	else if (o->type == OPT_BOOL)
		val = "true";
	else if (*i + 1 < argc)
		val = argv[++*i];
	else
		return err_set(e, ERR_INVALID, "flag --%s needs a value", o->flag);
	snprintf(origin, sizeof(origin), "flag --%s", o->flag);
	/* without either, the client follows the server's flow control (kube/adaptive.h) */
	if (o->offset == OFF(kube_api_qps) || o->offset == OFF(kube_api_burst))
		ctx->c->kube_api_rate_given = true;
	return set_value(ctx, o, val, origin, e);
}

static int fill(struct parse_ctx *ctx, int argc, char *const argv[], config_getenv_fn getenv_fn,
		struct err *e)
{
	char origin[128];
	int rc;

	for (size_t i = 0; i < NOPTS; i++) {
		if (!opts[i].def)
			continue;
		snprintf(origin, sizeof(origin), "the default of --%s", opts[i].flag);
		if ((rc = set_value(ctx, &opts[i], opts[i].def, origin, e)))
			return rc;
	}
	for (size_t i = 0; i < NOPTS && getenv_fn; i++) {
		const char *v = opts[i].env ? getenv_fn(opts[i].env) : NULL;

		if (!v || !*v)
			continue;
		snprintf(origin, sizeof(origin), "environment variable %s", opts[i].env);
		if ((rc = set_value(ctx, &opts[i], v, origin, e)))
			return rc;
	}
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--"))
			break;	/* what follows is not flags; upstream ignores it too */
		if ((arg[0] != '-' || !arg[1]) && i > 1 && argv[i - 1][0] == '-' && !strchr(argv[i - 1], '='))
			return err_set(e, ERR_INVALID, "unexpected argument \"%s\" after %s: a boolean flag takes "
				       "its value after =, as in %s=%s", arg, argv[i - 1], argv[i - 1], arg);
		if (arg[0] != '-' || !arg[1])
			return err_set(e, ERR_INVALID, "unexpected argument \"%s\": not a flag", arg);
		if ((rc = parse_arg(ctx, argc, argv, &i, e)))
			return rc;
	}
	return 0;
}

/* Rules across flags. */
static int validate(struct config *c, struct err *e)
{
	struct err le = ERR_INIT;

	if (c->node_deployment && c->leader_election)
		return err_set(e, ERR_INVALID, "--node-deployment and --leader-election do not go together: "
			       "every node's instance must run, and one lease would let only one node "
			       "provision");
	if (c->retry_start_ms > c->retry_max_ms)
		return err_set(e, ERR_INVALID, "--retry-interval-start (%" PRId64 "ms) is longer than "
			       "--retry-interval-max (%" PRId64 "ms)", c->retry_start_ms, c->retry_max_ms);
	if (c->le_renew_deadline_ms >= c->le_lease_duration_ms)
		return err_set(e, ERR_INVALID, "--leader-election-renew-deadline must be shorter than "
			       "--leader-election-lease-duration");
	if (c->le_retry_period_ms >= c->le_renew_deadline_ms)
		return err_set(e, ERR_INVALID, "--leader-election-retry-period must be shorter than "
			       "--leader-election-renew-deadline");
	if (c->volume_name_uuid_length == 0)
		return err_set(e, ERR_INVALID, "invalid value \"0\" for flag --volume-name-uuid-length: "
			       "must be -1 (whole UID) or 1-32");
	if (!c->volume_name_prefix || !*c->volume_name_prefix)
		return err_set(e, ERR_INVALID, "--volume-name-prefix must not be empty");
	if (!c->csi_address || !*c->csi_address)
		return err_set(e, ERR_INVALID, "--csi-address must not be empty");
	if (c->metrics_path && c->metrics_path[0] != '/')
		return err_set(e, ERR_INVALID, "invalid value \"%s\" for flag --metrics-path: must start with /",
			       c->metrics_path);
	if (c->metrics_address && *c->metrics_address && c->http_endpoint && *c->http_endpoint)
		return err_set(e, ERR_INVALID, "only one of --metrics-address and --http-endpoint can be set");
	if (strcmp(c->logging_format, "text") && strcmp(c->logging_format, "json"))
		return err_set(e, ERR_INVALID, "invalid value \"%s\" for flag --logging-format: want text or json",
			       c->logging_format);
	if (c->vmodule && *c->vmodule) {
		if (strcmp(c->logging_format, "text"))
			return err_set(e, ERR_INVALID, "--vmodule is only supported with --logging-format=text");
		if (log_vmodule_check(c->vmodule, &le)) {
			int rc = err_set(e, ERR_INVALID, "invalid value \"%s\" for flag --vmodule: %s",
					 c->vmodule, err_msg(&le));

			err_release(&le);
			return rc;
		}
	}
	if (c->node_deployment_base_delay_ms > c->node_deployment_max_delay_ms)
		return err_set(e, ERR_INVALID, "--node-deployment-base-delay must not be longer than "
			       "--node-deployment-max-delay");
	if (c->provisioner && !*c->provisioner) {
		free(c->provisioner);
		c->provisioner = NULL;
	}
	if (c->enable_pprof)
		add_notice(c, "--enable-pprof: there is no Go profiler in this program, so nothing is "
			   "served at /debug/pprof/; profile it with perf (see README)");
	if (c->automaxprocs)
		add_notice(c, "--automaxprocs has no effect: it tunes the Go runtime, which this "
			   "program does not have");
	if (c->metrics_address && *c->metrics_address)
		add_notice(c, "--metrics-address is deprecated: use --http-endpoint (it also serves "
			   "the health checks)");
	return 0;
}

int config_parse(struct config *c, int argc, char *const argv[],
		 config_getenv_fn getenv_fn, struct err *e)
{
	struct parse_ctx ctx = { c, { NULL, -1, -1 } };
	int rc;

	memset(c, 0, sizeof(*c));
	gates_input_init(&ctx.gates);
	rc = fill(&ctx, argc, argv, getenv_fn, e);
	if (!rc)
		gates_finish(&ctx.gates, &c->gates, gate_note, c);
	gates_input_release(&ctx.gates);
	if (rc || c->show_help || c->show_version)
		return rc;
	return validate(c, e);
}

bool config_class_allowed(const struct config *c, const char *class_name)
{
	if (!c->class_whitelist)
		return true;
	for (char **p = c->class_whitelist; *p; p++)
		if (class_name && !strcmp(*p, class_name))
			return true;
	return false;
}

void config_usage(FILE *out, const char *argv0)
{
	char *gates = gates_describe();

	fprintf(out, "Usage: %s [flags]\n\n"
		"Provisions PersistentVolumes for claims through a CSI driver.\n"
		"Flags win over environment variables. Booleans: true/false (also 1/0, t/f, TRUE...);\n"
		"a boolean flag alone means true. Durations: 30s, 5m, 1h30m, 500ms (a bare number is\n"
		"seconds).\n\n", argv0);
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];

		fprintf(out, "  --%s", o->flag);
		if (o->type != OPT_BOOL)
			fprintf(out, "=VALUE");
		if (o->env)
			fprintf(out, "  (env %s)", o->env);
		fprintf(out, "\n      %s", o->help);
		if (o->def && o->type != OPT_BOOL)
			fprintf(out, " [default %s]", o->def);
		else if (o->type == OPT_BOOL && !strcmp(o->def, "true"))
			fprintf(out, " [default true]");
		fputc('\n', out);
	}
	fprintf(out, "\nFeature gates (--feature-gates):\n%s\n", gates);
	free(gates);
}

void config_release(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NOPTS; i++) {
		void *field = (char *)c + opts[i].offset;

		if (opts[i].type == OPT_STRING)
			free(*(char **)field);
		else if (opts[i].type == OPT_LIST || opts[i].type == OPT_LABELS)
			free_list(*(char ***)field);
	}
	free_list(c->notices);
	memset(c, 0, sizeof(*c));
}
