/* SPDX-License-Identifier: GPL-2.0 OR LGPL-2.1-or-later */
/*
 * The system calls an atom may make, x86-64, by name.  Included both by
 * the kernel engine (kernel/syslet/exec.c) and by libsyslet's emulated
 * backend (userspace/libsyslet/src/emu.c), so that the two refuse exactly
 * the same calls.  Plain macros only: no include, no include guard.  The
 * includer defines:
 *
 *	SYSLET_ALLOW(name)	an atom may make __NR_name
 *	SYSLET_DENY(name, why)	it fails with -EPERM; @why names the family
 *				(SYSLET_WHY_* below) and its reason
 *	SYSLET_NOSYS(name)	no 64-bit entry point: fails with -ENOSYS,
 *				as a direct call does
 *
 * A number that is not listed (a gap in the table, an x32 number, a call
 * added after this list was written) fails with -ENOSYS: a new system
 * call is refused until someone decides it may run in an async thread
 * and adds it here.  tests/host/21-libsyslet-forbidden.sh checks that
 * every number below async_exec's is listed once.
 *
 * Some allowed calls are refused when their arguments name the thread
 * that runs the atom (syslet_targets_self() and the emulated copy): the
 * scheduling, priority and affinity calls, setpriority() and ioprio_set()
 * for the running thread's process group or user, close_range() with
 * CLOSE_RANGE_UNSHARE.
 */

