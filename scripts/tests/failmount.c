// SPDX-License-Identifier: GPL-2.0-only
/*
 * failmount SOURCE TARGET OPTIONS: mount(2) a cifs share with this task's
 * failslab flag (/proc/self/make-it-fail) set for that one call, so that
 * the mount's own slab allocations, cifs' and smbvn's, fail as
 * /sys/kernel/debug/failslab says, while those of exec, the dynamic
 * loader and mount.cifs' helpers do not.  OPTIONS go to cifs unchanged:
 * give ip= as mount.cifs would.  Exit 0 mounted, 32 mount failed (the
 * errno on stderr), 2 usage or setup.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "make-it-fail.h"

int main(int argc, char **argv)
{
	int fd, rc, err;

	if (argc != 4) {
		fprintf(stderr, "usage: failmount SOURCE TARGET OPTIONS\n");
		return 2;
	}
	fd = open("/proc/self/make-it-fail", O_WRONLY);
	if (fd < 0 || set_fail(fd, "1")) {
		perror("failmount: make-it-fail");
		return 2;
	}
	rc = mount(argv[1], argv[2], "cifs", 0, argv[3]);
	err = errno;
	if (set_fail(fd, "0")) {
		perror("failmount: make-it-fail");
		return 2;
	}
	if (rc) {
		fprintf(stderr, "failmount: %s\n", strerror(err));
		return 32;
	}
	return 0;
}
