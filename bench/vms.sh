#!/bin/bash
# qvm-pci list on a host with 200 VMs holding assignments, against what it replaces: `virsh list
# --all` plus `qvm-pci list` with no VMs, in one run against the same private libvirt daemon
# (tests/libvirt/with-libvirtd), interleaved round by round; the ratio of the medians.
# Target: at most 1.5. The host is seed-laptop.topo's fixture, so no device of this
# machine is assigned; every VM holds two devices (USED BY then names 100 VMs on some rows).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${QPCI_LIBVIRTD_DIR:-}" ]; then
        exec "$here/../tests/libvirt/with-libvirtd" "$here/vms.sh" "$@"
fi
VMS=${VMS:-200} ROUNDS=${ROUNDS:-11}
bin=${QPCI_BIN:-$here/../build/bin}
work=$(mktemp -d "${TMPDIR:-/tmp}/qpci-bench-vms.XXXXXX")
trap 'rm -rf "$work"' EXIT
fixture=$work/fixture
python3 "$here/../tests/fixture/mkfixture.py" "$here/../tests/topologies/seed-laptop.topo" "$fixture" >/dev/null
export QPCI_ROOT=$fixture QPCI_PCI_IDS=$here/../tests/data/pci.ids QPCI_HWDB=0
echo '<node/>' >"$work/none.xml"
# The VMs never start: a stand-in kernel file is enough (qvm-create wants a readable regular file).
echo 'not a kernel' >"$work/vmlinuz"

t=$(date +%s.%N)
devs=(dom0:00_19.0 dom0:00_1a.0 dom0:00_1a.1 dom0:00_1a.2 dom0:00_1b.0 dom0:02_00.0)
for i in $(seq "$VMS"); do
        vm=$(printf 'vm%03d' "$i")
        "$bin/qvm-create" --type qemu --kernel "$work/vmlinuz" --memory 128 "$vm"
        "$bin/qvm-pci" attach -p "$vm" "${devs[$((i % 6))]}"
        "$bin/qvm-pci" attach -p "$vm" "${devs[$(((i + 3) % 6))]}"
done
echo "# defined $VMS VMs with two devices each in $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
[ "$(virsh list --all --name | grep -c .)" = "$VMS" ] || { echo "not ok 1 - $VMS VMs defined"; exit 1; }
used=$("$bin/qvm-pci" | grep -c 'vm0')
[ "$used" -ge 6 ] || { echo "not ok 1 - USED BY names the VMs ($used rows)"; exit 1; }

now() { date +%s%N; }
: >"$work/a"; : >"$work/b"
for r in $(seq "$ROUNDS"); do
        t0=$(now); "$bin/qvm-pci" >/dev/null
        t1=$(now); virsh list --all >/dev/null; LIBVIRT_DEFAULT_URI=test://$work/none.xml "$bin/qvm-pci" >/dev/null
        t2=$(now)
        echo $(((t1 - t0) / 1000000)) >>"$work/a"
        echo $(((t2 - t1) / 1000000)) >>"$work/b"
        echo "# round $r: qvm-pci with $VMS VMs $(((t1 - t0) / 1000000)) ms, virsh list --all + qvm-pci without VMs $(((t2 - t1) / 1000000)) ms"
done
median() { sort -n "$1" | sed -n "$(((ROUNDS + 1) / 2))p"; }
a=$(median "$work/a") b=$(median "$work/b")
ratio=$((a * 100 / b))
echo "# median: qvm-pci with $VMS VMs $a ms, virsh list --all + qvm-pci without VMs $b ms, ratio $((ratio / 100)).$(printf %02d $((ratio % 100)))"
if [ "$ratio" -le 150 ]; then echo "ok 1 - within 1.5x"; else echo "not ok 1 - $ratio% (target <= 150%)"; fi
echo "1..1"
[ "$ratio" -le 150 ]
