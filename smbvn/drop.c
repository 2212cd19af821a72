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

/**
 * smbvn_drop_existing() - drop every connection cifs already has
 * @cifs: the cifs module just hooked
 *
 * Walks cifs_tcp_ses_list under cifs_tcp_ses_lock, taking a reference on
 * each connection (srv_count, as cifs does), then shuts each one's socket
 * down outside the lock and gives the reference back with
 * cifs_put_tcp_session().  3.1.1 connections too: their tree connects
 * were never checked for the server's signature.  Logs how many were
 * dropped.
 *
 * Return: the number of connections dropped, or -ENOENT if cifs' list
 * cannot be found (logged; the connections are then refused at their next
 * tree connect instead).
 */
int smbvn_drop_existing(struct module *cifs)
{
	struct list_head *head, *pos;
	spinlock_t *lock;	/* cifs_tcp_ses_lock, guards @head */
	void (*put)(void *server, int from_reconnect);
	void **servers;
	unsigned int n = 0, skipped = 0, i;

	head = (void *)smbvn_cifs_symbol("cifs_tcp_ses_list", cifs);
	lock = (void *)smbvn_cifs_symbol("cifs_tcp_ses_lock", cifs);
	put = (void *)smbvn_cifs_symbol("cifs_put_tcp_session", cifs);
	if (!head || !lock || !put)
		return -ENOENT;
	servers = kcalloc(MAX_EXISTING, sizeof(*servers), GFP_KERNEL);
	if (!servers)
		return -ENOMEM;
	spin_lock(lock);
	list_for_each(pos, head) {
		void *server = (char *)pos - SMBVN_OFF_SRV_TCP_SES_LIST;

		if (n == MAX_EXISTING) {
			skipped++;
			continue;
		}
		FIELD(server, SMBVN_OFF_SRV_COUNT, int)++;
		servers[n++] = server;
	}
	spin_unlock(lock);
	for (i = 0; i < n; i++) {
		smbvn_drop_connection(servers[i]);
		put(servers[i], 0);
	}
	kfree(servers);
	if (n || skipped)
		pr_info("smbvn: %u SMB connections made before smbvn renegotiate now (%u left as they are)\n",
			n, skipped);
	return n;
}
