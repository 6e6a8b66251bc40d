/* SPDX-License-Identifier: Apache-2.0 */
/*
 * process.h - the process_* metrics the Go client library's process
 * collector exports on Linux (upstream's default registry has them):
 * CPU time, resident and virtual memory and its limit, open and maximum
 * file descriptors, start time, and the network namespace's bytes received
 * and sent. Values are read from /proc and getrlimit at each scrape; a value
 * that cannot be read is left out of that scrape, never invented.
 *
 * The parsers are exposed for the unit tests.
 */
#ifndef METRICS_PROCESS_H
#define METRICS_PROCESS_H

#include <stdbool.h>

#include "metrics/metrics.h"

struct metrics_process;

/* Declare the families in `m` and collect them before each render. Free with metrics_process_free. */
struct metrics_process *metrics_process_new(struct metrics *m);
/* Stop collecting (the families stay, with their last values). Accepts NULL. */
void metrics_process_free(struct metrics_process *p);

/* What /proc/<pid>/stat says, in seconds and bytes. */
struct metrics_proc_stat {
	double cpu_seconds;		/* utime + stime */
	double virtual_bytes;		/* vsize */
	double resident_bytes;		/* rss pages * page size */
	double start_ticks;		/* starttime, clock ticks after boot */
};

/* Parse one /proc/<pid>/stat line (the command name may hold spaces and parentheses). */
int metrics_parse_proc_stat(const char *line, long ticks_per_second, long page_bytes,
			    struct metrics_proc_stat *out);
/* The boot time (btime) from the text of /proc/stat. */
int metrics_parse_boot_time(const char *text, double *out);
/* InOctets and OutOctets of the IpExt lines of /proc/<pid>/net/netstat. */
int metrics_parse_netstat(const char *text, double *in_octets, double *out_octets);

#endif
