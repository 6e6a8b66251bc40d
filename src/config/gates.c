// SPDX-License-Identifier: Apache-2.0
/*
 * gates.c - --feature-gates (see gates.h).
 *
 * The table holds each gate's stage and default as upstream's binary sees
 * them (its libraries at Kubernetes 1.36). Only the first four rows have
 * an effect here.
 */
#include "config/gates.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/goparse.h"

enum stage { ALPHA, BETA, GA, DEPRECATED };

enum effect { NONE, TOPOLOGY, VAC, CROSS_NS, RELEASE_ON_EXIT };

struct gate {
	const char *name;
	enum stage stage;
	bool def;
	bool locked;		/* cannot be set to the other value */
	enum effect effect;
};

static const struct gate gates[] = {
	/* external-provisioner's own (pkg/features) */
	{ "Topology", GA, true, false, TOPOLOGY },
	{ "VolumeAttributesClass", GA, true, false, VAC },
	{ "CrossNamespaceVolumeDataSource", ALPHA, false, false, CROSS_NS },
	{ "ReleaseLeaderElectionOnExit", ALPHA, false, false, RELEASE_ON_EXIT },
	/* registered by k8s.io/apiserver, component-base zpages and metrics */
	{ "APIResponseCompression", BETA, true, false, NONE },
	{ "APIServerIdentity", BETA, true, false, NONE },
	{ "APIServerTracing", GA, true, true, NONE },
	{ "APIServingWithRoutine", ALPHA, false, false, NONE },
	{ "AggregatedDiscoveryRemoveBetaType", DEPRECATED, true, true, NONE },
	{ "AllowParsingUserUIDFromCertAuth", BETA, true, false, NONE },
	{ "AllowUnsafeMalformedObjectDeletion", ALPHA, false, false, NONE },
	{ "AnonymousAuthConfigurableEndpoints", GA, true, true, NONE },
	{ "AuthorizeWithSelectors", GA, true, true, NONE },
	{ "BtreeWatchCache", GA, true, true, NONE },
	{ "CBORServingAndStorage", ALPHA, false, false, NONE },
	{ "ComponentFlagz", BETA, true, false, NONE },
	{ "ComponentStatusz", BETA, true, false, NONE },
	{ "ConcurrentWatchObjectDecode", BETA, false, false, NONE },
	{ "ConsistentListFromCache", GA, true, true, NONE },
	{ "ConstrainedImpersonation", BETA, true, false, NONE },
	{ "CoordinatedLeaderElection", BETA, false, false, NONE },
	{ "DeclarativeValidation", GA, true, true, NONE },
	{ "DeclarativeValidationBeta", BETA, true, false, NONE },
	{ "DeclarativeValidationTakeover", DEPRECATED, false, false, NONE },
	{ "DetectCacheInconsistency", BETA, true, false, NONE },
	{ "KMSv1", DEPRECATED, false, false, NONE },
	{ "ListFromCacheSnapshot", BETA, true, false, NONE },
	{ "ManifestBasedAdmissionControlConfig", ALPHA, false, false, NONE },
	{ "MutatingAdmissionPolicy", GA, true, false, NONE },
	{ "NativeHistograms", ALPHA, false, false, NONE },
	{ "OpenAPIEnums", BETA, true, false, NONE },
	{ "RemoteRequestHeaderUID", BETA, true, false, NONE },
	{ "ResilientWatchCacheInitialization", GA, true, true, NONE },
	{ "RetryGenerateName", GA, true, true, NONE },
	{ "SeparateCacheWatchRPC", DEPRECATED, false, true, NONE },
	{ "ShardedListAndWatch", ALPHA, false, false, NONE },
	{ "SizeBasedListCostEstimate", BETA, true, false, NONE },
	{ "StorageVersionAPI", ALPHA, false, false, NONE },
	{ "StorageVersionHash", BETA, true, false, NONE },
	{ "StreamingCollectionEncodingToJSON", GA, true, true, NONE },
	{ "StreamingCollectionEncodingToProtobuf", GA, true, true, NONE },
	{ "StructuredAuthenticationConfiguration", GA, true, true, NONE },
	{ "StructuredAuthenticationConfigurationEgressSelector", BETA, true, false, NONE },
	{ "StructuredAuthenticationConfigurationJWKSMetrics", BETA, true, false, NONE },
	{ "TokenRequestServiceAccountUIDValidation", BETA, true, false, NONE },
	{ "UnauthenticatedHTTP2DOSMitigation", BETA, true, false, NONE },
	{ "UnknownVersionInteroperabilityProxy", BETA, true, false, NONE },
	{ "WatchCacheInitializationPostStartHook", BETA, true, false, NONE },
	{ "WatchList", BETA, true, false, NONE },
};

#define NGATES (sizeof(gates) / sizeof(gates[0]))

