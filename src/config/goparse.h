/* SPDX-License-Identifier: Apache-2.0 */
/*
 * goparse.h - flag values written the way Go programs read them.
 *
 * Operators copy arguments from manifests made for the upstream (Go)
 * sidecar, so values follow Go's strconv and time rules: booleans are
 * strconv.ParseBool's twelve spellings, integers take Go literal syntax
 * (0x1f, 0o17, 017, 0b101, 1_000), durations are time.ParseDuration's
 * ("1h30m", "1.5s", "300ms", "-2s", "0"). One extension is kept from this
 * project's own flag syntax: a bare number without a unit is seconds.
 *
 * Every function returns 0 and writes *out, or -1 and leaves *out alone.
 * None allocates.
 */
#ifndef CONFIG_GOPARSE_H
#define CONFIG_GOPARSE_H

#include <stdbool.h>
#include <stdint.h>

/* 1 t T TRUE true True / 0 f F FALSE false False */
int goparse_bool(const char *s, bool *out);

/* strconv.ParseInt(s, 0, 64): optional sign, base prefix, underscores. */
int goparse_int(const char *s, int64_t *out);

/* strconv.ParseUint(s, 0, 64), limited to INT64_MAX. */
int goparse_uint(const char *s, int64_t *out);

/* A finite decimal or hex float ("1", "0.5", "1e3", "0x1p-2"). */
int goparse_float(const char *s, double *out);

/*
 * time.ParseDuration, in milliseconds rounded away from zero (so "1ns" is
 * 1ms, never 0), plus bare seconds ("30", "1.5"). Negative values parse;
 * callers that need a positive duration check the sign.
 */
int goparse_duration_ms(const char *s, int64_t *out);

#endif
