// SPDX-License-Identifier: Apache-2.0
/*
 * test_log.c - the logger: exact text and JSON lines, escaping of control
 * characters (no forged lines), --vmodule, and split / buffered streams.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/logfmt.h"

/* 2024-11-26 09:12:01.123456 UTC */
#define T_SEC 1732612321
#define T_USEC 123456

static char *fmt_line(bool json, char sev, int v, const char *msg, const char *const *kv)
{
	struct logfmt_line l = { sev, v, T_SEC, T_USEC, 4242, "../src/provision/controller.c", 77,
				 msg, kv };
	struct buf b;

	buf_init(&b, 1 << 20);
	if (json)
		logfmt_json(&b, &l);
	else
		logfmt_text(&b, &l);
	return buf_detach(&b, NULL);
}

static void test_text_line(void **state)
{
	static const char *const kv[] = { "claim", "ns/data", "pv", "pvc-1", NULL };
	char *s;

	(void)state;
	s = fmt_line(false, 'I', 0, "provisioned", NULL);
	assert_string_equal(s, "I1126 09:12:01.123456    4242 controller.c:77] provisioned\n");
	free(s);
	s = fmt_line(false, 'E', 0, "failed", NULL);
	assert_string_equal(s, "E1126 09:12:01.123456    4242 controller.c:77] failed\n");
	free(s);
	s = fmt_line(false, 'I', 0, "provisioned", kv);
	assert_string_equal(s, "I1126 09:12:01.123456    4242 controller.c:77] \"provisioned\" "
			    "claim=\"ns/data\" pv=\"pvc-1\"\n");
	free(s);
}

static void test_json_line(void **state)
{
	static const char *const kv[] = { "claim", "ns/data", "driver", "hostpath.csi.k8s.io", NULL };
	json_t *j;
	char *s;

	(void)state;
	s = fmt_line(true, 'I', 3, "provisioned", kv);
	assert_string_equal(s, "{\"ts\":1732612321123.456,\"caller\":\"provision/controller.c:77\","
			    "\"msg\":\"provisioned\",\"v\":3,\"claim\":\"ns/data\","
			    "\"driver\":\"hostpath.csi.k8s.io\"}\n");
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_real(json_object_get(j, "ts")));
	json_decref(j);
	free(s);
	/* errors carry no "v", as component-base writes them */
	s = fmt_line(true, 'E', 0, "failed", NULL);
	assert_string_equal(s, "{\"ts\":1732612321123.456,\"caller\":\"provision/controller.c:77\","
			    "\"msg\":\"failed\"}\n");
	free(s);
}

