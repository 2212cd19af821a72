// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: smbvn_parse_neg_req() on arbitrary bytes, then the
 * policy and smbvn_offers_3x() on whatever it accepted.  ASan/UBSan catch
 * bad reads; the CHECKs catch a parse that disagrees with the wire.
 */
#include "fuzz_common.h"

static void check_policy(const struct smbvn_neg_req *r)
{
	static const u16 dialects[] = { 0x0202, 0x0210, 0x0300, 0x0302,
					0x0311, 0xffff };
	bool want3x = false;
	unsigned int i, d;

	for (i = 0; i < r->dialect_count; i++)
		if (r->dialects[i] >= 0x0300)
			want3x = true;
	CHECK(smbvn_offers_3x(r) == want3x);
	for (d = 0; d < ARRAY_SIZE(dialects); d++) {
		for (i = 0; i < 4; i++) {
			enum smbvn_action a;

			a = smbvn_policy(true, dialects[d], true, r, i & 1);
			CHECK(a < SMBVN_A_COUNT);
			CHECK(smbvn_action_name(a));
			if (dialects[d] == 0x0311)
				CHECK(a == ((i & 1) ? SMBVN_A_REFUSE_GUEST :
					    SMBVN_A_VERIFY_TCON_311));
			else if (!want3x)
				CHECK(a == SMBVN_A_SKIP_2X_ONLY);
			else
				CHECK(a == ((i & 1) ? SMBVN_A_REFUSE_GUEST :
						      SMBVN_A_VALIDATE));
			CHECK(smbvn_policy(false, dialects[d], i & 2, r,
					   i & 1) == SMBVN_A_DISABLED);
		}
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	unsigned char *p = f_dup(data, size);
	struct smbvn_neg_req r;
	unsigned int i;

	memset(&r, 0xa5, sizeof(r));
	if (smbvn_parse_neg_req(p, size, &r) == 0) {
		/* Accepted: it must be a well-formed NEGOTIATE request. */
		CHECK(size >= 64 + 36);
		CHECK(p[0] == 0xfe && p[1] == 'S' && p[2] == 'M' &&
		      p[3] == 'B');
		CHECK(f_le16(p + 4) == 64);
		CHECK(f_le16(p + 12) == 0);
		CHECK(!(p[16] & 1));
		CHECK(f_le16(p + 64) == 36);
		CHECK(r.dialect_count >= 1 &&
		      r.dialect_count <= SMBVN_MAX_DIALECTS);
		CHECK(r.dialect_count == f_le16(p + 66));
		CHECK(size >= 64 + 36 + 2u * r.dialect_count);
		CHECK(r.security_mode == f_le16(p + 68));
		CHECK(r.capabilities == f_le32(p + 72));
		CHECK(!memcmp(r.guid, p + 76, 16));
		for (i = 0; i < r.dialect_count; i++)
			CHECK(r.dialects[i] == f_le16(p + 100 + 2 * i));
		for (; i < SMBVN_MAX_DIALECTS; i++)
			CHECK(r.dialects[i] == 0);
		check_policy(&r);
	}
	free(p);
	return 0;
}
