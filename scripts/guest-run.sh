#!/bin/bash
# Run a command in a QEMU guest booted on the project's kernel.
#
#   scripts/guest-run.sh [-k fast|debug] [-v 6.1|6.12] [-t SECS] [-m MiB]
#                        [-a ARGS] -- CMD...
#
# -k picks the kernel variant, -v its version ($KVER, else 6.1): the kernel
# scripts/kernel.sh <variant> <version> built.
# The guest sees the host's root file system read-only (9p), a tmpfs /tmp,
# 2 vCPUs, and build/results writable at the same path ($SYSLET_OUT).  CMD
# runs from the repo's top directory under /bin/sh.  The exit status is
# CMD's; but a kernel oops, panic, BUG, WARNING, lockdep, KASAN, UBSAN or
# kmemleak report, a hung-task report, or a timeout fails the run whatever
# CMD returned, and the log's tail is printed.  Every console log is kept
# in build/guest/logs/ (latest.log is the newest).
#
# -a adds kernel command line arguments (e.g. module parameters; may be
# given more than once).
# A boot that does not reach the guest's /init within $SYSLET_BOOT_TIMEOUT
# seconds (300; 120 for a debug kernel) is killed and made again,
# $SYSLET_BOOT_TRIES boots in all (3; 8 for a debug kernel): TCG boots of the 6.1 debug kernel stop for good in early boot, the
# guest idle, at varying points before user space (after the APIC timer
# calibration, the RCU-tasks self-tests, ACPI's ELCR), in 10 of 16 boots
# on 2026-12-06 (none of 6.12's debug kernel or of the fast kernels); one
# cost a whole test run its guest timeout.  The hung boots' logs are kept.
# $SYSLET_QEMU_ARGS, if set, is appended to QEMU's arguments (later ones
# win): e.g. "-smp 2,sockets=1,cores=1,threads=2 -cpu max,vendor=GenuineIntel,-erms"
# (TCG; an AMD vendor would need topoext, which TCG lacks)
# gives the guest SMT siblings, which core scheduling (PR_SCHED_CORE,
# tests/kernel/handoff.c) needs.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${SYSLET_BUILD:-$top/build}
. "$top/scripts/kver.sh"
variant=fast
kver=${KVER:-$KVER_DEFAULT}
timeout=900
mem=3072
extra=
while getopts "k:v:t:m:a:" o; do
	case $o in
	k) variant=$OPTARG ;;
	v) kver=$OPTARG ;;
	t) timeout=$OPTARG ;;
	m) mem=$OPTARG ;;
	a) extra+=" $OPTARG" ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: $0 [-k variant] [-v version] [-t secs] -- CMD" >&2; exit 2; }
kver_check "$kver"

kdir=$(kver_out "$build" "$kver" "$variant")
kernel=$kdir/arch/x86/boot/bzImage
guest=$build/guest
results=$build/results
[ -f "$kernel" ] || { echo "guest: no kernel at $kernel (scripts/kernel.sh $variant $kver)" >&2; exit 2; }
mkdir -p "$guest/logs" "$results"

# --- the initramfs: static busybox and our /init ---------------------------
initrd=$guest/initramfs.cpio.gz
if [ ! -f "$initrd" ] || [ "$top/scripts/guest-init" -nt "$initrd" ] ||
   [ /bin/busybox -nt "$initrd" ]; then
	stage=$(mktemp -d)
	mkdir -p "$stage/bin" "$stage/dev"
	mknod "$stage/dev/console" c 5 1
	cp /bin/busybox "$stage/bin/busybox"
	cp "$top/scripts/guest-init" "$stage/init"
	chmod 755 "$stage/init"
	(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
	rm -rf "$stage"
fi

# --- accelerator: KVM only if a KVM guest is proven to run here ------------
probe_kvm() {
	[ -w /dev/kvm ] || return 1
	local log
	log=$(mktemp)
	timeout 20 qemu-system-x86_64 -accel kvm -cpu max -m 256 -smp 1 \
		-display none -monitor none -serial stdio -no-reboot \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 rdinit=/bin/busybox panic=-1" \
		</dev/null >"$log" 2>&1 || true
	# the kernel reached user space: KVM really runs guests here
	grep -q 'as init process' "$log"
	local rc=$?
	rm -f "$log"
	return $rc
}
accel_file=$guest/accel
if [ -n "${SYSLET_ACCEL:-}" ]; then
	accel=$SYSLET_ACCEL
elif [ -f "$accel_file" ]; then
	accel=$(cat "$accel_file")
else
	if probe_kvm; then accel=kvm; else accel=tcg; fi
	echo "$accel" > "$accel_file"
fi
# Under TCG two emulation artefacts would dominate any CPU-bound figure:
# without an invariant TSC the guest times itself with the HPET, so every
# clock_gettime() (fio makes several per I/O) is a system call and an
# emulated MMIO read (7% of all samples in a cold QD64 fio run), and with
# ERMS the kernel copies user data with 'rep movsb', which TCG runs one
# byte at a time (10% more).  The TSC of a TCG guest is the host's, the
# same on every vCPU, so it is declared reliable; without ERMS the kernel
# copies 8 bytes per step.  Both make the guest more like real hardware,
# for every engine alike (bench/fio-compare.py: cold QD64 about 1.6x
# faster for all CPU-bound engines; device-bound ones unchanged).
tcg_append=
case $accel in
kvm) accel_args=(-accel kvm -cpu max) ;;
*) accel_args=(-accel tcg,thread=multi -cpu max,-erms)
   tcg_append=" tsc=reliable clocksource=tsc" ;;
esac

