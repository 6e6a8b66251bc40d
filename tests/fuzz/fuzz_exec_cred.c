// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_exec_cred.c - libFuzzer target for kube_exec_parse (the stdout of a
 * kubeconfig exec credential plugin). Besides "no crash, no leak, no UB",
 * it checks that an accepted credential holds a token without control
 * characters, or a certificate together with a key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "kube/exec_cred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_exec_cred c;
	struct err e = ERR_INIT;

	if (!kube_exec_parse(KUBE_EXEC_V1, (const char *)data, size, &c, &e)) {
		if (!c.token && !(c.cert_pem && c.key_pem))
			BUG("accepted a credential without a token or a certificate and key");
		for (const char *p = c.token; p && *p; p++)
			if ((unsigned char)*p < 0x20)
				BUG("accepted a token with a control character");
	}
	kube_exec_cred_release(&c);
	err_release(&e);
	return 0;
}
