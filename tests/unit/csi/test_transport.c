// SPDX-License-Identifier: Apache-2.0
/*
 * test_transport.c - the CSI client over a real gRPC channel to the
 * in-process fake driver: status codes and messages pass through unchanged,
 * bad or oversized replies are local errors, deadlines hold, the observer
 * sees every call, many threads share one client, csi_wait_ready's rules,
 * and secrets stay out of the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "base/clock.h"
#include "base/log.h"
#include "csi/client.h"
#include "csi/csi.pb-c.h"
#include "fake_driver.h"

struct fixture {
	struct fake_driver *f;
	struct csi_client *c;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct err e = ERR_INIT;

	fx->f = fake_driver_start();
	/* Generous: a 4 MiB reply under valgrind or TSan is slow. */
	if (csi_client_new(&fx->c, fake_driver_endpoint(fx->f), 30000, &e))
		fail_msg("csi_client_new: %s", err_msg(&e));
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	csi_client_free(fx->c);
	fake_driver_stop(fx->f);
	free(fx);
	return 0;
}

static uint8_t *pack_msg(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *p = malloc(*len ? *len : 1);

	assert_non_null(p);
	protobuf_c_message_pack(m, p);
	return p;
}

/* A CreateVolumeResponse for `id` whose context value has `pad` bytes. */
static uint8_t *create_reply(const char *id, size_t pad, size_t *len)
{
	Csi__V1__Volume__VolumeContextEntry ce = CSI__V1__VOLUME__VOLUME_CONTEXT_ENTRY__INIT;
	Csi__V1__Volume__VolumeContextEntry *ces[] = { &ce };
	Csi__V1__Volume vol = CSI__V1__VOLUME__INIT;
	Csi__V1__CreateVolumeResponse r = CSI__V1__CREATE_VOLUME_RESPONSE__INIT;
	char *value = malloc(pad + 1);
	uint8_t *buf;

	assert_non_null(value);
	memset(value, 'p', pad);
	value[pad] = '\0';
	ce.key = "pad", ce.value = value;
	vol.volume_id = (char *)id;
	vol.capacity_bytes = 1 << 20;
	if (pad)
		vol.volume_context = ces, vol.n_volume_context = 1;
	r.volume = &vol;
	buf = pack_msg(&r.base, len);
	free(value);
	return buf;
}

static void create_volume_round_trip(void **state)
{
	struct fixture *fx = *state;
	const struct csi_volume_capability cap = { .access_mode = CSI_ACCESS_SINGLE_NODE_WRITER };
	const struct csi_create_volume_req req = { .name = "pvc-1", .required_bytes = 1 << 20,
						   .caps = &cap, .n_caps = 1 };
	struct csi_volume vol;
	struct err e = ERR_INIT;
	char method[128];
	uint8_t *sent;
	size_t len, sent_len;
	uint8_t *reply = create_reply("vol-1", 0, &len);
	Csi__V1__CreateVolumeRequest *m;

	fake_driver_script(fx->f, 0, NULL, reply, len, false);
	free(reply);
	assert_int_equal(csi_create_volume(fx->c, &req, &vol, &e), 0);
	assert_string_equal(vol.volume_id, "vol-1");
	assert_int_equal(vol.capacity_bytes, 1 << 20);
	csi_volume_release(&vol);

	sent_len = fake_driver_last(fx->f, method, sizeof(method), &sent);
	assert_string_equal(method, "/csi.v1.Controller/CreateVolume");
	m = csi__v1__create_volume_request__unpack(NULL, sent_len, sent);
	assert_non_null(m);
	assert_string_equal(m->name, "pvc-1");
	assert_int_equal(m->capacity_range->required_bytes, 1 << 20);
	csi__v1__create_volume_request__free_unpacked(m, NULL);
	free(sent);
}

