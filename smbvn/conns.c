// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per TCP connection (struct TCP_Server_Info), what its last NEGOTIATE
 * sent and received, as smbvn captured them, and what smbvn decided about
 * it since.  Every validation is judged against these records.
 */
#include <linux/hashtable.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include "smbvn.h"
#include "smbvn_cifs.h"

/*
 * One record per live connection, found by its address, dropped when cifs
 * lets go of the connection: no fixed table whose eviction would cost a
 * live validated connection its record (security review L9).  The cap only
 * bounds memory should cifs free connections smbvn never sees released;
 * past it, a new connection has no record and is refused as
 * negotiate-not-captured, never let through.
 */
#define CONNS_HASH_BITS		8
#define CONNS_MAX		16384

/*
 * Records are created by the NEGOTIATE observer, an ftrace callback that
 * runs with preemption disabled, and freed by another.  No allocator may
 * be called there on PREEMPT_RT, so both sides use a pool of spare
 * records that a work item keeps between SPARE_LOW and SPARE_MAX in
 * process context.  A NEGOTIATE that finds the pool empty (a burst of
 * more new connections than SPARE_LOW before the work ran) leaves its
 * connection without a record: refused, as above, and renegotiated.
 */
#define SPARE_LOW		16
#define SPARE_TARGET		64
#define SPARE_MAX		256

/*
 * The trees a connection may carry requests for (security review L6):
 * each tree connect accepted since its last NEGOTIATE, by SessionId and
 * TreeId (a TreeId is unique only within its session).  A connection with
 * more trees than fit stops telling them apart: every tree on it is then
 * usable once one was accepted, as before smbvn held requests back.
 */
#define TREES_MAX		32

struct tree_ref {
	u64 session_id;
	u32 tree_id;
};

struct conn_rec {
	struct hlist_node node;
	struct smbvn_conn c;
	unsigned int ntrees;	/* TREES_MAX + 1: more than fit */
	struct tree_ref trees[TREES_MAX];
	/* the tree requests were last held back for, and since when */
	struct tree_ref held;
	unsigned long held_since;	/* jiffies; 0: none held */
	bool multichannel;	/* a session on it has bound other channels */
};

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

/* What a new NEGOTIATE generation starts with: no tree, or all of them. */
static unsigned int trees_at_negotiate(void)
{
	return READ_ONCE(gate_armed) ? 0 : TREES_MAX + 1;
}

/*
 * A raw lock: it is taken inside ftrace callbacks, where a spinlock_t,
 * which sleeps on PREEMPT_RT, may not be.  Nothing under it allocates,
 * frees or takes another lock.
 */
static DEFINE_RAW_SPINLOCK(conns_lock);
static DEFINE_HASHTABLE(conns, CONNS_HASH_BITS);
static HLIST_HEAD(spare);
static unsigned int spare_count;
static unsigned int conns_count;
static u32 conns_clock;

static void spare_work_fn(struct work_struct *work)
{
	smbvn_conns_refill();
}

static DECLARE_WORK(spare_work, spare_work_fn);

/*
 * After conns_lock is dropped: have the work restock or trim the pool.
 * queue_work() is safe with preemption disabled, on PREEMPT_RT too.
 */
static void spare_check(void)
{
	unsigned int n = READ_ONCE(spare_count);

	if (n < SPARE_LOW || n > SPARE_MAX)
		schedule_work(&spare_work);
}

/**
 * smbvn_conns_refill() - bring the pool of spare records to its target
 *
 * Allocates up to SPARE_TARGET spare records and frees those past
 * SPARE_MAX.  Process context only (GFP_KERNEL); called at load and from
 * the pool's work item.  An allocation failure leaves the pool short,
 * which costs new connections their record (refused), never a check.
 */
void smbvn_conns_refill(void)
{
	struct conn_rec *r;

	for (;;) {
		raw_spin_lock(&conns_lock);
		if (spare_count > SPARE_MAX) {
			r = hlist_entry(spare.first, struct conn_rec, node);
			hlist_del(&r->node);
			spare_count--;
			raw_spin_unlock(&conns_lock);
			kfree(r);
			continue;
		}
		raw_spin_unlock(&conns_lock);
		if (READ_ONCE(spare_count) >= SPARE_TARGET)
			return;
		r = kzalloc(sizeof(*r), GFP_KERNEL);
		if (!r)
			return;
		raw_spin_lock(&conns_lock);
		hlist_add_head(&r->node, &spare);
		spare_count++;
		raw_spin_unlock(&conns_lock);
	}
}