/* Allowed: they act on files, memory, the process or other processes. */
SYSLET_ALLOW(read)
SYSLET_ALLOW(write)
SYSLET_ALLOW(open)
SYSLET_ALLOW(close)
SYSLET_ALLOW(stat)
SYSLET_ALLOW(fstat)
SYSLET_ALLOW(lstat)
SYSLET_ALLOW(poll)
SYSLET_ALLOW(lseek)
SYSLET_ALLOW(mmap)
SYSLET_ALLOW(mprotect)
SYSLET_ALLOW(munmap)
SYSLET_ALLOW(brk)
SYSLET_ALLOW(rt_sigaction)
SYSLET_ALLOW(ioctl)
SYSLET_ALLOW(pread64)
SYSLET_ALLOW(pwrite64)
SYSLET_ALLOW(readv)
SYSLET_ALLOW(writev)
SYSLET_ALLOW(access)
SYSLET_ALLOW(pipe)
SYSLET_ALLOW(select)
SYSLET_ALLOW(sched_yield)
SYSLET_ALLOW(mremap)
SYSLET_ALLOW(msync)
SYSLET_ALLOW(mincore)
SYSLET_ALLOW(madvise)
SYSLET_ALLOW(shmget)
SYSLET_ALLOW(shmat)
SYSLET_ALLOW(shmctl)
SYSLET_ALLOW(dup)
SYSLET_ALLOW(dup2)
SYSLET_ALLOW(nanosleep)
SYSLET_ALLOW(getitimer)
SYSLET_ALLOW(alarm)
SYSLET_ALLOW(setitimer)
SYSLET_ALLOW(getpid)
SYSLET_ALLOW(sendfile)
SYSLET_ALLOW(socket)
SYSLET_ALLOW(connect)
SYSLET_ALLOW(accept)
SYSLET_ALLOW(sendto)
SYSLET_ALLOW(recvfrom)
SYSLET_ALLOW(sendmsg)
SYSLET_ALLOW(recvmsg)
SYSLET_ALLOW(shutdown)
SYSLET_ALLOW(bind)
SYSLET_ALLOW(listen)
SYSLET_ALLOW(getsockname)
SYSLET_ALLOW(getpeername)
SYSLET_ALLOW(socketpair)
SYSLET_ALLOW(setsockopt)
SYSLET_ALLOW(getsockopt)
SYSLET_ALLOW(wait4)
SYSLET_ALLOW(kill)
SYSLET_ALLOW(uname)
SYSLET_ALLOW(semget)
SYSLET_ALLOW(semop)
SYSLET_ALLOW(semctl)
SYSLET_ALLOW(shmdt)
SYSLET_ALLOW(msgget)
SYSLET_ALLOW(msgsnd)
SYSLET_ALLOW(msgrcv)
SYSLET_ALLOW(msgctl)
SYSLET_ALLOW(fcntl)
SYSLET_ALLOW(flock)
SYSLET_ALLOW(fsync)
SYSLET_ALLOW(fdatasync)
SYSLET_ALLOW(truncate)
SYSLET_ALLOW(ftruncate)
SYSLET_ALLOW(getdents)
SYSLET_ALLOW(getcwd)
SYSLET_ALLOW(chdir)
SYSLET_ALLOW(fchdir)
SYSLET_ALLOW(rename)
SYSLET_ALLOW(mkdir)
SYSLET_ALLOW(rmdir)
SYSLET_ALLOW(creat)
SYSLET_ALLOW(link)
SYSLET_ALLOW(unlink)
SYSLET_ALLOW(symlink)
SYSLET_ALLOW(readlink)
SYSLET_ALLOW(chmod)
SYSLET_ALLOW(fchmod)
SYSLET_ALLOW(chown)
SYSLET_ALLOW(fchown)
SYSLET_ALLOW(lchown)
SYSLET_ALLOW(umask)
SYSLET_ALLOW(gettimeofday)
SYSLET_ALLOW(getrlimit)
SYSLET_ALLOW(getrusage)
SYSLET_ALLOW(sysinfo)
SYSLET_ALLOW(times)
SYSLET_ALLOW(getuid)
SYSLET_ALLOW(syslog)
SYSLET_ALLOW(getgid)
SYSLET_ALLOW(geteuid)
SYSLET_ALLOW(getegid)
SYSLET_ALLOW(setpgid)
SYSLET_ALLOW(getppid)
SYSLET_ALLOW(getpgrp)
SYSLET_ALLOW(setsid)
SYSLET_ALLOW(getgroups)
SYSLET_ALLOW(getresuid)
SYSLET_ALLOW(getresgid)
SYSLET_ALLOW(getpgid)
SYSLET_ALLOW(getsid)
SYSLET_ALLOW(capget)
SYSLET_ALLOW(rt_sigpending)
SYSLET_ALLOW(rt_sigqueueinfo)
SYSLET_ALLOW(utime)
SYSLET_ALLOW(mknod)
SYSLET_ALLOW(ustat)
SYSLET_ALLOW(statfs)
SYSLET_ALLOW(fstatfs)
SYSLET_ALLOW(sysfs)
SYSLET_ALLOW(getpriority)
SYSLET_ALLOW(setpriority)
SYSLET_ALLOW(sched_setparam)
SYSLET_ALLOW(sched_getparam)
SYSLET_ALLOW(sched_setscheduler)
SYSLET_ALLOW(sched_getscheduler)
SYSLET_ALLOW(sched_get_priority_max)
SYSLET_ALLOW(sched_get_priority_min)
SYSLET_ALLOW(sched_rr_get_interval)
SYSLET_ALLOW(mlock)
SYSLET_ALLOW(munlock)
SYSLET_ALLOW(mlockall)
SYSLET_ALLOW(munlockall)
SYSLET_ALLOW(vhangup)
SYSLET_ALLOW(pivot_root)
SYSLET_ALLOW(adjtimex)
SYSLET_ALLOW(setrlimit)
SYSLET_ALLOW(chroot)
SYSLET_ALLOW(sync)
SYSLET_ALLOW(acct)
SYSLET_ALLOW(settimeofday)
SYSLET_ALLOW(mount)
SYSLET_ALLOW(umount2)
SYSLET_ALLOW(swapon)
SYSLET_ALLOW(swapoff)
SYSLET_ALLOW(reboot)
SYSLET_ALLOW(sethostname)
SYSLET_ALLOW(setdomainname)
SYSLET_ALLOW(init_module)
SYSLET_ALLOW(delete_module)
SYSLET_ALLOW(quotactl)
SYSLET_ALLOW(gettid)
SYSLET_ALLOW(readahead)
SYSLET_ALLOW(setxattr)
SYSLET_ALLOW(lsetxattr)
SYSLET_ALLOW(fsetxattr)
SYSLET_ALLOW(getxattr)
SYSLET_ALLOW(lgetxattr)
SYSLET_ALLOW(fgetxattr)
SYSLET_ALLOW(listxattr)
SYSLET_ALLOW(llistxattr)
SYSLET_ALLOW(flistxattr)
SYSLET_ALLOW(removexattr)
SYSLET_ALLOW(lremovexattr)
SYSLET_ALLOW(fremovexattr)
SYSLET_ALLOW(tkill)
SYSLET_ALLOW(time)
SYSLET_ALLOW(futex)
SYSLET_ALLOW(sched_setaffinity)
SYSLET_ALLOW(sched_getaffinity)
SYSLET_ALLOW(io_setup)
SYSLET_ALLOW(io_destroy)
SYSLET_ALLOW(io_getevents)
SYSLET_ALLOW(io_submit)
SYSLET_ALLOW(io_cancel)
SYSLET_ALLOW(lookup_dcookie)
SYSLET_ALLOW(epoll_create)
SYSLET_ALLOW(remap_file_pages)
SYSLET_ALLOW(getdents64)
SYSLET_ALLOW(semtimedop)
SYSLET_ALLOW(fadvise64)
SYSLET_ALLOW(timer_create)
SYSLET_ALLOW(timer_settime)
SYSLET_ALLOW(timer_gettime)
SYSLET_ALLOW(timer_getoverrun)
SYSLET_ALLOW(timer_delete)
SYSLET_ALLOW(clock_settime)
SYSLET_ALLOW(clock_gettime)
SYSLET_ALLOW(clock_getres)
SYSLET_ALLOW(clock_nanosleep)
SYSLET_ALLOW(epoll_wait)
SYSLET_ALLOW(epoll_ctl)
SYSLET_ALLOW(tgkill)
SYSLET_ALLOW(utimes)
SYSLET_ALLOW(mbind)
SYSLET_ALLOW(get_mempolicy)
SYSLET_ALLOW(mq_open)
SYSLET_ALLOW(mq_unlink)
SYSLET_ALLOW(mq_timedsend)
SYSLET_ALLOW(mq_timedreceive)
SYSLET_ALLOW(mq_notify)
SYSLET_ALLOW(mq_getsetattr)
SYSLET_ALLOW(kexec_load)
SYSLET_ALLOW(waitid)
SYSLET_ALLOW(ioprio_set)
SYSLET_ALLOW(ioprio_get)
SYSLET_ALLOW(inotify_init)
SYSLET_ALLOW(inotify_add_watch)
SYSLET_ALLOW(inotify_rm_watch)
SYSLET_ALLOW(migrate_pages)
SYSLET_ALLOW(openat)
SYSLET_ALLOW(mkdirat)
SYSLET_ALLOW(mknodat)
SYSLET_ALLOW(fchownat)
SYSLET_ALLOW(futimesat)
SYSLET_ALLOW(newfstatat)
SYSLET_ALLOW(unlinkat)
SYSLET_ALLOW(renameat)
SYSLET_ALLOW(linkat)
SYSLET_ALLOW(symlinkat)
SYSLET_ALLOW(readlinkat)
SYSLET_ALLOW(fchmodat)
SYSLET_ALLOW(faccessat)
SYSLET_ALLOW(pselect6)
SYSLET_ALLOW(ppoll)
SYSLET_ALLOW(get_robust_list)
SYSLET_ALLOW(splice)
SYSLET_ALLOW(tee)
SYSLET_ALLOW(sync_file_range)
SYSLET_ALLOW(vmsplice)
SYSLET_ALLOW(move_pages)
SYSLET_ALLOW(utimensat)
SYSLET_ALLOW(epoll_pwait)
SYSLET_ALLOW(signalfd)
SYSLET_ALLOW(timerfd_create)
SYSLET_ALLOW(eventfd)
SYSLET_ALLOW(fallocate)
SYSLET_ALLOW(timerfd_settime)
SYSLET_ALLOW(timerfd_gettime)
SYSLET_ALLOW(accept4)
SYSLET_ALLOW(signalfd4)
SYSLET_ALLOW(eventfd2)
SYSLET_ALLOW(epoll_create1)
SYSLET_ALLOW(dup3)
SYSLET_ALLOW(pipe2)
SYSLET_ALLOW(inotify_init1)
SYSLET_ALLOW(preadv)
SYSLET_ALLOW(pwritev)
SYSLET_ALLOW(rt_tgsigqueueinfo)
SYSLET_ALLOW(perf_event_open)
SYSLET_ALLOW(recvmmsg)
SYSLET_ALLOW(fanotify_init)
SYSLET_ALLOW(fanotify_mark)
SYSLET_ALLOW(prlimit64)
SYSLET_ALLOW(name_to_handle_at)
SYSLET_ALLOW(open_by_handle_at)
SYSLET_ALLOW(clock_adjtime)
SYSLET_ALLOW(syncfs)
SYSLET_ALLOW(sendmmsg)
SYSLET_ALLOW(getcpu)
SYSLET_ALLOW(process_vm_readv)
SYSLET_ALLOW(process_vm_writev)
SYSLET_ALLOW(kcmp)
SYSLET_ALLOW(finit_module)
SYSLET_ALLOW(sched_setattr)
SYSLET_ALLOW(sched_getattr)
SYSLET_ALLOW(renameat2)
SYSLET_ALLOW(getrandom)
SYSLET_ALLOW(memfd_create)
SYSLET_ALLOW(kexec_file_load)
SYSLET_ALLOW(bpf)
SYSLET_ALLOW(userfaultfd)
SYSLET_ALLOW(membarrier)
SYSLET_ALLOW(mlock2)
SYSLET_ALLOW(copy_file_range)
SYSLET_ALLOW(preadv2)
SYSLET_ALLOW(pwritev2)
SYSLET_ALLOW(pkey_mprotect)
SYSLET_ALLOW(pkey_free)
SYSLET_ALLOW(statx)
SYSLET_ALLOW(io_pgetevents)
SYSLET_ALLOW(pidfd_send_signal)
SYSLET_ALLOW(open_tree)
SYSLET_ALLOW(move_mount)
SYSLET_ALLOW(fsopen)
SYSLET_ALLOW(fsconfig)
SYSLET_ALLOW(fsmount)
SYSLET_ALLOW(fspick)
SYSLET_ALLOW(pidfd_open)
SYSLET_ALLOW(close_range)
SYSLET_ALLOW(openat2)
SYSLET_ALLOW(pidfd_getfd)
SYSLET_ALLOW(faccessat2)
SYSLET_ALLOW(process_madvise)
SYSLET_ALLOW(epoll_pwait2)
SYSLET_ALLOW(mount_setattr)
SYSLET_ALLOW(quotactl_fd)
SYSLET_ALLOW(landlock_create_ruleset)
SYSLET_ALLOW(landlock_add_rule)
SYSLET_ALLOW(memfd_secret)
SYSLET_ALLOW(process_mrelease)
SYSLET_ALLOW(futex_waitv)
SYSLET_ALLOW(set_mempolicy_home_node)

