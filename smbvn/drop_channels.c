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
 * from a work item (security review, M4 follow-up finding 4).
 */
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include "smbvn.h"
#include "smbvn_cifs.h"

/* cifsglob.h: CIFS_MAX_CHANNELS */
#define MAX_CHANNELS	16
/*
 * References waiting to be given back.  Each refused re-bind adds one per
 * channel, and the work item empties the list within milliseconds; past
 * this many, references are given back at once (see queue_puts()).
 */
#define MAX_PENDING	(4 * MAX_CHANNELS)

static spinlock_t *cifs_var_conn_list_lock;
static void (*cifs_fn_put_conn)(void *server, int from_reconnect);

static DEFINE_SPINLOCK(pending_lock);
static void *pending[MAX_PENDING];
static unsigned int npending;

static void put_pending_fn(struct work_struct *work)
{
	void *batch[MAX_PENDING];
	unsigned int n, i;

	spin_lock(&pending_lock);
	n = npending;
	memcpy(batch, pending, n * sizeof(*batch));
	npending = 0;
	spin_unlock(&pending_lock);
	for (i = 0; i < n; i++)
		cifs_fn_put_conn(batch[i], 0);
}

static DECLARE_WORK(put_work, put_pending_fn);

/*
 * Hands @n references to the work item.  Those that do not fit are given
 * back here: that needs more than MAX_PENDING channels refused at once,
 * and then each of them is still on its session, which holds a reference
 * of its own, so this one is not the last.
 */
static void queue_puts(void **servers, unsigned int n)
{
	unsigned int queued, i;

	spin_lock(&pending_lock);
	queued = min(n, MAX_PENDING - npending);
	memcpy(&pending[npending], servers, queued * sizeof(*servers));
	npending += queued;
	spin_unlock(&pending_lock);
	if (queued)
		schedule_work(&put_work);
	for (i = queued; i < n; i++)
		cifs_fn_put_conn(servers[i], 0);
}

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
	void *servers[MAX_CHANNELS];
	unsigned int n = 0, i, count;

	if (!cifs_var_conn_list_lock)
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
		servers[n++] = server;
	}
	spin_unlock(chan_lock);
	spin_unlock(cifs_var_conn_list_lock);
	for (i = 0; i < n; i++)
		smbvn_drop_connection(servers[i]);
	queue_puts(servers, n);
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
