/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxy.h - what the two halves of csi-faultproxy share: the proxy and one
 * call (csi-faultproxy.c serves calls and injects the faults), and the
 * proxy's state kept in files (proxy_state.c: the rules file and its
 * thread, the per-method counters and the status file, the record of each
 * call, dropping the driver's connections). `mu` rules as described in
 * csi-faultproxy.c.
 */
#ifndef FAULTPROXY_PROXY_H
#define FAULTPROXY_PROXY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <grpc/grpc.h>
#include <grpc/slice.h>

#include "base/clock.h"
#include "base/err.h"
#include "rules.h"

/* Largest record line; a bigger request is recorded without its body. */
#define RECORD_MAX_LINE (1024 * 1024)
/* How often the rules file is looked at. */
#define RULES_POLL_MS 25

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

static inline int64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t mono_ms(void)
{
	return clock_now_ms();
}

/* proxy_state.c. The counters of method `name` (mu held). */
struct method_stats *stats_of(struct proxy *p, const char *name);
/* Rewrite the status file from the counters (mu held). */
void write_status(struct proxy *p);
/* Read and parse the rules file into `out`. */
int read_rules(const char *path, struct fp_rules *out, struct err *e);
/* The rules thread: re-reads the rules file when it changes, until `stopping`. */
void *rules_main(void *arg);
/* Shut down the driver's accepted connections on socket `path`; how many, or -1. */
int drop_connections(const char *path);
/* Append the call's record line (takes mu). */
void record(struct pcall *c, struct outcome *o);

#endif
