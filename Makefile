# Syslets for Linux 6.1 and 6.12: top-level build.
#
#   make run          build everything, boot the patched kernel, run the main job
#   make test         build everything and run every test (host and guest)
#
# KVER picks the kernel of the targets that boot one (run, bench, guest,
# kernel, test-guest, fuzz): 6.12 unless KVER=6.1.  KVERS lists those that
# test, test-debug and check build and test: both unless told otherwise.
# make test runs the whole guest suite on each of KVERS (GUEST_FULL names
# the versions that run all of it, the others run the kernel-specific
# scripts only: GUEST_FULL=6.1 for a shorter run).
#
# Other targets: deps kernel userspace fio check test-host test-guest
# test-debug fuzz bench guest CMD='...' install clean distclean.  See
# README.md.

BUILD    := $(CURDIR)/build
KCONFIG  ?= fast
KVER     ?= 6.12
KVERS    ?= 6.1 6.12
GUEST_FULL ?= $(KVERS)
PREFIX   ?= /usr/local
DESTDIR  ?=
export SYSLET_TOP := $(CURDIR)
export SYSLET_BUILD := $(BUILD)

# User-space components, built in this order when their directory exists.
COMPONENTS := userspace/libsyslet userspace/aio userspace/examples \
	fio-engine tests/kernel tests/lib tests/aio tests/driver tests/fuzz bench
present := $(foreach d,$(COMPONENTS),$(if $(wildcard $(d)/Makefile),$(d)))

.PHONY: all deps kernel userspace fio aio-clients check test test-host test-guest \
	test-debug test-full test-debug-full fuzz run bench guest install clean \
	distclean

all: kernel userspace

deps:
	@sh scripts/deps.sh

kernel: deps
	@scripts/kernel.sh $(KCONFIG) $(KVER)

userspace: deps fio
	@set -e; for d in $(present); do \
		$(MAKE) --no-print-directory -C $$d O=$(BUILD)/$$d; \
	done

fio: deps
	@scripts/fio.sh

# libaio's test harness from Debian's source package, an unmodified
# io_submit() client for the guest's tests/guest/36-aio-clients.sh
# (io_submit() through the engine): make test builds it (scripts/test.sh)
# and runs the script's quick mode; SYSLET_AIO_CLIENTS=full in the guest
# runs all of it
aio-clients: deps
	@scripts/libaio-harness.sh

# Kernel-side static checks: checkpatch --strict on the project's kernel
# files and patches, and a W=1 build of the project's kernel directories.
check: deps
	@set -e; for v in $(KVERS); do \
		scripts/kernel.sh fast $$v; scripts/check.sh $$v; \
	done

# The preemption model the test boots ask for (preempt=none|voluntary|full;
# the kernels are built PREEMPT_DYNAMIC, voluntary by default as Debian's).
# Unset: make test boots 6.12 with full and 6.1 with voluntary
# (scripts/test.sh), make test-guest and make fuzz full.
PREEMPT ?=
preempt_arg = preempt=$(or $(PREEMPT),full)

test: deps
	@SYSLET_GUEST_FULL='$(GUEST_FULL)' SYSLET_PREEMPT='$(PREEMPT)' \
		scripts/test.sh $(KCONFIG) $(KVERS)

# kept for those who learnt them: make test and test-debug now run it all
test-full:
	@$(MAKE) --no-print-directory test GUEST_FULL='$(KVERS)'

test-host: userspace
	@scripts/run-tests.sh host; rc=$$?; \
		scripts/tap-summary $(BUILD)/results/host/*.tap; exit $$((rc | $$?))

test-guest: kernel userspace
	@scripts/guest-run.sh -k $(KCONFIG) -v $(KVER) -a $(preempt_arg) \
		-- scripts/run-tests.sh guest; \
		rc=$$?; scripts/tap-summary $(BUILD)/results/guest-$(KVER)/*.tap; \
		exit $$((rc | $$?))

test-debug:
	@$(MAKE) --no-print-directory test KCONFIG=debug

test-debug-full:
	@$(MAKE) --no-print-directory test KCONFIG=debug GUEST_FULL='$(KVERS)'

# The long fuzzer run (docs/security.md): FUZZ_CHAINS chains on the debug
# kernel (lockdep, KASAN, kmemleak), then a kmemleak scan; fails on any
# fuzzer invariant, kernel report or leak.  FUZZ_SEED=0 picks a new seed.
FUZZ_CHAINS  ?= 1000000
FUZZ_SEED    ?= 0
FUZZ_TIMEOUT ?= 86400
fuzz: deps userspace
	@scripts/kernel.sh debug $(KVER)
	@scripts/guest-run.sh -k debug -v $(KVER) -t $(FUZZ_TIMEOUT) \
		-a $(preempt_arg) -- tests/fuzz/long.sh $(FUZZ_CHAINS) $(FUZZ_SEED)

run: deps
	@KVER=$(KVER) scripts/run.sh

# HOST_BUSY=N: make run and make bench then also run the fio comparison
# with N busy loops on the host beside the guest (scripts/host-busy.sh);
# HOST_BUSY_ONLY=WORKLOAD limits that run to some workloads.
HOST_BUSY      ?= 0
HOST_BUSY_ONLY ?=
export HOST_BUSY HOST_BUSY_ONLY

bench: kernel userspace
	@scripts/guest-run.sh -v $(KVER) -t 7200 -- scripts/main-job.sh full
	@if [ "$(HOST_BUSY)" != 0 ]; then \
		scripts/host-busy.sh $(HOST_BUSY) -- \
			scripts/guest-run.sh -v $(KVER) -t 7200 -- \
			python3 bench/fio-compare.py --mode full --host-busy $(HOST_BUSY) \
			$(if $(HOST_BUSY_ONLY),--only $(HOST_BUSY_ONLY)); \
	fi

# make guest CMD='nproc; uname -r'
guest: kernel userspace
	@scripts/guest-run.sh -k $(KCONFIG) -v $(KVER) -- '$(CMD)'

install: userspace
	@set -e; for d in $(present); do \
		if grep -q '^install:' $$d/Makefile; then \
			$(MAKE) --no-print-directory -C $$d O=$(BUILD)/$$d \
				PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) install; \
		fi; \
	done

clean:
	rm -rf $(BUILD)/userspace $(BUILD)/tests $(BUILD)/fio-engine \
		$(BUILD)/bench $(BUILD)/results $(BUILD)/guest

distclean:
	rm -rf $(BUILD)
