// SPDX-License-Identifier: Apache-2.0
/*
 * test_stream.c - the pure parts of the client: NDJSON splitting with
 * chunk boundaries anywhere, watch event decoding, Status-to-code mapping,
 * path escaping and the token bucket.
 */
#include "kube_test.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "kube/client.h"
#include "kube/ndjson.h"
#include "kube/ratelimit.h"
#include "kube/status.h"

/* Collects lines joined by '|'. */
struct sink {
	struct buf out;
	int lines;
	int stop_after;		/* return 7 after this many lines; 0 never */
};

static int collect(void *p, const char *line, size_t len)
{
	struct sink *s = p;

	if (s->lines)
		buf_append(&s->out, "|", 1);
	buf_append(&s->out, line, len);
	s->lines++;
	return s->stop_after && s->lines >= s->stop_after ? 7 : 0;
}

static const char stream[] =
	"{\"type\":\"ADDED\",\"object\":{\"a\":1}}\n"
	"\n"
	"{\"type\":\"MODIFIED\",\"object\":{\"b\":\"x\\ny\"}}\r\n"
	"{\"type\":\"DELETED\",\"object\":{}}\n";
static const char joined[] =
	"{\"type\":\"ADDED\",\"object\":{\"a\":1}}|"
	"{\"type\":\"MODIFIED\",\"object\":{\"b\":\"x\\ny\"}}|"
	"{\"type\":\"DELETED\",\"object\":{}}";

static void test_split_every_two_chunk_boundary(void **state)
{
	size_t n = strlen(stream), cut;

	(void)state;
	for (cut = 0; cut <= n; cut++) {
		struct kube_ndjson s;
		struct sink k = { .lines = 0 };
		struct err e = ERR_INIT;

		buf_init(&k.out, 4096);
		kube_ndjson_init(&s, 0);
		assert_int_equal(kube_ndjson_feed(&s, stream, cut, collect, &k, &e), 0);
		assert_int_equal(kube_ndjson_feed(&s, stream + cut, n - cut, collect, &k, &e), 0);
		if (strcmp(k.out.data, joined))
			fail_msg("cut at %zu: got '%s'", cut, k.out.data);
		assert_int_equal(k.lines, 3);
		assert_int_equal(kube_ndjson_pending(&s), 0);
		kube_ndjson_release(&s);
		buf_release(&k.out);
	}
}

static void test_split_every_three_chunk_boundary(void **state)
{
	size_t n = strlen(stream), a, b;

	(void)state;
	for (a = 0; a <= n; a++) {
		for (b = a; b <= n; b++) {
			struct kube_ndjson s;
			struct sink k = { .lines = 0 };

			buf_init(&k.out, 4096);
			kube_ndjson_init(&s, 0);
			assert_int_equal(kube_ndjson_feed(&s, stream, a, collect, &k, NULL), 0);
			assert_int_equal(kube_ndjson_feed(&s, stream + a, b - a, collect, &k, NULL), 0);
			assert_int_equal(kube_ndjson_feed(&s, stream + b, n - b, collect, &k, NULL), 0);
			if (strcmp(k.out.data, joined))
				fail_msg("cuts at %zu,%zu: got '%s'", a, b, k.out.data);
			kube_ndjson_release(&s);
			buf_release(&k.out);
		}
	}
}

static void test_split_byte_at_a_time(void **state)
{
	struct kube_ndjson s;
	struct sink k = { .lines = 0 };
	size_t i;

	(void)state;
	buf_init(&k.out, 4096);
	kube_ndjson_init(&s, 0);
	for (i = 0; stream[i]; i++)
		assert_int_equal(kube_ndjson_feed(&s, stream + i, 1, collect, &k, NULL), 0);
	assert_string_equal(k.out.data, joined);
	kube_ndjson_release(&s);
	buf_release(&k.out);
}

