// SPDX-License-Identifier: GPL-2.0-only
/*
 * The validate-negotiate round trip, sent by smbvn itself.  cifs builds
 * the request (SMB2_ioctl_init: header, credits, SIGNED flag) and sends
 * it (cifs_send_recv: signing, encryption), but exactly once: SMB2_ioctl
 * is not used because on 6.12 it replays a request that met a reconnect,
 * on whichever channel is then picked and against whatever NEGOTIATE that
 * channel ran meanwhile, and on a hard mount it does so forever while the
 * reconnect it waits for needs the session mutex its caller holds
 * (security review M5, M8).  A lost request here is simply lost.
 *
 * The answer is the response to this request alone: same channel, same
 * MessageId, seen in smb2_check_receive before cifs hands it back.  The
 * same watch catches the answer to a 3.1.1 TREE_CONNECT that cifs itself
 * sends (smbvn_exchange_watch()).
 */
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uio.h>
#include <linux/workqueue.h>
#include "smbvn.h"
#include "smbvn_cifs.h"

/* cifsglob.h */
#define CIFS_TRANSFORM_REQ	0x0800
#define CIFS_NO_BUFFER		0
/* smb2pdu.h: SMB2_ioctl_init fills at most two */
#define IOCTL_IOV_SIZE		2
#define NO_FILE_ID		0xffffffffffffffffULL
/* MS-SMB2 2.2.1.2: MessageId */
#define HDR_MESSAGE_ID		24
/* MS-SMB2 2.2.41: SessionId of a TRANSFORM_HEADER */
#define TRANSFORM_SESSION_ID	44

/*
 * The cifs functions, by their cifs names with a prefix: kallsyms would
 * find a variable of smbvn's own by the plain name first.
 */
static void *(*cifs_fn_pick_channel)(void *ses);
static int (*cifs_fn_encryption_required)(const void *tcon);
static int (*cifs_fn_ioctl_init)(void *tcon, void *server, void *rqst,
				 u64 pfid, u64 vfid, u32 opcode, char *in,
				 u32 inlen, u32 max_out);
static void (*cifs_fn_ioctl_free)(void *rqst);
static int (*cifs_fn_send_recv)(unsigned int xid, void *ses, void *server,
				void *rqst, int *resp_buftype, int flags,
				struct kvec *resp_iov);
static void (*cifs_fn_free_rsp_buf)(int resp_buftype, void *rsp);
static spinlock_t *cifs_var_tcp_ses_lock;

static LIST_HEAD(answers);
/*
 * Taken in ftrace callbacks, maybe with preemption disabled: a raw lock, as a
 * spinlock_t sleeps on PREEMPT_RT.  Nothing under it allocates or sleeps.
 */
static DEFINE_RAW_SPINLOCK(answers_lock);
static atomic_t answers_count = ATOMIC_INIT(0);

/**
 * smbvn_exchange_resolve() - find the cifs functions the round trip uses
 * @cifs: the cifs module; every symbol must lie inside it
 *
 * Their prototypes were checked against cifs' BTF by btf-layout.py.
 *
 * Return: 0, or -ENOENT (logged) if one is missing.
 */
int smbvn_exchange_resolve(struct module *cifs)
{
	const struct {
		const char *name;
		void **fn;
	} syms[] = {
		{ "cifs_pick_channel", (void **)&cifs_fn_pick_channel },
		{ "smb3_encryption_required", (void **)&cifs_fn_encryption_required },
		{ "SMB2_ioctl_init", (void **)&cifs_fn_ioctl_init },
		{ "SMB2_ioctl_free", (void **)&cifs_fn_ioctl_free },
		{ "cifs_send_recv", (void **)&cifs_fn_send_recv },
		{ "free_rsp_buf", (void **)&cifs_fn_free_rsp_buf },
		{ "cifs_tcp_ses_lock", (void **)&cifs_var_tcp_ses_lock },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(syms); i++) {
		*syms[i].fn = (void *)smbvn_cifs_symbol(syms[i].name, cifs);
		if (!*syms[i].fn)
			return -ENOENT;
	}
	return 0;
}

/**
 * smbvn_exchange_channel() - the channel cifs would send an ioctl on
 * @ses: struct cifs_ses
 *
 * Return: its struct TCP_Server_Info (the least busy channel of a
 * multichannel session, else the primary), or NULL.
 */
void *smbvn_exchange_channel(void *ses)
{
	return cifs_fn_pick_channel(ses);
}

