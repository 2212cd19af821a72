// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dropping every channel of a session whose channel was refused when it
 * bound again (security review M4).  The caller is inside cifs' session
 * setup and holds the session_mutex.  Shutting a socket down is safe
 * there: cifs itself takes the server mutex under the session_mutex.
 * Giving a connection reference back is not: if it is the last one,
 * cifs_put_tcp_session() waits for the connection's reconnect work, and
 * that work takes the same session_mutex to set the session up again.
 * So the sockets go down at once and the references are given back later,
 * from a work item (security review, M4 follow-up finding 4), every one
 * of them: cifs may give up the session's own reference to a channel
 * meanwhile, so none of ours is known not to be the last.
 */
#include <linux/llist.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include "smbvn.h"
#include "smbvn_cifs.h"

/* cifsglob.h: CIFS_MAX_CHANNELS */
#define MAX_CHANNELS	16

static spinlock_t *cifs_var_conn_list_lock;
static void (*cifs_fn_put_conn)(void *server, int from_reconnect);

/* One refusal's references, waiting for the work item. */
struct pending_puts {
	struct llist_node node;
	unsigned int n;
	void *servers[MAX_CHANNELS];
};

static LLIST_HEAD(pending);

static void put_pending_fn(struct work_struct *work)
{
	struct llist_node *all = llist_del_all(&pending);
	struct pending_puts *p, *next;
	unsigned int i;

	llist_for_each_entry_safe(p, next, all, node) {
		for (i = 0; i < p->n; i++)
			cifs_fn_put_conn(p->servers[i], 0);
		kfree(p);
	}
}

static DECLARE_WORK(put_work, put_pending_fn);

/**
 * smbvn_drop_channels_resolve() - find what smbvn_drop_channels() calls
 * @cifs: the cifs module being hooked (NULL in KUnit)
 *
 * Return: 0, or -ENOENT if cifs_tcp_ses_lock or cifs_put_tcp_session is
 * missing.
 */
int smbvn_drop_channels_resolve(struct module *cifs)
{
	cifs_var_conn_list_lock = (void *)smbvn_cifs_symbol("cifs_tcp_ses_lock",
							    cifs);
	cifs_fn_put_conn = (void *)smbvn_cifs_symbol("cifs_put_tcp_session",
						     cifs);
	return cifs_var_conn_list_lock && cifs_fn_put_conn ? 0 : -ENOENT;
}

/**
 * smbvn_drop_channels() - drop every channel of a multichannel session
 * @ses: struct cifs_ses one of whose channels was refused when it bound
 *	again after a reconnect; its session_mutex may be held
 *
 * The refusal shows someone on the path to the server while the session
 * was in use: every channel renegotiates and is validated again (security
 * review M4).  A reference (srv_count, taken under cifs_tcp_ses_lock and
 * then chan_lock: cifs' own order) keeps each connection alive while its
 * socket is shut down, before this returns; the references go back from a
 * work item, outside the session_mutex.  Process context (sleeps).
 */
void smbvn_drop_channels(void *ses)
{
	spinlock_t *chan_lock = &FIELD(ses, SMBVN_OFF_SES_CHAN_LOCK, spinlock_t);
	const char *chan = &FIELD(ses, SMBVN_OFF_SES_CHANS, const char);
	struct pending_puts *p;
	unsigned int i, count;

	if (WARN_ON_ONCE(!cifs_var_conn_list_lock))
		return;
	/*
	 * Without memory nothing is taken and nothing dropped: the refused
	 * channel goes down with the refusal itself, and each other channel
	 * was proven on its own when it bound.
	 */
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return;
	spin_lock(cifs_var_conn_list_lock);
	spin_lock(chan_lock);
	count = min_t(size_t, FIELD(ses, SMBVN_OFF_SES_CHAN_COUNT, size_t),
		      min(SMBVN_LEN_SES_CHANS, MAX_CHANNELS));
	for (i = 0; i < count; i++, chan += SMBVN_SIZE_CHAN) {
		void *server = FIELD(chan, SMBVN_OFF_CHAN_SERVER, void *);

		if (!server)
			continue;
		FIELD(server, SMBVN_OFF_SRV_COUNT, int)++;
		p->servers[p->n++] = server;
	}
	spin_unlock(chan_lock);
	spin_unlock(cifs_var_conn_list_lock);
	for (i = 0; i < p->n; i++)
		smbvn_drop_connection(p->servers[i]);
	llist_add(&p->node, &pending);
	/*
	 * system_long_wq: a put that turns out to be the last one waits
	 * for the connection's reconnect work, i.e. until the caller has
	 * let go of the session_mutex.
	 */
	queue_work(system_long_wq, &put_work);
}

/**
 * smbvn_drop_channels_flush() - give back every reference still pending
 *
 * When smbvn is unloaded, after the hooks are gone (nothing queues any
 * more) and before cifs may go.  Sleeps.
 */
void smbvn_drop_channels_flush(void)
{
	flush_work(&put_work);
}
