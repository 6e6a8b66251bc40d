// SPDX-License-Identifier: Apache-2.0
/*
 * test_cli.c - the read-only commands' pure parts: argument splitting
 * (command, NAMESPACE/CLAIM, -o, the daemon's flags), target checks, and
 * the permission table preflight reviews, kept equal to deploy/rbac.yaml.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <yaml.h>

#include "cli/cli.h"
#include "cli/cli_int.h"
#include "cli/permissions.h"
#include "journal/journal.h"

struct parse_case {
	const char *argv[8];
	int rc;			/* 0 or ERR_INVALID */
	const char *msg;	/* on error: a part of the message */
	enum cli_command cmd;
	const char *target;
	bool json, help;
	int nrest;		/* argv[0] included */
};

static void test_parse_table(void **state)
{
	static const struct parse_case cases[] = {
		{ { "p", "explain", "ns/c" }, 0, NULL, CLI_EXPLAIN, "ns/c", false, false, 1 },
		{ { "p", "explain", "ns/c", "-o", "json" }, 0, NULL, CLI_EXPLAIN, "ns/c", true, false, 1 },
		{ { "p", "explain", "-o=json", "ns/c", "--v=3" }, 0, NULL, CLI_EXPLAIN, "ns/c", true,
		  false, 2 },
		{ { "p", "explain", "ns/c", "--output", "text", "--kubeconfig", "/k" }, 0, NULL,
		  CLI_EXPLAIN, "ns/c", false, false, 3 },
		{ { "p", "explain", "ns/c", "--output=json" }, 0, NULL, CLI_EXPLAIN, "ns/c", true, false, 1 },
		{ { "p", "preflight", "--leader-election" }, 0, NULL, CLI_PREFLIGHT, NULL, false, false, 2 },
		{ { "p", "preflight", "-h" }, 0, NULL, CLI_PREFLIGHT, NULL, false, true, 1 },
		{ { "p", "explain", "--help" }, 0, NULL, CLI_EXPLAIN, NULL, false, true, 1 },
		{ { "p", "explain" }, ERR_INVALID, "which claim", CLI_NONE, NULL, false, false, 0 },
		{ { "p", "explain", "--v=2", "ns/c" }, ERR_INVALID, "comes first", CLI_NONE, NULL, false, false, 0 },
		{ { "p", "explain", "ns/c", "-o", "yaml" }, ERR_INVALID, "text or json", CLI_NONE, NULL, false, false, 0 },
		{ { "p", "preflight", "-o" }, ERR_INVALID, "needs a value", CLI_NONE, NULL, false, false, 0 },
		{ { "p", "serve" }, ERR_INVALID, "no command", CLI_NONE, NULL, false, false, 0 },
		{ { "p" }, ERR_INVALID, "no command", CLI_NONE, NULL, false, false, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		struct cli_args a;
		struct err e = ERR_INIT;
		int argc = 0, rc;

		while (c->argv[argc])
			argc++;
		rc = cli_parse(argc, (char *const *)c->argv, &a, &e);
		if (rc != c->rc)
			fail_msg("case %zu: rc %d, want %d (%s)", i, rc, c->rc, err_msg(&e));
		if (rc) {
			if (!strstr(err_msg(&e), c->msg))
				fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err_msg(&e), c->msg);
		} else {
			assert_int_equal(a.command, c->cmd);
			if (c->target)
				assert_string_equal(a.target, c->target);
			else
				assert_null(a.target);
			assert_int_equal(a.json, c->json);
			assert_int_equal(a.help, c->help);
			if (a.nrest != c->nrest)
				fail_msg("case %zu: %d arguments left for the daemon's parser, want %d", i,
					 a.nrest, c->nrest);
			assert_string_equal(a.rest[0], "p");
		}
		cli_args_release(&a);
		err_release(&e);
	}
}

static void test_is_command(void **state)
{
	const char *ex[] = { "p", "explain" }, *pf[] = { "p", "preflight" }, *no[] = { "p", "--v=1" };

	(void)state;
	assert_true(cli_is_command(2, (char *const *)ex));
	assert_true(cli_is_command(2, (char *const *)pf));
	assert_false(cli_is_command(2, (char *const *)no));
	assert_false(cli_is_command(1, (char *const *)ex));
}

