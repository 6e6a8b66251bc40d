/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.h - the error context every fallible function fills.
 *
 * A fallible function returns 0 on success or a non-zero code, and when it
 * fails it describes the failure in a struct err supplied by the caller.
 * The code's meaning belongs to the module that set it (a gRPC status for
 * csi_*, an enum kube_code for kube_*); the message is for humans and logs.
 *
 *	struct err e = ERR_INIT;
 *	if (kube_get(c, path, &obj, &e))
 *		log_error("cannot read claim '%s': %s", key, e.msg);
 *	err_release(&e);
 */
#ifndef BASE_ERR_H
#define BASE_ERR_H

#include <stdarg.h>

struct err {
	int code;	/* module-defined, 0 = none */
	char *msg;	/* heap string or NULL; never a format string */
};

#define ERR_INIT { 0, NULL }

/*
 * Record a failure and return `code`, so a caller can write
 * `return err_set(e, KUBE_ERR_GONE, "watch of '%s' expired", path);`.
 * `e` may be NULL (the message is dropped). A previous message is replaced.
 */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int err_setv(struct err *e, int code, const char *fmt, va_list ap);

/* Prepend context: "what we were doing: <old message>". Returns e->code. */
int err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The message, or "" when none was set; never NULL. */
const char *err_msg(const struct err *e);

/* Free the message and reset to ERR_INIT. Accepts NULL. */
void err_release(struct err *e);

#endif
