// SPDX-License-Identifier: Apache-2.0
/*
 * kubeconfig.c - load the API server address and credentials from a
 * kubeconfig file or the pod's service account (see kubeconfig.h).
 *
 * The YAML is loaded with libyaml's document API into a node tree and
 * read with a few lookup helpers; only the fields listed in kubeconfig.h
 * are consulted. Aliases are resolved by libyaml into shared nodes and we
 * only look up fixed keys, so a hostile file cannot make us walk an
 * exponential tree.
 */
#include "kube/kubeconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "kube/exec_cred.h"
#include "kube/status.h"

void kube_config_free(struct kube_config *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->token);
	free(c->token_file);
	free(c->client_cert_file);
	free(c->client_key_file);
	free(c->client_cert_data);
	free(c->client_key_data);
	kube_exec_config_free(c->exec);
	free(c->namespace);
	free(c->source);
	free(c);
}

int kube_read_file(const char *path, size_t cap, char **data, size_t *len, struct err *e)
{
	struct buf b;
	char chunk[8192];
	size_t n;
	FILE *f;
	int rc = 0;

	*data = NULL;
	f = fopen(path, "rb");
	if (!f)
		return err_set(e, KUBE_ERR_INVALID, "cannot open '%s': %s", path, strerror(errno));
	buf_init(&b, cap);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&b, chunk, n)) {
			rc = err_set(e, KUBE_ERR_TOO_LARGE, "'%s' is larger than %zu bytes",
				     path, cap);
			goto out;
		}
	}
	if (ferror(f)) {
		rc = err_set(e, KUBE_ERR_INVALID, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	*data = buf_detach(&b, len);
out:
	buf_release(&b);
	fclose(f);
	return rc;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

char *kube_base64_decode(const char *s, size_t n, size_t *len)
{
	char *out = xmalloc(n / 4 * 3 + 4);
	unsigned acc = 0;
	size_t o = 0, i, pad = 0;
	int bits = 0, v;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad)	/* garbage, or data after padding */
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	/* Left-over bits must be padding zeros; 6 left-over bits is a torn quad. */
	if (bits >= 6 || pad > 2 || (acc & ((1u << bits) - 1)))
		goto bad;
	out[o] = '\0';
	*len = o;
	return out;
bad:
	/* what was decoded may be part of a secret */
	explicit_bzero(out, o);
	free(out);
	return NULL;
}

static bool has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static bool space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

int kube_token_clean(char *tok, size_t *len, const char *source, struct err *e)
{
	size_t n = *len, start = 0;

	while (n && space(tok[n - 1]))
		n--;
	while (start < n && space(tok[start]))
		start++;
	memmove(tok, tok + start, n - start);
	n -= start;
	explicit_bzero(tok + n, *len - n);
	tok[n] = '\0';
	*len = n;
	if (!n)
		return err_set(e, KUBE_ERR_INVALID, "%s: the bearer token is empty", source);
	if (strlen(tok) != n || has_ctl(tok, n))
		return err_set(e, KUBE_ERR_INVALID, "%s: the bearer token has a control character "
			       "(CR, LF, NUL...) inside; refusing to send it", source);
	return 0;
}

int kube_config_check(const struct kube_config *c, struct err *e)
{
	const char *src = c->source ? c->source : "configuration";
	bool plain = c->server && !strncmp(c->server, "http://", 7);

	if (c->insecure && ((c->ca_file && *c->ca_file) || c->ca_data))
		return err_set(e, KUBE_ERR_INVALID, "%s: insecure-skip-tls-verify together with a "
			       "certificate authority is not allowed (choose one)", src);
	if (plain && ((c->token && *c->token) || (c->token_file && *c->token_file)))
		return err_set(e, KUBE_ERR_INVALID, "%s: a bearer token would be sent in clear "
			       "text to the plain http server '%s'; use https", src, c->server);
	if (c->token && has_ctl(c->token, strlen(c->token)))
		return err_set(e, KUBE_ERR_INVALID, "%s: the bearer token has a control character "
			       "(CR, LF...) inside; refusing to send it", src);
	if (c->exec && plain)
		return err_set(e, KUBE_ERR_INVALID, "%s: an exec credential plugin's token would be "
			       "sent in clear text to the plain http server '%s'; use https", src,
			       c->server);
	if (c->exec && ((c->token && *c->token) || (c->token_file && *c->token_file) ||
			c->client_cert_file || c->client_cert_data))
		return err_set(e, KUBE_ERR_INVALID, "%s: an exec credential plugin together with a "
			       "token or client certificate (choose one)", src);
	return 0;
}

/* ---- YAML helpers ---- */

struct kc {
	const char *path;	/* for messages */
	char *dir;		/* for relative paths */
	yaml_document_t doc;
	struct err *e;
};

static yaml_node_t *node(struct kc *k, int index)
{
	return index ? yaml_document_get_node(&k->doc, index) : NULL;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *map_get(struct kc *k, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *s = scalar(node(k, p->key));

		if (s && !strcmp(s, key))
			return node(k, p->value);
	}
	return NULL;
}

static bool is_null(yaml_node_t *n)
{
	const char *s = scalar(n);

	return !n || (s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		      (!*s || !strcmp(s, "null") || !strcmp(s, "~")));
}

/*
 * A string field of `map` into *out (NULL when absent or null). `where`
 * names the map for messages, e.g. "cluster 'kind'".
 */
static int get_str(struct kc *k, yaml_node_t *map, const char *where,
		   const char *key, char **out)
{
	yaml_node_t *n = map_get(k, map, key);

	*out = NULL;
	if (is_null(n))
		return 0;
	if (!scalar(n))
		return err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s: '%s' is not a string",
			       k->path, where, key);
	*out = xstrdup(scalar(n));
	return 0;
}

