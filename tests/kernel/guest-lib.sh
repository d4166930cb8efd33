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

# default_topology: E1000E, UHCI1, UHCI2, EHCI, EDU from run-guest's default devices; a script
# without all of them stops at once, failing.
default_topology() {
        E1000E=$(find_dev 0x8086:0x10d3)
        UHCI1=$(find_dev 0x8086:0x2934)
        UHCI2=$(find_dev 0x8086:0x2935)
        EHCI=$(find_dev 0x8086:0x293a)
        EDU=$(find_dev 0x1234:0x11e8)
        echo "# e1000e $E1000E, uhci $UHCI1 $UHCI2, ehci $EHCI, edu $EDU"
        [ -n "$E1000E" ] && [ -n "$UHCI1" ] && [ -n "$UHCI2" ] && [ -n "$EHCI" ] && [ -n "$EDU" ] ||
                { echo "not ok 1 - default topology"; echo "1..1"; exit 1; }
}

# kill_hides STUB DELAY...: the USB trio's hide (UHCI1, UHCI2, EHCI) killed with SIGKILL after each
# delay (microseconds); after each, the next command must leave all three hidden on STUB, or all
# three on their host drivers with no override. Sets $i (kills) and $recovered (those that landed
# mid-move, put back by the next command).
kill_hides() {
        stub=$1
        shift
        i=0
        recovered=0
        for delay in "$@"; do
                qvm-pci hide --with-group "$UHCI1" >/dev/null 2>&1 &
                pid=$!
                usleep "$delay"
                kill -9 $pid 2>/dev/null
                wait $pid 2>/dev/null
                qvm-pci list >/dev/null 2>/tmp/recovery
                how="it had not begun moving"
                if grep -q "interrupted: putting 3 device(s) back" /tmp/recovery; then
                        how="the next command put them back"
                        recovered=$((recovered + 1))
                fi
                a=$(driver_of "$UHCI1") b=$(driver_of "$UHCI2") c=$(driver_of "$EHCI")
                if [ "$a/$b/$c" = "$stub/$stub/$stub" ]; then
                        ok "killed after ${delay}us: the hide had finished, all three on $stub"
                        qvm-pci unhide "$UHCI1" "$UHCI2" "$EHCI" >/dev/null || not_ok "unhide after the kill"
                elif [ "$a/$b/$c" = uhci_hcd/uhci_hcd/ehci-pci ] && [ "$(override_of "$UHCI1")" = "(null)" ]; then
                        ok "killed after ${delay}us: all three on their host drivers ($how)"
                else
                        not_ok "killed after ${delay}us: half-moved ($a/$b/$c)"
                        diag </tmp/recovery
                fi
                i=$((i + 1))
        done
}
