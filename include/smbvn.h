/* SPDX-License-Identifier: GPL-2.0-only */
/* Internal interfaces between the files of the smbvn module. */
#ifndef SMBVN_H
#define SMBVN_H

#include <linux/module.h>
#include <linux/ftrace.h>
#include "smbvn_proto.h"

#define SMBVN_ERRNO	EPROTO	/* what a refused tree connect returns */

/* params.c: the knobs */
extern bool smbvn_enforce;
extern bool smbvn_audit_only;
extern bool smbvn_renegotiate_existing;
extern bool smbvn_strict_downgrade_knob;

/* stats.c: /sys/module/smbvn/stats */
enum smbvn_stat {
	SMBVN_STAT_VALIDATED,
	SMBVN_STAT_FAILED,
	SMBVN_STAT_NOT_APPLICABLE,
	SMBVN_STAT_DISABLED,
	SMBVN_STAT_AUDIT,
	SMBVN_STAT_PRE30_ACCEPTED,
	SMBVN_STAT_TCON_VERIFIED,
	SMBVN_STAT_OTHER_CHANNEL,
	SMBVN_STAT_UNSIGNED,
	SMBVN_STAT_BAD_SIGNATURE,
	SMBVN_STAT_MALFORMED,
	SMBVN_STAT_ACCESS_DENIED,
	SMBVN_STAT_SERVER_REJECTED,
	SMBVN_STAT_MISMATCH_CAPS,
	SMBVN_STAT_MISMATCH_GUID,
	SMBVN_STAT_MISMATCH_SECMODE,
	SMBVN_STAT_MISMATCH_DIALECT,
	SMBVN_STAT_NO_RESPONSE,
	SMBVN_STAT_GUEST_REFUSED,
	SMBVN_STAT_NO_RECORD,
	SMBVN_STAT_NO_KEY,
	SMBVN_STAT_RENEGOTIATED,
	SMBVN_STAT_DOWNGRADE_UNPROVEN,
	SMBVN_STAT_TCON_UNSIGNED,
	SMBVN_STAT_TCON_BAD_SIGNATURE,
	SMBVN_STAT_BIND_UNSIGNED,
	SMBVN_STAT_BIND_BAD_SIGNATURE,
	SMBVN_STAT_HELD_BACK,
	SMBVN_STAT_COUNT
};

void smbvn_stat_inc(enum smbvn_stat s);
u64 smbvn_stat_get(enum smbvn_stat s);
enum smbvn_stat smbvn_stat_of_verdict(enum smbvn_verdict v);
int smbvn_stats_init(void);
void smbvn_stats_exit(void);

/* hook.c: ftrace redirection and observation of cifs functions */
struct ftrace_regs;

/*
 * An observer or gate is the ftrace callback itself: no indirect call
 * between ftrace and the test that lets a data PDU pass.
 */
typedef void (*smbvn_hook_cb_t)(unsigned long ip, unsigned long parent_ip,
				struct ftrace_ops *ops,
				struct ftrace_regs *fregs);

struct smbvn_hook {
	const char *name;
	void *redirect;		/* replacement function, or NULL */
	/*
	 * Observer (no @redirect), or gate calling smbvn_hook_redirect()
	 * for the calls @redirect must take; NULL: every call is redirected.
	 */
	smbvn_hook_cb_t cb;
	unsigned long addr;
	bool installed;
	struct ftrace_ops ops;
};

int smbvn_resolve_kallsyms(void);
unsigned long smbvn_kallsyms(const char *name);
unsigned long smbvn_cifs_symbol(const char *name, struct module *mod);
int smbvn_hook_install(struct smbvn_hook *h, struct module *mod);
void smbvn_hook_redirect(struct ftrace_ops *ops, struct ftrace_regs *fregs);
bool smbvn_conns_armed(void);
void smbvn_redirect_leave(void);
void smbvn_redirects_drain(void);
void smbvn_hook_remove(struct smbvn_hook *h);

/* hooks.c: the hook table */
extern struct smbvn_hook smbvn_cifs_hooks[];
extern const unsigned int smbvn_cifs_nhooks;

/* sign.c: SMB2 signature verification with the session key */
int smbvn_sig_verify(u8 *pdu, size_t len, const u8 *key, bool cmac);

/* layout.c: is the running cifs the one we were built for? */
int smbvn_layout_check_protos(void);
int smbvn_layout_check_blob(const void *data, size_t len);
int smbvn_layout_check_sysfs(void);

#endif