/*
 * Record of @server, creating one from the pool if asked to.  Called
 * under conns_lock; the caller runs spare_check() once it dropped it.
 */
static struct smbvn_conn *conn_slot(const void *server, bool create)
{
	struct conn_rec *r;

	hash_for_each_possible(conns, r, node, (unsigned long)server)
		if (r->c.server == server)
			return &r->c;
	if (!create || conns_count >= CONNS_MAX || hlist_empty(&spare))
		return NULL;
	r = hlist_entry(spare.first, struct conn_rec, node);
	hlist_del(&r->node);
	spare_count--;
	memset(&r->c, 0, sizeof(r->c));
	r->ntrees = trees_at_negotiate();
	r->held_since = 0;
	r->multichannel = false;
	r->c.server = server;
	hash_add(conns, &r->node, (unsigned long)server);
	conns_count++;
	return &r->c;
}

/**
 * smbvn_conn_forget() - drop the record of a connection cifs is freeing
 * @server: struct TCP_Server_Info that cifs took off its list for good
 *
 * Called from the cifs_crypto_secmech_release() observer, which cifs runs
 * only after the last reference is gone; a record freed then can no
 * longer be wanted by a new mount sharing the connection.
 */
void smbvn_conn_forget(const void *server)
{
	struct conn_rec *r;
	struct hlist_node *tmp;

	raw_spin_lock(&conns_lock);
	hash_for_each_possible_safe(conns, r, tmp, node, (unsigned long)server) {
		if (r->c.server != server)
			continue;
		hash_del(&r->node);
		conns_count--;
		hlist_add_head(&r->node, &spare);
		spare_count++;
		break;
	}
	raw_spin_unlock(&conns_lock);
	spare_check();
}

/**
 * smbvn_conns_exit() - free every record, when smbvn is unloaded
 *
 * After the hooks are gone: nothing creates or releases records any more.
 */
void smbvn_conns_exit(void)
{
	struct conn_rec *r;
	struct hlist_node *tmp;
	HLIST_HEAD(all);
	unsigned int b;

	cancel_work_sync(&spare_work);
	raw_spin_lock(&conns_lock);
	hash_for_each_safe(conns, b, tmp, r, node) {
		hash_del(&r->node);
		hlist_add_head(&r->node, &all);
	}
	hlist_for_each_entry_safe(r, tmp, &spare, node) {
		hlist_del(&r->node);
		hlist_add_head(&r->node, &all);
	}
	conns_count = 0;
	spare_count = 0;
	raw_spin_unlock(&conns_lock);
	hlist_for_each_entry_safe(r, tmp, &all, node)
		kfree(r);
}

/**
 * smbvn_conn_neg_req() - record a NEGOTIATE request as cifs sends it
 * @server: struct TCP_Server_Info it goes out on
 * @pdu: the request, SMB2 header first (MS-SMB2 2.2.3)
 * @len: bytes of @pdu
 *
 * Starts a new NEGOTIATE generation (stamp) for @server.
 */
void smbvn_conn_neg_req(const void *server, const u8 *pdu, size_t len)
{
	struct smbvn_neg_req req;
	bool ok = !smbvn_parse_neg_req(pdu, len, &req);
	struct smbvn_conn *c;
	struct conn_rec *r;

	raw_spin_lock(&conns_lock);
	c = conn_slot(server, true);
	if (!c) {
		raw_spin_unlock(&conns_lock);
		spare_check();
		return;
	}
	/*
	 * cifs keeps its ClientGuid across reconnects of one TCP session and
	 * draws a new one per session, so a different GUID at the same
	 * address is a new session in recycled memory: forget the old one.
	 */
	r = container_of(c, struct conn_rec, c);
	if (!ok || memcmp(c->req.guid, req.guid, SMBVN_GUID_LEN)) {
		c->logged_disabled = false;
		c->validated = false;
		c->refused_until = 0;
		r->multichannel = false;
	}
	c->have_req = ok;
	c->have_rsp = false;
	c->stamp = ++conns_clock;
	r->ntrees = trees_at_negotiate();
	r->held_since = 0;
	if (ok)
		c->req = req;
	raw_spin_unlock(&conns_lock);
	spare_check();
}

/**
 * smbvn_conn_neg_rsp() - record the NEGOTIATE response, raw
 * @server: struct TCP_Server_Info it arrived on
 * @pdu: the response, SMB2 header first (MS-SMB2 2.2.4)
 * @len: bytes of @pdu
 */
