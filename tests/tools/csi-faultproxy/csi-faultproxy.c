// SPDX-License-Identifier: Apache-2.0
/*
 * csi-faultproxy - a gRPC proxy between a CSI client and a CSI driver that
 * forwards every call unchanged, or injects the fault its rules file asks
 * for, and records each call as one JSON line. For end-to-end tests of how
 * a client copes with a misbehaving driver; see README.md for the usage and
 * the rules format.
 *
 * DESIGN: gRPC core, no registered methods: the main thread asks the server
 * for the next call (grpc_server_request_call) and hands each one to a
 * detached thread of its own, which owns the call and a pluck completion
 * queue bound to it. The thread forwards the request bytes on the one
 * channel to the driver as a child call of the caller's call, so the
 * caller's deadline and cancellation reach the driver (gRPC propagation).
 * A rules thread re-reads the rules file when its inode, size or mtime
 * changes. One mutex `mu` guards the rules, the counters, the record and
 * status files and the thread count; nobody holds it across a gRPC wait or
 * a sleep. SIGTERM/SIGINT are taken by sigwait in a thread of their own,
 * which shuts the server down and cancels every call (held calls end, and
 * forwarded calls are cancelled through propagation); main then waits for
 * the call threads and exits 0.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "csi/client.h"
#include "csi/csi.pb-c.h"
#include "pbjson.h"
#include "proxy.h"

#define EXIT_USAGE 2
/* Largest message the proxy takes in either direction (above the client's caps). */
#define PROXY_MAX_MESSAGE (64 * 1024 * 1024)
/* How often held or delayed calls look at the rules and the caller. */
#define TICK_MS 20

/* Completion tags: distinct addresses. */
static char tag_new, tag_shutdown, tag_recv, tag_close, tag_send, tag_fwd;



/* ---- gRPC helpers ---- */

/* Wait for `tag` on the call's queue until `until_ms` (monotonic; -1 = forever). */
static bool pluck(struct pcall *c, void *tag, int64_t until_ms, bool *success)
{
	gpr_timespec deadline = until_ms < 0 ? gpr_inf_future(GPR_CLOCK_MONOTONIC) :
			gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
				     gpr_time_from_millis(until_ms - mono_ms() > 0 ?
							  until_ms - mono_ms() : 0, GPR_TIMESPAN));
	grpc_event ev = grpc_completion_queue_pluck(c->cq, tag, deadline, NULL);

	if (ev.type == GRPC_QUEUE_TIMEOUT)
		return false;
	if (ev.type != GRPC_OP_COMPLETE)
		BUG("completion queue event type %d", (int)ev.type);
	if (success)
		*success = ev.success;
	if (tag == &tag_close)
		c->closed = true;
	return true;
}

static grpc_byte_buffer *bytes_buffer(const void *data, size_t n)
{
	grpc_slice s = grpc_slice_from_copied_buffer(data, n);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

	grpc_slice_unref(s);
	return bb;
}

static grpc_slice read_all(grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader r;
	grpc_slice s;

	if (!bb || !grpc_byte_buffer_reader_init(&r, bb))
		return grpc_empty_slice();
	s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	return s;
}

/* Answer the caller: `reply` (OK only, may be NULL) and a status. */
static void answer(struct pcall *c, int code, const char *message, grpc_byte_buffer *reply,
		   struct outcome *o)
{
	grpc_slice details = grpc_slice_from_copied_string(message ? message : "");
	grpc_op ops[3];
	size_t n = 0;

	memset(ops, 0, sizeof(ops));
	ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (reply && code == 0) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = reply;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = (grpc_status_code)code;
	ops[n++].data.send_status_from_server.status_details = &details;
	o->code = code;
	free(o->message);
	o->message = xstrdup(message ? message : "");
	/*
	 * Record before answering, so a test that has its answer finds the
	 * call in the record; first notice a caller that is already gone.
	 */
	if (!c->closed)
		pluck(c, &tag_close, mono_ms(), NULL);
	record(c, o);
	if (grpc_call_start_batch(c->call, ops, n, &tag_send, NULL) != GRPC_CALL_OK)
		BUG("starting the answer batch failed");
	pluck(c, &tag_send, -1, NULL);
	grpc_slice_unref(details);
}

/*
 * Forward the request to the driver as a child of the caller's call. On
 * return *status and *details hold the driver's answer (or the transport's)
 * and *reply its message or NULL.
 */
