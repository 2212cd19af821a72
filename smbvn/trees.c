// SPDX-License-Identifier: GPL-2.0-only
/*
 * The trees each connection may carry requests for (security review L6),
 * kept in the connection's record (conns.c): what the gate (gate.c) asks
 * before cifs sends a request, and what a tree connect smbvn accepted
 * (validate.c) adds.  A new NEGOTIATE generation empties the list.
 */
#include <linux/jiffies.h>
#include <linux/spinlock.h>
#include "smbvn.h"
#include "smbvn_cifs.h"
#include "smbvn_conns.h"

/*
 * cifs believes a tree connected that smbvn never saw accepted on the
 * current NEGOTIATE when a drop marked it for reconnect just before cifs'
 * tree connect returned (cifs then clears the mark): nothing reconnects
 * it, and unlike stock cifs, whose next request gets NETWORK_NAME_DELETED
 * and heals the tree, smbvn would hold it back for good.  A tree held back
 * this long with no tree connect accepted for it has its connection
 * dropped, which makes cifs reconnect every tree on it.
 */
#define HELD_STUCK		(30 * HZ)

/*
 * Set once every hook is in.  A connection that negotiated while smbvn was
 * still hooking cifs may have its tree connects run by a stock SMB2_tcon
 * that smbvn never judged (with renegotiate_existing=0 nothing drops it):
 * that NEGOTIATE's trees are all usable, as before the gate existed, and
 * its next NEGOTIATE is gated like any other (CI: one mount in 135 of the
 * stress load loop could not read its file).
 */
static bool gate_armed;

/**
 * smbvn_conns_arm() - start or stop holding trees back on new NEGOTIATEs
 * @armed: true once every hook is installed, false when they are removed
 */
void smbvn_conns_arm(bool armed)
{
	WRITE_ONCE(gate_armed, armed);
}

/**
 * smbvn_conns_armed() - is every hook installed?
 *
 * Set once the last hook is in, cleared once every hook is out again.
 * Until it is set, a load may still fail and leave cifs stock: the
 * redirects installed so far do not redirect (hook.c).
 */
bool smbvn_conns_armed(void)
{
	return READ_ONCE(gate_armed);
}

/**
 * smbvn_trees_new_generation() - a record's trees on a new NEGOTIATE
 * @r: the record, under smbvn_conns_lock
 *
 * No tree accepted yet, none held back, no binding validated; all trees
 * usable while smbvn is not armed (still hooking cifs).
 */
void smbvn_trees_new_generation(struct conn_rec *r)
{
	r->ntrees = READ_ONCE(gate_armed) ? 0 : TREES_MAX + 1;
	r->held_since = 0;
	r->bound = false;
}

static bool tree_listed(const struct conn_rec *r, u64 session_id,
			u32 tree_id)
{
	unsigned int i;

	if (r->ntrees > TREES_MAX)
		return true;
	for (i = 0; i < r->ntrees; i++)
		if (r->trees[i].session_id == session_id &&
		    r->trees[i].tree_id == tree_id)
			return true;
	return false;
}

/**
 * smbvn_conn_tree_accepted() - let requests use a tree smbvn accepted
 * @server: struct TCP_Server_Info the tree connect went out on
 * @stamp: the NEGOTIATE generation (smbvn_conn_stamp()) it was judged on
 * @session_id: SessionId of the tree's session
 * @tree_id: TreeId the server gave the tree
 *
 * Nothing is noted if @server renegotiated since @stamp: cifs reconnects
 * the tree then, and that tree connect is judged afresh.
 */
void smbvn_conn_tree_accepted(const void *server, u32 stamp, u64 session_id,
			      u32 tree_id)
{
	struct conn_rec *r;

	raw_spin_lock(&smbvn_conns_lock);
	r = smbvn_conns_find(server);
	if (r && r->c.stamp == stamp && !tree_listed(r, session_id, tree_id)) {
		if (r->ntrees < TREES_MAX)
			r->trees[r->ntrees] = (struct tree_ref) {
				session_id, tree_id };
		r->ntrees++;
	}
	raw_spin_unlock(&smbvn_conns_lock);
}

/**
 * smbvn_conn_tree_usable() - may a request on this tree go out on @server?
 * @server: the primary struct TCP_Server_Info of the tree's session
 * @session_id: SessionId in the request's header
 * @tree_id: TreeId in the request's header
 * @now: jiffies
 * @stuck: set when the answer is no and has been for this tree for
 *	HELD_STUCK (then again at most once per HELD_STUCK): the caller
 *	has the connection dropped so that cifs reconnects the tree
 *
 * Callable with preemption disabled (smbvn_conns_lock is raw).
 *
 * Return: true if the tree was accepted since @server's last NEGOTIATE;
 * if smbvn has no record of @server (a connection negotiated before
 * smbvn loaded, which renegotiate_existing makes it renegotiate; or one
 * refused as negotiate-not-captured, whose tree connects fail anyway);
 * or if a binding of @server was validated on its current NEGOTIATE (see
 * smbvn_conn_bound()).
 */
bool smbvn_conn_tree_usable(const void *server, u64 session_id, u32 tree_id,
			    unsigned long now, bool *stuck)
{
	struct tree_ref t = { session_id, tree_id };
	struct conn_rec *r;
	bool ok = true;

	*stuck = false;
	raw_spin_lock(&smbvn_conns_lock);
	r = smbvn_conns_find(server);
	if (r && !r->bound && !tree_listed(r, session_id, tree_id)) {
		ok = false;
		if (!r->held_since || r->held.session_id != session_id ||
		    r->held.tree_id != tree_id) {
			r->held = t;
			r->held_since = now ? : 1;
		} else if (time_after(now, r->held_since + HELD_STUCK)) {
			*stuck = true;
			r->held_since = now ? : 1;
		}
	}
	raw_spin_unlock(&smbvn_conns_lock);
	return ok;
}

/**
 * smbvn_conn_bound() - a binding of @server was validated
 * @server: struct TCP_Server_Info of a channel whose binding smbvn
 *	validated on the connection's current NEGOTIATE (channel.c)
 *
 * A primary that reconnects while another channel is up only binds again:
 * cifs runs no tree connect, so no tree would ever be accepted on its new
 * NEGOTIATE, yet cifs goes on using the session's trees on it (gate review
 * F1).  Its validated binding proves that NEGOTIATE: until the next one,
 * no request on @server is held back.  Only a validated binding counts: a
 * session that merely had channels once proves nothing about a later
 * NEGOTIATE (a primary whose reconnect lost MULTI_CHANNEL has cifs drop
 * the other channels and set the session up again without a binding or a
 * tree connect: its requests are held until the connection is dropped
 * and its trees reconnect).
 */
void smbvn_conn_bound(const void *server)
{
	struct conn_rec *r;

	raw_spin_lock(&smbvn_conns_lock);
	r = smbvn_conns_find(server);
	if (r)
		r->bound = true;
	raw_spin_unlock(&smbvn_conns_lock);
}