void smbvn_conn_neg_rsp(const void *server, const u8 *pdu, size_t len)
{
	struct smbvn_neg_rsp rsp;
	bool ok = !smbvn_parse_neg_rsp(pdu, len, &rsp);
	struct smbvn_conn *c;

	raw_spin_lock(&conns_lock);
	c = conn_slot(server, false);
	if (c) {
		c->have_rsp = ok;
		if (ok)
			c->rsp = rsp;
	}
	raw_spin_unlock(&conns_lock);
}

/**
 * smbvn_conn_snapshot() - copy the record of @server
 * @server: struct TCP_Server_Info
 * @enforce: require_secure_negotiate as the caller read it
 * @snap: zeroed by the caller; the record, if there is one
 * @log_disabled: set when @enforce is 0 and this connection has not yet
 *	been logged as unvalidated (it is then marked logged)
 *
 * Return: true if smbvn has a record for @server.
 */
bool smbvn_conn_snapshot(const void *server, bool enforce,
			 struct smbvn_conn *snap, bool *log_disabled)
{
	struct smbvn_conn *c;

	raw_spin_lock(&conns_lock);
	c = conn_slot(server, false);
	if (c) {
		*snap = *c;
		if (!enforce && !c->logged_disabled) {
			c->logged_disabled = true;
			*log_disabled = true;
		}
	}
	raw_spin_unlock(&conns_lock);
	return c;
}

/*
 * After a refusal every tree connect on the connection fails fast for a
 * short while, whatever reconnect cifs starts meanwhile: the rest of the
 * same mount (IPC$, then the share) then reports the same errno instead of
 * whatever transport error the dropped socket produces.  Afterwards cifs'
 * reconnects are validated afresh.
 */
#define REFUSE_HOLD	(10 * HZ)

/**
 * smbvn_conn_hold() - refuse every tree connect on @server for a while
 * @server: struct TCP_Server_Info a tampering verdict was reached on
 */
void smbvn_conn_hold(const void *server)
{
	struct smbvn_conn *c;

	raw_spin_lock(&conns_lock);
	c = conn_slot(server, true);
	if (!c) {
		/* No record to be had: no hold, the refusal stands alone. */
		raw_spin_unlock(&conns_lock);
		spare_check();
		return;
	}
	/*
	 * A connection negotiated before smbvn loaded has no record: take
	 * its ClientGuid from cifs so that the hold survives its reconnect
	 * like any other, and a new session in recycled memory clears it.
	 */
	if (!c->have_req)
		memcpy(c->req.guid, &FIELD(server, SMBVN_OFF_SRV_CLIENT_GUID, u8),
		       SMBVN_GUID_LEN);
	c->refused_until = jiffies + REFUSE_HOLD ? : 1;
	raw_spin_unlock(&conns_lock);
	spare_check();
}

/**
 * smbvn_conn_hold_left() - how long the hold of a refusal on @server lasts
 * @server: struct TCP_Server_Info
 *
 * Return: jiffies left of the hold set by smbvn_conn_hold(), 0 if none.
 */
unsigned long smbvn_conn_hold_left(const void *server)
{
	struct smbvn_conn *c;
	unsigned long left = 0;

	raw_spin_lock(&conns_lock);
	c = conn_slot(server, false);
	if (c && c->refused_until && time_before(jiffies, c->refused_until))
		left = c->refused_until - jiffies;
	raw_spin_unlock(&conns_lock);
	return left;
}

/**
 * smbvn_conn_held() - is @server within the hold of a refusal?
 * @server: struct TCP_Server_Info
 *
 * Return: true while the hold set by smbvn_conn_hold() lasts.
 */
bool smbvn_conn_held(const void *server)
{
	return smbvn_conn_hold_left(server);
}

/**
 * smbvn_conn_validated() - note that a validation passed on @server
 * @server: struct TCP_Server_Info
 */
void smbvn_conn_validated(const void *server)
{
	struct smbvn_conn *c;

	raw_spin_lock(&conns_lock);
	c = conn_slot(server, false);
	if (c)
		c->validated = true;
	raw_spin_unlock(&conns_lock);
}

/**
 * smbvn_conn_rsp() - what NEGOTIATE answered on @server, if smbvn saw it
 * @server: struct TCP_Server_Info
 * @rsp: filled in when the record is complete
 *
 * Return: true if smbvn saw both the request and the response.
 */