static void test_split_keeps_unterminated_tail(void **state)
{
	struct kube_ndjson s;
	struct sink k = { .lines = 0 };

	(void)state;
	buf_init(&k.out, 4096);
	kube_ndjson_init(&s, 0);
	assert_int_equal(kube_ndjson_feed(&s, "{}\n{\"x\"", 7, collect, &k, NULL), 0);
	assert_int_equal(k.lines, 1);
	assert_int_equal(kube_ndjson_pending(&s), 4);
	assert_int_equal(kube_ndjson_feed(&s, ":1}\n", 4, collect, &k, NULL), 0);
	assert_string_equal(k.out.data, "{}|{\"x\":1}");
	kube_ndjson_release(&s);
	buf_release(&k.out);
}

static void test_split_line_at_cap_is_accepted(void **state)
{
	struct kube_ndjson s;
	struct sink k = { .lines = 0 };
	struct err e = ERR_INIT;

	(void)state;
	buf_init(&k.out, 4096);
	kube_ndjson_init(&s, 8);
	assert_int_equal(kube_ndjson_feed(&s, "12345678\n", 9, collect, &k, &e), 0);
	assert_int_equal(kube_ndjson_feed(&s, "1234", 4, collect, &k, &e), 0);
	assert_int_equal(kube_ndjson_feed(&s, "5678\r", 5, collect, &k, &e), 0);
	assert_int_equal(kube_ndjson_feed(&s, "\n", 1, collect, &k, &e), 0);
	assert_string_equal(k.out.data, "12345678|12345678");
	kube_ndjson_release(&s);
	buf_release(&k.out);
}

static void test_split_line_over_cap_whole_chunk(void **state)
{
	struct kube_ndjson s;
	struct sink k = { .lines = 0 };
	struct err e = ERR_INIT;

	(void)state;
	buf_init(&k.out, 4096);
	kube_ndjson_init(&s, 8);
	assert_int_equal(kube_ndjson_feed(&s, "123456789\n", 10, collect, &k, &e),
			 KUBE_ERR_TOO_LARGE);
	assert_contains(e.msg, "longer than 8 bytes");
	assert_int_equal(k.lines, 0);
	err_release(&e);
	kube_ndjson_release(&s);
	buf_release(&k.out);
}

static void test_split_line_over_cap_across_chunks(void **state)
{
	struct kube_ndjson s;
	struct sink k = { .lines = 0 };
	struct err e = ERR_INIT;

	(void)state;
	buf_init(&k.out, 4096);
	kube_ndjson_init(&s, 8);
	assert_int_equal(kube_ndjson_feed(&s, "12345", 5, collect, &k, &e), 0);
	/* Caught before the newline arrives: no unbounded buffering. */
	assert_int_equal(kube_ndjson_feed(&s, "6789", 4, collect, &k, &e), KUBE_ERR_TOO_LARGE);
	err_release(&e);
	kube_ndjson_release(&s);
	buf_release(&k.out);
}

static void test_split_callback_stops(void **state)
{
	struct kube_ndjson s;
	struct sink k = { .lines = 0, .stop_after = 1 };

	(void)state;
	buf_init(&k.out, 4096);
	kube_ndjson_init(&s, 0);
	assert_int_equal(kube_ndjson_feed(&s, "a\nb\nc\n", 6, collect, &k, NULL), 7);
	assert_int_equal(k.lines, 1);
	kube_ndjson_release(&s);
	buf_release(&k.out);
}

static void test_watch_event_parse(void **state)
{
	const char line[] = "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"5\"}}}";
	const char *type;
	json_t *ev, *obj;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_watch_event_parse(line, strlen(line), &ev, &type, &obj, &e), 0);
	assert_string_equal(type, "BOOKMARK");
	assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "metadata"),
							      "resourceVersion")), "5");
	json_decref(ev);
}

static void test_watch_event_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"not json", "[]", "{\"type\":\"ADDED\"}", "{\"type\":1,\"object\":{}}",
		"{\"type\":\"ADDED\",\"object\":[]}", "{\"type\":\"ADDED\",\"object\":{}} x",
	};
	const char *type;
	json_t *ev, *obj;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct err e = ERR_INIT;

		if (kube_watch_event_parse(bad[i], strlen(bad[i]), &ev, &type, &obj, &e) !=
		    KUBE_ERR_DECODE)
			fail_msg("'%s' accepted", bad[i]);
		err_release(&e);
	}
}

