// SPDX-License-Identifier: Apache-2.0
/*
 * informer-dump - run one informer from src/informer against a real API
 * server and show what it holds, so shell tests can compare the cache with
 * `kubectl get -o jsonpath` output; or make one request with src/kube.
 *
 *   informer-dump [OPTIONS] watch RESOURCE DIR
 *   informer-dump [OPTIONS] get PATH
 *   informer-dump [OPTIONS] stress THREADS COUNT PATH HOLDFILE
 *
 * watch: RESOURCE is one of pv pvc sc node csinode secret va vac csc vs vsc
 * lease. The tool creates in DIR:
 *   events   one line per handler call, in order: "ADD|UPDATE|DELETE key rv"
 *   synced   written (atomically) once the first list is in the cache
 *   control  a FIFO of commands, one per line:
 *              dump FILE    write the cache to FILE (atomically): one
 *                           "key resourceVersion" line per object, sorted by key
 *              pause FILE   stop watching; write "paused" to FILE once the
 *                           informer is idle ("timeout" if it did not get idle)
 *              resume       watch again from the last resourceVersion
 *              quit         exit 0 (as SIGTERM and SIGINT do)
 * Logs (src/base/log) go to stderr.
 *
 * get: one GET of an absolute API path; prints "ok" and, for a list, the
 * item count; on failure prints "error KUBE_ERR_<NAME>: message" to stderr
 * and exits 1.
 *
 * stress: THREADS threads each GET PATH COUNT times, half of them on one
 * client and half on a kube_client_new_sibling of it (with a rate limit of
 * its own), while one more thread watches PATH; prints "ok N requests" (or the first
 * error, exit 1), then writes "done" to HOLDFILE and waits, still holding
 * its connections, until HOLDFILE is removed, so a test can count them.
 *
 * Options: --kubeconfig=PATH (else $KUBECONFIG), --selector=LABELSELECTOR
 * (watch only), --v=N. Usage errors exit 64.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "informer/informer.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/objects.h"
#include "kube/status.h"

#define EXIT_USAGE 64
#define PAUSE_TIMEOUT_MS 30000
#define CONTROL_LINE_MAX 4096

/* Adapters from the typed decoders to the informer's void* interface. */
#define ADAPT(T, fn)								\
	static int dec_##fn(json_t *o, void *out, struct err *e)		\
	{ return kube_##fn##_decode(o, out, e); }				\
	static void rel_##fn(void *p) { kube_##fn##_release(p); }
ADAPT(pv, pv)
ADAPT(pvc, pvc)
ADAPT(storage_class, storage_class)
ADAPT(node, node)
ADAPT(csinode, csinode)
ADAPT(secret, secret)
ADAPT(volume_attachment, volume_attachment)
ADAPT(vac, vac)
ADAPT(csi_capacity, csi_capacity)
ADAPT(volume_snapshot, volume_snapshot)
ADAPT(snapshot_content, snapshot_content)
ADAPT(lease, lease)

struct resource {
	const char *alias;
	const char *name;
	const char *path;
	size_t size;
	int (*decode)(json_t *, void *, struct err *);
	void (*release)(void *);
};

static const struct resource resources[] = {
	{ "pv", "persistentvolumes", "/api/v1/persistentvolumes",
	  sizeof(struct kube_pv), dec_pv, rel_pv },
	{ "pvc", "persistentvolumeclaims", "/api/v1/persistentvolumeclaims",
	  sizeof(struct kube_pvc), dec_pvc, rel_pvc },
	{ "sc", "storageclasses", "/apis/storage.k8s.io/v1/storageclasses",
	  sizeof(struct kube_storage_class), dec_storage_class, rel_storage_class },
	{ "node", "nodes", "/api/v1/nodes", sizeof(struct kube_node), dec_node, rel_node },
	{ "csinode", "csinodes", "/apis/storage.k8s.io/v1/csinodes",
	  sizeof(struct kube_csinode), dec_csinode, rel_csinode },
	{ "secret", "secrets", "/api/v1/secrets", sizeof(struct kube_secret), dec_secret,
	  rel_secret },
	{ "va", "volumeattachments", "/apis/storage.k8s.io/v1/volumeattachments",
	  sizeof(struct kube_volume_attachment), dec_volume_attachment,
	  rel_volume_attachment },
	{ "vac", "volumeattributesclasses", "/apis/storage.k8s.io/v1/volumeattributesclasses",
	  sizeof(struct kube_vac), dec_vac, rel_vac },
	{ "csc", "csistoragecapacities", "/apis/storage.k8s.io/v1/csistoragecapacities",
	  sizeof(struct kube_csi_capacity), dec_csi_capacity, rel_csi_capacity },
	{ "vs", "volumesnapshots", "/apis/snapshot.storage.k8s.io/v1/volumesnapshots",
	  sizeof(struct kube_volume_snapshot), dec_volume_snapshot, rel_volume_snapshot },
	{ "vsc", "volumesnapshotcontents",
	  "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents",
	  sizeof(struct kube_snapshot_content), dec_snapshot_content, rel_snapshot_content },
	{ "lease", "leases", "/apis/coordination.k8s.io/v1/leases", sizeof(struct kube_lease),
	  dec_lease, rel_lease },
};

static void usage(void)
{
	fprintf(stderr,
		"usage: informer-dump [--kubeconfig=PATH] [--selector=SEL] [--v=N] watch RESOURCE DIR\n"
		"       informer-dump [--kubeconfig=PATH] [--v=N] get PATH\n"
		"       informer-dump [--kubeconfig=PATH] [--v=N] stress THREADS COUNT PATH HOLDFILE\n"
		"resources: pv pvc sc node csinode secret va vac csc vs vsc lease\n");
}

/* Write `data` to `path` through a temporary file and rename, so a reader
 * that sees the file sees all of it. */
static int write_atomic(const char *path, const char *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int rc = 0;

	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		log_error("cannot write '%s': %s", tmp, strerror(errno));
		rc = -1;
	} else if (rename(tmp, path)) {
		log_error("cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
		rc = -1;
	}
	free(tmp);
	return rc;
}

static FILE *events;
static atomic_bool stopping;

static void on_event(void *ctx, enum informer_event ev, const char *key,
		     const struct iobj *old, const struct iobj *cur)
{
	static const char *const names[] = { "ADD", "UPDATE", "DELETE" };
	const struct kube_meta *m = iobj_data(cur);

	(void)ctx;
	(void)old;
	fprintf(events, "%s %s %s\n", names[ev], key,
		m->resource_version ? m->resource_version : "-");
	fflush(events);
}

struct keyed {
	char *key;
	const char *rv;
};

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

static int dump(struct informer *inf, const char *path)
{
	size_t n, i;
	struct iobj **all = informer_list(inf, &n);
	struct keyed *k = xcalloc(n + 1, sizeof(*k));
	struct buf out;
	int rc;

	buf_init(&out, (size_t)1 << 30);
	for (i = 0; i < n; i++) {
		const struct kube_meta *m = iobj_data(all[i]);

		k[i].key = informer_key_of(m);
		k[i].rv = m->resource_version ? m->resource_version : "-";
	}
	qsort(k, n, sizeof(*k), by_key);
	for (i = 0; i < n; i++) {
		buf_appendf(&out, "%s %s\n", k[i].key, k[i].rv);
		free(k[i].key);
	}
	free(k);
	rc = write_atomic(path, out.data ? out.data : "", out.len);
	buf_release(&out);
	informer_list_free(all, n);
	return rc;
}

/* Run one control command; returns 1 for quit. */
static int command(struct informer *inf, char *line)
{
	char *arg = strchr(line, ' ');

	if (arg)
		*arg++ = '\0';
	if (!strcmp(line, "dump") && arg) {
		dump(inf, arg);
	} else if (!strcmp(line, "pause") && arg) {
		const char *r = informer_pause(inf, PAUSE_TIMEOUT_MS) ? "paused\n" : "timeout\n";

		write_atomic(arg, r, strlen(r));
	} else if (!strcmp(line, "resume")) {
		informer_resume(inf);
	} else if (!strcmp(line, "quit")) {
		return 1;
	} else {
		log_error("unknown control command '%s'", line);
	}
	return 0;
}

static const struct resource *find_resource(const char *alias)
{
	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
		if (!strcmp(resources[i].alias, alias))
			return &resources[i];
	return NULL;
}

static void *wait_synced(void *arg)
{
	void **a = arg;
	struct informer *inf = a[0];
	const char *path = a[1];

	while (!informer_wait_synced(inf, 1000))
		if (atomic_load(&stopping))
			return NULL;
	{
		char *msg = xasprintf("%zu\n", informer_count(inf));

		write_atomic(path, msg, strlen(msg));
		log_info("synced: %zu objects", informer_count(inf));
		free(msg);
	}
	return NULL;
}

static int run_watch(struct kube_client *c, const char *alias, const char *dir,
		     const char *selector)
{
	const struct resource *r = find_resource(alias);
	struct informer_type t;
	struct informer *inf;
	struct err e = ERR_INIT;
	char *control = xasprintf("%s/control", dir), *evpath = xasprintf("%s/events", dir);
	char *synced = xasprintf("%s/synced", dir), *path = NULL;
	struct buf line;
	pthread_t syncer;
	void *sargs[2];
	sigset_t sigs;
	int fd = -1, sfd = -1, rc = 1;
	bool quit = false;

	buf_init(&line, CONTROL_LINE_MAX);
	if (!r) {
		usage();
		rc = EXIT_USAGE;
		goto out;
	}
	if (selector) {
		char *esc = kube_path_escape(selector);

		path = xasprintf("%s?labelSelector=%s", r->path, esc);
		free(esc);
	} else {
		path = xstrdup(r->path);
	}
	t = (struct informer_type){ r->name, path, r->size, r->decode, r->release };
	unlink(control);
	if (mkfifo(control, 0600)) {
		log_error("cannot create fifo '%s': %s", control, strerror(errno));
		goto out;
	}
	/* O_RDWR: the FIFO never reports end-of-file when a writer leaves. */
	fd = open(control, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	events = fopen(evpath, "w");
	if (fd < 0 || !events) {
		log_error("cannot open '%s' or '%s': %s", control, evpath, strerror(errno));
		goto out;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);	/* before any thread starts */
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		log_error("signalfd: %s", strerror(errno));
		goto out;
	}

	inf = informer_new(c, &t, 0);
	informer_add_handler(inf, on_event, NULL);
	if (informer_start(inf, &e)) {
		log_error("%s", err_msg(&e));
		err_release(&e);
		informer_free(inf);
		goto out;
	}
	sargs[0] = inf;
	sargs[1] = synced;
	pthread_create(&syncer, NULL, wait_synced, sargs);

	while (!quit) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		char chunk[512];
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents) {
			log_info("signal: stopping");
			break;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			continue;
		for (ssize_t i = 0; i < n && !quit; i++) {
			if (chunk[i] != '\n') {
				if (buf_append(&line, &chunk[i], 1)) {
					log_error("control line longer than %d bytes", CONTROL_LINE_MAX);
					buf_reset(&line);
				}
				continue;
			}
			if (line.len)
				quit = command(inf, line.data) == 1;
			buf_reset(&line);
		}
	}
	atomic_store(&stopping, true);
	informer_stop(inf);
	pthread_join(syncer, NULL);
	informer_free(inf);
	rc = 0;
out:
	if (events)
		fclose(events);
	if (fd >= 0)
		close(fd);
	if (sfd >= 0)
		close(sfd);
	unlink(control);
	buf_release(&line);
	free(control);
	free(evpath);
	free(synced);
	free(path);
	return rc;
}

