// SPDX-License-Identifier: GPL-2.0
/*
 * <linux/syslet.h> as C++11, -Wall -Wextra -pedantic -Werror: its ABI v1
 * layout pinned (abi-layout.h; abi.c does the same as C).  Offsets and
 * sizes the C and C++ compilers give must agree for a C++ program to
 * share structs with the kernel and with C code.
 */
#define ABI_LANG "C++"
#include "abi-layout.h"

int main()
{
	return abi_run();
}
