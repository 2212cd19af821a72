/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The failslab task flag, /proc/self/make-it-fail, opened once and set or
 * cleared around one system call, so that only that call's slab
 * allocations (cifs' and smbvn's among them) can be made to fail.
 */
#ifndef SMBVN_TESTS_MAKE_IT_FAIL_H
#define SMBVN_TESTS_MAKE_IT_FAIL_H

#include <unistd.h>

/* fd: /proc/self/make-it-fail opened O_WRONLY; v: "1" or "0".  0 or -1. */
static inline int set_fail(int fd, const char *v)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	return write(fd, v, 1) == 1 ? 0 : -1;
}

#endif