static int get_bool(struct kc *k, yaml_node_t *map, const char *where,
		    const char *key, bool *out)
{
	yaml_node_t *n = map_get(k, map, key);
	const char *s = scalar(n);

	*out = false;
	if (is_null(n))
		return 0;
	if (s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))) {
		*out = true;
		return 0;
	}
	if (s && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")))
		return 0;
	return err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s: '%s' is not true or false",
		       k->path, where, key);
}

/* The named entry's inner map (`field`) from a list like clusters/users/contexts. */
static int find_named(struct kc *k, yaml_node_t *root, const char *list,
		      const char *field, const char *name, yaml_node_t **out)
{
	yaml_node_t *l = map_get(k, root, list);
	yaml_node_item_t *it;

	*out = NULL;
	if (is_null(l))
		return 0;
	if (l->type != YAML_SEQUENCE_NODE)
		return err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': '%s' is not a list",
			       k->path, list);
	for (it = l->data.sequence.items.start; it < l->data.sequence.items.top; it++) {
		yaml_node_t *entry = node(k, *it);
		const char *n = scalar(map_get(k, entry, "name"));

		if (n && !strcmp(n, name)) {
			yaml_node_t *inner = map_get(k, entry, field);

			if (inner && inner->type != YAML_MAPPING_NODE && !is_null(inner))
				return err_set(k->e, KUBE_ERR_INVALID,
					       "kubeconfig '%s': %s '%s': '%s' is not a map",
					       k->path, field, name, field);
			*out = inner ? inner : entry;
			return 0;
		}
	}
	return 0;
}

/* Make a kubeconfig-relative path absolute; takes ownership of p. */
static char *resolve(struct kc *k, char *p)
{
	char *abs;

	if (!p || p[0] == '/' || !*p)
		return p;
	abs = xasprintf("%s/%s", k->dir, p);
	free(p);
	return abs;
}

static int get_data(struct kc *k, yaml_node_t *map, const char *where,
		    const char *key, char **out, size_t *len)
{
	char *b64;
	int rc = get_str(k, map, where, key, &b64);

	*out = NULL;
	*len = 0;
	if (rc || !b64)
		return rc;
	*out = kube_base64_decode(b64, strlen(b64), len);
	free(b64);
	if (!*out)
		return err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s: '%s' is not valid base64",
			       k->path, where, key);
	return 0;
}

static int parse_cluster(struct kc *k, yaml_node_t *cl, const char *name, struct kube_config *c)
{
	char *where = xasprintf("cluster '%s'", name);
	int rc;

	if ((rc = get_str(k, cl, where, "server", &c->server)) ||
	    (rc = get_str(k, cl, where, "certificate-authority", &c->ca_file)) ||
	    (rc = get_data(k, cl, where, "certificate-authority-data", &c->ca_data,
			   &c->ca_data_len)) ||
	    (rc = get_bool(k, cl, where, "insecure-skip-tls-verify", &c->insecure)))
		goto out;
	if (!c->server || !*c->server) {
		rc = err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s has no server",
			     k->path, where);
		goto out;
	}
	if (strncmp(c->server, "https://", 8) && strncmp(c->server, "http://", 7)) {
		rc = err_set(k->e, KUBE_ERR_INVALID,
			     "kubeconfig '%s': %s: server '%s' is not an http(s) URL",
			     k->path, where, c->server);
		goto out;
	}
	while (strlen(c->server) > 8 && c->server[strlen(c->server) - 1] == '/')
		c->server[strlen(c->server) - 1] = '\0';
	c->ca_file = resolve(k, c->ca_file);
