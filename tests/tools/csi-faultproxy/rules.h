/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rules.h - csi-faultproxy's fault rules: the text format (README.md), its
 * parser, and which rule a call gets. Pure: no I/O, no locking (the proxy
 * holds its mutex around every call here).
 *
 * One rule per line: METHOD ACTION [ARG] [key=value ...]; '#' starts a
 * comment. METHOD is "*", a short name ("CreateVolume") or a full path
 * ("/csi.v1.Controller/CreateVolume"). A call takes the first rule whose
 * method matches and whose count is not used up, consuming one use; with
 * no such rule it is forwarded unchanged.
 */
#ifndef CSI_FAULTPROXY_RULES_H
#define CSI_FAULTPROXY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Largest rules file we read, and most rules in it. */
#define FP_RULES_MAX_BYTES (64 * 1024)
#define FP_RULES_MAX (256)
/* Default and largest size of an `oversize` reply. */
#define FP_OVERSIZE_DEFAULT ((size_t)4 * 1024 * 1024 + 1024)
#define FP_OVERSIZE_MAX ((size_t)64 * 1024 * 1024)

enum fp_action {
	FP_PASS,	/* forward unchanged (after `delay=`, if any) */
	FP_FAIL,	/* answer code/message, never forward */
	FP_DELAY,	/* wait, then forward */
	FP_TIMEOUT,	/* forward, then answer DEADLINE_EXCEEDED whatever the driver said */
	FP_HOLD,	/* do not forward until released or the caller gives up */
	FP_DROP,	/* close every client connection to the proxy */
	FP_GARBAGE,	/* answer OK with bytes that are not a protobuf message */
	FP_OVERSIZE,	/* answer OK with a valid message of `bytes` bytes */
};

struct fp_rule {
	char *method;		/* owned; "*", short name or full path */
	enum fp_action action;
	int code;		/* fail: the status; timeout: DEADLINE_EXCEEDED */
	char *message;		/* owned; NULL = the default for the action */
	int64_t delay_ms;	/* waited before the action; 0 = none */
	long count;		/* uses left; -1 = unlimited */
	size_t bytes;		/* oversize: reply size */
	int line;		/* in the rules file, for the record */
};

struct fp_rules {
	struct fp_rule *v;
	size_t n;
};

/*
 * Parse the whole text (NUL-terminated, borrowed). On success *out holds
 * the rules (caller releases with fp_rules_release); on failure *out is
 * empty and e says which line is wrong and why (return -1).
 */
int fp_rules_parse(const char *text, struct fp_rules *out, struct err *e);

/* Free the contents and zero. Accepts NULL. */
void fp_rules_release(struct fp_rules *r);

/* "CreateVolume", "/csi.v1.Controller/CreateVolume" or "*" against a full path. */
bool fp_method_matches(const char *pattern, const char *method);

/*
 * The rule for the next call of `method` (a full path), with one use
 * consumed, or NULL (forward unchanged). Borrowed from r until r changes.
 */
const struct fp_rule *fp_rules_take(struct fp_rules *r, const char *method);

/* Whether a call of `method` taken now would be held (nothing consumed). */
bool fp_rules_would_hold(const struct fp_rules *r, const char *method);

/* "pass", "fail", ...; a static string. */
const char *fp_action_name(enum fp_action a);

/* A gRPC code from "13", "INTERNAL", "Internal" or "internal"; -1 if none. */
int fp_code_parse(const char *s);

#endif
