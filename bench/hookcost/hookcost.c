// SPDX-License-Identifier: GPL-2.0-only
/*
 * hookcost - benchmark-only module measuring what smbvn's observer hooks
 * add to each call of the cifs functions they sit on.
 *
 * Why a module: under qemu TCG one SMB round trip costs milliseconds of
 * guest CPU, so a few tens of nanoseconds per PDU disappear in the noise
 * of any end-to-end loop.  Calling the hooked functions directly, without
 * a network, isolates exactly the ftrace trampoline plus smbvn's early
 * return.  scripts/bench/bench-guest.sh loads this module alternately with and
 * without smbvn and the host takes the difference.
 *
 * The calls are made safe by construction; they are only ever made in the
 * throwaway benchmark VM:
 *  - smb2_check_receive(mid, server, false) on a zeroed fake mid whose
 *    response is a zeroed SMB2 READ header (status 0) and a zeroed fake
 *    server (sign == false): it maps status 0 to 0 and touches nothing
 *    else, identical in Debian's 6.1 and 6.12.  smbvn's observer reads the
 *    command (READ) and returns, as it does for every data PDU.
 *  - compound_send_recv(0, NULL, NULL, 0, 0, ...) fails its first check
 *    ("Null session", a rate-limited message) before touching anything;
 *    smbvn's observer returns at its first test as for every non-NEGOTIATE
 *    request.
 * The mid offsets come from smbvn's BTF-generated layout of the same
 * cifs.ko, so they are right for each kernel.
 *
 * With variants=1 it also hooks a function of its own with empty ftrace
 * callbacks under each combination of the flags smbvn uses, to show which
 * part of the cost is the ftrace mechanism and which part each flag adds.
 *
 * Each result is the time of @calls calls with interrupts off, repeated
 * @batches times; the module prints every batch (the host keeps the
 * fastest: host preemption of the vCPU only ever adds time), and fails its
 * load (-EAGAIN) so nothing stays behind.
 */
#include <linux/ftrace.h>
#include <linux/irqflags.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>
#include "smbvn_kallsyms.h"
#include "smbvn_layout.h"

static unsigned int calls = 10000;
module_param(calls, uint, 0444);
MODULE_PARM_DESC(calls, "calls per timed batch");
static unsigned int batches = 15;
module_param(batches, uint, 0444);
MODULE_PARM_DESC(batches, "timed batches per function");
static bool variants;
module_param(variants, bool, 0444);
MODULE_PARM_DESC(variants, "also time ftrace flag combinations on a local function");
static char *tag = "-";
module_param(tag, charp, 0444);
MODULE_PARM_DESC(tag, "configuration name echoed in the output");

#define SMB2_READ_CMD	8
#define FAKE_SRV_SIZE	65536	/* TCP_Server_Info is ~1.6 KiB in 6.12 */
#define FAKE_MID_SIZE	4096	/* mid_q_entry is ~150 bytes */

typedef int (*check_receive_t)(void *mid, void *server, bool log_error);
typedef int (*send_recv_t)(unsigned int xid, void *ses, void *server,
			   int flags, int num_rqst, void *rqst,
			   int *resp_buf_type, void *resp_iov);

static check_receive_t check_receive;
static send_recv_t send_recv;
static void *fake_mid, *fake_srv, *fake_rsp;

/* The reference: an empty out-of-line call through the same kind of pointer. */
static noinline notrace int empty_call(void *mid, void *server, bool log_error)
{
	barrier();
	return 0;
}

/* The same empty function, but traceable: the target of the variants. */
static noinline int traced_call(void *mid, void *server, bool log_error)
{
	barrier();
	return 0;
}

/* What smbvn's observers do first: fetch the saved registers, read one. */
static void notrace empty_cb(unsigned long ip, unsigned long parent_ip,
			     struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (regs)
		READ_ONCE(regs->di);
}

static struct {
	const char *name;
	unsigned long flags;
	struct ftrace_ops ops;
} variant[] = {
	{ "ops-none", 0 },
	{ "ops-recursion", FTRACE_OPS_FL_RECURSION },
	{ "ops-regs", FTRACE_OPS_FL_SAVE_REGS },
	/* smbvn's observers */
	{ "ops-regs-recursion", FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION },
};

