// SPDX-License-Identifier: GPL-2.0-only
/*
 * The knobs under /sys/module/smbvn/parameters.  Fleet rollouts go
 * audit first, enforce next, then lock, so every change is logged with
 * who made it, and once locked nothing can be relaxed until reboot.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include "smbvn.h"

bool smbvn_enforce = true;
bool smbvn_audit_only;
bool smbvn_renegotiate_existing = true;
bool smbvn_strict_downgrade_knob;
static bool smbvn_locked;
static DEFINE_MUTEX(knob_lock);

static void log_change(const char *name, bool old, bool new)
{
	pr_info("smbvn: %s %d -> %d by %s[%d] uid %u\n", name, old, new,
		current->comm, task_pid_nr(current),
		from_kuid(&init_user_ns, current_uid()));
}

/* Mirrors a REG_DWORD that Windows documents as 0 or 1 only. */
static int parse01(const char *val, bool *out)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v) || v > 1)
		return -EINVAL;
	*out = v;
	return 0;
}

static int set_bool_knob(const char *val, const struct kernel_param *kp)
{
	bool *target = kp->arg, v;
	int rc = parse01(val, &v);

	if (rc)
		return rc;
	mutex_lock(&knob_lock);
	if (smbvn_locked) {
		mutex_unlock(&knob_lock);
		pr_warn("smbvn: %s is locked; write of %d by %s[%d] refused\n",
			kp->name, v, current->comm, task_pid_nr(current));
		return -EPERM;
	}
	if (*target != v)
		log_change(kp->name, *target, v);
	WRITE_ONCE(*target, v);
	mutex_unlock(&knob_lock);
	return 0;
}

static int set_locked(const char *val, const struct kernel_param *kp)
{
	bool v;
	int rc = parse01(val, &v);

	if (rc)
		return rc;
	mutex_lock(&knob_lock);
	if (!v) {
		/* Like Windows 10+: once hardened, no way back but reboot. */
		pr_warn("smbvn: locked cannot be cleared (write of 0 by %s[%d] refused)\n",
			current->comm, task_pid_nr(current));
		rc = smbvn_locked ? -EPERM : -EINVAL;
	} else if (!smbvn_locked) {
		log_change(kp->name, false, true);
		WRITE_ONCE(smbvn_locked, true);
		/* Until reboot means rmmod cannot undo it either. */
		__module_get(THIS_MODULE);
	}
	mutex_unlock(&knob_lock);
	return rc;
}

static int get_bool_knob(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(*(bool *)kp->arg) ? 1 : 0);
}

static const struct kernel_param_ops bool_knob_ops = {
	.set = set_bool_knob,
	.get = get_bool_knob,
};

static const struct kernel_param_ops locked_ops = {
	.set = set_locked,
	.get = get_bool_knob,
};

module_param_cb(require_secure_negotiate, &bool_knob_ops, &smbvn_enforce,
		0644);
MODULE_PARM_DESC(require_secure_negotiate,
		 "1 (default): validate every SMB 3.0/3.0.2 and downgraded tree connect with a signed FSCTL_VALIDATE_NEGOTIATE_INFO, require a signed or sealed answer to every 3.1.1 tree connect, and refuse on any discrepancy; 0: check nothing (like the Windows value 0)");
module_param_cb(audit_only, &bool_knob_ops, &smbvn_audit_only, 0644);
MODULE_PARM_DESC(audit_only,
		 "1: run every check, log and count violations, but let the mount proceed; 0 (default): enforce");
module_param_cb(strict_downgrade, &bool_knob_ops,
		&smbvn_strict_downgrade_knob, 0644);
MODULE_PARM_DESC(strict_downgrade,
		 "1: when SMB 3 was offered, a 2.0.2/2.1 connection must answer validation with success (refuses 2.x-only servers); 0 (default): a signed error there means validation is not implemented (MS-SMB2 3.2.5.14.12)");
module_param_cb(locked, &locked_ops, &smbvn_locked, 0644);
MODULE_PARM_DESC(locked,
		 "1: freeze require_secure_negotiate, audit_only and strict_downgrade until reboot (writing 0 fails); 0 (default): unlocked");
/* Read once, when smbvn hooks a cifs that is already live. */
module_param_named(renegotiate_existing, smbvn_renegotiate_existing, bool,
		   0444);
MODULE_PARM_DESC(renegotiate_existing,
		 "1 (default): when loaded after cifs, drop every SMB 2/3 connection cifs already has so that it renegotiates and is validated at once (a mount in flight at that moment may fail once); 0: leave them, and any set up while smbvn loads, until they reconnect (then refused as negotiate-not-captured, or on 3.1.1 checked)");