static int run_get(struct kube_client *c, const char *path)
{
	struct err e = ERR_INIT;
	json_t *out = NULL, *items;
	int rc = kube_get(c, path, &out, &e);

	if (rc) {
		fprintf(stderr, "error %s: %s\n", kube_code_name(rc), err_msg(&e));
		err_release(&e);
		return 1;
	}
	items = json_object_get(out, "items");
	if (json_is_array(items))
		printf("ok %zu items\n", json_array_size(items));
	else
		printf("ok\n");
	json_decref(out);
	return 0;
}

struct stress {
	struct kube_client *c, *sibling;
	const char *path;
	long count;
	atomic_long ok, failed;
	atomic_bool stop;
};

static int stress_event(void *ctx, const char *type, json_t *obj)
{
	(void)ctx;
	(void)type;
	(void)obj;
	return 0;
}

static void *stress_watch(void *arg)
{
	struct stress *s = arg;
	char *path = xasprintf("%s?watch=1&timeoutSeconds=60", s->path);

	while (!atomic_load(&s->stop)) {
		struct err e = ERR_INIT;

		if (kube_watch(s->c, path, stress_event, s, &s->stop, &e) &&
		    err_code(&e) != KUBE_ERR_CANCELLED)
			log_error("stress watch: %s", err_msg(&e));
		err_release(&e);
	}
	free(path);
	return NULL;
}

