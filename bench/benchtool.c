// SPDX-License-Identifier: GPL-2.0-only
/*
 * benchtool - the guest-side timing helper of scripts/bench/bench.sh.
 *
 * The guest userland is busybox, whose date has no %N and whose stat, rm
 * and dd are separate processes: under qemu TCG a fork+exec costs
 * milliseconds and would drown the microseconds being compared.  So every
 * timed loop runs here, in one process, timed with CLOCK_MONOTONIC, and
 * calls the syscalls directly (mount(2) rather than mount.cifs: what smbvn
 * changes is the kernel's mount path, not the helper's option parsing).
 *
 * Output is one whitespace-separated record per line, prefixed with
 * "BENCH", for scripts/bench/bench-report.py to parse from the console log.
 *
 *   benchtool now
 *   benchtool mount TAG N SRC DIR OPTS       N x (mount(2), umount(2))
 *   benchtool stat TAG N PATH                N x stat(2), wall and CPU time
 *   benchtool pread TAG N PATH               N x 1-byte pread(2), likewise
 *   benchtool meta create|stat|unlink TAG DIR FIRST N
 *                                            that step on files FIRST..+N
 *   benchtool write|read TAG FILE OFF MIB    MIB MiB sequential I/O at OFF MiB
 *   benchtool calib TAG N                    N empty indirect calls (best of 15)
 *   benchtool reconnect TAG ADDR PORT FILE   have the host drop the mount's
 *                                            connection, then read FILE
 *                                            until cifs has reconnected
 *   benchtool ab TAG MODE ARGS...            one of the modes above (mount
 *                                            with N=1), bracketed by a
 *                                            "BENCH ab TAG WALL BUSY" record
 *
 * Built statically on the host (gcc -static) so it needs nothing from the
 * initramfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE	(1024 * 1024)	/* per read/write call, as dd bs=1M */

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* This process's user and system CPU time, in ns. */
static void cpu_ns(unsigned long long *user, unsigned long long *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = ru.ru_utime.tv_sec * 1000000000ULL + ru.ru_utime.tv_usec * 1000ULL;
	*sys = ru.ru_stime.tv_sec * 1000000000ULL + ru.ru_stime.tv_usec * 1000ULL;
}

/*
 * Guest CPU time spent in tasks other than the idle tasks, all CPUs, in ns:
 * the seventh number of each "cpuN" line of /proc/schedstat (the run time
 * the scheduler charges at every context switch).  Under qemu -icount the
 * guest clock advances per executed instruction, so this counts the guest
 * instructions the work took, whatever the host's load did to wall time.
 */
static unsigned long long busy_ns(void)
{
	unsigned long long sum = 0, v[7];
	char line[512];
	FILE *f = fopen("/proc/schedstat", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		if (sscanf(line, "%*s %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) == 7)
			sum += v[6];
	}
	fclose(f);
	return sum;
}

static long count_arg(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*end || n <= 0) {
		fprintf(stderr, "benchtool: bad count '%s'\n", s);
		exit(2);
	}
	return n;
}

/*
 * One record per cycle, so the host sees the distribution, not just a
 * mean.  A failed mount is reported and ends the loop: a benchmark that
 * quietly skips failures would compare different work.
 */
static int do_mount(const char *tag, long n, const char *src,
		    const char *dir, const char *opts)
{
	unsigned long long t0, t1, t2;
	long i;

	for (i = 0; i < n; i++) {
		t0 = now_ns();
		if (mount(src, dir, "cifs", 0, opts)) {
			printf("BENCH mountfail %s %ld errno=%d %s\n", tag, i,
			       errno, strerror(errno));
			return 1;
		}
		t1 = now_ns();
		if (umount(dir)) {
			printf("BENCH umountfail %s %ld errno=%d %s\n", tag, i,
			       errno, strerror(errno));
			return 1;
		}
		t2 = now_ns();
		printf("BENCH mount %s %llu %llu\n", tag, t1 - t0, t2 - t1);
	}
	return 0;
}

/*
 * Many identical small synchronous requests.  With actimeo=0 every stat is
 * a revalidation on the server (a compound: open, query, close); on a
 * cache=none mount every 1-byte pread is one READ request.  The difference
 * between configurations, divided by the PDUs counted in
 * /proc/fs/cifs/Stats, is what the hooks on cifs' shared send/receive path
 * cost per PDU.  System CPU time is reported next to wall time because it
 * leaves out the network wait.
 */
static int do_loop(const char *kind, const char *tag, long n, const char *path)
{
	unsigned long long t0, t1, u0, s0, u1, s1;
	struct stat st;
	char c;
	long i;
	int fd = -1;

	if (!strcmp(kind, "pread")) {
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			printf("BENCH loopfail %s %s open errno=%d\n", kind, tag, errno);
			return 1;
		}
	}
	cpu_ns(&u0, &s0);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (fd >= 0 ? pread(fd, &c, 1, 0) != 1 : stat(path, &st) != 0) {
			printf("BENCH loopfail %s %s %ld errno=%d\n", kind, tag, i,
			       errno);
			return 1;
		}
	}
	t1 = now_ns();
	cpu_ns(&u1, &s1);
	if (fd >= 0)
		close(fd);
	printf("BENCH loop %s %s %ld %llu %llu %llu\n", kind, tag, n, t1 - t0,
	       s1 - s0, u1 - u0);
	return 0;
}

