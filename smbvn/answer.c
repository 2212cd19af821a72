// SPDX-License-Identifier: GPL-2.0-only
/*
 * The server's answer: the validate request's round trip, the key each
 * answer must be signed with (per channel, per dialect), and the verdict
 * on what came back (the pure rules of proto.c).  validate.c decides what
 * to do with the verdict.
 */
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include "smbvn.h"
#include "smbvn_cifs.h"

#define RSP_CAPTURE_MAX		SMBVN_RSP_CAPTURE_MAX

/**
 * smbvn_channel_signkey() - the signing key of one channel of a session
 * @ses: struct cifs_ses
 * @rx: struct TCP_Server_Info of the channel
 * @key: 16 bytes, out
 *
 * The key cifs itself verifies that channel's answers with: each channel
 * has its own (MS-SMB2 3.2.5.3.1), and the primary's is a copy of the
 * session key only until a reconnect rebinds it.  Takes chan_lock.
 *
 * Return: true, or false with @key untouched when @rx is no channel of
 * @ses (any more).
 */
bool smbvn_channel_signkey(const void *ses, const void *rx, u8 *key)
{
	spinlock_t *lock = &FIELD(ses, SMBVN_OFF_SES_CHAN_LOCK, spinlock_t);
	const char *chan = &FIELD(ses, SMBVN_OFF_SES_CHANS, const char);
	bool found = false;
	size_t i, n;

	spin_lock(lock);
	n = min_t(size_t, FIELD(ses, SMBVN_OFF_SES_CHAN_COUNT, size_t),
		  SMBVN_LEN_SES_CHANS);
	for (i = 0; i < n; i++, chan += SMBVN_SIZE_CHAN) {
		if (FIELD(chan, SMBVN_OFF_CHAN_SERVER, const void *) == rx) {
			memcpy(key, &FIELD(chan, SMBVN_OFF_CHAN_SIGNKEY, u8),
			       16);
			found = true;
			break;
		}
	}
	spin_unlock(lock);
	return found;
}

/*
 * The 2.0.2/2.1 signing key: the first 16 bytes of the session key.  cifs
 * frees it and sets it NULL at the start of every session setup, so it
 * may well be absent while a tree connect waits for its answer.
 */
static bool session_key(const void *ses, u8 *key)
{
	const u8 *resp = FIELD(ses, SMBVN_OFF_SES_AUTH_KEY_RESPONSE,
			       const u8 *);

	if (!resp ||
	    FIELD(ses, SMBVN_OFF_SES_AUTH_KEY_LEN, unsigned int) < 16)
		return false;
	memcpy(key, resp, 16);
	return true;
}

/*
 * How the captured answer is authenticated.  Without a usable key nothing
 * is verified (SMBVN_AUTH_NO_KEY): a zero-filled key would be a public
 * one.  *@err is set when the signing algorithm cannot be had.
 */
static enum smbvn_auth authenticate(struct smbvn_answer *in, u16 dialect,
				    int *err)
{
	bool cmac = dialect >= SMBVN_DIALECT_300;
	size_t len = min_t(size_t, in->len, RSP_CAPTURE_MAX);
	int ok = 0;

	if (in->decrypted) {
		enum smbvn_auth auth = smbvn_decrypted_auth(in->buf, len,
							    in->decrypted_known,
							    in->decrypted_sid,
							    in->session_id);

		/* Whose keys cifs decrypted with cannot be told. */
		if (auth == SMBVN_AUTH_ENCRYPTED && in->sid_shared)
			return SMBVN_AUTH_NO_KEY;
		return auth;
	}
	if (in->len > RSP_CAPTURE_MAX)
		return smbvn_auth_of(in->buf, len, false, false);
	if (!smbvn_key_usable(in->have_key ? in->key : NULL, sizeof(in->key)))
		return SMBVN_AUTH_NO_KEY;
	if (smbvn_le32(in->buf + 16) & SMBVN_FLAG_SIGNED) {
		ok = smbvn_sig_verify(in->buf, len, in->key, cmac);
		if (ok < 0)
			*err = ok;
	}
	return smbvn_auth_of(in->buf, len, false, ok > 0);
}

/*
 * The verdict on a captured answer.  One that came on another channel of
 * the session also vouches for that channel's NEGOTIATE, so it must match
 * what was captured there as well; SMBVN_V_COUNT when smbvn never saw that
 * channel negotiate.
 */
static enum smbvn_verdict judge_answer(struct smbvn_answer *in,
				       const void *server, u16 dialect,
				       const struct smbvn_neg_rsp *neg,
				       struct smbvn_detail *d, int *err)
{
	size_t len = min_t(size_t, in->len, RSP_CAPTURE_MAX);
	enum smbvn_auth auth = authenticate(in, dialect, err);
	struct smbvn_neg_rsp rx_rsp;
	bool strict = READ_ONCE(smbvn_strict_downgrade_knob);
	enum smbvn_verdict v = smbvn_judge(in->buf, len, auth, neg, d);

	v = smbvn_strict_downgrade(v, strict);
	if (!smbvn_verdict_ok(v) || in->tx == server)
		return v;
	if (!smbvn_conn_rsp(in->tx, &rx_rsp))
		return SMBVN_V_COUNT;
	return smbvn_strict_downgrade(smbvn_judge(in->buf, len, auth, &rx_rsp,
						  d), strict);
}