struct stress_thread {
	struct stress *s;
	struct kube_client *c;
};

static void *stress_get(void *arg)
{
	struct stress_thread *st = arg;
	struct stress *s = st->s;

	for (long i = 0; i < s->count; i++) {
		struct err e = ERR_INIT;
		json_t *out = NULL;

		if (kube_get(st->c, s->path, &out, &e)) {
			if (atomic_fetch_add(&s->failed, 1) == 0)
				fprintf(stderr, "error %s: %s\n", kube_code_name(err_code(&e)), err_msg(&e));
		} else {
			atomic_fetch_add(&s->ok, 1);
		}
		json_decref(out);
		err_release(&e);
	}
	return NULL;
}

static int run_stress(struct kube_client *c, const char *threads, const char *count,
		      const char *path, const char *hold)
{
	struct stress s = { .c = c, .path = path };
	struct kube_client_opts o = { .qps = -1, .user_agent = "informer-dump" };
	long nt = strtol(threads, NULL, 10);
	struct stress_thread *sts;
	struct err e = ERR_INIT;
	pthread_t *th, watcher;
	FILE *f;
	int rc = 0;

	s.count = strtol(count, NULL, 10);
	if (nt < 1 || nt > 256 || s.count < 1) {
		usage();
		return EXIT_USAGE;
	}
	if (kube_client_new_sibling(&s.sibling, c, &o, &e)) {
		fprintf(stderr, "error %s: %s\n", kube_code_name(err_code(&e)), err_msg(&e));
		err_release(&e);
		return 1;
	}
	th = xcalloc((size_t)nt, sizeof(*th));
	sts = xcalloc((size_t)nt, sizeof(*sts));
	pthread_create(&watcher, NULL, stress_watch, &s);
	for (long i = 0; i < nt; i++) {
		sts[i].s = &s;
		sts[i].c = i % 2 ? s.sibling : c;
		pthread_create(&th[i], NULL, stress_get, &sts[i]);
	}
	for (long i = 0; i < nt; i++)
		pthread_join(th[i], NULL);
	free(th);
	free(sts);
	if (atomic_load(&s.failed)) {
		atomic_store(&s.stop, true);
		pthread_join(watcher, NULL);
		kube_client_free(s.sibling);
		return 1;
	}
	printf("ok %ld requests\n", atomic_load(&s.ok));
	fflush(stdout);
	f = fopen(hold, "w");
	if (f) {
		fputs("done\n", f);
		fclose(f);
	}
	/* hold the connections (and the watch) until the test has counted them */
	while (f && access(hold, F_OK) == 0)
		usleep(50 * 1000);	/* poll interval of the hand-back, not a sync */
	atomic_store(&s.stop, true);
	pthread_join(watcher, NULL);
	kube_client_free(s.sibling);	/* before its base: either order works */
	return rc;
}

