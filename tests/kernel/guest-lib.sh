# shellcheck shell=sh
# What the guest scripts share (busybox sh): TAP, and a PCI function's facts from sysfs. run-guest
# puts it beside every script, which sources it: . ./guest-lib.sh

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/#   /'; }
# check DESCRIPTION COMMAND...: one test passing when the command does; its output when it fails.
check() {
        d=$1
        shift
        if "$@" >/tmp/check.out 2>&1; then ok "$d"; else not_ok "$d"; diag </tmp/check.out; fi
}

# Devices by vendor:device: QEMU may number slots differently from one version to the next.
find_dev() {
        for d in /sys/bus/pci/devices/*; do
                if [ "$(cat "$d/vendor"):$(cat "$d/device")" = "$1" ]; then
                        basename "$d"
                        return 0
                fi
        done
        return 1
}
driver_of() { [ -e "/sys/bus/pci/devices/$1/driver" ] && basename "$(readlink "/sys/bus/pci/devices/$1/driver")"; }
override_of() { cat "/sys/bus/pci/devices/$1/driver_override"; }
is_on() { [ "$(driver_of "$1")" = "$2" ]; }
has_no_driver() { [ ! -e "/sys/bus/pci/devices/$1/driver" ]; }
