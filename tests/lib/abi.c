// SPDX-License-Identifier: GPL-2.0
/*
 * <linux/syslet.h> as C11, -Wall -Wextra -pedantic -Werror: its ABI v1
 * layout pinned (abi-layout.h; abi.cc does the same as C++).
 */
#include <assert.h>
#include <stdalign.h>
#define ABI_LANG "C"
#include "abi-layout.h"

int main(void)
{
	return abi_run();
}