int main(int argc, char **argv)
{
	const char *kubeconfig = NULL, *selector = NULL;
	struct kube_client_opts o = { .qps = -1, .user_agent = "informer-dump" };
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	struct err e = ERR_INIT;
	int i, rc;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strncmp(argv[i], "--kubeconfig=", 13)) {
			kubeconfig = argv[i] + 13;
		} else if (!strncmp(argv[i], "--selector=", 11)) {
			selector = argv[i] + 11;
		} else if (!strncmp(argv[i], "--v=", 4)) {
			char *end;
			long v = strtol(argv[i] + 4, &end, 10);

			if (*end || v < 0 || v > 10) {
				usage();
				return EXIT_USAGE;
			}
			log_set_level((int)v);
		} else {
			usage();
			return EXIT_USAGE;
		}
	}
	argc -= i;
	argv += i;
	if (!(argc == 3 && !strcmp(argv[0], "watch")) && !(argc == 2 && !strcmp(argv[0], "get")) &&
	    !(argc == 5 && !strcmp(argv[0], "stress"))) {
		usage();
		return EXIT_USAGE;
	}
	if (kube_config_load(&cfg, kubeconfig, &e) || kube_client_new(&c, cfg, &o, &e)) {
		fprintf(stderr, "error %s: %s\n", kube_code_name(err_code(&e)), err_msg(&e));
		err_release(&e);
		kube_config_free(cfg);
		return 1;
	}
	if (!strcmp(argv[0], "get"))
		rc = run_get(c, argv[1]);
	else if (!strcmp(argv[0], "stress"))
		rc = run_stress(c, argv[1], argv[2], argv[3], argv[4]);
	else
		rc = run_watch(c, argv[1], argv[2], selector);
	kube_client_free(c);
	kube_config_free(cfg);
	return rc;
}
