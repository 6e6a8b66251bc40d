// SPDX-License-Identifier: Apache-2.0
/*
 * csi-call - a small command-line front end to src/csi, for shell tests and
 * for checking the client against a real CSI driver by hand.
 *
 *   csi-call [OPTIONS] ENDPOINT COMMAND [ARGS]
 *
 * Commands: probe | info | caps | capacity [k=v ...] |
 *           create NAME BYTES [k=v | secret:k=v | mutable:k=v | topo:k=v ...] |
 *           delete ID [secret:k=v ...] | list | loop N (one probe a second,
 *           with the channel's connected state after each) |
 *           snapshot SOURCE_VOLUME_ID NAME [k=v | secret:k=v ...] |
 *           delete-snapshot ID [secret:k=v ...]
 * Options:  --timeout=DUR (per call, default 10s), --wait=DUR (csi_wait_ready
 *           first), --fail-fast (no gRPC wait-for-ready), --block,
 *           --mode=N (access mode, default 1), --fs-type=T, --v=N.
 *
 * Results go to stdout as key=value lines (list: one volume id per line;
 * snapshot: "snapshot_id=ID size_bytes=N ready=true|false");
 * errors to stderr. The exit status is the call's code: 0, the gRPC status
 * (1..16), 100 for a local failure, 64 for a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/duration.h"
#include "base/err.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "csi/client.h"

#define EXIT_USAGE 64
#define MAX_KV 64
#define LIST_MAX_PAGES 10000

static void usage(void)
{
	fprintf(stderr,
		"usage: csi-call [--timeout=DUR] [--wait=DUR] [--fail-fast] [--block] [--mode=N]\n"
		"                [--fs-type=T] [--v=N] ENDPOINT COMMAND [ARGS]\n"
		"commands: probe | info | caps | capacity [k=v ...] | list | loop N |\n"
		"          create NAME BYTES [k=v|secret:k=v|mutable:k=v|topo:k=v ...] |\n"
		"          delete ID [secret:k=v ...] |\n"
		"          snapshot SOURCE_VOLUME_ID NAME [k=v|secret:k=v ...] |\n"
		"          delete-snapshot ID [secret:k=v ...]\n");
}

static int parse_long(const char *s, long min, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return -1;
	*out = v;
	return 0;
}

struct kvset {
	struct strmap_entry items[MAX_KV];
	size_t n;
};

/* Split "k=v" in place into the set; the strings stay argv's. */
static int kv_add(struct kvset *s, char *arg)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg || s->n == MAX_KV)
		return -1;
	*eq = '\0';
	s->items[s->n].key = arg;
	s->items[s->n].value = eq + 1;
	s->n++;
	return 0;
}

static struct strmap kv_map(struct kvset *s)
{
	return (struct strmap){ .items = s->n ? s->items : NULL, .n = s->n };
}

static void print_volume(const struct csi_volume *v)
{
	printf("volume_id=%s capacity_bytes=%" PRId64 "\n", v->volume_id, v->capacity_bytes);
	for (size_t i = 0; i < v->context.n; i++)
		printf("context.%s=%s\n", v->context.items[i].key, v->context.items[i].value);
	if (v->source_snapshot_id)
		printf("source_snapshot_id=%s\n", v->source_snapshot_id);
	if (v->source_volume_id)
		printf("source_volume_id=%s\n", v->source_volume_id);
	for (size_t i = 0; i < v->n_accessible_topology; i++)
		for (size_t j = 0; j < v->accessible_topology[i].n; j++)
			printf("topology.%zu.%s=%s\n", i, v->accessible_topology[i].items[j].key,
			       v->accessible_topology[i].items[j].value);
}

