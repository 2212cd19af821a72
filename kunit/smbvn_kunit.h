/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the smbvn KUnit suites: wire-format builders for the
 * SMB2 PDUs the protocol core consumes.  They are written from the
 * MS-SMB2 field tables independently of smbvn/proto.c, so a misread
 * offset in the code under test cannot hide behind the same misread here.
 */
#ifndef SMBVN_KUNIT_H
#define SMBVN_KUNIT_H

#include <kunit/test.h>
#include "smbvn_proto.h"

/* Room for any PDU the builders produce (header + largest body). */
#define KT_PDU_MAX		512

/* Sizes fixed by MS-SMB2: 2.2.32 IOCTL response with 24-byte output. */
#define KT_VNEG_RSP_LEN		136
#define KT_VNEG_OUT_OFF		112
/* 2.2.2 ERROR response: 64 header + 8 fixed + 1 ErrorData byte. */
#define KT_ERR_RSP_LEN		73

/* Statuses outside the set smbvn_proto.h names. */
#define KT_STATUS_INVALID_PARAMETER	0xc000000d
#define KT_STATUS_USER_SESSION_DELETED	0xc0000203
#define KT_STATUS_BUFFER_OVERFLOW	0x80000005
#define KT_STATUS_PENDING		0x00000103

/* Header field offsets, MS-SMB2 2.2.1.2. */
#define KT_HDR_SIZE_OFF		4
#define KT_HDR_STATUS_OFF	8
#define KT_HDR_CMD_OFF		12
#define KT_HDR_FLAGS_OFF	16

/* IOCTL response body offsets, 2.2.32, from the PDU start. */
#define KT_IOCTL_SIZE_OFF	64
#define KT_IOCTL_CTL_OFF	68
#define KT_IOCTL_OUT_OFF	96
#define KT_IOCTL_OUT_COUNT	100

#define KT_CMD_TREE_CONNECT	0x0003

/* A NEGOTIATE exchange to start every test from. */
extern const struct smbvn_neg_req kt_req_smb3_00;	/* smbclient -m SMB3_00 */
extern const struct smbvn_neg_req kt_req_win10;	/* 2.0.2 ... 3.1.1 */
extern const struct smbvn_neg_req kt_req_2x_only;	/* cifs vers=2.1 */
extern const struct smbvn_neg_rsp kt_rsp_300;
extern const struct smbvn_neg_rsp kt_rsp_210;

size_t kt_hdr(u8 *p, u16 cmd, u32 flags, u32 status, u64 mid);
size_t kt_neg_req_pdu(u8 *buf, const struct smbvn_neg_req *r);
size_t kt_neg_rsp_pdu(u8 *buf, const struct smbvn_neg_rsp *r);
size_t kt_vneg_rsp_pdu(u8 *buf, u32 flags, const struct smbvn_neg_rsp *r);
size_t kt_err_rsp_pdu(u8 *buf, u32 flags, u32 status);
u8 *kt_dup(struct kunit *test, const u8 *src, size_t len);
void kt_sign(struct kunit *test, u8 *p, size_t len, const u8 *key, bool cmac);

static inline void kt_put16(u8 *p, u16 v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void kt_put32(u8 *p, u32 v)
{
	kt_put16(p, v);
	kt_put16(p + 2, v >> 16);
}

#endif
