// SPDX-License-Identifier: Apache-2.0
/*
 * client.c - the gRPC transport of the CSI client (see client.h); the
 * message encoding lives in codec.c.
 *
 * DESIGN: one grpc_channel per client, shared by every thread; gRPC core
 * channels are thread-safe and multiplex calls over one HTTP/2 connection.
 * Each call gets its own completion queue of the pluck kind, created and
 * destroyed around the call. A single shared pluck queue would cap the
 * number of threads waiting at once (GRPC_MAX_COMPLETION_QUEUE_PLUCKERS is
 * 6) and a shared "next" queue would need a dispatcher thread; a queue per
 * call is cheap next to a CSI RPC and keeps every call self-contained. All
 * six operations go in one batch, so each call waits for exactly one event.
 * The client's fields are written only before it is shared, except the
 * watcher's stop flag (under watch_mu).
 *
 * A watcher thread keeps a connectivity watch armed on its own completion
 * queue and so polls the channel's sockets all the time. Without it, gRPC
 * core reads a socket only while some call or watch is waiting (or when its
 * 5 s backup poller happens to run): a driver that went away between calls
 * left the channel READY until the next call, so csi_client_connected (and
 * every health check built on it) kept saying "connected". The watch has a
 * short deadline so that csi_client_free can stop the thread promptly.
 */
#include "csi/client.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "csi/codec.h"

#define M_PROBE "/csi.v1.Identity/Probe"
#define M_PLUGIN_INFO "/csi.v1.Identity/GetPluginInfo"
#define M_PLUGIN_CAPS "/csi.v1.Identity/GetPluginCapabilities"
#define M_CREATE "/csi.v1.Controller/CreateVolume"
#define M_DELETE "/csi.v1.Controller/DeleteVolume"
#define M_CAPACITY "/csi.v1.Controller/GetCapacity"
#define M_LIST "/csi.v1.Controller/ListVolumes"
#define M_CTRL_CAPS "/csi.v1.Controller/ControllerGetCapabilities"
#define M_CREATE_SNAPSHOT "/csi.v1.Controller/CreateSnapshot"
#define M_DELETE_SNAPSHOT "/csi.v1.Controller/DeleteSnapshot"
#define M_NODE_INFO "/csi.v1.Node/NodeGetInfo"

/*
 * Reconnect quickly after a driver restart: backoff 100 ms growing to 1 s.
 * GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is deliberately left at gRPC's default:
 * despite its name it is the minimum connect timeout, and the handshake of
 * an attempt started while no call is waiting only makes progress when
 * gRPC's backup poller runs (every 5 s), so a 1 s value makes every such
 * attempt time out "before receiving SETTINGS frame" and fail-fast calls
 * keep failing long after the driver is back (seen with gRPC 1.51).
 */
#define RECONNECT_INITIAL_MS 100
#define RECONNECT_MAX_MS 1000

/* csi_wait_ready: longest single probe, pacing, and log interval. */
#define READY_PROBE_MAX_MS 5000
#define READY_PACE_MS 1000
#define READY_LOG_EVERY_MS 10000

/* Deadline of each connectivity watch of the watcher thread. */
#define WATCH_SLICE_MS 200

/* The longest unix socket path (sizeof(sun_path) - 1 on Linux). */
#define UNIX_PATH_MAX_LEN 107

struct csi_client {
	grpc_channel *channel;
	char *target;
	long timeout_ms;
	bool wait_for_ready;
	csi_observe_fn observe;
	void *observe_ctx;
	csi_write_guard_fn guard;
	void *guard_ctx;

	/* the watcher thread (see DESIGN); watch_mu guards watch_stop */
	grpc_completion_queue *watch_cq;
	pthread_t watcher;
	bool watching;		/* the thread was started */
	pthread_mutex_t watch_mu;
	bool watch_stop;
};

static const char *const code_names[] = {
	"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
	"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
	"Unauthenticated",
};

const char *csi_code_name(int code)
{
	int status = csi_status(code);

	if (status >= 0 && status < (int)(sizeof(code_names) / sizeof(code_names[0])))
		return code_names[status];
	if (code == CSI_ERR_LOCAL)
		return "Local";
	return "Unrecognized";
}

