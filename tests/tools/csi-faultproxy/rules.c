// SPDX-License-Identifier: Apache-2.0
/*
 * rules.c - parsing and matching of csi-faultproxy's rules (see rules.h and
 * README.md for the format).
 */
#include "rules.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/duration.h"
#include "base/xalloc.h"

static const char *const action_names[] = {
	[FP_PASS] = "pass", [FP_FAIL] = "fail", [FP_DELAY] = "delay",
	[FP_TIMEOUT] = "timeout", [FP_HOLD] = "hold", [FP_DROP] = "drop",
	[FP_GARBAGE] = "garbage", [FP_OVERSIZE] = "oversize",
};

#define N_ACTIONS (sizeof(action_names) / sizeof(action_names[0]))

const char *fp_action_name(enum fp_action a)
{
	return (size_t)a < N_ACTIONS ? action_names[a] : "unknown";
}

/* The C spelling and the Go spelling of each code, 0..16. */
static const char *const code_c[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};
static const char *const code_go[] = {
	"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
	"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
	"Unauthenticated",
};

int fp_code_parse(const char *s)
{
	char *end;
	long v;

	if (isdigit((unsigned char)*s)) {
		errno = 0;
		v = strtol(s, &end, 10);
		return errno || *end || v < 0 || v > 16 ? -1 : (int)v;
	}
	for (int i = 0; i <= 16; i++)
		if (!strcasecmp(s, code_c[i]) || !strcasecmp(s, code_go[i]))
			return i;
	return -1;
}

bool fp_method_matches(const char *pattern, const char *method)
{
	const char *slash;

	if (!strcmp(pattern, "*") || !strcmp(pattern, method))
		return true;
	slash = strrchr(method, '/');
	return pattern[0] != '/' && slash && !strcmp(pattern, slash + 1);
}

void fp_rules_release(struct fp_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].method);
		free(r->v[i].message);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/*
 * Next word of the line at *p into w (reset first): whitespace separates,
 * double quotes group (with \" and \\ inside), and '#' outside quotes ends
 * the line. Returns 1 with a word, 0 at the end, -1 on a bad quote.
 */
static int next_word(const char **p, struct buf *w)
{
	const char *s = *p;
	bool quoted = false;

	buf_reset(w);
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	if (!*s || *s == '\n' || *s == '#') {
		*p = s;
		return 0;
	}
	buf_append(w, "", 0);	/* an empty quoted word is still a word */
	for (; *s && *s != '\n'; s++) {
		if (quoted) {
			if (*s == '"') {
				quoted = false;
				continue;
			}
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
		} else if (*s == '"') {
			quoted = true;
			continue;
		} else if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '#') {
			break;
		}
		if (buf_append(w, s, 1))
			return -1;
	}
	*p = s;
	return quoted ? -1 : 1;
}

static int parse_action(const char *s)
{
	for (size_t i = 0; i < N_ACTIONS; i++)
		if (!strcmp(s, action_names[i]))
			return (int)i;
	return -1;
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || !isdigit((unsigned char)*s))
		return -1;
	if (!strcmp(end, "Ki"))
		v *= 1024;
	else if (!strcmp(end, "Mi"))
		v *= 1024 * 1024;
	else if (*end)
		return -1;
	if (v > FP_OVERSIZE_MAX)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* One key=value argument into r. */
static int parse_arg(struct fp_rule *r, const char *w, int line, struct err *e)
{
	const char *eq = strchr(w, '=');
	const char *v = eq ? eq + 1 : NULL;
	size_t klen = eq ? (size_t)(eq - w) : 0;
	char *end;

	if (!eq)
		return err_set(e, -1, "line %d: '%s' is not key=value", line, w);
	if (klen == 5 && !strncmp(w, "count", 5)) {
		errno = 0;
		r->count = strtol(v, &end, 10);
		if (errno || end == v || *end || r->count < 1)
			return err_set(e, -1, "line %d: count '%s' is not a positive number", line, v);
	} else if (klen == 4 && !strncmp(w, "code", 4)) {
		r->code = fp_code_parse(v);
		if (r->code < 0)
			return err_set(e, -1, "line %d: '%s' is not a gRPC status code", line, v);
	} else if (klen == 7 && !strncmp(w, "message", 7)) {
		free(r->message);
		r->message = xstrdup(v);
	} else if (klen == 5 && !strncmp(w, "delay", 5)) {
		if (duration_parse_ms(v, &r->delay_ms))
			return err_set(e, -1, "line %d: delay '%s' is not a duration", line, v);
	} else if (klen == 5 && !strncmp(w, "bytes", 5)) {
		if (parse_size(v, &r->bytes))
			return err_set(e, -1, "line %d: bytes '%s' is not a size up to %zu", line, v,
				       FP_OVERSIZE_MAX);
	} else {
		return err_set(e, -1, "line %d: unknown argument '%.*s'", line, (int)klen, w);
	}
	return 0;
}

