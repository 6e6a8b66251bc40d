// SPDX-License-Identifier: Apache-2.0
/*
 * status.c - kube_* error codes and Status decoding (see status.h).
 */
#include "kube/status.h"

#include <string.h>

/* How much of a non-Status error body to quote in a message. */
#define EXCERPT_MAX 200

static const char *const names[] = {
	[KUBE_OK & ERR_LOCAL_MASK] = "KUBE_OK",
	[KUBE_ERR_TRANSPORT & ERR_LOCAL_MASK] = "KUBE_ERR_TRANSPORT",
	[KUBE_ERR_TLS & ERR_LOCAL_MASK] = "KUBE_ERR_TLS",
	[KUBE_ERR_UNAUTHORIZED & ERR_LOCAL_MASK] = "KUBE_ERR_UNAUTHORIZED",
	[KUBE_ERR_FORBIDDEN & ERR_LOCAL_MASK] = "KUBE_ERR_FORBIDDEN",
	[KUBE_ERR_NOT_FOUND & ERR_LOCAL_MASK] = "KUBE_ERR_NOT_FOUND",
	[KUBE_ERR_ALREADY_EXISTS & ERR_LOCAL_MASK] = "KUBE_ERR_ALREADY_EXISTS",
	[KUBE_ERR_CONFLICT & ERR_LOCAL_MASK] = "KUBE_ERR_CONFLICT",
	[KUBE_ERR_GONE & ERR_LOCAL_MASK] = "KUBE_ERR_GONE",
	[KUBE_ERR_INVALID & ERR_LOCAL_MASK] = "KUBE_ERR_INVALID",
	[KUBE_ERR_THROTTLED & ERR_LOCAL_MASK] = "KUBE_ERR_THROTTLED",
	[KUBE_ERR_TIMEOUT & ERR_LOCAL_MASK] = "KUBE_ERR_TIMEOUT",
	[KUBE_ERR_SERVER & ERR_LOCAL_MASK] = "KUBE_ERR_SERVER",
	[KUBE_ERR_DECODE & ERR_LOCAL_MASK] = "KUBE_ERR_DECODE",
	[KUBE_ERR_TOO_LARGE & ERR_LOCAL_MASK] = "KUBE_ERR_TOO_LARGE",
	[KUBE_ERR_CANCELLED & ERR_LOCAL_MASK] = "KUBE_ERR_CANCELLED",
	[KUBE_ERR_OTHER & ERR_LOCAL_MASK] = "KUBE_ERR_OTHER",
};

const char *kube_code_name(int code)
{
	size_t i = (size_t)err_local(code);

	if (code && err_domain(code) != ERR_DOMAIN_KUBE)
		return "unknown";
	if (i >= sizeof(names) / sizeof(names[0]) || !names[i])
		return "unknown";
	return names[i];
}

int kube_code_from_http(long status, const char *reason)
{
	if (reason) {
		/* The reason is more precise than the status where both exist. */
		if (!strcmp(reason, "AlreadyExists"))
			return KUBE_ERR_ALREADY_EXISTS;
		if (!strcmp(reason, "Conflict"))
			return KUBE_ERR_CONFLICT;
		if (!strcmp(reason, "Expired") || !strcmp(reason, "Gone"))
			return KUBE_ERR_GONE;
		if (!strcmp(reason, "Timeout") || !strcmp(reason, "ServerTimeout"))
			return KUBE_ERR_TIMEOUT;
		if (!strcmp(reason, "TooManyRequests"))
			return KUBE_ERR_THROTTLED;
		if (!strcmp(reason, "RequestEntityTooLarge"))
			return KUBE_ERR_TOO_LARGE;
	}
	switch (status) {
	case 200: case 201: case 202: case 204:
		return KUBE_OK;
	case 400: case 422:
		return KUBE_ERR_INVALID;
	case 401:
		return KUBE_ERR_UNAUTHORIZED;
	case 403:
		return KUBE_ERR_FORBIDDEN;
	case 404:
		return KUBE_ERR_NOT_FOUND;
	case 408: case 504:
		return KUBE_ERR_TIMEOUT;
	case 409:
		return KUBE_ERR_CONFLICT;
	case 410:
		return KUBE_ERR_GONE;
	case 413:
		return KUBE_ERR_TOO_LARGE;
	case 429:
		return KUBE_ERR_THROTTLED;
	}
	if (status >= 500 && status <= 599)
		return KUBE_ERR_SERVER;
	return KUBE_ERR_OTHER;
}

static const char *str_field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int kube_status_error_json(json_t *st, const char *what, struct err *e)
{
	json_t *c = json_object_get(st, "code");
	long status = json_is_integer(c) ? (long)json_integer_value(c) : 500;
	const char *reason = str_field(st, "reason");
	const char *msg = str_field(st, "message");
	int code = kube_code_from_http(status, reason);

	if (code == KUBE_OK)
		code = KUBE_ERR_OTHER;
	if (msg && *msg)
		return err_set(e, code, "%s", msg);
	return err_set(e, code, "%s: HTTP %ld%s%s", what, status,
		       reason ? " " : "", reason ? reason : "");
}

int kube_status_error(long status, const char *body, size_t len,
		      const char *verb, const char *path, struct err *e)
{
	json_t *st = NULL;
	const char *kind;
	int code;

	if (body && len)
		st = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	kind = str_field(st, "kind");
	if (st && kind && !strcmp(kind, "Status")) {
		const char *reason = str_field(st, "reason");
		const char *msg = str_field(st, "message");

		code = kube_code_from_http(status, reason);
		if (code == KUBE_OK)
			code = KUBE_ERR_OTHER;
		if (msg && *msg)
			err_set(e, code, "%s", msg);
		else
			err_set(e, code, "%s %s: HTTP %ld%s%s", verb, path, status,
				reason ? " " : "", reason ? reason : "");
		json_decref(st);
		return code;
	}
	json_decref(st);
	code = kube_code_from_http(status, NULL);
	if (code == KUBE_OK)
		code = KUBE_ERR_OTHER;
	if (body && len) {
		int n = len > EXCERPT_MAX ? EXCERPT_MAX : (int)len;

		/* Trim a trailing newline so the message stays on one line. */
		while (n > 0 && (body[n - 1] == '\n' || body[n - 1] == '\r'))
			n--;
		return err_set(e, code, "%s %s: HTTP %ld: %.*s%s", verb, path, status,
			       n, body, (size_t)n < len && len > EXCERPT_MAX ? "..." : "");
	}
	return err_set(e, code, "%s %s: HTTP %ld", verb, path, status);
}
