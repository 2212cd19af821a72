// SPDX-License-Identifier: GPL-2.0-only
/*
 * ftrace-based hooks on cifs functions.  cifs exports nothing, so the
 * addresses come from kallsyms (itself found through a kprobe, since
 * kallsyms_lookup_name is no longer exported).
 */
#include <linux/kprobes.h>
#include "smbvn.h"

static unsigned long (*lookup_name)(const char *name);

int smbvn_resolve_kallsyms(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	int rc;

	rc = register_kprobe(&kp);
	if (rc)
		return rc;
	lookup_name = (void *)kp.addr;
	unregister_kprobe(&kp);
	return lookup_name ? 0 : -ENOENT;
}

unsigned long smbvn_kallsyms(const char *name)
{
	return lookup_name(name);
}

static void smbvn_set_ip(struct ftrace_regs *fregs, unsigned long ip)
{
#ifdef ftrace_regs_set_instruction_pointer
	ftrace_regs_set_instruction_pointer(fregs, ip);
#else
	ftrace_instruction_pointer_set(fregs, ip);
#endif
}

static void notrace smbvn_ftrace_cb(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *ops,
				    struct ftrace_regs *fregs)
{
	struct smbvn_hook *h = container_of(ops, struct smbvn_hook, ops);
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (!regs)
		return;
	if (h->observe) {
		h->observe(regs);
		return;
	}
	/* Our wrapper calling the original must reach the original. */
	if (within_module(parent_ip, THIS_MODULE))
		return;
	/*
	 * The replacement runs module code for as long as cifs blocks in it;
	 * the reference keeps rmmod from freeing that code meanwhile.  Once
	 * unloading has begun the get fails and cifs runs unhooked.
	 */
	if (!try_module_get(THIS_MODULE))
		return;
	smbvn_set_ip(fregs, (unsigned long)h->redirect);
}

int smbvn_hook_install(struct smbvn_hook *h)
{
	int rc;

	h->addr = smbvn_kallsyms(h->name);
	if (!h->addr) {
		pr_err("smbvn: cifs symbol %s not found, not hooking\n",
		       h->name);
		return -ENOENT;
	}
	h->ops.func = smbvn_ftrace_cb;
	h->ops.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION;
	if (h->redirect)
		h->ops.flags |= FTRACE_OPS_FL_IPMODIFY;
	rc = ftrace_set_filter_ip(&h->ops, h->addr, 0, 0);
	if (rc) {
		pr_err("smbvn: cannot trace %s (%d), not hooking\n", h->name,
		       rc);
		return rc;
	}
	rc = register_ftrace_function(&h->ops);
	if (rc) {
		/* EBUSY here means another IPMODIFY user (e.g. livepatch). */
		pr_err("smbvn: cannot hook %s (%d), not hooking\n", h->name,
		       rc);
		ftrace_set_filter_ip(&h->ops, h->addr, 1, 0);
		return rc;
	}
	h->installed = true;
	return 0;
}

void smbvn_hook_remove(struct smbvn_hook *h)
{
	if (!h->installed)
		return;
	unregister_ftrace_function(&h->ops);
	ftrace_set_filter_ip(&h->ops, h->addr, 1, 0);
	h->installed = false;
}
