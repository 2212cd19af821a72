/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The smbvn trace event system: one event per validation decision, for
 * trace-cmd record -e smbvn and perf.  ns is the time smbvn spent on the
 * tree connect (including the validate round trip when there is one).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM smbvn

#if !defined(SMBVN_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define SMBVN_TRACE_H

#include <linux/tracepoint.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define SMBVN_ASSIGN_STR(dst, src) __assign_str(dst)
#else
#define SMBVN_ASSIGN_STR(dst, src) __assign_str(dst, src)
#endif

TRACE_EVENT(smbvn_decision,
	TP_PROTO(const char *server, const char *share, u16 dialect,
		 const char *verdict, const char *reason, u64 ns),
	TP_ARGS(server, share, dialect, verdict, reason, ns),
	TP_STRUCT__entry(
		__string(server, server)
		__string(share, share)
		__field(u16, dialect)
		__string(verdict, verdict)
		__string(reason, reason)
		__field(u64, ns)
	),
	TP_fast_assign(
		SMBVN_ASSIGN_STR(server, server);
		SMBVN_ASSIGN_STR(share, share);
		__entry->dialect = dialect;
		SMBVN_ASSIGN_STR(verdict, verdict);
		SMBVN_ASSIGN_STR(reason, reason);
		__entry->ns = ns;
	),
	TP_printk("server=%s share=%s dialect=0x%03x verdict=%s reason=%s ns=%llu",
		  __get_str(server), __get_str(share), __entry->dialect,
		  __get_str(verdict), __get_str(reason), __entry->ns)
);

#endif

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE smbvn_trace
#include <trace/define_trace.h>
