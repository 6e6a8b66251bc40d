// SPDX-License-Identifier: Apache-2.0
/*
 * fake_driver.c - the scripted in-process gRPC server (see fake_driver.h).
 */
#include "fake_driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "csi/client.h"

/* Tags: distinct addresses. */
static char tag_request, tag_recv, tag_send, tag_closed, tag_shutdown;

struct fake_driver {
	char dir[64];
	char sock[96];
	char endpoint[112];
	grpc_server *server;
	grpc_completion_queue *cq;
	pthread_t thread;
	bool shutdown_seen;	/* server thread only, then stop() after join */

	pthread_mutex_t mu;	/* guards everything below */
	int status;
	char *message;
	uint8_t *reply;
	size_t reply_len;
	bool hold;
	int not_ready;
	int calls;
	char last_method[128];
	uint8_t *last_req;
	size_t last_req_len;
	/* per-method scripts, which take precedence over the one above */
	struct method_script {
		char *method;
		int status;
		char *message;
		uint8_t *reply;
		size_t reply_len;
	} scripts[FAKE_DRIVER_MAX_SCRIPTS];
	size_t nscripts;
	/* every call answered, in order (up to FAKE_DRIVER_MAX_RECORD) */
	struct call_record {
		char *method;
		uint8_t *req;
		size_t len;
	} record[FAKE_DRIVER_MAX_RECORD];
	size_t nrecord;
	fake_driver_hook hook;
	void *hook_ctx;
};

static struct method_script *find_script(struct fake_driver *f, const char *method)
{
	for (size_t i = 0; i < f->nscripts; i++)
		if (!strcmp(f->scripts[i].method, method))
			return &f->scripts[i];
	return NULL;
}

/* Wait for `tag`; returns its success bit, or -1 if the server shut down. */
static int wait_tag(struct fake_driver *f, void *tag)
{
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(f->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
							   NULL);

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			return -1;
		if (ev.tag == tag)
			return ev.success;
		if (ev.tag == &tag_shutdown) {
			f->shutdown_seen = true;
			continue;
		}
		BUG("fake driver: unexpected tag %p", ev.tag);
	}
}

static grpc_byte_buffer *bytes_buffer(const void *p, size_t n)
{
	grpc_slice s = grpc_slice_from_copied_buffer(p, n);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

	grpc_slice_unref(s);
	return bb;
}

