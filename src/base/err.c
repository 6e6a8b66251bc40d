// SPDX-License-Identifier: Apache-2.0
/* err.c - the error context (see err.h). */
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/xalloc.h"

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
