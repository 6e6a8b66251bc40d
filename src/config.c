// SPDX-License-Identifier: Apache-2.0
/*
 * config.c - flags > environment > defaults, validated (see config.h).
 *
 * Flags are written Go-style, as operators of the upstream sidecar know
 * them: "--name=value", "--name value", a single dash works too, and a
 * boolean flag alone means true.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/xalloc.h"

enum opt_type { OPT_STRING, OPT_INT, OPT_DURATION, OPT_BOOL, OPT_LIST, OPT_DOUBLE };

struct opt {
	const char *flag;
	const char *env;	/* NULL: no environment variable */
	enum opt_type type;
	size_t offset;
	const char *def;	/* default, parsed like any value; NULL = unset */
	int64_t min, max;	/* for OPT_INT / OPT_DURATION (ms) */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)

static const struct opt opts[] = {
	{ "csi-address", "CSI_ENDPOINT", OPT_STRING, OFF(csi_address), "/run/csi/socket", 0, 0,
	  "CSI driver endpoint: unix:///path, unix:/path or /path" },
	{ "provisioner", "PROVISIONER_NAME", OPT_STRING, OFF(provisioner), NULL, 0, 0,
	  "provisioner name matched against StorageClass.provisioner (default: the driver's name)" },
	{ "kubeconfig", NULL, OPT_STRING, OFF(kubeconfig), NULL, 0, 0,
	  "kubeconfig file (default: $KUBECONFIG, else in-cluster configuration)" },
	{ "volume-name-prefix", NULL, OPT_STRING, OFF(volume_name_prefix), "pvc", 0, 0,
	  "prefix of the names of provisioned volumes and PersistentVolumes" },
	{ "volume-name-uuid-length", NULL, OPT_INT, OFF(volume_name_uuid_length), "-1", -1, 32,
	  "characters of the claim UID (dashes removed) in volume names; -1 = the whole UID" },
	{ "retry-interval-start", "RETRY_INTERVAL", OPT_DURATION, OFF(retry_start_ms), "1s", 1, INT64_MAX,
	  "first retry delay after a failure; doubles up to --retry-interval-max (bare number = seconds)" },
	{ "retry-interval-max", NULL, OPT_DURATION, OFF(retry_max_ms), "300s", 1, INT64_MAX,
	  "longest retry delay" },
	{ "timeout", NULL, OPT_DURATION, OFF(timeout_ms), "10s", 1, INT64_MAX,
	  "deadline of every call to the CSI driver" },
	{ "storageclass-whitelist", "STORAGECLASS_WHITELIST", OPT_LIST, OFF(class_whitelist), NULL, 0, 0,
	  "comma-separated StorageClass names to serve (default: all)" },
	{ "v", "VERBOSE", OPT_INT, OFF(verbosity), "0", 0, 10,
	  "log verbosity, 0-5 (5 is the most detailed)" },
	{ "worker-threads", NULL, OPT_INT, OFF(worker_threads), "100", 1, 10000,
	  "concurrent provisioning and deletion workers, each" },
	{ "kube-api-qps", NULL, OPT_DOUBLE, OFF(kube_api_qps), "5", 0, 0,
	  "client-side limit of requests per second to the API server" },
	{ "kube-api-burst", NULL, OPT_INT, OFF(kube_api_burst), "10", 1, 1000000,
	  "client-side burst of requests to the API server" },
	{ "default-fstype", NULL, OPT_STRING, OFF(default_fstype), NULL, 0, 0,
	  "filesystem type when the StorageClass names none (default: the driver decides)" },
	{ "extra-create-metadata", NULL, OPT_BOOL, OFF(extra_create_metadata), "false", 0, 0,
	  "pass the claim name and namespace and the PV name to CreateVolume as parameters" },
	{ "controller-publish-readonly", NULL, OPT_BOOL, OFF(controller_publish_readonly), "false", 0, 0,
	  "mark a PV readOnly when its only access mode is ReadOnlyMany" },
	{ "leader-election", NULL, OPT_BOOL, OFF(leader_election), "false", 0, 0,
	  "run several replicas: only the holder of a Lease provisions" },
	{ "leader-election-namespace", NULL, OPT_STRING, OFF(leader_election_namespace), NULL, 0, 0,
	  "namespace of the Lease (default: $POD_NAMESPACE, else the service account's, else default)" },
	{ "leader-election-lease-duration", NULL, OPT_DURATION, OFF(le_lease_duration_ms), "15s", 1,
	  INT64_MAX, "how long a standby waits after the last renewal before taking over" },
	{ "leader-election-renew-deadline", NULL, OPT_DURATION, OFF(le_renew_deadline_ms), "10s", 1,
	  INT64_MAX, "how long the leader keeps trying to renew before it gives up" },
	{ "leader-election-retry-period", NULL, OPT_DURATION, OFF(le_retry_period_ms), "5s", 1,
	  INT64_MAX, "interval between attempts to take or renew the Lease" },
	{ "http-endpoint", NULL, OPT_STRING, OFF(http_endpoint), NULL, 0, 0,
	  "serve metrics and health checks on host:port (\":8080\" = all interfaces)" },
	{ "metrics-path", NULL, OPT_STRING, OFF(metrics_path), "/metrics", 0, 0,
	  "path of the Prometheus metrics on --http-endpoint" },
	{ "volume-accounting", NULL, OPT_BOOL, OFF(volume_accounting), "true", 0, 0,
	  "mark each claim before CreateVolume so no volume can leak (2 more API writes a claim); "
	  "false behaves as upstream" },
	{ "strict-topology", NULL, OPT_BOOL, OFF(strict_topology), "false", 0, 0,
	  "with WaitForFirstConsumer, allow only the selected node's topology" },
	{ "immediate-topology", NULL, OPT_BOOL, OFF(immediate_topology), "true", 0, 0,
	  "with Immediate binding, send every node's topology as requisite (false: none)" },
	{ "help", NULL, OPT_BOOL, OFF(show_help), "false", 0, 0, "print this help and exit" },
	{ "version", NULL, OPT_BOOL, OFF(show_version), "false", 0, 0, "print the version and exit" },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static int parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return -1;
	*out = v;
	return 0;
}

