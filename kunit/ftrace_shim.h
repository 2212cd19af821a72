/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * smbvn.h embeds a struct ftrace_ops in struct smbvn_hook, but the type
 * is only complete with CONFIG_FUNCTION_TRACER, which UML (where kunit.py
 * runs the suites) cannot enable.  The suites use nothing from the hook
 * code; this placeholder only lets sign.c and sign_test.c include the
 * module's own header unchanged.  Kbuild force-includes it only when the
 * kernel lacks the tracer, so a real definition never meets this one.
 */
#ifndef SMBVN_KUNIT_FTRACE_SHIM_H
#define SMBVN_KUNIT_FTRACE_SHIM_H

#ifndef CONFIG_FUNCTION_TRACER
struct ftrace_ops {
	unsigned long placeholder;
};
#endif

#endif
