/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status.h - the kube_* error codes and the API server's Status objects.
 *
 * Every fallible kube_* function returns one of enum kube_code (the kube
 * domain of the error space in base/err.h) and puts the detail in struct
 * err. A failed API call is classified from the HTTP
 * status and the Status object's `reason`, and e->msg is the server's own
 * message (`persistentvolumes "pvc-1" already exists`), so callers can show
 * it as is. This module is pure: no I/O, no locks.
 */
#ifndef KUBE_STATUS_H
#define KUBE_STATUS_H

#include <stddef.h>

#include <jansson.h>

#include "base/err.h"

enum kube_code {
	KUBE_OK = 0,
	KUBE_ERR_TRANSPORT = ERR_CODE(ERR_DOMAIN_KUBE, 1),	/* connection failed, reset, DNS, ... */
	KUBE_ERR_TLS = ERR_CODE(ERR_DOMAIN_KUBE, 2),	/* certificate verification or handshake */
	KUBE_ERR_UNAUTHORIZED = ERR_CODE(ERR_DOMAIN_KUBE, 3),	/* 401 */
	KUBE_ERR_FORBIDDEN = ERR_CODE(ERR_DOMAIN_KUBE, 4),	/* 403 */
	KUBE_ERR_NOT_FOUND = ERR_CODE(ERR_DOMAIN_KUBE, 5),	/* 404 */
	KUBE_ERR_ALREADY_EXISTS = ERR_CODE(ERR_DOMAIN_KUBE, 6),	/* 409, reason AlreadyExists */
	KUBE_ERR_CONFLICT = ERR_CODE(ERR_DOMAIN_KUBE, 7),	/* 409 otherwise (stale resourceVersion, uid precondition) */
	KUBE_ERR_GONE = ERR_CODE(ERR_DOMAIN_KUBE, 8),	/* 410: resourceVersion too old, relist */
	KUBE_ERR_INVALID = ERR_CODE(ERR_DOMAIN_KUBE, 9),	/* 400, 422, or bad input before any request */
	KUBE_ERR_THROTTLED = ERR_CODE(ERR_DOMAIN_KUBE, 10),	/* 429 after our retries */
	KUBE_ERR_TIMEOUT = ERR_CODE(ERR_DOMAIN_KUBE, 11),	/* 408, 504, reason Timeout/ServerTimeout, or ours */
	KUBE_ERR_SERVER = ERR_CODE(ERR_DOMAIN_KUBE, 12),	/* other 5xx */
	KUBE_ERR_DECODE = ERR_CODE(ERR_DOMAIN_KUBE, 13),	/* a response or object did not have the expected shape */
	KUBE_ERR_TOO_LARGE = ERR_CODE(ERR_DOMAIN_KUBE, 14),	/* a size cap was hit (body, line, file), or 413 */
	KUBE_ERR_CANCELLED = ERR_CODE(ERR_DOMAIN_KUBE, 15),	/* the caller's stop flag was raised */
	KUBE_ERR_OTHER = ERR_CODE(ERR_DOMAIN_KUBE, 16),
};

/* "KUBE_ERR_NOT_FOUND" style name for logs; "unknown" for codes of other domains. */
const char *kube_code_name(int code);

/* Classify an HTTP status with the Status reason (may be NULL). */
int kube_code_from_http(long http_status, const char *reason);

/*
 * Turn an error response into a code and message. `body` (len bytes, may
 * be NULL) is a Status object when the API server produced it; the
 * message falls back to "<verb> <path>: HTTP <n>" plus a short excerpt of
 * a non-Status body. Returns the code it set in `e`.
 */
int kube_status_error(long http_status, const char *body, size_t len,
		      const char *verb, const char *path, struct err *e);

/*
 * Same, for a Status object already decoded (a watch ERROR event). A
 * missing `code` field counts as 500. Returns the code it set in `e`.
 */
int kube_status_error_json(json_t *status, const char *what, struct err *e);

#endif
