/* SPDX-License-Identifier: Apache-2.0 */
/*
 * client.h - the CSI v1 controller-side client: one gRPC channel to the
 * driver's unix socket, and a blocking call per RPC that the provisioner
 * needs (Identity: GetPluginInfo, GetPluginCapabilities, Probe; Controller:
 * CreateVolume, DeleteVolume, GetCapacity, ListVolumes,
 * ControllerGetCapabilities; CreateSnapshot and DeleteSnapshot, which the
 * provisioner itself never calls but tests and tools do).
 *
 * Return convention of every csi_* call that talks to the driver:
 *   0                the driver answered OK and the reply decoded;
 *   CSI_CANCELLED..CSI_UNAUTHENTICATED
 *                    the gRPC status code exactly as the driver (or the gRPC
 *                    transport, e.g. UNAVAILABLE, DEADLINE_EXCEEDED) returned
 *                    it, as a code of the CSI domain of the error space
 *                    (base/err.h; csi_status() gives back the gRPC number);
 *                    err_code(e) is the same value and e's message is the status
 *                    message unchanged, with nothing prefixed (callers add
 *                    their own context with err_prefix). An empty status
 *                    message is replaced by the code's name so logs are never
 *                    blank;
 *   CSI_ERR_LOCAL    the failure is ours: bad arguments, a request or reply
 *                    above its size cap, a reply that does not decode or
 *                    lacks a required field. The message starts with the
 *                    method name. After CreateVolume this does NOT mean the
 *                    volume was not created.
 *
 * Secrets (the `secrets` maps) are never logged at any verbosity; neither
 * are parameters or mount flags. Logging is limited to method names, volume
 * names/ids, status codes, status messages and durations (log_v(4) for the
 * outcome of each call, log_v(5) when it starts).
 *
 * Threads: after csi_client_new returns, any number of threads may make
 * calls on one client concurrently. Configuration setters
 * (csi_client_set_observer, csi_client_set_wait_for_ready) must be called
 * before the client is shared. csi_client_free must not race with calls.
 *
 * Ownership: request structs and everything they point to are borrowed for
 * the duration of the call only. Reply structs are filled with heap memory
 * the caller owns and releases with the matching *_release function; on a
 * non-zero return a reply struct is left zeroed (release is still safe).
 */
#ifndef CSI_CLIENT_H
#define CSI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/strmap.h"

/* Returned (and recorded in e) for failures that are not gRPC statuses. */
#define CSI_ERR_LOCAL ERR_CODE(ERR_DOMAIN_CSI, 100)

/* Largest reply we accept from the driver (also the channel's receive cap). */
#define CSI_MAX_REPLY_BYTES (4 * 1024 * 1024)
/* Largest request we send. */
#define CSI_MAX_REQUEST_BYTES (4 * 1024 * 1024)
/* Most entries a decoded map (volume_context, a topology segment) may have. */
#define CSI_MAX_MAP_ENTRIES 4096

/*
 * The gRPC status codes in the CSI domain of the error space (base/err.h), so
 * callers need not include grpc headers and no code equals another module's.
 */
enum csi_code {
	CSI_OK = 0,
	CSI_CANCELLED = ERR_CODE(ERR_DOMAIN_CSI, 1),
	CSI_UNKNOWN = ERR_CODE(ERR_DOMAIN_CSI, 2),
	CSI_INVALID_ARGUMENT = ERR_CODE(ERR_DOMAIN_CSI, 3),
	CSI_DEADLINE_EXCEEDED = ERR_CODE(ERR_DOMAIN_CSI, 4),
	CSI_NOT_FOUND = ERR_CODE(ERR_DOMAIN_CSI, 5),
	CSI_ALREADY_EXISTS = ERR_CODE(ERR_DOMAIN_CSI, 6),
	CSI_PERMISSION_DENIED = ERR_CODE(ERR_DOMAIN_CSI, 7),
	CSI_RESOURCE_EXHAUSTED = ERR_CODE(ERR_DOMAIN_CSI, 8),
	CSI_FAILED_PRECONDITION = ERR_CODE(ERR_DOMAIN_CSI, 9),
	CSI_ABORTED = ERR_CODE(ERR_DOMAIN_CSI, 10),
	CSI_OUT_OF_RANGE = ERR_CODE(ERR_DOMAIN_CSI, 11),
	CSI_UNIMPLEMENTED = ERR_CODE(ERR_DOMAIN_CSI, 12),
	CSI_INTERNAL = ERR_CODE(ERR_DOMAIN_CSI, 13),
	CSI_UNAVAILABLE = ERR_CODE(ERR_DOMAIN_CSI, 14),
	CSI_DATA_LOSS = ERR_CODE(ERR_DOMAIN_CSI, 15),
	CSI_UNAUTHENTICATED = ERR_CODE(ERR_DOMAIN_CSI, 16),
};

