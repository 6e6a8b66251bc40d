// SPDX-License-Identifier: Apache-2.0
/*
 * process.c - process_* metrics from /proc (see process.h).
 *
 * DESIGN: the collector runs under the registry's collect lock, one scrape
 * at a time, and keeps no state between scrapes apart from the family
 * pointers and the start time (read once: it cannot change).
 */
#include "metrics/process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <dirent.h>

#include "base/buf.h"
#include "base/xalloc.h"

/* /proc/stat grows with the CPU count; this is far more than any of our files hold. */
#define PROC_FILE_MAX_BYTES (1024 * 1024)

struct metrics_process {
	struct metrics *m;
	struct metric *cpu, *open_fds, *max_fds, *vsize, *max_vsize, *rss, *start, *rx, *tx;
	double start_time;
	bool have_start_time;
};

/* Read a small /proc file whole into `b` (NUL-terminated). */
static int read_proc(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "r");
	char chunk[4096];
	size_t n;
	int rc = 0;

	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(b, chunk, n)) {
			rc = -1;
			break;
		}
	if (ferror(f))
		rc = -1;
	fclose(f);
	if (!rc)
		rc = buf_append(b, "", 1);
	return rc;
}

int metrics_parse_proc_stat(const char *line, long ticks_per_second, long page_bytes,
			    struct metrics_proc_stat *out)
{
	/* fields after the command: state is field 3, utime 14, stime 15, starttime 22, vsize 23, rss 24 */
	const char *p = strrchr(line, ')');
	double field[25] = { 0 };
	int idx;

	if (!p || ticks_per_second <= 0)
		return -1;
	p++;
	for (idx = 3; idx <= 24; idx++) {
		char *end;

		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return -1;
		if (idx == 3) {
			while (*p && *p != ' ')
				p++;	/* the state letter */
			continue;
		}
		field[idx] = strtod(p, &end);
		if (end == p)
			return -1;
		p = end;
	}
	out->cpu_seconds = (field[14] + field[15]) / (double)ticks_per_second;
	out->start_ticks = field[22];
	out->virtual_bytes = field[23];
	out->resident_bytes = field[24] * (double)page_bytes;
	return 0;
}

int metrics_parse_boot_time(const char *text, double *out)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		char *end;

		if (strncmp(p, "btime ", 6))
			continue;
		*out = strtod(p + 6, &end);
		return end == p + 6 ? -1 : 0;
	}
	return -1;
}

/* The value under column `name` of two lines "IpExt: a b c" / "IpExt: 1 2 3". */
static int column(const char *header, const char *values, const char *name, double *out)
{
	size_t len = strlen(name);
	const char *h = header, *v = values;

	while (*h && *h != '\n') {
		const char *word;
		char *end;
		double val;

		while (*h == ' ')
			h++;
		while (*v == ' ')
			v++;
		word = h;
		while (*h && *h != ' ' && *h != '\n')
			h++;
		val = strtod(v, &end);
		if (end == v)
			return -1;
		v = end;
		if ((size_t)(h - word) == len && !strncmp(word, name, len)) {
			*out = val;
			return 0;
		}
	}
	return -1;
}

int metrics_parse_netstat(const char *text, double *in_octets, double *out_octets)
{
	const char *header = strstr(text, "IpExt: "), *values;

	if (!header || (header != text && header[-1] != '\n'))
		return -1;
	values = strchr(header, '\n');
	if (!values || strncmp(values + 1, "IpExt: ", 7))
		return -1;
	header += 7;
	values += 8;
	if (column(header, values, "InOctets", in_octets) ||
	    column(header, values, "OutOctets", out_octets))
		return -1;
	return 0;
}

/* Go's procfs reads "unlimited" as the largest uint64. */
static double limit_value(rlim_t v)
{
	return v == RLIM_INFINITY ? 18446744073709551615.0 : (double)v;
}

