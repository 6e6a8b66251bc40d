// SPDX-License-Identifier: Apache-2.0
/*
 * test_json_lean.c - lean parsing (src/kube/json_lean.c): managedFields and
 * the last-applied annotation are replaced where they are an object's
 * metadata, nothing else changes, and text the scan does not understand
 * fails exactly as jansson fails it.
 */
#include "kube_test.h"

#include <jansson.h>

#include "kube/json_lean.h"

#define LA "kubectl.kubernetes.io/last-applied-configuration"

struct lean_case {
	const char *name;
	const char *in;
	const char *want;	/* the tree it must give, as JSON */
};

static const struct lean_case cases[] = {
	{ "object",
	  "{\"metadata\":{\"name\":\"a\",\"managedFields\":[{\"manager\":\"k\",\"fieldsV1\":"
	  "{\"f:spec\":{\"f:x\":{}}}}],\"annotations\":{\"" LA "\":\"{\\\"kind\\\":\\\"P\\\"}\","
	  "\"b\":\"c\"}},\"spec\":{\"v\":1}}",
	  "{\"metadata\":{\"name\":\"a\",\"managedFields\":null,\"annotations\":{\"" LA "\":\"\","
	  "\"b\":\"c\"}},\"spec\":{\"v\":1}}" },
	{ "watch event",
	  "{\"type\":\"ADDED\",\"object\":{\"kind\":\"PersistentVolume\",\"metadata\":"
	  "{\"managedFields\":[{}],\"name\":\"pv\"}}}",
	  "{\"type\":\"ADDED\",\"object\":{\"kind\":\"PersistentVolume\",\"metadata\":"
	  "{\"managedFields\":null,\"name\":\"pv\"}}}" },
	{ "list page",
	  "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{\"metadata\":{\"name\":\"a\","
	  "\"managedFields\":[{\"a\":[1,2,{\"b\":\"]}\"}]}]}},{\"metadata\":{\"name\":\"b\","
	  "\"managedFields\":[]}}]}",
	  "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{\"metadata\":{\"name\":\"a\","
	  "\"managedFields\":null}},{\"metadata\":{\"name\":\"b\",\"managedFields\":null}}]}" },
	{ "pretty-printed",
	  "{\n  \"metadata\" : {\n    \"managedFields\" : [ { \"x\" : true } ] ,\n"
	  "    \"annotations\" : { \"" LA "\" : \"v\" }\n  }\n}\n",
	  "{\"metadata\":{\"managedFields\":null,\"annotations\":{\"" LA "\":\"\"}}}" },
	{ "escaped quotes and backslashes around it",
	  "{\"metadata\":{\"annotations\":{\"q\":\"a\\\"b\\\\\",\"" LA "\":\"x\\\\\\\"y\\\\\","
	  "\"managedFields\":\"kept\"},\"labels\":{\"\\\\\":\"\\\"\"}}}",
	  "{\"metadata\":{\"annotations\":{\"q\":\"a\\\"b\\\\\",\"" LA "\":\"\","
	  "\"managedFields\":\"kept\"},\"labels\":{\"\\\\\":\"\\\"\"}}}" },
	{ "only under metadata",
	  "{\"spec\":{\"managedFields\":[1],\"annotations\":{\"" LA "\":\"s\"}},"
	  "\"metadata\":{\"labels\":{\"" LA "\":\"l\"},\"managedFields\":7}}",
	  "{\"spec\":{\"managedFields\":[1],\"annotations\":{\"" LA "\":\"s\"}},"
	  "\"metadata\":{\"labels\":{\"" LA "\":\"l\"},\"managedFields\":7}}" },
	{ "a value named like the keys is not a key",
	  "{\"metadata\":{\"name\":\"managedFields\",\"x\":[\"metadata\",{\"managedFields\":[1]}]}}",
	  "{\"metadata\":{\"name\":\"managedFields\",\"x\":[\"metadata\",{\"managedFields\":[1]}]}}" },
	{ "nothing to replace",
	  "[1,-2.5e3,true,false,null,\"s\",{}]", "[1,-2.5e3,true,false,null,\"s\",{}]" },
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static void test_case(void **state)
{
	const struct lean_case *c = *state;
	json_error_t jerr;
	json_t *got = kube_json_loadb_lean(c->in, strlen(c->in), 0, &jerr);
	json_t *want = json_loads(c->want, 0, NULL);

	assert_non_null(want);
	if (!got)
		fail_msg("%s: not parsed: %s", c->name, jerr.text);
	if (!json_equal(got, want)) {
		char *s = json_dumps(got, JSON_SORT_KEYS);

		fail_msg("%s: got %s", c->name, s);
	}
	json_decref(got);
	json_decref(want);
}

/* Broken text fails with jansson's own message for it, wherever it breaks. */
static void test_errors_are_janssons(void **state)
{
	static const char *bad[] = {
		"{\"metadata\":{\"managedFields\":[{\"a\":1}],\"name\":}}",
		"{\"metadata\":{\"managedFields\":[{\"a\":1}]},\"x\":[1,]}",
		"{\"metadata\":{\"managedFields\":[{\"a\":1}]}",
		"{\"metadata\":{\"managedFields\":[\"unterminated}}",
		"{\"metadata\":{\"managedFields\":[1]}} trailing",
		"{\"metadata\":{\"managedFields\":[1],\"a\":1,\"a\":2}}",
		"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_error_t a, b;
		json_t *j = kube_json_loadb_lean(bad[i], strlen(bad[i]), JSON_REJECT_DUPLICATES, &a);

		assert_null(j);
		assert_null(json_loadb(bad[i], strlen(bad[i]), JSON_REJECT_DUPLICATES, &b));
		assert_string_equal(a.text, b.text);
		assert_int_equal(a.line, b.line);
		assert_int_equal(a.column, b.column);
		assert_int_equal(a.position, b.position);
	}
}

/* Deeper than the scan tracks: parsed as sent. */
static void test_deep_text_parsed_as_sent(void **state)
{
	char text[400];
	size_t n = 0;
	json_t *j;

	(void)state;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"metadata\":{\"managedFields\":[1],"
			      "\"x\":");
	for (int i = 0; i < 100; i++)
		text[n++] = '[';
	for (int i = 0; i < 100; i++)
		text[n++] = ']';
	text[n++] = '}';
	text[n++] = '}';
	j = kube_json_loadb_lean(text, n, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "metadata"),
							 "managedFields")), 1);
	json_decref(j);
}