out:
	free(where);
	return rc;
}

/* A list of strings (args) into a NULL-terminated array. */
static int get_strlist(struct kc *k, yaml_node_t *map, const char *where, const char *key,
		       char ***out, size_t *n)
{
	yaml_node_t *l = map_get(k, map, key);
	yaml_node_item_t *it;

	*out = NULL;
	*n = 0;
	if (is_null(l))
		return 0;
	if (l->type != YAML_SEQUENCE_NODE)
		return err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s: '%s' is not a list",
			       k->path, where, key);
	*out = xcalloc((size_t)(l->data.sequence.items.top - l->data.sequence.items.start) + 1,
		       sizeof(**out));
	for (it = l->data.sequence.items.start; it < l->data.sequence.items.top; it++) {
		const char *s = scalar(node(k, *it));

		if (!s)
			return err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s: '%s' has an "
				       "entry that is not a string", k->path, where, key);
		(*out)[(*n)++] = xstrdup(s);
	}
	return 0;
}

/* exec.env: a list of {name, value} into "NAME=value" strings. */
static int get_env(struct kc *k, yaml_node_t *map, const char *where, char ***out, size_t *n)
{
	yaml_node_t *l = map_get(k, map, "env");
	yaml_node_item_t *it;

	*out = NULL;
	*n = 0;
	if (is_null(l))
		return 0;
	if (l->type != YAML_SEQUENCE_NODE)
		return err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s: 'env' is not a list",
			       k->path, where);
	*out = xcalloc((size_t)(l->data.sequence.items.top - l->data.sequence.items.start) + 1,
		       sizeof(**out));
	for (it = l->data.sequence.items.start; it < l->data.sequence.items.top; it++) {
		yaml_node_t *ent = node(k, *it);
		const char *name = scalar(map_get(k, ent, "name"));
		const char *value = scalar(map_get(k, ent, "value"));

		if (!name || !*name || strchr(name, '=') || !value)
			return err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s: every 'env' "
				       "entry needs a name (without '=') and a string value",
				       k->path, where);
		(*out)[(*n)++] = xasprintf("%s=%s", name, value);
	}
	return 0;
}

/* users[].user.exec (see exec_cred.h), into c->exec. */
static int parse_exec(struct kc *k, yaml_node_t *x, const char *user, struct kube_config *c)
{
	char *where = xasprintf("user '%s': exec", user), *mode = NULL;
	struct kube_exec_config *ex = xcalloc(1, sizeof(*ex));
	int rc;

	if ((rc = get_str(k, x, where, "apiVersion", &ex->api_version)) ||
	    (rc = get_str(k, x, where, "command", &ex->command)) ||
	    (rc = get_strlist(k, x, where, "args", &ex->args, &ex->n_args)) ||
	    (rc = get_env(k, x, where, &ex->env, &ex->n_env)) ||
	    (rc = get_str(k, x, where, "installHint", &ex->install_hint)) ||
	    (rc = get_bool(k, x, where, "provideClusterInfo", &ex->provide_cluster_info)) ||
	    (rc = get_str(k, x, where, "interactiveMode", &mode)))
		goto out;
	if (!ex->api_version || (strcmp(ex->api_version, KUBE_EXEC_V1) &&
				 strcmp(ex->api_version, KUBE_EXEC_V1BETA1))) {
		rc = err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s: apiVersion must be %s or "
			     "%s", k->path, where, KUBE_EXEC_V1, KUBE_EXEC_V1BETA1);
		goto out;
	}
	if (!ex->command || !*ex->command) {
		rc = err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s: no command", k->path,
			     where);
		goto out;
	}
	/* v1 makes the mode explicit; v1beta1 defaults to IfAvailable */
	if (!mode && !strcmp(ex->api_version, KUBE_EXEC_V1)) {
		rc = err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s: interactiveMode must be "
			     "specified for %s", k->path, where, KUBE_EXEC_V1);
		goto out;
	}
	if (mode && strcmp(mode, "Never") && strcmp(mode, "IfAvailable")) {
		rc = err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s: interactiveMode '%s' is "
			     "not supported: csi-provisioner has no terminal (use Never or "
			     "IfAvailable)", k->path, where, mode);
		goto out;
	}
	if (strchr(ex->command, '/'))
		ex->command = resolve(k, ex->command);
	c->exec = ex;
	ex = NULL;
