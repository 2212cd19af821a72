// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: smbvn_parse_neg_rsp() on arbitrary bytes.  What it
 * accepts must be a successful NEGOTIATE response, and the four raw
 * fields must be the bytes at their MS-SMB2 2.2.4 offsets.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	unsigned char *p = f_dup(data, size);
	struct smbvn_neg_rsp r;

	memset(&r, 0xa5, sizeof(r));
	if (smbvn_parse_neg_rsp(p, size, &r) == 0) {
		CHECK(size >= 64 + 64);
		CHECK(p[0] == 0xfe && p[1] == 'S' && p[2] == 'M' &&
		      p[3] == 'B');
		CHECK(f_le16(p + 4) == 64);
		CHECK(f_le16(p + 12) == 0);
		CHECK(p[16] & 1);
		CHECK(f_le32(p + 8) == 0);
		CHECK(f_le16(p + 64) == 65);
		CHECK(r.security_mode == f_le16(p + 66));
		CHECK(r.dialect == f_le16(p + 68));
		CHECK(!memcmp(r.guid, p + 72, 16));
		CHECK(r.capabilities == f_le32(p + 88));
		CHECK(smbvn_dialect_name(r.dialect));
	}
	free(p);
	return 0;
}
