/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.h - the one error space and the error context every fallible
 * function fills.
 *
 * A fallible function returns 0 on success or a non-zero code, and when it
 * fails it describes the failure in a struct err supplied by the caller.
 * Like curl's CURLcode there is a single space of codes: every code names
 * its domain (the module that defines it) in its high bits and the
 * failure in its low 8 bits, so a code means one thing wherever it is
 * seen. KUBE_ERR_NOT_FOUND (kube/status.h) and CSI_NOT_FOUND
 * (csi/client.h) are different numbers and never compare equal; a caller
 * may test a code from any module against any name without first asking
 * which module set it. 0 is success in every domain.
 *
 *	domain		defined in		codes
 *	ERR_DOMAIN_BASE	this header		ERR_INVALID, ERR_FAILED, ERR_TIMEOUT,
 *						ERR_STOPPED
 *	ERR_DOMAIN_SYS	this header		ERR_SYS(errno): an OS call failed
 *	ERR_DOMAIN_KUBE	kube/status.h		KUBE_ERR_* (HTTP/Status classes)
 *	ERR_DOMAIN_CSI	csi/client.h		CSI_* (the gRPC status), CSI_ERR_LOCAL
 *	ERR_DOMAIN_JOURNAL journal/journal.h	JOURNAL_ERR_*
 *	ERR_DOMAIN_PROVISION provision/topology.h, intent.h: TOPO_ERR_*, INTENT_ERR_DECODE
 *
 * Callers read a failure through the accessors, never through the fields:
 * err_code(e), err_is(e, KUBE_ERR_CONFLICT), err_domain(code),
 * err_errno(e); a module adds its own where its codes carry a number from
 * outside (csi_status() gives back the gRPC status). The message is for
 * humans and logs; err_prefix adds "what we were doing: ".
 *
 *	struct err e = ERR_INIT;
 *	if (kube_get(c, path, &obj, &e))
 *		log_error("cannot read claim '%s': %s", key, err_msg(&e));
 *	err_release(&e);
 *
 * An OS failure becomes ERR_SYS(errno) with strerror's text in the message
 * (err_sys); no function that fills a struct err returns a bare -1 or a
 * raw errno.
 */
#ifndef BASE_ERR_H
#define BASE_ERR_H

#include <stdarg.h>
#include <stdbool.h>

struct err {
	int code;	/* a code of the space; 0 = none. Read it with err_code() */
	char *msg;	/* heap string or NULL; never a format string */
};

#define ERR_INIT { 0, NULL }

/* The domains; a code's domain is err_domain(code). */
enum err_domain {
	ERR_DOMAIN_BASE = 0,	/* success and the generic codes below */
	ERR_DOMAIN_SYS = 1,	/* an OS call failed; the low bits are its errno */
	ERR_DOMAIN_KUBE = 2,	/* kube/status.h */
	ERR_DOMAIN_CSI = 3,	/* csi/client.h */
	ERR_DOMAIN_JOURNAL = 4,	/* journal/journal.h */
	ERR_DOMAIN_PROVISION = 5, /* provision/topology.h, provision/intent.h */
};

#define ERR_DOMAIN_SHIFT 8
#define ERR_LOCAL_MASK ((1 << ERR_DOMAIN_SHIFT) - 1)

/* The code numbered `n` (1..255) of `domain`. */
#define ERR_CODE(domain, n) (((domain) << ERR_DOMAIN_SHIFT) | (n))

/* The generic codes, for modules without a domain of their own. */
enum err_base_code {
	ERR_OK = 0,
	ERR_INVALID = ERR_CODE(ERR_DOMAIN_BASE, 1),	/* bad input: a flag, an option, a name */
	ERR_FAILED = ERR_CODE(ERR_DOMAIN_BASE, 2),	/* failed; the message says why */
	ERR_TIMEOUT = ERR_CODE(ERR_DOMAIN_BASE, 3),	/* a wait ran past its deadline */
	ERR_STOPPED = ERR_CODE(ERR_DOMAIN_BASE, 4),	/* the caller's stop request ended it */
};

/*
 * The code of an OS failure with errno `errnum`; an errno outside 1..255
 * (none on Linux) becomes 255 so the code stays in its domain.
 */
#define ERR_SYS(errnum)							\
	ERR_CODE(ERR_DOMAIN_SYS,					\
		 (errnum) > 0 && (errnum) <= ERR_LOCAL_MASK ? (errnum) : ERR_LOCAL_MASK)

/* The domain of a code (enum err_domain); 0 for 0. */
static inline int err_domain(int code)
{
	return code > 0 ? code >> ERR_DOMAIN_SHIFT : 0;
}

/* The number of `code` inside its domain (for a domain's own tables). */
static inline int err_local(int code)
{
	return code > 0 ? code & ERR_LOCAL_MASK : 0;
}

/* The code recorded in `e`; 0 when none (or `e` is NULL). */
int err_code(const struct err *e);

/* Whether `e` holds exactly `code` (err_is(e, 0) is true for no failure). */
bool err_is(const struct err *e, int code);

/* The errno of an ERR_SYS failure in `e`; 0 for any other code. */
int err_errno(const struct err *e);

/*
 * Record a failure and return `code`, so a caller can write
 * `return err_set(e, KUBE_ERR_GONE, "watch of '%s' expired", path);`.
 * `e` may be NULL (the message is dropped). A previous message is replaced;
 * the arguments may include it (err_set(e, c, "%s", err_msg(e)) recodes).
 */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int err_setv(struct err *e, int code, const char *fmt, va_list ap);

/*
 * Record the OS failure `errnum` (an errno value): code ERR_SYS(errnum),
 * message "<fmt>: <strerror(errnum)>". Returns the code.
 */
int err_sys(struct err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend context: "what we were doing: <old message>". Returns the code. */
int err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Move the failure in `from` (code and message) into `to`, replacing what
 * `to` held, and leave `from` empty. Returns the code. `to` may be NULL
 * (`from` is then released).
 */
int err_move(struct err *to, struct err *from);

/* The message, or "" when none was set; never NULL. */
const char *err_msg(const struct err *e);

/* Free the message and reset to ERR_INIT. Accepts NULL. */
void err_release(struct err *e);

#endif
