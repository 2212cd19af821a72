/* SPDX-License-Identifier: GPL-2.0-only */
/* Internal interfaces between the files of the smbvn module. */
#ifndef SMBVN_H
#define SMBVN_H

#include <linux/module.h>
#include <linux/ftrace.h>
#include "smbvn_proto.h"

#define SMBVN_ERRNO	EPROTO	/* what a refused tree connect returns */

/* main.c: the knob */
extern bool smbvn_enforce;

/* hook.c: ftrace redirection and observation of cifs functions */
typedef void (*smbvn_observe_t)(struct pt_regs *regs);

struct smbvn_hook {
	const char *name;
	void *redirect;		/* replacement function, or NULL */
	smbvn_observe_t observe; /* pre-call observer, or NULL */
	unsigned long addr;
	bool installed;
	struct ftrace_ops ops;
};

int smbvn_resolve_kallsyms(void);
unsigned long smbvn_kallsyms(const char *name);
int smbvn_hook_install(struct smbvn_hook *h);
void smbvn_hook_remove(struct smbvn_hook *h);

/* glue.c: everything that knows cifs */
extern struct smbvn_hook smbvn_cifs_hooks[];
extern const unsigned int smbvn_cifs_nhooks;
int smbvn_glue_resolve(void);

/* sign.c: SMB2 signature verification with the session key */
int smbvn_sig_verify(u8 *pdu, size_t len, const u8 *key, bool cmac);

/* layout.c: is the running cifs the one we were built for? */
int smbvn_layout_check_blob(const void *data, size_t len);
int smbvn_layout_check_sysfs(void);

#endif
