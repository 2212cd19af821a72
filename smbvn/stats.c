// SPDX-License-Identifier: GPL-2.0-only
/*
 * smbvn's counters, one per outcome and per failure reason; stats_sysfs.c
 * shows them under /sys/module/smbvn/stats/.
 */
#include <linux/atomic.h>
#include "smbvn.h"

static atomic64_t counters[SMBVN_STAT_COUNT];

void smbvn_stat_inc(enum smbvn_stat s)
{
	if ((unsigned int)s < SMBVN_STAT_COUNT)
		atomic64_inc(&counters[s]);
}

/**
 * smbvn_stat_get() - current value of a counter
 * @s: which one
 *
 * Return: the count since load, 0 for an unknown @s.
 */
u64 smbvn_stat_get(enum smbvn_stat s)
{
	return (unsigned int)s < SMBVN_STAT_COUNT ?
	       atomic64_read(&counters[s]) : 0;
}

/* Per-reason counter of a failing verdict. */
enum smbvn_stat smbvn_stat_of_verdict(enum smbvn_verdict v)
{
	switch (v) {
	case SMBVN_V_UNSIGNED:
		return SMBVN_STAT_UNSIGNED;
	case SMBVN_V_BAD_SIGNATURE:
		return SMBVN_STAT_BAD_SIGNATURE;
	case SMBVN_V_MALFORMED:
		return SMBVN_STAT_MALFORMED;
	case SMBVN_V_ACCESS_DENIED:
		return SMBVN_STAT_ACCESS_DENIED;
	case SMBVN_V_SERVER_REJECTED:
		return SMBVN_STAT_SERVER_REJECTED;
	case SMBVN_V_MISMATCH_CAPABILITIES:
		return SMBVN_STAT_MISMATCH_CAPS;
	case SMBVN_V_MISMATCH_GUID:
		return SMBVN_STAT_MISMATCH_GUID;
	case SMBVN_V_MISMATCH_SECURITY_MODE:
		return SMBVN_STAT_MISMATCH_SECMODE;
	case SMBVN_V_MISMATCH_DIALECT:
		return SMBVN_STAT_MISMATCH_DIALECT;
	case SMBVN_V_NO_RESPONSE:
		return SMBVN_STAT_NO_RESPONSE;
	case SMBVN_V_NO_KEY:
		return SMBVN_STAT_NO_KEY;
	case SMBVN_V_RENEGOTIATED:
		return SMBVN_STAT_RENEGOTIATED;
	case SMBVN_V_DOWNGRADE_UNPROVEN:
		return SMBVN_STAT_DOWNGRADE_UNPROVEN;
	case SMBVN_V_TCON_UNSIGNED:
		return SMBVN_STAT_TCON_UNSIGNED;
	case SMBVN_V_TCON_BAD_SIGNATURE:
		return SMBVN_STAT_TCON_BAD_SIGNATURE;
	case SMBVN_V_BIND_UNSIGNED:
		return SMBVN_STAT_BIND_UNSIGNED;
	case SMBVN_V_BIND_BAD_SIGNATURE:
		return SMBVN_STAT_BIND_BAD_SIGNATURE;
	default:
		return SMBVN_STAT_COUNT;
	}
}
