// SPDX-License-Identifier: GPL-2.0-only
/*
 * The decision for one SMB2 tree connect (or channel binding): whether to
 * validate, the verdict (answer.c), and what a refusal does: the errno,
 * the log line, the counters, and to the connection.  cifs structures are
 * read at offsets generated from the target cifs.ko's BTF (smbvn_layout.h),
 * checked at load time.
 */
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "smbvn.h"
#include "smbvn_cifs.h"
#include "smbvn_trace.h"

/* MS-SMB2 2.2.6: SessionFlags */
#define SESSION_FLAG_IS_GUEST	0x0001
#define SESSION_FLAG_IS_NULL	0x0002

/* A copy of the connection's host name, for log lines and the trace. */
struct host_name {
	char s[64];
};

/*
 * cifs replaces and frees server->hostname on a DFS failover under
 * srv_lock, so it is copied under that lock (security review L5).
 */
static const char *server_name(const void *server, struct host_name *h)
{
	spinlock_t *lock = &FIELD(server, SMBVN_OFF_SRV_LOCK, spinlock_t);
	const char *name;

	spin_lock(lock);
	name = FIELD(server, SMBVN_OFF_SRV_HOSTNAME, const char *);
	strscpy(h->s, name ? name : "?", sizeof(h->s));
	spin_unlock(lock);
	return h->s;
}

/*
 * A session that cannot sign: the server made it guest or anonymous, or
 * it has no user (a null-user mount).  The same predicate as cifs' own for
 * signing a tree connect, so a Kerberos session set up without user_name
 * (mount(2) with sec=krb5 and no user=) counts as authenticated.
 */
static bool session_is_guest(const void *ses)
{
	u16 flags = FIELD(ses, SMBVN_OFF_SES_SESSION_FLAGS, u16);

	if (flags & (SESSION_FLAG_IS_GUEST | SESSION_FLAG_IS_NULL))
		return true;
	return !FIELD(ses, SMBVN_OFF_SES_USER_NAME, const char *) &&
	       FIELD(ses, SMBVN_OFF_SES_SECTYPE, int) != SMBVN_SECTYPE_KERBEROS;
}

/*
 * One log line per refusal (or, in audit mode, per violation): where,
 * which rule, what was expected and what was seen.  An attacker who makes
 * a mount reconnect and fail in a loop must not flood the log: past 20
 * lines in 10 s they are dropped (the kernel says how many), while the
 * counters stay exact.
 */
static DEFINE_RATELIMIT_STATE(refusal_rs, 10 * HZ, 20);

static void log_refusal(const char *what, const char *host,
			const char *tree, u16 dialect, enum smbvn_verdict v,
			enum smbvn_action a, const struct smbvn_detail *d)
{
	const char *dn = smbvn_dialect_name(dialect);
	const char *rule = smbvn_verdict_name(v);

	if (!__ratelimit(&refusal_rs))
		return;
	switch (v) {
	case SMBVN_V_COUNT:	/* refused by policy, nothing was sent */
		pr_err("smbvn: %s %s on %s dialect %s: rule=%s (require_secure_negotiate=1; writing 0 to /sys/module/smbvn/parameters/require_secure_negotiate allows it)\n",
		       what, tree, host, dn, smbvn_action_name(a));
		break;
	case SMBVN_V_MISMATCH_GUID:
		pr_err("smbvn: %s %s on %s dialect %s: rule=%s expected=%*phN received=%*phN\n",
		       what, tree, host, dn, rule, SMBVN_GUID_LEN,
		       d->guid_expected, SMBVN_GUID_LEN, d->guid_received);
		break;
	case SMBVN_V_MISMATCH_CAPABILITIES:
	case SMBVN_V_MISMATCH_SECURITY_MODE:
	case SMBVN_V_MISMATCH_DIALECT:
	case SMBVN_V_MALFORMED:
		pr_err("smbvn: %s %s on %s dialect %s: rule=%s expected=0x%x received=0x%x\n",
		       what, tree, host, dn, rule, d->expected, d->received);
		break;
	case SMBVN_V_NO_RESPONSE:
		pr_err("smbvn: %s %s on %s dialect %s: rule=%s expected=signed answer received=transport error %d\n",
		       what, tree, host, dn, rule, (int)d->received);
		break;
	case SMBVN_V_SERVER_REJECTED:
	case SMBVN_V_ACCESS_DENIED:
	case SMBVN_V_DOWNGRADE_UNPROVEN:
		/* The server itself said no: its word is authenticated. */
		pr_err("smbvn: %s %s on %s dialect %s: rule=%s status=0x%08x\n",
		       what, tree, host, dn, rule, d->status);
		break;
	default:
		pr_err("smbvn: %s %s on %s dialect %s: rule=%s expected=signed answer received=status 0x%08x\n",
		       what, tree, host, dn, rule, d->status);
	}
}

