// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_kubeconfig.c - libFuzzer target for the kubeconfig reader (YAML via
 * libyaml, base64 data fields). The input is served as a file through a
 * memfd, since kube_config_load_file reads a path; the loader reads no
 * other file, so the fuzzer cannot make it touch the disk.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "kube/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct kube_config *c = NULL;
	struct err e = ERR_INIT;
	size_t len;
	char *b;

	if (fd < 0) {
		fd = memfd_create("kubeconfig", 0);
		if (fd < 0)
			BUG("memfd_create failed");
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		BUG("cannot write the memfd");
	if (kube_config_load_file(&c, path, &e) == 0) {
		if (!c || !c->server)
			BUG("loaded a kubeconfig without a server");
	} else if (c || !e.msg) {
		BUG("failed without a message, or with a config");
	}
	kube_config_free(c);
	err_release(&e);
	/* the same bytes as base64 text */
	b = kube_base64_decode((const char *)data, size, &len);
	if (b && len > size)
		BUG("base64 decoded %zu bytes out of %zu", len, size);
	free(b);
	return 0;
}
