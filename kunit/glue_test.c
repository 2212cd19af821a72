// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite smbvn_glue: the cifs-facing code (validate.c, conns.c,
 * exchange.c) run as the module runs it, on fake cifs objects laid out at
 * the offsets btf-layout.py generated from Debian's 6.12 cifs.ko, with
 * fake cifs functions behind the names smbvn resolves.  The fake
 * cifs_send_recv plays the network: it stamps a MessageId into the
 * request as cifs does, tells smbvn as smb2_sign_rqst would, and hands
 * scripted responses to smbvn_exchange_capture() as smb2_check_receive
 * would.  Each case is a finding of the 2026-11 security review: a key
 * missing at answer time (H1), a foreign IOCTL answer (L3), a NEGOTIATE
 * during the exchange (M5), a stale record (L9), collateral holds (M7),
 * Kerberos without a user name (L8), a decrypted answer's bounds (N2) and
 * session (L4), requests on a tree before its validation (L6);
 * positive controls show that the bench can validate at all.
 */
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include "smbvn.h"
#include "smbvn_cifs.h"
#include "smbvn_kunit.h"

#define RSP_SIGNED	(SMBVN_FLAG_RESPONSE | SMBVN_FLAG_SIGNED)
#define REQ_LEN		(SMBVN_HDR_LEN + 56)
#define FIRST_MID	41
#define SESSION_FLAG_IS_GUEST	0x0001
#define SUID		0x0000400000000011ULL

static const u8 key_2x[16] = { 0x5a, 0x11, 0x9c, 0x03, 0x7e, 0x44, 0xd2,
			       0x18, 0x66, 0xab, 0x0f, 0x31, 0xc5, 0x72,
			       0x9e, 0x21 };
static const u8 key_30[16] = { 0xc3, 0x08, 0x5d, 0x9a, 0x41, 0x17, 0xe6,
			       0x2b, 0x90, 0x7c, 0x35, 0xf8, 0x0e, 0xa4,
			       0x63, 0xd9 };

/* One test's cifs: a session on a connection, and the scripted network. */
struct fake_cifs {
	void *srv, *srv2, *ses, *tcon;
	struct smbvn_neg_req req;	/* what this test's NEGOTIATE offered */
	u8 session_key[16];
	void *tx;			/* what cifs_pick_channel answers */
	const u8 *answer;		/* our answer, or NULL: none comes */
	size_t answer_len;
	const u8 *foreign;		/* an IOCTL answer to another request */
	size_t foreign_len;
	bool decrypted;			/* the answer came in a transform */
	u64 transform_sid;		/* its TRANSFORM_HEADER SessionId */
	u64 inner_sid;			/* the SessionId inside it */
	bool transform_unseen;		/* decrypted where smbvn did not see */
	int send_rc;			/* what cifs_send_recv fails with */
	bool renegotiate;		/* NEGOTIATE runs during the exchange */
	bool lose_answer;		/* wait like cifs for an answer lost */
	bool dropped_while_waiting;	/* ... until the connection dropped */
	int sends;
	int drops;			/* smbvn_drop_connection() calls */
	int puts;			/* cifs_put_tcp_session() calls */
	int puts_in_caller;		/* ... made by the test's own task */
	struct task_struct *task;	/* the test's task */
	u8 ses_signkey_at_send[16];	/* ses->smb3signingkey then */
	int setups;			/* SMB2_sess_setup calls */
	u32 opcode, max_out;
	u8 body[SMBVN_VNEG_REQ_MAX];
	size_t body_len;
};

static struct fake_cifs *fc;
static DEFINE_SPINLOCK(fake_tcp_ses_lock);
static DECLARE_WAIT_QUEUE_HEAD(fake_drop_wq);

static void *fake_pick_channel(void *ses)
{
	return fc->tx;
}

static int fake_encryption_required(const void *tcon)
{
	return 0;
}

static int fake_ioctl_init(void *tcon, void *server, void *rqst, u64 pfid,
			   u64 vfid, u32 opcode, char *in, u32 inlen,
			   u32 max_out)
{
	struct kvec *iov = FIELD(rqst, SMBVN_OFF_RQST_IOV, struct kvec *);
	u8 *req = kzalloc(REQ_LEN, GFP_KERNEL);

	if (!req)
		return -ENOMEM;
	kt_hdr(req, SMBVN_CMD_IOCTL, 0, 0, 0);
	fc->opcode = opcode;
	fc->max_out = max_out;
	fc->body_len = min_t(size_t, inlen, sizeof(fc->body));
	memcpy(fc->body, in, fc->body_len);
	iov[0].iov_base = req;
	iov[0].iov_len = REQ_LEN;
	return 0;
}

static void fake_ioctl_free(void *rqst)
{
	kfree(FIELD(rqst, SMBVN_OFF_RQST_IOV, struct kvec *)[0].iov_base);
}

static void capture_negotiate(void *srv, const struct smbvn_neg_req *req,
			      const struct smbvn_neg_rsp *rsp)
{
	u8 buf[KT_PDU_MAX];

	smbvn_conn_neg_req(srv, buf, kt_neg_req_pdu(buf, req));
	smbvn_conn_neg_rsp(srv, buf, kt_neg_rsp_pdu(buf, rsp));
}

/*
 * A response as smb2_check_receive sees it: a mid on connection @srv.  A
 * decrypted one sits at the front of cifs' buffer, which keeps the length
 * of the whole transform frame; @len then includes that header's 52 bytes.
 */
static void deliver_cmd(void *srv, u16 cmd, const u8 *pdu, size_t len,
			u64 mid, bool decrypted)
{
	u8 *m = kzalloc(SMBVN_SIZE_MID, GFP_KERNEL);

	if (!m)
		return;
	FIELD(m, SMBVN_OFF_MID_MID, u64) = mid;
	FIELD(m, SMBVN_OFF_MID_RESP_BUF, const u8 *) = pdu;
	FIELD(m, SMBVN_OFF_MID_RESP_BUF_SIZE, unsigned int) = len;
	FIELD(m, SMBVN_OFF_MID_COMMAND, __le16) = cpu_to_le16(cmd);
	if (decrypted)
		FIELD(m, SMBVN_OFF_MID_DECRYPTED, u8) |=
			BIT(SMBVN_BIT_MID_DECRYPTED % 8);
	smbvn_exchange_capture(m, srv);
	kfree(m);
}

static void deliver(void *srv, const u8 *pdu, size_t len, u64 mid,
		    bool decrypted)
{
	deliver_cmd(srv, SMBVN_CMD_IOCTL, pdu, len, mid, decrypted);
}

/*
 * A sealed answer as cifs handles it: crypt_message() sees the transform
 * header at the start of the buffer, then the plaintext is moved over it.
 */
static void deliver_decrypted(void *srv, u64 mid)
{
	u8 *frame = kzalloc(max_t(size_t, fc->answer_len,
				  SMBVN_TRANSFORM_HDR_LEN), GFP_KERNEL);

	if (!frame)
		return;
	kt_put32(frame + 44, (u32)fc->transform_sid);
	kt_put32(frame + 48, (u32)(fc->transform_sid >> 32));
	if (!fc->transform_unseen)
		smbvn_exchange_decrypting(srv, frame);
	memcpy(frame, fc->answer, fc->answer_len);
	kt_put32(frame + SMBVN_HDR_SESSION_ID, (u32)fc->inner_sid);
	kt_put32(frame + SMBVN_HDR_SESSION_ID + 4, (u32)(fc->inner_sid >> 32));
	deliver(srv, frame, fc->answer_len, mid, true);
	kfree(frame);
}

static int fake_send_recv(unsigned int xid, void *ses, void *server,
			  void *rqst, int *resp_buftype, int flags,
			  struct kvec *resp_iov)
{
	u8 *hdr = FIELD(rqst, SMBVN_OFF_RQST_IOV, struct kvec *)[0].iov_base;
	u64 mid = FIRST_MID + fc->sends++;

	kt_put32(hdr + 24, (u32)mid);
	kt_put32(hdr + 28, (u32)(mid >> 32));
	memcpy(fc->ses_signkey_at_send,
	       &FIELD(fc->ses, SMBVN_OFF_SES_SIGNINGKEY, u8), 16);
	smbvn_exchange_sent(hdr, server);
	if (fc->lose_answer) {
		int drops = fc->drops;

		/* cifs has no timeout of its own: only a drop ends this. */
		fc->dropped_while_waiting =
			wait_event_timeout(fake_drop_wq, fc->drops != drops,
					   10 * HZ) > 0;
		return -EAGAIN;
	}
	if (fc->renegotiate)
		capture_negotiate(fc->srv, &fc->req, &kt_rsp_300);
	if (fc->foreign)
		deliver(server, fc->foreign, fc->foreign_len, mid + 100, false);
	if (fc->answer && fc->decrypted)
		deliver_decrypted(server, mid);
	else if (fc->answer)
		deliver(server, fc->answer, fc->answer_len, mid, false);
	*resp_buftype = 0;
	if (fc->send_rc)
		return fc->send_rc;
	return fc->answer ? 0 : -EAGAIN;
}

