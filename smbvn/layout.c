// SPDX-License-Identifier: GPL-2.0-only
/*
 * smbvn reads cifs private structures at offsets generated from one
 * specific cifs.ko's BTF.  Before touching any of them it proves that the
 * running cifs carries that very BTF: same CRC and length of the blob.
 */
#include <linux/crc32.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include "smbvn.h"
#include "smbvn_layout.h"

#define BTF_SYSFS "/sys/kernel/btf/cifs"

static int verdict(u32 crc, size_t len)
{
	if (crc == SMBVN_CIFS_BTF_CRC && len == SMBVN_CIFS_BTF_LEN)
		return 0;
	pr_err("smbvn: running cifs.ko is not the one smbvn was built for (BTF crc %08x len %zu, built for crc %08x len %u); rebuild smbvn against this kernel's cifs.ko\n",
	       crc, len, SMBVN_CIFS_BTF_CRC, SMBVN_CIFS_BTF_LEN);
	return -EINVAL;
}

/*
 * btf-layout.py checked the prototypes of the cifs functions smbvn hooks
 * and calls in the BTF of the cifs.ko this build is for, and the CRC check
 * proves that the running cifs is that one.  When they did not fit, smbvn
 * can hook no cifs safely, so it does not load at all.
 */
int smbvn_layout_check_protos(void)
{
	if (SMBVN_PROTO_OK)
		return 0;
	pr_err("smbvn: the cifs.ko smbvn was built for has an interface smbvn does not know (%s); refusing to load\n",
	       SMBVN_PROTO_WHY);
	return -EINVAL;
}

int smbvn_layout_check_blob(const void *data, size_t len)
{
	if (!data || !len) {
		pr_err("smbvn: cifs.ko carries no BTF, cannot prove its layout\n");
		return -EINVAL;
	}
	return verdict(crc32_le(~0U, data, len) ^ ~0U, len);
}

int smbvn_layout_check_sysfs(void)
{
	struct file *f;
	loff_t pos = 0;
	size_t total = 0;
	u32 crc = ~0U;
	ssize_t n;
	void *buf;

	f = filp_open(BTF_SYSFS, O_RDONLY, 0);
	if (IS_ERR(f)) {
		pr_err("smbvn: cannot open %s (%ld), cannot prove cifs layout\n",
		       BTF_SYSFS, PTR_ERR(f));
		return -EINVAL;
	}
	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf) {
		filp_close(f, NULL);
		return -ENOMEM;
	}
	while ((n = kernel_read(f, buf, PAGE_SIZE, &pos)) > 0) {
		crc = crc32_le(crc, buf, n);
		total += n;
	}
	kfree(buf);
	filp_close(f, NULL);
	if (n < 0) {
		pr_err("smbvn: reading %s failed (%zd)\n", BTF_SYSFS, n);
		return -EINVAL;
	}
	return verdict(crc ^ ~0U, total);
}
