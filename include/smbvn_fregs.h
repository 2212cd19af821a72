/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A hooked cifs function's register arguments, and its redirection, from
 * struct ftrace_regs alone: without FTRACE_OPS_FL_SAVE_REGS.
 *
 * With DYNAMIC_FTRACE_WITH_ARGS (x86-64 in every Debian kernel) ftrace's
 * plain trampoline saves the argument registers, the stack pointer and the
 * instruction pointer for every callback, and takes the instruction
 * pointer back from there on return: what livepatch relies on.  6.12 names
 * the accessors; 6.1 has only the setter, and its struct ftrace_regs is a
 * struct pt_regs of which those registers are filled.  SAVE_REGS adds the
 * rest of pt_regs, which no smbvn hook reads.
 */
#ifndef SMBVN_FREGS_H
#define SMBVN_FREGS_H

#include <linux/ftrace.h>

/*
 * Without it the kernel's fallback setter does nothing: a redirect or gate
 * would silently not happen.  Better no module at all.
 */
#ifndef CONFIG_DYNAMIC_FTRACE_WITH_ARGS
#error "smbvn needs CONFIG_DYNAMIC_FTRACE_WITH_ARGS to redirect cifs functions"
#endif

#ifdef ftrace_regs_get_argument
#define smbvn_fregs_arg(fregs, n)	ftrace_regs_get_argument(fregs, n)
#else
#define smbvn_fregs_arg(fregs, n)	regs_get_kernel_argument(&(fregs)->regs, n)
#endif

#ifdef ftrace_regs_set_instruction_pointer
#define smbvn_fregs_set_ip(fregs, ip)	ftrace_regs_set_instruction_pointer(fregs, ip)
#else
#define smbvn_fregs_set_ip(fregs, ip)	ftrace_instruction_pointer_set(fregs, ip)
#endif

/*
 * Argument @n (SMBVN_ARG_*, found in cifs' BTF, always a register one) of
 * a hooked function, at its entry.  The cast also drops the undefined
 * upper half of an int.
 */
#define FARG(fregs, n, type)	((type)smbvn_fregs_arg(fregs, n))

#endif
