// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Emulated backend: cancellation of queued and running chains.
 */
#include "emu.h"

/* --- cancellation -------------------------------------------------------- */

/*
 * Interrupts the system calls of @n jobs until they have left them (see
 * the top): each round signals every job still in its call, then waits;
 * one deadline (about 0.8 s) for all of them, not one per job.
 */
void kick_jobs(struct emu_job *const *v, unsigned int n,
		      bool once)
{
	unsigned int attempt, i;

	if (atomic_load(&pool.sig_foreign) || !signal_still_ours()) {
		/* the program's signal now: see signal_still_ours() */
		atomic_store(&pool.sig_foreign, true);
		return;
	}
	for (attempt = 0; attempt < 14; attempt++) {
		struct timespec ts;
		bool any = false;

		for (i = 0; i < n; i++) {
			struct emu_job *j = v[i];

			pthread_mutex_lock(&j->sig_lock);
			if (j->in_syscall) {
				any = true;
				pthread_sigqueue(j->thread, pool.signo,
						 (union sigval){ .sival_ptr = &pool });
			}
			pthread_mutex_unlock(&j->sig_lock);
		}
		if (!any || once)
			return;
		/* 50us, 100us, ... about 0.8 s in all */
		ts.tv_sec = 0;
		ts.tv_nsec = 50000L << attempt;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_nsec = 999999999;
		nanosleep(&ts, NULL);
	}
}

/*
 * As the kernel's async_cancel(): chains still queued are taken off the
 * queue and complete at once with -ECANCELED; running ones are marked
 * and their blocked call interrupted (not with SYSLET_CANCEL_QUEUED:
 * -EALREADY if one matched and none was queued).  Threadlets are not
 * cancellable.
 */
int __syslet_emu_cancel(struct syslet_ctx *ctx, uint64_t user_data,
	       unsigned int flags)
{
	struct syslet_emu *e = ctx_emu(ctx);
	struct emu_job *j, *hit[64], *fl = NULL, *dq = NULL, **dq_last = &dq;
	unsigned int nhit, i;
	bool more, rekick, started = false;
	int nr = 0;

	if (flags & ~(SYSLET_CANCEL_F_ALL | SYSLET_CANCEL_NOWAIT))
		return -EINVAL;
	/* the first round only: later ones see this call's own marks */
	rekick = flags & SYSLET_CANCEL_NOWAIT;
	do {
		nhit = 0;
		more = false;
		pthread_mutex_lock(&pool.lock);
		pthread_mutex_lock(&e->lock);
		for (j = e->inflight; j; j = j->inext) {
			if (j->comp.user_data != user_data || j->fn)
				continue;
			if ((flags & SYSLET_CANCEL_QUEUED) && !j->queued) {
				started = true;
				continue;
			}
			if (atomic_load(&j->cancelled)) {
				/* NOWAIT: signal a running one again */
				if (!rekick || j->queued || nhit == 64)
					continue;
				nr++;
				j->refs++;
				hit[nhit++] = j;
				if (!(flags & SYSLET_CANCEL_ALL))
					break;
				continue;
			}
			if (nhit == 64) {
				more = true;
				break;
			}
			atomic_store(&j->cancelled, true);
			nr++;
			if (j->queued) {
				unqueue_locked(j);
				j->next = NULL;
				*dq_last = j;
				dq_last = &j->next;
			} else {
				j->refs++;
				hit[nhit++] = j;
			}
			if (!(flags & SYSLET_CANCEL_ALL))
				break;
		}
		pthread_mutex_unlock(&e->lock);
		pthread_mutex_unlock(&pool.lock);

		kick_jobs(hit, nhit, flags & SYSLET_CANCEL_NOWAIT);
		rekick = false;
		pthread_mutex_lock(&e->lock);
		for (i = 0; i < nhit; i++)
			job_put_locked(e, hit[i], &fl);
		pthread_mutex_unlock(&e->lock);
		free_jobs(fl);
		fl = NULL;
	} while (more);

	/* complete the ones that never started, in order */
	while ((j = dq)) {
		dq = j->next;
		j->comp.status = -ECANCELED;
		j->comp.flags |= SYSLET_COMP_CANCELED;
		post_job(j);
	}
	if (flags & SYSLET_CANCEL_ALL)
		return nr;
	if (nr)
		return 0;
	return started ? -EALREADY : -ENOENT;
}

