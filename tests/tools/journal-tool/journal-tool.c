// SPDX-License-Identifier: Apache-2.0
/*
 * journal-tool - drive src/journal against a real API server, for the
 * shell tests (tests/e2e/test-journal.sh).
 *
 *   journal-tool [OPTIONS] add KEY VALUE
 *   journal-tool [OPTIONS] remove KEY
 *   journal-tool [OPTIONS] list
 *   journal-tool [OPTIONS] flush
 *   journal-tool [OPTIONS] serve FIFO REPLIES
 *
 * Each one-shot command loads the journal (taking it over as --holder),
 * runs, flushes what is queued, and exits: 0 on success, 1 on failure
 * (printing "error NAME: message" to stderr, NAME being LOST, FULL,
 * STOPPED, TOO_LARGE, INVALID or a KUBE_ERR_* name), 64 on usage errors.
 * list prints "KEY VALUE" lines sorted by key.
 *
 * serve loads once, then reads commands from the FIFO (reopened at each
 * end of file), one per line: "ID add KEY VALUE", "ID remove KEY",
 * "ID list", "ID flush", "ID quit". It appends one reply line per command
 * to REPLIES: "ID ok" (list: "ID ok KEY=VALUE ...") or "ID error NAME:
 * message". SIGTERM and SIGINT end it with exit 0 between commands.
 *
 * Options: --kubeconfig=PATH (else $KUBECONFIG), --namespace=NS,
 * --base=NAME, --label=VALUE, --holder=ID, --v=N.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "journal/journal.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/status.h"

#define EXIT_USAGE 64
#define FLUSH_MS 30000
#define LINE_MAX_BYTES 65536

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *code_name(int code)
{
	switch (code) {
	case JOURNAL_ERR_LOST: return "LOST";
	case JOURNAL_ERR_FULL: return "FULL";
	case JOURNAL_ERR_STOPPED: return "STOPPED";
	case JOURNAL_ERR_TOO_LARGE: return "TOO_LARGE";
	case JOURNAL_ERR_INVALID: return "INVALID";
	default: return kube_code_name(code);
	}
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct journal_entry *)a)->key, ((const struct journal_entry *)b)->key);
}

/* Run one command (argv form); the reply goes to `out` ("ok ..." or "error ..."). */
static int run(struct journal *j, int argc, char **argv, struct buf *out)
{
	struct err e = ERR_INIT;
	int rc = 0;

	if (argc == 3 && !strcmp(argv[0], "add")) {
		rc = journal_add(j, argv[1], argv[2], &e);
	} else if (argc == 2 && !strcmp(argv[0], "remove")) {
		journal_remove(j, argv[1]);
	} else if (argc == 1 && !strcmp(argv[0], "flush")) {
		rc = journal_flush(j, FLUSH_MS, &e);
	} else if (argc == 1 && !strcmp(argv[0], "list")) {
		size_t n;
		struct journal_entry *es = journal_entries(j, &n);

		qsort(es, n, sizeof(*es), cmp_entry);
		buf_appendf(out, "ok");
		for (size_t i = 0; i < n; i++)
			buf_appendf(out, "\n%s %s", es[i].key, es[i].value);
		journal_entries_free(es, n);
		return 0;
	} else {
		buf_appendf(out, "error USAGE: unknown command or wrong arguments");
		return EXIT_USAGE;
	}
	if (rc)
		buf_appendf(out, "error %s: %s", code_name(rc), err_msg(&e));
	else
		buf_appendf(out, "ok");
	err_release(&e);
	return rc ? 1 : 0;
}

/* Split `s` in place at spaces into at most `max` words; their count. */
static int split(char *s, char **args, int max)
{
	int n = 0;

	while (*s && n < max) {
		s += strspn(s, " ");
		if (!*s)
			break;
		args[n++] = s;
		s += strcspn(s, " ");
		if (*s)
			*s++ = '\0';
	}
	return n;
}

