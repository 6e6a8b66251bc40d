/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec_cred.h - kubeconfig `exec` credential plugins
 * (client.authentication.k8s.io v1 and v1beta1), as client-go runs them.
 *
 * The plugin is run without a shell (posix_spawn of the command and its
 * args), with the kubeconfig's env added to ours and KUBERNETES_EXEC_INFO
 * (an ExecCredential with spec.interactive false, and spec.cluster when
 * provideClusterInfo is set). Its stdin is /dev/null: we never have a
 * terminal, so interactiveMode Always is refused when the kubeconfig is
 * loaded. Its stdout (at most KUBE_EXEC_OUT_MAX bytes) is an ExecCredential
 * whose status holds a bearer token or a client certificate and key, and
 * maybe an expirationTimestamp. Its stderr is kept (at most
 * KUBE_EXEC_ERR_MAX bytes) only to explain a failure, quoted safely; a run
 * that lasts over KUBE_EXEC_TIMEOUT_MS is killed. Tokens and keys are never
 * logged, and wiped when freed.
 *
 * struct kube_exec caches the credential until its expiry (none: for the
 * process's life) and runs the plugin again when it expired, or when the
 * API server refused the credential (401) that is still cached.
 *
 * DESIGN: one mutex per kube_exec guards the cache and is held across a
 * run, so concurrent callers wait for one run instead of starting many. It
 * is a leaf lock: nothing else is taken under it. Reference-counted, so
 * clients that share a connection share the credential.
 */
#ifndef KUBE_EXEC_CRED_H
#define KUBE_EXEC_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define KUBE_EXEC_V1 "client.authentication.k8s.io/v1"
#define KUBE_EXEC_V1BETA1 "client.authentication.k8s.io/v1beta1"
#define KUBE_EXEC_OUT_MAX ((size_t)1 << 20)
#define KUBE_EXEC_ERR_MAX ((size_t)8 << 10)
#define KUBE_EXEC_TIMEOUT_MS 60000

/* users[].user.exec of a kubeconfig. All strings heap-owned. */
struct kube_exec_config {
	char *api_version;	/* KUBE_EXEC_V1 or KUBE_EXEC_V1BETA1 */
	char *command;		/* absolute, or a name looked up in PATH */
	char **args;		/* n_args entries */
	size_t n_args;
	char **env;		/* "NAME=value", n_env entries */
	size_t n_env;
	char *install_hint;	/* shown when the command cannot be run; may be NULL */
	bool provide_cluster_info;
};

void kube_exec_config_free(struct kube_exec_config *x);	/* accepts NULL */
/* A deep copy; caller frees with kube_exec_config_free. */
struct kube_exec_config *kube_exec_config_dup(const struct kube_exec_config *x);

/* What spec.cluster of KUBERNETES_EXEC_INFO carries; borrowed. */
struct kube_exec_cluster {
	const char *server;
	const char *ca_data;	/* PEM bytes or NULL */
	size_t ca_len;
	bool insecure;
};

/* A credential. Heap-owned, wiped by kube_exec_cred_release. */
struct kube_exec_cred {
	char *token;			/* NULL when a certificate is used */
	char *cert_pem, *key_pem;	/* both or neither */
	size_t cert_len, key_len;
	int64_t expiry_us;		/* wall clock, µs since the epoch; 0: none */
};

void kube_exec_cred_release(struct kube_exec_cred *c);	/* accepts NULL */

/*
 * Parse a plugin's stdout. The apiVersion must be the configured one, kind
 * ExecCredential, status a token or a certificate/key pair. No secret is
 * ever quoted in a message. KUBE_ERR_INVALID (or KUBE_ERR_DECODE for what
 * is not JSON) naming the rule.
 */
int kube_exec_parse(const char *api_version, const char *out, size_t len,
		    struct kube_exec_cred *cred, struct err *e);

/*
 * Run the plugin once (see the top of this file). `cluster` may be NULL
 * unless x->provide_cluster_info. KUBE_ERR_UNAUTHORIZED with the reason
 * (cannot start, timed out, exited non-zero with its stderr, bad output).
 */
int kube_exec_run(const struct kube_exec_config *x, const struct kube_exec_cluster *cluster,
		  int64_t timeout_ms, struct kube_exec_cred *cred, struct err *e);

struct kube_exec;

/* A cached provider; copies x and cluster. Free with kube_exec_unref. */
struct kube_exec *kube_exec_new(const struct kube_exec_config *x,
				const struct kube_exec_cluster *cluster);
struct kube_exec *kube_exec_ref(struct kube_exec *p);
void kube_exec_unref(struct kube_exec *p);	/* accepts NULL */

/*
 * The current credential, copied into *out (caller releases), and its
 * generation in *gen (it grows with every run). Runs the plugin when
 * nothing is cached, the cached credential expired, or `refused_gen` is
 * the generation cached (the API server refused it: pass 0 otherwise).
 */
int kube_exec_get(struct kube_exec *p, uint64_t refused_gen, struct kube_exec_cred *out,
		  uint64_t *gen, struct err *e);
/*
 * The API server refused generation `gen` (a 401) in a request that could
 * not retry at once (a single-attempt call): the next kube_exec_get runs
 * the plugin again instead of handing out the refused credential.
 */
void kube_exec_refused(struct kube_exec *p, uint64_t gen);

/* How many times the plugin ran (for tests). */
unsigned kube_exec_runs(struct kube_exec *p);

#endif
