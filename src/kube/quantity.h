/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quantity.h - Kubernetes resource quantities ("10Gi", "1.5e3", "500M") as
 * whole bytes.
 *
 * The grammar is resource.Quantity's: an optional sign, digits with an
 * optional decimal point, then one suffix: binary (Ki Mi Gi Ti Pi Ei),
 * decimal (n u m "" k M G T P E) or a decimal exponent (e3, E-2, e+1).
 * Arithmetic is exact (no floating point). A storage request is a byte
 * count, so the value is rounded up, away from zero, to an integer:
 * "1.5Ki" is 1536, "0.1" is 1, "100m" is 1.
 */
#ifndef KUBE_QUANTITY_H
#define KUBE_QUANTITY_H

#include <stdint.h>

#include "base/err.h"

/* Longest quantity string accepted; longer input is an error. */
#define KUBE_QUANTITY_MAX_LEN 128

/*
 * Parse `s` into *value (bytes, rounded up away from zero). Negative
 * quantities parse ("-1" gives -1); callers that need a size reject them.
 * Fails with KUBE_ERR_INVALID, quoting `s`, on malformed input or when the
 * magnitude does not fit in an int64 (upstream silently caps instead).
 * *value is untouched on failure.
 */
int kube_quantity_parse(const char *s, int64_t *value, struct err *e);

/*
 * Format `v` bytes the way Kubernetes prints a BinarySI quantity in
 * canonical form: a multiple of 1024 takes the largest binary suffix that
 * keeps it whole (10737418240 is "10Gi", 1536 stays "1536"); a magnitude
 * below 1024 is printed in DecimalSI instead (1000 is "1k", 100 is "100").
 * Caller frees the result with free().
 */
char *kube_quantity_format_bytes(int64_t v);

#endif