bool smbvn_conn_rsp(const void *server, struct smbvn_neg_rsp *rsp)
{
	struct smbvn_conn *c;
	bool ok;

	raw_spin_lock(&conns_lock);
	c = conn_slot(server, false);
	ok = c && c->have_req && c->have_rsp;
	if (ok)
		*rsp = c->rsp;
	raw_spin_unlock(&conns_lock);
	return ok;
}

/**
 * smbvn_conn_stamp() - the NEGOTIATE generation of @server
 * @server: struct TCP_Server_Info
 *
 * Return: a number that changes with every NEGOTIATE request smbvn
 * records, or 0 if there is no record.
 */
u32 smbvn_conn_stamp(const void *server)
{
	struct smbvn_conn *c;
	u32 stamp;

	raw_spin_lock(&conns_lock);
	c = conn_slot(server, false);
	stamp = c ? c->stamp : 0;
	raw_spin_unlock(&conns_lock);
	return stamp;
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
	struct smbvn_conn *c;
	struct conn_rec *r;

	raw_spin_lock(&conns_lock);
	c = conn_slot(server, false);
	if (c && c->stamp == stamp) {
		r = container_of(c, struct conn_rec, c);
		if (!tree_listed(r, session_id, tree_id)) {
			if (r->ntrees < TREES_MAX)
				r->trees[r->ntrees] = (struct tree_ref) {
					session_id, tree_id };
			r->ntrees++;
		}
	}
	raw_spin_unlock(&conns_lock);
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
 * Callable with preemption disabled (conns_lock is raw).
 *
 * Return: true if the tree was accepted since @server's last NEGOTIATE;
 * if smbvn has no record of @server (a connection negotiated before
 * smbvn loaded, which renegotiate_existing makes it renegotiate; or one
 * refused as negotiate-not-captured, whose tree connects fail anyway);
 * or if a session on @server has bound other channels (see
 * smbvn_conn_multichannel()).
 */
bool smbvn_conn_tree_usable(const void *server, u64 session_id, u32 tree_id,
			    unsigned long now, bool *stuck)
{
	struct tree_ref t = { session_id, tree_id };
	struct smbvn_conn *c;
	struct conn_rec *r;
	bool ok = true;

	*stuck = false;
	raw_spin_lock(&conns_lock);
	c = conn_slot(server, false);
	r = c ? container_of(c, struct conn_rec, c) : NULL;
	if (r && !r->multichannel && !tree_listed(r, session_id, tree_id)) {
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
	raw_spin_unlock(&conns_lock);
	return ok;
}

/**
 * smbvn_conn_multichannel() - note that @server carries a multichannel
 *	session
 * @server: the primary struct TCP_Server_Info of a session that has bound
 *	another channel
 *
 * From then on no request on @server or its channels is held back.  A
 * primary that reconnects while another channel is up only binds again:
 * cifs runs no tree connect, so no tree of it would ever be accepted on
 * the new NEGOTIATE.  Channels are not validated when they bind
 * (security review M4), so holding back their requests proved little.
 */
void smbvn_conn_multichannel(const void *server)
{
	struct smbvn_conn *c;

	raw_spin_lock(&conns_lock);
	c = conn_slot(server, false);
	if (c)
		container_of(c, struct conn_rec, c)->multichannel = true;
	raw_spin_unlock(&conns_lock);
}

/**
 * smbvn_conn_socket() - note that cifs opens a new socket for @server
 * @server: struct TCP_Server_Info being (re)connected
 *
 * From the generic_ip_connect() observer.  A reconnect starts a new
 * NEGOTIATE generation at once, not only when the NEGOTIATE request goes
 * out: on 6.1 cifs was seen sending an FSCTL (MessageId 0) on the new
 * socket before its NEGOTIATE (CI, stress churn), with a tree accepted on
 * the old one.  A verdict still out on the old socket becomes
 * `renegotiated`.  The first connect of a connection has no record yet.
 */
void smbvn_conn_socket(const void *server)
{
	struct smbvn_conn *c;

	raw_spin_lock(&conns_lock);
	c = conn_slot(server, false);
	if (c) {
		c->stamp = ++conns_clock;
		container_of(c, struct conn_rec, c)->ntrees =
			trees_at_negotiate();
		container_of(c, struct conn_rec, c)->held_since = 0;
	}
	raw_spin_unlock(&conns_lock);
}