/*
 * Linux 6.2-6.12 (x86-64 451-462): listed where the kernel the list is
 * built into has them (for the emulated backend: where the system headers
 * name them); on Linux 6.1 the numbers are no system call, and an atom
 * gets -ENOSYS as a direct call does.  Two more are denied below
 * (lsm_get_self_attr, lsm_set_self_attr), as is 6.11's uretprobe (335).
 */
#ifdef __NR_cachestat
SYSLET_ALLOW(cachestat)
#endif
#ifdef __NR_fchmodat2
SYSLET_ALLOW(fchmodat2)
#endif
#ifdef __NR_map_shadow_stack
SYSLET_ALLOW(map_shadow_stack)
#endif
#ifdef __NR_futex_wake
SYSLET_ALLOW(futex_wake)
#endif
#ifdef __NR_futex_wait
SYSLET_ALLOW(futex_wait)
#endif
#ifdef __NR_futex_requeue
SYSLET_ALLOW(futex_requeue)
#endif
#ifdef __NR_statmount
SYSLET_ALLOW(statmount)
#endif
#ifdef __NR_listmount
SYSLET_ALLOW(listmount)
#endif
#ifdef __NR_lsm_list_modules
SYSLET_ALLOW(lsm_list_modules)
#endif
#ifdef __NR_mseal
SYSLET_ALLOW(mseal)
#endif