# --- the command -------------------------------------------------------------
cmdfile=$(mktemp "$guest/cmd.XXXXXX")
stamp=$(date +%Y%m%d-%H%M%S)-$$
log=$guest/logs/$stamp.log
printf '%s\n' "$*" > "$cmdfile"
chmod 644 "$cmdfile"

append="console=ttyS0 rdinit=/init panic=-1 oops=panic loglevel=5"
append+=" hung_task_panic=0 softlockup_panic=0"
append+=" syslet.cmd=$cmdfile syslet.top=$top syslet.out=$results"
append+=" syslet.build=$build syslet.variant=$variant syslet.kver=$kver"
append+=" syslet.kdir=$kdir $extra"
append+=$tcg_append
# Under TCG the debug kernel's ACPI interpreter (KASAN + lockdep) takes
# tens of seconds per PCI _PRT evaluation, hits AE_AML_LOOP_TIMEOUT and
# soft-locks; IRQ routing without ACPI boots it in ~20 s.
[ "$variant" = debug ] && append+=" acpi=noirq"

# debug kernels: good boots take 20-30 s, and 6.1's often hang (above);
# extra QEMU arguments (a gdbstub that stops the guest, a plugin that
# slows it: itrace.sh, insn-prof.sh) keep it from being judged by time
if [ -n "${SYSLET_QEMU_ARGS:-}" ]; then
	boot_timeout=${SYSLET_BOOT_TIMEOUT:-$timeout}
	tries=${SYSLET_BOOT_TRIES:-1}
elif [ "$variant" = debug ]; then
	boot_timeout=${SYSLET_BOOT_TIMEOUT:-120}
	tries=${SYSLET_BOOT_TRIES:-8}
else
	boot_timeout=${SYSLET_BOOT_TIMEOUT:-300}
	tries=${SYSLET_BOOT_TRIES:-3}
fi
pidfile=$guest/qemu.$$.pid
qrcfile=$guest/qemu.$$.rc
trap 'rm -f "$cmdfile" "$pidfile" "$qrcfile"' EXIT

# One boot: the guest's console to "$log" and the terminal; 0 once QEMU
# ended (its status in $qrc), 1 if the guest never reached its /init
# (SYSLET_GUEST_UP) within $boot_timeout seconds: QEMU is killed then.
boot() {
	local start=$SECONDS pid
	rm -f "$pidfile" "$qrcfile"
	( set +e
	  timeout --foreground -k 10 "$timeout" qemu-system-x86_64 \
		"${accel_args[@]}" -pidfile "$pidfile" \
		-smp 2 -m "$mem" -display none -monitor none -serial stdio \
		-no-reboot -kernel "$kernel" -initrd "$initrd" -append "$append" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs local,path="$results",mount_tag=results,security_model=none \
		${SYSLET_QEMU_ARGS:-} </dev/null 2>&1
	  echo $? > "$qrcfile" ) | sed -u 's/\r//g' | tee "$log" |
		grep --line-buffered -v -e '^SYSLET_GUEST_EXIT=' \
			-e '^SYSLET_GUEST_UP$' -e 'reboot: Restarting' &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		# not anchored: a kernel line may share the console's line
		if grep -qs -e 'SYSLET_GUEST_UP' -e 'SYSLET_GUEST_EXIT=' "$log"; then
			wait "$pid" || true
			break
		fi
		if [ $((SECONDS - start)) -ge "$boot_timeout" ]; then
			# by its command file, whether or not it wrote its pidfile
			pkill -9 -f "syslet.cmd=$cmdfile( |\$)" 2>/dev/null || true
			[ -s "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null
			wait "$pid" || true
			return 1
		fi
		sleep 1
	done
	wait "$pid" 2>/dev/null || true
	qrc=$(cat "$qrcfile" 2>/dev/null || echo 255)
	return 0
}

# Kernel reports are printk lines: a timestamp, then the report.  The
# serial console is shared with the command's output, so a report may
# begin in the middle of a line the command had not finished: the
# timestamp is looked for anywhere in the line.
reports() {
	grep -naE '\[ *[0-9]+\.[0-9]+\] (.*(BUG:|BUG at|WARNING:|Oops|Kernel panic|general protection fault|KASAN:|UBSAN:|KCSAN:|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|INFO: rcu|unreferenced object|Call Trace:|watchdog: BUG|list_add corruption|list_del corruption))' "$1" | head -5 || true
}

qrc=
try=1
until boot; do
	# a boot that reported a problem before it hung is not retried away
	bad=$(reports "$log")
	if [ -n "$bad" ]; then
		ln -sf "$(basename "$log")" "$guest/logs/latest.log"
		printf 'guest: FAILED: kernel reported a problem before user space:\n%s\n' "$bad" >&2
		exit 1
	fi
	if [ "$try" -ge "$tries" ]; then
		ln -sf "$(basename "$log")" "$guest/logs/latest.log"
		echo "guest: FAILED: no user space after $boot_timeout s, $try boots" >&2
		exit 1
	fi
	echo "guest: no user space after $boot_timeout s (log kept: $log); booting again" >&2
	try=$((try + 1))
	log=$guest/logs/$stamp-boot$try.log
done
ln -sf "$(basename "$log")" "$guest/logs/latest.log"

rc=$(sed -n 's/^SYSLET_GUEST_EXIT=\([0-9]*\)$/\1/p' "$log" | tail -1)
bad=$(reports "$log")
fail=
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	fail="timed out after $timeout s"
elif [ -n "$bad" ]; then
	fail="kernel reported a problem:
$bad"
elif [ -z "$rc" ]; then
	fail="guest ended without reporting an exit status (qemu exit $qrc)"
fi
if [ -n "$fail" ]; then
	{
		echo "guest: FAILED: $fail"
		echo "--- tail of $log ---"
		tail -40 "$log"
	} >&2
	exit 1
fi
exit "$rc"