/*
 * One step of the metadata test on files DIR/fFIRST .. DIR/f(FIRST+N-1):
 * create them (64 bytes each), stat them, or delete them.  The test is cut
 * into chunks so that the configurations can alternate between chunks on
 * one mount.
 */
static int do_meta(const char *op, const char *tag, const char *dir,
		   long first, long n)
{
	static const char data[64] = "smbvn benchmark small file\n";
	unsigned long long t0, t1;
	char path[4096];
	struct stat st;
	long i;
	int fd, bad;

	t0 = now_ns();
	for (i = first; i < first + n; i++) {
		snprintf(path, sizeof(path), "%s/f%05ld", dir, i);
		if (!strcmp(op, "create")) {
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			bad = fd < 0 || write(fd, data, sizeof(data)) != sizeof(data);
			if (fd >= 0 && close(fd))
				bad = 1;
		} else if (!strcmp(op, "stat")) {
			bad = stat(path, &st) || st.st_size != sizeof(data);
		} else {
			bad = unlink(path) != 0;
		}
		if (bad) {
			printf("BENCH metafail %s %s %ld errno=%d\n", tag, op, i,
			       errno);
			return 1;
		}
	}
	t1 = now_ns();
	printf("BENCH meta %s %s %ld %llu\n", tag, op, n, t1 - t0);
	return 0;
}

/*
 * MIB MiB of sequential I/O in 1 MiB calls at OFF MiB into FILE, so that
 * one file can be written and read in chunks, with the configuration
 * switched between chunks.  The write includes fsync, so nothing is still
 * in flight when the clock stops (a no-op on a cache=none mount, where
 * every write has already reached the server).
 */
static int do_io(const char *op, const char *tag, const char *path,
		 long off, long mib)
{
	unsigned long long t0, t1;
	int wr = !strcmp(op, "write");
	char *buf;
	ssize_t r;
	long i;
	int fd;

	if (posix_memalign((void **)&buf, 4096, BUF_SIZE))
		return 1;
	memset(buf, 0x5a, BUF_SIZE);
	fd = open(path, wr ? O_WRONLY | O_CREAT : O_RDONLY, 0644);
	if (fd < 0) {
		printf("BENCH iofail %s open errno=%d\n", tag, errno);
		return 1;
	}
	t0 = now_ns();
	for (i = 0; i < mib; i++) {
		off_t pos = (off_t)(off + i) * BUF_SIZE;

		r = wr ? pwrite(fd, buf, BUF_SIZE, pos) : pread(fd, buf, BUF_SIZE, pos);
		if (r != BUF_SIZE) {
			printf("BENCH iofail %s %s %ld r=%zd errno=%d\n", tag, op,
			       off + i, r, errno);
			return 1;
		}
	}
	if ((wr && fsync(fd)) || close(fd)) {
		printf("BENCH iofail %s close errno=%d\n", tag, errno);
		return 1;
	}
	t1 = now_ns();
	printf("BENCH %s %s %llu %llu\n", op, tag,
	       (unsigned long long)mib * BUF_SIZE, t1 - t0);
	free(buf);
	return 0;
}

/*
 * Ask the host's drop listener (scripts/bench/drop-listener.py) at
 * ADDR:PORT to reset the server end of the mount's TCP connection.  It
 * answers one byte once the socket is gone: '1' if it reset one, '0' if
 * it found none (then there is no reconnect to time).
 */
static int ask_drop(const char *tag, const char *addr, const char *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char ack = 0;
	int fd, ok;

	sin.sin_port = htons((unsigned short)count_arg(port));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		printf("BENCH reconnectfail %s bad address %s\n", tag, addr);
		return 1;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		printf("BENCH reconnectfail %s socket errno=%d\n", tag, errno);
		return 1;
	}
	ok = !connect(fd, (struct sockaddr *)&sin, sizeof(sin)) &&
	     read(fd, &ack, 1) == 1 && ack == '1';
	if (!ok)
		printf("BENCH reconnectfail %s drop listener answered '%c'\n",
		       tag, ack ? ack : '-');
	close(fd);
	return !ok;
}