static void forward(struct pcall *c, grpc_slice req, grpc_status_code *status,
		    grpc_slice *details, grpc_byte_buffer **reply)
{
	grpc_call *fc;
	grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&req, 1);
	grpc_metadata_array initial, trailing;
	grpc_op ops[6];

	*reply = NULL;
	*details = grpc_empty_slice();
	*status = GRPC_STATUS_UNKNOWN;
	grpc_metadata_array_init(&initial);
	grpc_metadata_array_init(&trailing);
	/* The child's deadline is the caller's (GRPC_PROPAGATE_DEADLINE). */
	fc = grpc_channel_create_call(c->p->driver, c->call, GRPC_PROPAGATE_DEFAULTS, c->cq,
				      c->details.method, NULL,
				      gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	/* Wait for the driver while it restarts, as our own client does by default. */
	ops[0].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY |
		       GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = reply;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
	ops[5].data.recv_status_on_client.status = status;
	ops[5].data.recv_status_on_client.status_details = details;
	if (grpc_call_start_batch(fc, ops, 6, &tag_fwd, NULL) != GRPC_CALL_OK)
		BUG("starting the forward batch failed");
	pluck(c, &tag_fwd, -1, NULL);
	grpc_byte_buffer_destroy(send);
	grpc_metadata_array_destroy(&initial);
	grpc_metadata_array_destroy(&trailing);
	grpc_call_unref(fc);
}

/*
 * Wait until `until_ms`, or until the caller goes away (true). With `hold`,
 * until_ms is ignored and the wait also ends when new rules no longer hold
 * this method, or the proxy stops (false in both cases).
 */
static bool wait_caller(struct pcall *c, int64_t until_ms, bool hold)
{
	struct proxy *p = c->p;
	unsigned long gen;

	pthread_mutex_lock(&p->mu);
	gen = p->generation;
	pthread_mutex_unlock(&p->mu);
	for (;;) {
		int64_t now = mono_ms(), tick = now + TICK_MS;
		bool release = false;

		if (!hold && now >= until_ms)
			return false;
		if (!hold && until_ms < tick)
			tick = until_ms;
		if (pluck(c, &tag_close, tick, NULL))
			return true;
		if (!hold)
			continue;
		pthread_mutex_lock(&p->mu);
		if (p->stopping)
			release = true;
		else if (p->generation != gen) {
			gen = p->generation;
			release = !fp_rules_would_hold(&p->rules, c->method);
		}
		pthread_mutex_unlock(&p->mu);
		if (release)
			return false;
	}
}

static size_t varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/*
 * A valid message of exactly n bytes: one unknown length-delimited field
 * (number 2047, a two-byte tag), so only a size cap can refuse it. Below 3
 * bytes no field fits and the reply is an empty message.
 */
static grpc_byte_buffer *oversize_reply(size_t n)
{
	uint8_t *buf = xmalloc(n + 16);
	size_t used = 0;
	grpc_byte_buffer *bb;

	for (size_t lenlen = 1; lenlen <= 10 && n >= 2 + lenlen; lenlen++) {
		uint64_t len = n - 2 - lenlen;

		if (varint_size(len) != lenlen)
			continue;
		buf[used++] = 0xfa;	/* (2047 << 3) | 2, as a varint */
		buf[used++] = 0x7f;
		for (; len >= 0x80; len >>= 7)
			buf[used++] = (uint8_t)(len | 0x80);
		buf[used++] = (uint8_t)len;
		memset(buf + used, 'x', n - used);
		used = n;
		break;
	}
	bb = bytes_buffer(buf, used);
	free(buf);
	return bb;
}

/* ---- one call ---- */