/*
 * What a refusal does to the connection, by what it proves.  Only an
 * answer that contradicts the negotiation (or its absence after a clean
 * start) is evidence of tampering: that connection is dropped and held.
 * A guest session, a missing key or a NEGOTIATE smbvn did not see say
 * nothing about the connection, which other sessions share: they fail
 * this one tree connect alone.  A connection with no record at all is
 * still dropped, without a hold, so that it renegotiates where smbvn sees
 * it and the next tree connect can be validated.
 */
enum smbvn_refusal {
	SMBVN_R_EVIDENCE,	/* drop, hold, EPROTO */
	SMBVN_R_LOST,		/* drop, no hold, EAGAIN: a network failure */
	SMBVN_R_UNRECORDED,	/* drop, no hold, EPROTO */
	SMBVN_R_THIS_TCON,	/* no drop, no hold, EPROTO */
	SMBVN_R_RETRY,		/* no drop, no hold, EAGAIN */
};

/*
 * Account, trace and log a failed check; then fail the tree connect and
 * act on the connection as @r says, unless audit mode lets it through.
 * @v is SMBVN_V_COUNT when the policy (@a) refused before any exchange.
 */
static int fail_check(void *server, const void *tcon, u16 dialect,
		      enum smbvn_verdict v, enum smbvn_action a,
		      const struct smbvn_detail *d, u64 t0,
		      enum smbvn_refusal r)
{
	const char *tree = &FIELD(tcon, SMBVN_OFF_TCON_TREE_NAME, const char);
	bool audit = READ_ONCE(smbvn_audit_only);
	const char *reason = v == SMBVN_V_COUNT ? smbvn_action_name(a) :
						  smbvn_verdict_name(v);
	struct host_name h;
	const char *host = server_name(server, &h);

	smbvn_stat_inc(SMBVN_STAT_FAILED);
	if (v == SMBVN_V_COUNT)
		smbvn_stat_inc(a == SMBVN_A_REFUSE_GUEST ?
			       SMBVN_STAT_GUEST_REFUSED : SMBVN_STAT_NO_RECORD);
	else
		smbvn_stat_inc(smbvn_stat_of_verdict(v));
	if (audit)
		smbvn_stat_inc(SMBVN_STAT_AUDIT);
	trace_smbvn_decision(host, tree, dialect, audit ? "audit" : "refused",
			     reason, d ? d->status : 0, ktime_get_ns() - t0);
	log_refusal(audit ? "audit: would refuse" : "refused", host, tree,
		    dialect, v, a, d);
	if (audit)
		return 0;
	switch (r) {
	case SMBVN_R_THIS_TCON:
		return -SMBVN_ERRNO;
	case SMBVN_R_RETRY:
		return -EAGAIN;
	default:
		break;
	}
	smbvn_drop_connection(server);
	/*
	 * A session that validated before and lost its connection during the
	 * exchange met a network failure, not evidence of tampering: fail
	 * with the retryable error cifs itself would give, so that a hard
	 * mount reconnects (and revalidates) instead of seeing EPROTO for the
	 * length of the hold.
	 */
	if (r == SMBVN_R_LOST)
		return -EAGAIN;
	if (r == SMBVN_R_EVIDENCE)
		smbvn_conn_hold(server);
	return -SMBVN_ERRNO;
}

