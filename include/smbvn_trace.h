/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The smbvn trace event system: one event per validation decision, for
 * trace-cmd record -e smbvn and perf.  ns is the time smbvn spent on the
 * tree connect (including the validate round trip when there is one).
 * Fixed-size strings: __assign_str() changed its arguments in 6.10, and
 * one event layout must serve 6.1 and 6.12 alike.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM smbvn

#if !defined(SMBVN_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define SMBVN_TRACE_H

#include <linux/string.h>
#include <linux/tracepoint.h>

TRACE_EVENT(smbvn_decision,
	    TP_PROTO(const char *server, const char *share, u16 dialect,
		     const char *verdict, const char *reason, u32 status,
		     u64 ns),
	    TP_ARGS(server, share, dialect, verdict, reason, status, ns),
	    TP_STRUCT__entry(__array(char, server, 64)
			     __array(char, share, 96)
			     __field(u16, dialect)
			     __array(char, verdict, 16)
			     __array(char, reason, 32)
			     __field(u32, status)
			     __field(u64, ns)),
	    TP_fast_assign(strscpy(__entry->server, server, 64);
			   strscpy(__entry->share, share, 96);
			   __entry->dialect = dialect;
			   strscpy(__entry->verdict, verdict, 16);
			   strscpy(__entry->reason, reason, 32);
			   __entry->status = status;
			   __entry->ns = ns;),
	    TP_printk("server=%s share=%s dialect=0x%03x verdict=%s reason=%s status=0x%08x ns=%llu",
		      __entry->server, __entry->share, __entry->dialect,
		      __entry->verdict, __entry->reason, __entry->status,
		      __entry->ns)
);

#endif

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE smbvn_trace
#include <trace/define_trace.h>
