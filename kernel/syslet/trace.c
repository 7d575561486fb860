// SPDX-License-Identifier: GPL-2.0
/* The syslet engine's trace events (include/trace/events/syslet.h). */
#define CREATE_TRACE_POINTS
#include <trace/events/syslet.h>
