#!/bin/bash
# qpci monitor --json against a real libvirt daemon (the private one of tests/libvirt/with-libvirtd):
# a VM defined, changed (a persistent assignment of a fixture's device, in qpci's metadata),
# started, stopped and undefined by other processes is each one line, within a second. TAP.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
fetch_then_enter "$here/monitor.sh" "$@"
bin=${QPCI_BIN:-$here/../../build/bin}
export PATH="$bin:$PATH"

work=$(mktemp -d "${TMPDIR:-/tmp}/qpci-libvirt-monitor.XXXXXX")
mon=
trap '[ -n "$mon" ] && kill "$mon" 2>/dev/null; rm -rf "$work"' EXIT

kernel=$(guest_kernel) || { echo "$kernel"; exit 1; }
guest_initrd "$work/initrd" 'QPCI-MONITOR-UP'
fixture=$work/fixture
python3 "$here/../fixture/mkfixture.py" "$here/../topologies/seed-laptop.topo" "$fixture" >/dev/null ||
        bail "cannot build the fixture"

events=$work/monitor.out
qpci monitor --json >"$events" 2>"$work/monitor.err" &
mon=$!
# seen TYPE VM [COUNT]: the COUNTth such line (default 1) comes within a second of the change just made.
seen() {
        local i
        for ((i = 0; i < 10; i++)); do
                [ "$(grep -c "\"type\": \"$1\".*\"vm\": \"$2\"" "$events")" -ge "${3:-1}" ] && return 0
                sleep 0.1
        done
        echo "monitor's output:"; cat "$events" "$work/monitor.err"
        return 1
}
for ((i = 0; i < 100; i++)); do grep -q '"type": "ready"' "$events" && break; sleep 0.1; done
check "the monitor is ready" grep -q '"type": "ready"' "$events"

vm=mon-vm
check "qvm-create $vm" qvm-create --type qemu --kernel "$kernel" --initrd "$work/initrd" --memory 256 "$vm"
check "vm-defined $vm within a second" seen vm-defined "$vm"
check "qvm-pci attach -p $vm of a fixture's device" \
        env QPCI_ROOT="$fixture" QPCI_PCI_IDS="$here/../data/pci.ids" QPCI_HWDB=0 qvm-pci attach -p "$vm" dom0:00_19.0
check "the assignment (a new definition) is seen within a second" seen vm-defined "$vm" 2
check "qvm-pci unassign $vm" \
        env QPCI_ROOT="$fixture" QPCI_PCI_IDS="$here/../data/pci.ids" QPCI_HWDB=0 qvm-pci unassign "$vm" dom0:00_19.0
check "qvm-start $vm" qvm-start "$vm"
check "vm-started $vm within a second" seen vm-started "$vm"
check "qvm-shutdown --force $vm" qvm-shutdown --force "$vm"
check "vm-stopped $vm within a second" seen vm-stopped "$vm"
check "qvm-remove $vm" qvm-remove "$vm"
check "vm-undefined $vm within a second" seen vm-undefined "$vm"
kill -TERM "$mon"
status=0
wait "$mon" || status=$?
mon=
check "SIGTERM ends it with status 0" test "$status" = 0
check "every line is a JSON object" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    assert isinstance(json.loads(line), dict), line' "$events"
echo "1..$n"
[ "$failed" = 0 ]
