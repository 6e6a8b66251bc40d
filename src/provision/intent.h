/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intent.h - the record kept in the journal (src/journal) for each volume we
 * may have asked the driver to create: which claim it is for, and the exact
 * CreateVolume request, so that the request can be repeated later even when
 * the claim, its class, its data source or its selected node are gone.
 *
 * A record holds no secret value: only the reference (namespace/name) of
 * the provisioner secret, fetched again whenever the request is repeated.
 * Records are compact JSON with sorted keys, so two encodings of the same
 * request compare equal as strings:
 *
 *   {"v":1,"claim":{"namespace":..,"name":..,"uid":..},"class":..,
 *    "secret":{"namespace":..,"name":..},
 *    "req":{"name":..,"required":N,"limit":N,"caps":[{"block":b,"fs":..,
 *           "flags":[..],"group":..,"mode":N}],"params":{..},"mutable":{..},
 *           "source_volume":..,"source_snapshot":..,
 *           "requisite":[{..}],"preferred":[{..}]}}
 *
 * Decoding treats the record as outside input (an operator may edit the
 * Lease): types and sizes are checked and a bad record is an error.
 */
#ifndef PROVISION_INTENT_H
#define PROVISION_INTENT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "csi/client.h"

/* Whose volume: the claim at the time of the request. Borrowed strings. */
struct intent_owner {
	const char *claim_namespace, *claim_name, *claim_uid;
	const char *class_name;
	const char *secret_namespace, *secret_name;	/* NULL = no provisioner secret */
};

/*
 * Encode owner and request (its secrets are left out). Caller frees.
 * Never fails for a request the CSI client could send.
 */
char *intent_encode(const struct intent_owner *owner, const struct csi_create_volume_req *req);

/* A decoded record; everything owned. `req` borrows from the other fields. */
struct intent {
	char *claim_namespace, *claim_name, *claim_uid, *class_name;
	char *secret_namespace, *secret_name;		/* NULL = none */
	struct csi_create_volume_req req;		/* .secrets empty */
	/* storage behind req */
	char *name, *source_volume_id, *source_snapshot_id;
	struct csi_volume_capability *caps;
	char ***mount_flags;
	struct strmap parameters, mutable_parameters;
	struct strmap *requisite, *preferred;
};

/* Decode `json` (at most INTENT_MAX_BYTES); release `out` even on failure. */
#define INTENT_MAX_BYTES (256 * 1024)
#define INTENT_ERR_DECODE ERR_CODE(ERR_DOMAIN_PROVISION, 3)	/* a malformed record */
int intent_decode(const char *json, struct intent *out, struct err *e);
void intent_release(struct intent *in);	/* accepts NULL */

/* "namespace/name" of the claim; caller frees. */
char *intent_claim_key(const struct intent *in);

#endif