/* Which arguments each action takes, checked after the line is read. */
static int check_rule(const struct fp_rule *r, bool has_code, struct err *e)
{
	if (r->action == FP_FAIL && !has_code)
		return err_set(e, -1, "line %d: fail needs code=", r->line);
	if (r->action != FP_FAIL && has_code)
		return err_set(e, -1, "line %d: code= is for fail only", r->line);
	if (r->action == FP_FAIL && r->code == 0)
		return err_set(e, -1, "line %d: fail with code OK; use pass", r->line);
	if (r->message && r->action != FP_FAIL && r->action != FP_TIMEOUT)
		return err_set(e, -1, "line %d: message= is for fail and timeout only", r->line);
	if (r->action == FP_DELAY && r->delay_ms <= 0)
		return err_set(e, -1, "line %d: delay needs a duration (delay 500ms)", r->line);
	if (r->action != FP_OVERSIZE && r->bytes)
		return err_set(e, -1, "line %d: bytes= is for oversize only", r->line);
	return 0;
}

int fp_rules_parse(const char *text, struct fp_rules *out, struct err *e)
{
	struct buf w;
	size_t alloc = 0;
	const char *p = text;
	int line = 0, rc = 0;

	memset(out, 0, sizeof(*out));
	if (strlen(text) > FP_RULES_MAX_BYTES)
		return err_set(e, -1, "rules are longer than %d bytes", FP_RULES_MAX_BYTES);
	buf_init(&w, FP_RULES_MAX_BYTES);
	while (*p) {
		struct fp_rule r = { .count = -1, .code = -1 };
		bool has_code = false;
		int a, got;

		line++;
		got = next_word(&p, &w);
		if (got < 0) {
			rc = err_set(e, -1, "line %d: unterminated quote", line);
			goto out;
		}
		if (got) {
			r.line = line;
			r.method = xstrdup(w.data);
			got = next_word(&p, &w);
			a = got > 0 ? parse_action(w.data) : -1;
			if (a < 0) {
				rc = err_set(e, -1, "line %d: want METHOD ACTION, with ACTION one of "
					     "pass fail delay timeout hold drop garbage oversize",
					     line);
				free(r.method);
				goto out;
			}
			r.action = (enum fp_action)a;
			while ((got = next_word(&p, &w)) > 0) {
				if (r.action == FP_DELAY && !strchr(w.data, '=') && !r.delay_ms) {
					if (duration_parse_ms(w.data, &r.delay_ms)) {
						rc = err_set(e, -1, "line %d: '%s' is not a duration",
							     line, w.data);
						break;
					}
					continue;
				}
				if (!strncmp(w.data, "code=", 5))
					has_code = true;
				if (parse_arg(&r, w.data, line, e)) {
					rc = -1;
					break;
				}
			}
			if (!rc && got < 0)
				rc = err_set(e, -1, "line %d: unterminated quote", line);
			if (!rc)
				rc = check_rule(&r, has_code, e) ? -1 : 0;
			if (!rc && out->n == FP_RULES_MAX)
				rc = err_set(e, -1, "more than %d rules", FP_RULES_MAX);
			if (rc) {
				free(r.method);
				free(r.message);
				goto out;
			}
			if (r.action == FP_TIMEOUT)
				r.code = 4;
			if (r.action == FP_OVERSIZE && !r.bytes)
				r.bytes = FP_OVERSIZE_DEFAULT;
			out->v = xgrow(out->v, out->n + 1, &alloc, sizeof(*out->v));
			out->v[out->n++] = r;
		}
		/* Skip the comment or whatever is left, and the newline. */
		while (*p && *p != '\n')
			p++;
		if (*p == '\n')
			p++;
	}
out:
	buf_release(&w);
	if (rc)
		fp_rules_release(out);
	return rc;
}

const struct fp_rule *fp_rules_take(struct fp_rules *r, const char *method)
{
	for (size_t i = 0; i < r->n; i++) {
		struct fp_rule *x = &r->v[i];

		if (x->count == 0 || !fp_method_matches(x->method, method))
			continue;
		if (x->count > 0)
			x->count--;
		return x;
	}
	return NULL;
}

bool fp_rules_would_hold(const struct fp_rules *r, const char *method)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct fp_rule *x = &r->v[i];

		if (x->count != 0 && fp_method_matches(x->method, method))
			return x->action == FP_HOLD;
	}
	return false;
}
