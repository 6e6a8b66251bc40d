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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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
#include "rules.h"

#define EXIT_USAGE 2
/* Largest message the proxy takes in either direction (above the client's caps). */
#define PROXY_MAX_MESSAGE (64 * 1024 * 1024)
/* Largest record line; a bigger request is recorded without its body. */
#define RECORD_MAX_LINE (1024 * 1024)
/* How often held or delayed calls look at the rules and the caller. */
#define TICK_MS 20
/* How often the rules file is looked at. */
#define RULES_POLL_MS 25

/* Completion tags: distinct addresses. */
static char tag_new, tag_shutdown, tag_recv, tag_close, tag_send, tag_fwd;

struct method_stats {
	char *name;		/* short name */
	long seen, held, done;
};

struct proxy {
	char *listen_path;	/* file system path of our socket */
	char *listen_target;	/* "unix:/path" */
	char *driver_target;
	const char *rules_path, *record_path, *status_path;
	grpc_server *server;
	grpc_completion_queue *server_cq;
	grpc_channel *driver;

	pthread_mutex_t mu;	/* guards everything below */
	pthread_cond_t idle;	/* signalled when `active` drops to 0 */
	bool stopping;
	int active;		/* call threads running */
	struct fp_rules rules;
	unsigned long generation;	/* bumped each time new rules are in force */
	char *rules_error;	/* why the latest rules file was refused, or NULL */
	unsigned long seq;
	FILE *record;
	struct method_stats *stats;
	size_t n_stats, alloc_stats;
};

/* One call from the moment the server hands it over. */
struct pcall {
	struct proxy *p;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md;
	grpc_completion_queue *cq;
	char *method;		/* full path */
	const char *name;	/* short name, inside method */
	bool closed;		/* tag_close has been plucked */
	int cancelled;		/* from RECV_CLOSE_ON_SERVER, once closed */
	unsigned long seq;	/* the record's number */
	grpc_slice req;		/* the request bytes */
	int64_t deadline_ms;	/* left when the call arrived; -1 = none */
	int64_t start_ms;
	int64_t start_unix_ms;	/* wall clock, to line calls up across proxies */
};

/* What happened to a call, for its record line. */
struct outcome {
	const char *rule;	/* action name */
	int rule_line;		/* 0 = no rule matched */
	int code;		/* status sent to the caller, -1 = none */
	char *message;		/* owned */
	int driver_code;	/* -1 = not forwarded or no answer */
	grpc_slice reply;	/* reply bytes sent (OK only) */
	bool has_reply;
	bool held, released, dropped_conns;
	int dropped;
	int64_t delayed_ms;
	bool recorded;
};

static void record(struct pcall *c, struct outcome *o);

static int64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	return clock_now_ms();
}

/* ---- counters and the status file (mu held) ---- */

static struct method_stats *stats_of(struct proxy *p, const char *name)
{
	for (size_t i = 0; i < p->n_stats; i++)
		if (!strcmp(p->stats[i].name, name))
			return &p->stats[i];
	p->stats = xgrow(p->stats, p->n_stats + 1, &p->alloc_stats, sizeof(*p->stats));
	p->stats[p->n_stats] = (struct method_stats){ .name = xstrdup(name) };
	return &p->stats[p->n_stats++];
}

/* Rewrite the status file atomically (tmp + rename). */
static void write_status(struct proxy *p)
{
	struct buf b;
	char *tmp;
	int fd;

	if (!p->status_path)
		return;
	buf_init(&b, RECORD_MAX_LINE);
	buf_appendf(&b, "{\"pid\":%d,\"rules_generation\":%lu,\"rules_error\":", (int)getpid(),
		    p->generation);
	if (p->rules_error)
		pbjson_string(&b, p->rules_error, strlen(p->rules_error));
	else
		buf_appendf(&b, "null");
	buf_appendf(&b, ",\"active\":%d,\"methods\":{", p->active);
	for (size_t i = 0; i < p->n_stats; i++) {
		const struct method_stats *s = &p->stats[i];

		if (i)
			buf_appendf(&b, ",");
		pbjson_string(&b, s->name, strlen(s->name));
		buf_appendf(&b, ":{\"seen\":%ld,\"held\":%ld,\"done\":%ld}", s->seen, s->held,
			    s->done);
	}
	buf_appendf(&b, "}}\n");
	tmp = xasprintf("%s.tmp", p->status_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len || close(fd) ||
	    rename(tmp, p->status_path))
		log_warn("cannot write status file '%s': %s", p->status_path, strerror(errno));
	free(tmp);
	buf_release(&b);
}