/*
 * The gRPC Go spelling of a code ("OK", "DeadlineExceeded", ...), as used in
 * upstream's metric labels; "Local" for CSI_ERR_LOCAL and "Unrecognized"
 * for anything else. A static string, never NULL.
 */
const char *csi_code_name(int code);

/*
 * The gRPC status number (0..16, or what a driver sent beyond) of a code of
 * the CSI domain, 0 for 0, and -1 for any other code (CSI_ERR_LOCAL, codes of
 * other domains): what goes on the wire.
 */
int csi_status(int code);

/* The code for the gRPC status number `status` (0 for OK): what came off the wire. */
int csi_code_from_status(int status);

/* Access modes; values mirror csi.v1.VolumeCapability.AccessMode.Mode. */
enum csi_access_mode {
	CSI_ACCESS_UNKNOWN = 0,
	CSI_ACCESS_SINGLE_NODE_WRITER = 1,
	CSI_ACCESS_SINGLE_NODE_READER_ONLY = 2,
	CSI_ACCESS_MULTI_NODE_READER_ONLY = 3,
	CSI_ACCESS_MULTI_NODE_SINGLE_WRITER = 4,
	CSI_ACCESS_MULTI_NODE_MULTI_WRITER = 5,
	CSI_ACCESS_SINGLE_NODE_SINGLE_WRITER = 6,
	CSI_ACCESS_SINGLE_NODE_MULTI_WRITER = 7,
};

/*
 * The maps of requests and replies (parameters, secrets, volume context,
 * topology segments) are struct strmap (base/strmap.h). In requests they
 * are borrowed: nothing is modified or freed. In replies they are owned
 * (strmap_release); keys are unique (a key repeated on the wire keeps its
 * last value, as protobuf maps do).
 */
/*
 * Replace every occurrence of a value of `secrets` (may be NULL) in e's
 * message with "***" and say so at the end, so a driver's message that
 * echoes the request can go to logs and Events. The longest values go
 * first (one may contain another). Returns true when something was hidden.
 */
bool csi_redact_secrets(struct err *e, const struct strmap *secrets);

/* One requested volume capability; all pointers borrowed. */
struct csi_volume_capability {
	bool block;			/* block access; else mount */
	const char *fs_type;		/* mount only; NULL or "" = driver default */
	const char *const *mount_flags;	/* mount only */
	size_t n_mount_flags;
	const char *mount_group;	/* mount only: volume_mount_group; NULL = unset */
	int access_mode;		/* enum csi_access_mode */
};

/* CreateVolume arguments; everything borrowed for the call. */
struct csi_create_volume_req {
	const char *name;			/* required */
	int64_t required_bytes, limit_bytes;	/* 0 = unset; both 0 = no capacity_range */
	const struct csi_volume_capability *caps;
	size_t n_caps;
	struct strmap parameters, secrets, mutable_parameters;
	/* At most one of the two; NULL = no content source. */
	const char *source_snapshot_id, *source_volume_id;
	/* Topology segments; both lists empty = no accessibility_requirements. */
	const struct strmap *requisite;
	size_t n_requisite;
	const struct strmap *preferred;
	size_t n_preferred;
};

/* A volume as the driver describes it; owned, freed with csi_volume_release. */
struct csi_volume {
	int64_t capacity_bytes;		/* 0 = unknown */
	char *volume_id;		/* never NULL or "" after a successful create */
	struct strmap context;
	bool has_content_source;
	char *source_snapshot_id;	/* at most one set, when has_content_source */
	char *source_volume_id;
	struct strmap *accessible_topology;
	size_t n_accessible_topology;
};

/* Free the contents and zero the struct. Accepts NULL. */
void csi_volume_release(struct csi_volume *v);

struct csi_plugin_caps {
	bool controller_service;
	bool accessibility_constraints;
	bool group_controller;
	bool snapshot_metadata;
	bool online_expansion;
	bool offline_expansion;
};