static void passed(const void *server, const void *tcon, u16 dialect,
		   enum smbvn_stat stat, const char *verdict,
		   const char *reason, u32 status, u64 t0)
{
	struct host_name h;

	smbvn_stat_inc(stat);
	trace_smbvn_decision(server_name(server, &h),
			     &FIELD(tcon, SMBVN_OFF_TCON_TREE_NAME, const char),
			     dialect, verdict, reason, status,
			     ktime_get_ns() - t0);
}

/*
 * A new channel refused at its first bind (@chan, never reconnected) is
 * given up by cifs itself: cifs_ses_add_channel puts it on the error.
 * Shutting its socket as well only has cifs' reconnect worker look for a
 * channel the session no longer has (a WARNING on 6.1).  So no drop and
 * no hold for it; the refusal stands.
 */
static enum smbvn_refusal unless_new_channel(const void *chan,
					     enum smbvn_refusal r)
{
	if (!chan || FIELD(chan, SMBVN_OFF_SRV_RECONNECT_INSTANCE, u32) != 1)
		return r;
	if (r == SMBVN_R_LOST || r == SMBVN_R_RETRY)
		return SMBVN_R_RETRY;
	return SMBVN_R_THIS_TCON;
}

/*
 * The decision for one tree connect, or one channel binding, whose
 * NEGOTIATE was on @server; the validation goes out on @force_tx, or on
 * the channel cifs would pick when NULL.
 */