/* Answer one call; returns false once the server is shutting down. */
static bool serve_one(struct fake_driver *f)
{
	grpc_call *call = NULL;
	grpc_call_details details;
	grpc_metadata_array md;
	grpc_byte_buffer *req = NULL, *reply_bb = NULL;
	grpc_slice status_details;
	grpc_op ops[4];
	int status, cancelled = 0;
	bool hold, is_probe, ok;
	struct method_script *ms;
	const char *message;
	fake_driver_hook hook;
	void *hook_ctx;
	char details_method[128];
	/* ProbeResponse{ready: BoolValue{value: false}} */
	static const uint8_t not_ready_reply[] = { 0x0a, 0x00 };

	grpc_call_details_init(&details);
	grpc_metadata_array_init(&md);
	if (grpc_server_request_call(f->server, &call, &details, &md, f->cq, f->cq,
				     &tag_request) != GRPC_CALL_OK)
		BUG("fake driver: request_call failed");
	if (wait_tag(f, &tag_request) != 1) {
		grpc_call_details_destroy(&details);
		grpc_metadata_array_destroy(&md);
		return false;
	}

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_RECV_MESSAGE;
	ops[1].data.recv_message.recv_message = &req;
	if (grpc_call_start_batch(call, ops, 2, &tag_recv, NULL) != GRPC_CALL_OK)
		BUG("fake driver: recv batch failed");
	ok = wait_tag(f, &tag_recv) == 1;

	pthread_mutex_lock(&f->mu);
	f->calls++;
	snprintf(f->last_method, sizeof(f->last_method), "%.*s",
		 (int)GRPC_SLICE_LENGTH(details.method),
		 (const char *)GRPC_SLICE_START_PTR(details.method));
	free(f->last_req);
	f->last_req = NULL;
	f->last_req_len = 0;
	if (ok && req) {
		grpc_byte_buffer_reader r;
		grpc_slice all;

		grpc_byte_buffer_reader_init(&r, req);
		all = grpc_byte_buffer_reader_readall(&r);
		grpc_byte_buffer_reader_destroy(&r);
		f->last_req_len = GRPC_SLICE_LENGTH(all);
		f->last_req = xmalloc(f->last_req_len + 1);
		memcpy(f->last_req, GRPC_SLICE_START_PTR(all), f->last_req_len);
		grpc_slice_unref(all);
	}
	snprintf(details_method, sizeof(details_method), "%s", f->last_method);
	if (f->nrecord < FAKE_DRIVER_MAX_RECORD) {
		struct call_record *r = &f->record[f->nrecord++];

		r->method = xstrdup(f->last_method);
		r->len = f->last_req_len;
		r->req = xmalloc(r->len + 1);
		if (r->len)
			memcpy(r->req, f->last_req, r->len);
	}
	hook = f->hook;
	hook_ctx = f->hook_ctx;
	pthread_mutex_unlock(&f->mu);
	if (hook)	/* the test looks at the world as the call arrives */
		hook(hook_ctx, details_method, f->last_req, f->last_req_len);

	pthread_mutex_lock(&f->mu);
	is_probe = !strcmp(f->last_method, "/csi.v1.Identity/Probe");
	ms = find_script(f, f->last_method);
	hold = ms ? false : f->hold;
	status = ms ? ms->status : f->status;
	message = ms ? ms->message : f->message;
	status_details = grpc_slice_from_copied_string(message ? message : "");
	if (is_probe && f->not_ready > 0) {
		f->not_ready--;
		status = 0;
		reply_bb = bytes_buffer(not_ready_reply, sizeof(not_ready_reply));
	} else if (status == 0 && ms) {
		reply_bb = bytes_buffer(ms->reply ? ms->reply : (uint8_t *)"", ms->reply_len);
	} else if (status == 0) {
		reply_bb = bytes_buffer(f->reply ? f->reply : (uint8_t *)"", f->reply_len);
	}
	pthread_mutex_unlock(&f->mu);

	memset(ops, 0, sizeof(ops));
	if (hold) {
		/* Completes when the client gives up (its deadline). */
		ops[0].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
		ops[0].data.recv_close_on_server.cancelled = &cancelled;
		if (grpc_call_start_batch(call, ops, 1, &tag_closed, NULL) != GRPC_CALL_OK)
			BUG("fake driver: close batch failed");
		wait_tag(f, &tag_closed);
	} else {
		size_t n = 0;

		if (reply_bb) {
			ops[n].op = GRPC_OP_SEND_MESSAGE;
			ops[n++].data.send_message.send_message = reply_bb;
		}
		ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
		ops[n].data.send_status_from_server.status = (grpc_status_code)csi_status(status);
		ops[n++].data.send_status_from_server.status_details = &status_details;
		ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
		ops[n++].data.recv_close_on_server.cancelled = &cancelled;
		if (grpc_call_start_batch(call, ops, n, &tag_send, NULL) != GRPC_CALL_OK)
			BUG("fake driver: send batch failed");
		wait_tag(f, &tag_send);
	}

	grpc_slice_unref(status_details);
	if (reply_bb)
		grpc_byte_buffer_destroy(reply_bb);
	if (req)
		grpc_byte_buffer_destroy(req);
	grpc_call_unref(call);
	grpc_call_details_destroy(&details);
	grpc_metadata_array_destroy(&md);
	return true;
}

static void *server_main(void *arg)
{
	struct fake_driver *f = arg;

	while (serve_one(f))
		;
	return NULL;
}

struct fake_driver *fake_driver_start(void)
{
	struct fake_driver *f = xcalloc(1, sizeof(*f));
	grpc_server_credentials *creds;
	char addr[112];

	snprintf(f->dir, sizeof(f->dir), "/tmp/csi-fake-XXXXXX");
	if (!mkdtemp(f->dir))
		BUG("mkdtemp failed");
	snprintf(f->sock, sizeof(f->sock), "%s/csi.sock", f->dir);
	snprintf(f->endpoint, sizeof(f->endpoint), "unix://%s", f->sock);
	snprintf(addr, sizeof(addr), "unix:%s", f->sock);
	pthread_mutex_init(&f->mu, NULL);

	grpc_init();
	f->cq = grpc_completion_queue_create_for_next(NULL);
	f->server = grpc_server_create(NULL, NULL);
	grpc_server_register_completion_queue(f->server, f->cq, NULL);
	creds = grpc_insecure_server_credentials_create();
	if (!grpc_server_add_http2_port(f->server, addr, creds))
		BUG("fake driver: cannot listen on %s", addr);
	grpc_server_credentials_release(creds);
	grpc_server_start(f->server);
	if (pthread_create(&f->thread, NULL, server_main, f))
		BUG("pthread_create failed");
	return f;
}