/*
 * SYSLET_WHY_TASK: they make, replace or end the calling task.  An async
 * thread is not the submitter's thread and has no user context to copy
 * into a child, to replace or to end.
 */
SYSLET_DENY(fork, SYSLET_WHY_TASK)
SYSLET_DENY(vfork, SYSLET_WHY_TASK)
SYSLET_DENY(clone, SYSLET_WHY_TASK)
SYSLET_DENY(clone3, SYSLET_WHY_TASK)
SYSLET_DENY(execve, SYSLET_WHY_TASK)
SYSLET_DENY(execveat, SYSLET_WHY_TASK)
SYSLET_DENY(exit, SYSLET_WHY_TASK)
SYSLET_DENY(exit_group, SYSLET_WHY_TASK)

/*
 * SYSLET_WHY_UCONTEXT: they act on the calling thread's user context:
 * its signal frame, signal mask and alternate stack, TLS base, rseq area,
 * robust-futex list, clear-TID address, PKRU.  In an async thread that is
 * the async thread's, not the submitter's, and it would stay with the
 * async thread for the chains it runs later.
 */
SYSLET_DENY(rt_sigreturn, SYSLET_WHY_UCONTEXT)
SYSLET_DENY(restart_syscall, SYSLET_WHY_UCONTEXT)
SYSLET_DENY(rt_sigprocmask, SYSLET_WHY_UCONTEXT)
SYSLET_DENY(rt_sigsuspend, SYSLET_WHY_UCONTEXT)
SYSLET_DENY(rt_sigtimedwait, SYSLET_WHY_UCONTEXT)
SYSLET_DENY(sigaltstack, SYSLET_WHY_UCONTEXT)
SYSLET_DENY(pause, SYSLET_WHY_UCONTEXT)
SYSLET_DENY(arch_prctl, SYSLET_WHY_UCONTEXT)
SYSLET_DENY(set_tid_address, SYSLET_WHY_UCONTEXT)
SYSLET_DENY(set_robust_list, SYSLET_WHY_UCONTEXT)
SYSLET_DENY(rseq, SYSLET_WHY_UCONTEXT)
SYSLET_DENY(pkey_alloc, SYSLET_WHY_UCONTEXT)
/* Linux 6.11 on: returns from a uretprobe's trampoline (else SIGILL) */
#ifdef __NR_uretprobe
SYSLET_DENY(uretprobe, SYSLET_WHY_UCONTEXT)
#endif

