/* SPDX-License-Identifier: Apache-2.0 */
/*
 * permissions.h - every API permission the daemon uses, as one table:
 * preflight asks a SelfSubjectAccessReview for each row; the unit test
 * tests/unit/cli/test_cli.c keeps the table equal to deploy/rbac.yaml
 * (which tests/e2e/rbac-audit keeps equal to what the daemon does).
 */
#ifndef CLI_PERMISSIONS_H
#define CLI_PERMISSIONS_H

#include <stddef.h>

/* When the daemon needs a permission. */
enum perm_need {
	PERM_ALWAYS,
	PERM_TOPOLOGY,		/* driver has VOLUME_ACCESSIBILITY_CONSTRAINTS, gate Topology on */
	PERM_ATTACH,		/* driver has PUBLISH_UNPUBLISH_VOLUME */
	PERM_SNAPSHOT,		/* driver has CREATE_DELETE_SNAPSHOT */
	PERM_VAC,		/* gate VolumeAttributesClass on, driver has MODIFY_VOLUME */
	PERM_JOURNAL,		/* --volume-accounting (the default) */
	PERM_LEADER,		/* --leader-election */
	PERM_LEASES,		/* --volume-accounting or --leader-election */
	PERM_ADOPT,		/* never required: adopt an older version's ConfigMap journal */
	PERM_XNS,		/* gate CrossNamespaceVolumeDataSource on */
	PERM_CAPACITY,		/* --enable-capacity (in $NAMESPACE; asked in our own) */
};

struct perm {
	const char *group;	/* "" = core */
	const char *resource;
	const char *verb;
	enum perm_need need;
	int in_own_namespace;	/* asked in the provisioner's namespace (journal, leader Lease) */
	const char *use;	/* what the daemon does with it */
};

/* The table; *n gets its length. */
const struct perm *perm_table(size_t *n);

#endif