static void test_split_target(void **state)
{
	static const struct {
		const char *in;
		const char *ns, *name;	/* NULL ns: an error */
	} cases[] = {
		{ "default/data", "default", "data" },
		{ "a-b/c.d-e", "a-b", "c.d-e" },
		{ "noslash", NULL, NULL },
		{ "/c", NULL, NULL },
		{ "ns/", NULL, NULL },
		{ "NS/c", NULL, NULL },
		{ "ns/c/d", NULL, NULL },
		{ "ns/../x", NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *ns = NULL, *name = NULL;
		struct err e = ERR_INIT;
		int rc = cli_split_target(cases[i].in, &ns, &name, &e);

		if (cases[i].ns) {
			if (rc)
				fail_msg("\"%s\": %s", cases[i].in, err_msg(&e));
			assert_string_equal(ns, cases[i].ns);
			assert_string_equal(name, cases[i].name);
		} else {
			if (!rc)
				fail_msg("\"%s\" accepted", cases[i].in);
			assert_non_null(strstr(err_msg(&e), cases[i].in));
			assert_null(ns);
		}
		free(ns);
		free(name);
		err_release(&e);
	}
}

/* ---- deploy/rbac.yaml against the table ---- */

#define MAX_GRANTS 128
struct grant {
	char key[160];		/* "group resource verb" */
	int namespaced;		/* from a Role (not a ClusterRole) */
};

static const char *scalar(yaml_document_t *d, yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *member(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(d, yaml_document_get_node(d, p->key));

		if (k && !strcmp(k, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

#define EACH(d, seq, it) \
	for (yaml_node_item_t *it = (seq) && (seq)->type == YAML_SEQUENCE_NODE ? \
	     (seq)->data.sequence.items.start : NULL; it && it < (seq)->data.sequence.items.top; it++)

static size_t read_grants(const char *path, struct grant *out)
{
	FILE *f = fopen(path, "r");
	yaml_parser_t parser;
	size_t n = 0;

	if (!f)
		fail_msg("cannot open %s", path);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	for (;;) {
		yaml_document_t d;
		yaml_node_t *root, *rules;
		const char *kind;

		if (!yaml_parser_load(&parser, &d))
			fail_msg("%s: YAML error", path);
		root = yaml_document_get_root_node(&d);
		if (!root) {
			yaml_document_delete(&d);
			break;
		}
		kind = scalar(&d, member(&d, root, "kind"));
		rules = member(&d, root, "rules");
		if (kind && (!strcmp(kind, "ClusterRole") || !strcmp(kind, "Role"))) {
			EACH(&d, rules, r) {
				yaml_node_t *rule = yaml_document_get_node(&d, *r);
				yaml_node_t *gs = member(&d, rule, "apiGroups");
				yaml_node_t *rs = member(&d, rule, "resources");
				yaml_node_t *vs = member(&d, rule, "verbs");

				EACH(&d, gs, g) EACH(&d, rs, rr) EACH(&d, vs, v) {
					assert_true(n < MAX_GRANTS);
					snprintf(out[n].key, sizeof(out[n].key), "%s %s %s",
						 scalar(&d, yaml_document_get_node(&d, *g)),
						 scalar(&d, yaml_document_get_node(&d, *rr)),
						 scalar(&d, yaml_document_get_node(&d, *v)));
					out[n++].namespaced = !strcmp(kind, "Role");
				}
			}
		}
		yaml_document_delete(&d);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return n;
}

static void test_table_matches_deploy_rbac(void **state)
{
	struct grant g[MAX_GRANTS];
	size_t ng = read_grants(SOURCE_ROOT "/deploy/rbac.yaml", g), nt;
	const struct perm *t = perm_table(&nt);

	(void)state;
	assert_true(ng > 10);
	for (size_t i = 0; i < nt; i++) {
		char key[160];
		bool found = false;

		snprintf(key, sizeof(key), "%s %s %s", t[i].group, t[i].resource, t[i].verb);
		for (size_t k = 0; k < ng && !found; k++) {
			if (strcmp(g[k].key, key))
				continue;
			found = true;
			if (g[k].namespaced != t[i].in_own_namespace)
				fail_msg("\"%s\": namespaced %d in deploy/rbac.yaml, %d in the table", key,
					 g[k].namespaced, t[i].in_own_namespace);
		}
		if (!found)
			fail_msg("\"%s\" is in src/cli/permissions.c but not granted by "
				 "deploy/rbac.yaml", key);
	}
	for (size_t k = 0; k < ng; k++) {
		bool found = false;

		for (size_t i = 0; i < nt && !found; i++) {
			char key[160];

			snprintf(key, sizeof(key), "%s %s %s", t[i].group, t[i].resource, t[i].verb);
			found = !strcmp(g[k].key, key);
		}
		if (!found)
			fail_msg("deploy/rbac.yaml grants \"%s\", which src/cli/permissions.c lacks: "
				 "preflight would not check it", g[k].key);
	}
}

/* The journal's name for a driver: the daemon's rule, which explain reads with. */
static void test_journal_label_of(void **state)
{
	static const char *const cases[][2] = {
		{ "hostpath.csi.k8s.io", "hostpath.csi.k8s.io" },
		{ "My_Driver.", "my-driver" },
		{ "a/b c", "a-b-c" },
		{ "", "driver" },
		{ "--", "driver" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *l = journal_label_of(cases[i][0]);

		assert_string_equal(l, cases[i][1]);
		free(l);
	}
}

/* Run a printer over `report` into a string (caller frees). */
static char *render(void (*print)(FILE *, const json_t *), const json_t *report)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	print(f, report);
	fclose(f);
	return buf;
}

static void test_out_safe_escapes_controls(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	out_safe(f, "a\nb\x1b[31mc\x7f\td");
	out_safe(f, NULL);
	fclose(f);
	assert_string_equal(buf, "a\\nb\\x1b[31mc\\x7f\\x09d");
	free(buf);
}

static void test_explain_print_names_blockers(void **state)
{
	json_t *r = json_pack("{s:s, s:b, s:b, s:s, s:[{s:s, s:s}], s:[s], s:{s:s, s:s},"
			      " s:{s:s, s:[], s:{s:s}}, s:[{s:s, s:s, s:s, s:s}]}",
			      "claim", "ns/c", "blocked", 1, "found", 1, "uid", "u-1",
			      "blockers", "cause", "secret-missing", "message", "cannot get secret \"ns/x\"\n",
			      "notes", "a note",
			      "ownership", "verdict", "provision", "class", "gold",
			      "request", "name", "pvc-u-1", "caps", "secrets", "pw", "<redacted>",
			      "events", "time", "2026-01-01T00:00:00Z", "type", "Warning",
			      "reason", "ProvisioningFailed", "message", "boom");
	char *out = render(explain_print, r);

	(void)state;
	assert_non_null(strstr(out, "claim ns/c: BLOCKED"));
	assert_non_null(strstr(out, "secret-missing"));
	assert_non_null(strstr(out, "cannot get secret \"ns/x\"\\n"));	/* escaped, one line */
	assert_non_null(strstr(out, "note: a note"));
	assert_non_null(strstr(out, "\"pw\": \"<redacted>\""));
	assert_non_null(strstr(out, "Warning ProvisioningFailed: boom"));
	free(out);
	json_decref(r);
}

static void test_preflight_print_missing(void **state)
{
	json_t *r = json_pack("{s:b, s:{s:s, s:b}, s:[{s:b, s:b}, {s:b, s:b}], s:[s],"
			      " s:[{s:s, s:s}]}", "blocked", 1,
			      "driver", "address", "unix:///x", "reachable", 1,
			      "permissions", "needed", 1, "allowed", 1, "needed", 1, "allowed", 0,
			      "missing", "create persistentvolumes",
			      "blockers", "cause", "permission", "message", "missing: create persistentvolumes");
	char *out = render(preflight_print, r);

	(void)state;
	assert_non_null(strstr(out, "preflight: BLOCKED"));
	assert_non_null(strstr(out, "permissions: 1 of 2 needed allowed"));
	assert_non_null(strstr(out, "missing: create persistentvolumes"));
	free(out);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_is_command),
		cmocka_unit_test(test_split_target),
		cmocka_unit_test(test_table_matches_deploy_rbac),
		cmocka_unit_test(test_journal_label_of),
		cmocka_unit_test(test_out_safe_escapes_controls),
		cmocka_unit_test(test_explain_print_names_blockers),
		cmocka_unit_test(test_preflight_print_missing),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
