// SPDX-License-Identifier: Apache-2.0
/*
 * cli.c - the read-only commands (see cli.h): their arguments, the daemon's
 * configuration read with the daemon's own parser, the API client and the
 * driver connection set up as the daemon sets them up, then the command and
 * its output (text or JSON) on stdout. Logs go to stderr (info lines only
 * with --v above 0), so stdout carries the report alone.
 */
#include "cli/cli.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "cli/cli_int.h"
#include "cli/setup.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/path.h"

#define CLI_KUBE_TIMEOUT_MS 30000

static const char usage_text[] =
	"usage: csi-provisioner explain NAMESPACE/CLAIM [-o text|json] [flags]\n"
	"       csi-provisioner preflight [-o text|json] [flags]\n"
	"\n"
	"Read-only: nothing is written to the cluster or asked of the driver but\n"
	"its identity and capabilities. The flags are the daemon's (see\n"
	"csi-provisioner --help): pass the ones the daemon runs with, so the\n"
	"answer is the daemon's. Exit: 0 nothing blocks, 1 something blocks,\n"
	"2 usage errors.\n";

bool cli_is_command(int argc, char *const argv[])
{
	return argc > 1 && (!strcmp(argv[1], "explain") || !strcmp(argv[1], "preflight"));
}

void cli_args_release(struct cli_args *a)
{
	if (a) {
		free(a->rest);
		memset(a, 0, sizeof(*a));
	}
}

/*
 * -o/--output in its forms: "-o json", "-o=json", "--output json", "--output=json".
 * 0 with *value set when argv[*i] is one (NULL when not), or the code when
 * its value is missing.
 */
static int output_flag(int argc, char *const argv[], int *i, const char **value, struct err *e)
{
	const char *a = argv[*i], *eq;
	size_t n;

	*value = NULL;
	if (a[0] != '-')
		return 0;
	a += a[1] == '-' ? 2 : 1;
	eq = strchr(a, '=');
	n = eq ? (size_t)(eq - a) : strlen(a);
	if (!((n == 1 && a[0] == 'o') || (n == 6 && !strncmp(a, "output", 6))))
		return 0;
	if (eq) {
		*value = eq + 1;
	} else if (*i + 1 < argc) {
		*value = argv[++*i];
	} else {
		return err_set(e, ERR_INVALID, "%s needs a value: text or json", argv[*i]);
	}
	return 0;
}

int cli_parse(int argc, char *const argv[], struct cli_args *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	if (!cli_is_command(argc, argv))
		return err_set(e, ERR_INVALID, "no command: expected explain or preflight");
	out->command = !strcmp(argv[1], "explain") ? CLI_EXPLAIN : CLI_PREFLIGHT;
	out->rest = xcalloc((size_t)argc + 1, sizeof(*out->rest));
	out->rest[out->nrest++] = argv[0];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		int r;

		if (!strcmp(a, "--")) {
			while (i < argc)
				out->rest[out->nrest++] = argv[i++];
			break;
		}
		if ((r = output_flag(argc, argv, &i, &v, e)))
			return r;
		if (v) {
			if (strcmp(v, "json") && strcmp(v, "text"))
				return err_set(e, ERR_INVALID, "-o \"%s\": the output is text or json", v);
			out->json = !strcmp(v, "json");
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "-help")) {
			out->help = true;
			continue;
		}
		if (out->command == CLI_EXPLAIN && !out->target) {
			if (a[0] == '-' || !*a)
				return err_set(e, ERR_INVALID, "explain: NAMESPACE/CLAIM comes first, before the "
					       "flags (got \"%s\")", a);
			out->target = a;
			continue;
		}
		out->rest[out->nrest++] = argv[i];
	}
	if (out->command == CLI_EXPLAIN && !out->target && !out->help)
		return err_set(e, ERR_INVALID, "explain: which claim? usage: csi-provisioner explain "
			       "NAMESPACE/CLAIM");
	return 0;
}

int cli_split_target(const char *target, char **ns, char **name, struct err *e)
{
	const char *slash = strchr(target, '/');

	*ns = *name = NULL;
	if (!slash || slash == target || !slash[1])
		return err_set(e, ERR_INVALID, "\"%s\": expected NAMESPACE/CLAIM", target);
	*ns = xstrndup(target, (size_t)(slash - target));
	*name = xstrdup(slash + 1);
	if (kube_name_check(KUBE_RES_PVC, *ns, *name, e)) {
		free(*ns);
		free(*name);
		*ns = *name = NULL;
		return err_prefix(e, "\"%s\"", target);
	}
	return 0;
}

static const char *env_lookup(const char *name)
{
	return getenv(name);
}