static unsigned long lookup(const char *name)
{
	smbvn_lookup_name_t fn = smbvn_find_lookup_name();

	return fn ? fn(name) : 0;
}

static u64 time_check(check_receive_t f)
{
	unsigned long flags;
	unsigned int i;
	u64 t0, t1;
	int rc = 0;

	/* A real out-of-line call every time, as cifs makes it. */
	OPTIMIZER_HIDE_VAR(f);
	local_irq_save(flags);
	t0 = ktime_get_ns();
	for (i = 0; i < calls; i++)
		rc |= f(fake_mid, fake_srv, false);
	t1 = ktime_get_ns();
	local_irq_restore(flags);
	WARN_ON_ONCE(rc);
	return t1 - t0;
}

static u64 time_send(void)
{
	unsigned long flags;
	unsigned int i;
	u64 t0, t1;

	local_irq_save(flags);
	t0 = ktime_get_ns();
	for (i = 0; i < calls; i++)
		send_recv(0, NULL, NULL, 0, 0, NULL, NULL, NULL);
	t1 = ktime_get_ns();
	local_irq_restore(flags);
	return t1 - t0;
}

static u64 time_check(check_receive_t f);

static void time_variants(void)
{
	unsigned long ip = (unsigned long)traced_call;
	unsigned int v, b;

	for (v = 0; v < ARRAY_SIZE(variant); v++) {
		struct ftrace_ops *ops = &variant[v].ops;

		ops->func = empty_cb;
		ops->flags = variant[v].flags;
		if (ftrace_set_filter_ip(ops, ip, 0, 0) ||
		    register_ftrace_function(ops)) {
			pr_err("hookcost: cannot hook %s\n", variant[v].name);
			ftrace_set_filter_ip(ops, ip, 1, 0);
			continue;
		}
		for (b = 0; b < batches; b++) {
			pr_info("BENCH hook %s %s %u %llu\n", tag, variant[v].name,
				calls, time_check(traced_call));
			cond_resched();
		}
		unregister_ftrace_function(ops);
		ftrace_set_filter_ip(ops, ip, 1, 0);
	}
}

static int __init hookcost_init(void)
{
	unsigned int b;

	check_receive = (check_receive_t)lookup("smb2_check_receive");
	send_recv = (send_recv_t)lookup("compound_send_recv");
	if (!check_receive || !send_recv) {
		pr_err("hookcost: cifs is not loaded\n");
		return -ENOENT;
	}
	fake_mid = kzalloc(FAKE_MID_SIZE, GFP_KERNEL);
	fake_srv = kzalloc(FAKE_SRV_SIZE, GFP_KERNEL);
	fake_rsp = kzalloc(128, GFP_KERNEL);
	if (!fake_mid || !fake_srv || !fake_rsp)
		goto out;
	/* A zeroed SMB2 header: status 0; command READ as for data PDUs. */
	*(__le16 *)((u8 *)fake_rsp + 12) = cpu_to_le16(SMB2_READ_CMD);
	*(void **)((u8 *)fake_mid + SMBVN_OFF_MID_RESP_BUF) = fake_rsp;
	*(unsigned int *)((u8 *)fake_mid + SMBVN_OFF_MID_RESP_BUF_SIZE) = 64;
	*(__le16 *)((u8 *)fake_mid + SMBVN_OFF_MID_COMMAND) =
		cpu_to_le16(SMB2_READ_CMD);

	/* Interleaved per batch, so a slow stretch of the host hits all three. */
	for (b = 0; b < batches; b++) {
		pr_info("BENCH hook %s empty %u %llu\n", tag, calls,
			time_check(empty_call));
		pr_info("BENCH hook %s traced-unhooked %u %llu\n", tag, calls,
			time_check(traced_call));
		pr_info("BENCH hook %s check_receive %u %llu\n", tag, calls,
			time_check(check_receive));
		pr_info("BENCH hook %s send_recv %u %llu\n", tag, calls,
			time_send());
		cond_resched();
	}
	if (variants)
		time_variants();
out:
	kfree(fake_mid);
	kfree(fake_srv);
	kfree(fake_rsp);
	/* Nothing to keep loaded: failing the load unloads us at once. */
	return -EAGAIN;
}

module_init(hookcost_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("smbvn benchmark: per-call cost of the cifs hooks");