/*
 * A list page with more spans than are kept inline, and text between them
 * longer than jansson's read buffer: the same tree as jansson's of the
 * text with the replacements made.
 */
static void test_many_spans_long_text(void **state)
{
	char *text = NULL, *item;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_t *got, *want, *items, *it;
	size_t i;

	(void)state;
	assert_non_null(f);
	fputs("{\"items\":[", f);
	for (i = 0; i < 9; i++) {
		fprintf(f, "%s{\"metadata\":{\"name\":\"o%zu\",\"managedFields\":[{\"m\":\"", i ? "," : "", i);
		for (int k = 0; k < 700; k++)
			fputc('a' + (int)((i + (size_t)k) % 26), f);
		fprintf(f, "\"}],\"annotations\":{\"" LA "\":\"{\\\"x\\\":%zu}\",\"k\":\"", i);
		for (int k = 0; k < 1500; k++)
			fputc('A' + (int)((i + (size_t)k) % 26), f);
		fputs("\"}},\"spec\":{}}", f);
	}
	fputs("]}", f);
	fclose(f);
	want = json_loadb(text, len, 0, NULL);
	assert_non_null(want);
	items = json_object_get(want, "items");
	json_array_foreach(items, i, it) {
		json_t *md = json_object_get(it, "metadata");

		json_object_set_new(md, "managedFields", json_null());
		json_object_set_new(json_object_get(md, "annotations"), LA, json_string(""));
	}
	got = kube_json_loadb_lean(text, len, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(got);
	if (!json_equal(got, want)) {
		item = json_dumps(got, JSON_SORT_KEYS);
		fail_msg("got %.300s", item);
	}
	json_decref(got);
	json_decref(want);
	free(text);
}

int main(void)
{
	static struct CMUnitTest tests[N_CASES + 3];
	size_t n = 0;

	for (size_t i = 0; i < N_CASES; i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL,
						  (void *)&cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_errors_are_janssons);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_deep_text_parsed_as_sent);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_many_spans_long_text);
	return kt_run("json_lean", tests, n);
}