static void fake_free_rsp_buf(int resp_buftype, void *rsp)
{
}

/* drop.c shuts the socket down; here the test counts the drops. */
void smbvn_drop_connection(void *server)
{
	fc->drops++;
	wake_up(&fake_drop_wq);
}

/* gate.c's stuck-tree drop, from its work item: nothing to drop here. */
void smbvn_drop_listed(const void *server)
{
}

/*
 * cifs gives a connection reference back; drop_channels.c must do so
 * outside the caller, which holds the session_mutex (security review M4,
 * finding 4).
 */
static void fake_put_tcp_session(void *server, int from_reconnect)
{
	FIELD(server, SMBVN_OFF_SRV_COUNT, int)--;
	fc->puts++;
	if (current == fc->task)
		fc->puts_in_caller++;
}

/* What hook.c resolves through kallsyms, here the fakes above. */
unsigned long smbvn_cifs_symbol(const char *name, struct module *mod)
{
	static const struct {
		const char *name;
		void *fn;
	} fakes[] = {
		{ "cifs_pick_channel", fake_pick_channel },
		{ "smb3_encryption_required", fake_encryption_required },
		{ "SMB2_ioctl_init", fake_ioctl_init },
		{ "SMB2_ioctl_free", fake_ioctl_free },
		{ "cifs_send_recv", fake_send_recv },
		{ "free_rsp_buf", fake_free_rsp_buf },
		{ "cifs_tcp_ses_lock", &fake_tcp_ses_lock },
		{ "cifs_put_tcp_session", fake_put_tcp_session },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fakes); i++)
		if (!strcmp(name, fakes[i].name))
			return (unsigned long)fakes[i].fn;
	return 0;
}

static void *fake_obj(struct kunit *test, size_t size)
{
	void *p = kunit_kzalloc(test, size, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, p);
	return p;
}

static void *fake_server(struct kunit *test, u16 dialect)
{
	void *srv = fake_obj(test, SMBVN_SIZE_SRV);

	mutex_init(&FIELD(srv, SMBVN_OFF_SRV_MUTEX, struct mutex));
	spin_lock_init(&FIELD(srv, SMBVN_OFF_SRV_LOCK, spinlock_t));
	FIELD(srv, SMBVN_OFF_SRV_DIALECT, u16) = dialect;
	FIELD(srv, SMBVN_OFF_SRV_HOSTNAME, const char *) = "fake-server";
	return srv;
}

/*
 * A 3.0 session (or 2.1 after a 3.x offer) with its keys in place and
 * the NEGOTIATE smbvn captured; cases then take away what they test.
 */
static int glue_init(struct kunit *test)
{
	static u8 generation;

	fc = fake_obj(test, sizeof(*fc));
	/*
	 * A ClientGuid of its own per test: connection records outlive the
	 * test, and a new GUID is how smbvn tells a new connection that
	 * reuses an old one's memory.
	 */
	fc->req = kt_req_smb3_00;
	fc->req.guid[15] = ++generation;
	fc->srv = fake_server(test, SMBVN_DIALECT_300);
	fc->srv2 = fake_server(test, SMBVN_DIALECT_300);
	fc->tx = fc->srv;
	fc->ses = fake_obj(test, SMBVN_SIZE_SES);
	fc->tcon = fake_obj(test, SMBVN_SIZE_TCON);
	FIELD(fc->ses, SMBVN_OFF_SES_SERVER, void *) = fc->srv;
	FIELD(fc->ses, SMBVN_OFF_SES_USER_NAME, const char *) = "smbvn";
	FIELD(fc->ses, SMBVN_OFF_SES_SUID, u64) = SUID;
	/* cifs lists every session of a connection on its primary. */
	INIT_LIST_HEAD(&FIELD(fc->srv, SMBVN_OFF_SRV_SMB_SES_LIST,
			      struct list_head));
	list_add(&FIELD(fc->ses, SMBVN_OFF_SES_SMB_SES_LIST, struct list_head),
		 &FIELD(fc->srv, SMBVN_OFF_SRV_SMB_SES_LIST, struct list_head));
	fc->transform_sid = SUID;
	fc->inner_sid = SUID;
	spin_lock_init(&FIELD(fc->ses, SMBVN_OFF_SES_CHAN_LOCK, spinlock_t));
	spin_lock_init(&FIELD(fc->ses, SMBVN_OFF_SES_SES_LOCK, spinlock_t));
	memcpy(&FIELD(fc->ses, SMBVN_OFF_SES_SIGNINGKEY, u8), key_30, 16);
	FIELD(fc->ses, SMBVN_OFF_SES_CHAN_COUNT, size_t) = 1;
	FIELD(fc->ses, SMBVN_OFF_SES_CHANS + SMBVN_OFF_CHAN_SERVER, void *) =
		fc->srv;
	memcpy(&FIELD(fc->ses, SMBVN_OFF_SES_CHANS + SMBVN_OFF_CHAN_SIGNKEY,
		      u8), key_30, 16);
	memcpy(fc->session_key, key_2x, 16);
	FIELD(fc->ses, SMBVN_OFF_SES_AUTH_KEY_RESPONSE, u8 *) =
		fc->session_key;
	FIELD(fc->ses, SMBVN_OFF_SES_AUTH_KEY_LEN, unsigned int) = 16;
	FIELD(fc->tcon, SMBVN_OFF_TCON_SES, void *) = fc->ses;
	strscpy(&FIELD(fc->tcon, SMBVN_OFF_TCON_TREE_NAME, char),
		"\\\\fake-server\\data", 32);
	smbvn_conns_refill();
	smbvn_conns_arm(true);
	capture_negotiate(fc->srv, &fc->req, &kt_rsp_300);
	fc->task = current;
	return smbvn_exchange_resolve(NULL) ? : smbvn_drop_channels_resolve(NULL);
}

/* Make the connection a 2.1 one negotiated after a 3.x offer. */
static void downgrade(void)
{
	FIELD(fc->srv, SMBVN_OFF_SRV_DIALECT, u16) = SMBVN_DIALECT_210;
	capture_negotiate(fc->srv, &fc->req, &kt_rsp_210);
}

/* A signed echo of @neg as our answer, signed under @key. */
static void answer_echo(struct kunit *test, const struct smbvn_neg_rsp *neg,
			const u8 *key, bool cmac)
{
	u8 buf[KT_PDU_MAX];
	size_t len = kt_vneg_rsp_pdu(buf, RSP_SIGNED, neg);
	u8 *p = kt_dup(test, buf, len);

	kt_sign(test, p, len, key, cmac);
	fc->answer = p;
	fc->answer_len = len;
}

struct counts {
	u64 v[SMBVN_STAT_COUNT];
};

static void snap(struct counts *c)
{
	unsigned int i;

	for (i = 0; i < SMBVN_STAT_COUNT; i++)
		c->v[i] = smbvn_stat_get(i);
}

static u64 moved(const struct counts *c, enum smbvn_stat s)
{
	return smbvn_stat_get(s) - c->v[s];
}

static int validate(void)
{
	return smbvn_validate_tcon(1, fc->ses, fc->tcon, NULL);
}

/* Positive control, 3.0: the request replays NEGOTIATE, the echo passes. */
static void validates_signed_echo_30(struct kunit *test)
{
	u8 want[SMBVN_VNEG_REQ_MAX];
	size_t n = smbvn_build_vneg_req(&fc->req, want, sizeof(want));
	struct counts c;

	answer_echo(test, &kt_rsp_300, key_30, true);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 1);
	KUNIT_EXPECT_EQ(test, fc->sends, 1);
	KUNIT_EXPECT_EQ(test, fc->opcode,
			(u32)SMBVN_FSCTL_VALIDATE_NEGOTIATE_INFO);
	/* 24 on purpose: no room for an honest server to pad (issue 12). */
	KUNIT_EXPECT_EQ(test, fc->max_out, 24u);
	KUNIT_ASSERT_EQ(test, fc->body_len, n);
	KUNIT_EXPECT_MEMEQ(test, fc->body, want, n);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_held(fc->srv));
}

/* Positive control, 2.1 after a 3.x offer: HMAC with the session key. */
static void validates_signed_echo_21(struct kunit *test)
{
	struct counts c;

	downgrade();
	answer_echo(test, &kt_rsp_210, key_2x, false);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 1);
}

/* A signed answer that contradicts NEGOTIATE is evidence: refuse, hold. */
static void tampered_echo_holds(struct kunit *test)
{
	struct smbvn_neg_rsp forged = kt_rsp_300;
	struct counts c;

	forged.guid[0] ^= 0x01;
	answer_echo(test, &forged, key_30, true);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_MISMATCH_GUID), 1);
	KUNIT_EXPECT_TRUE(test, smbvn_conn_held(fc->srv));
	KUNIT_EXPECT_EQ(test, fc->drops, 1);
}

