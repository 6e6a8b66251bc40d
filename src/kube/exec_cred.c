// SPDX-License-Identifier: Apache-2.0
/*
 * exec_cred.c - kubeconfig exec credential plugins: run, parse, cache (see
 * exec_cred.h). The run reads the plugin's stdout and stderr with poll()
 * against one deadline, so neither a chatty nor a silent plugin can block
 * us past it; the child gets an empty signal mask and default handlers
 * (we block signals for sigwait) and no descriptor of ours but 0-2.
 */
#include "kube/exec_cred.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/logfmt.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kube/objects.h"
#include "kube/status.h"

extern char **environ;

static void wipe_free(char *s, size_t n)
{
	if (s)
		explicit_bzero(s, n);
	free(s);
}

static char **strv_dup(char *const *v, size_t n)
{
	char **out = xcalloc(n + 1, sizeof(*out));

	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void kube_exec_config_free(struct kube_exec_config *x)
{
	if (!x)
		return;
	free(x->api_version);
	free(x->command);
	strv_free(x->args, x->n_args);
	strv_free(x->env, x->n_env);
	free(x->install_hint);
	free(x);
}

struct kube_exec_config *kube_exec_config_dup(const struct kube_exec_config *x)
{
	struct kube_exec_config *d = xcalloc(1, sizeof(*d));

	d->api_version = xstrdup(x->api_version);
	d->command = xstrdup(x->command);
	d->args = strv_dup(x->args, x->n_args);
	d->n_args = x->n_args;
	d->env = strv_dup(x->env, x->n_env);
	d->n_env = x->n_env;
	d->install_hint = x->install_hint ? xstrdup(x->install_hint) : NULL;
	d->provide_cluster_info = x->provide_cluster_info;
	return d;
}

void kube_exec_cred_release(struct kube_exec_cred *c)
{
	if (!c)
		return;
	wipe_free(c->token, c->token ? strlen(c->token) : 0);
	wipe_free(c->cert_pem, c->cert_len);
	wipe_free(c->key_pem, c->key_len);
	memset(c, 0, sizeof(*c));
}

static void cred_copy(struct kube_exec_cred *dst, const struct kube_exec_cred *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->token = src->token ? xstrdup(src->token) : NULL;
	if (src->cert_pem) {
		dst->cert_pem = xstrndup(src->cert_pem, src->cert_len);
		dst->cert_len = src->cert_len;
		dst->key_pem = xstrndup(src->key_pem, src->key_len);
		dst->key_len = src->key_len;
	}
	dst->expiry_us = src->expiry_us;
}

/* `s` (n bytes) quoted for a message: controls escaped, at most `max` bytes shown. */
static char *quote(const char *s, size_t n, size_t max)
{
	struct buf b;
	char *out;

	buf_init(&b, max * 6 + 16);
	buf_append(&b, "\"", 1);
	logfmt_escape_text(&b, s, n < max ? n : max);
	buf_append(&b, n > max ? "...\"" : "\"", n > max ? 4 : 1);
	out = buf_detach(&b, NULL);
	buf_release(&b);
	return out;
}

/* ---- the plugin's answer ---- */

/* A string member of status: NULL when absent, null or ""; -1 when of another type. */
static int status_str(json_t *status, const char *key, const char **out, size_t *len)
{
	json_t *v = json_object_get(status, key);

	*out = NULL;
	*len = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	if (json_string_length(v)) {
		*out = json_string_value(v);
		*len = json_string_length(v);
	}
	return 0;
}

int kube_exec_parse(const char *api_version, const char *out, size_t len,
		    struct kube_exec_cred *cred, struct err *e)
{
	json_error_t je;
	json_t *doc = json_loadb(out, len, 0, &je), *status;
	const char *av, *kind, *tok, *cert, *key, *exp;
	size_t tok_len, cert_len, key_len, exp_len;
	int64_t us = 0;
	int rc = 0;

	memset(cred, 0, sizeof(*cred));
	if (!json_is_object(doc)) {
		/* never je.text: it quotes the output, which may hold the credential */
		if (doc)
			rc = err_set(e, KUBE_ERR_DECODE, "the plugin's output is not a JSON object");
		else
			rc = err_set(e, KUBE_ERR_DECODE, "the plugin's output is not JSON (line %d, "
				     "column %d)", je.line, je.column);
		goto out;
	}
	av = json_string_value(json_object_get(doc, "apiVersion"));
	kind = json_string_value(json_object_get(doc, "kind"));
	if (!av || strcmp(av, api_version)) {
		char *q = quote(av ? av : "", av ? strlen(av) : 0, 80);

		rc = err_set(e, KUBE_ERR_INVALID, "the plugin is configured to use API version %s, "
			     "it returned %s", api_version, q);
		free(q);
		goto out;
	}
	if (!kind || strcmp(kind, "ExecCredential")) {
		rc = err_set(e, KUBE_ERR_INVALID, "the plugin returned no ExecCredential");
		goto out;
	}
	status = json_object_get(doc, "status");
	if (!json_is_object(status)) {
		rc = err_set(e, KUBE_ERR_INVALID, "the plugin didn't return a status field");
		goto out;
	}
	if (status_str(status, "token", &tok, &tok_len) ||
	    status_str(status, "clientCertificateData", &cert, &cert_len) ||
	    status_str(status, "clientKeyData", &key, &key_len) ||
	    status_str(status, "expirationTimestamp", &exp, &exp_len)) {
		rc = err_set(e, KUBE_ERR_INVALID, "the plugin's status has a field that is not a "
			     "string");
		goto out;
	}
	if (!!cert != !!key) {
		rc = err_set(e, KUBE_ERR_INVALID, "the plugin returned only a certificate or only "
			     "a private key");
		goto out;
	}
	if (!tok && !cert) {
		rc = err_set(e, KUBE_ERR_INVALID, "the plugin didn't return a token or cert/key pair");
		goto out;
	}
	if (tok) {
		for (size_t i = 0; i < tok_len; i++)
			if ((unsigned char)tok[i] < 0x20 || tok[i] == 0x7f) {
				/* a CR or LF would split the Authorization header */
				rc = err_set(e, KUBE_ERR_INVALID, "the plugin's token has a control "
					     "character inside; refusing to send it");
				goto out;
			}
	}
	if (exp && kube_time_parse(exp, &us, e)) {
		rc = err_prefix(e, "the plugin's expirationTimestamp");
		goto out;
	}
	cred->token = tok ? xstrndup(tok, tok_len) : NULL;
	if (cert) {
		cred->cert_pem = xstrndup(cert, cert_len);
		cred->cert_len = cert_len;
		cred->key_pem = xstrndup(key, key_len);
		cred->key_len = key_len;
	}
	cred->expiry_us = us;
out:
	/* the document holds the secret too: wipe its strings before freeing */
	if (json_is_object(doc) && json_is_object(status = json_object_get(doc, "status"))) {
		const char *k;
		json_t *v;

		json_object_foreach(status, k, v)
			if (json_is_string(v))
				explicit_bzero((char *)json_string_value(v), json_string_length(v));
	}
	json_decref(doc);
	return rc;
}

/* ---- running the plugin ---- */

static char *base64(const char *p, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)p[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)p[i + 2];
		*o++ = tbl[v >> 18 & 63];
		*o++ = tbl[v >> 12 & 63];
		*o++ = i + 1 < n ? tbl[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tbl[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* KUBERNETES_EXEC_INFO=<the ExecCredential we hand the plugin>. Caller frees. */
static char *exec_info(const struct kube_exec_config *x, const struct kube_exec_cluster *cl)
{
	json_t *spec = json_pack("{s:b}", "interactive", 0), *doc;
	char *json, *out;

	if (x->provide_cluster_info && cl) {
		json_t *c = json_pack("{s:s}", "server", cl->server ? cl->server : "");

		if (cl->insecure)
			json_object_set_new(c, "insecure-skip-tls-verify", json_true());
		if (cl->ca_data) {
			char *b = base64(cl->ca_data, cl->ca_len);

			json_object_set_new(c, "certificate-authority-data", json_string(b));
			free(b);
		}
		json_object_set_new(spec, "cluster", c);
	}
	doc = json_pack("{s:s,s:s,s:o}", "apiVersion", x->api_version, "kind", "ExecCredential",
			"spec", spec);
	json = json_dumps(doc, JSON_COMPACT);
	out = xasprintf("KUBERNETES_EXEC_INFO=%s", json);
	free(json);
	json_decref(doc);
	return out;
}

/* Our environment, less what the kubeconfig sets, then its env, then the exec info. */
static char **child_env(const struct kube_exec_config *x, char *info)
{
	size_t n = 0, o = 0;
	char **env;

	while (environ[n])
		n++;
	env = xcalloc(n + x->n_env + 2, sizeof(*env));
	for (size_t i = 0; i < n; i++) {
		size_t klen = strcspn(environ[i], "=");
		bool overridden = !strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21);

		for (size_t k = 0; k < x->n_env && !overridden; k++)
			overridden = !strncmp(x->env[k], environ[i], klen + 1);
		if (!overridden)
			env[o++] = environ[i];
	}
	for (size_t k = 0; k < x->n_env; k++)
		env[o++] = x->env[k];
	env[o] = info;
	return env;
}

static int spawn(const struct kube_exec_config *x, char **env, int out_fd, int err_fd,
		 pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	char **argv = xcalloc(x->n_args + 2, sizeof(*argv));
	int rc;

	argv[0] = x->command;
	for (size_t i = 0; i < x->n_args; i++)
		argv[i + 1] = x->args[i];
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(pid, x->command, &fa, &at, argv, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	return rc;
}

/* Read both pipes until EOF on both or the deadline. Returns 0, or -1 on timeout. */
static int collect(int out_fd, int err_fd, struct buf *out, bool *out_big, struct buf *errb,
		   int64_t deadline_ms)
{
	struct pollfd p[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
	char chunk[4096];

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		int64_t left = deadline_ms - clock_now_ms();
		int n;

		if (left <= 0)
			return -1;
		n = poll(p, 2, left > 1000 ? 1000 : (int)left);
		if (n < 0 && errno != EINTR)
			return -1;
		for (int i = 0; n > 0 && i < 2; i++) {
			ssize_t r;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			r = read(p[i].fd, chunk, sizeof(chunk));
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				p[i].fd = -1;	/* EOF or error: the caller closes */
				continue;
			}
			if (i == 0 && buf_append(out, chunk, (size_t)r))
				*out_big = true;	/* keep draining so the plugin can finish */
			if (i == 1)	/* stderr past the cap is dropped */
				buf_append(errb, chunk, (size_t)r);
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	return 0;
}

int kube_exec_run(const struct kube_exec_config *x, const struct kube_exec_cluster *cluster,
		  int64_t timeout_ms, struct kube_exec_cred *cred, struct err *e)
{
	int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 }, status = 0, rc;
	char *info = exec_info(x, cluster), **env = NULL, *q;
	struct buf out, errb;
	bool big = false, timed_out;
	pid_t pid;

	memset(cred, 0, sizeof(*cred));
	buf_init(&out, KUBE_EXEC_OUT_MAX);
	buf_init(&errb, KUBE_EXEC_ERR_MAX);
	if (pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC)) {
		rc = err_set(e, KUBE_ERR_UNAUTHORIZED, "exec plugin %s: cannot make a pipe: %s",
			     x->command, strerror(errno));
		goto out;
	}
	env = child_env(x, info);
	rc = spawn(x, env, out_pipe[1], err_pipe[1], &pid);
	close(out_pipe[1]);
	close(err_pipe[1]);
	out_pipe[1] = err_pipe[1] = -1;
	if (rc) {
		rc = err_set(e, KUBE_ERR_UNAUTHORIZED, "exec plugin: cannot run '%s': %s%s%s",
			     x->command, strerror(rc), x->install_hint ? "; " : "",
			     x->install_hint ? x->install_hint : "");
		goto out;
	}
	timed_out = collect(out_pipe[0], err_pipe[0], &out, &big, &errb,
			    clock_now_ms() + timeout_ms) != 0;
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	q = quote(errb.data ? errb.data : "", errb.len, 400);
	if (timed_out)
		rc = err_set(e, KUBE_ERR_UNAUTHORIZED, "exec plugin %s: no answer within %lld ms; "
			     "killed", x->command, (long long)timeout_ms);
	else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		/*
		 * The plugin's stderr goes to our log only (it may echo what it
		 * fetched); the error, which can reach an Event, does not carry it.
		 * 127: the command could not be run (how some spawn paths report it).
		 */
		log_v(2, "exec plugin %s failed; its stderr: %s", x->command, q);
		rc = err_set(e, KUBE_ERR_UNAUTHORIZED, "exec plugin %s: %s %d (its stderr is in "
			     "the log)%s%s",
			     x->command, WIFEXITED(status) ? "exit status" : "killed by signal",
			     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			     x->install_hint && WIFEXITED(status) && WEXITSTATUS(status) == 127 ?
			     "; " : "",
			     x->install_hint && WIFEXITED(status) && WEXITSTATUS(status) == 127 ?
			     x->install_hint : "");
	} else if (big)
		rc = err_set(e, KUBE_ERR_UNAUTHORIZED, "exec plugin %s: output larger than %zu bytes",
			     x->command, (size_t)KUBE_EXEC_OUT_MAX);
	else if (kube_exec_parse(x->api_version, out.data ? out.data : "", out.len, cred, e)) {
		/* whatever the parser found wrong, the credentials are unusable */
		rc = err_set(e, KUBE_ERR_UNAUTHORIZED, "exec plugin %s: %s", x->command,
			     err_msg(e));
	} else
		rc = 0;
	free(q);
out:
	for (int i = 0; i < 2; i++) {
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
	}
	if (out.data)
		explicit_bzero(out.data, out.len);
	buf_release(&out);
	buf_release(&errb);
	free(env);
	free(info);
	return rc;
}

/* ---- the cached provider ---- */

struct kube_exec {
	atomic_int refs;
	pthread_mutex_t lock;	/* guards everything below; held across a run */
	struct kube_exec_config *x;
	char *server, *ca_data;
	size_t ca_len;
	bool insecure;
	struct kube_exec_cred cred;	/* valid when gen > 0 */
	uint64_t gen;
	uint64_t refused;	/* a generation the API server refused (kube_exec_refused) */
	unsigned runs;
	/* after a failed run: its error, repeated without running until then */
	int64_t failed_until_ms;
	int failed_code;
	char *failed_msg;
};

struct kube_exec *kube_exec_new(const struct kube_exec_config *x,
				const struct kube_exec_cluster *cluster)
{
	struct kube_exec *p = xcalloc(1, sizeof(*p));

	atomic_init(&p->refs, 1);
	pthread_mutex_init(&p->lock, NULL);
	p->x = kube_exec_config_dup(x);
	if (cluster) {
		p->server = cluster->server ? xstrdup(cluster->server) : NULL;
		p->ca_data = cluster->ca_data ? xstrndup(cluster->ca_data, cluster->ca_len) : NULL;
		p->ca_len = cluster->ca_len;
		p->insecure = cluster->insecure;
	}
	return p;
}

struct kube_exec *kube_exec_ref(struct kube_exec *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void kube_exec_unref(struct kube_exec *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	kube_exec_cred_release(&p->cred);
	kube_exec_config_free(p->x);
	free(p->failed_msg);
	free(p->server);
	free(p->ca_data);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

#define EXEC_RETRY_MS 5000	/* after a failed run, the next one waits this long */

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int kube_exec_get(struct kube_exec *p, uint64_t refused_gen, struct kube_exec_cred *out,
		  uint64_t *gen, struct err *e)
{
	struct kube_exec_cluster cl = { p->server, p->ca_data, p->ca_len, p->insecure };
	const char *why = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&p->lock);
	if (!p->gen)
		why = "no credential yet";
	else if (p->cred.expiry_us && wall_us() >= p->cred.expiry_us)
		why = "the credential expired";
	else if ((refused_gen && refused_gen == p->gen) || (p->refused && p->refused == p->gen))
		why = "the API server refused the credential";
	if (why && clock_now_ms() < p->failed_until_ms) {
		/* a failing plugin is not run for every request (it may take a minute) */
		rc = err_set(e, p->failed_code, "%s (not run again for a few seconds)",
			     p->failed_msg);
	} else if (why) {
		struct kube_exec_cred fresh;

		log_v(2, "running exec credential plugin %s: %s", p->x->command, why);
		p->runs++;
		rc = kube_exec_run(p->x, &cl, KUBE_EXEC_TIMEOUT_MS, &fresh, e);
		if (!rc) {
			kube_exec_cred_release(&p->cred);
			p->cred = fresh;
			p->gen++;
			p->failed_until_ms = 0;
		} else {
			free(p->failed_msg);
			p->failed_msg = xstrdup(err_msg(e));
			p->failed_code = rc;
			p->failed_until_ms = clock_now_ms() + EXEC_RETRY_MS;
		}
	}
	if (!rc) {
		cred_copy(out, &p->cred);
		*gen = p->gen;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void kube_exec_refused(struct kube_exec *p, uint64_t gen)
{
	pthread_mutex_lock(&p->lock);
	if (gen && gen == p->gen)
		p->refused = gen;
	pthread_mutex_unlock(&p->lock);
}

unsigned kube_exec_runs(struct kube_exec *p)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = p->runs;
	pthread_mutex_unlock(&p->lock);
	return n;
}
