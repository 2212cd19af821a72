// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: NEGOTIATE request -> smbvn_parse_neg_req() ->
 * smbvn_build_vneg_req(), and the built FSCTL_VALIDATE_NEGOTIATE_INFO
 * input (MS-SMB2 2.2.31.4) must replay the request bytes exactly.  The
 * builder is also given every too-small buffer, each in an exact-size
 * allocation, and must refuse without writing.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	unsigned char *p = f_dup(data, size), *out;
	struct smbvn_neg_req r;
	size_t need, n, small;

	if (smbvn_parse_neg_req(p, size, &r) != 0) {
		free(p);
		return 0;
	}
	need = 24 + 2u * r.dialect_count;
	out = malloc(need);
	CHECK(out);
	n = smbvn_build_vneg_req(&r, out, need);
	CHECK(n == need);
	CHECK(!memcmp(out + 0, p + 64 + 8, 4));		/* Capabilities */
	CHECK(!memcmp(out + 4, p + 64 + 12, 16));	/* ClientGuid */
	CHECK(!memcmp(out + 20, p + 64 + 4, 2));	/* SecurityMode */
	CHECK(!memcmp(out + 22, p + 64 + 2, 2));	/* DialectCount */
	CHECK(!memcmp(out + 24, p + 64 + 36, 2u * r.dialect_count));
	free(out);
	for (small = 0; small < need; small++) {
		out = malloc(small ? small : 1);
		CHECK(out);
		CHECK(smbvn_build_vneg_req(&r, out, small) == 0);
		free(out);
	}
	free(p);
	return 0;
}