static void free_list(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

/* Split "a, b,,c" into {"a","b","c",NULL}; an all-empty list gives NULL. */
static char **split_list(const char *s)
{
	char **list = NULL;
	size_t n = 0, alloc = 0;

	while (*s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *a = s, *b = s + len;

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a) {
			list = xgrow(list, n + 2, &alloc, sizeof(*list));
			list[n++] = xstrndup(a, b - a);
			list[n] = NULL;
		}
		s += len;
		if (*s == ',')
			s++;
	}
	return list;
}

/* Apply one value; `origin` names where it came from for the error message. */
static int set_value(struct config *c, const struct opt *o, const char *val,
		     const char *origin, struct err *e)
{
	void *field = (char *)c + o->offset;
	int64_t i;
	double d;
	char *end;

	switch (o->type) {
	case OPT_STRING:
		free(*(char **)field);
		*(char **)field = xstrdup(val);
		return 0;
	case OPT_LIST:
		free_list(*(char ***)field);
		*(char ***)field = split_list(val);
		return 0;
	case OPT_BOOL:
		if (!strcmp(val, "true") || !strcmp(val, "1"))
			*(bool *)field = true;
		else if (!strcmp(val, "false") || !strcmp(val, "0"))
			*(bool *)field = false;
		else
			return err_set(e, -1, "invalid value \"%s\" for %s: want true or false",
				       val, origin);
		return 0;
	case OPT_INT:
		if (parse_int(val, &i))
			return err_set(e, -1, "invalid value \"%s\" for %s: not an integer",
				       val, origin);
		if (i < o->min || i > o->max)
			return err_set(e, -1, "invalid value \"%s\" for %s: must be between %" PRId64
				       " and %" PRId64, val, origin, o->min, o->max);
		*(int64_t *)field = i;
		return 0;
	case OPT_DURATION:
		if (duration_parse_ms(val, &i))
			return err_set(e, -1, "invalid value \"%s\" for %s: not a duration "
				       "(examples: 30, 30s, 5m, 1h30m)", val, origin);
		if (i < o->min || i > o->max)
			return err_set(e, -1, "invalid value \"%s\" for %s: must be positive",
				       val, origin);
		*(int64_t *)field = i;
		return 0;
	case OPT_DOUBLE:
		errno = 0;
		d = strtod(val, &end);
		if (!*val || *end || errno || !isfinite(d) || d <= 0)
			return err_set(e, -1, "invalid value \"%s\" for %s: want a positive number",
				       val, origin);
		*(double *)field = d;
		return 0;
	}
	return err_set(e, -1, "option %s has an unknown type", origin);
}