static void collect(void *ctx, struct metrics *m)
{
	struct metrics_process *p = ctx;
	struct metrics_proc_stat st;
	struct rlimit rl;
	struct buf b;
	DIR *d;
	double rx, tx;

	(void)m;
	buf_init(&b, PROC_FILE_MAX_BYTES);
	if (!read_proc("/proc/self/stat", &b) &&
	    !metrics_parse_proc_stat(b.data, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), &st)) {
		metric_set(p->cpu, NULL, st.cpu_seconds);
		metric_set(p->vsize, NULL, st.virtual_bytes);
		metric_set(p->rss, NULL, st.resident_bytes);
	}
	if (p->have_start_time)
		metric_set(p->start, NULL, p->start_time);
	if ((d = opendir("/proc/self/fd"))) {
		struct dirent *de;
		int n = 0;

		while ((de = readdir(d)))
			n += de->d_name[0] != '.';
		closedir(d);
		metric_set(p->open_fds, NULL, n - 1);	/* less the one opendir held */
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		metric_set(p->max_fds, NULL, limit_value(rl.rlim_cur));
	if (!getrlimit(RLIMIT_AS, &rl))
		metric_set(p->max_vsize, NULL, limit_value(rl.rlim_cur));
	buf_reset(&b);
	if (!read_proc("/proc/self/net/netstat", &b) && !metrics_parse_netstat(b.data, &rx, &tx)) {
		metric_set(p->rx, NULL, rx);
		metric_set(p->tx, NULL, tx);
	}
	buf_release(&b);
}

/* Boot time plus the process's start ticks, read once. */
static void read_start_time(struct metrics_process *p)
{
	struct metrics_proc_stat st;
	struct buf b;
	double boot;
	long ticks = sysconf(_SC_CLK_TCK);

	buf_init(&b, PROC_FILE_MAX_BYTES);
	if (!read_proc("/proc/stat", &b) && !metrics_parse_boot_time(b.data, &boot)) {
		buf_reset(&b);
		if (!read_proc("/proc/self/stat", &b) &&
		    !metrics_parse_proc_stat(b.data, ticks, sysconf(_SC_PAGESIZE), &st)) {
			p->start_time = boot + st.start_ticks / (double)ticks;
			p->have_start_time = true;
		}
	}
	buf_release(&b);
}

struct metrics_process *metrics_process_new(struct metrics *m)
{
	struct metrics_process *p = xcalloc(1, sizeof(*p));

	p->m = m;
	p->cpu = metrics_add(m, METRIC_COUNTER, "process_cpu_seconds_total",
			     "CPU time (user and system) used by the process, in seconds.",
			     NULL, NULL, 0);
	p->open_fds = metrics_add(m, METRIC_GAUGE, "process_open_fds",
				  "File descriptors the process holds open.", NULL, NULL, 0);
	p->max_fds = metrics_add(m, METRIC_GAUGE, "process_max_fds",
				 "Limit on open file descriptors (RLIMIT_NOFILE).", NULL, NULL, 0);
	p->vsize = metrics_add(m, METRIC_GAUGE, "process_virtual_memory_bytes",
			       "Size of the process's virtual memory, in bytes.", NULL, NULL, 0);
	p->max_vsize = metrics_add(m, METRIC_GAUGE, "process_virtual_memory_max_bytes",
				   "Limit on virtual memory (RLIMIT_AS), in bytes.", NULL, NULL, 0);
	p->rss = metrics_add(m, METRIC_GAUGE, "process_resident_memory_bytes",
			     "Resident memory of the process, in bytes.", NULL, NULL, 0);
	p->start = metrics_add(m, METRIC_GAUGE, "process_start_time_seconds",
			       "When the process started, in seconds since the Unix epoch.",
			       NULL, NULL, 0);
	p->rx = metrics_add(m, METRIC_COUNTER, "process_network_receive_bytes_total",
			    "Bytes received over the network (the process's network namespace).",
			    NULL, NULL, 0);
	p->tx = metrics_add(m, METRIC_COUNTER, "process_network_transmit_bytes_total",
			    "Bytes sent over the network (the process's network namespace).",
			    NULL, NULL, 0);
	read_start_time(p);
	metrics_add_collector(m, collect, p);
	return p;
}

void metrics_process_free(struct metrics_process *p)
{
	if (!p)
		return;
	metrics_remove_collector(p->m, collect, p);
	free(p);
}
