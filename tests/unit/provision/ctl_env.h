/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctl_env.h - the world the controller tests (test_claim_sync.c,
 * test_node_claim.c) run the controller in: the in-process fake API server
 * (fake_cluster.c), the scripted fake CSI driver (tests/unit/csi), and a
 * kube and a CSI client connected to them; plus the objects both put there.
 */
#ifndef TEST_CTL_ENV_H
#define TEST_CTL_ENV_H

#include <jansson.h>

#include "csi/client.h"
#include "fake_cluster.h"
#include "fake_driver.h"
#include "kube/client.h"

#define CTL_CREATE "/csi.v1.Controller/CreateVolume"
#define CTL_DELETE "/csi.v1.Controller/DeleteVolume"

struct ctl_env {
	struct fcl *k;			/* the fake API server */
	struct fake_driver *d;		/* the fake CSI driver */
	struct kube_client *kc;		/* a client of k, no rate limit */
	struct csi_client *cc;		/* a client of d */
};

/*
 * Start both fakes and connect the clients (a failure fails the test). The
 * driver answers CreateVolume with volume "vol-1" of 1 GiB and DeleteVolume
 * with success until the test scripts otherwise.
 */
void ctl_env_start(struct ctl_env *env);
void ctl_env_stop(struct ctl_env *env);

/* The driver answers CreateVolume with volume "vol-1" of 1 GiB again. */
void ctl_env_script_create_ok(struct ctl_env *env);

/* A StorageClass `name` of `driver`, reclaimPolicy Delete, with `binding` mode. */
void ctl_env_put_class(struct ctl_env *env, const char *name, const char *driver,
		       const char *binding);

/*
 * A 1Gi ReadWriteOnce claim of class `class` in namespace `ns`, annotated as
 * `driver`'s to provision; the caller adds what it needs, puts and frees it.
 */
json_t *ctl_env_claim(const char *ns, const char *name, const char *uid, const char *driver,
		      const char *class);

/*
 * Conditions for fcl_wait_for (CTL_WAIT): PV w->name exists; the driver got
 * at least w->n CreateVolume calls.
 */
struct ctl_want {
	struct ctl_env *env;
	const char *name;
	int n;
	void *extra;		/* for a test's own conditions */
};
bool ctl_pv_exists(void *ctx);
bool ctl_creates_at_least(void *ctx);

/* Wait up to CTL_WAIT_MS for cond (a failure fails the test). */
#define CTL_WAIT_MS 15000
#define CTL_WAIT(env_, cond, name_, n_, extra_) \
	do { \
		struct ctl_want w_ = { .env = (env_), .name = (name_), .n = (n_), \
				       .extra = (extra_) }; \
		if (!fcl_wait_for((env_)->k, cond, &w_, CTL_WAIT_MS)) \
			fail_msg("timed out waiting for %s (%s, %d)", #cond, \
				 (name_) ? (name_) : "", (n_)); \
	} while (0)

#endif