/* Whatever a tenant puts into a name, the result is one line with no raw controls. */
static void test_escaping(void **state)
{
	static const struct {
		const char *in, *text, *json;
	} cases[] = {
		{ "a\nI1126 09:00:00.000000 1 x.c:1] forged", "a\\nI1126 09:00:00.000000 1 x.c:1] forged",
		  "a\\nI1126 09:00:00.000000 1 x.c:1] forged" },
		{ "cr\rtab\tend", "cr\\rtab\\tend", "cr\\rtab\\tend" },
		{ "\x1b[31mred", "\\x1b[31mred", "\\u001b[31mred" },
		{ "del\x7f", "del\\x7f", "del\\u007f" },
		{ "nel\xc2\x85", "nel\\u0085", "nel\\u0085" },
		{ "ls\xe2\x80\xa8ps\xe2\x80\xa9", "ls\\u2028ps\\u2029", "ls\\u2028ps\\u2029" },
		{ "quote\" back\\", "quote\" back\\", "quote\\\" back\\\\" },
		{ "caf\xc3\xa9", "caf\xc3\xa9", "caf\xc3\xa9" },
		{ "bad\xff", "bad\xff", "bad\\ufffd" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf t, j;

		buf_init(&t, 4096);
		buf_init(&j, 4096);
		logfmt_escape_text(&t, cases[i].in, strlen(cases[i].in));
		logfmt_escape_json(&j, cases[i].in, strlen(cases[i].in));
		if (strcmp(t.data, cases[i].text) || strcmp(j.data, cases[i].json))
			fail_msg("case %zu: text \"%s\" json \"%s\"", i, t.data, j.data);
		buf_release(&t);
		buf_release(&j);
	}
}

/* Keys and values of structured lines are escaped too. */
static void test_escaping_structured(void **state)
{
	static const char *const kv[] = { "claim", "ns/x\nE1126 forged", NULL };
	char *s;

	(void)state;
	s = fmt_line(false, 'I', 0, "m\n", kv);
	assert_string_equal(strchr(s, '\n'), "\n");
	assert_non_null(strstr(s, "claim=\"ns/x\\nE1126 forged\""));
	free(s);
	s = fmt_line(true, 'I', 0, "m\n", kv);
	assert_string_equal(strchr(s, '\n'), "\n");
	free(s);
}

static void test_long_message_is_marked(void **state)
{
	char *msg = malloc(LOGFMT_MSG_MAX + 100), *s;

	(void)state;
	memset(msg, 'x', LOGFMT_MSG_MAX + 99);
	msg[LOGFMT_MSG_MAX + 99] = '\0';
	s = fmt_line(false, 'I', 0, msg, NULL);
	assert_non_null(strstr(s, "x[...]\n"));
	free(s);
	free(msg);
}

static void test_vmodule(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	log_set_level(1);
	assert_int_equal(log_set_vmodule("controller=3,kube/rate*=2,,leader=0", &e), 0);
	assert_true(log_v_on(3, "../src/provision/controller.c"));
	assert_false(log_v_on(4, "../src/provision/controller.c"));
	assert_true(log_v_on(2, "../src/kube/ratelimit.c"));
	assert_false(log_v_on(2, "../src/kube/client.c"));
	assert_true(log_v_on(1, "../src/leader/leader.c"));	/* the global level still counts */
	assert_false(log_v_on(2, "../src/leader/leader.c"));
	assert_int_equal(log_set_vmodule(NULL, &e), 0);
	assert_false(log_v_on(3, "../src/provision/controller.c"));
	log_set_level(0);
}

static void test_vmodule_errors(void **state)
{
	static const char *const bad[] = { "controller", "=1", "controller=", "controller=x",
					   "a=1=2", "controller=-1", NULL };

	(void)state;
	for (const char *const *b = bad; *b; b++) {
		struct err e = ERR_INIT;

		if (!log_vmodule_check(*b, &e))
			fail_msg("\"%s\" was accepted", *b);
		assert_true(strlen(err_msg(&e)) > 0);
		err_release(&e);
	}
}

static char *drain(int fd)
{
	static char out[8192];
	ssize_t n = read(fd, out, sizeof(out) - 1);

	out[n > 0 ? n : 0] = '\0';
	return out;
}

/* Split streams: info to "stdout", errors to "stderr"; the buffer holds info until a flush. */
static void test_split_and_buffer(void **state)
{
	int out[2], err[2];
	struct log_opts o = { LOG_FORMAT_TEXT, true, 4096, 60000, 0, 0 };

	(void)state;
	assert_int_equal(pipe2(out, O_NONBLOCK), 0);
	assert_int_equal(pipe2(err, O_NONBLOCK), 0);
	o.out_fd = out[1];
	o.err_fd = err[1];
	log_configure(&o);
	log_info("hello %s", "info\nforged");
	log_warn("careful");
	assert_string_equal(drain(out[0]), "");	/* still buffered */
	assert_non_null(strstr(drain(err[0]), "] careful\n"));
	log_flush();
	assert_non_null(strstr(drain(out[0]), "] hello info\\nforged\n"));

	o.format = LOG_FORMAT_JSON;
	o.info_buffer = 0;
	log_configure(&o);
	log_warn("w");
	log_error("e");
	assert_non_null(strstr(drain(out[0]), "\"msg\":\"w\",\"v\":0}"));	/* JSON: only errors split */
	assert_non_null(strstr(drain(err[0]), "\"msg\":\"e\"}"));

	o = (struct log_opts){ LOG_FORMAT_TEXT, false, 0, 5000, 1, 2 };
	log_configure(&o);
	close(out[0]), close(out[1]), close(err[0]), close(err[1]);
}

/* A buffered info line is written within the flush frequency without an explicit flush. */
static void test_flush_frequency(void **state)
{
	int out[2];
	struct log_opts o = { LOG_FORMAT_TEXT, true, 4096, 50, 0, 2 };
	struct timespec start, now, pause = { 0, 10 * 1000000 };
	char *got = "";

	(void)state;
	assert_int_equal(pipe2(out, O_NONBLOCK), 0);
	o.out_fd = out[1];
	log_configure(&o);
	log_info("flushed by the clock");
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		nanosleep(&pause, NULL);	/* poll interval; the deadline bounds the wait */
		got = drain(out[0]);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (!*got && now.tv_sec - start.tv_sec < 5);
	assert_non_null(strstr(got, "] flushed by the clock\n"));
	o = (struct log_opts){ LOG_FORMAT_TEXT, false, 0, 5000, 1, 2 };
	log_configure(&o);
	close(out[0]), close(out[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_line),
		cmocka_unit_test(test_json_line),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_escaping_structured),
		cmocka_unit_test(test_long_message_is_marked),
		cmocka_unit_test(test_vmodule),
		cmocka_unit_test(test_vmodule_errors),
		cmocka_unit_test(test_flush_frequency),
		cmocka_unit_test(test_split_and_buffer),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
