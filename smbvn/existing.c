// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connections cifs opened before smbvn hooked it were negotiated where
 * smbvn could not see, and nothing validates them until they happen to
 * reconnect: a mount made before "modprobe smbvn" would go on unvalidated
 * indefinitely (security review M6).  At hook time every such connection
 * is dropped once, so that it renegotiates under smbvn and its tree
 * connects are validated on the reconnect that follows.
 */
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "smbvn.h"
#include "smbvn_cifs.h"

/* More are dropped on their next tree connect (negotiate-not-captured). */
#define MAX_EXISTING	256

/**
 * smbvn_renegotiate_existing() - drop every connection cifs already has
 * @cifs: the cifs module just hooked
 *
 * Walks cifs_tcp_ses_list under cifs_tcp_ses_lock, taking a reference on
 * each connection (srv_count, as cifs does), then shuts each one's socket
 * down outside the lock and gives the reference back with
 * cifs_put_tcp_session().  3.1.1 connections are left alone: smbvn has
 * nothing to replay on them.  Logs how many were dropped.
 *
 * Return: the number of connections dropped, or -ENOENT if cifs' list
 * cannot be found (logged; the connections are then refused at their next
 * tree connect instead).
 */
int smbvn_renegotiate_existing(struct module *cifs)
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

		if (FIELD(server, SMBVN_OFF_SRV_DIALECT, u16) ==
		    SMBVN_DIALECT_311 || n == MAX_EXISTING) {
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