struct status_case {
	long http;
	const char *body;
	int want;
	const char *msg;
};

static const struct status_case status_cases[] = {
	{ 409, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
	       "\"message\":\"persistentvolumes \\\"pvc-1\\\" already exists\","
	       "\"reason\":\"AlreadyExists\",\"code\":409}",
	  KUBE_ERR_ALREADY_EXISTS, "persistentvolumes \"pvc-1\" already exists" },
	{ 409, "{\"kind\":\"Status\",\"message\":\"Operation cannot be fulfilled\",\"reason\":\"Conflict\"}",
	  KUBE_ERR_CONFLICT, "Operation cannot be fulfilled" },
	{ 404, "{\"kind\":\"Status\",\"message\":\"persistentvolumes \\\"x\\\" not found\",\"reason\":\"NotFound\"}",
	  KUBE_ERR_NOT_FOUND, "persistentvolumes \"x\" not found" },
	{ 403, "{\"kind\":\"Status\",\"message\":\"persistentvolumes is forbidden: User \\\"u\\\" cannot create resource \\\"persistentvolumes\\\"\",\"reason\":\"Forbidden\"}",
	  KUBE_ERR_FORBIDDEN, "cannot create resource \"persistentvolumes\"" },
	{ 410, "{\"kind\":\"Status\",\"message\":\"too old resource version\",\"reason\":\"Expired\"}",
	  KUBE_ERR_GONE, "too old resource version" },
	{ 422, "{\"kind\":\"Status\",\"message\":\"is invalid\",\"reason\":\"Invalid\"}",
	  KUBE_ERR_INVALID, "is invalid" },
	{ 401, "{\"kind\":\"Status\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\"}",
	  KUBE_ERR_UNAUTHORIZED, "Unauthorized" },
	{ 429, "{\"kind\":\"Status\",\"message\":\"too many requests\",\"reason\":\"TooManyRequests\"}",
	  KUBE_ERR_THROTTLED, "too many requests" },
	{ 504, "{\"kind\":\"Status\",\"message\":\"timeout\",\"reason\":\"Timeout\"}",
	  KUBE_ERR_TIMEOUT, "timeout" },
	{ 500, "{\"kind\":\"Status\",\"message\":\"etcd down\",\"reason\":\"InternalError\"}",
	  KUBE_ERR_SERVER, "etcd down" },
	{ 502, "<html>bad gateway</html>\n", KUBE_ERR_SERVER, "GET /api/v1/x: HTTP 502: <html>bad gateway</html>" },
	{ 503, NULL, KUBE_ERR_SERVER, "GET /api/v1/x: HTTP 503" },
	{ 413, "{\"kind\":\"Status\",\"reason\":\"RequestEntityTooLarge\"}", KUBE_ERR_TOO_LARGE,
	  "GET /api/v1/x: HTTP 413 RequestEntityTooLarge" },
	{ 418, "{}", KUBE_ERR_OTHER, "HTTP 418" },
};

static void test_status(void **state)
{
	const struct status_case *c = *state;
	struct err e = ERR_INIT;
	int rc = kube_status_error(c->http, c->body, c->body ? strlen(c->body) : 0, "GET",
				   "/api/v1/x", &e);

	assert_string_equal(kube_code_name(rc), kube_code_name(c->want));
	assert_int_equal(err_code(&e), c->want);
	assert_contains(e.msg, c->msg);
	err_release(&e);
}