void gates_input_init(struct gates_input *in)
{
	in->state = xmalloc(NGATES);
	memset(in->state, -1, NGATES);
	in->all_alpha = in->all_beta = -1;
}

void gates_input_release(struct gates_input *in)
{
	if (!in)
		return;
	free(in->state);
	in->state = NULL;
}

/* Trim blanks (Go's TrimSpace, ASCII part) from [*a, *b). */
static void trim(const char **a, const char **b)
{
	while (*a < *b && strchr(" \t\r\n\v\f", **a))
		(*a)++;
	while (*b > *a && strchr(" \t\r\n\v\f", (*b)[-1]))
		(*b)--;
}

static int set_one(struct gates_input *in, const char *name, const char *val, struct err *e)
{
	bool v;

	if (goparse_bool(val, &v))
		return err_set(e, ERR_INVALID, "invalid value of feature gate %s: \"%s\" (want true or false)",
			       name, val);
	if (!strcmp(name, "AllAlpha")) {
		in->all_alpha = v;
		return 0;
	}
	if (!strcmp(name, "AllBeta")) {
		in->all_beta = v;
		return 0;
	}
	for (size_t i = 0; i < NGATES; i++) {
		if (strcmp(gates[i].name, name))
			continue;
		if (gates[i].locked && v != gates[i].def)
			return err_set(e, ERR_INVALID, "cannot set feature gate %s to %s, feature is locked to %s",
				       name, v ? "true" : "false", gates[i].def ? "true" : "false");
		in->state[i] = v;
		return 0;
	}
	return err_set(e, ERR_INVALID, "unrecognized feature gate: %s", name);
}

int gates_parse(struct gates_input *in, const char *value, struct err *e)
{
	const char *p = value;
	int rc;

	while (*p) {
		const char *end = strchr(p, ','), *eq, *a, *b;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char name[128], val[32];

		if (len) {
			eq = memchr(p, '=', len);
			if (!eq)
				return err_set(e, ERR_INVALID, "malformed feature gate \"%.*s\": want Name=true or "
					       "Name=false", (int)len, p);
			a = p, b = eq;
			trim(&a, &b);
			if ((size_t)(b - a) >= sizeof(name))
				return err_set(e, ERR_INVALID, "unrecognized feature gate: %.*s", (int)(b - a), a);
			memcpy(name, a, b - a);
			name[b - a] = '\0';
			a = eq + 1, b = p + len;
			trim(&a, &b);
			if ((size_t)(b - a) >= sizeof(val))
				return err_set(e, ERR_INVALID, "invalid value of feature gate %s: \"%.*s\" (want true "
					       "or false)", name, (int)(b - a), a);
			memcpy(val, a, b - a);
			val[b - a] = '\0';
			if ((rc = set_one(in, name, val, e)))
				return rc;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static bool effective(const struct gates_input *in, size_t i)
{
	if (in->state[i] >= 0)
		return in->state[i];
	if (gates[i].stage == ALPHA && in->all_alpha >= 0)
		return in->all_alpha;
	if (gates[i].stage == BETA && in->all_beta >= 0)
		return in->all_beta;
	return gates[i].def;
}

void gates_finish(const struct gates_input *in, struct config_gates *g,
		  void (*note)(void *ctx, const char *msg), void *ctx)
{
	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < NGATES; i++) {
		bool on = effective(in, i);

		if (in->state[i] >= 0 && note && (gates[i].stage == GA || gates[i].stage == DEPRECATED)) {
			char *msg = xasprintf("setting %s feature gate %s=%s: it will be removed in a "
					      "future release", gates[i].stage == GA ? "GA" : "deprecated",
					      gates[i].name, on ? "true" : "false");

			note(ctx, msg);
			free(msg);
		}
		switch (gates[i].effect) {
		case TOPOLOGY:
			g->topology = on;
			break;
		case VAC:
			g->volume_attributes_class = on;
			g->volume_attributes_class_set = in->state[i] >= 0;
			break;
		case CROSS_NS:
			g->cross_namespace_volume_data_source = on;
			break;
		case RELEASE_ON_EXIT:
			g->release_leader_election_on_exit = on;
			g->release_leader_election_on_exit_set = in->state[i] >= 0;
			break;
		case NONE:
			break;
		}
	}
}

char *gates_describe(void)
{
	static const char *const stages[] = { "ALPHA", "BETA", "GA", "DEPRECATED" };
	char *out = xstrdup("AllAlpha=true|false (ALPHA - default=false)\n"
			    "AllBeta=true|false (BETA - default=false)");

	for (size_t i = 0; i < NGATES; i++) {
		char *next = xasprintf("%s\n%s=true|false (%s - default=%s%s)%s", out, gates[i].name,
				       stages[gates[i].stage], gates[i].def ? "true" : "false",
				       gates[i].locked ? ", locked" : "",
				       gates[i].effect == NONE ? " [no effect here]" : "");

		free(out);
		out = next;
	}
	return out;
}
