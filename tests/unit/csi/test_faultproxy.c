// SPDX-License-Identifier: Apache-2.0
/*
 * test_faultproxy.c - the pure parts of tests/tools/csi-faultproxy: the
 * rules parser and matcher (tables of good and bad lines), and the
 * descriptor-driven JSON dumper (field presence, enums, maps, secrets
 * redaction, escaping), so the e2e tests can trust what the proxy records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "csi/client.h"
#include "csi/codec.h"
#include "csi/csi.pb-c.h"
#include "pbjson.h"
#include "rules.h"

struct good_case {
	const char *text;
	size_t n;		/* rules parsed */
	enum fp_action action;	/* of the first */
	int code;
	const char *message;
	int64_t delay_ms;
	long count;
	size_t bytes;
};

static const struct good_case good_cases[] = {
	{ "", 0, FP_PASS, -1, NULL, 0, -1, 0 },
	{ "# only a comment\n\n   \n", 0, FP_PASS, -1, NULL, 0, -1, 0 },
	{ "CreateVolume fail code=INTERNAL message=boom", 1, FP_FAIL, 13, "boom", 0, -1, 0 },
	{ "CreateVolume fail code=Internal", 1, FP_FAIL, 13, NULL, 0, -1, 0 },
	{ "* fail code=14 message=\"a \\\"quoted\\\" word\" count=3 # why", 1, FP_FAIL, 14,
	  "a \"quoted\" word", 0, 3, 0 },
	{ "Probe fail code=deadlineexceeded message=\"\"", 1, FP_FAIL, 4, "", 0, -1, 0 },
	{ "Probe delay 1500ms\nProbe pass", 2, FP_DELAY, -1, NULL, 1500, -1, 0 },
	{ "DeleteVolume timeout", 1, FP_TIMEOUT, 4, NULL, 0, -1, 0 },
	{ "DeleteVolume timeout message=late delay=2s", 1, FP_TIMEOUT, 4, "late", 2000, -1, 0 },
	{ "/csi.v1.Controller/CreateVolume hold count=1", 1, FP_HOLD, -1, NULL, 0, 1, 0 },
	{ "Probe drop", 1, FP_DROP, -1, NULL, 0, -1, 0 },
	{ "ListVolumes garbage\r\n", 1, FP_GARBAGE, -1, NULL, 0, -1, 0 },
	{ "GetCapacity oversize", 1, FP_OVERSIZE, -1, NULL, 0, -1, FP_OVERSIZE_DEFAULT },
	{ "GetCapacity oversize bytes=5Mi", 1, FP_OVERSIZE, -1, NULL, 0, -1, 5 << 20 },
	{ "GetCapacity oversize bytes=100", 1, FP_OVERSIZE, -1, NULL, 0, -1, 100 },
};

static void rules_good_table(void **state)
{
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *tc = &good_cases[i];
		struct fp_rules r;
		struct err e = ERR_INIT;

		if (fp_rules_parse(tc->text, &r, &e))
			fail_msg("'%s': %s", tc->text, err_msg(&e));
		if (r.n != tc->n)
			fail_msg("'%s': %zu rules, want %zu", tc->text, r.n, tc->n);
		if (tc->n) {
			const struct fp_rule *x = &r.v[0];

			if (x->action != tc->action || x->code != tc->code ||
			    x->delay_ms != tc->delay_ms || x->count != tc->count ||
			    x->bytes != tc->bytes || x->line != 1)
				fail_msg("'%s': action %d code %d delay %lld count %ld bytes %zu line %d",
					 tc->text, x->action, x->code, (long long)x->delay_ms,
					 x->count, x->bytes, x->line);
			if ((tc->message == NULL) != (x->message == NULL) ||
			    (tc->message && strcmp(tc->message, x->message)))
				fail_msg("'%s': message '%s', want '%s'", tc->text,
					 x->message ? x->message : "(null)",
					 tc->message ? tc->message : "(null)");
		}
		fp_rules_release(&r);
	}
}

