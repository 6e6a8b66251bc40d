/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pbjson.h - any protobuf-c message as one line of JSON, driven only by its
 * descriptor, for csi-faultproxy's record of what the driver was asked.
 *
 * The shape is close to the proto3 JSON mapping, but keeps the .proto field
 * names (snake_case) so jq filters read like the spec: fields at their
 * default value are left out (proto3 has no presence for them), a oneof
 * member or a message field appears when set, int64 values are JSON
 * numbers, enums are their value names (the number when unknown), bytes are
 * base64, map fields are JSON objects, and unknown fields are listed by
 * number under "_unknown_fields".
 *
 * Secrets: every map field named "secrets" or ending in "_secrets" keeps its
 * keys but each value becomes "<redacted>"; a non-map field so named is
 * replaced whole. Nothing else is redacted.
 *
 * Strings that are not valid UTF-8 are written with U+FFFD in place of each
 * bad byte, so every line parses.
 */
#ifndef CSI_FAULTPROXY_PBJSON_H
#define CSI_FAULTPROXY_PBJSON_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "base/buf.h"

/* Deepest nesting written; deeper messages become the string "<too deep>". */
#define PBJSON_MAX_DEPTH 32

/*
 * Append `msg` (borrowed) to b as a JSON object. Returns 0, or -1 when b's
 * cap was reached (b then holds a truncated prefix; the caller resets it).
 */
int pbjson_message(struct buf *b, const ProtobufCMessage *msg);

/* Append s[0..n) as a JSON string literal. Returns 0 or -1 (cap). */
int pbjson_string(struct buf *b, const char *s, size_t n);

#endif
