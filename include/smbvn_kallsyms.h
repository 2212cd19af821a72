/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kallsyms_lookup_name() is no longer exported; a kprobe on it reveals
 * its address.  Shared by smbvn and the test and benchmark modules that
 * need cifs symbols too.
 */
#ifndef SMBVN_KALLSYMS_H
#define SMBVN_KALLSYMS_H

#include <linux/kprobes.h>

typedef unsigned long (*smbvn_lookup_name_t)(const char *name);

/* kallsyms_lookup_name itself, or NULL when no kprobe can find it. */
static inline smbvn_lookup_name_t smbvn_find_lookup_name(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	smbvn_lookup_name_t fn;

	if (register_kprobe(&kp))
		return NULL;
	fn = (smbvn_lookup_name_t)kp.addr;
	unregister_kprobe(&kp);
	return fn;
}

#endif