int csi_status(int code)
{
	if (!code)
		return 0;
	if (err_domain(code) != ERR_DOMAIN_CSI || code == CSI_ERR_LOCAL)
		return -1;
	return err_local(code);
}

int csi_code_from_status(int status)
{
	if (!status)
		return 0;
	/* gRPC has 16; a number beyond that stays itself (and is "Unrecognized") */
	if (status < 0 || status > ERR_LOCAL_MASK || status == err_local(CSI_ERR_LOCAL))
		return CSI_UNKNOWN;
	return ERR_CODE(ERR_DOMAIN_CSI, status);
}

int csi_endpoint_normalize(const char *in, char **target_out, struct err *e)
{
	const char *path;

	*target_out = NULL;
	if (!in || !*in)
		return err_set(e, CSI_ERR_LOCAL, "CSI endpoint is empty");
	if (!strncmp(in, "unix://", 7))
		path = in + 7;		/* unix:///abs: the authority must be empty */
	else if (!strncmp(in, "unix:", 5))
		path = in + 5;
	else
		path = in;
	if (path[0] != '/' || !path[1])
		return err_set(e, CSI_ERR_LOCAL,
			       "CSI endpoint '%s' is not a unix socket: want unix:///abs/path, "
			       "unix:/abs/path or /abs/path", in);
	/* "unix://x" would make x an authority: keep exactly one slash. */
	while (path[1] == '/')
		path++;
	if (!path[1])
		return err_set(e, CSI_ERR_LOCAL, "CSI endpoint '%s' names no socket", in);
	if (strlen(path) > UNIX_PATH_MAX_LEN)
		return err_set(e, CSI_ERR_LOCAL,
			       "CSI endpoint '%s': socket path longer than %d bytes",
			       in, UNIX_PATH_MAX_LEN);
	*target_out = xasprintf("unix:%s", path);
	return 0;
}

/*
 * Arm a watch on the channel's current state, unless the client is being
 * freed. Under watch_mu, so that no watch is added to the queue once
 * csi_client_free has shut it down.
 */
static bool arm_watch(struct csi_client *c)
{
	bool armed = false;

	pthread_mutex_lock(&c->watch_mu);
	if (!c->watch_stop) {
		grpc_connectivity_state st = grpc_channel_check_connectivity_state(c->channel, 0);
		gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
						     gpr_time_from_millis(WATCH_SLICE_MS,
									  GPR_TIMESPAN));

		grpc_channel_watch_connectivity_state(c->channel, st, deadline, c->watch_cq, c);
		armed = true;
	}
	pthread_mutex_unlock(&c->watch_mu);
	return armed;
}

/* The watcher thread: one armed watch at a time until the queue shuts down. */
static void *watch_channel(void *arg)
{
	struct csi_client *c = arg;
	bool armed = arm_watch(c);

	for (;;) {
		grpc_event ev = grpc_completion_queue_next(c->watch_cq,
							   gpr_inf_future(GPR_CLOCK_MONOTONIC),
							   NULL);

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE && armed)
			armed = arm_watch(c);
	}
	return NULL;
}

int csi_client_new(struct csi_client **out, const char *endpoint, long timeout_ms,
		   struct err *e)
{
	struct csi_client *c;
	grpc_channel_credentials *creds;
	char *target;
	int rc;
	grpc_arg args[5];
	grpc_channel_args chargs = { .num_args = 5, .args = args };

	*out = NULL;
	if (timeout_ms <= 0)
		return err_set(e, CSI_ERR_LOCAL, "CSI call timeout must be positive, not %ld ms",
			       timeout_ms);
	rc = csi_endpoint_normalize(endpoint, &target, e);
	if (rc)
		return rc;