static void print_caps(const struct csi_plugin_caps *p, const struct csi_controller_caps *c)
{
#define P(s, f) printf("%s=%s\n", s, p->f ? "true" : "false")
	P("plugin.controller_service", controller_service);
	P("plugin.accessibility_constraints", accessibility_constraints);
	P("plugin.group_controller", group_controller);
	P("plugin.snapshot_metadata", snapshot_metadata);
	P("plugin.online_expansion", online_expansion);
	P("plugin.offline_expansion", offline_expansion);
#undef P
#define C(s, f) printf("controller.%s=%s\n", s, c->f ? "true" : "false")
	C("create_delete_volume", create_delete);
	C("publish_unpublish_volume", publish_unpublish);
	C("list_volumes", list_volumes);
	C("get_capacity", get_capacity);
	C("create_delete_snapshot", create_delete_snapshot);
	C("list_snapshots", list_snapshots);
	C("clone_volume", clone_volume);
	C("publish_readonly", publish_readonly);
	C("expand_volume", expand_volume);
	C("list_volumes_published_nodes", list_volumes_published_nodes);
	C("volume_condition", volume_condition);
	C("get_volume", get_volume);
	C("single_node_multi_writer", single_node_multi_writer);
	C("modify_volume", modify_volume);
	C("get_snapshot", get_snapshot);
#undef C
}

struct options {
	int64_t timeout_ms, wait_ms;
	bool fail_fast, block;
	long mode;
	const char *fs_type;
};

static int parse_option(struct options *o, const char *a)
{
	long v;

	if (!strncmp(a, "--timeout=", 10))
		return duration_parse_ms(a + 10, &o->timeout_ms) || o->timeout_ms <= 0 ? -1 : 0;
	if (!strncmp(a, "--wait=", 7))
		return duration_parse_ms(a + 7, &o->wait_ms);
	if (!strcmp(a, "--fail-fast")) {
		o->fail_fast = true;
		return 0;
	}
	if (!strcmp(a, "--block")) {
		o->block = true;
		return 0;
	}
	if (!strncmp(a, "--mode=", 7))
		return parse_long(a + 7, 0, &o->mode);
	if (!strncmp(a, "--fs-type=", 10)) {
		o->fs_type = a + 10;
		return 0;
	}
	if (!strncmp(a, "--v=", 4) && !parse_long(a + 4, 0, &v)) {
		log_set_level((int)v);
		return 0;
	}
	return -1;
}

/*
 * `loop N`: N probes one second apart on one client (one channel), printing
 * each outcome and whether the channel is connected after it.
 */