static const struct opt *find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opts[i].flag) == len && !strncmp(opts[i].flag, name, len))
			return &opts[i];
	return NULL;
}

int config_parse(struct config *c, int argc, char *const argv[],
		 config_getenv_fn getenv_fn, struct err *e)
{
	char origin[128];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NOPTS; i++) {
		if (!opts[i].def)
			continue;
		snprintf(origin, sizeof(origin), "the default of --%s", opts[i].flag);
		if (set_value(c, &opts[i], opts[i].def, origin, e))
			return -1;
	}
	for (size_t i = 0; i < NOPTS && getenv_fn; i++) {
		const char *v = opts[i].env ? getenv_fn(opts[i].env) : NULL;

		if (!v || !*v)
			continue;
		snprintf(origin, sizeof(origin), "environment variable %s", opts[i].env);
		if (set_value(c, &opts[i], v, origin, e))
			return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *eq, *val;
		const struct opt *o;
		size_t len;

		if (arg[0] != '-' || !arg[1])
			return err_set(e, -1, "unexpected argument \"%s\" (flags start with --)", arg);
		name = arg + 1 + (arg[1] == '-');
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = find_opt(name, len);
		if (!o)
			return err_set(e, -1, "unknown flag \"%.*s\" (see --help)",
				       (int)(name - arg + len), arg);
		if (eq)
			val = eq + 1;
		else if (o->type == OPT_BOOL)
			val = "true";
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return err_set(e, -1, "flag --%s needs a value", o->flag);
		snprintf(origin, sizeof(origin), "flag --%s", o->flag);
		if (set_value(c, o, val, origin, e))
			return -1;
	}
	if (c->retry_start_ms > c->retry_max_ms)
		return err_set(e, -1, "--retry-interval-start (%" PRId64 "ms) is longer than "
			       "--retry-interval-max (%" PRId64 "ms)", c->retry_start_ms, c->retry_max_ms);
	if (c->le_renew_deadline_ms >= c->le_lease_duration_ms)
		return err_set(e, -1, "--leader-election-renew-deadline must be shorter than "
			       "--leader-election-lease-duration");
	if (c->le_retry_period_ms >= c->le_renew_deadline_ms)
		return err_set(e, -1, "--leader-election-retry-period must be shorter than "
			       "--leader-election-renew-deadline");
	if (c->volume_name_uuid_length == 0)
		return err_set(e, -1, "invalid value \"0\" for flag --volume-name-uuid-length: "
			       "must be -1 (whole UID) or 1-32");
	if (!c->volume_name_prefix || !*c->volume_name_prefix)
		return err_set(e, -1, "--volume-name-prefix must not be empty");
	if (!c->csi_address || !*c->csi_address)
		return err_set(e, -1, "--csi-address must not be empty");
	if (c->metrics_path && c->metrics_path[0] != '/')
		return err_set(e, -1, "invalid value \"%s\" for flag --metrics-path: must start with /",
			       c->metrics_path);
	if (c->provisioner && !*c->provisioner) {
		free(c->provisioner);
		c->provisioner = NULL;
	}
	return 0;
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
	fprintf(out, "Usage: %s [flags]\n\n"
		"Provisions PersistentVolumes for claims through a CSI driver.\n"
		"Flags win over environment variables; durations accept 30, 30s, 5m, 1h30m.\n\n",
		argv0);
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
		fputc('\n', out);
	}
}

void config_release(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NOPTS; i++) {
		void *field = (char *)c + opts[i].offset;

		if (opts[i].type == OPT_STRING)
			free(*(char **)field);
		else if (opts[i].type == OPT_LIST)
			free_list(*(char ***)field);
	}
	memset(c, 0, sizeof(*c));
}
