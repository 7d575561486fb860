# Syslets for Linux 6.1: top-level build.
#
#   make run          build everything, boot the patched kernel, run the main job
#   make test         build everything and run every test (host and guest)
#
# Other targets: deps kernel userspace fio check test-host test-guest
# test-debug bench guest CMD='...' install clean distclean.  See README.md.

BUILD    := $(CURDIR)/build
KCONFIG  ?= fast
PREFIX   ?= /usr/local
DESTDIR  ?=
export SYSLET_TOP := $(CURDIR)
export SYSLET_BUILD := $(BUILD)

# User-space components, built in this order when their directory exists.
COMPONENTS := userspace/libsyslet userspace/aio userspace/examples \
	fio-engine tests/kernel tests/lib tests/aio tests/driver bench
present := $(foreach d,$(COMPONENTS),$(if $(wildcard $(d)/Makefile),$(d)))

.PHONY: all deps kernel userspace fio check test test-host test-guest \
	test-debug run bench guest install clean distclean

all: kernel userspace

deps:
	@sh scripts/deps.sh

kernel: deps
	@scripts/kernel.sh $(KCONFIG)

userspace: deps fio
	@set -e; for d in $(present); do \
		$(MAKE) --no-print-directory -C $$d O=$(BUILD)/$$d; \
	done

fio: deps
	@scripts/fio.sh

# Kernel-side static checks: checkpatch --strict on the project's kernel
# files and patches, and a W=1 build of the project's kernel directories.
check: kernel
	@scripts/check.sh

test: deps
	@scripts/test.sh $(KCONFIG)

test-host: userspace
	@scripts/run-tests.sh host; rc=$$?; \
		scripts/tap-summary $(BUILD)/results/host/*.tap; exit $$((rc | $$?))

test-guest: kernel userspace
	@scripts/guest-run.sh -k $(KCONFIG) -- scripts/run-tests.sh guest; rc=$$?; \
		scripts/tap-summary $(BUILD)/results/guest/*.tap; exit $$((rc | $$?))

test-debug:
	@$(MAKE) --no-print-directory test KCONFIG=debug

run: deps
	@scripts/run.sh

bench: kernel userspace
	@scripts/guest-run.sh -t 7200 -- scripts/main-job.sh full

# make guest CMD='nproc; uname -r'
guest: kernel userspace
	@scripts/guest-run.sh -k $(KCONFIG) -- '$(CMD)'

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