/*
 * Guest CPU spent across a reconnect after a dropped connection: the
 * server's end is reset, then FILE (on a cache=none mount, so each read
 * is a READ request) is opened and read until that succeeds, while cifs
 * reconnects: NEGOTIATE, SESSION_SETUP, the tree connect and, with
 * smbvn, its validation.  cifs also reconnects IPC$ from a worker that
 * races the read, so some of that work can fall after the window: the
 * figure is bimodal, and the table's medians of quads are what copes.
 * No idle tail after the read: under -icount an idle guest still runs
 * housekeeping tasks (about 20 ms of CPU per 0.5 s on 6.1, measured),
 * which would drown a reconnect's 1 ms.  An alarm ends a reconnect that
 * never comes, or a listener that never answers, after 90 s: a failure.
 */
static int do_reconnect(const char *tag, const char *addr, const char *port,
			const char *path)
{
	struct timespec gap = { 0, 10 * 1000 * 1000 };
	unsigned long long t0, t1;
	long tries = 0;
	char c;
	int fd;

	alarm(90);
	t0 = now_ns();
	if (ask_drop(tag, addr, port))
		return 1;
	for (;;) {
		tries++;
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			ssize_t r = read(fd, &c, 1);

			close(fd);
			if (r == 1)
				break;
		}
		nanosleep(&gap, NULL);
	}
	t1 = now_ns();
	alarm(0);
	printf("BENCH reconnect %s %ld %llu\n", tag, tries, t1 - t0);
	return 0;
}

/*
 * Scale reference: the same indirect call of an empty function, timed on
 * the host and in the guest, says how much slower qemu TCG runs simple
 * kernel-like code than the real CPU does.
 */
static int empty_fn(int x)
{
	asm volatile("" ::: "memory");
	return x;
}

static int do_calib(const char *tag, long n)
{
	unsigned long long t0, t1, best = ~0ULL;
	int (*fn)(int) = empty_fn;
	long i, b;
	int acc = 0;

	/* Hide the target: the call stays indirect and out of line. */
	asm volatile("" : "+r"(fn));

	for (b = 0; b < 15; b++) {
		t0 = now_ns();
		for (i = 0; i < n; i++)
			acc += fn((int)i);
		t1 = now_ns();
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	printf("BENCH calib %s %ld %llu %d\n", tag, n, best, acc & 1);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long w0 = 0, b0 = 0;
	const char *ab_tag = NULL;
	int rc = 2;

	/* Records must reach the console in order with the shell's lines. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/*
	 * ab: one unit of work for an interleaved comparison, timed as wall
	 * time and as guest CPU time; both readings are taken in this process
	 * so that no fork or exec falls inside the window.
	 */
	if (argc >= 4 && !strcmp(argv[1], "ab")) {
		ab_tag = argv[2];
		argc -= 2;
		argv += 2;
		b0 = busy_ns();
		w0 = now_ns();
	}
	if (argc == 2 && !strcmp(argv[1], "now")) {
		printf("%llu\n", now_ns());
		rc = 0;
	} else if (argc == 7 && !strcmp(argv[1], "mount")) {
		rc = do_mount(argv[2], count_arg(argv[3]), argv[4], argv[5],
			      argv[6]);
	} else if (argc == 5 && (!strcmp(argv[1], "stat") ||
				 !strcmp(argv[1], "pread"))) {
		rc = do_loop(argv[1], argv[2], count_arg(argv[3]), argv[4]);
	} else if (argc == 7 && !strcmp(argv[1], "meta") &&
		   (!strcmp(argv[2], "create") || !strcmp(argv[2], "stat") ||
		    !strcmp(argv[2], "unlink"))) {
		rc = do_meta(argv[2], argv[3], argv[4], atol(argv[5]),
			     count_arg(argv[6]));
	} else if (argc == 6 && (!strcmp(argv[1], "write") ||
				 !strcmp(argv[1], "read"))) {
		rc = do_io(argv[1], argv[2], argv[3], atol(argv[4]),
			   count_arg(argv[5]));
	} else if (argc == 4 && !strcmp(argv[1], "calib")) {
		rc = do_calib(argv[2], count_arg(argv[3]));
	} else if (argc == 6 && !strcmp(argv[1], "reconnect")) {
		rc = do_reconnect(argv[2], argv[3], argv[4], argv[5]);
	} else {
		fprintf(stderr, "usage: see the comment at the top of benchtool.c\n");
	}
	if (ab_tag && !rc) {
		unsigned long long w1 = now_ns(), b1 = busy_ns();

		printf("BENCH ab %s %llu %llu\n", ab_tag, w1 - w0, b1 - b0);
	}
	return rc;
}