/**
 * smbvn_exchange_sid_unique() - is @ses the only session with its id?
 * @ses: struct cifs_ses
 * @sid: the SessionId an answer to @ses was decrypted for
 *
 * cifs decrypts a transform with the keys of the first session on the
 * connection's list (struct TCP_Server_Info.smb_ses_list, the primary's
 * for every channel) whose SessionId (MS-SMB2 2.2.41) matches.  Two
 * sessions sharing one id, which an attacker can arrange by rewriting an
 * unsigned SESSION_SETUP answer, leave it open whose keys those were.
 * Walks the list under cifs_tcp_ses_lock, as cifs does; may not be
 * called with preemption disabled on PREEMPT_RT (a sleeping lock there).
 *
 * Return: true if @ses is on its connection's list and no other session
 * there has @sid.
 */
bool smbvn_exchange_sid_unique(const void *ses, u64 sid)
{
	const void *server = FIELD(ses, SMBVN_OFF_SES_SERVER, const void *);
	struct list_head *head = &FIELD(server, SMBVN_OFF_SRV_SMB_SES_LIST,
					struct list_head);
	struct list_head *pos;
	unsigned int same = 0;
	bool listed = false;

	spin_lock(cifs_var_tcp_ses_lock);
	list_for_each(pos, head) {
		const char *other = (const char *)pos -
				    SMBVN_OFF_SES_SMB_SES_LIST;

		if (FIELD(other, SMBVN_OFF_SES_SUID, u64) != sid)
			continue;
		same++;
		listed |= (const void *)other == ses;
	}
	spin_unlock(cifs_var_tcp_ses_lock);
	return listed && same == 1;
}

/* cifs' SMB_ECHO_INTERVAL_DEFAULT, for a channel that has none set. */
#define ECHO_INTERVAL_DEFAULT	(60 * HZ)

struct exchange_watchdog {
	struct delayed_work work;
	void *tx;
};

static void exchange_expired(struct work_struct *work)
{
	struct exchange_watchdog *wd =
		container_of(to_delayed_work(work), struct exchange_watchdog,
			     work);

	smbvn_drop_connection(wd->tx);
}

/*
 * How long the answer may take, in jiffies: what cifs allows a server
 * that answers nothing at all, three echo intervals.  cifs itself waits
 * for a lost answer forever as long as echoes come back, and one answer
 * an attacker rewrote (another MessageId) is lost that way (campaign
 * seed 47, attempts 52 and 402): the exchange must end in a refusal.
 */
static unsigned long exchange_timeout(const void *tx)
{
	unsigned long echo = FIELD(tx, SMBVN_OFF_SRV_ECHO_INTERVAL,
				   unsigned long);

	return 3 * (echo ? echo : ECHO_INTERVAL_DEFAULT);
}

/**
 * smbvn_exchange() - send FSCTL_VALIDATE_NEGOTIATE_INFO once, catch the answer
 * @xid: cifs transaction id of the tree connect
 * @ses: struct cifs_ses the tree connect belongs to
 * @tx: struct TCP_Server_Info to send on, a channel of @ses
 * @tcon: struct cifs_tcon just connected (its TreeId goes in the header)
 * @body: VALIDATE_NEGOTIATE_INFO request input (MS-SMB2 2.2.31.4)
 * @len: bytes of @body, 24 + 2 * DialectCount
 * @a: zeroed; on return @a->got tells whether the answer was seen
 *
 * MaxOutputResponse is 24 bytes, the size of the answer (2.2.32.6), so an
 * honest server has no room to pad.  cifs signs the request: its
 * SMB2_ioctl_init sets the SIGNED flag for this FSCTL (MS-SMB2 3.2.4.1.1).
 *
 * An answer that has not come after three of @tx's echo intervals
 * (cifs' own limit for a silent server) gets @tx shut down, so that cifs'
 * wait ends and the exchange counts as unanswered.
 *
 * Return: 0 when the request was built and sent (whatever came back:
 * see @a), or the negative errno of cifs building or sending it.
 */
