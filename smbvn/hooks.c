// SPDX-License-Identifier: GPL-2.0-only
/*
 * What runs in cifs: the observers that capture NEGOTIATE, the answers
 * smbvn waits for (its validate answer, a 3.1.1 tree connect's or
 * binding's) and the
 * transforms they arrive in, and the release of a connection; the
 * replacement of SMB2_tcon that validates every tree connect; the gates
 * that hold back requests on trees not accepted yet; and the table of
 * hooks main.c installs.
 */
#include <linux/err.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/uio.h>
#include "smbvn.h"
#include "smbvn_cifs.h"
#include "smbvn_fregs.h"

/* cifsglob.h: flag passed to compound_send_recv for NEGOTIATE */
#define CIFS_NEG_OP		0x0200

enum {
	HOOK_SEND, HOOK_SIGN, HOOK_CRYPT, HOOK_RECEIVE, HOOK_RELEASE,
	HOOK_CONNECT, HOOK_VALIDATE, HOOK_SESS_SETUP, HOOK_TCON, HOOK_SETUP,
	HOOK_SETUP_ASYNC
};

typedef int (*smb2_tcon_t)(const unsigned int xid, void *ses,
			   const char *tree, void *tcon, const void *cp);

/* compound_send_recv(xid, ses, server, flags, num_rqst, rqst, ...) */
static void notrace observe_send(unsigned long ip, unsigned long parent_ip,
				 struct ftrace_ops *ops,
				 struct ftrace_regs *fregs)
{
	const void *rqst;
	const struct kvec *iov;

	if (likely(!(FARG(fregs, SMBVN_ARG_CSR_FLAGS, int) & CIFS_NEG_OP)))
		return;
	rqst = FARG(fregs, SMBVN_ARG_CSR_RQST, const void *);
	if (FARG(fregs, SMBVN_ARG_CSR_NUM_RQST, int) != 1 || !rqst)
		return;
	iov = FIELD(rqst, SMBVN_OFF_RQST_IOV, const struct kvec *);
	if (!iov || FIELD(rqst, SMBVN_OFF_RQST_NVEC, unsigned int) < 1)
		return;
	smbvn_conn_neg_req(FARG(fregs, SMBVN_ARG_CSR_SERVER, const void *),
			   iov->iov_base, iov->iov_len);
}

/* smb2_sign_rqst(rqst, server): every SMB2 request, MessageId assigned. */
static void notrace observe_sign(unsigned long ip, unsigned long parent_ip,
				 struct ftrace_ops *ops,
				 struct ftrace_regs *fregs)
{
	const void *rqst;
	const struct kvec *iov;

	if (likely(!smbvn_exchange_pending()))
		return;
	rqst = FARG(fregs, SMBVN_ARG_SSR_RQST, const void *);
	iov = rqst ? FIELD(rqst, SMBVN_OFF_RQST_IOV, const struct kvec *) :
		     NULL;
	if (iov)
		smbvn_exchange_sent(iov->iov_base,
				    FARG(fregs, SMBVN_ARG_SSR_SERVER, const void *));
}

/*
 * cifs_crypto_secmech_release(server): cifs calls it on a connection only
 * once it is off cifs' list for good (its last put, under cifs' lock, or
 * a connection that failed before it was listed), just before freeing it.
 * The entry of cifs_put_tcp_session was too early: reading the count
 * there races with a new mount taking the connection (review of L9).
 */
static void notrace observe_release(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *ops,
				    struct ftrace_regs *fregs)
{
	const void *server = FARG(fregs, SMBVN_ARG_CSM_SERVER, const void *);

	if (server)
		smbvn_conn_forget(server);
}

/* generic_ip_connect(server): every connect and reconnect of a socket. */
static void notrace observe_connect(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *ops,
				    struct ftrace_regs *fregs)
{
	const void *server = FARG(fregs, SMBVN_ARG_GIC_SERVER, const void *);

	if (server)
		smbvn_conn_socket(server);
}

/*
 * crypt_message(server, num_rqst, rqst, enc, ...): every transform cifs
 * encrypts or decrypts; a decryption has the TRANSFORM_HEADER in iov[0].
 */
static void notrace observe_crypt(unsigned long ip, unsigned long parent_ip,
				  struct ftrace_ops *ops,
				  struct ftrace_regs *fregs)
{
	const void *rqst;
	const struct kvec *iov;

	if (likely(!smbvn_exchange_pending()) ||
	    FARG(fregs, SMBVN_ARG_CM_ENC, int))
		return;
	rqst = FARG(fregs, SMBVN_ARG_CM_RQST, const void *);
	iov = rqst ? FIELD(rqst, SMBVN_OFF_RQST_IOV, const struct kvec *) :
		     NULL;
	if (iov && iov->iov_len >= SMBVN_TRANSFORM_HDR_LEN)
		smbvn_exchange_decrypting(FARG(fregs, SMBVN_ARG_CM_SERVER,
					       const void *), iov->iov_base);
}

