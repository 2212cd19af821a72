// SPDX-License-Identifier: GPL-2.0-only
/*
 * SMB2 signature verification done by smbvn itself, so that the verdict
 * does not depend on whether cifs decided to check signatures on this
 * session (it only checks when server->sign is set, and only logs).
 * MS-SMB2 3.1.4.1: HMAC-SHA256 with the session key for 2.0.2/2.1,
 * AES-128-CMAC with the derived signing key for 3.0/3.0.2.
 */
#include <crypto/algapi.h>
#include <crypto/hash.h>
#include <linux/slab.h>
#include "smbvn.h"

#define SMBVN_KEY_LEN	16

/*
 * Returns 1 if the signature in @pdu is right, 0 if it is wrong, negative
 * errno if the algorithm is unavailable.  @pdu is modified while hashing
 * (signature field zeroed) and restored before returning.
 */
int smbvn_sig_verify(u8 *pdu, size_t len, const u8 *key, bool cmac)
{
	u8 saved[SMBVN_SIG_LEN];
	u8 mac[32];
	struct crypto_shash *tfm;
	int rc;

	if (len < SMBVN_HDR_LEN)
		return 0;
	tfm = crypto_alloc_shash(cmac ? "cmac(aes)" : "hmac(sha256)", 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	rc = crypto_shash_setkey(tfm, key, SMBVN_KEY_LEN);
	if (!rc) {
		SHASH_DESC_ON_STACK(desc, tfm);

		desc->tfm = tfm;
		memcpy(saved, pdu + SMBVN_SIG_OFF, SMBVN_SIG_LEN);
		memset(pdu + SMBVN_SIG_OFF, 0, SMBVN_SIG_LEN);
		rc = crypto_shash_digest(desc, pdu, len, mac);
		memcpy(pdu + SMBVN_SIG_OFF, saved, SMBVN_SIG_LEN);
		shash_desc_zero(desc);
	}
	crypto_free_shash(tfm);
	if (rc)
		return rc;
	rc = crypto_memneq(mac, saved, SMBVN_SIG_LEN) ? 0 : 1;
	memzero_explicit(mac, sizeof(mac));
	return rc;
}
