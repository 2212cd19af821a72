// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace regression checks for findings that KUnit cannot see because
 * the kernel's UBSAN lacks the check (pointer arithmetic on NULL).  Built
 * with ASan + UBSan, every sanitizer report aborts; "REGRESS: ok" means
 * all inputs below went through cleanly.
 *
 * Finding 1: smbvn_parse_neg_req()/smbvn_parse_neg_rsp() computed
 * pdu + SMBVN_HDR_LEN before smbvn_hdr_ok() rejected a NULL pdu.
 */
#include "fuzz_common.h"

int main(void)
{
	struct smbvn_neg_req req;
	struct smbvn_neg_rsp rsp = { 0 };
	struct smbvn_detail d;

	CHECK(smbvn_parse_neg_req(NULL, 0, &req) == -1);
	CHECK(smbvn_parse_neg_req(NULL, 4096, &req) == -1);
	CHECK(smbvn_parse_neg_rsp(NULL, 0, &rsp) == -1);
	CHECK(smbvn_parse_neg_rsp(NULL, 4096, &rsp) == -1);
	CHECK(smbvn_judge(NULL, 0, SMBVN_AUTH_SIGNED, &rsp, &d) ==
	      SMBVN_V_MALFORMED);
	CHECK(smbvn_auth_of(NULL, 0, false, true) == SMBVN_AUTH_NONE);
	CHECK(smbvn_policy(true, 0x0300, true, NULL, false) ==
	      SMBVN_A_REFUSE_NO_RECORD);
	printf("REGRESS: ok\n");
	return 0;
}
