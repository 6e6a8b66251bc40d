/* SPDX-License-Identifier: Apache-2.0 */
/*
 * journal_fixture.h - the fixture the journal's unit tests share: a fake
 * API server (fake_configmaps.h) for namespace JFX_NS, a client of it, and
 * journal options for holder "a" (shards "journal-<n>", label "test"; lazy
 * removals after a minute, so tests decide when they are written).
 * jfx_setup/jfx_teardown are cmocka's setup and teardown; *state is a
 * struct jfx.
 */
#ifndef JOURNAL_FIXTURE_H
#define JOURNAL_FIXTURE_H

#include "journal/journal.h"

#define JFX_NS "prov"

struct jfx {
	struct fcm *fake;
	struct kube_client *client;
	struct journal *j;	/* jfx_load's; freed by jfx_teardown */
	struct journal_opts o;
};

int jfx_setup(void **state);
int jfx_teardown(void **state);
/* Create and load fx->j with fx->o; a failure fails the test. */
void jfx_load(struct jfx *fx);
/* journal_add that must succeed. */
void jfx_add_ok(struct journal *j, const char *key, const char *value);

#endif