/* serve: commands from the FIFO, replies appended to a file. */
static int serve(struct journal *j, const char *fifo, const char *replies)
{
	char *line = xmalloc(LINE_MAX_BYTES);

	while (!stop) {
		FILE *in = fopen(fifo, "r");

		if (!in) {
			if (errno == EINTR)
				continue;
			log_error("cannot open '%s': %s", fifo, strerror(errno));
			free(line);
			return 1;
		}
		while (!stop && fgets(line, LINE_MAX_BYTES, in)) {
			char *args[8];
			int n;
			struct buf out;
			FILE *r;

			line[strcspn(line, "\n")] = '\0';
			n = split(line, args, 8);
			if (n < 2)
				continue;
			if (!strcmp(args[1], "quit"))
				stop = 1;
			buf_init(&out, (size_t)16 << 20);
			buf_appendf(&out, "%s ", args[0]);
			if (!stop)
				run(j, n - 1, args + 1, &out);
			else
				buf_appendf(&out, "ok");
			/* a list reply goes on one line */
			for (size_t i = 0; i < out.len; i++)
				if (out.data[i] == '\n')
					out.data[i] = ' ';
			r = fopen(replies, "a");
			if (r) {
				fprintf(r, "%s\n", out.data);
				fclose(r);
			}
			buf_release(&out);
		}
		fclose(in);
	}
	free(line);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: journal-tool [--kubeconfig=PATH] --namespace=NS --base=NAME "
		"--label=VALUE --holder=ID [--v=N] add KEY VALUE | remove KEY | list | flush | "
		"serve FIFO REPLIES\n");
	exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
	const char *kubeconfig = NULL;
	struct journal_opts o = { 0 };
	struct kube_config *cfg = NULL;
	struct kube_client *client = NULL;
	struct journal *j = NULL;
	struct err e = ERR_INIT;
	struct sigaction sa = { .sa_handler = on_signal };
	int i, rc = 1;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		char *v = strchr(argv[i], '=');

		if (!v)
			usage();
		v++;
		if (!strncmp(argv[i], "--kubeconfig=", 13))
			kubeconfig = v;
		else if (!strncmp(argv[i], "--namespace=", 12))
			o.namespace = v;
		else if (!strncmp(argv[i], "--base=", 7))
			o.base = v;
		else if (!strncmp(argv[i], "--label=", 8))
			o.label = v;
		else if (!strncmp(argv[i], "--holder=", 9))
			o.holder = v;
		else if (!strncmp(argv[i], "--v=", 4))
			log_set_level((int)strtol(v, NULL, 10));
		else
			usage();
	}
	if (i >= argc || !o.namespace || !o.base || !o.label || !o.holder)
		usage();
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: a blocked open returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	if (kube_config_load(&cfg, kubeconfig, &e) || kube_client_new(&client, cfg, NULL, &e)) {
		fprintf(stderr, "error %s: %s\n", code_name(err_code(&e)), err_msg(&e));
		goto out;
	}
	j = journal_new(client, &o);
	if (journal_load(j, &e)) {
		fprintf(stderr, "error %s: %s\n", code_name(err_code(&e)), err_msg(&e));
		goto out;
	}
	if (!strcmp(argv[i], "serve")) {
		if (argc - i != 3)
			usage();
		rc = serve(j, argv[i + 1], argv[i + 2]);
	} else {
		struct buf out;

		buf_init(&out, (size_t)64 << 20);
		rc = run(j, argc - i, argv + i, &out);
		if (!rc && journal_flush(j, FLUSH_MS, &e)) {
			buf_reset(&out);
			buf_appendf(&out, "error %s: %s", code_name(err_code(&e)), err_msg(&e));
			rc = 1;
		}
		if (rc)
			fprintf(stderr, "%s\n", out.data);
		else if (!strcmp(argv[i], "list") && out.len > 3)
			printf("%s\n", out.data + 3);
		buf_release(&out);
	}
out:
	err_release(&e);
	journal_free(j);
	kube_client_free(client);
	kube_config_free(cfg);
	return rc;
}