/* ---- rules file ---- */

/* Read the rules file; a missing file means no rules. */
static int read_rules(const char *path, struct fp_rules *out, struct err *e)
{
	struct buf b;
	char chunk[4096];
	ssize_t n;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : err_set(e, -1, "cannot open '%s': %s", path,
						     strerror(errno));
	buf_init(&b, FP_RULES_MAX_BYTES);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&b, chunk, (size_t)n)) {
			close(fd);
			buf_release(&b);
			return err_set(e, -1, "'%s' is larger than %d bytes", path,
				       FP_RULES_MAX_BYTES);
		}
	close(fd);
	if (n < 0) {
		buf_release(&b);
		return err_set(e, -1, "cannot read '%s': %s", path, strerror(errno));
	}
	rc = fp_rules_parse(b.data ? b.data : "", out, e);
	if (rc)
		err_prefix(e, "%s", path);
	buf_release(&b);
	return rc;
}

struct file_id {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

static struct file_id file_id_of(const char *path)
{
	struct file_id id = { 0 };
	struct stat st;

	if (!stat(path, &st)) {
		id.exists = true;
		id.dev = st.st_dev;
		id.ino = st.st_ino;
		id.size = st.st_size;
		id.mtime = st.st_mtim;
	}
	return id;
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *rules_main(void *arg)
{
	struct proxy *p = arg;
	struct file_id last = file_id_of(p->rules_path);

	for (;;) {
		struct file_id now;
		struct fp_rules fresh;
		struct err e = ERR_INIT;
		bool stop;

		sleep_ms(RULES_POLL_MS);	/* polling a file, not synchronising */
		pthread_mutex_lock(&p->mu);
		stop = p->stopping;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
		now = file_id_of(p->rules_path);
		if (file_id_eq(&now, &last))
			continue;
		last = now;
		if (read_rules(p->rules_path, &fresh, &e)) {
			log_error("rules refused, keeping the previous ones: %s", err_msg(&e));
			pthread_mutex_lock(&p->mu);
			free(p->rules_error);
			p->rules_error = xstrdup(err_msg(&e));
			write_status(p);
			pthread_mutex_unlock(&p->mu);
			err_release(&e);
			continue;
		}
		pthread_mutex_lock(&p->mu);
		fp_rules_release(&p->rules);
		p->rules = fresh;
		p->generation++;
		free(p->rules_error);
		p->rules_error = NULL;
		log_info("rules generation %lu: %zu rules", p->generation, p->rules.n);
		write_status(p);
		pthread_mutex_unlock(&p->mu);
	}
}

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

/* ---- dropping connections ---- */

/*
 * Shut down (not close: gRPC still owns the descriptors) every socket
 * accepted on our listening path, so each caller's connection breaks the
 * way it does when a server dies. Accepted unix sockets carry the
 * listener's path as their own address; the listener itself is skipped.
 */
static int drop_connections(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct sockaddr_un sa;
		socklen_t len = sizeof(sa);
		int fd, listening = 0;
		socklen_t ilen = sizeof(listening);
		char *end;
		long v;

		errno = 0;
		v = strtol(de->d_name, &end, 10);
		if (errno || *end || end == de->d_name || v == dirfd(d))
			continue;
		fd = (int)v;
		memset(&sa, 0, sizeof(sa));
		if (getsockname(fd, (struct sockaddr *)&sa, &len) || sa.sun_family != AF_UNIX ||
		    len <= offsetof(struct sockaddr_un, sun_path) ||
		    strncmp(sa.sun_path, path, sizeof(sa.sun_path)))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) || listening)
			continue;
		if (!shutdown(fd, SHUT_RDWR))
			n++;
	}
	closedir(d);
	return n;
}

/* ---- one call ---- */

