# A thin wrapper over Meson: `make` builds into build/ (tools in build/bin/), `make check` runs
# every test: unit, golden CLI, the real /sys, the same again under ASan+UBSan and without VM
# support, and short fuzzing.
# Neither installs packages: `sh scripts/install-deps` (or `make deps`) does, once, as root.
BUILD ?= build
FUZZ_SECONDS ?= 20
PREFIX ?= /usr/local
DEB_DIR ?= build-deb

.PHONY: all deps check bench fuzz install deb clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

deps:
	sh scripts/install-deps

check:
	BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/run-all

# Longer fuzzing on demand: make fuzz FUZZ_SECONDS=3600
fuzz:
	BUILD=$(BUILD) FUZZ_ONLY=1 FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/run-all

bench: all
	sh bench/run
	sh bench/run-guest-bench
	bash bench/vms.sh

# make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]: qpci and its links (qvm-pci, ...), libqpci
# with its header and qpci.pc, and the VM module. The prefix is built in (the module's folder), so
# the build is configured for it first.
install: $(BUILD)/build.ninja
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	ninja -C $(BUILD)
	DESTDIR=$(DESTDIR) meson install -C $(BUILD) --no-rebuild

# make deb [DEB_DIR=build-deb]: Debian packages of this checkout (debhelper), checked by lintian.
deb:
	sh scripts/make-deb $(DEB_DIR)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-novirt $(BUILD)-fuzz $(DEB_DIR)
