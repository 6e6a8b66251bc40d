/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_json.h - JSON written in a test, parsed or the test fails (include
 * after cmocka.h). For tests that build objects as the API server sends them.
 */
#ifndef TEST_COMMON_TEST_JSON_H
#define TEST_COMMON_TEST_JSON_H

#include <jansson.h>

/* The parsed value (caller json_decrefs); a bad literal fails the test. */
static inline json_t *test_json(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);

	if (!j)
		fail_msg("bad test JSON: %s: %s", je.text, s);
	return j;
}

#endif
