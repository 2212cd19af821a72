// SPDX-License-Identifier: GPL-2.0-only
/*
 * ftrace-based hooks on cifs functions.  cifs exports nothing, so the
 * addresses come from kallsyms (itself found through a kprobe, since
 * kallsyms_lookup_name is no longer exported).
 */
#include <linux/wait_bit.h>
#include "smbvn.h"
#include "smbvn_fregs.h"
#include "smbvn_kallsyms.h"

static smbvn_lookup_name_t lookup_name;

int smbvn_resolve_kallsyms(void)
{
	lookup_name = smbvn_find_lookup_name();
	return lookup_name ? 0 : -ENOENT;
}

unsigned long smbvn_kallsyms(const char *name)
{
	return lookup_name(name);
}

/**
 * smbvn_cifs_symbol() - address of a cifs function, proven to be cifs'
 * @name: symbol name
 * @mod: the cifs module being hooked
 *
 * kallsyms answers with the first match in the whole kernel; a symbol of
 * the same name in vmlinux or another module must never be taken for the
 * cifs one whose prototype btf-layout.py checked.
 *
 * Return: the address, or 0 (after logging why) if @name is missing or
 * lies outside @mod.
 */
unsigned long smbvn_cifs_symbol(const char *name, struct module *mod)
{
	unsigned long addr = lookup_name(name);

	if (!addr)
		pr_err("smbvn: cifs symbol %s not found, not hooking\n", name);
	else if (!within_module(addr, mod))
		pr_err("smbvn: symbol %s at %pS is not in cifs, not hooking\n",
		       name, (void *)addr);
	else
		return addr;
	return 0;
}

/*
 * Tasks inside a replacement.  The loader frees a module whose init fails
 * whatever its refcount, and tasks-RCU does not wait for a task asleep in
 * a network round trip: smbvn_redirects_drain() does.
 */
static atomic_t redirects_active = ATOMIC_INIT(0);

/**
 * smbvn_redirect_leave() - the last thing a replacement does
 *
 * Gives back the module reference the ftrace callback took on entry.
 */
void smbvn_redirect_leave(void)
{
	if (atomic_dec_and_test(&redirects_active))
		wake_up_var(&redirects_active);
	module_put(THIS_MODULE);
}

/**
 * smbvn_redirects_drain() - wait until no task is inside a replacement
 *
 * For a failed init, after every hook is removed (so none can start);
 * the few instructions after smbvn_redirect_leave() are covered by the
 * caller's synchronize_rcu_tasks().  Sleeps.
 */
void smbvn_redirects_drain(void)
{
	wait_var_event(&redirects_active, !atomic_read(&redirects_active));
}

/**
 * smbvn_hook_redirect() - send this call of a hooked function to its
 *	replacement
 * @ops: the hook's ftrace_ops, as its callback got it
 * @fregs: the callback's registers
 *
 * For gates, and for every call of a plain redirect.  The replacement runs
 * module code for as long as cifs blocks in it; the reference keeps rmmod
 * from freeing that code meanwhile.  Only once unloading has begun does
 * the get fail and cifs run stock: every hook is about to go then anyway.
 */
void notrace smbvn_hook_redirect(struct ftrace_ops *ops,
				 struct ftrace_regs *fregs)
{
	struct smbvn_hook *h = container_of(ops, struct smbvn_hook, ops);

	if (!try_module_get(THIS_MODULE))
		return;
	atomic_inc(&redirects_active);
	smbvn_fregs_set_ip(fregs, (unsigned long)h->redirect);
}

/* A redirect without a gate: every call but our own wrapper's. */
static void notrace smbvn_redirect_cb(unsigned long ip,
				      unsigned long parent_ip,
				      struct ftrace_ops *ops,
				      struct ftrace_regs *fregs)
{
	/* Our wrapper calling the original must reach the original. */
	if (within_module(parent_ip, THIS_MODULE))
		return;
	/*
	 * Until every hook is in, a load may still fail and must leave cifs
	 * exactly stock: a tree connect in flight from before it was once
	 * refused by a load that then failed (CI, failclosed L2).
	 */
	if (!smbvn_conns_armed())
		return;
	smbvn_hook_redirect(ops, fregs);
}

/**
 * smbvn_hook_install() - attach one hook to its cifs function
 * @h: the hook; @h->name is looked up inside @mod
 * @mod: the cifs module
 *
 * PERMANENT: "sysctl kernel.ftrace_enabled=0" would otherwise turn every
 * hook off in silence and let cifs run stock; with it the sysctl fails
 * with EBUSY while smbvn is hooked, and hooking fails while it is 0.
 *
 * Return: 0, -ENOENT for a symbol missing or outside @mod, or the error
 * of ftrace (-EBUSY: another IPMODIFY user such as a livepatch, or
 * ftrace disabled).
 */
int smbvn_hook_install(struct smbvn_hook *h, struct module *mod)
{
	int rc;

	h->addr = smbvn_cifs_symbol(h->name, mod);
	if (!h->addr)
		return -ENOENT;
	h->ops.func = h->cb ?: smbvn_redirect_cb;
	/*
	 * Neither SAVE_REGS nor RECURSION: the arguments and the instruction
	 * pointer are in ftrace_regs (smbvn_fregs.h), and RECURSION would
	 * only add ftrace's guard around each callback.  Without that guard
	 * the callback runs straight from its trampoline, preemptible, or
	 * from ftrace's list function (with its own guard, preemption off)
	 * when another tracer shares the function; either way it must be,
	 * and is, safe on its own:
	 *  - no re-entry: no callback, nor anything it calls, calls a cifs
	 *    function (it reads cifs' memory and calls smbvn and core kernel
	 *    code only), so no hook can fire inside its own callback;
	 *  - preemptible or not: every lock taken is a raw spinlock, no
	 *    state is per CPU, nothing sleeps or allocates;
	 *  - preempted inside: the ops are a module's, and unregistering
	 *    them waits (tasks RCU) for every task still in a callback.
	 * Fail-closed: the guard skipped a callback, and with it a gate or
	 * redirect, when ftrace believed itself recursing; nothing skips
	 * one now.
	 */
	h->ops.flags = FTRACE_OPS_FL_PERMANENT;
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
		pr_err("smbvn: cannot hook %s (%d: another ftrace IPMODIFY user such as a livepatch, or kernel.ftrace_enabled=0), not hooking\n",
		       h->name, rc);
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