static void every_status_code_passes_through(void **state)
{
	struct fixture *fx = *state;

	for (int status = 1; status <= 16; status++) {
		struct err e = ERR_INIT;
		int code = csi_code_from_status(status);
		char msg[64];

		snprintf(msg, sizeof(msg), "driver says %d: volume \"x\" busy", status);
		fake_driver_script(fx->f, code, msg, NULL, 0, false);
		if (csi_delete_volume(fx->c, "vol-x", NULL, &e) != code || !err_is(&e, code) ||
		    csi_status(err_code(&e)) != status)
			fail_msg("status %d came back as %s (%s)", status,
				 csi_code_name(err_code(&e)), err_msg(&e));
		assert_string_equal(err_msg(&e), msg);
		err_release(&e);
	}
}

static void empty_status_message_names_the_code(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;

	fake_driver_script(fx->f, CSI_NOT_FOUND, NULL, NULL, 0, false);
	assert_int_equal(csi_delete_volume(fx->c, "vol-x", NULL, &e), CSI_NOT_FOUND);
	assert_string_equal(err_msg(&e), "NotFound (no message)");
	err_release(&e);
}

static void garbage_reply_is_local(void **state)
{
	struct fixture *fx = *state;
	struct csi_volume vol;
	struct err e = ERR_INIT;

	fake_driver_script(fx->f, 0, NULL, "\x0a\x10\x01", 3, false);
	assert_int_equal(csi_create_volume(fx->c, &(struct csi_create_volume_req){ .name = "v" },
					   &vol, &e), CSI_ERR_LOCAL);
	assert_int_equal(err_code(&e), CSI_ERR_LOCAL);
	assert_null(vol.volume_id);
	assert_non_null(strstr(err_msg(&e), "CreateVolume"));
	err_release(&e);
}

static void reply_without_volume_id_is_local(void **state)
{
	struct fixture *fx = *state;
	struct csi_volume vol;
	struct err e = ERR_INIT;

	fake_driver_script(fx->f, 0, NULL, NULL, 0, false);
	assert_int_equal(csi_create_volume(fx->c, &(struct csi_create_volume_req){ .name = "v" },
					   &vol, &e), CSI_ERR_LOCAL);
	assert_non_null(strstr(err_msg(&e), "volume_id"));
	err_release(&e);
}

static void reply_at_cap_is_accepted_above_is_local(void **state)
{
	struct fixture *fx = *state;
	struct csi_volume vol;
	struct err e = ERR_INIT;
	size_t pad = CSI_MAX_REPLY_BYTES - 64, len;
	uint8_t *reply;

	/* Grow the padding until the message is exactly at the cap. */
	for (;;) {
		reply = create_reply("vol-big", pad, &len);
		if (len >= CSI_MAX_REPLY_BYTES)
			break;
		free(reply);
		pad += CSI_MAX_REPLY_BYTES - len;
	}
	assert_int_equal(len, CSI_MAX_REPLY_BYTES);
	fake_driver_script(fx->f, 0, NULL, reply, len, false);
	free(reply);
	if (csi_create_volume(fx->c, &(struct csi_create_volume_req){ .name = "v" }, &vol, &e))
		fail_msg("reply at the cap refused: %s", err_msg(&e));
	assert_string_equal(vol.volume_id, "vol-big");
	csi_volume_release(&vol);

	reply = create_reply("vol-big", pad + 1, &len);
	assert_int_equal(len, CSI_MAX_REPLY_BYTES + 1);
	fake_driver_script(fx->f, 0, NULL, reply, len, false);
	free(reply);
	assert_int_equal(csi_create_volume(fx->c, &(struct csi_create_volume_req){ .name = "v" },
					   &vol, &e), CSI_ERR_LOCAL);
	assert_non_null(strstr(err_msg(&e), "CreateVolume: reply exceeds the 4194304-byte cap"));
	err_release(&e);
}

static void deadline_ends_a_silent_call(void **state)
{
	struct fixture *fx = *state;
	struct csi_client *c;
	struct err e = ERR_INIT;
	bool ready;
	int64_t start;

	assert_int_equal(csi_client_new(&c, fake_driver_endpoint(fx->f), 200, &e), 0);
	fake_driver_script(fx->f, 0, NULL, NULL, 0, true);
	start = clock_now_ms();
	assert_int_equal(csi_probe(c, &ready, &e), CSI_DEADLINE_EXCEEDED);
	assert_true(clock_now_ms() - start < 4000);
	csi_client_free(c);
	err_release(&e);
}

