#!/bin/bash
# A libvirt of another host: with -c URI or LIBVIRT_DEFAULT_URI naming it, qpci's VM-only commands
# work (qvm-create, qvm-prefs, qvm-ls, qvm-start and qvm-shutdown of a VM without devices), and
# everything that needs this host's devices is refused, naming that host, before any rule or move:
# qvm-pci attach (to a halted VM and hot-plug), detach, list VM, qvm-start of a VM with devices,
# and USED BY is left out of this host's list. "Another host" is a second libvirtd beside
# with-libvirtd's, in a mount and UTS namespace of its own (its folders, its host name
# qpci-far-host), reached two ways: through TCP on the loopback with a host name in the URI, and
# through its UNIX socket by a URI without a host part (only its host name tells). The host's
# devices are a fixture's (QPCI_ROOT), so nothing of this machine could move. TAP. Run it as root.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# The guest kernel is downloaded here when not cached: the namespaces have no network.
fetch_then_enter "$here/remote.sh" "$@"
bin=${QPCI_BIN:-$here/../../build/bin}
export PATH="$bin:$PATH"

far_name=qpci-far-host
port=16599
work=$(mktemp -d "${TMPDIR:-/tmp}/qpci-libvirt-remote.XXXXXX")
far=$work/far
far_pid=""
finish() {
        if [ -n "$far_pid" ]; then
                virsh -c "$sock_uri" list --name 2>/dev/null | while read -r d; do
                        [ -z "$d" ] || virsh -c "$sock_uri" destroy "$d" >/dev/null 2>&1
                done
                kill -TERM "$far_pid" 2>/dev/null
                for ((i = 0; i < 100; i++)); do kill -0 "$far_pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -rf "$work"
}
trap finish EXIT

kernel=$(guest_kernel) || { echo "$kernel"; exit 1; }
guest_initrd "$work/initrd" 'QPCI-FAR-VM: $(cat /proc/cmdline)'

fixture=$work/fixture
python3 "$here/../fixture/mkfixture.py" "$here/../topologies/seed-laptop.topo" "$fixture" >/dev/null ||
        bail "cannot build the fixture"
fx() { QPCI_ROOT=$fixture QPCI_PCI_IDS=$here/../data/pci.ids QPCI_HWDB=0 "$@"; }

# with-libvirtd's network namespace has a loopback, down: up, for the other daemon's TCP.
ip link set lo up || bail "cannot bring the loopback of the test's network namespace up"
# The other host's name resolves to the loopback (this mount namespace's /etc/hosts only).
cp /etc/hosts "$work/hosts" && echo "127.0.0.1 $far_name" >>"$work/hosts" && mount --bind "$work/hosts" /etc/hosts ||
        bail "cannot add $far_name to /etc/hosts"

# The other daemon: the same configuration as with-libvirtd's, plus TCP on the loopback without
# authentication (nothing but this network namespace's loopback can reach it).
mkdir -p "$far"/{run,etc,lib,cache,log/qemu}
cp /etc/libvirt/qemu.conf /etc/libvirt/libvirt.conf "$far/etc/"
sed -e '/^host_uuid/d' /etc/libvirt/libvirtd.conf >"$far/etc/libvirtd.conf"
cat >>"$far/etc/libvirtd.conf" <<EOF
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$port"
auth_tcp = "none"
EOF
for drv in qemu network storage; do mkdir -p "$far/run/$drv" && touch "$far/run/$drv/autostarted"; done
# Files only the other host has: its /var/lib/libvirt is $far/lib, not what this side sees there.
mkdir -p "$far/lib/boot" && cp "$kernel" "$far/lib/boot/vmlinuz" && cp "$work/initrd" "$far/lib/boot/initrd" ||
        bail "cannot copy the kernel"
