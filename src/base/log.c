// SPDX-License-Identifier: Apache-2.0
/*
 * log.c - the process logger (see log.h): levels, --vmodule, output.
 *
 * DESIGN: one mutex guards the output state (fds, the info buffer) and the
 * vmodule list; it is held only to format-free work (copying a finished
 * line, write(2)), never while calling out. The global level is an atomic
 * so the common log_v check takes no lock. With an info buffer, a detached
 * flusher thread (started once, never stopped: the process exit ends it)
 * writes the buffer out at the flush frequency; it takes only `mu`.
 */
#include "base/log.h"

#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/logfmt.h"
#include "base/xalloc.h"

/* Largest --vmodule list accepted. */
#define VMODULE_MAX_ITEMS 64
#define VMODULE_MAX_LEN 4096

struct vmod {
	char *pattern;
	int level;
};

static atomic_int level;
static atomic_int vmodule_max;	/* highest level any pattern sets; 0 = none */
static atomic_bool json;	/* opts.format, readable without the lock */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct vmod *vmods;
static size_t nvmods;
static struct log_opts opts = { LOG_FORMAT_TEXT, false, 0, 5000, 1, 2 };
static struct buf info_buf;	/* buffered info lines (split stream with a buffer) */
static int64_t last_flush_ms;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return;	/* nowhere left to report it */
		p += w;
		n -= (size_t)w;
	}
}

/* Under mu. */
static void flush_locked(void)
{
	if (info_buf.len)
		write_all(opts.out_fd, info_buf.data, info_buf.len);
	buf_reset(&info_buf);
	last_flush_ms = now_ms();
}

/* klog's flush daemon: buffered info lines wait at most the flush frequency. */
static void *flusher(void *arg)
{
	(void)arg;
	for (;;) {
		int64_t ms;
		struct timespec ts;

		pthread_mutex_lock(&mu);
		ms = opts.flush_ms;
		pthread_mutex_unlock(&mu);
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (ms % 1000) * 1000000;
		nanosleep(&ts, NULL);
		log_flush_due();
	}
	return NULL;
}

void log_configure(const struct log_opts *o)
{
	static bool flusher_started;
	pthread_t t;
	sigset_t all, old;

	pthread_mutex_lock(&mu);
	flush_locked();
	buf_release(&info_buf);
	opts = *o;
	if (opts.flush_ms <= 0)
		opts.flush_ms = 5000;
	buf_init(&info_buf, opts.info_buffer > 0 ? (size_t)opts.info_buffer : 0);
	atomic_store(&json, opts.format == LOG_FORMAT_JSON);
	if (opts.info_buffer > 0 && !flusher_started) {
		/* no signals for it: main collects them with sigwait */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		if (!pthread_create(&t, NULL, flusher, NULL)) {
			pthread_detach(t);
			flusher_started = true;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_mutex_unlock(&mu);
}

void log_set_level(int v)
{
	atomic_store(&level, v);
}

int log_level(void)
{
	return atomic_load(&level);
}

static void free_vmods(struct vmod *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].pattern);
	free(v);
}

/* klog's syntax: comma-separated pattern=N, empty items skipped. */
static int parse_vmodule(const char *spec, struct vmod **out, size_t *nout, struct err *e)
{
	struct vmod *v = NULL;
	size_t n = 0;
	const char *s = spec;

	if (strlen(spec) > VMODULE_MAX_LEN)
		return err_set(e, ERR_INVALID, "longer than %d characters", VMODULE_MAX_LEN);
	while (*s) {
		const char *end = strchr(s, ','), *eq;
		size_t len = end ? (size_t)(end - s) : strlen(s);
		long lvl = 0;

		if (len) {
			eq = memchr(s, '=', len);
			if (!eq || eq == s || eq == s + len - 1 || memchr(eq + 1, '=', s + len - eq - 1)) {
				free_vmods(v, n);
				return err_set(e, ERR_INVALID, "\"%.*s\" does not have the pattern=N format",
					       (int)len, s);
			}
			for (const char *p = eq + 1; p < s + len; p++) {
				if (*p < '0' || *p > '9' || lvl > 214748364) {
					free_vmods(v, n);
					return err_set(e, ERR_INVALID, "bad verbosity in \"%.*s\"", (int)len, s);
				}
				lvl = lvl * 10 + (*p - '0');
			}
			if (n == VMODULE_MAX_ITEMS) {
				free_vmods(v, n);
				return err_set(e, ERR_INVALID, "more than %d patterns", VMODULE_MAX_ITEMS);
			}
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n].pattern = xstrndup(s, eq - s);
			v[n].level = (int)lvl;
			n++;
		}
		s += len;
		if (*s == ',')
			s++;
	}
	*out = v;
	*nout = n;
	return 0;
}