static void handle(struct pcall *c)
{
	struct proxy *p = c->p;
	struct outcome o = { .rule = "pass", .code = -1, .driver_code = -1 };
	grpc_byte_buffer *req_bb = NULL;
	struct fp_rule rule = { .action = FP_PASS };
	const struct fp_rule *r;
	grpc_op ops[1];
	bool ok = false;
	gpr_timespec left;

	c->method = xstrndup((const char *)GRPC_SLICE_START_PTR(c->details.method),
			     GRPC_SLICE_LENGTH(c->details.method));
	c->name = strrchr(c->method, '/') ? strrchr(c->method, '/') + 1 : c->method;
	c->start_ms = mono_ms();
	c->start_unix_ms = unix_ms();
	c->deadline_ms = -1;
	left = gpr_time_sub(gpr_convert_clock_type(c->details.deadline, GPR_CLOCK_MONOTONIC),
			    gpr_now(GPR_CLOCK_MONOTONIC));
	if (gpr_time_cmp(c->details.deadline, gpr_inf_future(c->details.deadline.clock_type)))
		c->deadline_ms = gpr_time_to_millis(left) > 0 ? gpr_time_to_millis(left) : 0;

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_MESSAGE;
	ops[0].data.recv_message.recv_message = &req_bb;
	if (grpc_call_start_batch(c->call, ops, 1, &tag_recv, NULL) != GRPC_CALL_OK)
		BUG("starting the receive batch failed");
	pluck(c, &tag_recv, -1, &ok);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[0].data.recv_close_on_server.cancelled = &c->cancelled;
	if (grpc_call_start_batch(c->call, ops, 1, &tag_close, NULL) != GRPC_CALL_OK)
		BUG("starting the close batch failed");
	c->req = read_all(req_bb);

	pthread_mutex_lock(&p->mu);
	c->seq = ++p->seq;
	stats_of(p, c->name)->seen++;
	/* A call whose request never arrived uses up no rule. */
	r = ok && req_bb ? fp_rules_take(&p->rules, c->method) : NULL;
	if (r) {
		rule = *r;
		rule.method = NULL;
		rule.message = xstrdup(r->message);
	}
	write_status(p);
	pthread_mutex_unlock(&p->mu);
	if (r) {
		o.rule = fp_action_name(rule.action);
		o.rule_line = rule.line;
	}
	if (!ok || !req_bb) {
		/* The caller went away before its request arrived. */
		o.rule = "none";
		goto out;
	}

	if (rule.delay_ms > 0) {
		o.delayed_ms = rule.delay_ms;
		if (wait_caller(c, mono_ms() + rule.delay_ms, false))
			goto out;
	}
	if (rule.action == FP_HOLD) {
		bool gone;

		o.held = true;
		pthread_mutex_lock(&p->mu);
		stats_of(p, c->name)->held++;
		write_status(p);
		pthread_mutex_unlock(&p->mu);
		gone = wait_caller(c, 0, true);
		pthread_mutex_lock(&p->mu);
		stats_of(p, c->name)->held--;
		write_status(p);
		pthread_mutex_unlock(&p->mu);
		if (gone)
			goto out;
		pthread_mutex_lock(&p->mu);
		gone = p->stopping;
		pthread_mutex_unlock(&p->mu);
		if (gone) {
			/* Not a release: the caller is told, the driver never asked. */
			answer(c, GRPC_STATUS_UNAVAILABLE, "csi-faultproxy is stopping", NULL, &o);
			goto out;
		}
		o.released = true;
	}

	switch (rule.action) {
	case FP_FAIL:
		answer(c, rule.code, rule.message, NULL, &o);
		break;
	case FP_DROP:
		o.dropped_conns = true;
		o.dropped = drop_connections(p->listen_path);
		break;
	case FP_GARBAGE: {
		/* Field 1, length-delimited, claims 100 bytes but 3 follow. */
		static const uint8_t garbage[] = { 0x0a, 0x64, 'b', 'a', 'd' };
		grpc_byte_buffer *bb = bytes_buffer(garbage, sizeof(garbage));

		o.reply = read_all(bb);
		o.has_reply = true;
		answer(c, 0, "", bb, &o);
		grpc_byte_buffer_destroy(bb);
		break;
	}
	case FP_OVERSIZE: {
		grpc_byte_buffer *bb = oversize_reply(rule.bytes);

		o.reply = read_all(bb);
		o.has_reply = true;
		answer(c, 0, "", bb, &o);
		grpc_byte_buffer_destroy(bb);
		break;
	}
	case FP_PASS:
	case FP_DELAY:
	case FP_HOLD:
	case FP_TIMEOUT: {
		grpc_status_code st;
		grpc_slice details;
		grpc_byte_buffer *reply;
		char *msg;

		forward(c, c->req, &st, &details, &reply);
		o.driver_code = (int)st;
		msg = xstrndup((const char *)GRPC_SLICE_START_PTR(details),
			       GRPC_SLICE_LENGTH(details));
		if (rule.action == FP_TIMEOUT) {
			answer(c, GRPC_STATUS_DEADLINE_EXCEEDED,
			       rule.message ? rule.message :
			       "csi-faultproxy: the driver answered, the caller is told its deadline passed",
			       NULL, &o);
		} else {
			if (st == GRPC_STATUS_OK && reply) {
				o.reply = read_all(reply);
				o.has_reply = true;
			}
			answer(c, (int)st, msg, reply, &o);
		}
		free(msg);
		grpc_slice_unref(details);
		if (reply)
			grpc_byte_buffer_destroy(reply);
		break;
	}
	}
out:
	if (!c->closed)
		pluck(c, &tag_close, -1, NULL);
	record(c, &o);
	if (req_bb)
		grpc_byte_buffer_destroy(req_bb);
	grpc_slice_unref(c->req);
	if (o.has_reply)
		grpc_slice_unref(o.reply);
	free(o.message);
	free(rule.message);
}

