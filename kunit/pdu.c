// SPDX-License-Identifier: GPL-2.0-only
/*
 * SMB2 PDU builders for the smbvn KUnit suites.  Offsets come straight
 * from MS-SMB2 (2.2.1.2 header, 2.2.3/2.2.4 NEGOTIATE, 2.2.2 ERROR,
 * 2.2.32 IOCTL response) rather than from the code under test.
 */
#include <crypto/hash.h>
#include <linux/slab.h>
#include "smbvn_kunit.h"

/* What smbclient -m SMB3_00 put on the wire against Samba 4.17. */
const struct smbvn_neg_req kt_req_smb3_00 = {
	.capabilities = 0x0000007f,
	.guid = { 0x8a, 0x3d, 0x41, 0x6b, 0x90, 0x12, 0x4e, 0x77,
		  0xa1, 0x05, 0xc3, 0x2e, 0x6d, 0x19, 0xf4, 0x02 },
	.security_mode = 0x0001,
	.dialect_count = 3,
	.dialects = { 0x0202, 0x0210, 0x0300 },
};

/* A Windows 10 style offer: everything from 2.0.2 up to 3.1.1. */
const struct smbvn_neg_req kt_req_win10 = {
	.capabilities = 0x0000007f,
	.guid = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
		  0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00 },
	.security_mode = 0x0001,
	.dialect_count = 5,
	.dialects = { 0x0202, 0x0210, 0x0300, 0x0302, 0x0311 },
};

/* cifs vers=2.1 offers exactly one dialect. */
const struct smbvn_neg_req kt_req_2x_only = {
	.capabilities = 0x00000001,
	.guid = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03,
		  0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b },
	.security_mode = 0x0001,
	.dialect_count = 1,
	.dialects = { 0x0210 },
};

/* Samba's 3.0 answer: DFS|LEASING|LARGE_MTU|MULTI_CHANNEL|ENCRYPTION. */
const struct smbvn_neg_rsp kt_rsp_300 = {
	.capabilities = 0x0000004f,
	.guid = { 0x5f, 0x1c, 0x0e, 0x9a, 0x2b, 0x7d, 0x4c, 0x3e,
		  0x8a, 0x6b, 0x1d, 0x2f, 0x3e, 0x4c, 0x5a, 0x69 },
	.security_mode = 0x0003,
	.dialect = 0x0300,
	.max_transact_size = 8 << 20,
	.max_read_size = 8 << 20,
	.max_write_size = 8 << 20,
};

/* The same server after a downgrade to 2.1. */
const struct smbvn_neg_rsp kt_rsp_210 = {
	.capabilities = 0x00000007,
	.guid = { 0x5f, 0x1c, 0x0e, 0x9a, 0x2b, 0x7d, 0x4c, 0x3e,
		  0x8a, 0x6b, 0x1d, 0x2f, 0x3e, 0x4c, 0x5a, 0x69 },
	.security_mode = 0x0001,
	.dialect = 0x0210,
	.max_transact_size = 8 << 20,
	.max_read_size = 8 << 20,
	.max_write_size = 8 << 20,
};

size_t kt_hdr(u8 *p, u16 cmd, u32 flags, u32 status, u64 mid)
{
	memset(p, 0, SMBVN_HDR_LEN);
	p[0] = 0xfe;
	p[1] = 'S';
	p[2] = 'M';
	p[3] = 'B';
	kt_put16(p + 4, SMBVN_HDR_LEN);		/* StructureSize */
	kt_put16(p + 6, 1);			/* CreditCharge */
	kt_put32(p + 8, status);
	kt_put16(p + 12, cmd);
	kt_put16(p + 14, 1);			/* CreditRequest/Response */
	kt_put32(p + 16, flags);
	kt_put32(p + 24, (u32)mid);		/* MessageId */
	kt_put32(p + 28, (u32)(mid >> 32));
	kt_put32(p + 32, 0xfeff);		/* ProcessId */
	kt_put32(p + 36, 1);			/* TreeId */
	kt_put32(p + 40, 0x00000009);		/* SessionId */
	kt_put32(p + 44, 0x0000a400);
	return SMBVN_HDR_LEN;
}

size_t kt_neg_req_pdu(u8 *buf, const struct smbvn_neg_req *r)
{
	u8 *b = buf + SMBVN_HDR_LEN;
	unsigned int i;

	kt_hdr(buf, SMBVN_CMD_NEGOTIATE, 0, 0, 0);
	memset(b, 0, 36);
	kt_put16(b, 36);			/* StructureSize */
	kt_put16(b + 2, r->dialect_count);
	kt_put16(b + 4, r->security_mode);
	kt_put32(b + 8, r->capabilities);
	memcpy(b + 12, r->guid, SMBVN_GUID_LEN);
	/* 28..35: ClientStartTime / negotiate context fields, left zero */
	for (i = 0; i < r->dialect_count && i < SMBVN_MAX_DIALECTS; i++)
		kt_put16(b + 36 + 2 * i, r->dialects[i]);
	return SMBVN_HDR_LEN + 36 + 2 * i;
}