struct bad_case {
	const char *text;
	const char *says;	/* in the error message */
};

static const struct bad_case bad_cases[] = {
	{ "CreateVolume", "want METHOD ACTION" },
	{ "CreateVolume explode", "want METHOD ACTION" },
	{ "CreateVolume fail", "fail needs code=" },
	{ "CreateVolume fail code=OK", "use pass" },
	{ "CreateVolume fail code=17", "not a gRPC status code" },
	{ "CreateVolume fail code=Broken", "not a gRPC status code" },
	{ "CreateVolume pass code=13", "code= is for fail only" },
	{ "CreateVolume hold message=x", "message= is for fail and timeout only" },
	{ "CreateVolume delay", "delay needs a duration" },
	{ "CreateVolume delay soon", "'soon' is not a duration" },
	{ "CreateVolume fail code=13 count=0", "count '0'" },
	{ "CreateVolume fail code=13 count=-1", "count '-1'" },
	{ "CreateVolume fail code=13 colour=red", "unknown argument 'colour'" },
	{ "CreateVolume fail code=13 message=\"open", "unterminated quote" },
	{ "CreateVolume pass stray", "'stray' is not key=value" },
	{ "GetCapacity oversize bytes=65Mi", "not a size" },
	{ "GetCapacity garbage bytes=10", "bytes= is for oversize only" },
	{ "Probe pass\nProbe nope", "line 2" },
};

static void rules_bad_table(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *tc = &bad_cases[i];
		struct fp_rules r;
		struct err e = ERR_INIT;

		if (!fp_rules_parse(tc->text, &r, &e))
			fail_msg("'%s' parsed, want an error", tc->text);
		if (r.n || r.v)
			fail_msg("'%s': rules left after an error", tc->text);
		if (!strstr(err_msg(&e), tc->says))
			fail_msg("'%s': error '%s' lacks '%s'", tc->text, err_msg(&e), tc->says);
		err_release(&e);
	}
}

static void rules_take_counts_and_order(void **state)
{
	struct fp_rules r;
	struct err e = ERR_INIT;
	const struct fp_rule *x;
	const char *create = "/csi.v1.Controller/CreateVolume";

	assert_int_equal(fp_rules_parse("CreateVolume fail code=13 count=2\n"
					"/csi.v1.Controller/CreateVolume hold count=1\n"
					"Probe delay 1s\n", &r, &e), 0);
	assert_true(fp_method_matches("*", create));
	assert_true(fp_method_matches("CreateVolume", create));
	assert_false(fp_method_matches("Create", create));
	assert_false(fp_method_matches("/csi.v1.Identity/CreateVolume", create));
	assert_false(fp_rules_would_hold(&r, create));	/* fail comes first */
	for (int i = 0; i < 2; i++) {
		x = fp_rules_take(&r, create);
		assert_non_null(x);
		assert_int_equal(x->action, FP_FAIL);
	}
	assert_true(fp_rules_would_hold(&r, create));
	x = fp_rules_take(&r, create);
	assert_non_null(x);
	assert_int_equal(x->action, FP_HOLD);
	assert_false(fp_rules_would_hold(&r, create));
	assert_null(fp_rules_take(&r, create));	/* all used: forward */
	for (int i = 0; i < 3; i++) {		/* unlimited */
		x = fp_rules_take(&r, "/csi.v1.Identity/Probe");
		assert_non_null(x);
		assert_int_equal(x->delay_ms, 1000);
	}
	assert_null(fp_rules_take(&r, "/csi.v1.Node/NodeGetInfo"));
	fp_rules_release(&r);
	fp_rules_release(NULL);
}

/* Encode with our codec, decode generically, dump: the JSON is exact. */
static char *dump(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, n, p);
	struct buf b;

	assert_non_null(m);
	buf_init(&b, 1 << 20);
	assert_int_equal(pbjson_message(&b, m), 0);
	protobuf_c_message_free_unpacked(m, NULL);
	return buf_detach(&b, NULL);
}

