// SPDX-License-Identifier: GPL-2.0
/*
 * insn-prof: a QEMU TCG plugin that counts the guest instructions executed
 * in each translation block, for an exact profile of a whole workload
 * (scripts/insn-prof.sh runs it, scripts/insn-prof.py reads its output).
 *
 *   qemu-system-x86_64 ... -plugin insn-prof.so,mark=ADDR,out=PREFIX
 *
 * Every execution of the block that starts at guest address ADDR (a
 * kernel function the workload calls to mark a point: insn-prof.sh
 * uses reboot() with a bad magic, which does nothing) writes the counts
 * gathered since the previous mark to PREFIX.N (N = 1, 2, ...: "pc insns
 * executions" per block, executions > 0 only) and starts again from
 * zero.  Under TCG time follows these counts, which host load moves only
 * through what the guest does for time rather than work (timer ticks,
 * loops that wait for a time): a comparison of two engines by
 * instructions per I/O holds on a busy machine, where their times do not.
 *
 * The counters are plain inline adds, as QEMU's own hotblocks plugin
 * does them: with several vCPUs a count can lose an increment now and
 * then (two vCPUs adding to one block's counter at once), and a block
 * left early (a fault, an interrupt) counts as whole.  Both are far
 * below what a profile needs.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct blk {
	uint64_t pc;
	uint64_t insns;
	uint64_t execs;		/* the inline counter */
	struct blk *next;	/* hash chain */
	struct blk *all;	/* every block, for the dump */
};

#define NBUCKETS (1u << 20)

static struct blk **buckets;
static struct blk *all;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t mark_pc;
static const char *out = "insn-prof";
static unsigned int marks;

static struct blk *blk_get(uint64_t pc, uint64_t insns)
{
	unsigned int h = (unsigned int)((pc ^ (pc >> 20) ^ insns * 0x9e37u) &
					(NBUCKETS - 1));
	struct blk *b;

	pthread_mutex_lock(&lock);
	for (b = buckets[h]; b; b = b->next)
		if (b->pc == pc && b->insns == insns)
			break;
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (b) {
			b->pc = pc;
			b->insns = insns;
			b->next = buckets[h];
			buckets[h] = b;
			b->all = all;
			all = b;
		}
	}
	pthread_mutex_unlock(&lock);
	return b;
}

static void dump(unsigned int vcpu, void *udata)
{
	char path[4096];
	struct blk *b;
	FILE *f;

	(void)vcpu;
	(void)udata;
	pthread_mutex_lock(&lock);
	snprintf(path, sizeof(path), "%s.%u", out, ++marks);
	f = fopen(path, "w");
	for (b = all; b; b = b->all) {
		uint64_t n = __atomic_exchange_n(&b->execs, 0, __ATOMIC_RELAXED);

		if (f && n)
			fprintf(f, "%" PRIx64 " %" PRIu64 " %" PRIu64 "\n",
				b->pc, b->insns, n);
	}
	if (f)
		fclose(f);
	pthread_mutex_unlock(&lock);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t pc = qemu_plugin_tb_vaddr(tb);
	struct blk *b = blk_get(pc, qemu_plugin_tb_n_insns(tb));

	(void)id;
	if (!b)
		return;
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &b->execs, 1);
	if (mark_pc && pc == mark_pc)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, dump,
						     QEMU_PLUGIN_CB_NO_REGS,
						     NULL);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "mark=", 5))
			mark_pc = strtoull(argv[i] + 5, NULL, 0);
		else if (!strncmp(argv[i], "out=", 4))
			out = strdup(argv[i] + 4);
		else
			return -1;
	}
	buckets = calloc(NBUCKETS, sizeof(*buckets));
	if (!buckets)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	return 0;
}
