// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_quantity.c - libFuzzer target for kube_quantity_parse (quantities
 * come from PVCs, PVs and CSIStorageCapacity objects). Besides "no crash,
 * no leak, no UB", it checks one property: a parsed non-negative byte count
 * formats to a quantity that parses back to the same count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "kube/quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct err e = ERR_INIT;
	int64_t v = 0, back = 0;

	memcpy(s, data, size);
	s[size] = '\0';
	if (kube_quantity_parse(s, &v, &e) == 0 && v >= 0) {
		char *f = kube_quantity_format_bytes(v);

		if (kube_quantity_parse(f, &back, &e) || back != v)
			BUG("'%s' parsed to %lld, formatted as '%s', parsed back to %lld", s,
			    (long long)v, f, (long long)back);
		free(f);
	}
	err_release(&e);
	free(s);
	return 0;
}