static void pbjson_create_request_redacts_secrets(void **state)
{
	struct strmap_entry params[] = { { "kind", "fast" } }, secrets[] = { { "password", "hunter2" },
								       { "token", "t0k" } };
	struct strmap_entry seg[] = { { "zone", "a" } };
	struct strmap topo = { seg, 1, 0 };
	const char *flags[] = { "ro" };
	struct csi_volume_capability caps[] = {
		{ .fs_type = "ext4", .mount_flags = flags, .n_mount_flags = 1,
		  .access_mode = CSI_ACCESS_SINGLE_NODE_WRITER },
		{ .block = true, .access_mode = CSI_ACCESS_MULTI_NODE_MULTI_WRITER },
	};
	struct csi_create_volume_req req = {
		.name = "pvc-1", .required_bytes = 1048576, .caps = caps, .n_caps = 2,
		.parameters = { params, 1, 0 }, .secrets = { secrets, 2, 0 },
		.source_volume_id = "vol-0", .requisite = &topo, .n_requisite = 1,
	};
	struct err e = ERR_INIT;
	uint8_t *buf;
	size_t len;
	char *json;

	assert_int_equal(csi_codec_encode_create_volume(&req, &buf, &len, &e), 0);
	json = dump(&csi__v1__create_volume_request__descriptor, buf, len);
	assert_string_equal(json,
		"{\"name\":\"pvc-1\",\"capacity_range\":{\"required_bytes\":1048576},"
		"\"volume_capabilities\":[{\"mount\":{\"fs_type\":\"ext4\",\"mount_flags\":[\"ro\"]},"
		"\"access_mode\":{\"mode\":\"SINGLE_NODE_WRITER\"}},"
		"{\"block\":{},\"access_mode\":{\"mode\":\"MULTI_NODE_MULTI_WRITER\"}}],"
		"\"parameters\":{\"kind\":\"fast\"},"
		"\"secrets\":{\"password\":\"<redacted>\",\"token\":\"<redacted>\"},"
		"\"volume_content_source\":{\"volume\":{\"volume_id\":\"vol-0\"}},"
		"\"accessibility_requirements\":{\"requisite\":[{\"segments\":{\"zone\":\"a\"}}]}}");
	assert_null(strstr(json, "hunter2"));
	free(json);
	free(buf);
}

static void pbjson_unknown_fields_and_enums(void **state)
{
	/*
	 * ControllerGetCapabilitiesResponse: one RPC capability of type 99 (not
	 * in the enum), then an unknown field 9 (varint 1).
	 */
	static const uint8_t wire[] = { 0x0a, 0x04, 0x0a, 0x02, 0x08, 0x63, 0x48, 0x01 };
	char *json = dump(&csi__v1__controller_get_capabilities_response__descriptor, wire,
			  sizeof(wire));

	assert_string_equal(json, "{\"capabilities\":[{\"rpc\":{\"type\":99}}],"
				  "\"_unknown_fields\":[9]}");
	free(json);
}

static void pbjson_string_escapes(void **state)
{
	struct buf b;
	/* quote, backslash, newline, a control byte, valid UTF-8, a stray byte */
	static const char in[] = "a\"b\\c\nd\x01" "\xc3\xa9" "\xff";
	char *out;

	buf_init(&b, 1024);
	assert_int_equal(pbjson_string(&b, in, sizeof(in) - 1), 0);
	out = buf_detach(&b, NULL);
	assert_string_equal(out, "\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\\ufffd\"");
	free(out);
	/* The cap is honoured: -1, not a silent truncation. */
	buf_init(&b, 4);
	assert_int_equal(pbjson_string(&b, "abcdef", 6), -1);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rules_good_table),
		cmocka_unit_test(rules_bad_table),
		cmocka_unit_test(rules_take_counts_and_order),
		cmocka_unit_test(pbjson_create_request_redacts_secrets),
		cmocka_unit_test(pbjson_unknown_fields_and_enums),
		cmocka_unit_test(pbjson_string_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
