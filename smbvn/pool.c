// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pool of spare connection records (conns.c).
 *
 * Records are created by the NEGOTIATE observer, an ftrace callback, under
 * a raw spinlock, and freed by another.  No allocator may
 * be called there on PREEMPT_RT, so both sides use a pool of spare
 * records that a work item keeps between SPARE_LOW and SPARE_MAX in
 * process context.  A NEGOTIATE that finds the pool empty (a burst of
 * more new connections than SPARE_LOW before the work ran) leaves its
 * connection without a record: refused as negotiate-not-captured, and
 * renegotiated.
 */
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include "smbvn.h"
#include "smbvn_cifs.h"
#include "smbvn_conns.h"

#define SPARE_LOW		16
#define SPARE_TARGET		64
#define SPARE_MAX		256

/* Under smbvn_conns_lock. */
static HLIST_HEAD(spare);
static unsigned int spare_count;

static void spare_work_fn(struct work_struct *work)
{
	smbvn_conns_refill();
}

static DECLARE_WORK(spare_work, spare_work_fn);

/**
 * smbvn_conns_spare_check() - have the pool restocked or trimmed if needed
 *
 * Called after smbvn_conns_lock is dropped.  queue_work() is safe with
 * preemption disabled, on PREEMPT_RT too.
 */
void smbvn_conns_spare_check(void)
{
	unsigned int n = READ_ONCE(spare_count);

	if (n < SPARE_LOW || n > SPARE_MAX)
		schedule_work(&spare_work);
}

/**
 * smbvn_conns_refill() - bring the pool of spare records to its target
 *
 * Allocates up to SPARE_TARGET spare records and frees those past
 * SPARE_MAX.  Process context only (GFP_KERNEL); called at load and from
 * the pool's work item.  An allocation failure leaves the pool short,
 * which costs new connections their record (refused), never a check.
 */
void smbvn_conns_refill(void)
{
	struct conn_rec *r;

	for (;;) {
		raw_spin_lock(&smbvn_conns_lock);
		if (spare_count > SPARE_MAX) {
			r = hlist_entry(spare.first, struct conn_rec, node);
			hlist_del(&r->node);
			spare_count--;
			raw_spin_unlock(&smbvn_conns_lock);
			kfree(r);
			continue;
		}
		raw_spin_unlock(&smbvn_conns_lock);
		if (READ_ONCE(spare_count) >= SPARE_TARGET)
			return;
		r = kzalloc(sizeof(*r), GFP_KERNEL);
		if (!r)
			return;
		raw_spin_lock(&smbvn_conns_lock);
		hlist_add_head(&r->node, &spare);
		spare_count++;
		raw_spin_unlock(&smbvn_conns_lock);
	}
}

/**
 * smbvn_conns_spare_take() - a zeroed-enough record for a new connection
 *
 * Caller holds smbvn_conns_lock and initialises the record.
 *
 * Return: a record off the pool, or NULL if it is empty.
 */
struct conn_rec *smbvn_conns_spare_take(void)
{
	struct conn_rec *r;

	if (hlist_empty(&spare))
		return NULL;
	r = hlist_entry(spare.first, struct conn_rec, node);
	hlist_del(&r->node);
	spare_count--;
	return r;
}

/**
 * smbvn_conns_spare_put() - give a record no longer in use back to the pool
 * @r: the record, already off the hashtable; caller holds smbvn_conns_lock
 */
void smbvn_conns_spare_put(struct conn_rec *r)
{
	hlist_add_head(&r->node, &spare);
	spare_count++;
}

/**
 * smbvn_conns_spare_stop() - wait for the pool's work item, at unload
 */
void smbvn_conns_spare_stop(void)
{
	cancel_work_sync(&spare_work);
}

/**
 * smbvn_conns_spare_drain() - move every spare record onto @all, at unload
 * @all: list the caller frees; caller holds smbvn_conns_lock
 */
void smbvn_conns_spare_drain(struct hlist_head *all)
{
	struct conn_rec *r;
	struct hlist_node *tmp;

	hlist_for_each_entry_safe(r, tmp, &spare, node) {
		hlist_del(&r->node);
		hlist_add_head(&r->node, all);
	}
	spare_count = 0;
}
