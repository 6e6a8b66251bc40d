// SPDX-License-Identifier: Apache-2.0
/*
 * pbjson.c - descriptor-driven protobuf-c message -> JSON (see pbjson.h).
 *
 * protobuf-c lays a message out as a C struct; each field descriptor gives
 * the member's offset, and for repeated fields (the count) or optional
 * scalars (has_ flag) or oneof members (the case) a quantifier offset. We
 * read members through those offsets only, so any generated message works.
 */
#include "pbjson.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define REDACTED "<redacted>"

static int put(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

int pbjson_string(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (put(b, "\""))
		return -1;
	while (i < n) {
		unsigned char c = p[i];
		size_t len;
		int rc;

		if (c == '"')
			rc = put(b, "\\\"");
		else if (c == '\\')
			rc = put(b, "\\\\");
		else if (c == '\n')
			rc = put(b, "\\n");
		else if (c == '\t')
			rc = put(b, "\\t");
		else if (c == '\r')
			rc = put(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			rc = buf_appendf(b, "\\u%04x", c);
		else if (c < 0x80)
			rc = buf_append(b, &p[i], 1);
		else if ((len = utf8_len(&p[i], n - i))) {
			rc = buf_append(b, &p[i], len);
			i += len - 1;
		} else {
			rc = put(b, "\\ufffd");
		}
		if (rc)
			return -1;
		i++;
	}
	return put(b, "\"");
}

static int put_base64(struct buf *b, const uint8_t *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];

	if (put(b, "\""))
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		if (buf_append(b, q, 4))
			return -1;
	}
	return put(b, "\"");
}

static bool is_secret_field(const char *name)
{
	size_t n = strlen(name);

	return !strcmp(name, "secrets") || (n > 8 && !strcmp(name + n - 8, "_secrets"));
}

/* Size of one element of a repeated field of type t. */
static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

static int put_message(struct buf *b, const ProtobufCMessage *msg, int depth);

static int put_double(struct buf *b, double d)
{
	if (isnan(d))
		return put(b, "\"NaN\"");
	if (isinf(d))
		return put(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	return buf_appendf(b, "%.17g", d);
}

/* One value of field f stored at p. */
static int put_value(struct buf *b, const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		return buf_appendf(b, "%" PRId32, *(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		return buf_appendf(b, "%" PRIu32, *(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
		return buf_appendf(b, "%" PRId64, *(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return buf_appendf(b, "%" PRIu64, *(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return put_double(b, *(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return put_double(b, *(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return put(b, *(const protobuf_c_boolean *)p ? "true" : "false");
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, v);

		if (ev)
			return pbjson_string(b, ev->name, strlen(ev->name));
		return buf_appendf(b, "%d", v);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		return s ? pbjson_string(b, s, strlen(s)) : put(b, "\"\"");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *d = p;

		return put_base64(b, d->data, d->len);
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;

		return m ? put_message(b, m, depth + 1) : put(b, "null");
	}
	}
	return put(b, "null");
}

/* protobuf-c has no map flag: a map is a repeated "...Entry" message {key=1, value=2}. */
static bool is_map(const ProtobufCFieldDescriptor *f)
{
	const ProtobufCMessageDescriptor *d = f->descriptor;
	size_t n;

	if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE || !d)
		return false;
	n = strlen(d->name);
	return d->n_fields == 2 && n > 5 && !strcmp(d->name + n - 5, "Entry") &&
	       !strcmp(d->fields[0].name, "key") && d->fields[0].id == 1 &&
	       !strcmp(d->fields[1].name, "value") && d->fields[1].id == 2;
}

static int put_map(struct buf *b, const ProtobufCFieldDescriptor *f, size_t n,
		   ProtobufCMessage *const *entries, bool redact, int depth)
{
	const ProtobufCMessageDescriptor *d = f->descriptor;
	const ProtobufCFieldDescriptor *kf = &d->fields[0], *vf = &d->fields[1];

	if (put(b, "{"))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *e = (const char *)entries[i];
		int rc;

		if (i && put(b, ","))
			return -1;
		if (kf->type == PROTOBUF_C_TYPE_STRING) {
			rc = put_value(b, kf, e + kf->offset, depth);
		} else {
			/* JSON keys are strings: quote the number. */
			rc = put(b, "\"") || put_value(b, kf, e + kf->offset, depth) ||
			     put(b, "\"");
		}
		if (rc || put(b, ":"))
			return -1;
		rc = redact ? put(b, "\"" REDACTED "\"") : put_value(b, vf, e + vf->offset, depth);
		if (rc)
			return -1;
	}
	return put(b, "}");
}

/* Whether an unrepeated field is present, by protobuf-c's rules for its label. */
static bool present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)msg;
	const void *p = base + f->offset;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(ProtobufCMessage *const *)p != NULL;
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		const char *s = *(char *const *)p;

		if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
			return s && s != f->default_value;
		return s && *s;
	}
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	/* proto3 singular scalar: present when not zero. */
	switch (f->type) {
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len > 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)p != 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)p != 0;
	default: {
		static const uint8_t zero[8];
		size_t n = elem_size(f->type);

		return n && memcmp(p, zero, n) != 0;
	}
	}
}

static int put_message(struct buf *b, const ProtobufCMessage *msg, int depth)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	const char *base = (const char *)msg;
	bool first = true;

	if (depth > PBJSON_MAX_DEPTH)
		return put(b, "\"<too deep>\"");
	if (put(b, "{"))
		return -1;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		bool secret = is_secret_field(f->name);
		int rc;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)(base + f->offset);

			if (!n)
				continue;
			if ((!first && put(b, ",")) || pbjson_string(b, f->name, strlen(f->name)) ||
			    put(b, ":"))
				return -1;
			first = false;
			if (is_map(f)) {
				rc = put_map(b, f, n, (ProtobufCMessage *const *)arr, secret, depth);
			} else if (secret) {
				rc = put(b, "\"" REDACTED "\"");
			} else {
				rc = put(b, "[");
				for (size_t k = 0; !rc && k < n; k++)
					rc = (k && put(b, ",")) ||
					     put_value(b, f, arr + k * elem_size(f->type), depth);
				rc = rc || put(b, "]");
			}
			if (rc)
				return -1;
			continue;
		}
		if (!present(msg, f))
			continue;
		if ((!first && put(b, ",")) || pbjson_string(b, f->name, strlen(f->name)) ||
		    put(b, ":"))
			return -1;
		first = false;
		rc = secret ? put(b, "\"" REDACTED "\"") : put_value(b, f, base + f->offset, depth);
		if (rc)
			return -1;
	}
	if (msg->n_unknown_fields) {
		if ((!first && put(b, ",")) || put(b, "\"_unknown_fields\":["))
			return -1;
		for (unsigned i = 0; i < msg->n_unknown_fields; i++)
			if ((i && put(b, ",")) ||
			    buf_appendf(b, "%" PRIu32, msg->unknown_fields[i].tag))
				return -1;
		if (put(b, "]"))
			return -1;
	}
	return put(b, "}");
}

int pbjson_message(struct buf *b, const ProtobufCMessage *msg)
{
	return put_message(b, msg, 0);
}
