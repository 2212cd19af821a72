// SPDX-License-Identifier: GPL-2.0-only
/*
 * failio FILE EXPECT SECS: read the first bytes of FILE (on a cache=none
 * cifs mount) every 50 ms for SECS seconds, with this task's failslab
 * flag (/proc/self/make-it-fail) set around each pread(2) alone.  cifs
 * reconnects a dropped session, reopens the file and sends smbvn's
 * validation from the task whose request finds the session down, so the
 * slab allocations of those reconnects fail as /sys/kernel/debug/failslab
 * says.  A read that succeeds must return EXPECT.
 *
 * Prints one line: "FAILIO reads=N ok=N err=N short=N bad=N errnos=E:N,...
 * first=..." (short: fewer bytes than EXPECT, bad: as many, but others;
 * first: the first such read's length and bytes) and exits 0, or 1 when
 * a read was bad, 2 on usage or setup errors.  Short reads are counted,
 * not failed: stock cifs on Debian's 6.12 returns 0 bytes from some reads
 * whose reconnect ran out of memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "make-it-fail.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct timespec gap = { 0, 50 * 1000 * 1000 };
	unsigned long reads = 0, ok = 0, err = 0, shrt = 0, bad = 0;
	char first[80] = "none";
	unsigned long by_errno[256] = { 0 };
	char buf[256];
	double end;
	size_t want;
	ssize_t n;
	int ff, fd, e, i, sep = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: failio FILE EXPECT SECS\n");
		return 2;
	}
	want = strlen(argv[2]);
	if (want == 0 || want > sizeof(buf)) {
		fprintf(stderr, "failio: EXPECT must be 1-%zu bytes\n", sizeof(buf));
		return 2;
	}
	ff = open("/proc/self/make-it-fail", O_WRONLY);
	/* Without faults, but a reset may meet the open: a few tries. */
	for (i = 0, fd = -1; fd < 0 && i < 50; i++) {
		fd = open(argv[1], O_RDONLY);
		if (fd < 0)
			nanosleep(&gap, NULL);
	}
	if (ff < 0 || fd < 0) {
		perror("failio: open");
		return 2;
	}
	end = now() + atof(argv[3]);
	while (now() < end) {
		if (set_fail(ff, "1"))
			goto flag;
		n = pread(fd, buf, want, 0);
		e = errno;
		if (set_fail(ff, "0"))
			goto flag;
		reads++;
		if (n < 0) {
			err++;
			by_errno[e & 255]++;
		} else if ((size_t)n == want && !memcmp(buf, argv[2], want)) {
			ok++;
		} else {
			if (!shrt && !bad)
				snprintf(first, sizeof(first), "n=%zd:'%.*s'",
					 n, (int)(n > 32 ? 32 : n), buf);
			if ((size_t)n < want)
				shrt++;
			else
				bad++;
		}
		nanosleep(&gap, NULL);
	}
	printf("FAILIO reads=%lu ok=%lu err=%lu short=%lu bad=%lu errnos=",
	       reads, ok, err, shrt, bad);
	for (i = 0; i < 256; i++) {
		if (!by_errno[i])
			continue;
		printf("%s%d:%lu", sep ? "," : "", i, by_errno[i]);
		sep = 1;
	}
	printf("%s first=%s\n", sep ? "" : "none", first);
	return bad ? 1 : 0;
flag:
	perror("failio: make-it-fail");
	return 2;
}
