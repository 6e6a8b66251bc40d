// SPDX-License-Identifier: Apache-2.0
/*
 * bare-client - the "bare-client limit" of the provisioning benchmark
 * (bench/provision/run --bare): create N PersistentVolumes through our
 * Kubernetes client (src/kube: the daemon's request path, the same token bucket or adaptive
 * pacing as the daemon) from THREADS threads, and nothing else: no
 * informer, no driver, no events. The time it takes is the floor a
 * provisioner at the same settings cannot beat.
 *
 *   bare-client --kubeconfig=PATH [--qps=Q --burst=B] [--threads=T] N PREFIX
 *
 * Without --qps the client paces itself as the daemon does by default
 * (following the server's priority and fairness). The PVs are PREFIX-<i>,
 * of driver bare.example.com, reclaim policy Retain, no claim. One GET goes
 * first, outside the time (a provisioner's connection is warm). Prints
 * "created N in S s; cpu C s, context switches V voluntary I involuntary"
 * (the whole process, getrusage); exits 1 on the first failed create.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

struct job {
	struct kube_client *kube;
	const char *prefix;
	long n;
	atomic_long next;
	atomic_int failed;
};

static json_t *pv_body(const char *name)
{
	return json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}, s:[s], s:s, s:{s:s, s:s}}}",
			 "apiVersion", "v1", "kind", "PersistentVolume", "metadata", "name", name,
			 "spec", "capacity", "storage", "1Mi", "accessModes", "ReadWriteOnce",
			 "persistentVolumeReclaimPolicy", "Retain", "csi", "driver",
			 "bare.example.com", "volumeHandle", name);
}

static void *worker(void *arg)
{
	struct job *j = arg;
	long i;

	while (!atomic_load(&j->failed) && (i = atomic_fetch_add(&j->next, 1)) < j->n) {
		char *name = xasprintf("%s-%ld", j->prefix, i);
		json_t *body = pv_body(name);
		struct err e = ERR_INIT;

		if (kube_create(j->kube, "/api/v1/persistentvolumes", body, NULL, &e)) {
			fprintf(stderr, "bare-client: creating %s: %s\n", name, err_msg(&e));
			atomic_store(&j->failed, 1);
			err_release(&e);
		}
		json_decref(body);
		free(name);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *kubeconfig = getenv("KUBECONFIG");
	struct kube_client_opts o = { .adaptive = true };
	struct kube_config *cfg = NULL;
	struct job j = { 0 };
	struct err e = ERR_INIT;
	json_t *warm = NULL;
	long threads = 100;
	pthread_t *tids;
	int64_t t0;
	int a;

	for (a = 1; a < argc && !strncmp(argv[a], "--", 2); a++) {
		if (!strncmp(argv[a], "--kubeconfig=", 13))
			kubeconfig = argv[a] + 13;
		else if (!strncmp(argv[a], "--qps=", 6))
			o.qps = atof(argv[a] + 6), o.adaptive = false;
		else if (!strncmp(argv[a], "--burst=", 8))
			o.burst = atoi(argv[a] + 8);
		else if (!strncmp(argv[a], "--threads=", 10))
			threads = atol(argv[a] + 10);
		else
			break;
	}
	if (argc - a != 2 || !kubeconfig || threads < 1 || (j.n = atol(argv[a])) < 1) {
		fprintf(stderr, "usage: bare-client --kubeconfig=PATH [--qps=Q --burst=B] "
			"[--threads=T] N PREFIX\n");
		return 64;
	}
	j.prefix = argv[a + 1];
	log_set_level(0);
	if (kube_config_load(&cfg, kubeconfig, &e) || kube_client_new(&j.kube, cfg, &o, &e)) {
		fprintf(stderr, "bare-client: %s\n", err_msg(&e));
		return 1;
	}
	/* one request first, as a provisioner has made many before its claims come: the
	 * connection is up and the pacing knows the server's flow control */
	if (kube_get(j.kube, "/api/v1/persistentvolumes?limit=1", &warm, &e)) {
		fprintf(stderr, "bare-client: %s\n", err_msg(&e));
		return 1;
	}
	json_decref(warm);
	tids = xcalloc((size_t)threads, sizeof(*tids));
	t0 = clock_now_ms();
	for (long t = 0; t < threads; t++)
		if (pthread_create(&tids[t], NULL, worker, &j)) {
			fprintf(stderr, "bare-client: cannot start thread %ld\n", t);
			return 1;
		}
	for (long t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	if (!atomic_load(&j.failed)) {
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		printf("created %ld in %.2f s; cpu %.2f s, context switches %ld voluntary %ld involuntary\n",
		       j.n, (double)(clock_now_ms() - t0) / 1000.0,
		       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		       ru.ru_nvcsw, ru.ru_nivcsw);
	}
	free(tids);
	kube_client_free(j.kube);
	kube_config_free(cfg);
	return atomic_load(&j.failed) ? 1 : 0;
}
