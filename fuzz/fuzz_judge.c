// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the whole judge path.  The input is split into
 *
 *   byte 0      how the response arrived: bits 0-1 enum smbvn_auth
 *               (bit 4 set: SMBVN_AUTH_NO_KEY instead),
 *               bit 2 "decrypted", bit 3 "signature verified" (the last
 *               two feed smbvn_auth_of())
 *   bytes 1-2   little-endian length N of the next part
 *   N bytes     the NEGOTIATE response the client saw; if it does not
 *               parse, its first 24 bytes are taken as raw field values
 *               so the judge is exercised with arbitrary expectations
 *   the rest    the FSCTL_VALIDATE_NEGOTIATE_INFO response PDU
 *
 * smbvn_judge() must never read outside the response (ASan, exact-size
 * copy) and must agree with ref_judge(), an independent restatement of
 * DESIGN.md section 3 written from MS-SMB2, on every input.
 */
#include "fuzz_common.h"

static bool is_2x(unsigned int d)
{
	return d == 0x0202 || d == 0x0210;
}

static enum smbvn_verdict ref_judge(const unsigned char *p, size_t len,
				    enum smbvn_auth auth,
				    const struct smbvn_neg_rsp *n)
{
	unsigned long st, off, cnt;
	const unsigned char *o;

	if (len < 64 || p[0] != 0xfe || p[1] != 'S' || p[2] != 'M' ||
	    p[3] != 'B' || f_le16(p + 4) != 64 || f_le16(p + 12) != 0x0b ||
	    !(p[16] & 1))
		return SMBVN_V_MALFORMED;
	if (auth == SMBVN_AUTH_NO_KEY)
		return SMBVN_V_NO_KEY;
	if (auth == SMBVN_AUTH_NONE)
		return SMBVN_V_UNSIGNED;
	if (auth == SMBVN_AUTH_BAD_SIG)
		return SMBVN_V_BAD_SIGNATURE;
	st = f_le32(p + 8);
	if (st == 0xc0000022)
		return SMBVN_V_ACCESS_DENIED;
	/* 3.2.5.14.12: a server vouching for an error does not implement it */
	if (st)
		return is_2x(n->dialect) ? SMBVN_V_ACCEPT_PRE30 :
					   SMBVN_V_SERVER_REJECTED;
	if (len < 64 + 48 || f_le16(p + 64) != 49 ||
	    f_le32(p + 68) != 0x00140204)
		return SMBVN_V_MALFORMED;
	off = f_le32(p + 96);
	cnt = f_le32(p + 100);
	/* unsigned long is 64-bit here: no wrap in off + cnt. */
	if (cnt != 24 || off < 112 || off + cnt > len)
		return SMBVN_V_MALFORMED;
	o = p + off;
	if (f_le32(o) != n->capabilities)
		return SMBVN_V_MISMATCH_CAPABILITIES;
	if (memcmp(o + 4, n->guid, 16))
		return SMBVN_V_MISMATCH_GUID;
	if (f_le16(o + 20) != n->security_mode)
		return SMBVN_V_MISMATCH_SECURITY_MODE;
	if (f_le16(o + 22) != n->dialect)
		return SMBVN_V_MISMATCH_DIALECT;
	return SMBVN_V_VALIDATED;
}

static bool memchr_nonzero(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return true;
	return false;
}

static enum smbvn_auth ref_auth(const unsigned char *p, size_t len,
				bool dec, bool sig_ok)
{
	if (dec)
		return SMBVN_AUTH_ENCRYPTED;
	if (len < 64 || !(p[16] & 8))
		return SMBVN_AUTH_NONE;
	return sig_ok ? SMBVN_AUTH_SIGNED : SMBVN_AUTH_BAD_SIG;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct smbvn_detail d1, d2;
	struct smbvn_neg_rsp neg;
	enum smbvn_verdict v;
	enum smbvn_auth auth, a2;
	unsigned char *np, *p, raw[24];
	size_t n, len;
	bool dec, sig_ok;

	if (size < 3)
		return 0;
	auth = data[0] & 0x10 ? SMBVN_AUTH_NO_KEY :
				(enum smbvn_auth)(data[0] & 3);
	dec = data[0] & 4;
	sig_ok = data[0] & 8;
	n = f_le16(data + 1);
	if (n > size - 3)
		n = size - 3;
	np = f_dup(data + 3, n);
	if (smbvn_parse_neg_rsp(np, n, &neg) != 0) {
		memset(raw, 0, sizeof(raw));
		memcpy(raw, np, n < sizeof(raw) ? n : sizeof(raw));
		neg.capabilities = f_le32(raw);
		memcpy(neg.guid, raw + 4, 16);
		neg.security_mode = f_le16(raw + 20);
		neg.dialect = f_le16(raw + 22);
	}
	free(np);
	len = size - 3 - n;
	p = f_dup(data + 3 + n, len);

	v = smbvn_judge(p, len, auth, &neg, &d1);
	CHECK(v < SMBVN_V_COUNT && v != SMBVN_V_NO_RESPONSE);
	CHECK(smbvn_verdict_name(v));
	CHECK(v == ref_judge(p, len, auth, &neg));
	CHECK(smbvn_verdict_ok(v) ==
	      (v == SMBVN_V_VALIDATED || v == SMBVN_V_ACCEPT_PRE30));
	/* Nothing passes without authentication. */
	if (smbvn_verdict_ok(v))
		CHECK(auth == SMBVN_AUTH_SIGNED ||
		      auth == SMBVN_AUTH_ENCRYPTED);
	if (v == SMBVN_V_VALIDATED)
		CHECK(d1.status == 0 && f_le32(p + 8) == 0);
	if (v == SMBVN_V_ACCEPT_PRE30)
		CHECK(d1.status && d1.status != 0xc0000022 &&
		      is_2x(neg.dialect));
	/* strict_downgrade may only ever turn an acceptance into a refusal. */
	CHECK(smbvn_verdict_ok(smbvn_strict_downgrade(v, true)) ==
	      (v == SMBVN_V_VALIDATED));
	CHECK(smbvn_strict_downgrade(v, false) == v);
	/* A decrypted answer is ours only if both SessionIds are ours. */
	if (smbvn_decrypted_auth(p, len, dec, sig_ok ? 7 : 8, 7) ==
	    SMBVN_AUTH_ENCRYPTED)
		CHECK(len >= 64 && dec && sig_ok && f_le32(p + 40) == 7 &&
		      f_le32(p + 44) == 0);
	/* Deterministic, and the detail does not depend on stale memory. */
	memset(&d2, 0x5a, sizeof(d2));
	CHECK(smbvn_judge(p, len, auth, &neg, &d2) == v);
	CHECK(!memcmp(&d1, &d2, sizeof(d1)));

	/* A key is usable only if present and not all zero. */
	CHECK(smbvn_key_usable(p, len < 16 ? len : 16) ==
	      (len > 0 && memchr_nonzero(p, len < 16 ? len : 16)));

	a2 = smbvn_auth_of(p, len, dec, sig_ok);
	CHECK(a2 == ref_auth(p, len, dec, sig_ok));
	v = smbvn_judge(p, len, a2, &neg, &d1);
	CHECK(v == ref_judge(p, len, a2, &neg));
	free(p);
	return 0;
}
