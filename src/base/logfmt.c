// SPDX-License-Identifier: Apache-2.0
/* logfmt.c - escaping and line layouts for the logger (see logfmt.h). */
#include "base/logfmt.h"

#include <string.h>
#include <time.h>

/* Length of a well-formed UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The code point of a well-formed sequence of length len. */
static unsigned utf8_cp(const unsigned char *s, size_t len)
{
	static const unsigned char first_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	unsigned cp = s[0] & first_mask[len];

	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	return cp;
}

/* Characters that end or rewrite a line on some reader: C0, DEL, C1, U+2028/9. */
static bool is_control(unsigned cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029;
}

void logfmt_escape_text(struct buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;

	while (i < n) {
		size_t len = utf8_len(s + i, n - i);
		unsigned cp;

		if (!len) {	/* not UTF-8: passed on as klog does */
			i++;
			run++;
			continue;
		}
		cp = utf8_cp(s + i, len);
		if (!is_control(cp)) {
			i += len;
			run += len;
			continue;
		}
		buf_append(b, s + i - run, run);
		run = 0;
		if (cp == '\n')
			buf_append(b, "\\n", 2);
		else if (cp == '\r')
			buf_append(b, "\\r", 2);
		else if (cp == '\t')
			buf_append(b, "\\t", 2);
		else if (cp < 0x80)
			buf_appendf(b, "\\x%02x", cp);
		else
			buf_appendf(b, "\\u%04x", cp);
		i += len;
	}
	buf_append(b, s + n - run, run);
}

void logfmt_escape_json(struct buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		size_t len = utf8_len(s + i, n - i);
		unsigned cp;

		if (!len) {
			buf_append(b, "\\ufffd", 6);
			i++;
			continue;
		}
		cp = utf8_cp(s + i, len);
		if (cp == '"' || cp == '\\') {
			buf_append(b, "\\", 1);
			buf_append(b, s + i, 1);
		} else if (cp == '\n') {
			buf_append(b, "\\n", 2);
		} else if (cp == '\r') {
			buf_append(b, "\\r", 2);
		} else if (cp == '\t') {
			buf_append(b, "\\t", 2);
		} else if (is_control(cp)) {
			buf_appendf(b, "\\u%04x", cp);
		} else {
			buf_append(b, s + i, len);
		}
		i += len;
	}
}

const char *logfmt_base(const char *file, bool with_dir)
{
	const char *last = strrchr(file, '/'), *p;

	if (!last)
		return file;
	if (!with_dir)
		return last + 1;
	for (p = last - 1; p >= file && *p != '/'; p--)
		;
	p++;
	/* "../x.c" or "./x.c": no directory worth showing */
	if (!strncmp(p, "../", 3) || !strncmp(p, "./", 2))
		return last + 1;
	return p;
}

/* The pairs of a structured line: ` key="value"` in text, `,"key":"value"` in JSON. */
static void append_kv(struct buf *b, const char *const *kv, bool json)
{
	for (; kv[0]; kv += 2) {
		const char *v = kv[1] ? kv[1] : "";
		size_t n = strlen(v);

		buf_append(b, json ? ",\"" : " ", json ? 2 : 1);
		if (json)
			logfmt_escape_json(b, kv[0], strlen(kv[0]));
		else
			logfmt_escape_text(b, kv[0], strlen(kv[0]));
		buf_append(b, json ? "\":\"" : "=\"", json ? 3 : 2);
		logfmt_escape_json(b, v, n > LOGFMT_MSG_MAX ? LOGFMT_MSG_MAX : n);
		buf_append(b, "\"", 1);
		if (!kv[1])
			break;	/* a NULL value ends the list */
	}
}

/* The message, capped, then the escaped key="value" pairs of a structured line. */
static void text_body(struct buf *b, const struct logfmt_line *l)
{
	size_t n = strlen(l->msg);
	bool cut = n > LOGFMT_MSG_MAX;

	if (l->kv) {
		/* klog's InfoS layout: the message quoted, then key="value" */
		buf_append(b, "\"", 1);
		logfmt_escape_json(b, l->msg, cut ? LOGFMT_MSG_MAX : n);
		buf_append(b, cut ? "[...]\"" : "\"", cut ? 6 : 1);
		append_kv(b, l->kv, false);
		return;
	}
	logfmt_escape_text(b, l->msg, cut ? LOGFMT_MSG_MAX : n);
	if (cut)
		buf_append(b, "[...]", 5);
}

void logfmt_text(struct buf *b, const struct logfmt_line *l)
{
	struct tm tm;
	time_t t = (time_t)l->sec;

	gmtime_r(&t, &tm);
	buf_appendf(b, "%c%02d%02d %02d:%02d:%02d.%06ld %7ld %s:%d] ", l->sev, tm.tm_mon + 1,
		    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, l->usec, l->tid,
		    logfmt_base(l->file, false), l->line);
	text_body(b, l);
	buf_append(b, "\n", 1);
}

void logfmt_json(struct buf *b, const struct logfmt_line *l)
{
	size_t n = strlen(l->msg);
	bool cut = n > LOGFMT_MSG_MAX;

	buf_appendf(b, "{\"ts\":%lld.%03ld,\"caller\":\"", (long long)l->sec * 1000 + l->usec / 1000,
		    l->usec % 1000);
	logfmt_escape_json(b, logfmt_base(l->file, true), strlen(logfmt_base(l->file, true)));
	buf_appendf(b, ":%d\",\"msg\":\"", l->line);
	logfmt_escape_json(b, l->msg, cut ? LOGFMT_MSG_MAX : n);
	if (cut)
		buf_append(b, "[...]", 5);
	buf_append(b, "\"", 1);
	if (l->sev != 'E')
		buf_appendf(b, ",\"v\":%d", l->v);
	if (l->kv)
		append_kv(b, l->kv, true);
	buf_append(b, "}\n", 2);
}
