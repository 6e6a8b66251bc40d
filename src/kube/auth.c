// SPDX-License-Identifier: Apache-2.0
/*
 * auth.c - the credentials of the client's requests (see client_int.h): a
 * bearer token from the configuration or from a token file (re-read when it
 * rotates, at most every KUBE_TOKEN_RECHECK_MS, and at once after a 401),
 * an exec credential plugin's token or certificate (exec_cred.c runs the
 * plugin and caches its credential; this file asks it), and the words that
 * say which credential the server refused. Client certificates from the
 * configuration are TLS options (transport.c).
 *
 * Locks: token_cache.lock guards the cached token, a leaf; the plugin's own
 * lock is taken with it not held, so a plugin run blocks no token reader.
 */
#include "kube/client_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kube/kubeconfig.h"

void kube_auth_release(struct auth *a)
{
	if (a->hdr)
		explicit_bzero(a->hdr, strlen(a->hdr));
	free(a->hdr);
	kube_exec_cred_release(&a->cred);
	memset(a, 0, sizeof(*a));
}

/*
 * The exec plugin's provider, with what KUBERNETES_EXEC_INFO tells it about
 * the cluster (the CA file is read for it, as client-go does).
 */
static struct kube_exec *exec_provider(const struct kube_config *cfg)
{
	struct kube_exec_cluster cl = { cfg->server, cfg->ca_data, cfg->ca_data_len, cfg->insecure };
	char *ca = NULL;
	size_t len = 0;
	struct kube_exec *p;

	if (cfg->exec->provide_cluster_info && !cfg->ca_data && cfg->ca_file &&
	    !kube_read_file(cfg->ca_file, KUBE_CONFIG_MAX_SIZE, &ca, &len, NULL)) {
		cl.ca_data = ca;
		cl.ca_len = len;
	}
	p = kube_exec_new(cfg->exec, &cl);
	free(ca);
	return p;
}

void kube_auth_cache_init(struct token_cache *t, const struct kube_config *cfg,
			  const struct token_cache *exec_of)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->static_token = xstrdup(cfg->token);
	t->file = xstrdup(cfg->token_file);
	if (cfg->exec)
		t->exec = exec_of && exec_of->exec ? kube_exec_ref(exec_of->exec)
						   : exec_provider(cfg);
}

void kube_auth_cache_copy(struct token_cache *t, const struct token_cache *base)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->static_token = xstrdup(base->static_token);
	t->file = xstrdup(base->file);
	t->exec = kube_exec_ref(base->exec);
}

void kube_auth_cache_release(struct token_cache *t)
{
	pthread_mutex_destroy(&t->lock);
	free(t->static_token);
	free(t->file);
	if (t->current)
		explicit_bzero(t->current, strlen(t->current));
	free(t->current);
	kube_exec_unref(t->exec);
	memset(t, 0, sizeof(*t));
}

/* ---- bearer token ---- */

/* See client_int.h. */
int kube_auth_get(struct kube_client *c, bool force, uint64_t used, struct auth *a,
		  struct err *e)
{
	struct token_cache *t = &c->tok;
	int64_t now = clock_now_ms();
	const char *tok;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	if (t->exec) {
		/* the plugin's own lock; ours is not held across a run */
		if ((rc = kube_exec_get(t->exec, force ? used : 0, &a->cred, &a->gen, e)))
			return rc;
		if (a->cred.token)
			a->hdr = xasprintf("Authorization: Bearer %s", a->cred.token);
		return 0;
	}
	pthread_mutex_lock(&t->lock);
	if (t->file && (force || !t->checked_ms || now - t->checked_ms >= KUBE_TOKEN_RECHECK_MS)) {
		struct stat st;
		struct err re = ERR_INIT;

		t->checked_ms = now;
		if (stat(t->file, &st)) {
			if (!t->current && !t->static_token)
				rc = err_set(e, KUBE_ERR_UNAUTHORIZED, "cannot read token file '%s': %s",
					     t->file, strerror(errno));
			else
				log_warn("cannot read token file '%s': %s; using the last token",
					 t->file, strerror(errno));
		} else if (force || !t->current || st.st_ino != t->ino || st.st_size != t->size ||
			   st.st_mtim.tv_sec != t->mtime.tv_sec ||
			   st.st_mtim.tv_nsec != t->mtime.tv_nsec) {
			char *data = NULL;
			size_t len = 0;

			if (kube_read_file(t->file, KUBE_TOKEN_MAX_SIZE, &data, &len, &re) ||
			    kube_token_clean(data, &len, t->file, &re)) {
				if (!t->current && !t->static_token)
					rc = err_set(e, KUBE_ERR_UNAUTHORIZED, "token file: %s",
						     err_msg(&re));
				else
					log_warn("token file: %s; using the last token", err_msg(&re));
				if (data)
					explicit_bzero(data, len);
				free(data);
			} else {
				if (t->current)
					explicit_bzero(t->current, strlen(t->current));
				free(t->current);
				t->current = data;
				t->ino = st.st_ino;
				t->size = st.st_size;
				t->mtime = st.st_mtim;
				log_v(4, "read bearer token from '%s'", t->file);
			}
			err_release(&re);
		}
	}
	tok = t->current && *t->current ? t->current : t->static_token;
	if (!rc && tok && *tok)
		a->hdr = xasprintf("Authorization: Bearer %s", tok);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/*
 * The server says only "Unauthorized": add which request and which
 * credential it refused, so the reader knows what to fix.
 */
void kube_auth_explain(struct kube_client *c, int rc, const char *verb, const char *path,
		       struct err *e)
{
	char *cred;

	if (rc != KUBE_ERR_UNAUTHORIZED)
		return;
	if (c->tok.file)
		cred = xasprintf("the bearer token from file '%s'", c->tok.file);
	else if (c->tok.static_token)
		cred = xstrdup("the bearer token of the configuration");
	else if (c->tok.exec)
		cred = xstrdup("the credential of the exec plugin (run again once)");
	else if (c->cert_file || c->cert_data)
		cred = xstrdup("the client certificate");
	else
		cred = xstrdup("an anonymous request (no credentials configured)");
	err_set(e, rc, "%s %s: %s: the API server did not accept %s", verb, path, err_msg(e),
		cred);
	free(cred);
}