static int cmd_loop(struct csi_client *c, long n, struct err *e)
{
	int rc = 0;

	for (long i = 0; i < n; i++) {
		struct timespec pause = { 1, 0 };
		bool ready = false;

		if (i)
			nanosleep(&pause, NULL);	/* pacing for a human, not sync */
		rc = csi_probe(c, &ready, e);
		if (rc)
			printf("probe %ld: %s: %s connected=%s\n", i + 1, csi_code_name(rc),
			       err_msg(e), csi_client_connected(c) ? "true" : "false");
		else
			printf("probe %ld: OK ready=%s connected=%s\n", i + 1,
			       ready ? "true" : "false", csi_client_connected(c) ? "true" : "false");
		fflush(stdout);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = {
		.timeout_ms = 10000, .wait_ms = -1, .mode = CSI_ACCESS_SINGLE_NODE_WRITER,
	};
	int64_t timeout_ms, wait_ms;
	bool fail_fast, block;
	long mode;
	const char *fs_type, *endpoint, *cmd;
	struct csi_client *c = NULL;
	struct err e = ERR_INIT;
	int i, rc = 0;

	/* Options may come before or after ENDPOINT, but before COMMAND. */
	for (i = 1, endpoint = NULL; i < argc; i++) {
		if (strncmp(argv[i], "--", 2)) {
			if (endpoint)
				break;
			endpoint = argv[i];
			continue;
		}
		if (parse_option(&o, argv[i])) {
			fprintf(stderr, "csi-call: bad option '%s'\n", argv[i]);
			usage();
			return EXIT_USAGE;
		}
	}
	if (!endpoint || i == argc) {
		usage();
		return EXIT_USAGE;
	}
	cmd = argv[i++];
	timeout_ms = o.timeout_ms;
	wait_ms = o.wait_ms;
	fail_fast = o.fail_fast;
	block = o.block;
	mode = o.mode;
	fs_type = o.fs_type;

	rc = csi_client_new(&c, endpoint, (long)timeout_ms, &e);
	if (rc)
		goto out;
	csi_client_set_wait_for_ready(c, !fail_fast);
	if (wait_ms >= 0) {
		rc = csi_wait_ready(c, (long)wait_ms, &e);
		if (rc)
			goto out;
	}

	if (!strcmp(cmd, "probe") && i == argc) {
		bool ready;

		rc = csi_probe(c, &ready, &e);
		if (!rc)
			printf("ready=%s\n", ready ? "true" : "false");
	} else if (!strcmp(cmd, "info") && i == argc) {
		char *name, *version;

		rc = csi_get_plugin_info(c, &name, &version, &e);
		if (!rc)
			printf("name=%s vendor_version=%s\n", name, version);
		free(name);
		free(version);
	} else if (!strcmp(cmd, "caps") && i == argc) {
		struct csi_plugin_caps p;
		struct csi_controller_caps cc;

		rc = csi_get_plugin_capabilities(c, &p, &e);
		if (!rc)
			rc = csi_controller_get_capabilities(c, &cc, &e);
		if (!rc)
			print_caps(&p, &cc);
	} else if (!strcmp(cmd, "create") && argc - i >= 2) {
		struct kvset params = { 0 }, secrets = { 0 }, mutable = { 0 }, topo = { 0 };
		struct csi_volume_capability cap = {
			.block = block, .fs_type = fs_type, .access_mode = (int)mode,
		};
		struct csi_create_volume_req req = { .caps = &cap, .n_caps = 1 };
		struct strmap topo_map;
		struct csi_volume vol;
		long bytes;

		req.name = argv[i++];
		if (parse_long(argv[i++], 0, &bytes)) {
			fprintf(stderr, "csi-call: bad byte count '%s'\n", argv[i - 1]);
			rc = EXIT_USAGE;
			goto out;
		}
		req.required_bytes = bytes;
		for (; i < argc; i++) {
			int bad;

			if (!strncmp(argv[i], "secret:", 7))
				bad = kv_add(&secrets, argv[i] + 7);
			else if (!strncmp(argv[i], "mutable:", 8))
				bad = kv_add(&mutable, argv[i] + 8);
			else if (!strncmp(argv[i], "topo:", 5))
				bad = kv_add(&topo, argv[i] + 5);
			else
				bad = kv_add(&params, argv[i]);
			if (bad) {
				fprintf(stderr, "csi-call: bad argument '%s'\n", argv[i]);
				rc = EXIT_USAGE;
				goto out;
			}
		}
		req.parameters = kv_map(&params);
		req.secrets = kv_map(&secrets);
		req.mutable_parameters = kv_map(&mutable);
		if (topo.n) {
			topo_map = kv_map(&topo);
			req.requisite = req.preferred = &topo_map;
			req.n_requisite = req.n_preferred = 1;
		}
		rc = csi_create_volume(c, &req, &vol, &e);
		if (!rc)
			print_volume(&vol);
		csi_volume_release(&vol);
	} else if (!strcmp(cmd, "delete") && argc - i >= 1) {
		struct kvset secrets = { 0 };
		struct strmap sm;
		const char *id = argv[i++];

		for (; i < argc; i++) {
			if (strncmp(argv[i], "secret:", 7) || kv_add(&secrets, argv[i] + 7)) {
				fprintf(stderr, "csi-call: bad argument '%s'\n", argv[i]);
				rc = EXIT_USAGE;
				goto out;
			}
		}
		sm = kv_map(&secrets);
		rc = csi_delete_volume(c, id, &sm, &e);
		if (!rc)
			printf("deleted=%s\n", id);
	} else if (!strcmp(cmd, "snapshot") && argc - i >= 2) {
		struct kvset params = { 0 }, secrets = { 0 };
		struct csi_create_snapshot_req req = { 0 };
		struct csi_snapshot snap;

		req.source_volume_id = argv[i++];
		req.name = argv[i++];
		for (; i < argc; i++) {
			int bad = !strncmp(argv[i], "secret:", 7) ? kv_add(&secrets, argv[i] + 7)
								 : kv_add(&params, argv[i]);

			if (bad) {
				fprintf(stderr, "csi-call: bad argument '%s'\n", argv[i]);
				rc = EXIT_USAGE;
				goto out;
			}
		}
		req.parameters = kv_map(&params);
		req.secrets = kv_map(&secrets);
		rc = csi_create_snapshot(c, &req, &snap, &e);
		if (!rc)
			printf("snapshot_id=%s size_bytes=%" PRId64 " ready=%s\n", snap.snapshot_id,
			       snap.size_bytes, snap.ready_to_use ? "true" : "false");
		csi_snapshot_release(&snap);
	} else if (!strcmp(cmd, "delete-snapshot") && argc - i >= 1) {
		struct kvset secrets = { 0 };
		struct strmap sm;
		const char *id = argv[i++];

		for (; i < argc; i++) {
			if (strncmp(argv[i], "secret:", 7) || kv_add(&secrets, argv[i] + 7)) {
				fprintf(stderr, "csi-call: bad argument '%s'\n", argv[i]);
				rc = EXIT_USAGE;
				goto out;
			}
		}
		sm = kv_map(&secrets);
		rc = csi_delete_snapshot(c, id, &sm, &e);
		if (!rc)
			printf("deleted_snapshot=%s\n", id);
	} else if (!strcmp(cmd, "capacity")) {
		struct kvset params = { 0 };
		struct csi_volume_capability cap = {
			.block = block, .fs_type = fs_type, .access_mode = (int)mode,
		};
		struct csi_get_capacity_req req = { .caps = &cap, .n_caps = 1 };
		struct csi_capacity cap_out;

		for (; i < argc; i++) {
			if (kv_add(&params, argv[i])) {
				fprintf(stderr, "csi-call: bad argument '%s'\n", argv[i]);
				rc = EXIT_USAGE;
				goto out;
			}
		}
		req.parameters = kv_map(&params);
		rc = csi_get_capacity(c, &req, &cap_out, &e);
		if (!rc) {
			printf("available_capacity=%" PRId64 "\n", cap_out.available_capacity);
			if (cap_out.has_maximum_volume_size)
				printf("maximum_volume_size=%" PRId64 "\n",
				       cap_out.maximum_volume_size);
			if (cap_out.has_minimum_volume_size)
				printf("minimum_volume_size=%" PRId64 "\n",
				       cap_out.minimum_volume_size);
		}
	} else if (!strcmp(cmd, "list") && i == argc) {
		char *token = NULL;
		int pages = 0;

		do {
			struct csi_volume_list page;

			rc = csi_list_volumes(c, 0, token, &page, &e);
			free(token);
			token = NULL;
			if (rc)
				break;
			for (size_t k = 0; k < page.n; k++)
				printf("%s\n", page.volumes[k].volume_id);
			token = page.next_token;
			page.next_token = NULL;
			csi_volume_list_release(&page);
		} while (token && ++pages < LIST_MAX_PAGES);
		free(token);
	} else if (!strcmp(cmd, "loop") && argc - i == 1) {
		long n;

		if (parse_long(argv[i], 1, &n)) {
			fprintf(stderr, "csi-call: bad count '%s'\n", argv[i]);
			rc = EXIT_USAGE;
			goto out;
		}
		rc = cmd_loop(c, n, &e);
	} else {
		usage();
		rc = EXIT_USAGE;
	}
out:
	if (rc && rc != EXIT_USAGE)
		fprintf(stderr, "csi-call: %s: %s\n", csi_code_name(rc), err_msg(&e));
	err_release(&e);
	csi_client_free(c);
	/* the CSI domain's number is the exit status: 1..16 or 100 (local) */
	if (rc && rc != EXIT_USAGE)
		rc = err_domain(rc) == ERR_DOMAIN_CSI ? err_local(rc) : 1;
	return rc;
}