struct csi_controller_caps {
	bool create_delete;
	bool publish_unpublish;
	bool list_volumes;
	bool get_capacity;
	bool create_delete_snapshot;
	bool list_snapshots;
	bool clone_volume;
	bool publish_readonly;
	bool expand_volume;
	bool list_volumes_published_nodes;
	bool volume_condition;
	bool get_volume;
	bool single_node_multi_writer;
	bool modify_volume;
	bool get_snapshot;
};

/* GetCapacity arguments; everything borrowed. */
struct csi_get_capacity_req {
	const struct csi_volume_capability *caps;
	size_t n_caps;
	struct strmap parameters;
	const struct strmap *accessible_topology;	/* NULL = unset */
};

struct csi_capacity {
	int64_t available_capacity;
	bool has_maximum_volume_size;
	int64_t maximum_volume_size;
	bool has_minimum_volume_size;
	int64_t minimum_volume_size;
};

/* One page of ListVolumes; owned, freed with csi_volume_list_release. */
struct csi_volume_list {
	struct csi_volume *volumes;
	size_t n;
	char *next_token;	/* NULL when this is the last page */
};

void csi_volume_list_release(struct csi_volume_list *l);

/* CreateSnapshot arguments; everything borrowed for the call. */
struct csi_create_snapshot_req {
	const char *source_volume_id;	/* required */
	const char *name;		/* required: the idempotency key */
	struct strmap secrets, parameters;
};

/* A snapshot as the driver describes it; owned, freed with csi_snapshot_release. */
struct csi_snapshot {
	int64_t size_bytes;		/* 0 = unknown */
	char *snapshot_id;		/* never NULL or "" after a successful create */
	char *source_volume_id;		/* NULL when the driver left it out */
	bool has_creation_time;
	int64_t creation_seconds;	/* Unix time, when has_creation_time */
	int32_t creation_nanos;
	bool ready_to_use;
	char *group_snapshot_id;	/* NULL unless part of a group snapshot */
};

/* Free the contents and zero the struct. Accepts NULL. */
void csi_snapshot_release(struct csi_snapshot *s);

/* What NodeGetInfo said; owned, freed with csi_node_info_release. */
struct csi_node_info {
	char *node_id;			/* never NULL or "" after a successful call */
	int64_t max_volumes_per_node;	/* 0 = no limit given */
	bool has_topology;		/* accessible_topology was set */
	struct strmap topology;	/* its segments (n 0 when unset) */
};

/* Free the contents and zero the struct. Accepts NULL. */
void csi_node_info_release(struct csi_node_info *n);

/*
 * Turn a --csi-address value into a gRPC target. Accepted:
 * "unix:///abs/path", "unix:/abs/path" and "/abs/path", all giving
 * "unix:/abs/path". Anything else fails with CSI_ERR_LOCAL and a message
 * quoting the value. Pure. On success *target_out is a heap string the
 * caller frees with free().
 */
int csi_endpoint_normalize(const char *in, char **target_out, struct err *e);

struct csi_client;

/*
 * Called after every RPC (also failed ones) with the full method path
 * ("/csi.v1.Controller/CreateVolume"), the call's return code (0, 1..16 or
 * CSI_ERR_LOCAL) and its wall time in seconds. Runs on the calling thread,
 * concurrently from many threads: it must be thread-safe and quick.
 */
typedef void (*csi_observe_fn)(void *ctx, const char *method, int code, double seconds);

/*
 * Create the client and its one channel. No connection is made here (gRPC
 * connects lazily and reconnects with a backoff capped at about 1 s after
 * the driver restarts); use csi_wait_ready to wait for the driver.
 * timeout_ms (> 0) is the deadline of every call. Takes a reference on the
 * gRPC library (grpc_init; gRPC counts them) that csi_client_free drops.
 * On success the caller owns *out and frees it with csi_client_free.
 */
int csi_client_new(struct csi_client **out, const char *endpoint, long timeout_ms,
		   struct err *e);

/* Destroy the channel. No call may be in flight. Accepts NULL. */
void csi_client_free(struct csi_client *c);

/* The gRPC target in use ("unix:/path"); borrowed from the client. Not used by the daemon. */
const char *csi_client_target(const struct csi_client *c);

/*
 * Whether the channel is connected to the driver right now (gRPC state
 * READY). Cheap and non-blocking: it reads the channel's state and never
 * waits, so a health endpoint may call it on every request, from any
 * thread. A fresh channel (no call yet) is asked to connect, so a later
 * query answers true when the driver is up; the first query on a fresh
 * client is therefore false. False also while connecting and reconnecting,
 * and within milliseconds of the driver going away: the client's watcher
 * thread keeps the channel's socket polled between calls. The connection is
 * never dropped for idleness.
 */