static const ProtobufCMethodDescriptor *method_descriptor(const char *path)
{
	static const ProtobufCServiceDescriptor *const services[] = {
		&csi__v1__identity__descriptor, &csi__v1__controller__descriptor,
	};

	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		const ProtobufCServiceDescriptor *s = services[i];
		size_t n = strlen(s->name);

		if (path[0] != '/' || strncmp(path + 1, s->name, n) || path[n + 1] != '/')
			continue;
		for (unsigned k = 0; k < s->n_methods; k++)
			if (!strcmp(path + n + 2, s->methods[k].name))
				return &s->methods[k];
	}
	return NULL;
}

/* `"key":` and the decoded message (or null) into b. */
static void put_decoded(struct buf *b, const char *key, const ProtobufCMessageDescriptor *d,
			grpc_slice bytes)
{
	ProtobufCMessage *m = NULL;
	size_t mark;

	buf_appendf(b, ",\"%s\":", key);
	if (d)
		m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(bytes),
					      GRPC_SLICE_START_PTR(bytes));
	mark = b->len;
	if (!m || pbjson_message(b, m)) {
		/* Undo a partial object; say why there is none. */
		b->len = mark;
		b->data[mark] = '\0';
		buf_appendf(b, "null,\"%s_error\":\"%s\"", key,
			    !d ? "method not in our proto" : !m ? "does not decode" : "too large");
	}
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
}

/* Write the call's record line (once) and count it done. */
static void record(struct pcall *c, struct outcome *o)
{
	struct proxy *p = c->p;
	const ProtobufCMethodDescriptor *md = method_descriptor(c->method);
	struct buf b;

	if (o->recorded)
		return;
	o->recorded = true;
	buf_init(&b, RECORD_MAX_LINE + 4096);
	buf_appendf(&b, "{\"seq\":%lu,\"method\":", c->seq);
	pbjson_string(&b, c->method, strlen(c->method));
	buf_appendf(&b, ",\"name\":");
	pbjson_string(&b, c->name, strlen(c->name));
	buf_appendf(&b, ",\"rule\":\"%s\",\"rule_line\":%d,\"request_bytes\":%zu",
		    o->rule, o->rule_line, (size_t)GRPC_SLICE_LENGTH(c->req));
	put_decoded(&b, "request", md ? md->input : NULL, c->req);
	if (c->deadline_ms >= 0)
		buf_appendf(&b, ",\"deadline_ms\":%lld", (long long)c->deadline_ms);
	if (o->delayed_ms)
		buf_appendf(&b, ",\"delayed_ms\":%lld", (long long)o->delayed_ms);
	if (o->held)
		buf_appendf(&b, ",\"released\":%s", o->released ? "true" : "false");
	if (o->dropped_conns)
		buf_appendf(&b, ",\"dropped_connections\":%d", o->dropped);
	if (o->driver_code >= 0)
		buf_appendf(&b, ",\"driver_code\":%d", o->driver_code);
	else
		buf_appendf(&b, ",\"driver_code\":null");
	if (o->code >= 0) {
		buf_appendf(&b, ",\"code\":%d,\"code_name\":\"%s\",\"message\":", o->code,
			    csi_code_name(csi_code_from_status(o->code)));
		pbjson_string(&b, o->message ? o->message : "", o->message ? strlen(o->message) : 0);
	} else {
		buf_appendf(&b, ",\"code\":null");
	}
	if (o->has_reply) {
		buf_appendf(&b, ",\"reply_bytes\":%zu", (size_t)GRPC_SLICE_LENGTH(o->reply));
		if (!strcmp(o->rule, "garbage") || !strcmp(o->rule, "oversize"))
			buf_appendf(&b, ",\"reply\":null");
		else
			put_decoded(&b, "reply", md ? md->output : NULL, o->reply);
	}
	buf_appendf(&b, ",\"cancelled\":%s,\"ms\":%lld,\"start_unix_ms\":%lld,\"end_unix_ms\":%lld}\n",
		    c->closed && c->cancelled ? "true" : "false",
		    (long long)(mono_ms() - c->start_ms), (long long)c->start_unix_ms,
		    (long long)unix_ms());

	pthread_mutex_lock(&p->mu);
	if (p->record) {
		if (fwrite(b.data, 1, b.len, p->record) != b.len || fflush(p->record))
			log_warn("cannot write the record '%s': %s", p->record_path,
				 strerror(errno));
	}
	stats_of(p, c->name)->done++;
	write_status(p);
	pthread_mutex_unlock(&p->mu);
	buf_release(&b);
}

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