/**
 * smbvn_round_trip() - send the validate request and judge its answer
 * @xid: cifs transaction id
 * @ses: struct cifs_ses
 * @server: struct TCP_Server_Info whose NEGOTIATE is validated
 * @tcon: struct cifs_tcon the request goes out on
 * @dialect: the dialect cifs parsed from that NEGOTIATE
 * @snap: smbvn's record of that NEGOTIATE when the tree connect finished
 * @d: what was expected and received, for the log
 * @tx: in: the struct TCP_Server_Info to send on, or NULL for the channel
 *	cifs picks; out: the one used
 * @err: set to -ENOMEM, or the crypto API's error, when no verdict can be
 *	had
 *
 * MS-SMB2 3.2.4.1 (the request is sent with cifs' own send path, signed)
 * and 3.2.5.14.12 (the answer).  An answer is judged only against
 * NEGOTIATEs still current when it is in: if @server, or the channel the
 * request went out on, negotiated again meanwhile, the answer may describe
 * the new negotiation while smbvn holds the old one.
 *
 * Return: the verdict; SMBVN_V_RENEGOTIATED (retryable) in that case,
 * SMBVN_V_COUNT when there is no verdict.
 */
enum smbvn_verdict smbvn_round_trip(unsigned int xid, void *ses,
				    void *server, void *tcon, u16 dialect,
				    const struct smbvn_conn *snap,
				    struct smbvn_detail *d, const void **tx,
				    int *err)
{
	u8 body[SMBVN_VNEG_REQ_MAX];
	size_t n = smbvn_build_vneg_req(&snap->req, body, sizeof(body));
	struct smbvn_answer *in;
	enum smbvn_verdict v;
	u32 tx_stamp;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!n)
		return SMBVN_V_COUNT;
	if (!*tx)
		*tx = smbvn_exchange_channel(ses);
	if (!*tx) {
		d->received = (u32)-EIO;
		return SMBVN_V_NO_RESPONSE;
	}
	in = kzalloc(sizeof(*in), GFP_KERNEL);
	if (!in) {
		*err = -ENOMEM;
		return SMBVN_V_COUNT;
	}
	/*
	 * The key is taken now, while the session that sends the request is
	 * the one just set up: cifs frees a session key at the start of any
	 * later session setup, with no lock smbvn could take (review L5).
	 */
	in->session_id = FIELD(ses, SMBVN_OFF_SES_SUID, u64);
	in->have_key = dialect >= SMBVN_DIALECT_300 ?
		       smbvn_channel_signkey(ses, *tx, in->key) :
		       session_key(ses, in->key);
	tx_stamp = smbvn_conn_stamp(*tx);
	rc = smbvn_exchange(xid, ses, (void *)*tx, tcon, body, n, in);
	if (rc == -ENOMEM) {
		*err = rc;
		v = SMBVN_V_COUNT;
	} else if (!in->got) {
		/* Withheld or lost, renegotiated meanwhile or not. */
		d->received = rc;
		v = SMBVN_V_NO_RESPONSE;
	} else if (smbvn_conn_stamp(server) != snap->stamp ||
		   smbvn_conn_stamp(*tx) != tx_stamp) {
		v = SMBVN_V_RENEGOTIATED;
	} else {
		in->sid_shared = in->decrypted &&
				 !smbvn_exchange_sid_unique(ses, in->session_id);
		v = judge_answer(in, server, dialect, &snap->rsp, d, err);
	}
	kfree_sensitive(in);
	return v;
}

/**
 * smbvn_verify_tcon() - judge a 3.1.1 answer cifs received: a TREE_CONNECT
 *	response, or a binding's final SESSION_SETUP response
 * @ses: struct cifs_ses
 * @dialect: the connection's dialect
 * @tc: the answer smbvn watched for (@tc->cmd says which), or NULL
 * @d: its status, for the log
 * @tx: out: the struct TCP_Server_Info it arrived on
 * @err: set to the crypto API's error when the signature cannot be checked
 *
 * Checked with the signing key of the channel it came on (MS-SMB2
 * 3.2.5.1.3), or its decryption.  The key is read only now, so it must
 * still belong to the session the request went out under, on the same
 * NEGOTIATE: a session setup or a renegotiation by another task meanwhile
 * makes the answer unjudgeable, not forged.
 *
 * Return: the verdict; SMBVN_V_RENEGOTIATED in that case; SMBVN_V_COUNT
 * when it was not caught (no evidence either way).
 */
enum smbvn_verdict smbvn_verify_tcon(void *ses, u16 dialect,
				     struct smbvn_answer *tc,
				     struct smbvn_detail *d, const void **tx,
				     int *err)
{
	size_t len;

	memset(d, 0, sizeof(*d));
	if (!tc || !tc->got)
		return SMBVN_V_COUNT;
	*tx = tc->tx;
	tc->session_id = tc->req_session_id;
	tc->have_key = smbvn_channel_signkey(ses, tc->tx, tc->key);
	if (FIELD(ses, SMBVN_OFF_SES_SUID, u64) != tc->req_session_id ||
	    smbvn_conn_stamp(tc->tx) != tc->tx_stamp)
		return SMBVN_V_RENEGOTIATED;
	tc->sid_shared = tc->decrypted &&
			 !smbvn_exchange_sid_unique(ses, tc->session_id);
	len = min_t(size_t, tc->len, RSP_CAPTURE_MAX);
	d->status = len >= SMBVN_HDR_LEN ? smbvn_le32(tc->buf + 8) : 0;
	if (tc->cmd == SMBVN_CMD_SESSION_SETUP)
		return smbvn_judge_bind(tc->buf, len,
					authenticate(tc, dialect, err));
	return smbvn_judge_tcon(tc->buf, len, authenticate(tc, dialect, err));
}