bool csi_client_connected(struct csi_client *c);

/* Install the observer (fn NULL removes it). ctx is borrowed while installed. */
void csi_client_set_observer(struct csi_client *c, csi_observe_fn fn, void *ctx);

/*
 * A write guard returns NULL while the client may change the driver's
 * state, else a short reason. It is called before every CreateVolume,
 * DeleteVolume, CreateSnapshot and DeleteSnapshot, on the calling thread:
 * it must be cheap and thread-safe. A refused call is not sent and fails
 * with CSI_ERR_LOCAL ("CreateVolume <name>: not sent: <reason>"); the
 * observer is not told (no RPC was made).
 */
typedef const char *(*csi_write_guard_fn)(void *ctx);

/* Install a write guard (fn NULL removes it); ctx is borrowed while installed.
 * Call before the client is shared between threads. */
void csi_client_set_write_guard(struct csi_client *c, csi_write_guard_fn fn, void *ctx);

/*
 * Whether calls wait for the channel to connect (gRPC wait-for-ready) until
 * their deadline instead of failing at once with UNAVAILABLE while the
 * driver is unreachable. Default true: a driver restart then costs a short
 * delay rather than an error. Probes made by csi_wait_ready always wait.
 * TOOLS AND TESTS ONLY: the daemon keeps the default (tests/tools/csi-call,
 * tests/unit/csi).
 */
void csi_client_set_wait_for_ready(struct csi_client *c, bool on);

/*
 * Probe once. *ready is false only when the driver said ready=false. The
 * daemon probes through csi_wait_ready; called directly by tools and tests.
 */
int csi_probe(struct csi_client *c, bool *ready, struct err *e);

/*
 * Probe until the driver is ready or max_wait_ms passes (then
 * CSI_DEADLINE_EXCEEDED). Each probe waits for the connection (wait-for-
 * ready) for at most a few seconds; progress is logged at info about every
 * 10 s. DEADLINE_EXCEEDED and UNAVAILABLE are retried; any other error is
 * returned at once, as upstream treats it as fatal. A not-ready answer is
 * retried about once a second.
 */
int csi_wait_ready(struct csi_client *c, long max_wait_ms, struct err *e);

/* On success *name and *vendor_version are heap strings the caller frees. */
int csi_get_plugin_info(struct csi_client *c, char **name, char **vendor_version,
			struct err *e);

int csi_get_plugin_capabilities(struct csi_client *c, struct csi_plugin_caps *out,
				struct err *e);

int csi_controller_get_capabilities(struct csi_client *c, struct csi_controller_caps *out,
				    struct err *e);

/* A reply without a volume_id is CSI_ERR_LOCAL. */
int csi_create_volume(struct csi_client *c, const struct csi_create_volume_req *req,
		      struct csi_volume *out, struct err *e);

/* secrets may be NULL. */
int csi_delete_volume(struct csi_client *c, const char *volume_id,
		      const struct strmap *secrets, struct err *e);

/*
 * NodeGetInfo (the Node service of the driver beside us, for
 * --node-deployment). An empty node_id is an error. Release *out with
 * csi_node_info_release.
 */
int csi_node_get_info(struct csi_client *c, struct csi_node_info *out, struct err *e);
int csi_get_capacity(struct csi_client *c, const struct csi_get_capacity_req *req,
		     struct csi_capacity *out, struct err *e);

/*
 * TOOLS AND TESTS ONLY, from here to the end: the daemon provisions volumes
 * and never lists them, creates or deletes snapshots (tests/tools/csi-call
 * drives a real driver with them, for the snapshot e2e tests; the write
 * guard's unit test covers the snapshot calls).
 */

/* One page: max_entries 0 = driver's choice, starting_token NULL = first. */
int csi_list_volumes(struct csi_client *c, int32_t max_entries, const char *starting_token,
		     struct csi_volume_list *out, struct err *e);

/*
 * A reply without a snapshot_id is CSI_ERR_LOCAL. A snapshot that is not
 * ready_to_use yet is a success; call again with the same name to follow it.
 */
int csi_create_snapshot(struct csi_client *c, const struct csi_create_snapshot_req *req,
			struct csi_snapshot *out, struct err *e);

/* secrets may be NULL. */
int csi_delete_snapshot(struct csi_client *c, const char *snapshot_id,
			const struct strmap *secrets, struct err *e);

#endif
