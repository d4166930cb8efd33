# shellcheck shell=sh
# qpci monitor on a real kernel with udevd (run by tests/kernel/run-guest --udev --script, busybox
# sh, as root): a device hidden and given back by another process is a device-bound line within a
# second, from udev's events, with the driver and whether it is hidden; the --json results of hide
# and unhide say what moved. Prints TAP; exits non-zero when a check failed.

. ./guest-lib.sh

default_topology

# The files exist before the monitor starts: the background shell may open them after the first look.
: >/tmp/mon.out
qpci monitor --json --no-vms >>/tmp/mon.out 2>/tmp/mon.err &
mon=$!
i=0
while [ $i -lt 50 ] && ! grep -q '"type": "ready"' /tmp/mon.out; do sleep 0.1; i=$((i + 1)); done
check "the monitor is ready" grep -q '"type": "ready"' /tmp/mon.out

# seen PATTERN: a line of the monitor matches within a second.
seen() {
        i=0
        while [ $i -lt 10 ]; do
                grep -q "$1" /tmp/mon.out && return 0
                sleep 0.1
                i=$((i + 1))
        done
        cat /tmp/mon.out /tmp/mon.err
        return 1
}

check "hide --json the e1000e" sh -c "qvm-pci hide --json $E1000E >/tmp/hide.json"
check "its result says it moved from e1000e to vfio-pci" sh -c "grep -q '\"bdf\": \"$E1000E\"' /tmp/hide.json &&
        grep -q '\"from\": \"e1000e\"' /tmp/hide.json && grep -q '\"to\": \"vfio-pci\"' /tmp/hide.json"
check "the monitor saw it bound to vfio-pci, hidden, within a second" \
        seen "\"type\": \"device-bound\".*\"bdf\": \"$E1000E\".*\"driver\": \"vfio-pci\",\"hidden\": true"
check "unhide --json the e1000e" sh -c "qvm-pci unhide --json $E1000E >/tmp/unhide.json"
check "its result says it went back to e1000e" grep -q '"to": "e1000e"' /tmp/unhide.json
check "the monitor saw it back on e1000e, not hidden, within a second" \
        seen "\"type\": \"device-bound\".*\"bdf\": \"$E1000E\".*\"driver\": \"e1000e\",\"hidden\": false"
check "the monitor saw both commands" sh -c "[ \$(grep -c '\"type\": \"qpci\"' /tmp/mon.out) -ge 2 ]"
kill -TERM $mon
wait $mon
check "SIGTERM ends it with status 0" [ $? = 0 ]
check "it said nothing on stderr" [ ! -s /tmp/mon.err ]
echo "1..$n"
[ "$failed" = 0 ]
