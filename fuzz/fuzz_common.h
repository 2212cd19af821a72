/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared bits of the smbvn libFuzzer harnesses.  smbvn/proto.c is
 * compiled unchanged in userspace; these helpers decode fields on their
 * own (not with proto.c's inline readers) so an invariant failure cannot
 * be explained away by the same misread on both sides.
 */
#ifndef SMBVN_FUZZ_COMMON_H
#define SMBVN_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include "smbvn_proto.h"

/* abort() so libFuzzer records a crash with the input that caused it. */
#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline unsigned int f_le16(const unsigned char *p)
{
	return p[0] + 256u * p[1];
}

static inline unsigned long f_le32(const unsigned char *p)
{
	return f_le16(p) + 65536ul * f_le16(p + 2);
}

/*
 * Exact-size heap copy: ASan's redzone starts at the first byte past
 * @len, so any over-read is reported even if the fuzzer's own buffer
 * happens to be larger.  Never NULL for len 0 (malloc(1) then).
 */
static inline unsigned char *f_dup(const unsigned char *src, size_t len)
{
	unsigned char *p = malloc(len ? len : 1);

	CHECK(p);
	if (len)
		memcpy(p, src, len);
	return p;
}

#endif
