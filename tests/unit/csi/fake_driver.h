/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_driver.h - an in-process gRPC server on a unix socket that answers
 * every call with a scripted status and reply bytes, so the transport can be
 * tested without a real CSI driver (status passthrough, garbage and
 * oversized replies, deadlines, concurrency).
 *
 * DESIGN: one server thread takes calls one at a time from a "next"
 * completion queue; client threads calling concurrently simply queue. The
 * script and the record of the last call sit behind one mutex (`mu`), which
 * the server thread holds only while reading the script or writing the
 * record, never across a gRPC wait nor while the test's hook runs.
 */
#ifndef TEST_CSI_FAKE_DRIVER_H
#define TEST_CSI_FAKE_DRIVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_driver;

/* Start a server on a fresh socket in a new temporary directory. */
struct fake_driver *fake_driver_start(void);
/* Stop the server, remove the socket and directory, free. Accepts NULL. */
void fake_driver_stop(struct fake_driver *f);
/* "unix:///tmp/.../csi.sock"; borrowed from f. */
const char *fake_driver_endpoint(const struct fake_driver *f);

/*
 * Script the next answers (until changed): the gRPC status of `status` (a
 * code of the CSI domain such as CSI_NOT_FOUND, or 0) with `message`
 * (NULL = none), and when status is 0 the reply bytes (copied; NULL/0 = an
 * empty message). hold = never answer (the client's deadline ends the call).
 */
void fake_driver_script(struct fake_driver *f, int status, const char *message,
			const void *reply, size_t reply_len, bool hold);
/* Probe answers ready=false to the next n probes, then follows the script. */
void fake_driver_not_ready(struct fake_driver *f, int n);

/* Number of calls answered so far, and the last method and request bytes. */
int fake_driver_calls(struct fake_driver *f);
/* Copies into the caller's buffers; returns the request length. */
size_t fake_driver_last(struct fake_driver *f, char *method, size_t method_size,
			uint8_t **request);

/* Per-method scripting and a record of calls (the provisioning tests). */
#define FAKE_DRIVER_MAX_SCRIPTS 8
#define FAKE_DRIVER_MAX_RECORD 256

/*
 * Answer calls of `method` (e.g. "/csi.v1.Controller/CreateVolume") with
 * this status and reply (copied) until changed, whatever the general script
 * says; such calls are never held.
 */
void fake_driver_script_method(struct fake_driver *f, const char *method, int status,
			       const char *message, const void *reply, size_t reply_len);

/*
 * Called on the server thread for every call once its request arrived and
 * before it is answered (no lock held), with the request bytes (borrowed
 * for the call). NULL removes it.
 */
typedef void (*fake_driver_hook)(void *ctx, const char *method, const uint8_t *req, size_t n);
void fake_driver_set_hook(struct fake_driver *f, fake_driver_hook hook, void *ctx);

/* How many calls of `method` were answered or are being answered. */
int fake_driver_count(struct fake_driver *f, const char *method);
/* A copy of the request bytes of the i-th call of `method` (caller frees); its length. */
size_t fake_driver_request(struct fake_driver *f, const char *method, int i, uint8_t **request);

#endif
