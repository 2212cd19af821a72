// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counters under /sys/module/smbvn/stats/, one value per file, so that
 * node_exporter's textfile collector and plain shell can read them.
 */
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/sysfs.h>
#include "smbvn.h"

static const char * const names[SMBVN_STAT_COUNT] = {
	[SMBVN_STAT_VALIDATED] = "validated",
	[SMBVN_STAT_FAILED] = "failed",
	[SMBVN_STAT_NOT_APPLICABLE] = "not_applicable",
	[SMBVN_STAT_DISABLED] = "disabled",
	[SMBVN_STAT_AUDIT] = "audit_violations",
	[SMBVN_STAT_PRE30_ACCEPTED] = "pre30_accepted",
	[SMBVN_STAT_TCON_VERIFIED] = "tree_connect_verified",
	[SMBVN_STAT_OTHER_CHANNEL] = "validated_other_channel",
	[SMBVN_STAT_UNSIGNED] = "unsigned",
	[SMBVN_STAT_BAD_SIGNATURE] = "bad_signature",
	[SMBVN_STAT_MALFORMED] = "malformed",
	[SMBVN_STAT_ACCESS_DENIED] = "access_denied",
	[SMBVN_STAT_SERVER_REJECTED] = "server_rejected",
	[SMBVN_STAT_MISMATCH_CAPS] = "mismatch_capabilities",
	[SMBVN_STAT_MISMATCH_GUID] = "mismatch_guid",
	[SMBVN_STAT_MISMATCH_SECMODE] = "mismatch_security_mode",
	[SMBVN_STAT_MISMATCH_DIALECT] = "mismatch_dialect",
	[SMBVN_STAT_NO_RESPONSE] = "no_response",
	[SMBVN_STAT_GUEST_REFUSED] = "guest_refused",
	[SMBVN_STAT_NO_RECORD] = "negotiate_not_captured",
	[SMBVN_STAT_NO_KEY] = "no_signing_key",
	[SMBVN_STAT_RENEGOTIATED] = "renegotiated",
	[SMBVN_STAT_DOWNGRADE_UNPROVEN] = "downgrade_unproven",
	[SMBVN_STAT_TCON_UNSIGNED] = "tree_connect_unsigned",
	[SMBVN_STAT_TCON_BAD_SIGNATURE] = "tree_connect_bad_signature",
	[SMBVN_STAT_BIND_UNSIGNED] = "session_setup_unsigned",
	[SMBVN_STAT_BIND_BAD_SIGNATURE] = "session_setup_bad_signature",
	[SMBVN_STAT_HELD_BACK] = "requests_held_back",
};

struct stat_attr {
	struct kobj_attribute attr;
	enum smbvn_stat id;
};

static ssize_t stat_show(struct kobject *kobj, struct kobj_attribute *a,
			 char *buf)
{
	struct stat_attr *s = container_of(a, struct stat_attr, attr);

	return sysfs_emit(buf, "%llu\n", smbvn_stat_get(s->id));
}

static struct stat_attr stat_attrs[SMBVN_STAT_COUNT];
static struct attribute *attrs[SMBVN_STAT_COUNT + 1];
static const struct attribute_group group = { .attrs = attrs };
static struct kobject *stats_kobj;

int smbvn_stats_init(void)
{
	unsigned int i;
	int rc;

	for (i = 0; i < SMBVN_STAT_COUNT; i++) {
		sysfs_attr_init(&stat_attrs[i].attr.attr);
		stat_attrs[i].attr.attr.name = names[i];
		stat_attrs[i].attr.attr.mode = 0444;
		stat_attrs[i].attr.show = stat_show;
		stat_attrs[i].id = i;
		attrs[i] = &stat_attrs[i].attr.attr;
	}
	stats_kobj = kobject_create_and_add("stats", &THIS_MODULE->mkobj.kobj);
	if (!stats_kobj)
		return -ENOMEM;
	rc = sysfs_create_group(stats_kobj, &group);
	if (rc)
		kobject_put(stats_kobj);
	return rc;
}

void smbvn_stats_exit(void)
{
	kobject_put(stats_kobj);
}