size_t kt_neg_rsp_pdu(u8 *buf, const struct smbvn_neg_rsp *r)
{
	u8 *b = buf + SMBVN_HDR_LEN;
	unsigned int i;

	kt_hdr(buf, SMBVN_CMD_NEGOTIATE, SMBVN_FLAG_RESPONSE, 0, 0);
	memset(b, 0, 64 + 16);
	kt_put16(b, 65);			/* StructureSize */
	kt_put16(b + 2, r->security_mode);
	kt_put16(b + 4, r->dialect);
	memcpy(b + 8, r->guid, SMBVN_GUID_LEN);
	kt_put32(b + 24, r->capabilities);
	kt_put32(b + 28, r->max_transact_size);
	kt_put32(b + 32, r->max_read_size);
	kt_put32(b + 36, r->max_write_size);
	kt_put16(b + 56, 128);			/* SecurityBufferOffset */
	kt_put16(b + 58, 16);			/* SecurityBufferLength */
	/* A stand-in for the SPNEGO blob so the PDU is not minimal. */
	for (i = 0; i < 16; i++)
		b[64 + i] = 0x60 + i;
	return SMBVN_HDR_LEN + 64 + 16;
}

size_t kt_vneg_rsp_pdu(u8 *buf, u32 flags, const struct smbvn_neg_rsp *r)
{
	u8 *b = buf + SMBVN_HDR_LEN;
	u8 *o = buf + KT_VNEG_OUT_OFF;

	kt_hdr(buf, SMBVN_CMD_IOCTL, flags, SMBVN_STATUS_SUCCESS, 7);
	memset(b, 0, 48);
	kt_put16(b, 49);			/* StructureSize */
	kt_put32(b + 4, SMBVN_FSCTL_VALIDATE_NEGOTIATE_INFO);
	memset(b + 8, 0xff, 16);		/* FileId: all ones per 3.2.4.20.1 */
	kt_put32(b + 24, KT_VNEG_OUT_OFF);	/* InputOffset */
	kt_put32(b + 28, 0);			/* InputCount */
	kt_put32(b + 32, KT_VNEG_OUT_OFF);	/* OutputOffset */
	kt_put32(b + 36, SMBVN_VNEG_OUT_LEN);	/* OutputCount */
	kt_put32(o, r->capabilities);
	memcpy(o + 4, r->guid, SMBVN_GUID_LEN);
	kt_put16(o + 20, r->security_mode);
	kt_put16(o + 22, r->dialect);
	return KT_VNEG_RSP_LEN;
}

size_t kt_err_rsp_pdu(u8 *buf, u32 flags, u32 status)
{
	u8 *b = buf + SMBVN_HDR_LEN;

	kt_hdr(buf, SMBVN_CMD_IOCTL, flags, status, 7);
	memset(b, 0, 9);
	kt_put16(b, 9);				/* StructureSize */
	return KT_ERR_RSP_LEN;
}

/*
 * Copy into an allocation of exactly @len bytes so that a read past the
 * end lands outside the object, where KASAN reports it and fails the test.
 * For @len == 0 kmalloc hands back ZERO_SIZE_PTR, which faults on any use.
 */
u8 *kt_dup(struct kunit *test, const u8 *src, size_t len)
{
	u8 *p = kunit_kmalloc(test, len, GFP_KERNEL);

	if (len) {
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, p);
		memcpy(p, src, len);
	}
	return p;
}

/*
 * Sign @len bytes of @p in place under @key the way an SMB2 peer does
 * (MS-SMB2 3.1.4.1): MAC over the PDU with a zeroed signature field.
 */
void kt_sign(struct kunit *test, u8 *p, size_t len, const u8 *key,
	     bool cmac)
{
	struct crypto_shash *tfm;
	u8 mac[32];

	tfm = crypto_alloc_shash(cmac ? "cmac(aes)" : "hmac(sha256)", 0, 0);
	if (IS_ERR(tfm))
		kunit_skip(test, "%s not available", cmac ? "cmac(aes)" :
			   "hmac(sha256)");
	KUNIT_ASSERT_EQ(test, crypto_shash_setkey(tfm, key, 16), 0);
	memset(p + SMBVN_SIG_OFF, 0, SMBVN_SIG_LEN);
	KUNIT_ASSERT_EQ(test, crypto_shash_tfm_digest(tfm, p, len, mac), 0);
	memcpy(p + SMBVN_SIG_OFF, mac, SMBVN_SIG_LEN);
	crypto_free_shash(tfm);
}