out:
	kube_exec_config_free(ex);
	free(mode);
	free(where);
	return rc;
}

static int parse_user(struct kc *k, yaml_node_t *u, const char *name, struct kube_config *c)
{
	char *where = xasprintf("user '%s'", name);
	int rc;

	if ((rc = get_str(k, u, where, "token", &c->token)) ||
	    (rc = get_str(k, u, where, "tokenFile", &c->token_file)) ||
	    (rc = get_str(k, u, where, "client-certificate", &c->client_cert_file)) ||
	    (rc = get_str(k, u, where, "client-key", &c->client_key_file)) ||
	    (rc = get_data(k, u, where, "client-certificate-data", &c->client_cert_data,
			   &c->client_cert_data_len)) ||
	    (rc = get_data(k, u, where, "client-key-data", &c->client_key_data,
			   &c->client_key_data_len)))
		goto out;
	c->token_file = resolve(k, c->token_file);
	c->client_cert_file = resolve(k, c->client_cert_file);
	c->client_key_file = resolve(k, c->client_key_file);
	if (!is_null(map_get(k, u, "exec")) && (rc = parse_exec(k, map_get(k, u, "exec"), name, c)))
		goto out;
	if (!c->token && !c->token_file && !c->client_cert_file && !c->client_cert_data &&
	    !c->exec) {
		static const char *const unsupported[] = {
			"auth-provider", "username", "password",
		};
		size_t i;

		for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
			if (!is_null(map_get(k, u, unsupported[i]))) {
				rc = err_set(k->e, KUBE_ERR_INVALID,
					     "kubeconfig '%s': %s uses '%s', which is not supported (use a token or a client certificate)",
					     k->path, where, unsupported[i]);
				goto out;
			}
		}
	}
	if (!!(c->client_cert_file || c->client_cert_data) !=
	    !!(c->client_key_file || c->client_key_data))
		rc = err_set(k->e, KUBE_ERR_INVALID,
			     "kubeconfig '%s': %s has a client certificate without a key, or a key without a certificate",
			     k->path, where);
out:
	free(where);
	return rc;
}

static int parse_doc(struct kc *k, struct kube_config *c)
{
	yaml_node_t *root = yaml_document_get_root_node(&k->doc), *ctx, *cl, *u;
	char *cur = NULL, *cluster = NULL, *user = NULL, *where = NULL;
	int rc;

	if (!root || root->type != YAML_MAPPING_NODE)
		return err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': not a YAML map", k->path);
	if ((rc = get_str(k, root, "top level", "current-context", &cur)))
		goto out;
	if (!cur || !*cur) {
		rc = err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': current-context is not set",
			     k->path);
		goto out;
	}
	if ((rc = find_named(k, root, "contexts", "context", cur, &ctx)))
		goto out;
	if (!ctx) {
		rc = err_set(k->e, KUBE_ERR_INVALID,
			     "kubeconfig '%s': current-context '%s' is not defined", k->path, cur);
		goto out;
	}
	where = xasprintf("context '%s'", cur);
	if ((rc = get_str(k, ctx, where, "cluster", &cluster)) ||
	    (rc = get_str(k, ctx, where, "user", &user)) ||
	    (rc = get_str(k, ctx, where, "namespace", &c->namespace)))
		goto out;
	if (!cluster || !*cluster) {
		rc = err_set(k->e, KUBE_ERR_INVALID, "kubeconfig '%s': %s names no cluster",
			     k->path, where);
		goto out;
	}
	if ((rc = find_named(k, root, "clusters", "cluster", cluster, &cl)))
		goto out;
	if (!cl) {
		rc = err_set(k->e, KUBE_ERR_INVALID,
			     "kubeconfig '%s': %s names cluster '%s' which is not defined",
			     k->path, where, cluster);
		goto out;
	}
	if ((rc = parse_cluster(k, cl, cluster, c)))
		goto out;
	if (user && *user) {
		if ((rc = find_named(k, root, "users", "user", user, &u)))
			goto out;
		if (!u) {
			rc = err_set(k->e, KUBE_ERR_INVALID,
				     "kubeconfig '%s': %s names user '%s' which is not defined",
				     k->path, where, user);
			goto out;
		}
		rc = parse_user(k, u, user, c);
	}
