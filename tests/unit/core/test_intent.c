// SPDX-License-Identifier: Apache-2.0
/*
 * test_intent.c - journal records of CreateVolume requests: a request
 * survives the round trip field by field, encodings are canonical (so
 * equal requests compare equal as strings), secrets never enter a record,
 * and malformed records are refused with a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "provision/intent.h"

static const struct intent_owner owner = { "ns1", "data", "uid-1", "fast", "kube-system",
					   "prov-secret" };

static struct strmap_entry params[] = { { "zeta", "1" }, { "alpha", "2" } };
static struct strmap_entry params_reordered[] = { { "alpha", "2" }, { "zeta", "1" } };
static struct strmap_entry secret_kv[] = { { "password", "hunter2" } };
static struct strmap_entry mut[] = { { "iops", "300" } };
static struct strmap_entry zone_a[] = { { "topology.hostpath/zone", "a" } };
static struct strmap_entry zone_b[] = { { "topology.hostpath/zone", "b" } };
static const char *const flags[] = { "noatime", "ro" };

static struct csi_create_volume_req full_request(void)
{
	static struct csi_volume_capability caps[2];
	static struct strmap req_segs[1], pref_segs[2];

	caps[0] = (struct csi_volume_capability){ false, "ext4", flags, 2, "1000", 1 };
	caps[1] = (struct csi_volume_capability){ true, NULL, NULL, 0, NULL, 5 };
	req_segs[0] = (struct strmap){ zone_a, 1, 0 };
	pref_segs[0] = (struct strmap){ zone_b, 1, 0 };
	pref_segs[1] = (struct strmap){ zone_a, 1, 0 };
	return (struct csi_create_volume_req){
		.name = "pvc-uid-1", .required_bytes = 1048576, .limit_bytes = 2097152,
		.caps = caps, .n_caps = 2,
		.parameters = { params, 2, 0 }, .secrets = { secret_kv, 1, 0 },
		.mutable_parameters = { mut, 1, 0 },
		.source_snapshot_id = "snap-9",
		.requisite = req_segs, .n_requisite = 1,
		.preferred = pref_segs, .n_preferred = 2,
	};
}

static void round_trip_keeps_every_field(void **state)
{
	struct csi_create_volume_req r = full_request();
	char *enc = intent_encode(&owner, &r), *again;
	struct intent in;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(intent_decode(enc, &in, &e), 0);
	assert_string_equal(in.claim_namespace, "ns1");
	assert_string_equal(in.claim_name, "data");
	assert_string_equal(in.claim_uid, "uid-1");
	assert_string_equal(in.class_name, "fast");
	assert_string_equal(in.secret_namespace, "kube-system");
	assert_string_equal(in.secret_name, "prov-secret");
	assert_string_equal(in.req.name, "pvc-uid-1");
	assert_int_equal(in.req.required_bytes, 1048576);
	assert_int_equal(in.req.limit_bytes, 2097152);
	assert_int_equal(in.req.n_caps, 2);
	assert_false(in.req.caps[0].block);
	assert_string_equal(in.req.caps[0].fs_type, "ext4");
	assert_int_equal(in.req.caps[0].n_mount_flags, 2);
	assert_string_equal(in.req.caps[0].mount_flags[1], "ro");
	assert_string_equal(in.req.caps[0].mount_group, "1000");
	assert_int_equal(in.req.caps[0].access_mode, 1);
	assert_true(in.req.caps[1].block);
	assert_null(in.req.caps[1].fs_type);
	assert_int_equal(in.req.caps[1].access_mode, 5);
	assert_string_equal(strmap_get(&in.req.parameters, "zeta"), "1");
	assert_string_equal(strmap_get(&in.req.mutable_parameters, "iops"), "300");
	assert_string_equal(in.req.source_snapshot_id, "snap-9");
	assert_null(in.req.source_volume_id);
	assert_int_equal(in.req.n_requisite, 1);
	assert_int_equal(in.req.n_preferred, 2);
	assert_string_equal(strmap_get(&in.req.preferred[0], "topology.hostpath/zone"), "b");
	assert_int_equal(in.req.secrets.n, 0);
	/* decoded and encoded again: the very same string */
	again = intent_encode(&owner, &in.req);
	assert_string_equal(again, enc);
	free(again);
	intent_release(&in);
	free(enc);
	err_release(&e);
}

static void secrets_never_recorded(void **state)
{
	struct csi_create_volume_req r = full_request();
	char *enc = intent_encode(&owner, &r);

	(void)state;
	assert_null(strstr(enc, "hunter2"));
	assert_null(strstr(enc, "password"));
	assert_non_null(strstr(enc, "prov-secret"));	/* the reference only */
	free(enc);
}

