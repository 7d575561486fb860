// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Emulated backend: the executor: runs a chain's atoms (mirrors kernel/syslet/exec.c).
 */
#include "emu.h"

/* --- the executor (mirrors kernel/syslet/exec.c) ------------------- */

static bool should_stop(uint32_t flags, long ret)
{
	return ((flags & SYSLET_STOP_ON_NONZERO) && ret != 0) ||
	       ((flags & SYSLET_STOP_ON_ZERO) && ret == 0) ||
	       ((flags & SYSLET_STOP_ON_NEGATIVE) && ret < 0) ||
	       ((flags & SYSLET_STOP_ON_NON_POSITIVE) && ret <= 0);
}

/*
 * A worker takes pool.signo only while it is in a call of a chain, and
 * only while the signal is the library's: an idle worker, or one whose
 * program took the signal over, never runs the program's handler for a
 * signal sent to the process (glibc's AIO threads block every signal).
 */
static void worker_sigmask(int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, pool.signo);
	pthread_sigmask(how, &set, NULL);
}

static long run_syscall(struct emu_job *j, unsigned int nr,
			const uint64_t *a)
{
	bool take_sig = false;
	long ret;

	ret = __syslet_nr_check(nr);
	if (ret)
		return ret;
	if (nr_targets_self(nr, a))
		return -EPERM;
	if (j) {
		if (!atomic_load(&pool.sig_foreign)) {
			take_sig = signal_still_ours();
			if (!take_sig)
				atomic_store(&pool.sig_foreign, true);
		}
		pthread_mutex_lock(&j->sig_lock);
		j->thread = pthread_self();
		j->in_syscall = true;
		pthread_mutex_unlock(&j->sig_lock);
		if (atomic_load(&j->cancelled)) {
			ret = -ECANCELED;
			goto out;
		}
		if (take_sig)
			worker_sigmask(SIG_UNBLOCK);
	}
	for (;;) {
		ret = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if (ret == -1)
			ret = -errno;
		/*
		 * EINTR not from a cancellation: a signal of the program's
		 * that landed here (passed back to the process, or run by a
		 * handler the program installed on the library's signal
		 * while this call slept): the call is made again, as
		 * SA_RESTART would (glibc's AIO threads block every signal),
		 * but close(), which has released the descriptor even so.
		 */
		if (ret != -EINTR || !j || nr == SYS_close ||
		    atomic_load(&j->cancelled))
			break;
	}
	if (take_sig)
		worker_sigmask(SIG_BLOCK);
out:
	if (j) {
		pthread_mutex_lock(&j->sig_lock);
		j->in_syscall = false;
		pthread_mutex_unlock(&j->sig_lock);
	}
	return ret;
}

/*
 * Runs a chain to its end and fills in @c.  @j is the job when run on a
 * worker (cancellable), NULL when run in the caller (SYSLET_SYNC).
 */
void run_chain(const struct syslet_atom *head, struct emu_job *j,
		      struct syslet_completion *c)
{
	const struct syslet_atom *a = head;
	unsigned int nr_run = 0;
	uint64_t last = 0;
	long status = 0;

	while (a) {
		uint64_t args[6];
		struct syslet_atom atom;
		long ret;
		int i;

		if (j && atomic_load(&j->cancelled)) {
			status = -ECANCELED;
			break;
		}
		if (nr_run >= SYSLET_MAX_ATOMS) {
			status = -ELOOP;
			break;
		}
		memcpy(&atom, a, sizeof(atom));
		last = (uint64_t)(uintptr_t)a;
		if ((atom.flags & ~SYSLET_ATOM_FLAGS) || atom.__reserved[0] ||
		    atom.__reserved[1]) {
			status = -EINVAL;
			break;
		}
		for (i = 0; i < 6; i++)
			args[i] = atom.arg_ptr[i] ?
				*(const uint64_t *)(uintptr_t)atom.arg_ptr[i] : 0;
		nr_run++;
		ret = run_syscall(j, atom.nr, args);
		if (ret == -EINTR && j && atomic_load(&j->cancelled))
			ret = -ECANCELED;
		status = ret;
		if (atom.ret_ptr)
			*(int64_t *)(uintptr_t)atom.ret_ptr = ret;
		if (should_stop(atom.flags, ret)) {
			if (!(atom.flags & SYSLET_SKIP_TO_NEXT_ON_STOP))
				break;
			a = a + 1;
			continue;
		}
		a = (const struct syslet_atom *)(uintptr_t)atom.next;
	}
	if (j && atomic_load(&j->cancelled)) {
		status = -ECANCELED;
		c->flags |= SYSLET_COMP_CANCELED;
	}
	c->status = status;
	c->atom = last;
	c->nr_atoms = nr_run;
	if (!j)
		c->flags |= SYSLET_COMP_SYNC;
}

