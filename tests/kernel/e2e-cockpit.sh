# End to end through the Cockpit page: a NIC assigned in the page's Devices tab works in the VM
# started from the page; the page hot-unplugs it from the running VM and plugs it in again, and
# shuts the VM down. Runs in the guest of tests/kernel/run-guest --libvirt --domu --cockpit
# PORT (busybox sh, as root), whose /init started cockpit-ws with a local session of root; the
# browser is on the outside (tests/kernel/cockpit-run drives it through QEMU's port forward, from a
# private network namespace). This script makes the VM sys-net with qpci's commands, then only
# looks: it waits until the page has started sys-net, checks that it has the e1000e (01:00.0, behind
# the root port, reset "pm bus") as the page assigned it, and that the NIC works in the VM as
# e2e-kvm.sh checks it; then that the VM lets it go and gets it back, working, and halts. The
# browser follows this script's output as it is printed (run-guest --output): it acts on the lines
# "# step: ...". TAP, each check with its wall time; after a failure, what cockpit-ws, libvirt and
# QEMU logged, the VM's console and XML, and the kernel's log.

. ./guest-lib.sh
check() { e2e_check "$@"; }
T0=$(now)
URI=qemu:///system
console_of() { echo "/var/log/libvirt/qemu/$1-console.log"; }
show_domu() { grep -a 'QPCI-DOMU' "$(console_of "$1")" | tr -d '\r' | sed 's/^/# /'; }
# state_within VM STATE SECONDS: until the VM is in that state (the browser starts it, shuts it down).
state_within() {
        i=0
        while [ $i -lt "$3" ]; do
                [ "$(state_of "$1")" = "$2" ] && return 0
                sleep 1
                i=$((i + 1))
        done
        echo "$1 is not $2 after $3 s:"
        qvm-ls
        return 1
}
# next_step WHAT: tells the browser that the VM is ready for its next action, "# step: WHAT"; after
# a failed check, "# step: give up" once, which ends the browser's scenario, and false.
next_step() {
        if [ $failed = 0 ]; then
                note "step: $*"
                return 0
        fi
        [ -n "${gave_up-}" ] || note "step: give up"
        gave_up=1
        return 1
}
# browser_gone SECONDS: until no connection to cockpit-ws (port 9090, 2382 in /proc/net/tcp) is
# established: the browser has ended, and with it whatever it still wanted from this guest.
browser_gone() {
        i=0
        while [ $i -lt $(($1 * 2)) ]; do
                awk '$2 ~ /:2382$/ && $4 == "01" { n++ } END { exit n > 0 }' /proc/net/tcp && return 0
                usleep 500000
                i=$((i + 1))
        done
        echo "connections to cockpit-ws after $1 s:"
        grep ':2382 ' /proc/net/tcp
        return 1
}
assigned_to_sys_net() {
        qvm-pci list -s >/tmp/list && grep -q '0x8086:0x10d3.* \*sys-net (required)$' /tmp/list || { cat /tmp/list; false; }
}

diagnose() {
        note "----- what cockpit-ws, the daemons and the kernel logged -----"
        note "cockpit-ws and its bridge:"; sed 's/^/#   /' /var/log/cockpit/ws.log 2>/dev/null | tail -n 30
        note "virsh list --all:"; virsh -c $URI list --all 2>&1 | sed 's/^/#   /'
        note "libvirtd.log:"
        grep -v -E 'dmidecode|^$|: info : ' /var/log/libvirt/libvirtd.log 2>/dev/null | tail -n 30 | sed 's/^/#   /'
        if [ -f /var/log/libvirt/qemu/sys-net.log ]; then
                note "/var/log/libvirt/qemu/sys-net.log, the end:"
                tail -n 20 /var/log/libvirt/qemu/sys-net.log | sed 's/^/#   /'
        fi
        if [ -f "$(console_of sys-net)" ]; then
                note "sys-net's console, the end:"
                tail -n 25 "$(console_of sys-net)" | tr -d '\r' | sed 's/^/#   /'
        fi
        virsh -c $URI dumpxml sys-net >/tmp/dump.xml 2>&1 && { note "virsh dumpxml sys-net:"; sed 's/^/#   /' /tmp/dump.xml; }
        note "the guest's kernel, the end:"
        dmesg | tail -n 25 | sed 's/^/#   /'
}

E1000E=$(find_dev 0x8086:0x10d3)
note "e1000e $E1000E; guest uptime $T0 s at the start"
if [ -z "$E1000E" ] || [ -z "$QPCI_DOMU_KERNEL" ] || [ ! -s .cockpit ]; then
        echo "not ok 1 - the default topology, the VM and Cockpit (run-guest --libvirt --domu --cockpit PORT)"
        echo "1..1"
        exit 1