static void encoding_is_canonical(void **state)
{
	struct csi_create_volume_req a = full_request(), b = full_request();
	char *ea, *eb, *ec;

	(void)state;
	b.parameters = (struct strmap){ params_reordered, 2, 0 };
	ea = intent_encode(&owner, &a);
	eb = intent_encode(&owner, &b);
	assert_string_equal(ea, eb);
	b.required_bytes++;
	ec = intent_encode(&owner, &b);
	assert_string_not_equal(ea, ec);
	free(ea);
	free(eb);
	free(ec);
}

static void minimal_request_without_secret(void **state)
{
	struct csi_volume_capability cap = { false, NULL, NULL, 0, NULL, 1 };
	struct csi_create_volume_req r = { .name = "pvc-x", .caps = &cap, .n_caps = 1 };
	struct intent_owner o = { "ns", "c", "u", NULL, NULL, NULL };
	char *enc = intent_encode(&o, &r);
	struct intent in;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(intent_decode(enc, &in, &e), 0);
	assert_null(in.secret_name);
	assert_null(in.class_name);
	assert_int_equal(in.req.parameters.n, 0);
	assert_int_equal(in.req.n_requisite, 0);
	intent_release(&in);
	free(enc);
	err_release(&e);
}

static void malformed_records_refused(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "", "empty" },
		{ "not json", "not JSON" },
		{ "[]", "version 1" },
		{ "{\"v\":2,\"claim\":{},\"req\":{}}", "version 1" },
		{ "{\"v\":1,\"claim\":{\"namespace\":\"n\",\"name\":\"c\"},\"req\":{}}", "uid" },
		{ "{\"v\":1,\"claim\":{\"namespace\":\"n\",\"name\":\"c\",\"uid\":\"u\"},"
		  "\"req\":{\"name\":\"v\"}}", "caps" },
		{ "{\"v\":1,\"claim\":{\"namespace\":\"n\",\"name\":\"c\",\"uid\":\"u\"},"
		  "\"req\":{\"name\":\"v\",\"caps\":[{\"block\":false,\"mode\":1}],"
		  "\"required\":-5}}", "required" },
		{ "{\"v\":1,\"claim\":{\"namespace\":\"n\",\"name\":\"c\",\"uid\":\"u\"},"
		  "\"req\":{\"name\":\"v\",\"caps\":[{\"block\":false,\"mode\":1,\"flags\":[3]}]}}",
		  "mount flag" },
		{ "{\"v\":1,\"claim\":{\"namespace\":\"n\",\"name\":\"c\",\"uid\":\"u\"},"
		  "\"req\":{\"name\":\"v\",\"caps\":[{\"block\":false,\"mode\":1}],"
		  "\"params\":{\"k\":1}}}", "params" },
		{ "{\"v\":1,\"claim\":{\"namespace\":\"n\",\"name\":\"c\",\"uid\":\"u\"},"
		  "\"req\":{\"name\":\"v\",\"caps\":[{\"block\":false,\"mode\":1}]},"
		  "\"secret\":{\"name\":\"s\"}}", "namespace" },
		{ "{\"v\":1,\"claim\":{\"namespace\":\"n\",\"name\":\"c\",\"uid\":\"u\"},"
		  "\"req\":{\"name\":\"\",\"caps\":[{\"block\":false,\"mode\":1}]}}", "empty" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct intent in;
		struct err e = ERR_INIT;

		assert_int_equal(intent_decode(cases[i].json, &in, &e), INTENT_ERR_DECODE);
		if (!strstr(err_msg(&e), cases[i].want))
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err_msg(&e),
				 cases[i].want);
		intent_release(&in);
		err_release(&e);
	}
}

static void oversized_record_refused(void **state)
{
	size_t n = INTENT_MAX_BYTES + 2;
	char *big = malloc(n);
	struct intent in;
	struct err e = ERR_INIT;

	(void)state;
	memset(big, ' ', n - 1);
	big[n - 1] = '\0';
	assert_int_equal(intent_decode(big, &in, &e), INTENT_ERR_DECODE);
	intent_release(&in);
	free(big);
	err_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_keeps_every_field),
		cmocka_unit_test(secrets_never_recorded),
		cmocka_unit_test(encoding_is_canonical),
		cmocka_unit_test(minimal_request_without_secret),
		cmocka_unit_test(malformed_records_refused),
		cmocka_unit_test(oversized_record_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
