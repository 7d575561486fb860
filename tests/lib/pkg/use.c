// SPDX-License-Identifier: GPL-2.0
/* Built against an installed libsyslet (pkg-config): one async getpid. */
#include <stdio.h>
#include <unistd.h>
#include <syslet.h>

int main(void)
{
	struct syslet_completion c;
	struct syslet_ctx ctx;
	struct syslet_op op;

	if (syslet_ctx_init(&ctx, 8, 0))
		return 1;
	syslet_op_init(&op, SYS_getpid, 0);
	if (syslet_submit(&ctx, &op.atom) < 0 ||
	    syslet_wait_completion(&ctx, &c))
		return 2;
	syslet_ctx_exit(&ctx);
	printf("%s\n", syslet_backend_name(&ctx));
	return c.status == getpid() ? 0 : 3;
}