/*
 * H1: cifs frees the session key at the start of every session setup.
 * An answer signed under sixteen zero bytes, arriving meanwhile, must not
 * be verified with a zero-filled buffer.
 */
static void h1_no_session_key_2x(struct kunit *test)
{
	static const u8 zero[16];
	struct counts c;

	downgrade();
	FIELD(fc->ses, SMBVN_OFF_SES_AUTH_KEY_RESPONSE, u8 *) = NULL;
	FIELD(fc->ses, SMBVN_OFF_SES_AUTH_KEY_LEN, unsigned int) = 0;
	answer_echo(test, &kt_rsp_210, zero, false);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EAGAIN);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_KEY), 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 0);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_held(fc->srv));
	KUNIT_EXPECT_EQ(test, fc->drops, 0);
}

/* H1: a key shorter than 16 bytes is no key either. */
static void h1_short_session_key_2x(struct kunit *test)
{
	struct counts c;

	downgrade();
	FIELD(fc->ses, SMBVN_OFF_SES_AUTH_KEY_LEN, unsigned int) = 8;
	answer_echo(test, &kt_rsp_210, key_2x, false);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EAGAIN);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_KEY), 1);
}

/* H1, 3.0: a channel whose signing key is not derived yet (all zero). */
static void h1_zero_channel_key_30(struct kunit *test)
{
	static const u8 zero[16];
	struct counts c;

	memset(&FIELD(fc->ses, SMBVN_OFF_SES_CHANS + SMBVN_OFF_CHAN_SIGNKEY,
		      u8), 0, 16);
	answer_echo(test, &kt_rsp_300, zero, true);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EAGAIN);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_KEY), 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 0);
}

/* H1, 3.0: the answer's channel is no channel of the session (any more). */
static void h1_channel_not_in_session_30(struct kunit *test)
{
	static const u8 zero[16];
	struct counts c;

	capture_negotiate(fc->srv2, &fc->req, &kt_rsp_300);
	fc->tx = fc->srv2;
	answer_echo(test, &kt_rsp_300, zero, true);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EAGAIN);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_KEY), 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_OTHER_CHANNEL), 0);
}

/*
 * L3: a correctly signed "not supported" answering some other IOCTL of
 * the task must not stand in for ours, which never comes.
 */
static void l3_foreign_answer_ignored(struct kunit *test)
{
	u8 buf[KT_PDU_MAX];
	size_t len = kt_err_rsp_pdu(buf, RSP_SIGNED,
				    SMBVN_STATUS_NOT_SUPPORTED);
	u8 *p = kt_dup(test, buf, len);
	struct counts c;

	downgrade();
	kt_sign(test, p, len, key_2x, false);
	fc->foreign = p;
	fc->foreign_len = len;
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_RESPONSE), 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_PRE30_ACCEPTED), 0);
}

/*
 * M5: the connection negotiated again while the request was out; even a
 * right answer describes a negotiation smbvn did not judge.  Retryable.
 */
static void m5_renegotiated_during_exchange(struct kunit *test)
{
	struct counts c;

	fc->renegotiate = true;
	answer_echo(test, &kt_rsp_300, key_30, true);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EAGAIN);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_RENEGOTIATED), 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 0);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_held(fc->srv));
	KUNIT_EXPECT_EQ(test, fc->drops, 0);
}

/* L9: a record whose dialect is not what cifs parsed counts as none. */
static void l9_stale_record_refused(struct kunit *test)
{
	struct counts c;

	FIELD(fc->srv, SMBVN_OFF_SRV_DIALECT, u16) = SMBVN_DIALECT_210;
	answer_echo(test, &kt_rsp_300, key_30, true);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_RECORD), 1);
	KUNIT_EXPECT_EQ(test, fc->sends, 0);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_held(fc->srv));
	/* Dropped once, to renegotiate where smbvn sees it. */
	KUNIT_EXPECT_EQ(test, fc->drops, 1);
}

/*
 * L9: records are per live connection, not slots of a table.  200 other
 * connections negotiating after ours (a DFS referral fan-out, say) do not
 * take our record away; a connection cifs lets go of loses its record,
 * and its next tree connect is refused, never let through.
 */
static void l9_many_connections_keep_records(struct kunit *test)
{
	const unsigned int n = 200;
	u8 *others = fake_obj(test, n);
	struct counts c;
	unsigned int i;

	/* Each NEGOTIATE is a round trip: the pool's work keeps up. */
	for (i = 0; i < n; i++) {
		capture_negotiate(others + i, &fc->req, &kt_rsp_300);
		smbvn_conns_refill();
	}
	answer_echo(test, &kt_rsp_300, key_30, true);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 1);
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_NE(test, smbvn_conn_stamp(others + i), 0u);
		smbvn_conn_forget(others + i);
		KUNIT_EXPECT_EQ(test, smbvn_conn_stamp(others + i), 0u);
	}

	smbvn_conn_forget(fc->srv);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_RECORD), 1);
	KUNIT_EXPECT_EQ(test, fc->drops, 1);
}

/*
 * Records come from a pool the NEGOTIATE observer cannot refill itself
 * (no allocation with preemption disabled, PREEMPT_RT).  A burst that
 * empties it leaves the next connection without a record: its tree
 * connect is refused, never let through; once restocked, a renegotiated
 * connection validates.
 */
static void l9_empty_pool_refuses(struct kunit *test)
{
	const unsigned int n = 512;
	u8 *others = fake_obj(test, n);
	struct counts c;
	unsigned int i;

	smbvn_conn_forget(fc->srv);
	for (i = 0; i < n; i++)
		capture_negotiate(others + i, &fc->req, &kt_rsp_300);
	KUNIT_EXPECT_EQ(test, smbvn_conn_stamp(others + n - 1), 0u);
	capture_negotiate(fc->srv, &fc->req, &kt_rsp_300);
	KUNIT_EXPECT_EQ(test, smbvn_conn_stamp(fc->srv), 0u);
	answer_echo(test, &kt_rsp_300, key_30, true);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_RECORD), 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 0);

	for (i = 0; i < n; i++)
		smbvn_conn_forget(others + i);
	smbvn_conns_refill();
	capture_negotiate(fc->srv, &fc->req, &kt_rsp_300);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 1);
}

/* M7: a guest session proves nothing about the connection: no hold. */
static void m7_guest_refused_without_hold(struct kunit *test)
{
	struct counts c;

	FIELD(fc->ses, SMBVN_OFF_SES_SESSION_FLAGS, u16) =
		SESSION_FLAG_IS_GUEST;
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_GUEST_REFUSED), 1);
	KUNIT_EXPECT_EQ(test, fc->sends, 0);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_held(fc->srv));
	KUNIT_EXPECT_EQ(test, fc->drops, 0);
}

/*
 * Campaign seed 31, attempt 75: MaxReadSize 0 in the NEGOTIATE response
 * of a 2.1-only mount had 6.1's cifs read files as empty.  Refused on
 * every dialect under enforcement, before anything is sent, without a
 * drop or hold (nothing proves tampering); let through when disabled.
 */
static void small_negotiate_sizes_refused(struct kunit *test)
{
	struct smbvn_neg_rsp small = kt_rsp_210;
	struct counts c;

	fc->req = kt_req_2x_only;
	FIELD(fc->srv, SMBVN_OFF_SRV_DIALECT, u16) = SMBVN_DIALECT_210;
	capture_negotiate(fc->srv, &fc->req, &kt_rsp_210);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NOT_APPLICABLE), 1);

	small.max_read_size = 0;
	capture_negotiate(fc->srv, &fc->req, &small);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_MALFORMED), 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NOT_APPLICABLE), 0);
	KUNIT_EXPECT_EQ(test, fc->sends, 0);
	KUNIT_EXPECT_EQ(test, fc->drops, 0);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_held(fc->srv));

	/* 3.0 as well, with a 3.x offer: refused before the validation. */
	fc->req = kt_req_smb3_00;
	FIELD(fc->srv, SMBVN_OFF_SRV_DIALECT, u16) = SMBVN_DIALECT_300;
	small = kt_rsp_300;
	small.max_write_size = SMBVN_NEG_MIN_SIZE - 1;
	capture_negotiate(fc->srv, &fc->req, &small);
	answer_echo(test, &small, key_30, true);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_MALFORMED), 1);
	KUNIT_EXPECT_EQ(test, fc->sends, 0);

	WRITE_ONCE(smbvn_enforce, false);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_DISABLED), 1);
	WRITE_ONCE(smbvn_enforce, true);
}

/*
 * Campaign seed 47, attempts 52 and 402: a validate answer with another
 * MessageId is lost, and cifs waits for it as long as echoes come back.
 * After three echo intervals smbvn drops the connection, which ends the
 * wait, and refuses as no-response.
 */