/*
 * SYSLET_WHY_IDENTITY: they change the calling task's identity, its
 * credentials, keyrings, namespaces, seccomp filter, Landlock domain,
 * personality or prctl() state, or trace it.  An atom runs under the
 * submitter's credentials, overridden for the call; new ones must not be
 * committed under them, nor stay on an async thread.
 */
SYSLET_DENY(prctl, SYSLET_WHY_IDENTITY)
SYSLET_DENY(seccomp, SYSLET_WHY_IDENTITY)
SYSLET_DENY(ptrace, SYSLET_WHY_IDENTITY)
SYSLET_DENY(personality, SYSLET_WHY_IDENTITY)
SYSLET_DENY(unshare, SYSLET_WHY_IDENTITY)
SYSLET_DENY(setns, SYSLET_WHY_IDENTITY)
SYSLET_DENY(setuid, SYSLET_WHY_IDENTITY)
SYSLET_DENY(setgid, SYSLET_WHY_IDENTITY)
SYSLET_DENY(setreuid, SYSLET_WHY_IDENTITY)
SYSLET_DENY(setregid, SYSLET_WHY_IDENTITY)
SYSLET_DENY(setresuid, SYSLET_WHY_IDENTITY)
SYSLET_DENY(setresgid, SYSLET_WHY_IDENTITY)
SYSLET_DENY(setfsuid, SYSLET_WHY_IDENTITY)
SYSLET_DENY(setfsgid, SYSLET_WHY_IDENTITY)
SYSLET_DENY(setgroups, SYSLET_WHY_IDENTITY)
SYSLET_DENY(capset, SYSLET_WHY_IDENTITY)
SYSLET_DENY(add_key, SYSLET_WHY_IDENTITY)
SYSLET_DENY(request_key, SYSLET_WHY_IDENTITY)
SYSLET_DENY(keyctl, SYSLET_WHY_IDENTITY)
SYSLET_DENY(landlock_restrict_self, SYSLET_WHY_IDENTITY)
/*
 * Linux 6.8 on: the LSM attributes of the task that makes the call, read
 * from that task's own credentials (not the overriding ones an atom runs
 * under), so an async thread's, and set for it.
 */
