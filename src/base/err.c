// SPDX-License-Identifier: Apache-2.0
/* err.c - the error space and the error context (see err.h). */
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

int err_code(const struct err *e)
{
	return e ? e->code : 0;
}

bool err_is(const struct err *e, int code)
{
	return err_code(e) == code;
}

int err_errno(const struct err *e)
{
	int code = err_code(e);

	return err_domain(code) == ERR_DOMAIN_SYS ? err_local(code) : 0;
}

int err_setv(struct err *e, int code, const char *fmt, va_list ap)
{
	char *msg;

	if (!e)
		return code;
	/* format first: the arguments may include the old message */
	msg = xvasprintf(fmt, ap);
	free(e->msg);
	e->msg = msg;
	e->code = code;
	return code;
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_setv(e, code, fmt, ap);
	va_end(ap);
	return code;
}

int err_sys(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	char *what;
	int code = ERR_SYS(errnum);

	if (!e)
		return code;
	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	err_set(e, code, "%s: %s", what, strerror(errnum));
	free(what);
	return code;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
	va_list ap;
	char *prefix, *joined;

	if (!e)
		return 0;
	va_start(ap, fmt);
	prefix = xvasprintf(fmt, ap);
	va_end(ap);
	joined = xasprintf("%s: %s", prefix, err_msg(e));
	free(prefix);
	free(e->msg);
	e->msg = joined;
	return e->code;
}

int err_move(struct err *to, struct err *from)
{
	int code = err_code(from);

	if (!to) {
		err_release(from);
		return code;
	}
	if (to == from)
		return code;
	free(to->msg);
	to->code = code;
	to->msg = from ? from->msg : NULL;
	if (from) {
		from->msg = NULL;
		from->code = 0;
	}
	return code;
}

const char *err_msg(const struct err *e)
{
	return e && e->msg ? e->msg : "";
}

void err_release(struct err *e)
{
	if (!e)
		return;
	free(e->msg);
	e->msg = NULL;
	e->code = 0;
}