	args[0] = (grpc_arg){ .type = GRPC_ARG_INTEGER,
			      .key = (char *)GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
			      .value.integer = RECONNECT_INITIAL_MS };
	args[1] = (grpc_arg){ .type = GRPC_ARG_INTEGER,
			      .key = (char *)GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
			      .value.integer = RECONNECT_MAX_MS };
	args[2] = (grpc_arg){ .type = GRPC_ARG_INTEGER,
			      .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
			      .value.integer = CSI_MAX_REPLY_BYTES };
	args[3] = (grpc_arg){ .type = GRPC_ARG_INTEGER,
			      .key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
			      .value.integer = CSI_MAX_REQUEST_BYTES };
	/* never drop the connection for idleness: csi_client_connected (and
	 * /readyz) would then say "not connected" after a quiet half hour */
	args[4] = (grpc_arg){ .type = GRPC_ARG_INTEGER,
			      .key = (char *)GRPC_ARG_CLIENT_IDLE_TIMEOUT_MS,
			      .value.integer = INT_MAX };

	grpc_init();
	creds = grpc_insecure_credentials_create();
	c = xcalloc(1, sizeof(*c));
	c->channel = grpc_channel_create(target, creds, &chargs);
	grpc_channel_credentials_release(creds);
	c->target = target;
	c->timeout_ms = timeout_ms;
	c->wait_for_ready = true;
	pthread_mutex_init(&c->watch_mu, NULL);
	c->watch_cq = grpc_completion_queue_create_for_next(NULL);
	rc = pthread_create(&c->watcher, NULL, watch_channel, c);
	if (rc) {
		csi_client_free(c);
		return err_set(e, CSI_ERR_LOCAL, "cannot start the CSI connectivity watcher: %s",
			       strerror(rc));
	}
	c->watching = true;
	log_v(2, "csi: channel to %s, call timeout %ld ms", target, timeout_ms);
	*out = c;
	return 0;
}

void csi_client_free(struct csi_client *c)
{
	if (!c)
		return;
	/* the pending watch ends within WATCH_SLICE_MS, then the queue drains */
	pthread_mutex_lock(&c->watch_mu);
	c->watch_stop = true;
	grpc_completion_queue_shutdown(c->watch_cq);
	pthread_mutex_unlock(&c->watch_mu);
	if (c->watching)
		pthread_join(c->watcher, NULL);
	grpc_completion_queue_destroy(c->watch_cq);
	pthread_mutex_destroy(&c->watch_mu);
	grpc_channel_destroy(c->channel);
	free(c->target);
	free(c);
	grpc_shutdown();
}

const char *csi_client_target(const struct csi_client *c)
{
	return c->target;
}

bool csi_client_connected(struct csi_client *c)
{
	/* try_to_connect = 1: an IDLE channel starts connecting, without waiting. */
	return grpc_channel_check_connectivity_state(c->channel, 1) == GRPC_CHANNEL_READY;
}

void csi_client_set_observer(struct csi_client *c, csi_observe_fn fn, void *ctx)
{
	c->observe = fn;
	c->observe_ctx = ctx;
}

void csi_client_set_write_guard(struct csi_client *c, csi_write_guard_fn fn, void *ctx)
{
	c->guard = fn;
	c->guard_ctx = ctx;
}

/* The calls that change the driver's state: what a write guard may refuse. */
static bool is_write(const char *method)
{
	return !strcmp(method, M_CREATE) || !strcmp(method, M_DELETE) ||
	       !strcmp(method, M_CREATE_SNAPSHOT) || !strcmp(method, M_DELETE_SNAPSHOT);
}

void csi_client_set_wait_for_ready(struct csi_client *c, bool on)
{
	c->wait_for_ready = on;
}

/* "/csi.v1.Controller/CreateVolume" -> "CreateVolume", for messages. */
static const char *short_name(const char *method)
{
	const char *slash = strrchr(method, '/');

	return slash ? slash + 1 : method;
}

static bool slice_contains(grpc_slice s, const char *needle)
{
	size_t n = strlen(needle), len = GRPC_SLICE_LENGTH(s);
	const char *p = (const char *)GRPC_SLICE_START_PTR(s);

	for (size_t i = 0; i + n <= len; i++)
		if (!strncasecmp(p + i, needle, n))
			return true;
	return false;
}

/* Free a request buffer that may carry secrets, zeroed first. */
static void wipe_free(void *buf, size_t len)
{
	if (buf)
		explicit_bzero(buf, len);
	free(buf);
}