[ ! -e /var/lib/libvirt/boot/vmlinuz ] || bail "/var/lib/libvirt/boot/vmlinuz is there on this side too"
mkdir -p "$far/cache/qemu/capabilities"
cp /var/cache/libvirt/qemu/capabilities/*.xml "$far/cache/qemu/capabilities/" 2>/dev/null
unshare --mount --uts --propagation private -- /bin/bash -c '
        far=$1
        hostname "$2"
        for pair in run:/run/libvirt etc:/etc/libvirt lib:/var/lib/libvirt cache:/var/cache/libvirt log:/var/log/libvirt; do
                mount --bind "$far/${pair%%:*}" "${pair#*:}" || exit 1
        done
        if [ "$(readlink -f /var/run)" != /run ]; then mount --bind "$far/run" /var/run/libvirt || exit 1; fi
        exec /usr/sbin/libvirtd --listen --pid-file "$far/libvirtd.pid"' far-libvirtd "$far" "$far_name" \
        </dev/null >"$far/libvirtd.log" 2>&1 &
far_pid=$!
tcp_uri=qemu+tcp://$far_name:$port/system
sock_uri="qemu+unix:///system?socket=$far/run/libvirt-sock"
for ((i = 0; i < 600; i++)); do
        virsh -c "$tcp_uri" -q version >/dev/null 2>&1 && virsh -c "$sock_uri" -q version >/dev/null 2>&1 && break
        kill -0 "$far_pid" 2>/dev/null || break
        sleep 0.1
done
check "the other daemon answers at $tcp_uri, as $far_name" test "$(virsh -c "$tcp_uri" hostname 2>&1)" = "$far_name"
check "and through its socket, without a host part in the URI" test "$(virsh -c "$sock_uri" hostname 2>&1)" = "$far_name"
if [ "$failed" != 0 ]; then
        sed 's/^/#   far libvirtd: /' "$far/libvirtd.log"
        bail "no second daemon"
fi

state() { virsh -c "$1" domstate "$2" 2>/dev/null | head -n 1; }
hostdevs() { virsh -c "$1" dumpxml --inactive "$2" | grep -c '<hostdev'; }
no_used_by() { ! env LIBVIRT_DEFAULT_URI="$1" QPCI_ROOT="$fixture" qvm-pci | grep -E "^dom0:00_1a.0 .*far" >/dev/null; }
says_why() {
        env LIBVIRT_DEFAULT_URI="$1" QPCI_ROOT="$fixture" qvm-pci -v 2>&1 >/dev/null |
                grep -F "the libvirt of another host, $far_name" | grep -F "USED BY is left out" >/dev/null
}

for uri in "$tcp_uri" "$sock_uri"; do
        if [ "$uri" = "$tcp_uri" ]; then how="a host in the URI"; vm=far-tcp; else how="the host name only"; vm=far-sock; fi
        echo "# $uri: $how"
        check "qvm-create -c URI $vm ($how), booting files only $far_name has" qvm-create -c "$uri" --type qemu \
                --kernel /var/lib/libvirt/boot/vmlinuz --initrd /var/lib/libvirt/boot/initrd --memory 128 "$vm"
        check "qvm-prefs -c URI $vm kernelopts" qvm-prefs -c "$uri" "$vm" kernelopts "quiet"
        check "qvm-prefs -c URI $vm kernel, a file only $far_name has" \
                qvm-prefs -c "$uri" "$vm" kernel /var/lib/libvirt/boot/vmlinuz
        expect_fail "but not a kernel name with a control character" "control characters" \
                qvm-prefs -c "$uri" "$vm" kernel "$(printf '/boot/a\033b')"
        check "qvm-ls -c URI lists it" bash -c "qvm-ls -c '$uri' | grep -E '^$vm +Halted' >/dev/null"
        expect_fail "qvm-pci attach -p to it is refused, naming $far_name" \
                "the libvirt of another host, $far_name" fx qvm-pci attach -c "$uri" -p "$vm" dom0:00_1a.0
        expect_fail "and says to run it there" "run the command on $far_name itself" \
                fx qvm-pci attach -c "$uri" -p "$vm" dom0:00_1a.0
        check "its definition has no device" test "$(hostdevs "$uri" "$vm")" = 0
        expect_fail "LIBVIRT_DEFAULT_URI=URI qvm-pci attach is refused too" "the libvirt of another host, $far_name" \
                env LIBVIRT_DEFAULT_URI="$uri" QPCI_ROOT="$fixture" qvm-pci attach -p "$vm" dom0:00_1a.0

        # As virt-manager on that host would give it one of that host's devices.
        virsh -c "$uri" dumpxml --inactive "$vm" >"$work/$vm.xml"
        sed "s|</devices>|<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x00' slot='0x1a' function='0x0'/></source></hostdev></devices>|" \
                "$work/$vm.xml" >"$work/$vm-dev.xml"
        check "a device given to $vm on $far_name (virsh define there)" virsh -c "$uri" define "$work/$vm-dev.xml"
        expect_fail "qvm-start -c URI of a VM with devices is refused, before any rule or move" \
                "$vm has PCI devices, and qpci gives VMs this host's devices only; run qvm-start $vm on $far_name itself" \
                fx qvm-start -c "$uri" "$vm"
        check "and $vm stays halted" test "$(state "$uri" "$vm")" = "shut off"
        check "this host's list leaves USED BY out with LIBVIRT_DEFAULT_URI=URI" no_used_by "$uri"
        check "and -v says why" says_why "$uri"
        expect_fail "qvm-pci list -c URI VM is refused" "the libvirt of another host, $far_name" \
                fx qvm-pci list -c "$uri" "$vm"
        expect_fail "qvm-pci detach -c URI is refused" "the libvirt of another host, $far_name" \
                fx qvm-pci detach -c "$uri" "$vm"
        check "$vm without its device again" virsh -c "$uri" define "$work/$vm.xml"

        check "qvm-start -c URI of $vm without devices" qvm-start -c "$uri" "$vm"
        check "it runs on $far_name" test "$(state "$uri" "$vm")" = running
        expect_fail "hot-plug into it is refused" "the libvirt of another host, $far_name" \
                fx qvm-pci attach -c "$uri" "$vm" dom0:00_1a.0
        check "qvm-shutdown -c URI --force" qvm-shutdown -c "$uri" --force "$vm"
        check "qvm-remove -c URI" qvm-remove -c "$uri" "$vm"
done
check "this host's daemon has no VM of these" test -z "$(virsh list --all --name)"
echo "1..$n"
[ "$failed" = 0 ]