/*
 * smb2_check_receive(mid, server, log_error): sees every synchronous
 * response, and every write completion, before its caller does.  Only
 * NEGOTIATE responses and the answers smbvn waits for are of interest.
 */

static void notrace observe_receive(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *ops,
				    struct ftrace_regs *fregs)
{
	const void *mid = FARG(fregs, SMBVN_ARG_SCR_MID, const void *);
	u16 cmd = le16_to_cpu(FIELD(mid, SMBVN_OFF_MID_COMMAND, __le16));
	const void *server;
	const u8 *buf;

	/* Every data PDU: one load and a test of one word. */
	if (likely(!smbvn_rsp_watched(cmd)))
		return;
	server = FARG(fregs, SMBVN_ARG_SCR_SERVER, const void *);
	if (cmd == SMBVN_CMD_NEGOTIATE) {
		buf = FIELD(mid, SMBVN_OFF_MID_RESP_BUF, const u8 *);
		if (buf)
			smbvn_conn_neg_rsp(server, buf,
					   FIELD(mid, SMBVN_OFF_MID_RESP_BUF_SIZE,
						 unsigned int));
		return;
	}
	if (smbvn_exchange_pending())
		smbvn_exchange_capture(mid, server);
}

/*
 * Tasks inside smbvn_tcon, i.e. tree connects smbvn validates itself.
 * Any other task that reaches smb3_validate_negotiate entered a stock
 * SMB2_tcon before the SMB2_tcon hook went in (security review L1).
 */
struct tcon_task {
	struct list_head list;
	struct task_struct *task;
};

static LIST_HEAD(tcon_tasks);
static DEFINE_SPINLOCK(tcon_tasks_lock);

static bool in_smbvn_tcon(void)
{
	struct tcon_task *t;
	bool found = false;

	spin_lock(&tcon_tasks_lock);
	list_for_each_entry(t, &tcon_tasks, list)
		if (t->task == current)
			found = true;
	spin_unlock(&tcon_tasks_lock);
	return found;
}

/*
 * On 3.1.1 the answer to the tree connect itself is what smbvn checks:
 * watch for it while cifs sends the request.  Without memory for that,
 * the tree connect cannot be checked: it is refused (no evidence, EAGAIN).
 */
static int tcon_checked(const unsigned int xid, void *ses, const char *tree,
			void *tcon, const void *cp, smb2_tcon_t orig)
{
	void *server = FIELD(ses, SMBVN_OFF_SES_SERVER, void *);
	struct smbvn_answer *tc = NULL;
	int rc;

	if (READ_ONCE(smbvn_enforce) &&
	    FIELD(server, SMBVN_OFF_SRV_DIALECT, u16) == SMBVN_DIALECT_311) {
		tc = kzalloc(sizeof(*tc), GFP_KERNEL);
		if (!tc)
			return -EAGAIN;
		tc->cmd = SMBVN_CMD_TREE_CONNECT;
		smbvn_exchange_watch(tc);
	}
	rc = orig(xid, ses, tree, tcon, cp);
	if (tc)
		smbvn_exchange_unwatch(tc);
	if (!rc)
		rc = smbvn_validate_tcon(xid, ses, tcon, tc);
	kfree_sensitive(tc);
	return rc;
}

/* Replaces SMB2_tcon: the original, then validation on success. */
static int smbvn_tcon(const unsigned int xid, void *ses, const char *tree,
		      void *tcon, const void *cp)
{
	smb2_tcon_t orig = (smb2_tcon_t)smbvn_cifs_hooks[HOOK_TCON].addr;
	struct tcon_task me = { .task = current };
	int rc = -SMBVN_ERRNO;
	unsigned long left = READ_ONCE(smbvn_enforce) ?
		smbvn_conn_hold_left(FIELD(ses, SMBVN_OFF_SES_SERVER, void *)) : 0;

	if (left) {
		/*
		 * cifs turns a failed reconnect into EAGAIN and writeback
		 * retries it at once: without a pause a held connection
		 * would spin a CPU for the whole hold.
		 */
		schedule_timeout_interruptible(min_t(unsigned long, left, HZ));
	} else {
		spin_lock(&tcon_tasks_lock);
		list_add(&me.list, &tcon_tasks);
		spin_unlock(&tcon_tasks_lock);
		rc = tcon_checked(xid, ses, tree, tcon, cp, orig);
		spin_lock(&tcon_tasks_lock);
		list_del(&me.list);
		spin_unlock(&tcon_tasks_lock);
	}
	smbvn_redirect_leave();
	return rc;
}

/*
 * Replaces smb3_validate_negotiate (3.0/3.0.2 only, lenient): smbvn_tcon
 * validates every dialect after the original returns, so inside it this
 * must add no round trip and no verdict of its own.  A stock SMB2_tcon
 * that was already running when smbvn hooked gets smbvn's validation
 * here instead.
 */