int smbvn_exchange(unsigned int xid, void *ses, void *tx, void *tcon,
		   const u8 *body, size_t len, struct smbvn_answer *a)
{
	struct exchange_watchdog wd = { .tx = tx };
	struct kvec iov[IOCTL_IOV_SIZE] = {}, rsp_iov = {};
	int buftype = CIFS_NO_BUFFER;
	int flags = cifs_fn_encryption_required(tcon) ? CIFS_TRANSFORM_REQ : 0;
	void *rqst;
	int rc;

	rqst = kzalloc(SMBVN_SIZE_RQST, GFP_KERNEL);
	if (!rqst)
		return -ENOMEM;
	FIELD(rqst, SMBVN_OFF_RQST_IOV, struct kvec *) = iov;
	FIELD(rqst, SMBVN_OFF_RQST_NVEC, unsigned int) = IOCTL_IOV_SIZE;
	rc = cifs_fn_ioctl_init(tcon, tx, rqst, NO_FILE_ID, NO_FILE_ID,
				SMBVN_FSCTL_VALIDATE_NEGOTIATE_INFO,
				(char *)body, len, SMBVN_VNEG_OUT_LEN);
	if (!rc) {
		a->cmd = SMBVN_CMD_IOCTL;
		a->tx = tx;
		a->hdr = iov[0].iov_base;
		smbvn_exchange_watch(a);
		INIT_DELAYED_WORK_ONSTACK(&wd.work, exchange_expired);
		schedule_delayed_work(&wd.work, exchange_timeout(tx));
		rc = cifs_fn_send_recv(xid, ses, tx, rqst, &buftype, flags, &rsp_iov);
		cancel_delayed_work_sync(&wd.work);
		destroy_delayed_work_on_stack(&wd.work);
		smbvn_exchange_unwatch(a);
		cifs_fn_free_rsp_buf(buftype, rsp_iov.iov_base);
	}
	cifs_fn_ioctl_free(rqst);
	kfree(rqst);
	return rc;
}

/**
 * smbvn_exchange_watch() - start catching the answer to a request
 * @a: zeroed but for @a->cmd (and, for smbvn's own ioctl, @a->tx and
 *	@a->hdr); owned by the calling task until smbvn_exchange_unwatch()
 *
 * For a TREE_CONNECT, the channel and MessageId are taken from the next
 * TREE_CONNECT request the calling task has cifs sign: SMB2_tcon picks
 * the channel itself.
 */
void smbvn_exchange_watch(struct smbvn_answer *a)
{
	a->task = current;
	raw_spin_lock(&answers_lock);
	list_add(&a->list, &answers);
	atomic_inc(&answers_count);
	raw_spin_unlock(&answers_lock);
}

/**
 * smbvn_exchange_unwatch() - stop catching; @a keeps what was caught
 * @a: as passed to smbvn_exchange_watch()
 */
void smbvn_exchange_unwatch(struct smbvn_answer *a)
{
	raw_spin_lock(&answers_lock);
	list_del(&a->list);
	atomic_dec(&answers_count);
	a->hdr = NULL;
	raw_spin_unlock(&answers_lock);
}

/**
 * smbvn_exchange_pending() - is any round trip waiting for its answer?
 *
 * Return: true if so; lets the receive observer return at once otherwise.
 */
bool smbvn_exchange_pending(void)
{
	return atomic_read(&answers_count);
}

/* Is @hdr, signed by the current task, the request @a waits on? */
static bool is_request(const struct smbvn_answer *a, const u8 *hdr)
{
	if (a->task != current)
		return false;
	if (a->cmd == SMBVN_CMD_IOCTL)
		return a->hdr == hdr;
	return smbvn_le16(hdr + 12) == a->cmd;
}

/**
 * smbvn_exchange_sent() - note the channel and MessageId of a request
 * @hdr: SMB2 header of a request cifs is about to sign (and maybe seal)
 * @server: struct TCP_Server_Info (channel) it goes out on
 *
 * Called from an ftrace callback on smb2_sign_rqst (raw locks only), after
 * cifs wrote the MessageId and before any transform encrypts the header
 * in place.  A request cifs sends again (a replay after a reconnect)
 * replaces what was noted: only the answer to the last one counts.  The
 * request's SessionId and the channel's NEGOTIATE generation are noted
 * too: the answer is judged under the session and negotiation it was
 * sent under, or not at all.
 */