static void test_status_json_gone(void **state)
{
	json_t *st = json_pack("{s:s, s:i, s:s, s:s}", "kind", "Status", "code", 410,
			       "reason", "Expired", "message", "too old resource version: 1 (5)");
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(kube_status_error_json(st, "watch", &e), KUBE_ERR_GONE);
	assert_string_equal(e.msg, "too old resource version: 1 (5)");
	json_decref(st);
	json_t *bare = json_pack("{s:i}", "code", 410);
	assert_int_equal(kube_status_error_json(bare, "watch", &e), KUBE_ERR_GONE);
	json_decref(bare);
	err_release(&e);
}

static void test_code_names(void **state)
{
	(void)state;
	assert_string_equal(kube_code_name(KUBE_OK), "KUBE_OK");
	assert_string_equal(kube_code_name(KUBE_ERR_GONE), "KUBE_ERR_GONE");
	assert_string_equal(kube_code_name(KUBE_ERR_OTHER), "KUBE_ERR_OTHER");
	assert_string_equal(kube_code_name(-3), "unknown");
	assert_string_equal(kube_code_name(KUBE_ERR_OTHER + 1), "unknown");
}

static void test_path_escape(void **state)
{
	char *s;

	(void)state;
	s = kube_path_escape("app in (a,b),tier!=x y/z~._-");
	assert_string_equal(s, "app%20in%20%28a%2Cb%29%2Ctier%21%3Dx%20y%2Fz~._-");
	free(s);
	s = kube_path_escape("");
	assert_string_equal(s, "");
	free(s);
}

static void test_bucket_burst_then_qps(void **state)
{
	struct kube_bucket b;
	int i;

	(void)state;
	kube_bucket_init(&b, 5, 10, 1000);
	for (i = 0; i < 10; i++)
		assert_int_equal(kube_bucket_reserve(&b, 1000), 0);
	assert_int_equal(kube_bucket_reserve(&b, 1000), 200);
	assert_int_equal(kube_bucket_reserve(&b, 1000), 400);
	/* 400 ms later both reservations are paid; the next waits 200 ms. */
	assert_int_equal(kube_bucket_reserve(&b, 1400), 200);
	/* A long idle refills to the burst, not beyond. */
	for (i = 0; i < 10; i++)
		assert_int_equal(kube_bucket_reserve(&b, 100000), 0);
	assert_int_equal(kube_bucket_reserve(&b, 100000), 200);
	kube_bucket_release(&b);
}

static void test_bucket_unlimited(void **state)
{
	struct kube_bucket b;
	int i;

	(void)state;
	kube_bucket_init(&b, -1, 1, 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(kube_bucket_reserve(&b, 0), 0);
	kube_bucket_release(&b);
}

static void test_bucket_wait_sleeps(void **state)
{
	struct kube_bucket b;

	(void)state;
	kube_bucket_init(&b, 20, 1, clock_now_ms());
	assert_int_equal(kube_bucket_wait(&b), 0);
	/* The second token is due 50 ms later. */
	assert_in_range(kube_bucket_wait(&b), 1, 50);
	kube_bucket_release(&b);
}

#define N_STATUS (sizeof(status_cases) / sizeof(status_cases[0]))

int main(void)
{
	static struct CMUnitTest tests[N_STATUS + 20];
	static char names[N_STATUS][64];
	size_t n = 0, i;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_split_every_two_chunk_boundary);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_split_every_three_chunk_boundary);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_split_byte_at_a_time);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_split_keeps_unterminated_tail);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_split_line_at_cap_is_accepted);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_split_line_over_cap_whole_chunk);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_split_line_over_cap_across_chunks);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_split_callback_stops);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_watch_event_parse);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_watch_event_parse_rejects);
	for (i = 0; i < N_STATUS; i++) {
		snprintf(names[i], sizeof(names[i]), "status HTTP %ld -> %s", status_cases[i].http,
			 kube_code_name(status_cases[i].want));
		tests[n++] = (struct CMUnitTest){ names[i], test_status, NULL, NULL,
						  (void *)&status_cases[i] };
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_status_json_gone);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_code_names);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_path_escape);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bucket_burst_then_qps);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bucket_unlimited);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bucket_wait_sleeps);
	return kt_run("stream", tests, n);
}