/*
 * One unary call. On 0, *reply holds the reply bytes (caller unrefs). The
 * status message is copied unchanged into e; see client.h.
 */
static int call_once(struct csi_client *c, const char *method, const uint8_t *req,
		     size_t req_len, long timeout_ms, bool wait_ready, grpc_slice *reply,
		     struct err *e)
{
	grpc_completion_queue *cq;
	grpc_call *call;
	grpc_slice req_slice, details = grpc_empty_slice();
	grpc_byte_buffer *send_bb, *recv_bb = NULL;
	grpc_metadata_array initial_md, trailing_md;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_op ops[6];
	grpc_call_error cerr;
	grpc_event ev;
	gpr_timespec deadline;
	void *tag = &ops;
	int rc;

	*reply = grpc_empty_slice();
	cq = grpc_completion_queue_create_for_pluck(NULL);
	deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
				gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
	call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
					grpc_slice_from_static_string(method), NULL, deadline,
					NULL);
	/* gRPC's copy of the request is zeroed too when gRPC lets it go */
	req_slice = grpc_slice_new_with_len(memcpy(xmalloc(req_len + 1), req, req_len), req_len,
					    wipe_free);
	send_bb = grpc_raw_byte_buffer_create(&req_slice, 1);
	grpc_slice_unref(req_slice);
	grpc_metadata_array_init(&initial_md);
	grpc_metadata_array_init(&trailing_md);

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET |
		       (wait_ready ? GRPC_INITIAL_METADATA_WAIT_FOR_READY : 0);
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send_bb;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv_bb;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;

	cerr = grpc_call_start_batch(call, ops, 6, tag, NULL);
	if (cerr != GRPC_CALL_OK) {
		/* Our bug, not the driver's: no event will come for this tag. */
		rc = err_set(e, CSI_ERR_LOCAL, "%s: starting the call failed (grpc_call_error %d)",
			     short_name(method), (int)cerr);
		goto out;
	}
	/* The call's deadline bounds this wait. */
	ev = grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	if (ev.type != GRPC_OP_COMPLETE)
		BUG("completion queue returned event type %d", (int)ev.type);

	if (status != GRPC_STATUS_OK) {
		if (status == GRPC_STATUS_RESOURCE_EXHAUSTED &&
		    slice_contains(details, "larger than max"))
			/* gRPC refused a reply above our cap; not the driver's status. */
			rc = err_set(e, CSI_ERR_LOCAL, "%s: reply exceeds the %d-byte cap: %.*s",
				     short_name(method), CSI_MAX_REPLY_BYTES,
				     (int)GRPC_SLICE_LENGTH(details),
				     (const char *)GRPC_SLICE_START_PTR(details));
		else if (GRPC_SLICE_LENGTH(details))
			rc = err_set(e, csi_code_from_status((int)status), "%.*s",
				     (int)GRPC_SLICE_LENGTH(details),
				     (const char *)GRPC_SLICE_START_PTR(details));
		else
			rc = err_set(e, csi_code_from_status((int)status), "%s (no message)",
				     csi_code_name(csi_code_from_status((int)status)));
		goto out;
	}
	if (!recv_bb) {
		rc = err_set(e, CSI_ERR_LOCAL, "%s: status OK but no reply message",
			     short_name(method));
		goto out;
	}
	{
		grpc_byte_buffer_reader reader;

		if (!grpc_byte_buffer_reader_init(&reader, recv_bb)) {
			rc = err_set(e, CSI_ERR_LOCAL, "%s: cannot read the reply",
				     short_name(method));
			goto out;
		}
		*reply = grpc_byte_buffer_reader_readall(&reader);
		grpc_byte_buffer_reader_destroy(&reader);
	}
	if (GRPC_SLICE_LENGTH(*reply) > CSI_MAX_REPLY_BYTES) {
		rc = err_set(e, CSI_ERR_LOCAL, "%s: reply of %zu bytes exceeds the %d-byte cap",
			     short_name(method), (size_t)GRPC_SLICE_LENGTH(*reply),
			     CSI_MAX_REPLY_BYTES);
		grpc_slice_unref(*reply);
		*reply = grpc_empty_slice();
		goto out;
	}
	rc = 0;
