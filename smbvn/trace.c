// SPDX-License-Identifier: GPL-2.0-only
/* Instantiates the smbvn trace events declared in smbvn_trace.h. */
#define CREATE_TRACE_POINTS
#include "smbvn_trace.h"
