// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which requests cifs may send (security review L6).  cifs gates requests
 * on a reconnecting tree in smb2_reconnect(), but skips IOCTLs there, and
 * a request built before a connection dropped goes out after its new
 * NEGOTIATE with the tree of the old one.  Either could reach a tree
 * before smbvn validated it; smbvn holds such requests back instead.
 */
#include "smbvn.h"
#include "smbvn_cifs.h"

/**
 * smbvn_request_allowed() - may cifs send this request now?
 * @server: struct TCP_Server_Info the request goes out on: a session's
 *	primary connection or one of its channels
 * @pdu: the request, SMB2 header first (MS-SMB2 2.2.1.2), as cifs built
 *	it: before signing and encryption
 * @len: bytes of @pdu (the first kvec of the request)
 *
 * A tree belongs to the session's primary connection, where smbvn judged
 * its tree connect; a channel carries the trees of its primary.  Runs in
 * cifs' send path with preemption disabled: takes only raw locks.
 *
 * Return: true to let cifs send, always with require_secure_negotiate=0;
 * false if the request uses a tree not accepted since the connection's
 * last NEGOTIATE (counted as requests_held_back).
 */
bool smbvn_request_allowed(const void *server, const u8 *pdu, size_t len)
{
	const void *primary;
	u64 session_id;
	u32 tree_id;

	if (!READ_ONCE(smbvn_enforce) ||
	    !smbvn_req_uses_tree(pdu, len, &session_id, &tree_id))
		return true;
	primary = FIELD(server, SMBVN_OFF_SRV_PRIMARY_SERVER, const void *);
	if (smbvn_conn_tree_usable(primary ?: server, session_id, tree_id))
		return true;
	smbvn_stat_inc(SMBVN_STAT_HELD_BACK);
	return false;
}