out:
	grpc_byte_buffer_destroy(send_bb);
	if (recv_bb)
		grpc_byte_buffer_destroy(recv_bb);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&initial_md);
	grpc_metadata_array_destroy(&trailing_md);
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
	return rc;
}

typedef int (*decode_fn)(const uint8_t *p, size_t n, void *out, struct err *e);

/*
 * Call `method` with the encoded request and decode the reply with `dec`
 * into `out`; reports to the observer and logs at v(4). `what` names the
 * object for the log (a volume name or id; never request contents).
 */
static int rpc_secret(struct csi_client *c, const char *method, const char *what,
		      const uint8_t *req, size_t req_len, long timeout_ms, bool wait_ready,
		      decode_fn dec, void *out, const struct strmap *secrets, struct err *e)
{
	int64_t start = clock_now_ms();
	grpc_slice reply;
	double secs;
	const char *why;
	int rc;

	if (c->guard && is_write(method) && (why = c->guard(c->guard_ctx)))
		return err_set(e, CSI_ERR_LOCAL, "%s %s: not sent: %s", short_name(method),
			       what ? what : "", why);
	log_v(5, "csi: %s %s", method, what ? what : "");
	rc = call_once(c, method, req, req_len, timeout_ms, wait_ready, &reply, e);
	/* the driver's message may quote the request: its secrets never leave here */
	if (rc)
		csi_redact_secrets(e, secrets);
	if (!rc) {
		rc = dec(GRPC_SLICE_START_PTR(reply), GRPC_SLICE_LENGTH(reply), out, e);
		grpc_slice_unref(reply);
	}
	secs = (double)(clock_now_ms() - start) / 1000.0;
	if (rc)
		log_v(4, "csi: %s %s: %s (%.3fs): %s", method, what ? what : "",
		      csi_code_name(rc), secs, err_msg(e));
	else
		log_v(4, "csi: %s %s: OK (%.3fs)", method, what ? what : "", secs);
	if (c->observe)
		c->observe(c->observe_ctx, method, rc, secs);
	return rc;
}

/* A call whose request carries no secrets. */
static int rpc(struct csi_client *c, const char *method, const char *what,
	       const uint8_t *req, size_t req_len, long timeout_ms, bool wait_ready,
	       decode_fn dec, void *out, struct err *e)
{
	return rpc_secret(c, method, what, req, req_len, timeout_ms, wait_ready, dec, out, NULL,
			  e);
}

/* Adapters from the codec's typed decoders to decode_fn. */
static int dec_probe(const uint8_t *p, size_t n, void *out, struct err *e)
{
	return csi_codec_decode_probe(p, n, out, e);
}

struct plugin_info_out {
	char *name, *vendor_version;
};

static int dec_plugin_info(const uint8_t *p, size_t n, void *out, struct err *e)
{
	struct plugin_info_out *o = out;

	return csi_codec_decode_plugin_info(p, n, &o->name, &o->vendor_version, e);
}

static int dec_plugin_caps(const uint8_t *p, size_t n, void *out, struct err *e)
{
	return csi_codec_decode_plugin_caps(p, n, out, e);
}

static int dec_ctrl_caps(const uint8_t *p, size_t n, void *out, struct err *e)
{
	return csi_codec_decode_controller_caps(p, n, out, e);
}

static int dec_create(const uint8_t *p, size_t n, void *out, struct err *e)
{
	return csi_codec_decode_create_volume(p, n, out, e);
}

static int dec_delete(const uint8_t *p, size_t n, void *out, struct err *e)
{
	return csi_codec_decode_delete_volume(p, n, e);
}

static int dec_capacity(const uint8_t *p, size_t n, void *out, struct err *e)
{
	return csi_codec_decode_get_capacity(p, n, out, e);
}

static int dec_node_info(const uint8_t *p, size_t n, void *out, struct err *e)
{
	return csi_codec_decode_node_info(p, n, out, e);
}

