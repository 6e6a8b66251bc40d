/* SPDX-License-Identifier: Apache-2.0 */
/* mig_test.h - what the migration unit tests share: JSON test data. */
#ifndef MIG_TEST_H
#define MIG_TEST_H

#include <jansson.h>

/* Parse test JSON; a typo in a table fails the test with jansson's message. */
static inline json_t *parse(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	if (!j)
		fail_msg("bad test JSON: %s: %s", je.text, text);
	return j;
}

#endif
