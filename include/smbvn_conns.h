/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A connection's record as conns.c keeps it and trees.c reads it: private
 * to those two files, both under smbvn_conns_lock.
 */
#ifndef SMBVN_CONNS_H
#define SMBVN_CONNS_H

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include "smbvn_cifs.h"

/*
 * The trees a connection may carry requests for (security review L6):
 * each tree connect accepted since its last NEGOTIATE, by SessionId and
 * TreeId (a TreeId is unique only within its session).  A connection with
 * more trees than fit stops telling them apart: every tree on it is then
 * usable once one was accepted, as before smbvn held requests back.
 */
#define TREES_MAX		32

struct tree_ref {
	u64 session_id;
	u32 tree_id;
};

struct conn_rec {
	struct hlist_node node;
	struct smbvn_conn c;
	unsigned int ntrees;	/* TREES_MAX + 1: more than fit */
	struct tree_ref trees[TREES_MAX];
	/* the tree requests were last held back for, and since when */
	struct tree_ref held;
	unsigned long held_since;	/* jiffies; 0: none held */
	bool bound;	/* a binding was validated on this NEGOTIATE */
};

/* Guards every record; raw because ftrace callbacks take it. */
extern raw_spinlock_t smbvn_conns_lock;

struct conn_rec *smbvn_conns_find(const void *server);
void smbvn_trees_new_generation(struct conn_rec *r);
struct conn_rec *smbvn_conns_spare_take(void);
void smbvn_conns_spare_put(struct conn_rec *r);
void smbvn_conns_spare_check(void);
void smbvn_conns_spare_stop(void);
void smbvn_conns_spare_drain(struct hlist_head *all);

#endif /* SMBVN_CONNS_H */