static void lost_answer_ends_after_three_echo_intervals(struct kunit *test)
{
	struct counts c;

	FIELD(fc->srv, SMBVN_OFF_SRV_ECHO_INTERVAL, unsigned long) = HZ / 10;
	fc->lose_answer = true;
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_TRUE(test, fc->dropped_while_waiting);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_RESPONSE), 1);
	KUNIT_EXPECT_TRUE(test, smbvn_conn_held(fc->srv));
}

/* L8: Kerberos without user_name signs its tree connect: validate it. */
static void l8_kerberos_without_user_validated(struct kunit *test)
{
	struct counts c;

	FIELD(fc->ses, SMBVN_OFF_SES_USER_NAME, const char *) = NULL;
	FIELD(fc->ses, SMBVN_OFF_SES_SECTYPE, int) = SMBVN_SECTYPE_KERBEROS;
	answer_echo(test, &kt_rsp_300, key_30, true);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 1);
	/* Without Kerberos the same session is a null user: refused. */
	FIELD(fc->ses, SMBVN_OFF_SES_SECTYPE, int) = 0;
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_GUEST_REFUSED), 1);
}

/*
 * N2: an answer that really arrived encrypted needs no signature, and its
 * bounds are those of the PDU, not of the transform frame cifs records.
 */
/*
 * A sealed echo of the 3.0 NEGOTIATE as our answer, in @buf: the PDU,
 * then 52 stale bytes where it was decrypted.  Returns the PDU's length.
 */
static size_t answer_sealed(struct kunit *test, u8 *buf)
{
	size_t len = kt_vneg_rsp_pdu(buf, SMBVN_FLAG_RESPONSE, &kt_rsp_300);

	fc->answer = kt_dup(test, buf, len + SMBVN_TRANSFORM_HDR_LEN);
	fc->answer_len = len + SMBVN_TRANSFORM_HDR_LEN;
	fc->decrypted = true;
	return len;
}

static void n2_decrypted_answer_bounded_by_pdu(struct kunit *test)
{
	u8 buf[KT_PDU_MAX] = {};
	size_t len = answer_sealed(test, buf);
	struct counts c;

	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 1);
	/* Output placed past the PDU, inside the frame's stale tail. */
	kt_put32(buf + KT_IOCTL_OUT_OFF, len + 8);
	memcpy(buf + len + 8, buf + KT_VNEG_OUT_OFF, SMBVN_VNEG_OUT_LEN);
	fc->answer = kt_dup(test, buf, len + SMBVN_TRANSFORM_HDR_LEN);
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_MALFORMED), 1);
}

/*
 * L4: a transform proves only that its sender has the keys of the session
 * its header names, which cifs finds among every session on the
 * connection.  An answer sealed for another session (a guest's, an
 * anonymous one's, whose keys an attacker may know) is refused as a bad
 * signature; one whose decryption smbvn did not see proves nothing.
 */
static void l4_decrypted_answer_bound_to_session(struct kunit *test)
{
	u8 buf[KT_PDU_MAX] = {};
	struct counts c;

	answer_sealed(test, buf);
	fc->transform_sid = SUID + 1;
	fc->inner_sid = SUID + 1;
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_BAD_SIGNATURE), 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 0);

	/* Ours inside, another session's outside: still another's key. */
	fc->inner_sid = SUID;
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_BAD_SIGNATURE), 1);

	fc->transform_sid = SUID;
	fc->inner_sid = SUID + 1;
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_BAD_SIGNATURE), 1);

	/* Not seen being decrypted: retryable, no drop. */
	fc->inner_sid = SUID;
	fc->transform_unseen = true;
	fc->drops = 0;
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EAGAIN);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_KEY), 1);
	KUNIT_EXPECT_EQ(test, fc->drops, 0);

	/* Positive control: our session on both sides. */
	fc->transform_unseen = false;
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 1);
}

/*
 * cifs decrypts with the keys of the first session on the connection that
 * bears the transform's SessionId.  If the unsigned SESSION_SETUP answer
 * of another session was rewritten to give it our SessionId, an attacker
 * who knows that session's keys (a guest's, an anonymous one's) seals an
 * answer that passes L4's SessionId check: when the id is not ours alone,
 * the decryption proves nothing (retryable, no drop).
 */
static void l4_session_id_shared_proves_nothing(struct kunit *test)
{
	void *twin = fake_obj(test, SMBVN_SIZE_SES);
	u8 buf[KT_PDU_MAX] = {};
	struct counts c;

	answer_sealed(test, buf);
	FIELD(twin, SMBVN_OFF_SES_SUID, u64) = SUID;
	FIELD(twin, SMBVN_OFF_SES_SERVER, void *) = fc->srv;
	list_add(&FIELD(twin, SMBVN_OFF_SES_SMB_SES_LIST, struct list_head),
		 &FIELD(fc->srv, SMBVN_OFF_SRV_SMB_SES_LIST, struct list_head));
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EAGAIN);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_KEY), 1);
	KUNIT_EXPECT_EQ(test, fc->drops, 0);

	/* Positive control: the twin logged off. */
	list_del(&FIELD(twin, SMBVN_OFF_SES_SMB_SES_LIST, struct list_head));
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 1);
}

/*
 * 3.1.1 (issue 13): the TREE_CONNECT that SMB2_tcon sends, as smbvn_tcon
 * watches it.  @rsp_flags and @key make the answer: signed with @key, or
 * not signed at all when @key is NULL.  Returns smbvn_validate_tcon().
 */
static int tcon_311_then(struct kunit *test, u32 rsp_flags, const u8 *key,
			 bool watch, void (*meanwhile)(void))
{
	struct smbvn_answer *tc = fake_obj(test, sizeof(*tc));
	u8 req[SMBVN_HDR_LEN] = {}, rsp[SMBVN_HDR_LEN + 16] = {};
	const u64 mid = 77;

	FIELD(fc->srv, SMBVN_OFF_SRV_DIALECT, u16) = SMBVN_DIALECT_311;
	kt_hdr(req, SMBVN_CMD_TREE_CONNECT, SMBVN_FLAG_SIGNED, 0, mid);
	kt_put32(req + SMBVN_HDR_SESSION_ID, (u32)SUID);
	kt_put32(req + SMBVN_HDR_SESSION_ID + 4, (u32)(SUID >> 32));
	kt_hdr(rsp, SMBVN_CMD_TREE_CONNECT, rsp_flags, 0, mid);
	kt_put16(rsp + SMBVN_HDR_LEN, 16);
	if (key)
		kt_sign(test, rsp, sizeof(rsp), key, true);
	tc->cmd = SMBVN_CMD_TREE_CONNECT;
	if (watch)
		smbvn_exchange_watch(tc);
	smbvn_exchange_sent(req, fc->srv);
	deliver_cmd(fc->srv, SMBVN_CMD_TREE_CONNECT, rsp, sizeof(rsp), mid,
		    false);
	if (watch)
		smbvn_exchange_unwatch(tc);
	if (meanwhile)
		meanwhile();
	return smbvn_validate_tcon(1, fc->ses, fc->tcon, watch ? tc : NULL);
}

static int tcon_311(struct kunit *test, u32 rsp_flags, const u8 *key,
		    bool watch)
{
	return tcon_311_then(test, rsp_flags, key, watch, NULL);
}

/*
 * Issue 13: on 3.1.1 the tree connect answer must be signed with the
 * channel's key.  Stock cifs never checks, so an impostor that cannot
 * sign mounts there; here it is refused as evidence (drop and hold).
 */
static void tcon_311_must_be_signed(struct kunit *test)
{
	static const u8 other_key[16] = { 1, 2, 3 };
	struct counts c;

	snap(&c);
	KUNIT_EXPECT_EQ(test, tcon_311(test, RSP_SIGNED, key_30, true), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_TCON_VERIFIED), 1);
	KUNIT_EXPECT_EQ(test, fc->sends, 0);

	snap(&c);
	KUNIT_EXPECT_EQ(test, tcon_311(test, SMBVN_FLAG_RESPONSE, NULL, true),
			-EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_TCON_UNSIGNED), 1);
	KUNIT_EXPECT_EQ(test, fc->drops, 1);
	KUNIT_EXPECT_TRUE(test, smbvn_conn_held(fc->srv));

	snap(&c);
	KUNIT_EXPECT_EQ(test, tcon_311(test, RSP_SIGNED, other_key, true),
			-EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_TCON_BAD_SIGNATURE), 1);
	KUNIT_EXPECT_EQ(test, fc->drops, 2);
}

/*
 * A 3.1.1 tree connect smbvn did not watch (require_secure_negotiate
 * turned on while it was out) proves nothing: retryable, no drop.  A
 * guest session cannot sign its tree connect: refused alone.
 */
static void tcon_311_unwatched_or_guest(struct kunit *test)
{
	struct counts c;

	snap(&c);
	KUNIT_EXPECT_EQ(test, tcon_311(test, RSP_SIGNED, key_30, false),
			-EAGAIN);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_RESPONSE), 1);
	KUNIT_EXPECT_EQ(test, fc->drops, 0);

	FIELD(fc->ses, SMBVN_OFF_SES_SESSION_FLAGS, u16) =
		SESSION_FLAG_IS_GUEST;
	snap(&c);
	KUNIT_EXPECT_EQ(test, tcon_311(test, SMBVN_FLAG_RESPONSE, NULL, true),
			-EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_GUEST_REFUSED), 1);
	KUNIT_EXPECT_EQ(test, fc->drops, 0);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_held(fc->srv));
}

