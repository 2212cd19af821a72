// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test module for smbvn's fail-closed load path; never shipped.  It
 * registers a module notifier that runs before smbvn's for cifs' COMING
 * state and can
 *   - take a cifs function with an IPMODIFY ftrace_ops (squat=NAME), as a
 *     livepatch of that function would, so that smbvn cannot hook it: at
 *     cifs' COMING, or at once when cifs is already loaded (a later
 *     insmod of smbvn then fails in its own init);
 *   - sleep (coming_delay_ms=N), which widens the window in which smbvn
 *     can be loaded while cifs initialises.
 */
#include <linux/delay.h>
#include <linux/ftrace.h>
#include <linux/module.h>
#include "smbvn_kallsyms.h"

static char *squat = "";
module_param(squat, charp, 0444);
MODULE_PARM_DESC(squat, "cifs function to take with an IPMODIFY ftrace_ops at cifs COMING");
static unsigned int coming_delay_ms;
module_param(coming_delay_ms, uint, 0444);
MODULE_PARM_DESC(coming_delay_ms, "sleep this long in cifs' COMING notifier");

static struct ftrace_ops squat_ops;
static unsigned long squat_addr;
static bool squatting;

static void notrace squat_cb(unsigned long ip, unsigned long parent_ip,
			     struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
}

static unsigned long lookup(const char *name)
{
	smbvn_lookup_name_t fn = smbvn_find_lookup_name();

	return fn ? fn(name) : 0;
}

static void take(void)
{
	unsigned long addr = lookup(squat);
	int rc;

	if (!addr) {
		pr_err("cifs_squatter: %s not found\n", squat);
		return;
	}
	squat_ops.func = squat_cb;
	squat_ops.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY;
	rc = ftrace_set_filter_ip(&squat_ops, addr, 0, 0);
	if (rc) {
		pr_err("cifs_squatter: cannot filter %s (%d)\n", squat, rc);
		return;
	}
	rc = register_ftrace_function(&squat_ops);
	if (rc) {
		pr_err("cifs_squatter: cannot register for %s (%d)\n", squat,
		       rc);
		ftrace_set_filter_ip(&squat_ops, addr, 1, 0);
		return;
	}
	squat_addr = addr;
	squatting = true;
	pr_info("cifs_squatter: took %s\n", squat);
}

static void release(void)
{
	if (!squatting)
		return;
	unregister_ftrace_function(&squat_ops);
	/* Empty the filter again: cifs, and so @squat_addr, may come back. */
	ftrace_set_filter_ip(&squat_ops, squat_addr, 1, 0);
	squatting = false;
	pr_info("cifs_squatter: released %s\n", squat);
}

static int event(struct notifier_block *nb, unsigned long ev, void *data)
{
	struct module *mod = data;

	if (strcmp(mod->name, "cifs"))
		return NOTIFY_DONE;
	if (ev == MODULE_STATE_COMING) {
		if (coming_delay_ms) {
			pr_info("cifs_squatter: holding cifs COMING for %u ms\n",
				coming_delay_ms);
			msleep(coming_delay_ms);
		}
		if (*squat)
			take();
	} else if (ev == MODULE_STATE_GOING) {
		release();
	}
	return NOTIFY_OK;
}

/* Higher priority runs first: before smbvn's INT_MAX - 1. */
static struct notifier_block nb = { .notifier_call = event,
				    .priority = INT_MAX };

static int __init squatter_init(void)
{
	int rc = register_module_notifier(&nb);

	/* Only a loaded cifs has the function: else wait for its COMING. */
	if (!rc && *squat && lookup(squat))
		take();
	return rc;
}

static void __exit squatter_exit(void)
{
	unregister_module_notifier(&nb);
	release();
}

module_init(squatter_init);
module_exit(squatter_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("smbvn test: occupy or delay cifs' COMING state");