fi
NIC=$(ident "$E1000E")

check "cockpit-ws runs (started by /init)" sh -c "ps | grep -v grep | grep -q cockpit-ws"
check "qvm-create sys-net --kernel ... --initrd ... --memory 256" \
        qvm-create sys-net --kernel "$QPCI_DOMU_KERNEL" --initrd "$QPCI_DOMU_INITRD" --memory 256
# quiet: the VM's serial port is emulated twice over (e2e-kvm.sh).
check "qvm-prefs sys-net kernelopts \"iommu=soft swiotlb=8192 quiet\"" qvm-prefs sys-net kernelopts "iommu=soft swiotlb=8192 quiet"
check "...sys-net has no device yet" sh -c "! qvm-pci list -s | grep -q sys-net"

# The browser, on the outside: VM settings of sys-net, Devices tab, the e1000e added, Apply; then
# Start in the VMs view.
note "waiting for the page to assign $NIC to sys-net and start it"
t=$(now)
check "sys-net is started from the page" state_within sys-net Running 420
started=$(now)
note "sys-net ran $(since "$t") s after this script waited for it"
check "...its definition has the e1000e, assigned persistently by the page's Apply" assigned_to_sys_net
check "...the e1000e is on vfio-pci" on_driver "$E1000E" vfio-pci
check "qvm-pci: sys-net under USED BY of the e1000e" sh -c "qvm-pci | grep -q '^$NIC .* sys-net\$'"
if wait_domu sys-net 1 480 >/tmp/out 2>&1; then
        result ok "sys-net has booted and reported" "$started"
        show_domu sys-net
        check "...its /proc/cmdline has the kernelopts" domu_has sys-net "INFO cmdline .*iommu=soft swiotlb=8192"
        check_domu_nic sys-net
else
        result fail "sys-net has booted and reported" "$started"
        sed 's/^/#   /' /tmp/out
fi

# The browser, once the NIC works: the e1000e removed in sys-net's Devices tab, Apply (qvm-pci
# unassign, qvm-pci detach: a hot-unplug); once this script has seen it go, added again, Apply
# (qvm-pci attach -p: a hot-plug); once the NIC works again, Shut down in the VMs view.
mark_console sys-net
if next_step "the NIC works in sys-net: unplug it"; then
        t=$(now)
        check "sys-net reports its e1000e gone (hot-unplugged by the page's Apply)" wait_for sys-net "INFO gone 0000:" 120
        note "sys-net let the e1000e go $(since "$t") s after the NIC worked"
        check "...the running sys-net has it no more (virsh dumpxml)" gone_within sys-net 01 00 30
        check "...nor its definition (qvm-pci list -s)" sh -c "! qvm-pci list -s | grep -q sys-net"
        check "...the e1000e stays hidden from the host, on vfio-pci" on_driver "$E1000E" vfio-pci
        check "qvm-pci: sys-net no more under USED BY of the e1000e" sh -c "qvm-pci >/tmp/list && ! grep -q '^$NIC .*sys-net' /tmp/list || { cat /tmp/list; false; }"
fi
if next_step "the e1000e is out of sys-net: plug it in again"; then
        t=$(now)
        check "sys-net reports the e1000e back, its network tried (hot-plugged by the page's Apply)" \
                wait_for sys-net "(PASS|FAIL) net [^ ]* 8086:10d3 e1000e ping" 240
        note "sys-net had the e1000e back and its network tried $(since "$t") s after this script said to plug it in"
        check "...the running sys-net has it (virsh dumpxml)" has_hostdev sys-net 01 00
        check "...and its definition, assigned persistently again" assigned_to_sys_net
        check_domu_nic sys-net
fi
if next_step "the NIC works in sys-net again: shut it down"; then
        check "sys-net halts (shut down from the page)" state_within sys-net Halted 120
        check "...as its kernel was asked to power off (ACPI), not destroyed" domu_has sys-net "INFO poweroff asked"
        check "...the e1000e stays hidden from the host, on vfio-pci" on_driver "$E1000E" vfio-pci
fi
# The page shows sys-net halted once it has heard of it from this guest: the guest stays up until
# the browser is done.
check "the browser has ended (no connection to cockpit-ws left)" browser_gone 180
note "the whole scenario: $(since "$T0") s"
[ $failed = 0 ] || diagnose
echo "1..$n"
[ $failed = 0 ]
