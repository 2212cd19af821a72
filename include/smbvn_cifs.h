/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the files that touch cifs (validate.c, conns.c, exchange.c,
 * hooks.c, drop.c): reading its private structures at the offsets
 * generated from the target cifs.ko's BTF (smbvn_layout.h), and the
 * interfaces between those files.
 */
#ifndef SMBVN_CIFS_H
#define SMBVN_CIFS_H

#include <linux/list.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include "smbvn_layout.h"
#include "smbvn_proto.h"

#define FIELD(p, off, type)	(*(type *)((char *)(p) + (off)))

/* Per TCP connection: what its last NEGOTIATE sent and received. */
struct smbvn_conn {
	const void *server;
	u32 stamp;
	bool have_req;
	bool have_rsp;
	bool logged_disabled;
	bool validated;			/* a validation passed this session */
	unsigned long refused_until;	/* jiffies; 0 = not refused */
	struct smbvn_neg_req req;
	struct smbvn_neg_rsp rsp;
};

void smbvn_conn_neg_req(const void *server, const u8 *pdu, size_t len);
void smbvn_conn_neg_rsp(const void *server, const u8 *pdu, size_t len);
bool smbvn_conn_snapshot(const void *server, bool enforce,
			 struct smbvn_conn *snap, bool *log_disabled);
void smbvn_conn_forget(const void *server);
void smbvn_conns_exit(void);
void smbvn_conns_refill(void);
void smbvn_conn_hold(const void *server);
bool smbvn_conn_held(const void *server);
unsigned long smbvn_conn_hold_left(const void *server);
void smbvn_conn_validated(const void *server);
bool smbvn_conn_rsp(const void *server, struct smbvn_neg_rsp *rsp);
u32 smbvn_conn_stamp(const void *server);
void smbvn_conn_tree_accepted(const void *server, u32 stamp, u64 session_id,
			      u32 tree_id);
bool smbvn_conn_tree_usable(const void *server, u64 session_id, u32 tree_id,
			    unsigned long now, bool *stuck);
void smbvn_conn_bound(const void *server);
void smbvn_conns_arm(bool armed);
void smbvn_conn_socket(const void *server);
bool smbvn_request_allowed(const void *ses, const void *server,
			   const u8 *pdu, size_t len);
void smbvn_gate_exit(void);
void smbvn_drop_listed(const void *server);

/* A validate answer is 73..136 bytes; anything far bigger is refused. */
#define SMBVN_RSP_CAPTURE_MAX	512
/*
 * Transforms remembered per round trip: cifsd decrypts each response into
 * a buffer the mid then owns, so ours is among the last few decrypted on
 * the channel before the waiting task looks at it.
 */
#define SMBVN_DEC_SEEN		16

/*
 * One request whose answer smbvn judges, owned by the task sending it:
 * smbvn's own validate ioctl, or cifs' 3.1.1 TREE_CONNECT.  Its answer is
 * the response on channel @tx, the connection it was sent on, whose
 * MessageId is @message_id: read when cifs signs the request, the last
 * moment it is plaintext (a sealed request is encrypted in place).
 */
struct smbvn_answer {
	struct list_head list;
	struct task_struct *task;
	u16 cmd;		/* SMB2 command of the request and answer */
	const void *tx;		/* TCP_Server_Info sent and answered on */
	const u8 *hdr;		/* our ioctl's SMB2 header, while sending */
	u64 message_id;
	u64 req_session_id;	/* SessionId in the request's header */
	u32 tx_stamp;		/* NEGOTIATE generation of @tx when sent */
	bool sent;		/* @message_id is known */
	bool got;
	bool decrypted;		/* arrived in a transform header */
	bool decrypted_known;	/* @decrypted_sid was seen being decrypted */
	bool sid_shared;	/* another session has @session_id too */
	u64 decrypted_sid;	/* its TRANSFORM_HEADER SessionId */
	/* Transforms decrypted on @tx while waiting: frame start, SessionId */
	const void *dec_buf[SMBVN_DEC_SEEN];
	u64 dec_sid[SMBVN_DEC_SEEN];
	unsigned int dec_next;
	size_t len;		/* bytes cifs received, may exceed @buf */
	u64 session_id;		/* Suid of the session validating */
	bool have_key;		/* @key is the channel's signing key */
	u8 key[16];		/* copied before sending, wiped with @a */
	u8 buf[SMBVN_RSP_CAPTURE_MAX];
};

void smbvn_drop_connection(void *server);
int smbvn_validate_tcon(unsigned int xid, void *ses, void *tcon,
			struct smbvn_answer *tc);
int smbvn_drop_resolve(struct module *cifs);
int smbvn_drop_existing(struct module *cifs);
void smbvn_drop_channels(void *ses);
int smbvn_drop_channels_resolve(struct module *cifs);
void smbvn_drop_channels_flush(void);
int smbvn_validate_channel(unsigned int xid, void *ses, void *chan,
			   struct smbvn_answer *tc);
int smbvn_refuse_bind_dialect(void *ses, void *chan, void *ipc);
int smbvn_validate_bind(unsigned int xid, void *ses, void *chan, void *ipc,
			struct smbvn_answer *tc);
bool smbvn_channel_signkey(const void *ses, const void *rx, u8 *key);
enum smbvn_verdict smbvn_round_trip(unsigned int xid, void *ses,
				    void *server, void *tcon, u16 dialect,
				    const struct smbvn_conn *snap,
				    struct smbvn_detail *d, const void **tx,
				    int *err);
enum smbvn_verdict smbvn_verify_tcon(void *ses, u16 dialect,
				     struct smbvn_answer *tc,
				     struct smbvn_detail *d, const void **tx,
				     int *err);
typedef int (*smbvn_sess_setup_t)(const unsigned int xid, void *ses,
				  void *server, const void *nls);
int smbvn_channel_setup(unsigned int xid, void *ses, void *server,
			const void *nls, smbvn_sess_setup_t setup);

int smbvn_exchange_resolve(struct module *cifs);
void *smbvn_exchange_channel(void *ses);
int smbvn_exchange(unsigned int xid, void *ses, void *tx, void *tcon,
		   const u8 *body, size_t len, struct smbvn_answer *a);
void smbvn_exchange_watch(struct smbvn_answer *a);
void smbvn_exchange_unwatch(struct smbvn_answer *a);
void smbvn_exchange_sent(const u8 *hdr, const void *server);
void smbvn_exchange_capture(const void *mid, const void *server);
void smbvn_exchange_decrypting(const void *server, const u8 *frame);
bool smbvn_exchange_pending(void);
bool smbvn_exchange_sid_unique(const void *ses, u64 sid);

#endif