/* The second channel's own signing key, from its binding. */
static const u8 key_chan2[16] = { 0x3c, 0x91, 0x0a, 0x57, 0xe2 };

/*
 * M4: the session has a second channel, srv2, whose NEGOTIATE answered
 * @rsp; @need is cifs' chans_need_reconnect (bit 0 the primary).  The
 * answer smbvn gets is the server's real one, signed with the key of
 * @server, the channel being set up.
 */
static void two_channels(struct kunit *test, const struct smbvn_neg_rsp *rsp,
			 unsigned long need, void *server)
{
	char *chan2 = &FIELD(fc->ses, SMBVN_OFF_SES_CHANS + SMBVN_SIZE_CHAN,
			     char);

	FIELD(chan2, SMBVN_OFF_CHAN_SERVER, void *) = fc->srv2;
	memcpy(&FIELD(chan2, SMBVN_OFF_CHAN_SIGNKEY, u8), key_chan2, 16);
	FIELD(fc->ses, SMBVN_OFF_SES_CHAN_COUNT, size_t) = 2;
	FIELD(fc->ses, SMBVN_OFF_SES_CHANS_NEED_RECONNECT, unsigned long) =
		need;
	/* The primary has reconnected once; srv2 is new. */
	FIELD(fc->srv, SMBVN_OFF_SRV_RECONNECT_INSTANCE, u32) = 2;
	FIELD(fc->srv2, SMBVN_OFF_SRV_RECONNECT_INSTANCE, u32) = 1;
	FIELD(fc->ses, SMBVN_OFF_SES_TCON_IPC, void *) = fc->tcon;
	capture_negotiate(fc->srv2, &fc->req, rsp);
	answer_echo(test, &kt_rsp_300,
		    server == fc->srv2 ? key_chan2 : key_30, true);
}

/* cifs' SMB2_sess_setup: the channel's key exists once it returns. */
static int fake_sess_setup(const unsigned int xid, void *ses, void *server,
			   const void *nls)
{
	fc->setups++;
	return 0;
}

static int setup_on(void *server)
{
	return smbvn_channel_setup(1, fc->ses, server, NULL, fake_sess_setup);
}

/*
 * How many channel references smbvn_drop_channels() gave back, once its
 * work item has run: none of them by the test's task, which stands for
 * cifs' session setup holding the session_mutex.
 */
static int channels_dropped(struct kunit *test)
{
	smbvn_drop_channels_flush();
	KUNIT_EXPECT_EQ(test, fc->puts_in_caller, 0);
	KUNIT_EXPECT_EQ(test, FIELD(fc->srv, SMBVN_OFF_SRV_COUNT, int), 0);
	KUNIT_EXPECT_EQ(test, FIELD(fc->srv2, SMBVN_OFF_SRV_COUNT, int), 0);
	return fc->puts;
}

/*
 * A new second channel binds: validated on itself, over IPC$, with its
 * own key, which cifs would not use while the channel still counts as
 * binding: the session's key stands in for it during the exchange only.
 */
static void m4_binding_channel_validated(struct kunit *test)
{
	struct counts c;

	two_channels(test, &kt_rsp_300, BIT(1), fc->srv2);
	snap(&c);
	KUNIT_EXPECT_EQ(test, setup_on(fc->srv2), 0);
	KUNIT_EXPECT_EQ(test, fc->setups, 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 1);
	KUNIT_EXPECT_EQ(test, fc->sends, 1);
	KUNIT_EXPECT_EQ(test, channels_dropped(test), 0);
	KUNIT_EXPECT_MEMEQ(test, fc->ses_signkey_at_send, key_chan2, 16);
	KUNIT_EXPECT_MEMEQ(test, &FIELD(fc->ses, SMBVN_OFF_SES_SIGNINGKEY, u8),
			   key_30, 16);
}

/*
 * A new second channel's NEGOTIATE was tampered (another ServerGuid): its
 * validation, answered with the real values, is refused.  cifs gives the
 * channel up on the error: smbvn drops nothing, the primary stays.
 */
static void m4_tampered_channel_refused(struct kunit *test)
{
	struct smbvn_neg_rsp tampered = kt_rsp_300;
	struct counts c;

	tampered.guid[0] ^= 0xff;
	two_channels(test, &tampered, BIT(1), fc->srv2);
	snap(&c);
	KUNIT_EXPECT_EQ(test, setup_on(fc->srv2), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_MISMATCH_GUID), 1);
	KUNIT_EXPECT_EQ(test, fc->drops, 0);
	KUNIT_EXPECT_EQ(test, channels_dropped(test), 0);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_held(fc->srv));
	KUNIT_EXPECT_MEMEQ(test, &FIELD(fc->ses, SMBVN_OFF_SES_SIGNINGKEY, u8),
			   key_30, 16);
}

/*
 * The case: the primary dropped and renegotiated with another
 * ServerGuid while the second channel stayed up.  It re-binds with no
 * tree connect; smbvn validates it on itself, refuses it and drops every
 * channel of the session.
 */
static void m4_primary_rebind_tampered_refused(struct kunit *test)
{
	struct smbvn_neg_rsp tampered = kt_rsp_300;
	struct counts c;

	two_channels(test, &kt_rsp_300, BIT(0), fc->srv);
	tampered.guid[0] ^= 0xff;
	capture_negotiate(fc->srv, &fc->req, &tampered);
	snap(&c);
	KUNIT_EXPECT_EQ(test, setup_on(fc->srv), -EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_MISMATCH_GUID), 1);
	KUNIT_EXPECT_EQ(test, fc->sends, 1);
	/* The refused one by the refusal, then both channels' sockets. */
	KUNIT_EXPECT_EQ(test, fc->drops, 3);
	KUNIT_EXPECT_EQ(test, channels_dropped(test), 2);
	KUNIT_EXPECT_TRUE(test, smbvn_conn_held(fc->srv));
}

/*
 * Many refusals before the work item runs: every reference still goes
 * back from it, none from the refusing task (a fixed-size queue once put
 * the overflow back at once, under the session_mutex).
 */
static void m4_many_drops_all_deferred(struct kunit *test)
{
	int i;

	two_channels(test, &kt_rsp_300, BIT(0), fc->srv);
	for (i = 0; i < 40; i++)
		smbvn_drop_channels(fc->ses);
	KUNIT_EXPECT_EQ(test, channels_dropped(test), 80);
}

/* The same re-bind, honest: validated, nothing dropped. */
static void m4_primary_rebind_validated(struct kunit *test)
{
	struct counts c;

	two_channels(test, &kt_rsp_300, BIT(0), fc->srv);
	snap(&c);
	KUNIT_EXPECT_EQ(test, setup_on(fc->srv), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 1);
	KUNIT_EXPECT_EQ(test, channels_dropped(test), 0);
}

/*
 * Every channel dropped: the primary sets the session up again (its tree
 * connects are validated then, not here); a secondary channel may not,
 * and is told to retry without a byte sent.
 */
static void m4_only_primary_sets_up_session(struct kunit *test)
{
	two_channels(test, &kt_rsp_300, BIT(0) | BIT(1), fc->srv);
	KUNIT_EXPECT_EQ(test, setup_on(fc->srv2), -EAGAIN);
	KUNIT_EXPECT_EQ(test, fc->setups, 0);
	KUNIT_EXPECT_EQ(test, setup_on(fc->srv), 0);
	KUNIT_EXPECT_EQ(test, fc->setups, 1);
	KUNIT_EXPECT_EQ(test, fc->sends, 0);
}

/*
 * Nothing of this with require_secure_negotiate=0; and on 3.1.1 a
 * secondary channel may set the session up alone (its tree connects'
 * signatures prove it then).
 */
static void m4_unchecked_when_off(struct kunit *test)
{
	two_channels(test, &kt_rsp_300, BIT(0) | BIT(1), fc->srv);
	WRITE_ONCE(smbvn_enforce, false);
	KUNIT_EXPECT_EQ(test, setup_on(fc->srv2), 0);
	FIELD(fc->ses, SMBVN_OFF_SES_CHANS_NEED_RECONNECT, unsigned long) =
		BIT(1);
	KUNIT_EXPECT_EQ(test, setup_on(fc->srv2), 0);
	WRITE_ONCE(smbvn_enforce, true);
	FIELD(fc->ses, SMBVN_OFF_SES_CHANS_NEED_RECONNECT, unsigned long) =
		BIT(0) | BIT(1);
	FIELD(fc->srv2, SMBVN_OFF_SRV_DIALECT, u16) = SMBVN_DIALECT_311;
	KUNIT_EXPECT_EQ(test, setup_on(fc->srv2), 0);
	KUNIT_EXPECT_EQ(test, fc->setups, 3);
	KUNIT_EXPECT_EQ(test, fc->sends, 0);
}