int log_vmodule_check(const char *spec, struct err *e)
{
	struct vmod *v;
	size_t n;
	int rc;

	if ((rc = parse_vmodule(spec, &v, &n, e)))
		return rc;
	free_vmods(v, n);
	return 0;
}

int log_set_vmodule(const char *spec, struct err *e)
{
	struct vmod *v = NULL, *old;
	size_t n = 0, nold;
	int max = 0, rc;

	if (spec && (rc = parse_vmodule(spec, &v, &n, e)))
		return rc;
	for (size_t i = 0; i < n; i++)
		if (v[i].level > max)
			max = v[i].level;
	pthread_mutex_lock(&mu);
	old = vmods, nold = nvmods;
	vmods = v, nvmods = n;
	atomic_store(&vmodule_max, max);
	pthread_mutex_unlock(&mu);
	free_vmods(old, nold);
	return 0;
}

/*
 * klog's matching: the file name without its extension; a pattern with a
 * '/' is matched against the path ("provision/controller" or
 * "src/provision/controller"), otherwise against the base name. The first
 * matching pattern decides.
 */
static int file_level(const char *file)
{
	char path[512], *dot;
	const char *p = file;
	int found = -1;

	while (!strncmp(p, "../", 3) || !strncmp(p, "./", 2))
		p += p[1] == '/' ? 2 : 3;
	snprintf(path, sizeof(path), "%s", p);
	dot = strrchr(path, '.');
	if (dot && !strchr(dot, '/'))
		*dot = '\0';
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nvmods && found < 0; i++) {
		if (!strchr(vmods[i].pattern, '/')) {
			const char *base = strrchr(path, '/');

			if (!fnmatch(vmods[i].pattern, base ? base + 1 : path, 0))
				found = vmods[i].level;
			continue;
		}
		for (const char *s = path; s && found < 0; s = strchr(s, '/') ? strchr(s, '/') + 1 : NULL)
			if (!fnmatch(vmods[i].pattern, s, FNM_PATHNAME))
				found = vmods[i].level;
	}
	pthread_mutex_unlock(&mu);
	return found;
}

bool log_v_on(int v, const char *file)
{
	if (atomic_load(&level) >= v)
		return true;
	if (atomic_load(&vmodule_max) < v)
		return false;
	return file_level(file) >= v;
}

static void emit(char sev, int v, const char *file, int line, const char *msg,
		 const char *const *kv)
{
	struct logfmt_line l = { sev, v, 0, 0, (long)syscall(SYS_gettid), file, line, msg, kv };
	struct timeval tv;
	struct buf b;
	bool info;

	gettimeofday(&tv, NULL);
	l.sec = tv.tv_sec;
	l.usec = tv.tv_usec;
	buf_init(&b, 4 * 1024 * 1024);
	if (atomic_load(&json))
		logfmt_json(&b, &l);
	else
		logfmt_text(&b, &l);
	if (!b.len) {
		buf_release(&b);
		return;
	}
	pthread_mutex_lock(&mu);
	/* component-base's routing: text sends all but I to stderr, json all but errors */
	info = opts.split_stream && (opts.format == LOG_FORMAT_JSON ? sev != 'E' : sev == 'I');
	if (info && info_buf.cap) {
		if (info_buf.len + b.len > info_buf.cap)
			flush_locked();
		if (buf_append(&info_buf, b.data, b.len))
			write_all(opts.out_fd, b.data, b.len);
		if (now_ms() - last_flush_ms >= opts.flush_ms)
			flush_locked();
	} else {
		write_all(info ? opts.out_fd : opts.err_fd, b.data, b.len);
	}
	pthread_mutex_unlock(&mu);
	buf_release(&b);
}

void log_flush(void)
{
	pthread_mutex_lock(&mu);
	flush_locked();
	pthread_mutex_unlock(&mu);
}

void log_flush_due(void)
{
	pthread_mutex_lock(&mu);
	if (info_buf.len && now_ms() - last_flush_ms >= opts.flush_ms)
		flush_locked();
	pthread_mutex_unlock(&mu);
}

void log_at(char sev, int v, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	emit(sev, v, file, line, msg, NULL);
	free(msg);
}

void log_kv_at(char sev, int v, const char *file, int line, const char *msg, const char *const *kv)
{
	emit(sev, v, file, line, msg, kv);
}

void die(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	log_error("fatal: %s", msg);
	free(msg);
	log_flush();
	exit(1);
}

void bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	log_at('E', 0, file, line, "BUG: %s", msg);
	free(msg);
	log_flush();
	abort();
}
