// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * notify.c - delivering a completion's struct sigevent.
 *
 *   SIGEV_NONE		nothing.
 *   SIGEV_SIGNAL	a queued signal to the process, si_code SI_ASYNCIO,
 *			si_value the sigevent's value, si_pid/si_uid ours
 *			(what glibc sends; rt_sigqueueinfo() accepts a
 *			negative si_code for any target).
 *   SIGEV_THREAD_ID	the same, to one thread (Linux extension).
 *   SIGEV_THREAD	the function runs in a new thread, created with the
 *			sigevent's attributes as they are (a joinable one
 *			is the program's to join, as with glibc), else
 *			detached, with no
 *			signal blocked (as glibc); if no thread can be
 *			created, it runs in the completing thread (with
 *			that thread's mask) instead of being lost.
 *
 * Notifications are delivered after the result is visible in the aiocb,
 * so a handler or thread function may call aio_error/aio_return on it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aio-internal.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

/*
 * saio_sigev_check(), saio_sigev_fails() and saio_sigev_active(), which
 * decide what a sigevent means, are in aio-internal.h (inline: a hot
 * read's submission asks them).
 */

struct saio_thread_arg {
	void (*fn)(union sigval);
	union sigval val;
};

/*
 * Made with every signal blocked (no signal is taken before it runs);
 * the function runs with none blocked, as glibc's do on Linux (its
 * aio_start_notify_thread()): what it starts or execs inherits that.
 */
static void *saio_notify_thread(void *p)
{
	struct saio_thread_arg a = *(struct saio_thread_arg *)p;
	sigset_t none;

	free(p);
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	a.fn(a.val);
	return NULL;
}

static void saio_run_thread(const struct sigevent *sev)
{
	pthread_attr_t def, *attr = sev->sigev_notify_attributes;
	struct saio_thread_arg *a;
	sigset_t all, old;
	pthread_t t;
	int err = ENOMEM, ds = PTHREAD_CREATE_DETACHED, tries = 0;

	/* malloc(), pthread_create(): glibc's locks (saio_t_busy) */
	saio_busy_enter();
	a = malloc(sizeof(*a));
	if (a) {
		a->fn = sev->sigev_notify_function;
		a->val = sev->sigev_value;
		if (!attr) {
			pthread_attr_init(&def);
			pthread_attr_setdetachstate(&def,
						    PTHREAD_CREATE_DETACHED);
			attr = &def;
		}
		pthread_attr_getdetachstate(attr, &ds);
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		do
			err = pthread_create(&t, attr, saio_notify_thread, a);
		while (err == EAGAIN && ds == PTHREAD_CREATE_JOINABLE &&
		       ++tries < 100 && !sched_yield());
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (attr == &def)
			pthread_attr_destroy(&def);
	}
	if (err)
		free(a);
	saio_busy_leave();
	/*
	 * Better late and here than never, unless the program asked for a
	 * joinable thread: it may join the one its function finds itself
	 * in, which here would be one of its own (a review: the worker that
	 * completed the request, joined twice).  glibc drops the
	 * notification whenever no thread can be made; so does the shim
	 * for a joinable one, after retrying for a while.
	 */
	if (err && ds != PTHREAD_CREATE_JOINABLE)
		sev->sigev_notify_function(sev->sigev_value);
}

void saio_notify(const struct sigevent *sev)
{
	siginfo_t si;
	int saved = errno;

	if (!saio_sigev_active(sev))
		return;
	switch (sev->sigev_notify) {
	case SIGEV_SIGNAL:
	case SIGEV_THREAD_ID:
		memset(&si, 0, sizeof(si));
		si.si_signo = sev->sigev_signo;
		si.si_code = SI_ASYNCIO;
		si.si_pid = saio.pid;
		si.si_uid = getuid();
		si.si_value = sev->sigev_value;
		if (sev->sigev_notify == SIGEV_SIGNAL)
			syscall(SYS_rt_sigqueueinfo, saio.pid,
				sev->sigev_signo, &si);
		else
			syscall(SYS_rt_tgsigqueueinfo, saio.pid,
				sev->sigev_notify_thread_id,
				sev->sigev_signo, &si);
		break;
	case SIGEV_THREAD:
		saio_run_thread(sev);
		break;
	default:
		return;
	}
	saio_stat_add(&saio.st.notified, 1);
	errno = saved;
}
