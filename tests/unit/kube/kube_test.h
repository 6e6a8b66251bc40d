/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_test.h - shared bits of the kube unit tests: cmocka includes, a
 * runner that registers one named test per table row, and the summary
 * line every test program ends with ("tests: N passed, N failed").
 */
#ifndef KUBE_TEST_H
#define KUBE_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* Run `n` tests as one group and print the summary line. Exit status. */
static inline int kt_run(const char *group, const struct CMUnitTest *tests, size_t n)
{
	int failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);

	printf("tests: %zu passed, %d failed\n", n - (size_t)failed, failed);
	return failed ? 1 : 0;
}

/* Assert that `hay` contains `needle`, showing both on failure. */
#define assert_contains(hay, needle) do {					\
	const char *h_ = (hay), *n_ = (needle);					\
	if (!h_ || !strstr(h_, n_))						\
		fail_msg("'%s' does not contain '%s'", h_ ? h_ : "(null)", n_);	\
} while (0)

/* A fresh temporary directory per test (setup/teardown), for file-based tests. */
struct tmp {
	char dir[64];
};

static inline int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/kube-test-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	*state = t;
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("KUBE_SA_DIR");
	return 0;
}

static inline int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[96];
	int rc;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	rc = system(cmd);
	free(t);
	return rc == 0 ? 0 : -1;
}

/* Write `text` to dir/name (mode 0700: it may be a script); returns the path (caller frees). */
static inline char *tmp_put(struct tmp *t, const char *name, const char *text)
{
	size_t n = strlen(t->dir) + strlen(name) + 2;
	char *path = malloc(n);
	FILE *f;

	assert_non_null(path);
	snprintf(path, n, "%s/%s", t->dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0700);
	return path;
}

#endif
