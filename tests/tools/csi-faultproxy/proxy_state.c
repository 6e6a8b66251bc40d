// SPDX-License-Identifier: Apache-2.0
/*
 * proxy_state.c - csi-faultproxy's state kept in files (see proxy.h): the
 * rules file and the thread that re-reads it, the per-method counters and
 * the status file, the record line of each call (with its request and
 * reply decoded as JSON), and dropping the driver's connections.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "csi/client.h"
#include "csi/csi.pb-c.h"
#include "pbjson.h"
#include "proxy.h"

/* ---- counters and the status file (mu held) ---- */

struct method_stats *stats_of(struct proxy *p, const char *name)
{
	for (size_t i = 0; i < p->n_stats; i++)
		if (!strcmp(p->stats[i].name, name))
			return &p->stats[i];
	p->stats = xgrow(p->stats, p->n_stats + 1, &p->alloc_stats, sizeof(*p->stats));
	p->stats[p->n_stats] = (struct method_stats){ .name = xstrdup(name) };
	return &p->stats[p->n_stats++];
}

/* Rewrite the status file atomically (tmp + rename). */
void write_status(struct proxy *p)
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
int read_rules(const char *path, struct fp_rules *out, struct err *e)
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

void *rules_main(void *arg)
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

/* ---- dropping connections ---- */

/*
 * Shut down (not close: gRPC still owns the descriptors) every socket
 * accepted on our listening path, so each caller's connection breaks the
 * way it does when a server dies. Accepted unix sockets carry the
 * listener's path as their own address; the listener itself is skipped.
 */
int drop_connections(const char *path)
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
void record(struct pcall *c, struct outcome *o)
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
