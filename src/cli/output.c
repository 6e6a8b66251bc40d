// SPDX-License-Identifier: Apache-2.0
/*
 * output.c - output helpers of the read-only commands (see cli_int.h): the
 * reports are JSON objects; -o json prints them as they are, the text
 * renderings print them with every outside string escaped.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "base/xalloc.h"
#include "cli/cli_int.h"

const char *out_str(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

void out_safe(FILE *out, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
		if (*p == '\n')
			fputs("\\n", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
}

void out_field(FILE *out, int width, const char *label, const char *value)
{
	fprintf(out, "  %-*s ", width, label);
	out_safe(out, value);
	fputc('\n', out);
}

void out_blocker(json_t *blockers, const char *cause, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	json_array_append_new(blockers, json_pack("{s:s, s:s}", "cause", cause, "message", msg));
	free(msg);
}

void out_json(FILE *out, const json_t *report)
{
	json_dumpf(report, out, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	fputc('\n', out);
}