static int smbvn_stock_validate(const unsigned int xid, void *tcon)
{
	int rc = 0;

	if (!in_smbvn_tcon())
		rc = smbvn_validate_tcon(xid,
					 FIELD(tcon, SMBVN_OFF_TCON_SES, void *),
					 tcon, NULL);
	smbvn_redirect_leave();
	return rc;
}

/* The first kvec of a request: its SMB2 header and fixed body. */
static bool notrace rqst_allowed(const void *ses, const void *server,
				 const void *rqst)
{
	const struct kvec *iov = NULL;

	if (rqst && FIELD(rqst, SMBVN_OFF_RQST_NVEC, unsigned int) >= 1)
		iov = FIELD(rqst, SMBVN_OFF_RQST_IOV, const struct kvec *);
	return smbvn_request_allowed(ses, server,
				     iov ? iov->iov_base : NULL,
				     iov ? iov->iov_len : 0);
}

/* smb2_setup_request(ses, server, rqst): every synchronous request. */
static void notrace gate_setup(unsigned long ip, unsigned long parent_ip,
			       struct ftrace_ops *ops,
			       struct ftrace_regs *fregs)
{
	if (likely(rqst_allowed(FARG(fregs, SMBVN_ARG_SSQ_SES, const void *),
				FARG(fregs, SMBVN_ARG_SSQ_SERVER, const void *),
				FARG(fregs, SMBVN_ARG_SSQ_RQST, const void *))))
		return;
	smbvn_hook_redirect(ops, fregs);
}

/* smb2_setup_async_request(server, rqst): reads, writes, echoes. */
static void notrace gate_setup_async(unsigned long ip,
				     unsigned long parent_ip,
				     struct ftrace_ops *ops,
				     struct ftrace_regs *fregs)
{
	if (likely(rqst_allowed(NULL,
				FARG(fregs, SMBVN_ARG_SSA_SERVER, const void *),
				FARG(fregs, SMBVN_ARG_SSA_RQST, const void *))))
		return;
	smbvn_hook_redirect(ops, fregs);
}

/*
 * Stand in for a refused setup: cifs gets the error its own setup returns
 * while the connection is down (it then unwinds the compound and retries
 * or fails the call as it would have then), and nothing is sent.
 */
static void *smbvn_setup_held_back(void *ses, void *server, void *rqst)
{
	smbvn_redirect_leave();
	return ERR_PTR(-EAGAIN);
}

static void *smbvn_setup_async_held_back(void *server, void *rqst)
{
	smbvn_redirect_leave();
	return ERR_PTR(-EAGAIN);
}

/*
 * Replaces SMB2_sess_setup, cifs_setup_session's sess_setup op, with
 * smbvn_channel_setup(): the original plus the check of a channel that
 * binds (security review M4).
 */
static int smbvn_sess_setup(const unsigned int xid, void *ses, void *server,
			    const void *nls)
{
	int rc = smbvn_channel_setup(xid, ses, server, nls,
				     (smbvn_sess_setup_t)
				     smbvn_cifs_hooks[HOOK_SESS_SETUP].addr);

	smbvn_redirect_leave();
	return rc;
}

/*
 * Installed in this order, removed in reverse.  The gates come last, and
 * hold trees back only on NEGOTIATEs seen once all hooks are in
 * (smbvn_conns_arm()).  The SMB2_tcon and smb3_validate_negotiate
 * redirects can sleep (a network round trip), SMB2_sess_setup's for the
 * whole authentication, a Kerberos upcall included; a failed init waits for
 * every redirect to drain (smbvn_redirects_drain()) before the module may
 * be freed.
 */
struct smbvn_hook smbvn_cifs_hooks[] = {
	[HOOK_SEND] = { .name = "compound_send_recv", .cb = observe_send },
	[HOOK_SIGN] = { .name = "smb2_sign_rqst", .cb = observe_sign },
	[HOOK_CRYPT] = { .name = "crypt_message", .cb = observe_crypt },
	[HOOK_RECEIVE] = { .name = "smb2_check_receive",
			   .cb = observe_receive },
	[HOOK_RELEASE] = { .name = "cifs_crypto_secmech_release",
			   .cb = observe_release },
	[HOOK_CONNECT] = { .name = "generic_ip_connect",
			   .cb = observe_connect },
	[HOOK_VALIDATE] = { .name = "smb3_validate_negotiate",
			    .redirect = smbvn_stock_validate },
	[HOOK_SESS_SETUP] = { .name = "SMB2_sess_setup",
			      .redirect = smbvn_sess_setup },
	[HOOK_TCON] = { .name = "SMB2_tcon", .redirect = smbvn_tcon },
	[HOOK_SETUP] = { .name = "smb2_setup_request",
			 .cb = gate_setup,
			 .redirect = smbvn_setup_held_back },
	[HOOK_SETUP_ASYNC] = { .name = "smb2_setup_async_request",
			       .cb = gate_setup_async,
			       .redirect = smbvn_setup_async_held_back },
};

const unsigned int smbvn_cifs_nhooks = ARRAY_SIZE(smbvn_cifs_hooks);