void fake_driver_stop(struct fake_driver *f)
{
	if (!f)
		return;
	grpc_server_shutdown_and_notify(f->server, f->cq, &tag_shutdown);
	grpc_server_cancel_all_calls(f->server);
	pthread_join(f->thread, NULL);
	/* The thread stopped at the failed request; collect the shutdown tag. */
	while (!f->shutdown_seen) {
		grpc_event ev = grpc_completion_queue_next(f->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
							   NULL);
		if (ev.type == GRPC_OP_COMPLETE && ev.tag == &tag_shutdown)
			f->shutdown_seen = true;
	}
	grpc_server_destroy(f->server);
	grpc_completion_queue_shutdown(f->cq);
	while (grpc_completion_queue_next(f->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(f->cq);
	grpc_shutdown();
	unlink(f->sock);
	rmdir(f->dir);
	pthread_mutex_destroy(&f->mu);
	free(f->message);
	free(f->reply);
	free(f->last_req);
	for (size_t i = 0; i < f->nscripts; i++) {
		free(f->scripts[i].method);
		free(f->scripts[i].message);
		free(f->scripts[i].reply);
	}
	for (size_t i = 0; i < f->nrecord; i++) {
		free(f->record[i].method);
		free(f->record[i].req);
	}
	free(f);
}

const char *fake_driver_endpoint(const struct fake_driver *f)
{
	return f->endpoint;
}

/* A script's status is a code of the CSI domain (or 0): a bare gRPC number is a test's bug. */
static void check_status(int status)
{
	if (status && csi_status(status) < 0)
		BUG("fake driver: status %d is not a code of the CSI domain (CSI_*)", status);
}

void fake_driver_script(struct fake_driver *f, int status, const char *message,
			const void *reply, size_t reply_len, bool hold)
{
	check_status(status);
	pthread_mutex_lock(&f->mu);
	f->status = status;
	free(f->message);
	f->message = xstrdup(message);
	free(f->reply);
	f->reply = NULL;
	f->reply_len = 0;
	if (reply && reply_len) {
		f->reply = xmalloc(reply_len);
		memcpy(f->reply, reply, reply_len);
		f->reply_len = reply_len;
	}
	f->hold = hold;
	pthread_mutex_unlock(&f->mu);
}

void fake_driver_not_ready(struct fake_driver *f, int n)
{
	pthread_mutex_lock(&f->mu);
	f->not_ready = n;
	pthread_mutex_unlock(&f->mu);
}

int fake_driver_calls(struct fake_driver *f)
{
	int n;

	pthread_mutex_lock(&f->mu);
	n = f->calls;
	pthread_mutex_unlock(&f->mu);
	return n;
}

size_t fake_driver_last(struct fake_driver *f, char *method, size_t method_size,
			uint8_t **request)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	snprintf(method, method_size, "%s", f->last_method);
	n = f->last_req_len;
	*request = xmalloc(n + 1);
	if (n)
		memcpy(*request, f->last_req, n);
	pthread_mutex_unlock(&f->mu);
	return n;
}

void fake_driver_script_method(struct fake_driver *f, const char *method, int status,
			       const char *message, const void *reply, size_t reply_len)
{
	struct method_script *ms;

	check_status(status);
	pthread_mutex_lock(&f->mu);
	ms = find_script(f, method);
	if (!ms) {
		if (f->nscripts == FAKE_DRIVER_MAX_SCRIPTS)
			BUG("fake driver: more than %d method scripts", FAKE_DRIVER_MAX_SCRIPTS);
		ms = &f->scripts[f->nscripts++];
		ms->method = xstrdup(method);
	}
	ms->status = status;
	free(ms->message);
	ms->message = xstrdup(message);
	free(ms->reply);
	ms->reply = NULL;
	ms->reply_len = 0;
	if (reply && reply_len) {
		ms->reply = xmalloc(reply_len);
		memcpy(ms->reply, reply, reply_len);
		ms->reply_len = reply_len;
	}
	pthread_mutex_unlock(&f->mu);
}

void fake_driver_set_hook(struct fake_driver *f, fake_driver_hook hook, void *ctx)
{
	pthread_mutex_lock(&f->mu);
	f->hook = hook;
	f->hook_ctx = ctx;
	pthread_mutex_unlock(&f->mu);
}

int fake_driver_count(struct fake_driver *f, const char *method)
{
	int n = 0;

	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->nrecord; i++)
		n += !strcmp(f->record[i].method, method);
	pthread_mutex_unlock(&f->mu);
	return n;
}

size_t fake_driver_request(struct fake_driver *f, const char *method, int i, uint8_t **request)
{
	size_t n = 0;

	*request = NULL;
	pthread_mutex_lock(&f->mu);
	for (size_t k = 0; k < f->nrecord; k++) {
		if (strcmp(f->record[k].method, method) || i-- > 0)
			continue;
		n = f->record[k].len;
		*request = xmalloc(n + 1);
		if (n)
			memcpy(*request, f->record[k].req, n);
		break;
	}
	pthread_mutex_unlock(&f->mu);
	return n;
}