static void pcall_free(struct pcall *c)
{
	if (!c)
		return;
	if (c->call)
		grpc_call_unref(c->call);
	grpc_call_details_destroy(&c->details);
	grpc_metadata_array_destroy(&c->md);
	grpc_completion_queue_shutdown(c->cq);
	grpc_completion_queue_destroy(c->cq);
	free(c->method);
	free(c);
}

static void *call_main(void *arg)
{
	struct pcall *c = arg;
	struct proxy *p = c->p;

	handle(c);
	pcall_free(c);
	pthread_mutex_lock(&p->mu);
	if (--p->active == 0)
		pthread_cond_broadcast(&p->idle);
	write_status(p);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- start, serve, stop ---- */

struct signal_ctx {
	struct proxy *p;
	sigset_t set;
};

static void *signal_main(void *arg)
{
	struct signal_ctx *s = arg;
	struct proxy *p = s->p;
	int sig = 0;

	sigwait(&s->set, &sig);
	log_info("signal %d: stopping", sig);
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_mutex_unlock(&p->mu);
	grpc_server_shutdown_and_notify(p->server, p->server_cq, &tag_shutdown);
	grpc_server_cancel_all_calls(p->server);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: csi-faultproxy --listen=unix:///abs/front.sock --driver=unix:///abs/driver.sock\n"
		"                      [--rules=/abs/rules] [--record=/abs/requests.jsonl]\n"
		"                      [--status=/abs/status.json] [--v=N]\n");
}

static int serve(struct proxy *p)
{
	bool shutdown_seen = false;

	for (;;) {
		struct pcall *c = xcalloc(1, sizeof(*c));
		grpc_event ev;
		pthread_t t;
		pthread_attr_t attr;

		c->p = p;
		c->cq = grpc_completion_queue_create_for_pluck(NULL);
		grpc_call_details_init(&c->details);
		grpc_metadata_array_init(&c->md);
		if (grpc_server_request_call(p->server, &c->call, &c->details, &c->md, c->cq,
					     p->server_cq, &tag_new) != GRPC_CALL_OK)
			BUG("grpc_server_request_call failed");
		for (;;) {
			ev = grpc_completion_queue_next(p->server_cq,
							gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
			if (ev.type == GRPC_OP_COMPLETE && ev.tag == &tag_shutdown) {
				shutdown_seen = true;
				continue;
			}
			break;
		}
		if (ev.type != GRPC_OP_COMPLETE || ev.tag != &tag_new)
			BUG("server queue: event %d tag %p", (int)ev.type, ev.tag);
		if (!ev.success) {
			/* The server is shutting down: this request will never be a call. */
			pcall_free(c);
			break;
		}
		pthread_mutex_lock(&p->mu);
		p->active++;
		pthread_mutex_unlock(&p->mu);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, call_main, c))
			BUG("pthread_create failed");
		pthread_attr_destroy(&attr);
	}
	while (!shutdown_seen) {
		grpc_event ev = grpc_completion_queue_next(p->server_cq,
							   gpr_inf_future(GPR_CLOCK_MONOTONIC),
							   NULL);
		if (ev.type == GRPC_OP_COMPLETE && ev.tag == &tag_shutdown)
			shutdown_seen = true;
	}
	return 0;
}

static const char *opt(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(arg, name, n) && arg[n] == '=' ? arg + n + 1 : NULL;
}

