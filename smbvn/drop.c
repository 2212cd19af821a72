// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dropping a cifs connection so that it renegotiates, where smbvn sees
 * the NEGOTIATE, and revalidates on the reconnect that follows: after a
 * refusal, and at load for every connection cifs opened before smbvn
 * hooked it.  Those were negotiated where smbvn could not see, and a mount
 * made before "modprobe smbvn" would otherwise go on unvalidated until it
 * happened to reconnect (security review M6).
 */
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "smbvn.h"
#include "smbvn_cifs.h"

/**
 * smbvn_drop_connection() - make cifs reconnect @server
 * @server: struct TCP_Server_Info
 *
 * Shuts its socket down: cifs' demultiplex thread sees the socket fail
 * and reconnects, renegotiating (and so revalidating) before any further
 * use.  The server mutex is what cifs itself holds around the socket.
 * Sleeps.
 */
void smbvn_drop_connection(void *server)
{
	struct mutex *m = &FIELD(server, SMBVN_OFF_SRV_MUTEX, struct mutex);
	struct socket *sock;

	mutex_lock(m);
	sock = FIELD(server, SMBVN_OFF_SRV_SSOCKET, struct socket *);
	if (sock)
		kernel_sock_shutdown(sock, SHUT_RDWR);
	mutex_unlock(m);
}

/*
 * Connections past this many are left as they are (and counted in the log
 * line); they are refused at their next tree connect, if one comes.
 */
#define MAX_EXISTING	256

/* cifs' list of connections, its lock, and the put that goes with a get */
static struct list_head *cifs_var_conn_list;
static spinlock_t *cifs_var_conn_list_lock;
static void (*cifs_fn_put_conn)(void *server, int from_reconnect);

/**
 * smbvn_drop_resolve() - find cifs' connection list and what guards it
 * @cifs: the cifs module being hooked
 *
 * Return: 0, or -ENOENT (logged) if a symbol is missing.
 */
int smbvn_drop_resolve(struct module *cifs)
{
	cifs_var_conn_list = (void *)smbvn_cifs_symbol("cifs_tcp_ses_list",
						       cifs);
	cifs_var_conn_list_lock = (void *)smbvn_cifs_symbol("cifs_tcp_ses_lock",
							    cifs);
	cifs_fn_put_conn = (void *)smbvn_cifs_symbol("cifs_put_tcp_session",
						     cifs);
	if (!cifs_var_conn_list || !cifs_var_conn_list_lock ||
	    !cifs_fn_put_conn)
		return -ENOENT;
	return smbvn_drop_channels_resolve(cifs);
}

/*
 * Up to @max connections on cifs' list (@only alone, if not NULL), each
 * with a reference taken under cifs_tcp_ses_lock (srv_count, as cifs
 * does), into @servers.  Returns how many; *@skipped counts the rest.
 */
static unsigned int get_listed(const void *only, void **servers,
			       unsigned int max, unsigned int *skipped)
{
	struct list_head *pos;
	unsigned int n = 0;

	*skipped = 0;
	spin_lock(cifs_var_conn_list_lock);
	list_for_each(pos, cifs_var_conn_list) {
		void *server = (char *)pos - SMBVN_OFF_SRV_TCP_SES_LIST;

		if (only && server != only)
			continue;
		if (n == max) {
			(*skipped)++;
			continue;
		}
		FIELD(server, SMBVN_OFF_SRV_COUNT, int)++;
		servers[n++] = server;
	}
	spin_unlock(cifs_var_conn_list_lock);
	return n;
}

/* Drop each of @servers outside cifs' lock, then give its reference back. */
static void drop_and_put(void **servers, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		smbvn_drop_connection(servers[i]);
		cifs_fn_put_conn(servers[i], 0);
	}
}

/**
 * smbvn_drop_listed() - drop @server if it is still one of cifs'
 * @server: a struct TCP_Server_Info smbvn saw earlier, possibly freed
 *	since: it is only touched once found on cifs' list
 *
 * Process context (sleeps); for the gate's stuck trees (gate.c).
 */
void smbvn_drop_listed(const void *server)
{
	void *found;
	unsigned int skipped;

	if (cifs_var_conn_list &&
	    get_listed(server, &found, 1, &skipped))
		drop_and_put(&found, 1);
}

/**
 * smbvn_drop_existing() - drop every connection cifs already has
 * @cifs: the cifs module just hooked (smbvn_drop_resolve() done)
 *
 * Walks cifs_tcp_ses_list under cifs_tcp_ses_lock, taking a reference on
 * each connection (srv_count, as cifs does), then shuts each one's socket
 * down outside the lock and gives the reference back with
 * cifs_put_tcp_session().  3.1.1 connections too: their tree connects
 * were never checked for the server's signature.  Logs how many were
 * dropped.
 *
 * Return: the number of connections dropped, or -ENOMEM.
 */
int smbvn_drop_existing(struct module *cifs)
{
	unsigned int n, skipped;
	void **servers;

	servers = kcalloc(MAX_EXISTING, sizeof(*servers), GFP_KERNEL);
	if (!servers)
		return -ENOMEM;
	n = get_listed(NULL, servers, MAX_EXISTING, &skipped);
	drop_and_put(servers, n);
	kfree(servers);
	if (n || skipped)
		pr_info("smbvn: %u SMB connections made before smbvn renegotiate now (%u left as they are)\n",
			n, skipped);
	return n;
}
