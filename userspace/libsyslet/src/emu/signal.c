// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Emulated backend: the cancellation signal: which one, its handlers, installing it.
 */
#include "emu.h"

/* What the program had on pool.signo when the library took it. */
static struct sigaction sig_old;

_Thread_local bool t_worker;

/*
 * A signal of the program's landed on a worker (it was sent to the
 * process, and only the workers left it unblocked): it goes back to the
 * process with its siginfo, for a thread of the program (or
 * sigwaitinfo(), signalfd()) to take, and this worker keeps the signal
 * blocked from now on, as the others will (pool.sig_foreign), so it
 * cannot come back here.  The kernel refuses a siginfo with si_code >= 0
 * (kill(), the kernel's own) from anyone but the pid named: such a one
 * is sent again with kill(), which keeps the signal but not the sender.
 */
static void sig_requeue(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	atomic_store(&pool.sig_foreign, true);
	if (uc)
		sigaddset(&((ucontext_t *)uc)->uc_sigmask, sig);
	if (!si || syscall(SYS_rt_sigqueueinfo, getpid(), sig, si))
		kill(getpid(), sig);
	errno = saved;
}

/*
 * The cancel signal's handler.  The library's own kick (kick_job():
 * pthread_sigqueue() from this process with &pool as its value) only has
 * to interrupt the call, which then returns EINTR; any other signal is
 * the program's: on a worker it goes back to the process (above), on a
 * thread of the program to the disposition the library found, run with
 * that disposition's sa_mask, SA_NODEFER and SA_RESETHAND (SA_ONSTACK is
 * not: the library's handler runs on whatever stack the thread is on).
 */
static void sig_cancel(int sig, siginfo_t *si, void *uc)
{
	sigset_t mask, old;

	if (si && si->si_code == SI_QUEUE && si->si_pid == getpid() &&
	    si->si_value.sival_ptr == (void *)&pool)
		return;
	if (t_worker) {
		sig_requeue(sig, si, uc);
		return;
	}
	if (sig_old.sa_handler != SIG_DFL && sig_old.sa_handler != SIG_IGN) {
		struct sigaction now = sig_old;

		if (now.sa_flags & SA_RESETHAND) {
			memset(&sig_old, 0, sizeof(sig_old));
			sig_old.sa_handler = SIG_DFL;
		}
		mask = now.sa_mask;
		if (!(now.sa_flags & SA_NODEFER))
			sigaddset(&mask, sig);
		else
			sigdelset(&mask, sig);
		pthread_sigmask(SIG_BLOCK, &mask, &old);
		if (now.sa_flags & SA_NODEFER) {
			sigemptyset(&mask);
			sigaddset(&mask, sig);
			pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
		}
		if (now.sa_flags & SA_SIGINFO)
			now.sa_sigaction(sig, si, uc);
		else
			now.sa_handler(sig);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	} else if (sig_old.sa_handler == SIG_DFL) {
		/* a real-time signal's default action: the end of the process */
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(sig, &dfl, NULL);
		pthread_kill(pthread_self(), sig);	/* once we return */
	}
}

/*
 * The cancel signal: $SYSLET_CANCEL_SIGNAL (a number, or RTMIN+n), else
 * the first real-time signal from SIGRTMIN+3 on that the program has
 * left at its default disposition and does not block in the calling
 * thread ("blocked, left at SIG_DFL" is how a program sets a signal up
 * for sigwaitinfo() or signalfd()); if there is none, the last left at
 * its default; SIGRTMIN+3 itself if there is none.
 * -EINVAL for a bad $SYSLET_CANCEL_SIGNAL.
 */
static int pick_signal(void)
{
	const char *env = getenv("SYSLET_CANCEL_SIGNAL");
	struct sigaction sa;
	sigset_t blocked;
	char *end;
	long v;
	int sig;

	if (env && *env) {
		if (!strncmp(env, "SIG", 3))
			env += 3;
		if (!strncmp(env, "RTMIN+", 6)) {
			v = strtol(env + 6, &end, 10);
			v += SIGRTMIN;
		} else {
			v = strtol(env, &end, 10);
		}
		if (*end || v < SIGRTMIN || v > SIGRTMAX)
			return -EINVAL;
		return (int)v;
	}
	if (pthread_sigmask(SIG_BLOCK, NULL, &blocked))
		sigemptyset(&blocked);
	for (sig = SIGRTMIN + 3; sig <= SIGRTMAX; sig++)
		if (!sigaction(sig, NULL, &sa) && !(sa.sa_flags & SA_SIGINFO) &&
		    sa.sa_handler == SIG_DFL && !sigismember(&blocked, sig))
			return sig;
	/*
	 * A thread that blocks them all (the way of a program that takes
	 * its signals in one place): one left at its default still, rather
	 * than replace a handler of the program's (its SA_RESTART lost: an
	 * outside review), from the top down: a program that collects one
	 * with sigwaitinfo() (blocked, at its default) most often uses the
	 * first ones (a second review: SIGRTMIN+4 taken so, its kill()'s
	 * sender lost on a worker and cancellation off from then on).
	 */
	for (sig = SIGRTMAX; sig >= SIGRTMIN + 3; sig--)
		if (!sigaction(sig, NULL, &sa) && !(sa.sa_flags & SA_SIGINFO) &&
		    sa.sa_handler == SIG_DFL)
			return sig;
	return SIGRTMIN + 3;
}

/*
 * Is pool.signo still the library's?  A program may install its own
 * handler on it later (it cannot know which signal the library took):
 * from then on workers keep it blocked (pool.sig_foreign) and nothing is
 * sent, so a blocked call of a cancelled chain is left to end by itself.
 */
bool signal_still_ours(void)
{
	struct sigaction cur;

	if (sigaction(pool.signo, NULL, &cur))
		return false;
	return (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == sig_cancel;
}

/* Installs the cancel signal once; caller holds pool.lock. */
int install_signal(void)
{
	struct sigaction sa;
	int sig;

	if (pool.sig_installed)
		return 0;
	sig = pick_signal();
	if (sig < 0)
		return sig;
	memset(&sa, 0, sizeof(sa));
	/* no SA_RESTART: calls return EINTR */
	sa.sa_sigaction = sig_cancel;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &sig_old))
		return -errno;
	pool.signo = sig;
	pool.sig_installed = true;
	return 0;
}

