/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gates.h - --feature-gates, with upstream's gates and defaults.
 *
 * The value is "Name=bool,Name=bool" (booleans as Go writes them; blanks
 * around names and values are ignored); the flag may be given several
 * times and later settings win, as with upstream's flag. The known gates
 * are upstream's own four plus every gate its binary registers through
 * the Kubernetes libraries it links (apiserver, zpages, metrics); those
 * are accepted so a manifest that sets one still starts, but they change
 * nothing here. AllAlpha / AllBeta switch every alpha / beta gate that
 * was not set by name. An unknown gate, or a gate locked to its default
 * set to the other value, is an error, as upstream.
 */
#ifndef CONFIG_GATES_H
#define CONFIG_GATES_H

#include <stdbool.h>

#include "base/err.h"

/* The gates that change what we do; see README "Feature gates". */
struct config_gates {
	bool topology;				/* Topology (GA, default true) */
	bool volume_attributes_class;		/* VolumeAttributesClass (GA, true) */
	bool cross_namespace_volume_data_source; /* CrossNamespaceVolumeDataSource (alpha, false) */
	bool release_leader_election_on_exit;	/* ReleaseLeaderElectionOnExit (alpha, false) */
	/* Set by name on the command line (upstream's ExplicitlySet). */
	bool volume_attributes_class_set;
	bool release_leader_election_on_exit_set;
};

/* What the operator wrote so far; gates_finish turns it into config_gates. */
struct gates_input {
	signed char *state;	/* per known gate: -1 unset, 0 false, 1 true */
	signed char all_alpha, all_beta;
};

void gates_input_init(struct gates_input *in);
void gates_input_release(struct gates_input *in);

/* Apply one --feature-gates value. Returns 0, or -1 with a message in e. */
int gates_parse(struct gates_input *in, const char *value, struct err *e);

/*
 * Resolve defaults, AllAlpha and AllBeta into g. For each gate set by name
 * that is GA or deprecated, `note` is called with upstream's warning text
 * (the caller logs it once logging is set up).
 */
void gates_finish(const struct gates_input *in, struct config_gates *g,
		  void (*note)(void *ctx, const char *msg), void *ctx);

/* "Name=true,Name=false,..." of every known gate: for --help. Caller frees. */
char *gates_describe(void);

#endif