static int judge_tcon(unsigned int xid, void *ses, void *server, void *tcon,
		      const void *force_tx, struct smbvn_answer *tc,
		      u32 *stamp)
{
	u16 dialect = FIELD(server, SMBVN_OFF_SRV_DIALECT, u16);
	struct smbvn_conn snap = {};
	const void *tx = server;
	u64 t0 = ktime_get_ns();
	struct smbvn_detail d;
	enum smbvn_verdict v;
	enum smbvn_action a;
	bool enforce = READ_ONCE(smbvn_enforce);
	bool log_disabled = false, have;
	enum smbvn_refusal r = SMBVN_R_EVIDENCE;
	struct host_name h;
	int err = 0;

	have = smbvn_conn_snapshot(server, enforce, &snap, &log_disabled);
	*stamp = snap.stamp;

	/*
	 * A record whose dialect is not the one cifs parsed from the same
	 * NEGOTIATE is stale or missed an exchange: as good as none.
	 */
	if (snap.have_rsp && snap.rsp.dialect != dialect) {
		snap.have_req = false;
		snap.have_rsp = false;
	}
	/* One snapshot, so a knob flip cannot log one mode and act on another. */
	a = smbvn_policy(enforce, dialect,
			 snap.have_req && snap.have_rsp, &snap.req,
			 session_is_guest(ses));
	/*
	 * Sizes below the protocol's floor are no evidence of tampering (an
	 * honest server could be that broken), so only this tree connect
	 * fails; every other one on the connection meets the same rule.
	 */
	if (a != SMBVN_A_DISABLED && snap.have_rsp &&
	    !smbvn_neg_sizes_ok(&snap.rsp, &d))
		return fail_check(server, tcon, dialect, SMBVN_V_MALFORMED, a,
				  &d, t0, unless_new_channel(force_tx,
				  SMBVN_R_THIS_TCON));
	switch (a) {
	case SMBVN_A_DISABLED:
		if (log_disabled || !have)
			pr_warn("smbvn: require_secure_negotiate=0: connection to %s dialect %s not validated\n",
				server_name(server, &h),
				smbvn_dialect_name(dialect));
		passed(server, tcon, dialect, SMBVN_STAT_DISABLED, "disabled",
		       smbvn_action_name(a), 0, t0);
		return 0;
	case SMBVN_A_SKIP_2X_ONLY:
		passed(server, tcon, dialect, SMBVN_STAT_NOT_APPLICABLE,
		       "not-applicable", smbvn_action_name(a), 0, t0);
		return 0;
	case SMBVN_A_VALIDATE:
	case SMBVN_A_VERIFY_TCON_311:
		break;
	default:
		return fail_check(server, tcon, dialect, SMBVN_V_COUNT, a,
				  NULL, t0, unless_new_channel(force_tx,
				  a == SMBVN_A_REFUSE_NO_RECORD &&
				  !snap.have_req ? SMBVN_R_UNRECORDED :
						   SMBVN_R_THIS_TCON));
	}

	if (a == SMBVN_A_VERIFY_TCON_311) {
		v = smbvn_verify_tcon(ses, dialect, tc, &d, &tx, &err);
		/* Not watched (a knob flip) or not caught: proves nothing. */
		if (v == SMBVN_V_COUNT && !err) {
			d.received = (u32)-ENODATA;
			return fail_check(server, tcon, dialect,
					  SMBVN_V_NO_RESPONSE, a, &d, t0,
					  SMBVN_R_RETRY);
		}
	} else {
		tx = force_tx;
		v = smbvn_round_trip(xid, ses, server, tcon, dialect, &snap,
				     &d, &tx, &err);
	}
	if (err) {
		/* No verdict at all: no evidence either way. */
		pr_err_ratelimited("smbvn: cannot validate on %s: %s (%d)\n",
				   server_name(server, &h), err == -ENOMEM ?
				   "out of memory" :
				   "signing algorithm unavailable", err);
		smbvn_stat_inc(SMBVN_STAT_FAILED);
		return err;
	}
	/* A NEGOTIATE smbvn did not see, here or on @tx: proves nothing. */
	if (v == SMBVN_V_COUNT)
		return fail_check(server, tcon, dialect, SMBVN_V_COUNT,
				  SMBVN_A_REFUSE_NO_RECORD, NULL, t0,
				  SMBVN_R_THIS_TCON);
	if (smbvn_verdict_ok(v)) {
		if (v == SMBVN_V_ACCEPT_PRE30) {
			smbvn_stat_inc(SMBVN_STAT_PRE30_ACCEPTED);
			pr_info_ratelimited("smbvn: %s dialect %s does not implement validation (signed status 0x%08x): accepted (strict_downgrade=0)\n",
					    server_name(server, &h),
					    smbvn_dialect_name(dialect),
					    d.status);
		}
		if (v == SMBVN_V_TCON_VERIFIED)
			smbvn_stat_inc(SMBVN_STAT_TCON_VERIFIED);
		if (tx != server)
			smbvn_stat_inc(SMBVN_STAT_OTHER_CHANNEL);
		smbvn_conn_validated(server);
		passed(server, tcon, dialect, SMBVN_STAT_VALIDATED, "validated",
		       smbvn_verdict_name(v), d.status, t0);
		return 0;
	}
	/*
	 * An exchange cut short by a fatal signal to the mounting task (the
	 * wait is killable: any local user can do it to a multiuser mount)
	 * or by memory says nothing about the connection it shares.
	 */
	if (v == SMBVN_V_NO_RESPONSE &&
	    (fatal_signal_pending(current) || (int)d.received == -ERESTARTSYS ||
	     (int)d.received == -EINTR || (int)d.received == -ENOMEM))
		r = SMBVN_R_RETRY;
	else if (v == SMBVN_V_NO_KEY || v == SMBVN_V_RENEGOTIATED)
		r = SMBVN_R_RETRY;
	else if (v == SMBVN_V_NO_RESPONSE && snap.validated)
		r = SMBVN_R_LOST;
	return fail_check(server, tcon, dialect, v, a, &d, t0,
			  unless_new_channel(force_tx, r));
}