out:
	free(cur);
	free(cluster);
	free(user);
	free(where);
	return rc;
}

int kube_config_load_file(struct kube_config **out, const char *path, struct err *e)
{
	struct kube_config *c = NULL;
	yaml_parser_t parser;
	struct kc k = { .path = path, .e = e };
	char *data = NULL, *slash;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = kube_read_file(path, KUBE_CONFIG_MAX_SIZE, &data, &len, e)))
		return err_prefix(e, "kubeconfig");
	k.dir = xstrdup(path);
	slash = strrchr(k.dir, '/');
	if (!slash)
		k.dir[0] = '.', k.dir[1] = '\0';
	else if (slash == k.dir)
		slash[1] = '\0';
	else
		*slash = '\0';

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &k.doc)) {
		rc = err_set(e, KUBE_ERR_INVALID,
			     "kubeconfig '%s': invalid YAML at line %zu column %zu: %s",
			     path, parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			     parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		goto out;
	}
	yaml_parser_delete(&parser);
	c = xcalloc(1, sizeof(*c));
	c->source = xasprintf("kubeconfig '%s'", path);
	rc = parse_doc(&k, c);
	if (!rc)
		rc = kube_config_check(c, e);
	yaml_document_delete(&k.doc);
	if (rc) {
		kube_config_free(c);
		c = NULL;
	}
out:
	free(k.dir);
	free(data);
	*out = c;
	return rc;
}

int kube_config_in_cluster(struct kube_config **out, const char *sa_dir, struct err *e)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	struct kube_config *c;
	char *token = NULL, *ns = NULL, *nsfile;
	size_t len;
	struct stat st;
	int rc;

	*out = NULL;
	if (!sa_dir)
		sa_dir = getenv("KUBE_SA_DIR");
	if (!sa_dir || !*sa_dir)
		sa_dir = KUBE_SA_DIR_DEFAULT;
	if (!host || !*host || !port || !*port)
		return err_set(e, KUBE_ERR_INVALID,
			       "no kubeconfig given and not running in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)");
	c = xcalloc(1, sizeof(*c));
	c->source = xstrdup("in-cluster config");
	c->server = xasprintf(strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	c->token_file = xasprintf("%s/token", sa_dir);
	c->ca_file = xasprintf("%s/ca.crt", sa_dir);
	/* Fail now, with a clear message, rather than at the first request. */
	if ((rc = kube_read_file(c->token_file, KUBE_TOKEN_MAX_SIZE, &token, &len, e))) {
		err_prefix(e, "in-cluster config: service account token");
		goto out;
	}
	if ((rc = kube_token_clean(token, &len, c->token_file, e))) {
		err_prefix(e, "in-cluster config");
		goto out;
	}
	if (stat(c->ca_file, &st)) {
		rc = err_set(e, KUBE_ERR_INVALID, "in-cluster config: cannot read CA '%s': %s",
			     c->ca_file, strerror(errno));
		goto out;
	}
	nsfile = xasprintf("%s/namespace", sa_dir);
	if (!kube_read_file(nsfile, 256, &ns, &len, NULL)) {
		while (len && (ns[len - 1] == '\n' || ns[len - 1] == ' '))
			ns[--len] = '\0';
		c->namespace = ns;
		ns = NULL;
	}
	free(nsfile);
out:
	if (token)
		explicit_bzero(token, len);
	free(token);
	free(ns);
	if (rc) {
		kube_config_free(c);
		c = NULL;
	}
	*out = c;
	return rc;
}

int kube_config_load(struct kube_config **out, const char *path, struct err *e)
{
	const char *env = getenv("KUBECONFIG");
	int rc;

	if (path && *path)
		return kube_config_load_file(out, path, e);
	if (env && *env) {
		const char *p = env, *colon;

		/* First non-empty entry of the list. */
		while (*p == ':')
			p++;
		if (*p) {
			char *first;

			colon = strchr(p, ':');
			first = colon ? xstrndup(p, (size_t)(colon - p)) : xstrdup(p);
			rc = kube_config_load_file(out, first, e);
			free(first);
			return rc;
		}
	}
	return kube_config_in_cluster(out, NULL, e);
}
