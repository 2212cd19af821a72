// SPDX-License-Identifier: GPL-2.0-only
/*
 * Multichannel: a channel that binds a session (MS-SMB2 3.2.4.1.7, 3.2.5.3)
 * has run a NEGOTIATE of its own, which no tree connect proves: tree
 * connects go over whichever channel cifs picks, and a channel re-bound
 * while the others stayed up reconnects no tree at all (security review
 * M4).  So each binding on 3.0/3.0.2 is followed, inside cifs' session
 * setup, by a validation sent on that channel itself; on 3.1.1, which has
 * no validation exchange, the binding's final answer must carry the new
 * channel's signature.
 */
#include <linux/ratelimit.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include "smbvn.h"
#include "smbvn_cifs.h"

/*
 * Exchanges @key with the session's signing key.  While a channel binds
 * (its bit still set in chans_need_reconnect) cifs signs what goes out on
 * it, and checks what comes back, with the session's signing key: right
 * for the binding SESSION_SETUP, wrong for anything after it, which the
 * server, for which the channel is bound already, checks with the
 * channel's own key (MS-SMB2 3.2.5.3.1: derived from the binding's own
 * authentication).  No other channel can bind meanwhile, because the
 * caller holds the session_mutex; a channel that another task is
 * reconnecting may verify an answer with the swapped key, which costs a
 * logged signature error in cifs and nothing in smbvn, whose checks use
 * each channel's own key.  Under ses_lock then chan_lock, where cifs
 * reads it.
 */
static void swap_session_signkey(void *ses, u8 *key)
{
	spinlock_t *ses_lock = &FIELD(ses, SMBVN_OFF_SES_SES_LOCK, spinlock_t);
	spinlock_t *chan_lock = &FIELD(ses, SMBVN_OFF_SES_CHAN_LOCK,
				       spinlock_t);
	u8 *signkey = &FIELD(ses, SMBVN_OFF_SES_SIGNINGKEY, u8);
	u8 tmp[16];

	spin_lock(ses_lock);
	spin_lock(chan_lock);
	memcpy(tmp, signkey, sizeof(tmp));
	memcpy(signkey, key, sizeof(tmp));
	memcpy(key, tmp, sizeof(tmp));
	spin_unlock(chan_lock);
	spin_unlock(ses_lock);
	memzero_explicit(tmp, sizeof(tmp));
}

/*
 * A refused re-bind (the channel has reconnected since cifs created it)
 * takes every channel of the session down; a refused first bind is left
 * to cifs, which gives the channel up.  Returns @rc.
 */
static int after_refusal(void *ses, void *chan, int rc)
{
	if (rc == -SMBVN_ERRNO &&
	    FIELD(chan, SMBVN_OFF_SRV_RECONNECT_INSTANCE, u32) > 1)
		smbvn_drop_channels(ses);
	return rc;
}

/**
 * smbvn_validate_channel() - validate a channel that just bound a session
 * @xid: cifs transaction id of the session setup
 * @ses: struct cifs_ses the channel now belongs to
 * @chan: struct TCP_Server_Info of the channel (3.0, 3.0.2 or 3.1.1)
 * @tc: on 3.1.1, the binding's final SESSION_SETUP answer as smbvn caught
 *	it (NULL when it could not watch)
 *
 * On 3.0/3.0.2 the validation is sent on @chan itself, on the session's
 * IPC$ tree, and judged against @chan's own NEGOTIATE (MS-SMB2 3.2.5.5,
 * 3.2.5.14.12); on 3.1.1 @tc must be signed with @chan's new signing key
 * (3.2.5.3.1).  Either way before cifs counts the channel as up, so no
 * other request can use it first.
 *
 * A channel validated here has its trees usable on its new NEGOTIATE (see
 * smbvn_conn_bound()).  A channel refused when it re-binds after a
 * reconnect is dropped with
 * every other channel of the session: the session was in use when the
 * tampering showed, and its channels renegotiate and are proven again.
 * A new channel refused at its first bind (cifs has never reconnected it)
 * is given up by cifs on the error, and the session's other channels were
 * each proven on themselves: they stay.  Dropping them too, from inside
 * the mount that is adding the channel, deadlocks 6.1's mount (its root
 * inode lookup reconnects the tree and waits for the superblock the mount
 * itself holds) and fails every mount on 6.12.  Called with the
 * session_mutex held; sleeps.
 *
 * Return: 0, -EPROTO (refused), -EAGAIN (nothing proven, retry), or the
 * error of the exchange.
 */
int smbvn_validate_channel(unsigned int xid, void *ses, void *chan,
			   struct smbvn_answer *tc)
{
	void *ipc = FIELD(ses, SMBVN_OFF_SES_TCON_IPC, void *);
	u8 key[16];
	int rc;