/**
 * smbvn_validate_tcon() - validate the negotiation behind a tree connect
 * @xid: cifs transaction id of the tree connect
 * @ses: struct cifs_ses it belongs to
 * @tcon: struct cifs_tcon, connected by the server
 * @tc: on 3.1.1, the TREE_CONNECT answer smbvn watched for (NULL if it
 *	did not watch)
 *
 * MS-SMB2 3.2.5.5 and 3.2.5.14.12, with the strict rules of smbvn(4); on
 * 3.1.1, the signature of the TREE_CONNECT answer (3.2.5.1.3).
 *
 * Return: 0 to let the tree connect stand; -EPROTO for a refusal; -EAGAIN
 * for one that proves nothing and cifs may retry; -ENOMEM, or the crypto
 * API's error when the signing algorithm cannot be had.
 */
int smbvn_validate_tcon(unsigned int xid, void *ses, void *tcon,
			struct smbvn_answer *tc)
{
	void *server = FIELD(ses, SMBVN_OFF_SES_SERVER, void *);
	u64 session_id = FIELD(ses, SMBVN_OFF_SES_SUID, u64);
	u32 stamp = 0;
	int rc = judge_tcon(xid, ses, server, tcon, NULL, tc, &stamp);

	/*
	 * Whatever let the tree connect stand (a validation, a knob, audit
	 * mode), its tree may now carry requests, for as long as the
	 * connection keeps the NEGOTIATE it was judged on (review L6).
	 */
	if (!rc)
		smbvn_conn_tree_accepted(server, stamp, session_id,
					 FIELD(tcon, SMBVN_OFF_TCON_TID, u32));
	return rc;
}

/**
 * smbvn_refuse_bind_dialect() - refuse a binding on a dialect that has none
 * @ses: struct cifs_ses the channel would bind
 * @chan: struct TCP_Server_Info of the channel, which negotiated @dialect
 * @ipc: struct cifs_tcon of the session's IPC$ tree, named in the log line
 *
 * MS-SMB2 3.3.5.2.7 and 3.3.5.5: a server binds a channel only on a 3.x
 * dialect, the session's own.  A binding on anything else comes from a
 * NEGOTIATE someone rewrote, and neither smbvn nor cifs could check it:
 * refused before a byte of it is sent (rule dialect-mismatch: expected
 * the session's dialect, received the channel's).
 *
 * Return: -EPROTO (in audit mode 0).
 */
int smbvn_refuse_bind_dialect(void *ses, void *chan, void *ipc)
{
	void *primary = FIELD(ses, SMBVN_OFF_SES_SERVER, void *);
	u16 dialect = FIELD(chan, SMBVN_OFF_SRV_DIALECT, u16);
	struct smbvn_detail d = {
		.expected = FIELD(primary, SMBVN_OFF_SRV_DIALECT, u16),
		.received = dialect,
	};

	return fail_check(chan, ipc, dialect, SMBVN_V_MISMATCH_DIALECT,
			  SMBVN_A_VALIDATE, &d, ktime_get_ns(),
			  unless_new_channel(chan, SMBVN_R_EVIDENCE));
}

/**
 * smbvn_validate_bind() - validate the NEGOTIATE of a channel that bound
 * @xid: cifs transaction id of the binding session setup
 * @ses: struct cifs_ses the channel bound
 * @chan: struct TCP_Server_Info of the channel; the validation is sent on
 *	it and judged against its own NEGOTIATE
 * @ipc: struct cifs_tcon of the session's IPC$ tree, which carries it
 *	(on 3.1.1 named in the log line only)
 * @tc: on 3.1.1, the binding's final SESSION_SETUP answer smbvn watched
 *	for (NULL if it did not watch)
 *
 * MS-SMB2 3.2.5.5 and 3.2.5.14.12 for one 3.0/3.0.2 channel (security
 * review M4), the caller having the channel's signing key in place
 * (channel.c); on 3.1.1 the signature of the binding's final answer
 * (3.2.5.3.1).
 *
 * Return: as smbvn_validate_tcon().
 */
int smbvn_validate_bind(unsigned int xid, void *ses, void *chan, void *ipc,
			struct smbvn_answer *tc)
{
	u32 stamp;

	return judge_tcon(xid, ses, chan, ipc, chan, tc, &stamp);
}