/* Runs on client threads: records only (cmocka asserts need the test thread). */
struct observed {
	pthread_mutex_t mu;
	int calls;
	int last_code;
	int negative_durations;
	char last_method[128];
};

static void observe(void *ctx, const char *method, int code, double seconds)
{
	struct observed *o = ctx;

	pthread_mutex_lock(&o->mu);
	o->calls++;
	o->last_code = code;
	if (seconds < 0.0)
		o->negative_durations++;
	snprintf(o->last_method, sizeof(o->last_method), "%s", method);
	pthread_mutex_unlock(&o->mu);
}

static void observer_sees_every_call(void **state)
{
	struct fixture *fx = *state;
	struct observed o = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct csi_plugin_caps pc;
	struct err e = ERR_INIT;
	struct csi_volume vol;

	csi_client_set_observer(fx->c, observe, &o);
	fake_driver_script(fx->f, 0, NULL, NULL, 0, false);
	assert_int_equal(csi_get_plugin_capabilities(fx->c, &pc, &e), 0);
	assert_int_equal(o.calls, 1);
	assert_string_equal(o.last_method, "/csi.v1.Identity/GetPluginCapabilities");
	assert_int_equal(o.last_code, 0);

	fake_driver_script(fx->f, CSI_ABORTED, "busy", NULL, 0, false);
	assert_int_equal(csi_delete_volume(fx->c, "v", NULL, &e), CSI_ABORTED);
	assert_int_equal(o.calls, 2);
	assert_string_equal(o.last_method, "/csi.v1.Controller/DeleteVolume");
	assert_int_equal(o.last_code, CSI_ABORTED);

	/* A request refused before sending is still observed. */
	assert_int_equal(csi_create_volume(fx->c, &(struct csi_create_volume_req){ 0 }, &vol, &e),
			 CSI_ERR_LOCAL);
	assert_int_equal(o.calls, 3);
	assert_int_equal(o.last_code, CSI_ERR_LOCAL);
	assert_int_equal(fake_driver_calls(fx->f), 2);
	assert_int_equal(o.negative_durations, 0);
	csi_client_set_observer(fx->c, NULL, NULL);
	err_release(&e);
}

#define THREADS 8
#define PER_THREAD 25

struct worker {
	struct csi_client *c;
	int failures;
};

static void *probe_worker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		struct err e = ERR_INIT;
		bool ready = false;

		if (csi_probe(w->c, &ready, &e) || !ready)
			w->failures++;
		err_release(&e);
	}
	return NULL;
}

