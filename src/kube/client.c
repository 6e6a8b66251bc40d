// SPDX-License-Identifier: Apache-2.0
/*
 * client.c - the Kubernetes REST client's lifecycle (see client.h): a
 * client from a configuration, a sibling sharing another's connection, and
 * freeing. The work is done elsewhere, along curl's lines (client_int.h
 * lists the files and the locks): transport.c, auth.c, request.c, watch.c.
 */
#include "kube/client_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "kube/json_arena.h"

#ifndef CSI_PROVISIONER_VERSION
#define CSI_PROVISIONER_VERSION "dev"
#endif

static char *memdup0(const char *p, size_t n)
{
	char *q;

	if (!p)
		return NULL;
	q = xmalloc(n + 1);
	memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

/*
 * What every client has, from a configuration (a sibling passes one made
 * of its base's fields): server, TLS identity, options, pacing, pool.
 */
static struct kube_client *client_alloc(const struct kube_config *cfg,
					const struct kube_client_opts *o,
					const char *default_agent)
{
	struct kube_client *c = xcalloc(1, sizeof(*c));

	c->server = xstrdup(cfg->server);
	c->ca_file = xstrdup(cfg->ca_file);
	c->ca_data = memdup0(cfg->ca_data, cfg->ca_data_len);
	c->ca_len = cfg->ca_data_len;
	c->insecure = cfg->insecure;
	c->cert_file = xstrdup(cfg->client_cert_file);
	c->key_file = xstrdup(cfg->client_key_file);
	c->cert_data = memdup0(cfg->client_cert_data, cfg->client_cert_data_len);
	c->cert_len = cfg->client_cert_data_len;
	c->key_data = memdup0(cfg->client_key_data, cfg->client_key_data_len);
	c->key_len = cfg->client_key_data_len;
	c->user_agent = xstrdup(o->user_agent ? o->user_agent : default_agent);
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : KUBE_DEFAULT_TIMEOUT_MS;
	c->body_max = o->body_max ? o->body_max : KUBE_BODY_MAX;
	atomic_init(&c->closed, false);
	pthread_mutex_init(&c->pool_lock, NULL);
	return c;
}

int kube_client_new(struct kube_client **out, const struct kube_config *cfg,
		    const struct kube_client_opts *o, struct err *e)
{
	struct kube_client_opts def = { 0 };
	const curl_version_info_data *vi;
	struct kube_client *c;
	int rc;

	*out = NULL;
	if (!o)
		o = &def;
	if (!cfg || !cfg->server || !*cfg->server)
		return err_set(e, KUBE_ERR_INVALID, "no API server address configured");
	if ((rc = kube_config_check(cfg, e)))
		return rc;
	if ((rc = kube_curl_global_init(e)))
		return rc;
	/*
	 * jansson's allocation hooks for the watches' arenas, here where the
	 * first client is made (in main, before its threads), not at the
	 * first event, on a thread beside others already using jansson
	 */
	kube_json_arena_install();
	vi = curl_version_info(CURLVERSION_NOW);
	if (!strncmp(cfg->server, "https://", 8) && !(vi->features & CURL_VERSION_SSL))
		return err_set(e, KUBE_ERR_INVALID, "libcurl %s was built without TLS",
			       vi->version);

	c = client_alloc(cfg, o, "csi-provisioner/" CSI_PROVISIONER_VERSION);
	c->pace = kube_pacer_new(o);
	kube_auth_cache_init(&c->tok, cfg, o->credentials_of ? &o->credentials_of->tok : NULL);
	if ((rc = kube_tp_new(&c->tp, 0, e))) {
		kube_client_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* A client on base's connection and credentials with options `o`; no pacing yet. */
static struct kube_client *sibling_of(struct kube_client *base, const struct kube_client_opts *o)
{
	struct kube_config cfg = { 0 };
	struct kube_client *c;

	cfg.server = base->server;
	cfg.ca_file = base->ca_file;
	cfg.ca_data = base->ca_data;
	cfg.ca_data_len = base->ca_len;
	cfg.insecure = base->insecure;
	cfg.client_cert_file = base->cert_file;
	cfg.client_key_file = base->key_file;
	cfg.client_cert_data = base->cert_data;
	cfg.client_cert_data_len = base->cert_len;
	cfg.client_key_data = base->key_data;
	cfg.client_key_data_len = base->key_len;
	c = client_alloc(&cfg, o, base->user_agent);
	kube_auth_cache_copy(&c->tok, &base->tok);
	c->tp = base->tp;
	atomic_fetch_add(&c->tp->refs, 1);
	return c;
}

int kube_client_new_sibling(struct kube_client **out, struct kube_client *base,
			    const struct kube_client_opts *o, struct err *e)
{
	struct kube_client_opts def = { 0 };

	*out = NULL;
	if (!base)
		return err_set(e, KUBE_ERR_INVALID, "no client to share a connection with");
	if (!o)
		o = &def;
	*out = sibling_of(base, o);
	(*out)->pace = kube_pacer_new(o);
	return 0;
}

/*
 * A sibling of base with base's timeout, body limit and write guard; its
 * pacing is base's (best effort) or a new one at the defaults.
 */
static int derived(struct kube_client **out, struct kube_client *base, bool best_effort,
		   struct err *e)
{
	struct kube_client_opts o = { 0 };
	struct kube_client *c;

	*out = NULL;
	if (!base)
		return err_set(e, KUBE_ERR_INVALID, "no client to share a connection with");
	o.timeout_ms = base->timeout_ms;
	o.body_max = base->body_max;
	c = sibling_of(base, &o);
	c->pace = best_effort ? kube_pacer_ref(base->pace) : kube_pacer_new(&o);
	c->best_effort = best_effort;
	c->guard = base->guard;
	c->guard_ctx = base->guard_ctx;
	*out = c;
	return 0;
}

int kube_client_new_best_effort(struct kube_client **out, struct kube_client *base,
				struct err *e)
{
	return derived(out, base, true, e);
}

int kube_client_new_for_stop(struct kube_client **out, struct kube_client *base,
			     struct err *e)
{
	return derived(out, base, false, e);
}

void kube_client_free(struct kube_client *c)
{
	size_t i;

	if (!c)
		return;
	/* the handles first: the transport holds the share they point to */
	for (i = 0; i < c->n_pool; i++)
		curl_easy_cleanup(c->pool[i]);
	kube_tp_unref(c->tp);
	pthread_mutex_destroy(&c->pool_lock);
	kube_pacer_unref(c->pace);
	kube_auth_cache_release(&c->tok);
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_data);
	free(c->key_data);
	free(c->user_agent);
	free(c);
}
