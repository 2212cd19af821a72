// SPDX-License-Identifier: GPL-2.0-only
/*
 * smbvn: make the in-kernel SMB client perform the strict, signed
 * FSCTL_VALIDATE_NEGOTIATE_INFO exchange of MS-SMB2 3.2.5.5 and fail the
 * tree connect on any discrepancy.  This file owns the module lifetime:
 * the knob, finding cifs (loaded before or after us), pinning it while
 * hooked and unhooking cleanly.  The knobs live in params.c.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include "smbvn.h"
#include "smbvn_cifs.h"

static DEFINE_MUTEX(hook_lock);
static struct module *cifs_mod;	/* pinned while hooked */
static struct module *(*find_mod_by_addr)(unsigned long addr);

static void unhook_cifs(void)
{
	unsigned int i;

	for (i = smbvn_cifs_nhooks; i-- > 0;)
		smbvn_hook_remove(&smbvn_cifs_hooks[i]);
	smbvn_conns_arm(false);
	/* A drop the gate queued calls into cifs: done before cifs may go. */
	smbvn_gate_exit();
	smbvn_drop_channels_flush();
	if (cifs_mod) {
		module_put(cifs_mod);
		cifs_mod = NULL;
	}
}

/*
 * Called with hook_lock held.  Proves @mod's layout from @btf (its BTF
 * blob, or NULL to read /sys/kernel/btf/cifs), pins it and installs every
 * hook; on any failure nothing stays installed and nothing stays pinned.
 * Hooks are installed in table order, SMB2_tcon's last; a task may
 * already be asleep in a redirect when a later one fails, which is why a
 * failed init drains them (teardown()).
 */
static int hook_cifs(struct module *mod, const void *btf, size_t btf_len)
{
	unsigned int i;
	int rc;

	rc = btf ? smbvn_layout_check_blob(btf, btf_len) :
		   smbvn_layout_check_sysfs();
	if (rc)
		return rc;
	if (!try_module_get(mod))
		return -ENOENT;
	cifs_mod = mod;
	rc = smbvn_exchange_resolve(mod) ? : smbvn_drop_resolve(mod);
	for (i = 0; !rc && i < smbvn_cifs_nhooks; i++)
		rc = smbvn_hook_install(&smbvn_cifs_hooks[i], mod);
	if (rc) {
		unhook_cifs();
		return rc;
	}
	smbvn_conns_arm(true);
	pr_info("smbvn: hooked cifs, require_secure_negotiate=%d\n",
		READ_ONCE(smbvn_enforce));
	return 0;
}

static const void *cifs_btf(struct module *mod, size_t *len)
{
#ifdef CONFIG_DEBUG_INFO_BTF_MODULES
	*len = mod->btf_data_size;
	return mod->btf_data;
#else
	*len = 0;
	return NULL;
#endif
}

/* The loaded cifs module, if it is fully initialised, pinned; else NULL. */
static struct module *get_live_cifs(void)
{
	unsigned long addr = smbvn_kallsyms("smb2_check_receive");
	struct module *mod;

	if (!addr)
		return NULL;
	preempt_disable();
	mod = find_mod_by_addr(addr);
	if (mod && (mod->state != MODULE_STATE_LIVE || !try_module_get(mod)))
		mod = NULL;
	preempt_enable();
	return mod;
}

/*
 * cifs is hooked while it is COMING: after ftrace has taken in its text
 * and before init_cifs() registers the filesystem, so no mount ever runs
 * unhooked, and a cifs that cannot be proven or hooked fails to load (the
 * error returned here is what its modprobe reports).  LIVE matters only
 * when smbvn registered while cifs' COMING chain had already run, i.e.
 * both loaded at once: the hook then goes in at LIVE, still only after the
 * BTF proof.
 */
