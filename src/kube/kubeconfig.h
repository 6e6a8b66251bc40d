/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubeconfig.h - where the API server is and how to authenticate to it.
 *
 * Sources, first match wins:
 *   1. the path given with --kubeconfig;
 *   2. $KUBECONFIG (its first non-empty entry when it is a ':' list);
 *   3. in-cluster: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
 *      with the service account's token and ca.crt from
 *      /var/run/secrets/kubernetes.io/serviceaccount (or $KUBE_SA_DIR).
 * A kubeconfig is read with libyaml: current-context selects a context,
 * which names a cluster (server, certificate-authority[-data],
 * insecure-skip-tls-verify) and a user (token, tokenFile,
 * client-certificate[-data], client-key[-data]). Relative file paths are
 * relative to the kubeconfig's directory. A user's `exec` credential
 * plugin (apiVersion, command, args, env, installHint, provideClusterInfo,
 * interactiveMode) is read into `exec` (see exec_cred.h); a command with a
 * '/' that is not absolute is relative to the kubeconfig's directory, as
 * client-go has it. auth-provider and basic auth are not supported and are
 * reported as errors rather than ignored.
 *
 * Errors are KUBE_ERR_INVALID (or KUBE_ERR_TOO_LARGE) and name the file
 * and the field: "kubeconfig '/x/y': context 'foo' names cluster 'bar'
 * which is not defined".
 */
#ifndef KUBE_KUBECONFIG_H
#define KUBE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* Largest kubeconfig file read. */
#define KUBE_CONFIG_MAX_SIZE ((size_t)1 << 20)
/* Largest token file read. */
#define KUBE_TOKEN_MAX_SIZE ((size_t)64 << 10)
/* The service account directory inside a pod. */
#define KUBE_SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"

/* All strings are heap-owned by the struct; NULL means unset. */
struct kube_config {
	char *server;		/* "https://host:port", no trailing '/' */
	char *ca_file;		/* PEM bundle path (absolute or cwd-relative) */
	char *ca_data;		/* PEM bytes, base64-decoded; NUL-terminated */
	size_t ca_data_len;
	bool insecure;		/* insecure-skip-tls-verify: no CA check */
	char *token;		/* static bearer token */
	char *token_file;	/* re-read by the client when it changes; wins over token */
	char *client_cert_file, *client_key_file;
	char *client_cert_data, *client_key_data; /* PEM bytes, NUL-terminated */
	size_t client_cert_data_len, client_key_data_len;
	struct kube_exec_config *exec;	/* a credential plugin, or NULL */
	char *namespace;	/* the context's namespace, or the pod's; may be NULL */
	char *source;		/* "kubeconfig '/path'" or "in-cluster config", for messages */
};

/*
 * Find and load the configuration as described above. `path` may be NULL
 * or "". On success the caller owns *out and frees it with
 * kube_config_free; on failure *out is NULL.
 */
int kube_config_load(struct kube_config **out, const char *path, struct err *e);

/* Load one kubeconfig file (no fallbacks). Same ownership. */
int kube_config_load_file(struct kube_config **out, const char *path, struct err *e);

/* The in-cluster configuration; `sa_dir` NULL means $KUBE_SA_DIR or the default. */
int kube_config_in_cluster(struct kube_config **out, const char *sa_dir, struct err *e);

/*
 * Refuse what would be unsafe to run with, as client-go does or stricter:
 * insecure-skip-tls-verify together with a CA (file or data); a bearer
 * token (static or file) for a plain http:// server, where it would travel
 * in clear text; a static token with a control character (CR/LF would
 * split the Authorization header); an exec plugin for a plain http://
 * server, or together with a static token or client certificate.
 * KUBE_ERR_INVALID naming c->source.
 * The loaders call it; kube_client_new too, for configs built by hand.
 */
int kube_config_check(const struct kube_config *c, struct err *e);

/*
 * A bearer token as read from a file, cleaned in place as client-go does
 * (surrounding whitespace, a trailing newline included, is dropped) and
 * refused when it is then empty or has a control character inside (a CR
 * or LF in the middle would split the header). *len is updated.
 * KUBE_ERR_INVALID naming `source`; the token itself is never quoted.
 */
int kube_token_clean(char *tok, size_t *len, const char *source, struct err *e);

/* Free the config and every string in it. Accepts NULL. */
void kube_config_free(struct kube_config *c);

/*
 * Read a whole file of at most `cap` bytes into *data (NUL-terminated,
 * caller frees), its length in *len. KUBE_ERR_INVALID when it cannot be
 * read, KUBE_ERR_TOO_LARGE past the cap; messages name the path.
 */
int kube_read_file(const char *path, size_t cap, char **data, size_t *len, struct err *e);

/*
 * Decode standard base64 (whitespace ignored, padding optional). Returns a
 * NUL-terminated heap buffer the caller frees and its length in *len, or
 * NULL when `s` is not base64.
 */
char *kube_base64_decode(const char *s, size_t n, size_t *len);

#endif