static int dec_list(const uint8_t *p, size_t n, void *out, struct err *e)
{
	return csi_codec_decode_list_volumes(p, n, out, e);
}

static int dec_create_snapshot(const uint8_t *p, size_t n, void *out, struct err *e)
{
	return csi_codec_decode_create_snapshot(p, n, out, e);
}

static int dec_delete_snapshot(const uint8_t *p, size_t n, void *out, struct err *e)
{
	(void)out;
	return csi_codec_decode_delete_snapshot(p, n, e);
}

/* Empty requests (Probe, GetPluginInfo, ...) are zero bytes on the wire. */
static const uint8_t empty_req[1];

int csi_probe(struct csi_client *c, bool *ready, struct err *e)
{
	*ready = false;
	return rpc(c, M_PROBE, NULL, empty_req, 0, c->timeout_ms, c->wait_for_ready,
		   dec_probe, ready, e);
}

static void pace(int64_t since_ms, int64_t interval_ms, int64_t end_ms)
{
	int64_t now = clock_now_ms(), until = since_ms + interval_ms;
	struct timespec ts;

	if (until > end_ms)
		until = end_ms;
	if (until <= now)
		return;
	ts.tv_sec = (until - now) / 1000;
	ts.tv_nsec = ((until - now) % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int csi_wait_ready(struct csi_client *c, long max_wait_ms, struct err *e)
{
	int64_t start = clock_now_ms(), end = start + max_wait_ms, last_log = start;
	char *last = NULL;	/* why the latest probe did not succeed */
	int attempts = 0;

	for (;;) {
		int64_t now = clock_now_ms(), left = end - now, probe_ms;
		bool ready = false;
		int rc;

		if (left <= 0)
			break;
		probe_ms = left < READY_PROBE_MAX_MS ? left : READY_PROBE_MAX_MS;
		if (probe_ms > c->timeout_ms)
			probe_ms = c->timeout_ms;
		attempts++;
		/* Wait-for-ready: the probe itself waits for the driver's socket. */
		rc = rpc(c, M_PROBE, NULL, empty_req, 0, probe_ms, true, dec_probe, &ready, e);
		if (!rc && ready) {
			log_info("csi: driver at %s is ready (%.1fs)", c->target,
				 (double)(clock_now_ms() - start) / 1000.0);
			free(last);
			err_release(e);
			return 0;
		}
		if (rc && rc != CSI_DEADLINE_EXCEEDED && rc != CSI_UNAVAILABLE) {
			free(last);
			return err_prefix(e, "probing the driver at %s", c->target);
		}
		free(last);
		last = rc ? xasprintf("%s: %s", csi_code_name(rc), err_msg(e))
			  : xstrdup("it reports not ready");
		if (clock_now_ms() - last_log >= READY_LOG_EVERY_MS) {
			last_log = clock_now_ms();
			log_info("csi: still waiting for the driver at %s (%.0fs, %d probes): %s",
				 c->target, (double)(last_log - start) / 1000.0, attempts, last);
		}
		/* Not ready, or failed fast: do not spin. */
		pace(now, READY_PACE_MS, end);
	}
	err_set(e, CSI_DEADLINE_EXCEEDED, "driver at %s not ready after %ld ms (probes: %d): %s",
		c->target, max_wait_ms, attempts, last ? last : "no time to probe");
	free(last);
	return CSI_DEADLINE_EXCEEDED;
}

int csi_get_plugin_info(struct csi_client *c, char **name, char **vendor_version,
			struct err *e)
{
	struct plugin_info_out o = { 0 };
	int rc = rpc(c, M_PLUGIN_INFO, NULL, empty_req, 0, c->timeout_ms, c->wait_for_ready,
		     dec_plugin_info, &o, e);

	*name = o.name;
	*vendor_version = o.vendor_version;
	return rc;
}

int csi_get_plugin_capabilities(struct csi_client *c, struct csi_plugin_caps *out,
				struct err *e)
{
	memset(out, 0, sizeof(*out));
	return rpc(c, M_PLUGIN_CAPS, NULL, empty_req, 0, c->timeout_ms, c->wait_for_ready,
		   dec_plugin_caps, out, e);
}

int csi_controller_get_capabilities(struct csi_client *c, struct csi_controller_caps *out,
				    struct err *e)
{
	memset(out, 0, sizeof(*out));
	return rpc(c, M_CTRL_CAPS, NULL, empty_req, 0, c->timeout_ms, c->wait_for_ready,
		   dec_ctrl_caps, out, e);
}

/* Report a local encoding failure like a failed RPC, so metrics see it too. */
static int local_failure(struct csi_client *c, const char *method, int rc)
{
	if (c->observe)
		c->observe(c->observe_ctx, method, rc, 0.0);
	return rc;
}

int csi_create_volume(struct csi_client *c, const struct csi_create_volume_req *req,
		      struct csi_volume *out, struct err *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = csi_codec_encode_create_volume(req, &buf, &len, e);
	if (rc)
		return local_failure(c, M_CREATE, rc);
	rc = rpc_secret(c, M_CREATE, req->name, buf ? buf : empty_req, len, c->timeout_ms,
			c->wait_for_ready, dec_create, out, &req->secrets, e);
	wipe_free(buf, len);
	return rc;
}

int csi_delete_volume(struct csi_client *c, const char *volume_id,
		      const struct strmap *secrets, struct err *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	rc = csi_codec_encode_delete_volume(volume_id, secrets, &buf, &len, e);
	if (rc)
		return local_failure(c, M_DELETE, rc);
	rc = rpc_secret(c, M_DELETE, volume_id, buf ? buf : empty_req, len, c->timeout_ms,
			c->wait_for_ready, dec_delete, NULL, secrets, e);
	wipe_free(buf, len);
	return rc;
}

int csi_node_get_info(struct csi_client *c, struct csi_node_info *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	return rpc(c, M_NODE_INFO, NULL, empty_req, 0, c->timeout_ms, c->wait_for_ready,
		   dec_node_info, out, e);
}

int csi_get_capacity(struct csi_client *c, const struct csi_get_capacity_req *req,
		     struct csi_capacity *out, struct err *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = csi_codec_encode_get_capacity(req, &buf, &len, e);
	if (rc)
		return local_failure(c, M_CAPACITY, rc);
	rc = rpc(c, M_CAPACITY, NULL, buf ? buf : empty_req, len, c->timeout_ms,
		 c->wait_for_ready, dec_capacity, out, e);
	free(buf);
	return rc;
}

int csi_list_volumes(struct csi_client *c, int32_t max_entries, const char *starting_token,
		     struct csi_volume_list *out, struct err *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = csi_codec_encode_list_volumes(max_entries, starting_token, &buf, &len, e);
	if (rc)
		return local_failure(c, M_LIST, rc);
	rc = rpc(c, M_LIST, NULL, buf ? buf : empty_req, len, c->timeout_ms,
		 c->wait_for_ready, dec_list, out, e);
	free(buf);
	return rc;
}

int csi_create_snapshot(struct csi_client *c, const struct csi_create_snapshot_req *req,
			struct csi_snapshot *out, struct err *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = csi_codec_encode_create_snapshot(req, &buf, &len, e);
	if (rc)
		return local_failure(c, M_CREATE_SNAPSHOT, rc);
	rc = rpc_secret(c, M_CREATE_SNAPSHOT, req->name, buf ? buf : empty_req, len,
			c->timeout_ms, c->wait_for_ready, dec_create_snapshot, out, &req->secrets,
			e);
	wipe_free(buf, len);
	return rc;
}

int csi_delete_snapshot(struct csi_client *c, const char *snapshot_id,
			const struct strmap *secrets, struct err *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	rc = csi_codec_encode_delete_snapshot(snapshot_id, secrets, &buf, &len, e);
	if (rc)
		return local_failure(c, M_DELETE_SNAPSHOT, rc);
	rc = rpc_secret(c, M_DELETE_SNAPSHOT, snapshot_id, buf ? buf : empty_req, len,
			c->timeout_ms, c->wait_for_ready, dec_delete_snapshot, NULL, secrets, e);
	wipe_free(buf, len);
	return rc;
}
