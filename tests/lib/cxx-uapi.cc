// SPDX-License-Identifier: GPL-2.0
/*
 * <linux/syslet.h> alone compiles as C++ (tests/lib/Makefile, -Wall
 * -Wextra -pedantic -Werror: ABI v1 has no flexible array member), and
 * its layout is the same as C's (every offset: abi-layout.h).
 */
#include <linux/syslet.h>

static_assert(sizeof(struct syslet_atom) == 96, "atom layout");
static_assert(sizeof(struct syslet_completion) == 32, "completion layout");
static_assert(sizeof(struct syslet_ring) == 192, "ring header layout");
static_assert(sizeof(struct syslet_limits) == 64, "limits layout");

int syslet_cxx_uapi_user_data(const struct syslet_atom *a)
{
	return (int)a->user_data;
}
