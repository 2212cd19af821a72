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
#include "smbvn.h"
#include "smbvn_cifs.h"
#include "smbvn_conns.h"

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
 * A raw lock: it is taken inside ftrace callbacks, where a spinlock_t,
 * which sleeps on PREEMPT_RT, may not be.  Nothing under it allocates,
 * frees or takes another lock.  trees.c takes it too.
 */
DEFINE_RAW_SPINLOCK(smbvn_conns_lock);
static DEFINE_HASHTABLE(conns, CONNS_HASH_BITS);
static unsigned int conns_count;
static u32 conns_clock;

/**
 * smbvn_conns_find() - the record of a connection, if there is one
 * @server: struct TCP_Server_Info
 *
 * Caller holds smbvn_conns_lock.
 *
 * Return: the record, or NULL.
 */
struct conn_rec *smbvn_conns_find(const void *server)
{
	struct conn_rec *r;

	hash_for_each_possible(conns, r, node, (unsigned long)server)
		if (r->c.server == server)
			return r;
	return NULL;
}

/*
 * A new NEGOTIATE generation on the connection: a new stamp, and no tree
 * accepted on it yet.
 */
static void new_generation(struct conn_rec *r)
{
	r->c.stamp = ++conns_clock;
	smbvn_trees_new_generation(r);
}

/*
 * Record of @server, creating one from the pool if asked to.  Called
 * under smbvn_conns_lock; the caller runs smbvn_conns_spare_check()
 * once it dropped it.
 */
static struct smbvn_conn *conn_slot(const void *server, bool create)
{
	struct conn_rec *r = smbvn_conns_find(server);

	if (r)
		return &r->c;
	if (!create || conns_count >= CONNS_MAX)
		return NULL;
	r = smbvn_conns_spare_take();
	if (!r)
		return NULL;
	memset(&r->c, 0, sizeof(r->c));
	smbvn_trees_new_generation(r);
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

	raw_spin_lock(&smbvn_conns_lock);
	hash_for_each_possible_safe(conns, r, tmp, node, (unsigned long)server) {
		if (r->c.server != server)
			continue;
		hash_del(&r->node);
		conns_count--;
		smbvn_conns_spare_put(r);
		break;
	}
	raw_spin_unlock(&smbvn_conns_lock);
	smbvn_conns_spare_check();
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

	smbvn_conns_spare_stop();
	raw_spin_lock(&smbvn_conns_lock);
	hash_for_each_safe(conns, b, tmp, r, node) {
		hash_del(&r->node);
		hlist_add_head(&r->node, &all);
	}
	smbvn_conns_spare_drain(&all);
	conns_count = 0;
	raw_spin_unlock(&smbvn_conns_lock);
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

	raw_spin_lock(&smbvn_conns_lock);
	c = conn_slot(server, true);
	if (!c) {
		raw_spin_unlock(&smbvn_conns_lock);
		smbvn_conns_spare_check();
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
	}
	c->have_req = ok;
	c->have_rsp = false;
	new_generation(r);
	if (ok)
		c->req = req;
	raw_spin_unlock(&smbvn_conns_lock);
	smbvn_conns_spare_check();
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

	raw_spin_lock(&smbvn_conns_lock);
	c = conn_slot(server, false);
	if (c) {
		c->have_rsp = ok;
		if (ok)
			c->rsp = rsp;
	}
	raw_spin_unlock(&smbvn_conns_lock);
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

	raw_spin_lock(&smbvn_conns_lock);
	c = conn_slot(server, false);
	if (c) {
		*snap = *c;
		if (!enforce && !c->logged_disabled) {
			c->logged_disabled = true;
			*log_disabled = true;
		}
	}
	raw_spin_unlock(&smbvn_conns_lock);
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

	raw_spin_lock(&smbvn_conns_lock);
	c = conn_slot(server, true);
	if (!c) {
		/* No record to be had: no hold, the refusal stands alone. */
		raw_spin_unlock(&smbvn_conns_lock);
		smbvn_conns_spare_check();
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
	raw_spin_unlock(&smbvn_conns_lock);
	smbvn_conns_spare_check();
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

	raw_spin_lock(&smbvn_conns_lock);
	c = conn_slot(server, false);
	if (c && c->refused_until && time_before(jiffies, c->refused_until))
		left = c->refused_until - jiffies;
	raw_spin_unlock(&smbvn_conns_lock);
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

	raw_spin_lock(&smbvn_conns_lock);
	c = conn_slot(server, false);
	if (c)
		c->validated = true;
	raw_spin_unlock(&smbvn_conns_lock);
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

	raw_spin_lock(&smbvn_conns_lock);
	c = conn_slot(server, false);
	ok = c && c->have_req && c->have_rsp;
	if (ok)
		*rsp = c->rsp;
	raw_spin_unlock(&smbvn_conns_lock);
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

	raw_spin_lock(&smbvn_conns_lock);
	c = conn_slot(server, false);
	stamp = c ? c->stamp : 0;
	raw_spin_unlock(&smbvn_conns_lock);
	return stamp;
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
	struct conn_rec *r;

	raw_spin_lock(&smbvn_conns_lock);
	r = smbvn_conns_find(server);
	if (r)
		new_generation(r);
	raw_spin_unlock(&smbvn_conns_lock);
}