/*
 * 3.1.1 bindings: what the final SESSION_SETUP of srv2's binding answers,
 * signed with bind_key (NULL: unsigned), or nothing when !bind_answer.
 */
static const u8 *bind_key;
static bool bind_answer;
static struct kunit *bind_test;

/* cifs' SMB2_sess_setup on 3.1.1: its last leg, as smbvn watches it. */
static int fake_sess_setup_311(const unsigned int xid, void *ses,
			       void *server, const void *nls)
{
	u8 req[SMBVN_HDR_LEN] = {}, rsp[SMBVN_HDR_LEN + 8] = {};
	const u64 mid = 5;
	u8 *p;

	fc->setups++;
	kt_hdr(req, SMBVN_CMD_SESSION_SETUP, SMBVN_FLAG_SIGNED, 0, mid);
	kt_put32(req + SMBVN_HDR_SESSION_ID, (u32)SUID);
	kt_put32(req + SMBVN_HDR_SESSION_ID + 4, (u32)(SUID >> 32));
	smbvn_exchange_sent(req, server);
	if (!bind_answer)
		return 0;
	kt_hdr(rsp, SMBVN_CMD_SESSION_SETUP,
	       SMBVN_FLAG_RESPONSE | (bind_key ? SMBVN_FLAG_SIGNED : 0), 0,
	       mid);
	kt_put16(rsp + SMBVN_HDR_LEN, 9);
	p = kt_dup(bind_test, rsp, sizeof(rsp));
	if (bind_key)
		kt_sign(bind_test, p, sizeof(rsp), bind_key, true);
	deliver_cmd(server, SMBVN_CMD_SESSION_SETUP, p, sizeof(rsp), mid,
		    false);
	return 0;
}

/* @server binds on 3.1.1; @need as in two_channels(). */
static int bind_311(struct kunit *test, unsigned long need, void *server,
		    const u8 *key, bool answer)
{
	two_channels(test, &kt_rsp_300, need, server);
	FIELD(fc->srv, SMBVN_OFF_SRV_DIALECT, u16) = SMBVN_DIALECT_311;
	FIELD(fc->srv2, SMBVN_OFF_SRV_DIALECT, u16) = SMBVN_DIALECT_311;
	bind_key = key;
	bind_answer = answer;
	bind_test = test;
	return smbvn_channel_setup(1, fc->ses, server, NULL,
				   fake_sess_setup_311);
}

/*
 * Issue 13: a 3.1.1 channel that binds is proven by its binding's final
 * answer, signed with the new channel's own key (derived from that
 * channel's pre-authentication hash); nothing is sent for it.
 */
static void m4_311_binding_verified(struct kunit *test)
{
	struct counts c;

	snap(&c);
	KUNIT_EXPECT_EQ(test, bind_311(test, BIT(1), fc->srv2, key_chan2,
				       true), 0);
	KUNIT_EXPECT_EQ(test, fc->setups, 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_FAILED), 0);
	KUNIT_EXPECT_EQ(test, fc->sends, 0);
}

/*
 * An impostor on the new channel cannot sign with its key: unsigned or
 * signed with another key (the session's, here), the binding is refused.
 * A new channel is left to cifs: nothing dropped.
 */
static void m4_311_binding_forged_refused(struct kunit *test)
{
	struct counts c;

	snap(&c);
	KUNIT_EXPECT_EQ(test, bind_311(test, BIT(1), fc->srv2, NULL, true),
			-EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_BIND_UNSIGNED), 1);
	snap(&c);
	KUNIT_EXPECT_EQ(test, bind_311(test, BIT(1), fc->srv2, key_30, true),
			-EPROTO);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_BIND_BAD_SIGNATURE), 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 0);
	KUNIT_EXPECT_EQ(test, fc->drops, 0);
	KUNIT_EXPECT_EQ(test, channels_dropped(test), 0);
	KUNIT_EXPECT_EQ(test, fc->sends, 0);
}

/* The primary binding again, forged: every channel of the session drops. */
static void m4_311_rebind_forged_drops_session(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, bind_311(test, BIT(0), fc->srv, NULL, true),
			-EPROTO);
	KUNIT_EXPECT_EQ(test, channels_dropped(test), 2);
}

/* No answer caught proves nothing: retryable, nothing dropped. */
static void m4_311_binding_uncaught_retried(struct kunit *test)
{
	struct counts c;

	snap(&c);
	KUNIT_EXPECT_EQ(test, bind_311(test, BIT(1), fc->srv2, key_chan2,
				       false), -EAGAIN);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_VALIDATED), 0);
	KUNIT_EXPECT_EQ(test, fc->drops + channels_dropped(test), 0);
}

/* Another task set the session up again: new SessionId, new keys. */
static void session_set_up_again(void)
{
	static const u8 new_key[16] = { 0x0d, 0xe1 };

	FIELD(fc->ses, SMBVN_OFF_SES_SUID, u64) = SUID + 2;
	memcpy(&FIELD(fc->ses, SMBVN_OFF_SES_CHANS + SMBVN_OFF_CHAN_SIGNKEY,
		      u8), new_key, 16);
}

/* The channel negotiated again; the session and its key look the same. */
static void channel_renegotiated(void)
{
	capture_negotiate(fc->srv, &fc->req, &kt_rsp_300);
}

/*
 * A 3.1.1 tree connect answered honestly, under the keys of the session
 * that sent it, is judged against that session and that NEGOTIATE: if
 * either changed before the verdict, the answer proves nothing either
 * way (retryable, no drop), rather than a bad signature that would drop
 * and hold a connection other sessions share.
 */
static void tcon_311_judged_as_sent(struct kunit *test)
{
	struct counts c;

	snap(&c);
	KUNIT_EXPECT_EQ(test, tcon_311_then(test, RSP_SIGNED, key_30, true,
					    session_set_up_again), -EAGAIN);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_RENEGOTIATED), 1);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_TCON_BAD_SIGNATURE), 0);
	KUNIT_EXPECT_EQ(test, fc->drops, 0);

	FIELD(fc->ses, SMBVN_OFF_SES_SUID, u64) = SUID;
	memcpy(&FIELD(fc->ses, SMBVN_OFF_SES_CHANS + SMBVN_OFF_CHAN_SIGNKEY,
		      u8), key_30, 16);
	snap(&c);
	KUNIT_EXPECT_EQ(test, tcon_311_then(test, RSP_SIGNED, key_30, true,
					    channel_renegotiated), -EAGAIN);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_RENEGOTIATED), 1);
	KUNIT_EXPECT_EQ(test, fc->drops, 0);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_held(fc->srv));

	/* Positive control: nothing changed. */
	snap(&c);
	KUNIT_EXPECT_EQ(test, tcon_311(test, RSP_SIGNED, key_30, true), 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_TCON_VERIFIED), 1);
}

/*
 * A round trip cut short by a signal to the mounting task or by memory
 * proves nothing about the connection other sessions share: no drop, no
 * hold, retryable.  A plain loss on a fresh connection is evidence.
 */
static void interrupted_exchange_is_retryable(struct kunit *test)
{
	struct counts c;

	fc->send_rc = -ERESTARTSYS;
	snap(&c);
	KUNIT_EXPECT_EQ(test, validate(), -EAGAIN);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_NO_RESPONSE), 1);
	KUNIT_EXPECT_EQ(test, fc->drops, 0);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_held(fc->srv));
	fc->send_rc = -EAGAIN;
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_EQ(test, fc->drops, 1);
	KUNIT_EXPECT_TRUE(test, smbvn_conn_held(fc->srv));
}

/* A request cifs is about to send: header, then a zeroed body. */
static size_t request(u8 *p, u16 cmd, u32 flags, u64 sid, u32 tid,
		      u32 ctlcode)
{
	memset(p, 0, REQ_LEN);
	kt_hdr(p, cmd, flags, 0, 7);
	kt_put32(p + SMBVN_HDR_TREE_ID, tid);
	kt_put32(p + SMBVN_HDR_SESSION_ID, (u32)sid);
	kt_put32(p + SMBVN_HDR_SESSION_ID + 4, (u32)(sid >> 32));
	kt_put32(p + SMBVN_IOCTL_CTLCODE, ctlcode);
	return REQ_LEN;
}

#define CREATE		0x0005
#define TID		0x11
#define FSCTL_SET_ZERO_DATA 0x000980c8

static bool may_send(void *srv, u16 cmd, u64 sid, u32 tid, u32 ctlcode)
{
	u8 p[REQ_LEN];

	return smbvn_request_allowed(fc->ses, srv, p,
				     request(p, cmd, 0, sid, tid, ctlcode));
}

/*
 * Review L6: nothing but the exchanges validation needs may use a tree
 * before its tree connect was accepted on the connection's current
 * NEGOTIATE, whether its TreeId is new (an FSCTL while the validation is
 * out) or from before a reconnect (a request built before the drop).
 */