int main(int argc, char **argv)
{
	struct proxy p = { 0 };
	const char *listen = NULL, *driver = NULL, *v;
	struct signal_ctx sig = { .p = &p };
	pthread_t sig_thread, rules_thread;
	grpc_server_credentials *screds;
	grpc_channel_credentials *ccreds;
	struct err e = ERR_INIT;
	grpc_arg args[2];
	grpc_channel_args chargs = { .num_args = 2, .args = args };
	bool have_rules_thread = false;

	for (int i = 1; i < argc; i++) {
		if ((v = opt(argv[i], "--listen")))
			listen = v;
		else if ((v = opt(argv[i], "--driver")))
			driver = v;
		else if ((v = opt(argv[i], "--rules")))
			p.rules_path = v;
		else if ((v = opt(argv[i], "--record")))
			p.record_path = v;
		else if ((v = opt(argv[i], "--status")))
			p.status_path = v;
		else if ((v = opt(argv[i], "--v")))
			log_set_level((int)strtol(v, NULL, 10));
		else {
			fprintf(stderr, "csi-faultproxy: bad argument '%s'\n", argv[i]);
			usage();
			return EXIT_USAGE;
		}
	}
	if (!listen || !driver) {
		usage();
		return EXIT_USAGE;
	}
	if (csi_endpoint_normalize(listen, &p.listen_target, &e) ||
	    csi_endpoint_normalize(driver, &p.driver_target, &e)) {
		fprintf(stderr, "csi-faultproxy: %s\n", err_msg(&e));
		err_release(&e);
		free(p.listen_target);
		return EXIT_USAGE;
	}
	p.listen_path = xstrdup(p.listen_target + strlen("unix:"));
	if (p.rules_path && read_rules(p.rules_path, &p.rules, &e)) {
		fprintf(stderr, "csi-faultproxy: %s\n", err_msg(&e));
		return EXIT_USAGE;
	}
	if (p.record_path) {
		p.record = fopen(p.record_path, "ae");
		if (!p.record) {
			fprintf(stderr, "csi-faultproxy: cannot open '%s': %s\n", p.record_path,
				strerror(errno));
			return EXIT_USAGE;
		}
	}
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.idle, NULL);
	p.generation = 1;

	/* Every thread, gRPC's included, inherits the blocked signals. */
	sigemptyset(&sig.set);
	sigaddset(&sig.set, SIGTERM);
	sigaddset(&sig.set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sig.set, NULL);
	signal(SIGPIPE, SIG_IGN);

	grpc_init();
	args[0] = (grpc_arg){ .type = GRPC_ARG_INTEGER,
			      .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
			      .value.integer = PROXY_MAX_MESSAGE };
	args[1] = (grpc_arg){ .type = GRPC_ARG_INTEGER,
			      .key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
			      .value.integer = PROXY_MAX_MESSAGE };
	ccreds = grpc_insecure_credentials_create();
	p.driver = grpc_channel_create(p.driver_target, ccreds, &chargs);
	grpc_channel_credentials_release(ccreds);

	unlink(p.listen_path);	/* a socket left by an earlier run */
	p.server_cq = grpc_completion_queue_create_for_next(NULL);
	p.server = grpc_server_create(&chargs, NULL);
	grpc_server_register_completion_queue(p.server, p.server_cq, NULL);
	screds = grpc_insecure_server_credentials_create();
	if (!grpc_server_add_http2_port(p.server, p.listen_target, screds)) {
		fprintf(stderr, "csi-faultproxy: cannot listen on %s\n", p.listen_target);
		return 1;
	}
	grpc_server_credentials_release(screds);
	grpc_server_start(p.server);

	if (pthread_create(&sig_thread, NULL, signal_main, &sig))
		BUG("pthread_create failed");
	if (p.rules_path) {
		if (pthread_create(&rules_thread, NULL, rules_main, &p))
			BUG("pthread_create failed");
		have_rules_thread = true;
	}
	pthread_mutex_lock(&p.mu);
	write_status(&p);
	pthread_mutex_unlock(&p.mu);
	log_info("csi-faultproxy: %s -> %s, %zu rules", p.listen_target, p.driver_target,
		 p.rules.n);

	serve(&p);

	pthread_join(sig_thread, NULL);
	pthread_mutex_lock(&p.mu);
	while (p.active)
		pthread_cond_wait(&p.idle, &p.mu);
	pthread_mutex_unlock(&p.mu);
	if (have_rules_thread)
		pthread_join(rules_thread, NULL);
	grpc_server_destroy(p.server);
	grpc_completion_queue_shutdown(p.server_cq);
	while (grpc_completion_queue_next(p.server_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
					  NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(p.server_cq);
	grpc_channel_destroy(p.driver);
	grpc_shutdown();
	unlink(p.listen_path);
	if (p.record)
		fclose(p.record);
	fp_rules_release(&p.rules);
	for (size_t i = 0; i < p.n_stats; i++)
		free(p.stats[i].name);
	free(p.stats);
	free(p.rules_error);
	free(p.listen_path);
	free(p.listen_target);
	free(p.driver_target);
	pthread_cond_destroy(&p.idle);
	pthread_mutex_destroy(&p.mu);
	log_info("csi-faultproxy: stopped");
	return 0;
}
