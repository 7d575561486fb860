/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Linux 6.12's <linux/unaligned.h> for a 6.1 tree (scripts/kernel.sh lays
 * compat/6.1/ over it; upstream 6.1 has no such file): 6.12 moved the
 * get_unaligned()/put_unaligned() family from <asm/unaligned.h> to
 * <linux/unaligned.h>.
 * drivers/misc/syslet-daq/ includes it by its 6.12 name.
 */
#ifndef _SYSLET_COMPAT_LINUX_UNALIGNED_H
#define _SYSLET_COMPAT_LINUX_UNALIGNED_H

#include <asm/unaligned.h>

#endif /* _SYSLET_COMPAT_LINUX_UNALIGNED_H */