static void l6_tree_waits_for_its_validation(struct kunit *test)
{
	static const u16 exempt[] = {
		SMBVN_CMD_NEGOTIATE, SMBVN_CMD_SESSION_SETUP,
		SMBVN_CMD_LOGOFF, SMBVN_CMD_TREE_CONNECT,
		SMBVN_CMD_TREE_DISCONNECT, SMBVN_CMD_CANCEL, SMBVN_CMD_ECHO,
	};
	struct counts c;
	unsigned int i;
	u8 p[REQ_LEN];

	FIELD(fc->tcon, SMBVN_OFF_TCON_TID, u32) = TID;
	snap(&c);
	KUNIT_EXPECT_FALSE(test, may_send(fc->srv, CREATE, SUID, TID, 0));
	KUNIT_EXPECT_FALSE(test, may_send(fc->srv, SMBVN_CMD_IOCTL, SUID, TID,
					  FSCTL_SET_ZERO_DATA));
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_HELD_BACK), 2);
	for (i = 0; i < ARRAY_SIZE(exempt); i++)
		KUNIT_EXPECT_TRUE(test, may_send(fc->srv, exempt[i], SUID,
						 TID, 0));
	KUNIT_EXPECT_TRUE(test,
			  may_send(fc->srv, SMBVN_CMD_IOCTL, SUID, TID,
				   SMBVN_FSCTL_VALIDATE_NEGOTIATE_INFO));
	/* A compound's related member rides on the member before it. */
	request(p, CREATE, SMBVN_FLAG_RELATED, 0, 0, 0);
	KUNIT_EXPECT_TRUE(test,
			  smbvn_request_allowed(NULL, fc->srv, p, REQ_LEN));
	/* Too short to name a tree: none it names was validated. */
	KUNIT_EXPECT_FALSE(test, smbvn_request_allowed(NULL, fc->srv, p, 20));
	KUNIT_EXPECT_FALSE(test, smbvn_request_allowed(NULL, fc->srv, NULL, 0));

	answer_echo(test, &kt_rsp_300, key_30, true);
	KUNIT_ASSERT_EQ(test, validate(), 0);
	KUNIT_EXPECT_TRUE(test, may_send(fc->srv, CREATE, SUID, TID, 0));
	KUNIT_EXPECT_TRUE(test, may_send(fc->srv, SMBVN_CMD_IOCTL, SUID, TID,
					 FSCTL_SET_ZERO_DATA));
	/* Another tree, or the same TreeId in another session: not yet. */
	KUNIT_EXPECT_FALSE(test, may_send(fc->srv, CREATE, SUID, TID + 1, 0));
	KUNIT_EXPECT_FALSE(test, may_send(fc->srv, CREATE, SUID + 1, TID, 0));
	/*
	 * A new socket: nothing before its NEGOTIATE (6.1 sent an FSCTL
	 * there, MessageId 0, in CI's stress churn).
	 */
	smbvn_conn_socket(fc->srv);
	KUNIT_EXPECT_FALSE(test, may_send(fc->srv, SMBVN_CMD_IOCTL, SUID, TID,
					  FSCTL_SET_ZERO_DATA));
	KUNIT_ASSERT_EQ(test, validate(), 0);
	KUNIT_EXPECT_TRUE(test, may_send(fc->srv, CREATE, SUID, TID, 0));

	/* The primary renegotiates: every tree waits for its reconnect. */
	capture_negotiate(fc->srv, &fc->req, &kt_rsp_300);
	KUNIT_EXPECT_FALSE(test, may_send(fc->srv, CREATE, SUID, TID, 0));
	KUNIT_ASSERT_EQ(test, validate(), 0);
	KUNIT_EXPECT_TRUE(test, may_send(fc->srv, CREATE, SUID, TID, 0));
}

/*
 * A multichannel primary that reconnects while another channel is up only
 * binds again: cifs runs no tree connect, so no tree would ever be
 * accepted on its new NEGOTIATE (gate review F1).  Its validated binding
 * lets its requests through instead, until its next NEGOTIATE.  Requests
 * on a secondary channel go (it was checked when it bound); nothing is
 * held back in audit mode, which must change nothing.
 */
static void l6_bound_channels_and_audit_not_held(struct kunit *test)
{
	bool audit = smbvn_audit_only;
	u8 p[REQ_LEN];

	KUNIT_EXPECT_FALSE(test, may_send(fc->srv, CREATE, SUID, TID, 0));
	smbvn_audit_only = true;
	KUNIT_EXPECT_TRUE(test, may_send(fc->srv, CREATE, SUID, TID, 0));
	smbvn_audit_only = audit;

	FIELD(fc->srv2, SMBVN_OFF_SRV_PRIMARY_SERVER, void *) = fc->srv;
	capture_negotiate(fc->srv2, &fc->req, &kt_rsp_300);
	request(p, CREATE, 0, SUID, TID, 0);
	KUNIT_EXPECT_TRUE(test, smbvn_request_allowed(NULL, fc->srv2, p,
						      REQ_LEN));
	/* That proves nothing about the primary's own NEGOTIATE. */
	KUNIT_EXPECT_FALSE(test, smbvn_request_allowed(NULL, fc->srv, p,
						       REQ_LEN));
	smbvn_conn_bound(fc->srv);
	KUNIT_EXPECT_TRUE(test, smbvn_request_allowed(NULL, fc->srv, p,
						      REQ_LEN));
	/* Its next NEGOTIATE needs a binding, or a tree connect, again. */
	capture_negotiate(fc->srv, &fc->req, &kt_rsp_300);
	KUNIT_EXPECT_FALSE(test, smbvn_request_allowed(NULL, fc->srv, p,
						       REQ_LEN));
}

/*
 * A session with two channels says so itself, before any channel sends;
 * back to one channel (cifs dropped the others), it is gated again.
 */
static void l6_session_with_channels_not_held(struct kunit *test)
{
	FIELD(fc->ses, SMBVN_OFF_SES_CHAN_COUNT, size_t) = 2;
	KUNIT_EXPECT_TRUE(test, may_send(fc->srv, CREATE, SUID, TID, 0));
	FIELD(fc->ses, SMBVN_OFF_SES_CHAN_COUNT, size_t) = 1;
	KUNIT_EXPECT_FALSE(test, may_send(fc->srv, CREATE, SUID, TID, 0));
}

/*
 * A tree cifs believes connected but smbvn never accepted on the current
 * NEGOTIATE (gate review F2) is not held back for good: after 30 s of
 * requests held back for it, its connection is to be dropped, once per
 * 30 s; another tree starts its own count.
 */
static void l6_stuck_tree_gets_its_connection_dropped(struct kunit *test)
{
	unsigned long t = jiffies;
	bool stuck;

	KUNIT_EXPECT_FALSE(test, smbvn_conn_tree_usable(fc->srv, SUID, TID, t,
							&stuck));
	KUNIT_EXPECT_FALSE(test, stuck);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_tree_usable(fc->srv, SUID, TID,
							t + 29 * HZ, &stuck));
	KUNIT_EXPECT_FALSE(test, stuck);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_tree_usable(fc->srv, SUID, TID,
							t + 31 * HZ, &stuck));
	KUNIT_EXPECT_TRUE(test, stuck);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_tree_usable(fc->srv, SUID, TID,
							t + 40 * HZ, &stuck));
	KUNIT_EXPECT_FALSE(test, stuck);
	KUNIT_EXPECT_FALSE(test, smbvn_conn_tree_usable(fc->srv, SUID, TID + 1,
							t + 62 * HZ, &stuck));
	KUNIT_EXPECT_FALSE(test, stuck);
	/* An accepted tree is never stuck. */
	smbvn_conn_tree_accepted(fc->srv, smbvn_conn_stamp(fc->srv), SUID,
				 TID);
	KUNIT_EXPECT_TRUE(test, smbvn_conn_tree_usable(fc->srv, SUID, TID,
						       t + 99 * HZ, &stuck));
	KUNIT_EXPECT_FALSE(test, stuck);
}

/*
 * A tree judged on a NEGOTIATE that has since been replaced is not let
 * through on the new one; a refused tree connect lets nothing through;
 * require_secure_negotiate=0 holds nothing back; a connection smbvn has no
 * record of (negotiated before it loaded) is left to renegotiate_existing.
 */
static void l6_only_what_was_accepted_passes(struct kunit *test)
{
	bool enforce = smbvn_enforce;

	FIELD(fc->tcon, SMBVN_OFF_TCON_TID, u32) = TID;
	smbvn_conn_tree_accepted(fc->srv, smbvn_conn_stamp(fc->srv) - 1, SUID,
				 TID);
	KUNIT_EXPECT_FALSE(test, may_send(fc->srv, CREATE, SUID, TID, 0));
	answer_echo(test, &kt_rsp_210, key_30, true);
	KUNIT_EXPECT_EQ(test, validate(), -EPROTO);
	KUNIT_EXPECT_FALSE(test, may_send(fc->srv, CREATE, SUID, TID, 0));

	smbvn_enforce = false;
	KUNIT_EXPECT_TRUE(test, may_send(fc->srv, CREATE, SUID, TID, 0));
	smbvn_enforce = enforce;
	KUNIT_EXPECT_TRUE(test, may_send(fc->srv2, CREATE, SUID, TID, 0));
}