void smbvn_exchange_sent(const u8 *hdr, const void *server)
{
	struct smbvn_answer *a, *mine = NULL;
	__le64 id, sid;

	raw_spin_lock(&answers_lock);
	list_for_each_entry(a, &answers, list) {
		if (!is_request(a, hdr))
			continue;
		memcpy(&id, hdr + HDR_MESSAGE_ID, sizeof(id));
		memcpy(&sid, hdr + SMBVN_HDR_SESSION_ID, sizeof(sid));
		a->message_id = le64_to_cpu(id);
		a->req_session_id = le64_to_cpu(sid);
		a->tx = server;
		a->sent = true;
		a->got = false;
		a->dec_next = 0;
		memset(a->dec_buf, 0, sizeof(a->dec_buf));
		mine = a;
		break;
	}
	raw_spin_unlock(&answers_lock);
	/*
	 * Only this task reads or writes its own entry's stamp, so it can
	 * be taken outside answers_lock (conns_lock is never nested in it).
	 */
	if (mine)
		mine->tx_stamp = smbvn_conn_stamp(server);
}

/**
 * smbvn_exchange_decrypting() - note whose key a response is decrypted with
 * @server: struct TCP_Server_Info (channel) the transform arrived on
 * @frame: the TRANSFORM_HEADER (MS-SMB2 2.2.41, 52 bytes), at the start of
 *	the buffer that will hold the plaintext once cifs decrypted it
 *
 * Called from an ftrace callback (raw locks only), from crypt_message() in the
 * receiving thread, before decryption.  cifs picks the key by the
 * transform's SessionId among every session on the connection, so a
 * decrypted answer is authentic only for the session named there
 * (security review L4); cifs then moves the plaintext over the header,
 * so the SessionId is read now and matched later by buffer address.
 */
void smbvn_exchange_decrypting(const void *server, const u8 *frame)
{
	struct smbvn_answer *a;
	__le64 sid;

	memcpy(&sid, frame + TRANSFORM_SESSION_ID, sizeof(sid));
	raw_spin_lock(&answers_lock);
	list_for_each_entry(a, &answers, list) {
		if (a->tx != server || a->got)
			continue;
		a->dec_buf[a->dec_next] = frame;
		a->dec_sid[a->dec_next] = le64_to_cpu(sid);
		a->dec_next = (a->dec_next + 1) % SMBVN_DEC_SEEN;
	}
	raw_spin_unlock(&answers_lock);
}

/*
 * The SessionId the transform now holding @buf was decrypted for: the
 * newest entry, as a freed buffer may come back for a later response.
 */
static bool decrypted_for(const struct smbvn_answer *a, const void *buf,
			  u64 *sid)
{
	unsigned int i, k;

	for (i = 1; i <= SMBVN_DEC_SEEN; i++) {
		k = (a->dec_next + SMBVN_DEC_SEEN - i) % SMBVN_DEC_SEEN;
		if (a->dec_buf[k] == buf) {
			*sid = a->dec_sid[k];
			return true;
		}
	}
	return false;
}

/**
 * smbvn_exchange_capture() - take a response if it is one we wait for
 * @mid: struct mid_q_entry of the response, in smb2_check_receive
 * @server: struct TCP_Server_Info it arrived on
 *
 * Called from an ftrace callback (raw locks only).  The first response that
 * matches task, channel and MessageId is kept, up to
 * SMBVN_RSP_CAPTURE_MAX bytes; @a->len keeps the full length of the PDU
 * (for a decrypted one, not that of the transform frame cifs records).
 */
void smbvn_exchange_capture(const void *mid, const void *server)
{
	const u8 *buf = FIELD(mid, SMBVN_OFF_MID_RESP_BUF, const u8 *);
	unsigned int len = FIELD(mid, SMBVN_OFF_MID_RESP_BUF_SIZE,
				 unsigned int);
	u8 flags = FIELD(mid, SMBVN_OFF_MID_DECRYPTED, u8);
	u64 id = FIELD(mid, SMBVN_OFF_MID_MID, u64);
	u16 cmd = le16_to_cpu(FIELD(mid, SMBVN_OFF_MID_COMMAND, __le16));
	struct smbvn_answer *a;

	raw_spin_lock(&answers_lock);
	list_for_each_entry(a, &answers, list) {
		if (a->task != current || a->got || a->tx != server ||
		    a->cmd != cmd)
			continue;
		if (!a->sent || a->message_id != id)
			continue;
		a->got = true;
		a->decrypted = flags & BIT(SMBVN_BIT_MID_DECRYPTED % 8);
		if (a->decrypted) {
			len = smbvn_decrypted_pdu_len(buf, len);
			a->decrypted_known = decrypted_for(a, buf,
							   &a->decrypted_sid);
		}
		a->len = len;
		if (buf)
			memcpy(a->buf, buf, min_t(size_t, len,
						  SMBVN_RSP_CAPTURE_MAX));
		break;
	}
	raw_spin_unlock(&answers_lock);
}