static int smbvn_module_event(struct notifier_block *nb, unsigned long ev,
			      void *data)
{
	struct module *mod = data;
	const void *btf;
	size_t len = 0;
	int rc = 0;

	if (strcmp(mod->name, "cifs"))
		return NOTIFY_DONE;
	mutex_lock(&hook_lock);
	switch (ev) {
	case MODULE_STATE_COMING:
	case MODULE_STATE_LIVE:
		if (cifs_mod)
			break;
		/*
		 * btf_data points into the loader's copy of the module file,
		 * freed before init_cifs() runs; by LIVE the kernel's own
		 * copy is in /sys/kernel/btf/cifs (a LIVE-time read of
		 * btf_data faulted on 6.12).
		 */
		btf = ev == MODULE_STATE_COMING ? cifs_btf(mod, &len) : NULL;
		rc = hook_cifs(mod, btf, len);
		/* Mounts may have run between register_filesystem and LIVE. */
		if (!rc && ev == MODULE_STATE_LIVE &&
		    smbvn_renegotiate_existing)
			smbvn_drop_existing(mod);
		if (rc && ev == MODULE_STATE_COMING)
			pr_err("smbvn: refusing to let cifs load unhooked (%d); rmmod smbvn or rebuild it\n",
			       rc);
		else if (rc)
			pr_err("smbvn: cifs went live while smbvn loaded and cannot be hooked (%d): SMB mounts are NOT validated until cifs is reloaded\n",
			       rc);
		break;
	case MODULE_STATE_GOING:
		/* init_cifs() failed after COMING: let go of it. */
		if (cifs_mod == mod)
			unhook_cifs();
		break;
	}
	mutex_unlock(&hook_lock);
	return ev == MODULE_STATE_COMING ? notifier_from_errno(rc) : NOTIFY_OK;
}

/*
 * Ahead of the kernel's own module notifiers: when smbvn refuses cifs at
 * COMING, the ones behind it have not yet set anything up for cifs (its
 * trace events, for one) that the failed load must then tear down again.
 */
static struct notifier_block smbvn_nb = {
	.notifier_call = smbvn_module_event,
	.priority = INT_MAX - 1,
};

/*
 * Undo a registered notifier, any hooks and the stats, for a failed init
 * as for exit: the notifier may have hooked cifs meanwhile either way.
 */
static void teardown(void)
{
	unregister_module_notifier(&smbvn_nb);
	mutex_lock(&hook_lock);
	unhook_cifs();
	mutex_unlock(&hook_lock);
	/*
	 * On exit no task is inside a replacement (each holds a module
	 * reference); after a failed init one may be asleep in a round trip.
	 */
	smbvn_redirects_drain();
	/*
	 * A replacement that dropped its module reference may still be on
	 * its way out of our text; tasks-RCU waits until every task has
	 * passed a voluntary schedule point, which is outside smbvn.
	 */
	synchronize_rcu_tasks();
	smbvn_conns_exit();
	smbvn_stats_exit();
}

static int __init smbvn_init(void)
{
	struct module *mod;
	bool hooked;
	int rc;

	rc = smbvn_layout_check_protos();
	if (rc)
		return rc;
	rc = smbvn_resolve_kallsyms();
	if (rc) {
		pr_err("smbvn: cannot resolve kallsyms_lookup_name (%d), refusing to load\n",
		       rc);
		return rc;
	}
	find_mod_by_addr = (void *)smbvn_kallsyms("__module_address");
	if (!find_mod_by_addr) {
		pr_err("smbvn: kernel symbol __module_address not found, refusing to load\n");
		return -ENOENT;
	}
	rc = smbvn_stats_init();
	if (rc)
		return rc;
	/* Spare connection records before any observer may want one. */
	smbvn_conns_refill();
	/*
	 * The notifier chain's rwsem is held around smbvn_module_event, which
	 * takes hook_lock: (un)register therefore never runs under hook_lock
	 * (lockdep saw the inversion on a debug kernel).  A cifs that goes
	 * live in between is hooked by the notifier; cifs_mod tells.
	 */
	rc = register_module_notifier(&smbvn_nb);
	if (rc) {
		smbvn_conns_exit();
		smbvn_stats_exit();
		return rc;
	}
	mutex_lock(&hook_lock);
	mod = cifs_mod ? NULL : get_live_cifs();
	if (mod) {
		rc = hook_cifs(mod, NULL, 0);
		module_put(mod);
	}
	hooked = cifs_mod;
	/* cifs was live before smbvn: it may have connections already. */
	if (mod && !rc && smbvn_renegotiate_existing)
		smbvn_drop_existing(mod);
	mutex_unlock(&hook_lock);
	if (rc) {
		teardown();
		return rc;
	}
	if (!hooked)
		pr_info("smbvn: loaded, waiting for cifs\n");
	return 0;
}

static void __exit smbvn_exit(void)
{
	teardown();
	pr_info("smbvn: unloaded, cifs runs stock\n");
}

module_init(smbvn_init);
module_exit(smbvn_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("smbvn developers");
MODULE_DESCRIPTION("Strict signed SMB2 validate-negotiate for the cifs client");
MODULE_VERSION(SMBVN_VERSION);
MODULE_SOFTDEP("pre: cmac hmac sha256");