/*
 * A NEGOTIATE seen while smbvn was still installing its hooks may be
 * followed by a stock tree connect smbvn never judged: its trees pass (CI,
 * stress load loop: a mount that could not read its file), and the
 * connection's next NEGOTIATE is gated again.
 */
static void l6_negotiated_while_hooking_passes(struct kunit *test)
{
	smbvn_conns_arm(false);
	capture_negotiate(fc->srv, &fc->req, &kt_rsp_300);
	smbvn_conns_arm(true);
	KUNIT_EXPECT_TRUE(test, may_send(fc->srv, CREATE, SUID, TID, 0));
	capture_negotiate(fc->srv, &fc->req, &kt_rsp_300);
	KUNIT_EXPECT_FALSE(test, may_send(fc->srv, CREATE, SUID, TID, 0));
}

/* Past the trees a record holds, the connection's proof covers them all. */
static void l6_many_trees_stay_usable(struct kunit *test)
{
	u32 stamp = smbvn_conn_stamp(fc->srv);
	u32 tid;

	for (tid = 1; tid <= 40; tid++) {
		smbvn_conn_tree_accepted(fc->srv, stamp, SUID, tid);
		KUNIT_EXPECT_TRUE(test, may_send(fc->srv, CREATE, SUID, tid, 0));
	}
	for (tid = 1; tid <= 40; tid++)
		KUNIT_EXPECT_TRUE(test, may_send(fc->srv, CREATE, SUID, tid, 0));
}

/*
 * Review of the bind check, finding 1: the primary reconnects while the
 * second channel is up, and its NEGOTIATE answer loses MULTI_CHANNEL.
 * cifs then drops the other channels (chan_count 1) and sets the session
 * up again without a binding and without reconnecting its trees.  Before,
 * the session's earlier channels kept every tree usable on that unproven
 * NEGOTIATE; now only a validated binding does, and these requests wait.
 */
static void m4_stripped_multichannel_held(struct kunit *test)
{
	u8 p[REQ_LEN];

	two_channels(test, &kt_rsp_300, BIT(0), fc->srv);
	FIELD(fc->srv2, SMBVN_OFF_SRV_PRIMARY_SERVER, void *) = fc->srv;
	smbvn_conn_tree_accepted(fc->srv, smbvn_conn_stamp(fc->srv), SUID,
				 TID);
	request(p, CREATE, 0, SUID, TID, 0);
	KUNIT_EXPECT_TRUE(test, smbvn_request_allowed(fc->ses, fc->srv2, p,
						      REQ_LEN));
	/* The reconnect: a new NEGOTIATE, the secondaries disabled. */
	capture_negotiate(fc->srv, &fc->req, &kt_rsp_300);
	FIELD(fc->ses, SMBVN_OFF_SES_CHAN_COUNT, size_t) = 1;
	FIELD(fc->ses, SMBVN_OFF_SES_CHANS_NEED_RECONNECT, unsigned long) =
		BIT(0);
	KUNIT_EXPECT_EQ(test, setup_on(fc->srv), 0);
	KUNIT_EXPECT_EQ(test, fc->sends, 0);
	KUNIT_EXPECT_FALSE(test, smbvn_request_allowed(NULL, fc->srv, p,
						       REQ_LEN));
	KUNIT_EXPECT_FALSE(test, smbvn_request_allowed(fc->ses, fc->srv, p,
						       REQ_LEN));
}

/*
 * Finding 2: a channel whose NEGOTIATE answered 2.1 binds nothing on an
 * honest server (MS-SMB2 3.3.5.5), and nothing could check it: refused
 * before the binding is sent.  A new channel alone; a re-bind with the
 * whole session.
 */
static void m4_binding_on_2x_refused(struct kunit *test)
{
	struct counts c;

	two_channels(test, &kt_rsp_300, BIT(1), fc->srv2);
	FIELD(fc->srv2, SMBVN_OFF_SRV_DIALECT, u16) = SMBVN_DIALECT_210;
	snap(&c);
	KUNIT_EXPECT_EQ(test, setup_on(fc->srv2), -EPROTO);
	KUNIT_EXPECT_EQ(test, fc->setups, 0);
	KUNIT_EXPECT_EQ(test, moved(&c, SMBVN_STAT_MISMATCH_DIALECT), 1);
	KUNIT_EXPECT_EQ(test, channels_dropped(test), 0);

	FIELD(fc->ses, SMBVN_OFF_SES_CHANS_NEED_RECONNECT, unsigned long) =
		BIT(0);
	FIELD(fc->srv, SMBVN_OFF_SRV_DIALECT, u16) = SMBVN_DIALECT_210;
	KUNIT_EXPECT_EQ(test, setup_on(fc->srv), -EPROTO);
	KUNIT_EXPECT_EQ(test, fc->setups, 0);
	KUNIT_EXPECT_EQ(test, channels_dropped(test), 2);
}

static struct kunit_case smbvn_glue_cases[] = {
	KUNIT_CASE(validates_signed_echo_30),
	KUNIT_CASE(validates_signed_echo_21),
	KUNIT_CASE(tampered_echo_holds),
	KUNIT_CASE(h1_no_session_key_2x),
	KUNIT_CASE(h1_short_session_key_2x),
	KUNIT_CASE(h1_zero_channel_key_30),
	KUNIT_CASE(h1_channel_not_in_session_30),
	KUNIT_CASE(l3_foreign_answer_ignored),
	KUNIT_CASE(m5_renegotiated_during_exchange),
	KUNIT_CASE(l9_stale_record_refused),
	KUNIT_CASE(l9_many_connections_keep_records),
	KUNIT_CASE(l9_empty_pool_refuses),
	KUNIT_CASE(m7_guest_refused_without_hold),
	KUNIT_CASE(small_negotiate_sizes_refused),
	KUNIT_CASE(lost_answer_ends_after_three_echo_intervals),
	KUNIT_CASE(l8_kerberos_without_user_validated),
	KUNIT_CASE(n2_decrypted_answer_bounded_by_pdu),
	KUNIT_CASE(l4_decrypted_answer_bound_to_session),
	KUNIT_CASE(l4_session_id_shared_proves_nothing),
	KUNIT_CASE(interrupted_exchange_is_retryable),
	KUNIT_CASE(tcon_311_must_be_signed),
	KUNIT_CASE(m4_binding_channel_validated),
	KUNIT_CASE(m4_tampered_channel_refused),
	KUNIT_CASE(m4_primary_rebind_tampered_refused),
	KUNIT_CASE(m4_primary_rebind_validated),
	KUNIT_CASE(m4_many_drops_all_deferred),
	KUNIT_CASE(m4_only_primary_sets_up_session),
	KUNIT_CASE(m4_unchecked_when_off),
	KUNIT_CASE(m4_stripped_multichannel_held),
	KUNIT_CASE(m4_binding_on_2x_refused),
	KUNIT_CASE(m4_311_binding_verified),
	KUNIT_CASE(m4_311_binding_forged_refused),
	KUNIT_CASE(m4_311_rebind_forged_drops_session),
	KUNIT_CASE(m4_311_binding_uncaught_retried),
	KUNIT_CASE(tcon_311_unwatched_or_guest),
	KUNIT_CASE(tcon_311_judged_as_sent),
	KUNIT_CASE(l6_tree_waits_for_its_validation),
	KUNIT_CASE(l6_only_what_was_accepted_passes),
	KUNIT_CASE(l6_many_trees_stay_usable),
	KUNIT_CASE(l6_negotiated_while_hooking_passes),
	KUNIT_CASE(l6_bound_channels_and_audit_not_held),
	KUNIT_CASE(l6_session_with_channels_not_held),
	KUNIT_CASE(l6_stuck_tree_gets_its_connection_dropped),
	{}
};

/* The fake connections' memory goes back to KUnit: so do their records. */
static void glue_exit(struct kunit *test)
{
	/* A put still pending would reach the next test's fc. */
	smbvn_drop_channels_flush();
	smbvn_conn_forget(fc->srv);
	smbvn_conn_forget(fc->srv2);
}

/* The pool's work item must not outlive the module (make kunit-ko). */
static void glue_suite_exit(struct kunit_suite *suite)
{
	smbvn_conns_exit();
}

static struct kunit_suite smbvn_glue_suite = {
	.name = "smbvn_glue",
	.init = glue_init,
	.exit = glue_exit,
	.suite_exit = glue_suite_exit,
	.test_cases = smbvn_glue_cases,
};

kunit_test_suite(smbvn_glue_suite);