/* Logs to stderr; info lines only when asked for with --v. */
static void setup_cli_logging(const struct config *cfg, int *null_fd)
{
	struct log_opts lo = { !strcmp(cfg->logging_format, "json") ? LOG_FORMAT_JSON :
			       LOG_FORMAT_TEXT, false, 0, cfg->log_flush_ms, STDERR_FILENO,
			       STDERR_FILENO };

	*null_fd = -1;
	if (cfg->verbosity <= 0 && (*null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
		lo.split_stream = true;
		lo.out_fd = *null_fd;
	}
	log_configure(&lo);
	log_set_level((int)cfg->verbosity);
}

static void connect_kube(struct cli_ctx *x)
{
	struct err e = ERR_INIT;
	struct kube_client_opts ko;
	char *ua = xasprintf("csi-provisioner-%s/%s",
			     x->args->command == CLI_EXPLAIN ? "explain" : "preflight",
			     CSI_PROVISIONER_VERSION);

	memset(&ko, 0, sizeof(ko));
	ko.qps = x->cfg.kube_api_qps;
	ko.burst = (int)x->cfg.kube_api_burst;
	ko.timeout_ms = CLI_KUBE_TIMEOUT_MS;
	ko.user_agent = ua;
	if (setup_kube_config(&x->cfg, &x->kcfg, &e) || kube_client_new(&x->kube, x->kcfg, &ko, &e)) {
		x->kube_error = xasprintf("cannot set up the Kubernetes client: %s", err_msg(&e));
		kube_client_free(x->kube);
		x->kube = NULL;
	}
	err_release(&e);
	free(ua);
}

/* The driver: one probe within --timeout, then its identity and capabilities. */
static void connect_csi(struct cli_ctx *x)
{
	struct err e = ERR_INIT;

	if (csi_client_new(&x->csi, x->cfg.csi_address, x->cfg.timeout_ms, &e)) {
		x->csi_error = xasprintf("cannot use --csi-address \"%s\": %s", x->cfg.csi_address,
					 err_msg(&e));
	} else if (csi_wait_ready(x->csi, x->cfg.timeout_ms, &e)) {
		x->csi_error = xasprintf("the CSI driver at %s is not reachable within --timeout "
					 "%lld ms: %s", x->cfg.csi_address,
					 (long long)x->cfg.timeout_ms, err_msg(&e));
	} else if (csi_get_plugin_info(x->csi, &x->driver, &x->vendor_version, &e)) {
		x->csi_error = xasprintf("GetPluginInfo failed: %s", err_msg(&e));
	} else if (csi_get_plugin_capabilities(x->csi, &x->pcaps, &e)) {
		x->csi_error = xasprintf("GetPluginCapabilities failed: %s", err_msg(&e));
	} else if (csi_controller_get_capabilities(x->csi, &x->ccaps, &e)) {
		x->csi_error = xasprintf("ControllerGetCapabilities failed: %s", err_msg(&e));
	} else {
		x->csi_ok = true;
	}
	err_release(&e);
}

static void ctx_release(struct cli_ctx *x)
{
	kube_client_free(x->kube);
	kube_config_free(x->kcfg);
	csi_client_free(x->csi);
	free(x->kube_error);
	free(x->csi_error);
	free(x->driver);
	free(x->vendor_version);
	free(x->namespace);
	config_release(&x->cfg);
}

int cli_main(int argc, char **argv)
{
	struct cli_args a;
	struct cli_ctx x;
	struct err e = ERR_INIT;
	json_t *report = NULL;
	int status = CLI_EXIT_USAGE, null_fd = -1;

	memset(&x, 0, sizeof(x));
	if (cli_parse(argc, argv, &a, &e)) {
		fprintf(stderr, "csi-provisioner: %s\n%s", err_msg(&e), usage_text);
		goto out_args;
	}
	if (a.help) {
		fputs(usage_text, stdout);
		status = CLI_EXIT_OK;
		goto out_args;
	}
	x.args = &a;
	if (config_parse(&x.cfg, a.nrest, a.rest, env_lookup, &e)) {
		fprintf(stderr, "csi-provisioner %s: %s\n", argv[1], err_msg(&e));
		goto out;
	}
	if (a.target) {
		char *ns, *name;

		if (cli_split_target(a.target, &ns, &name, &e)) {
			fprintf(stderr, "csi-provisioner explain: %s\n", err_msg(&e));
			goto out;
		}
		free(ns);
		free(name);
	}
	setup_cli_logging(&x.cfg, &null_fd);
	x.namespace = setup_namespace(&x.cfg);
	connect_kube(&x);
	connect_csi(&x);
	status = a.command == CLI_EXPLAIN ? explain_run(&x, &report) : preflight_run(&x, &report);
	if (report && a.json)
		out_json(stdout, report);
	else if (report && a.command == CLI_EXPLAIN)
		explain_print(stdout, report);
	else if (report)
		preflight_print(stdout, report);
	fflush(stdout);
out:
	json_decref(report);
	ctx_release(&x);
	log_flush();
	if (null_fd >= 0)
		close(null_fd);
out_args:
	cli_args_release(&a);
	err_release(&e);
	return status;
}
