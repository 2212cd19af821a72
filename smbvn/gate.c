// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which requests cifs may send (security review L6).  cifs gates requests
 * on a reconnecting tree in smb2_reconnect(), but skips IOCTLs there, and
 * a request built before a connection dropped goes out after its new
 * NEGOTIATE with the tree of the old one.  Either could reach a tree
 * before smbvn validated it; smbvn holds such requests back instead.
 */
#include <linux/jiffies.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include "smbvn.h"
#include "smbvn_cifs.h"

/*
 * One connection at a time whose held-back tree looks stuck: the gate
 * runs in an ftrace callback, perhaps with preemption disabled, and
 * dropping a connection sleeps.  Another
 * connection found stuck meanwhile gets its turn HELD_STUCK later.
 */
static DEFINE_RAW_SPINLOCK(stuck_lock);
static const void *stuck_server;

static void stuck_work_fn(struct work_struct *work)
{
	const void *server;

	raw_spin_lock(&stuck_lock);
	server = stuck_server;
	stuck_server = NULL;
	raw_spin_unlock(&stuck_lock);
	if (server)
		smbvn_drop_listed(server);
}

static DECLARE_WORK(stuck_work, stuck_work_fn);

static void drop_stuck(const void *server, u64 session_id, u32 tree_id)
{
	bool queue = false;

	raw_spin_lock(&stuck_lock);
	if (!stuck_server) {
		stuck_server = server;
		queue = true;
	}
	raw_spin_unlock(&stuck_lock);
	if (!queue)
		return;
	pr_warn_ratelimited("smbvn: requests on tree 0x%x of session 0x%llx held back for 30 s with no tree connect accepted for it: dropping its connection so that cifs reconnects the tree\n",
			    tree_id, session_id);
	schedule_work(&stuck_work);
}

/**
 * smbvn_gate_exit() - wait for a pending drop, when smbvn is unloaded
 *
 * After the hooks are gone: nothing queues one any more.
 */
void smbvn_gate_exit(void)
{
	cancel_work_sync(&stuck_work);
}

/**
 * smbvn_request_allowed() - may cifs send this request now?
 * @ses: struct cifs_ses the request belongs to, or NULL where cifs does
 *	not say (its asynchronous requests: reads, writes, echoes)
 * @server: struct TCP_Server_Info the request goes out on: a session's
 *	primary connection or one of its channels
 * @pdu: the request, SMB2 header first (MS-SMB2 2.2.1.2), as cifs built
 *	it: before signing and encryption
 * @len: bytes of @pdu (the first kvec of the request)
 *
 * A tree belongs to the session's primary connection, where smbvn judged
 * its tree connect.  Requests on a secondary channel, or of a session that
 * has one now, are not held back: channels are checked when they bind
 * (channel.c; see smbvn_conn_bound() for the primary binding again).
 * Runs in an ftrace callback in cifs' send path, preemptible or not (see
 * smbvn_hook_install()): takes only raw locks.
 *
 * Return: true to let cifs send, always with require_secure_negotiate=0
 * or audit_only=1; false if the request uses a tree not accepted since the
 * connection's last NEGOTIATE (counted as requests_held_back).
 */
bool smbvn_request_allowed(const void *ses, const void *server,
			   const u8 *pdu, size_t len)
{
	const void *primary;
	size_t channels;
	u64 session_id;
	u32 tree_id;
	bool stuck;

	if (!READ_ONCE(smbvn_enforce) || READ_ONCE(smbvn_audit_only) ||
	    !smbvn_req_uses_tree(pdu, len, &session_id, &tree_id))
		return true;
	primary = FIELD(server, SMBVN_OFF_SRV_PRIMARY_SERVER, const void *);
	channels = ses ? READ_ONCE(FIELD(ses, SMBVN_OFF_SES_CHAN_COUNT,
					 size_t)) : 1;
	if (primary || channels > 1)
		return true;
	if (smbvn_conn_tree_usable(server, session_id, tree_id, jiffies,
				   &stuck))
		return true;
	smbvn_stat_inc(SMBVN_STAT_HELD_BACK);
	if (stuck)
		drop_stuck(server, session_id, tree_id);
	return false;
}
