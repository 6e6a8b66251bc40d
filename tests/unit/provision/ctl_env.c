// SPDX-License-Identifier: Apache-2.0
/*
 * ctl_env.c - the fakes and clients the controller tests share (ctl_env.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ctl_env.h"
#include "kube/kubeconfig.h"
#include "provision/plan.h"

/* CreateVolumeResponse{volume{capacity_bytes: 1 GiB, volume_id: "vol-1"}}. */
static const uint8_t create_ok[] = { 0x0a, 0x0d, 0x08, 0x80, 0x80, 0x80, 0x80, 0x04,
				     0x12, 0x05, 'v', 'o', 'l', '-', '1' };

void ctl_env_start(struct ctl_env *env)
{
	struct kube_config cfg = { 0 };
	struct kube_client_opts ko = { .qps = -1 };
	struct err e = ERR_INIT;

	env->k = fcl_start();
	assert_non_null(env->k);
	cfg.server = (char *)fcl_url(env->k);
	if (kube_client_new(&env->kc, &cfg, &ko, &e))
		fail_msg("kube_client_new: %s", err_msg(&e));
	env->d = fake_driver_start();
	assert_non_null(env->d);
	ctl_env_script_create_ok(env);
	fake_driver_script_method(env->d, CTL_DELETE, 0, NULL, NULL, 0);
	if (csi_client_new(&env->cc, fake_driver_endpoint(env->d), 10000, &e))
		fail_msg("csi_client_new: %s", err_msg(&e));
}

void ctl_env_script_create_ok(struct ctl_env *env)
{
	fake_driver_script_method(env->d, CTL_CREATE, 0, NULL, create_ok, sizeof(create_ok));
}

void ctl_env_stop(struct ctl_env *env)
{
	csi_client_free(env->cc);
	fake_driver_stop(env->d);
	kube_client_free(env->kc);
	fcl_stop(env->k);
}

void ctl_env_put_class(struct ctl_env *env, const char *name, const char *driver,
		       const char *binding)
{
	json_t *sc = json_pack("{s:s, s:{s:s}, s:s, s:s, s:s}", "apiVersion",
			       "storage.k8s.io/v1", "metadata", "name", name, "provisioner", driver,
			       "reclaimPolicy", "Delete", "volumeBindingMode", binding);

	fcl_put(env->k, FCL_SC, sc);
	json_decref(sc);
}

json_t *ctl_env_claim(const char *ns, const char *name, const char *uid, const char *driver,
		      const char *class)
{
	return json_pack("{s:s, s:{s:s, s:s, s:s, s:{s:s}}, s:{s:s, s:[s], s:{s:{s:s}}}}",
			 "apiVersion", "v1", "metadata", "name", name, "namespace", ns,
			 "uid", uid, "annotations", ANN_STORAGE_PROVISIONER, driver,
			 "spec", "storageClassName", class, "accessModes", "ReadWriteOnce",
			 "resources", "requests", "storage", "1Gi");
}

bool ctl_pv_exists(void *ctx)
{
	struct ctl_want *w = ctx;
	json_t *pv = fcl_get(w->env->k, FCL_PV, NULL, w->name);

	json_decref(pv);
	return pv != NULL;
}

bool ctl_creates_at_least(void *ctx)
{
	struct ctl_want *w = ctx;

	return fake_driver_count(w->env->d, CTL_CREATE) >= w->n;
}