#ifdef __NR_lsm_get_self_attr
SYSLET_DENY(lsm_get_self_attr, SYSLET_WHY_IDENTITY)
#endif
#ifdef __NR_lsm_set_self_attr
SYSLET_DENY(lsm_set_self_attr, SYSLET_WHY_IDENTITY)
#endif

/*
 * SYSLET_WHY_THREAD: per-thread state that would stay with the async
 * thread for the chains it runs later: memory policy, I/O port
 * permissions, the local descriptor table.
 */
SYSLET_DENY(set_mempolicy, SYSLET_WHY_THREAD)
SYSLET_DENY(iopl, SYSLET_WHY_THREAD)
SYSLET_DENY(ioperm, SYSLET_WHY_THREAD)
SYSLET_DENY(modify_ldt, SYSLET_WHY_THREAD)

/*
 * SYSLET_WHY_ENGINE: asynchronous engines, this one included.  An atom
 * that submits work to one from an async thread would recurse, and
 * io_uring's own threads would belong to an async thread.
 */
SYSLET_DENY(io_uring_setup, SYSLET_WHY_ENGINE)
SYSLET_DENY(io_uring_enter, SYSLET_WHY_ENGINE)
SYSLET_DENY(io_uring_register, SYSLET_WHY_ENGINE)
SYSLET_DENY(async_exec, SYSLET_WHY_ENGINE)
SYSLET_DENY(async_wait, SYSLET_WHY_ENGINE)
SYSLET_DENY(async_cancel, SYSLET_WHY_ENGINE)
SYSLET_DENY(async_limits, SYSLET_WHY_ENGINE)

/* In the x86-64 table without a 64-bit entry point. */
SYSLET_NOSYS(uselib)
SYSLET_NOSYS(_sysctl)
SYSLET_NOSYS(create_module)
SYSLET_NOSYS(get_kernel_syms)
SYSLET_NOSYS(query_module)
SYSLET_NOSYS(nfsservctl)
SYSLET_NOSYS(getpmsg)
SYSLET_NOSYS(putpmsg)
SYSLET_NOSYS(afs_syscall)
SYSLET_NOSYS(tuxcall)
SYSLET_NOSYS(security)
SYSLET_NOSYS(set_thread_area)
SYSLET_NOSYS(get_thread_area)
SYSLET_NOSYS(epoll_ctl_old)
SYSLET_NOSYS(epoll_wait_old)
SYSLET_NOSYS(vserver)