static void many_threads_share_one_client(void **state)
{
	struct fixture *fx = *state;
	struct observed o = { .mu = PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[THREADS];
	struct worker w[THREADS];

	csi_client_set_observer(fx->c, observe, &o);
	fake_driver_script(fx->f, 0, NULL, NULL, 0, false);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .c = fx->c };
		assert_int_equal(pthread_create(&th[i], NULL, probe_worker, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(o.calls, THREADS * PER_THREAD);
	assert_int_equal(fake_driver_calls(fx->f), THREADS * PER_THREAD);
	csi_client_set_observer(fx->c, NULL, NULL);
}

static void wait_ready_retries_not_ready(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;

	fake_driver_script(fx->f, 0, NULL, NULL, 0, false);
	fake_driver_not_ready(fx->f, 1);
	assert_int_equal(csi_wait_ready(fx->c, 10000, &e), 0);
	assert_int_equal(fake_driver_calls(fx->f), 2);
	err_release(&e);
}

static void wait_ready_stops_at_other_errors(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;

	fake_driver_script(fx->f, CSI_FAILED_PRECONDITION, "broken disk", NULL, 0, false);
	assert_int_equal(csi_wait_ready(fx->c, 10000, &e), CSI_FAILED_PRECONDITION);
	assert_non_null(strstr(err_msg(&e), "broken disk"));
	assert_int_equal(fake_driver_calls(fx->f), 1);
	err_release(&e);
}

static void no_driver(void **state)
{
	struct csi_client *c;
	struct err e = ERR_INIT;
	bool ready;
	int64_t start;

	assert_int_equal(csi_client_new(&c, "/nonexistent/dir/csi.sock", 5000, &e), 0);
	start = clock_now_ms();
	assert_int_equal(csi_wait_ready(c, 300, &e), CSI_DEADLINE_EXCEEDED);
	assert_true(clock_now_ms() - start < 3000);

	/* Fail-fast calls report UNAVAILABLE instead of waiting. */
	csi_client_set_wait_for_ready(c, false);
	start = clock_now_ms();
	assert_int_equal(csi_probe(c, &ready, &e), CSI_UNAVAILABLE);
	assert_true(clock_now_ms() - start < 3000);
	csi_client_free(c);
	err_release(&e);
}

/*
 * How soon the client must notice that the driver went away. gRPC's own
 * backup poller runs every 5 s; the client's watcher thread notices within
 * milliseconds, so a bound below 5 s fails without the watcher.
 */
#define LOSS_NOTICED_MS 2500

/* Poll csi_client_connected until it says `want` or `ms` pass. */
static bool connected_becomes(struct csi_client *c, bool want, int64_t ms)
{
	int64_t end = clock_now_ms() + ms;

	while (clock_now_ms() < end) {
		if (csi_client_connected(c) == want)
			return true;
		usleep(10000);	/* poll interval; the deadline bounds the wait */
	}
	return false;
}

/* connected: false before any call, true once a call went through, false
 * again soon after the driver went away (and the channel does not crash). */
static void connected_follows_the_driver(void **state)
{
	struct fake_driver *f = fake_driver_start();
	struct csi_client *c;
	struct err e = ERR_INIT;
	bool ready;

	assert_int_equal(csi_client_new(&c, fake_driver_endpoint(f), 5000, &e), 0);
	assert_false(csi_client_connected(c));
	fake_driver_script(f, 0, NULL, NULL, 0, false);
	assert_int_equal(csi_probe(c, &ready, &e), 0);
	assert_true(connected_becomes(c, true, 10000));
	fake_driver_stop(f);
	assert_true(connected_becomes(c, false, LOSS_NOTICED_MS));
	/* Fail-fast: the driver is gone, the call says so at once. */
	csi_client_set_wait_for_ready(c, false);
	assert_int_equal(csi_probe(c, &ready, &e), CSI_UNAVAILABLE);
	assert_false(csi_client_connected(c));
	csi_client_free(c);
	err_release(&e);
}

/* argv[0] of this binary, for the driver process below */
static const char *self_path;

/*
 * The fake driver in a process of its own (this binary re-executed with
 * --serve): it prints its endpoint and serves until killed. Unlike the
 * in-process fake, nothing in the test process polls gRPC sockets when the
 * driver dies, so only the client's own tracking can notice.
 */
static pid_t start_driver_process(char *endpoint, size_t size)
{
	int fds[2];
	pid_t pid;
	ssize_t n;
	size_t got = 0;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(self_path, self_path, "--serve", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (got < size - 1 && (n = read(fds[0], endpoint + got, size - 1 - got)) > 0) {
		got += (size_t)n;
		if (endpoint[got - 1] == '\n')
			break;
	}
	close(fds[0]);
	assert_true(got > 1 && endpoint[got - 1] == '\n');
	endpoint[got - 1] = '\0';
	return pid;
}

static _Noreturn void serve(void)
{
	struct fake_driver *f = fake_driver_start();

	fake_driver_script(f, 0, NULL, NULL, 0, false);
	printf("%s\n", fake_driver_endpoint(f));
	fflush(stdout);
	for (;;)
		pause();	/* until the test kills us */
}

/* connected: false again within seconds of the driver process being killed -9. */
static void connected_follows_a_killed_driver(void **state)
{
	char endpoint[512];
	pid_t pid = start_driver_process(endpoint, sizeof(endpoint));
	struct csi_client *c;
	struct err e = ERR_INIT;
	bool ready;
	int status;

	(void)state;
	assert_int_equal(csi_client_new(&c, endpoint, 5000, &e), 0);
	assert_int_equal(csi_probe(c, &ready, &e), 0);
	assert_true(connected_becomes(c, true, 10000));
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(connected_becomes(c, false, LOSS_NOTICED_MS));
	csi_client_free(c);
	err_release(&e);
	/* the killed process could not clean up its socket directory */
	if (!strncmp(endpoint, "unix://", 7)) {
		char *dir = strdup(endpoint + 7), *slash = strrchr(dir, '/');

		unlink(endpoint + 7);
		if (slash) {
			*slash = '\0';
			rmdir(dir);
		}
		free(dir);
	}
}

static void bad_arguments(void **state)
{
	struct csi_client *c = (struct csi_client *)1;
	struct err e = ERR_INIT;

	assert_int_equal(csi_client_new(&c, "tcp://x:1", 1000, &e), CSI_ERR_LOCAL);
	assert_null(c);
	assert_int_equal(csi_client_new(&c, "/x.sock", 0, &e), CSI_ERR_LOCAL);
	assert_null(c);
	csi_client_free(NULL);
	err_release(&e);
}

static void secrets_never_logged(void **state)
{
	struct fixture *fx = *state;
	static struct strmap_entry secrets[] = { { "password", "hunter2-secret" } };
	const struct csi_create_volume_req req = { .name = "pvc-s", .secrets = { secrets, 1, 0 } };
	struct csi_volume vol;
	struct err e = ERR_INIT;
	char path[] = "/tmp/csi-log-XXXXXX", buf[65536];
	int fd = mkstemp(path), saved = dup(2), prev_level = log_level();
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	log_set_level(10);
	fake_driver_script(fx->f, CSI_INVALID_ARGUMENT, "bad", NULL, 0, false);
	csi_create_volume(fx->c, &req, &vol, &e);
	assert_int_equal(csi_delete_volume(fx->c, "v", &req.secrets, &e), CSI_INVALID_ARGUMENT);
	log_set_level(prev_level);
	dup2(saved, 2);
	close(saved);

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);	/* it did log at this level */
	buf[n] = '\0';
	assert_non_null(strstr(buf, "pvc-s"));
	assert_null(strstr(buf, "hunter2"));
	close(fd);
	unlink(path);
	err_release(&e);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create_volume_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(every_status_code_passes_through, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_status_message_names_the_code, setup, teardown),
		cmocka_unit_test_setup_teardown(garbage_reply_is_local, setup, teardown),
		cmocka_unit_test_setup_teardown(reply_without_volume_id_is_local, setup, teardown),
		cmocka_unit_test_setup_teardown(reply_at_cap_is_accepted_above_is_local, setup,
						teardown),
		cmocka_unit_test_setup_teardown(deadline_ends_a_silent_call, setup, teardown),
		cmocka_unit_test_setup_teardown(observer_sees_every_call, setup, teardown),
		cmocka_unit_test_setup_teardown(many_threads_share_one_client, setup, teardown),
		cmocka_unit_test_setup_teardown(wait_ready_retries_not_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(wait_ready_stops_at_other_errors, setup, teardown),
		cmocka_unit_test(no_driver),
		cmocka_unit_test(connected_follows_the_driver),
		cmocka_unit_test(connected_follows_a_killed_driver),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test_setup_teardown(secrets_never_logged, setup, teardown),
	};
	int n = (int)(sizeof(tests) / sizeof(tests[0]));
	int failed;

	if (argc > 1 && !strcmp(argv[1], "--serve"))
		serve();
	self_path = argv[0];
	failed = cmocka_run_group_tests(tests, NULL, NULL);

	printf("tests: %d passed, %d failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
