// SPDX-License-Identifier: GPL-2.0
/*
 * <linux/syslet.h> alone compiles as C++ (tests/lib/Makefile, -Wall
 * -Wextra -Werror; not -pedantic: its flexible array member is a GNU
 * extension in C++, as in every uapi header that has one), and its
 * layout is the same as C's.
 */
#include <linux/syslet.h>

static_assert(sizeof(struct syslet_atom) == 80, "atom layout");
static_assert(sizeof(struct syslet_completion) == 32, "completion layout");
static_assert(sizeof(struct syslet_ring) == 192, "ring header layout");
static_assert(sizeof(struct syslet_limits) == 64, "limits layout");

int syslet_cxx_uapi_user_data(const struct syslet_atom *a)
{
	return (int)a->user_data;
}