	if (!ipc) {
		/* No tree to send on (or name): retried later. */
		pr_warn_ratelimited("smbvn: no IPC$ tree to validate a channel on; binding refused\n");
		return -EAGAIN;
	}
	if (!smbvn_channel_signkey(ses, chan, key)) {
		/* Gone from the session already: nothing to let through. */
		return -EAGAIN;
	}
	if (FIELD(chan, SMBVN_OFF_SRV_DIALECT, u16) == SMBVN_DIALECT_311) {
		/* Nothing is sent: the session's key stays where it is. */
		rc = smbvn_validate_bind(xid, ses, chan, ipc, tc);
	} else {
		swap_session_signkey(ses, key);
		rc = smbvn_validate_bind(xid, ses, chan, ipc, NULL);
		swap_session_signkey(ses, key);
	}
	memzero_explicit(key, sizeof(key));
	if (!rc)
		smbvn_conn_bound(chan);
	return after_refusal(ses, chan, rc);
}

/*
 * Is this session setup on a channel binding a session whose other
 * channels are up?  cifs' own test (CIFS_ALL_CHANS_NEED_RECONNECT): all
 * channels needing it means a new session, whose tree connects
 * smbvn_tcon then validates.  The channel being set up needs it too, so
 * @need is never 0 here.
 */
static bool channel_binds(void *ses)
{
	spinlock_t *lock = &FIELD(ses, SMBVN_OFF_SES_CHAN_LOCK, spinlock_t);
	unsigned long need, all;
	size_t n;

	spin_lock(lock);
	need = FIELD(ses, SMBVN_OFF_SES_CHANS_NEED_RECONNECT, unsigned long);
	n = FIELD(ses, SMBVN_OFF_SES_CHAN_COUNT, size_t);
	spin_unlock(lock);
	all = n >= BITS_PER_LONG ? ~0UL : BIT(n) - 1;
	return need && need != all;
}

/**
 * smbvn_channel_setup() - a session setup on one channel, checked
 * @xid: cifs transaction id
 * @ses: struct cifs_ses being set up or bound
 * @server: struct TCP_Server_Info of the channel it runs on
 * @nls: cifs' codepage (struct nls_table), passed on
 * @setup: cifs' SMB2_sess_setup
 *
 * With require_secure_negotiate=1: a channel that binds (a new one, or
 * one re-bound after a reconnect while the others stayed up, the primary
 * included) is validated on itself right after its binding SESSION_SETUP,
 * while cifs still counts it as needing reconnect
 * (smbvn_validate_channel()); on 3.1.1 from the answer to that session
 * setup, which smbvn watches for meanwhile.  On 3.0/3.0.2 a secondary
 * channel may not
 * establish the session on its own, which cifs does when every channel
 * dropped: its NEGOTIATE could then only be proven by a tree connect that
 * happens to go over it.  It gets -EAGAIN, and binds once the primary has
 * set the session up again.
 *
 * Return: what @setup returned, or the refusal (-EPROTO, -EAGAIN).
 */
int smbvn_channel_setup(unsigned int xid, void *ses, void *server,
			const void *nls, smbvn_sess_setup_t setup)
{
	u16 dialect = FIELD(server, SMBVN_OFF_SRV_DIALECT, u16);
	bool binds = channel_binds(ses);
	bool enforce = READ_ONCE(smbvn_enforce);
	bool exchange = dialect == SMBVN_DIALECT_300 ||
			dialect == SMBVN_DIALECT_302;
	bool watch = enforce && binds && dialect == SMBVN_DIALECT_311;
	struct smbvn_answer *tc = NULL;
	int rc;

	if (enforce && exchange && !binds &&
	    server != FIELD(ses, SMBVN_OFF_SES_SERVER, void *)) {
		pr_notice_ratelimited("smbvn: a secondary channel may only bind a session its primary set up; retried later\n");
		return -EAGAIN;
	}
	if (enforce && binds && !exchange && !watch) {
		/* 2.x: cifs would bind it, nothing could check it. */
		void *ipc = FIELD(ses, SMBVN_OFF_SES_TCON_IPC, void *);

		if (!ipc)
			return -EAGAIN;
		rc = after_refusal(ses, server,
				   smbvn_refuse_bind_dialect(ses, server, ipc));
		return rc ? : setup(xid, ses, server, nls);
	}
	if (watch) {
		tc = kzalloc(sizeof(*tc), GFP_KERNEL);
		if (!tc)
			return -EAGAIN;
		tc->cmd = SMBVN_CMD_SESSION_SETUP;
		smbvn_exchange_watch(tc);
	}
	rc = setup(xid, ses, server, nls);
	if (tc)
		smbvn_exchange_unwatch(tc);
	if (!rc && enforce && binds && (exchange || watch))
		rc = smbvn_validate_channel(xid, ses, server, tc);
	kfree_sensitive(tc);
	return rc;
}
