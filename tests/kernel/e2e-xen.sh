# End to end on Xen (issue 7): a device assigned with qpci's commands really works inside a VM.
# Runs in the dom0 of tests/kernel/run-guest --xen --libvirt --domu (busybox sh, as root): Xen
# 4.17, Debian's kernel as PV dom0, libvirtd with its libxl driver, the default topology (an
# e1000e at 01:00.0 behind the root port 1c.0, reset "pm bus"; an e1000 at 00:07.0 on the root bus,
# no reset method), each on a QEMU user network whose gateway is 10.0.2.2. The VMs boot
# $QPCI_DOMU_KERNEL and $QPCI_DOMU_INITRD (tests/kernel/domu-init.sh), which report on their console,
# /var/log/xen/console/guest-NAME.log, as "QPCI-DOMU [uptime] PASS|FAIL|INFO ..." lines.
#
# Only qpci's commands act (qvm-create, qvm-pci, qvm-prefs, qvm-start, qvm-shutdown); virsh, xl
# and sysfs only look. Prints TAP, one line per check with its wall time; after a failure, what
# libvirt, libxl, Xen's console daemon and the kernel logged. Exits non-zero when a check failed.

# find_dev, driver_of (and n, failed) from guest-lib.sh; check here also times each check.
. ./guest-lib.sh
now() { cut -d' ' -f1 /proc/uptime; }
since() { echo "$1 $(now)" | awk '{ printf "%.1f", $2 - $1 }'; }
T0=$(now)
result() { # ok|fail, description, start time
        n=$((n + 1))
        if [ "$1" = ok ]; then
                echo "ok $n - $2 ($(since "$3") s)"
        else
                failed=$((failed + 1))
                echo "not ok $n - $2 ($(since "$3") s)"
        fi
}
# check DESCRIPTION COMMAND...: the command's output goes to /tmp/out, shown after a failure.
check() {
        d=$1 t=$(now)
        shift
        if "$@" >/tmp/out 2>&1; then result ok "$d" "$t"; else result fail "$d" "$t"; sed 's/^/#   /' /tmp/out; fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
note() { echo "# $*"; }

on_driver() { is_on "$1" "$2" || { echo "$1 is on '$(driver_of "$1")', not $2"; return 1; }; }
ident() { echo "dom0:$(echo "$1" | sed 's/^0000://; s/:/_/')"; }
xml_of() { virsh -c xen:///system dumpxml "$1" >/tmp/"$1".xml 2>&1; }
has_not() { ! grep -E "$2" "$1"; }
state_of() { qvm-ls | awk -v vm="$1" '$1 == vm { print $2 }'; }
is_state() { [ "$(state_of "$1")" = "$2" ] || { qvm-ls; return 1; }; }
console_of() { echo "/var/log/xen/console/guest-$1.log"; }
# wait_domu VM N SECONDS: until the VM's console shows its Nth DONE (a round of checks over).
wait_domu() {
        i=0
        while [ $i -lt $(($3 * 2)) ]; do
                [ "$(grep -ac 'QPCI-DOMU .* DONE' "$(console_of "$1")" 2>/dev/null)" -ge "$2" ] && return 0
                usleep 500000
                i=$((i + 1))
        done
        echo "no DONE from $1 within $3 s; its console:"
        cat "$(console_of "$1")" 2>&1
        return 1
}
domu_has() { # VM, extended regular expression after "QPCI-DOMU [uptime] "
        grep -aqE "^QPCI-DOMU \[[0-9.]*\] $2" "$(console_of "$1")" && return 0
        echo "no /$2/ from $1:"
        grep -a 'QPCI-DOMU' "$(console_of "$1")"
        return 1
}
# dom0_ping BDF: the NIC's interface in dom0, up with QEMU's usual address, pings its gateway.
dom0_ping() {
        ifc=$(ls "/sys/bus/pci/devices/$1/net" 2>/dev/null | head -n 1)
        [ -n "$ifc" ] || { echo "$1 has no network interface in dom0"; return 1; }
        ip link set "$ifc" up || return 1
        i=0
        while [ $i -lt 100 ] && [ "$(cat "/sys/class/net/$ifc/carrier" 2>/dev/null)" != 1 ]; do usleep 100000; i=$((i + 1)); done
        ip addr add 10.0.2.15/24 dev "$ifc" || return 1
        ping -c 2 -W 3 -I "$ifc" 10.0.2.2
        r=$?
        [ $r = 0 ] || { grep -E "$1|eth" /proc/interrupts; dmesg | grep -E "$1|DMAR" | tail -n 12; }
        ip addr flush dev "$ifc"
        ip link set "$ifc" down
        return $r
}

diagnose() {
        note "----- what the daemons and the kernel logged -----"
        note "xl list:"; xl list 2>&1 | sed 's/^/#   /'
        note "pciback slots: $(tr '\n' ' ' </sys/bus/pci/drivers/pciback/slots 2>/dev/null)"
        note "pciback permissive: $(tr '\n' ' ' </sys/bus/pci/drivers/pciback/permissive 2>/dev/null)"
        note "libvirtd.log (without what every start says here):"
        grep -v -E 'dmidecode|^$|: info : ' /var/log/libvirt/libvirtd.log 2>/dev/null | sed 's/^/#   /'
        note "libvirt's libxl-driver.log:"
        tail -n 40 /var/log/libvirt/libxl/libxl-driver.log 2>/dev/null | sed 's/^/#   /'
        for vm in sys-net sys-e1000; do
                if [ -f "/var/log/libvirt/libxl/$vm.log" ]; then
                        note "libxl/$vm.log (without the JSON):"
                        grep -v -E '^[ {}]|^$' "/var/log/libvirt/libxl/$vm.log" | tail -n 20 | sed 's/^/#   /'
                fi
                if [ -f "$(console_of "$vm")" ]; then
                        note "$vm's console, the end:"
                        tail -n 25 "$(console_of "$vm")" | sed 's/^/#   /'
                fi
                virsh -c xen:///system dumpxml "$vm" >/tmp/dump.xml 2>&1 &&
                        { note "virsh dumpxml $vm:"; sed 's/^/#   /' /tmp/dump.xml; }
        done
        note "dom0's kernel, the end:"
        dmesg | tail -n 25 | sed 's/^/#   /'
}

E1000E=$(find_dev 0x8086:0x10d3)
E1000=$(find_dev 0x8086:0x100e)
note "e1000e $E1000E, e1000 $E1000; dom0 uptime $T0 s at the start"
if [ -z "$E1000E" ] || [ -z "$E1000" ] || [ -z "$QPCI_DOMU_KERNEL" ]; then
        echo "not ok 1 - the default topology and the domU (run-guest --xen --libvirt --domu)"
        echo "1..1"
        exit 1
fi
NIC=$(ident "$E1000E")
ROOTNIC=$(ident "$E1000")

# --- the dom0 ---------------------------------------------------------------------------------
check "libvirtd answers on xen:///system (its libxl driver loaded)" virsh -c xen:///system list
check "qvm-ls reaches it by itself: a Xen dom0 means xen:///system" \
        sh -c 'env -u LIBVIRT_DEFAULT_URI qvm-ls >/tmp/ls && grep -q "^Domain-0 *Running" /tmp/ls || { cat /tmp/ls; false; }'

# --- sys-net: the seed page's workflow with the e1000e ------------------------------------------
check "qvm-create sys-net --kernel ... --initrd ... --memory 160" \
        qvm-create sys-net --kernel "$QPCI_DOMU_KERNEL" --initrd "$QPCI_DOMU_INITRD" --memory 160
xml_of sys-net
check "...defines a paravirtualized Xen domain" \
        sh -c "grep -q \"<domain type='xen'\" /tmp/sys-net.xml && grep -q '<type arch=.x86_64.>linux</type>' /tmp/sys-net.xml || { cat /tmp/sys-net.xml; false; }"
check "...booting that kernel and initramfs with 160 MiB" \
        sh -c "grep -q '<kernel>$QPCI_DOMU_KERNEL</kernel>' /tmp/sys-net.xml && grep -q '<initrd>$QPCI_DOMU_INITRD</initrd>' /tmp/sys-net.xml && grep -q \"<memory unit='KiB'>163840<\" /tmp/sys-net.xml || { cat /tmp/sys-net.xml; false; }"
check "qvm-pci lists both NICs" sh -c "qvm-pci >/tmp/list &&
        grep -q '^$NIC *Ethernet controller: Intel Corporation 82574L' /tmp/list &&
        grep -q '^$ROOTNIC *Ethernet controller: Intel Corporation 82540EM' /tmp/list || { cat /tmp/list; false; }"

# The e1000 on the root bus has no reset method (no FLR, no PM reset, no bus reset on bus 00).
t=$(now)
qvm-pci attach --persistent sys-net "$ROOTNIC" >/tmp/refused 2>&1
rc=$?
if [ $rc != 0 ]; then result ok "attaching the e1000 on bus 00 without no-strict-reset is refused" "$t"
else result fail "attaching the e1000 on bus 00 without no-strict-reset is refused" "$t"; sed 's/^/#   /' /tmp/refused; fi
check "...saying why: no reliable reset" grep -q 'has no reliable reset' /tmp/refused
check "...and what to do: -o no-strict-reset=True" grep -q 'no-strict-reset=True' /tmp/refused
xml_of sys-net
check "...and sys-net has not got it" has_not /tmp/sys-net.xml "bus='0x00' slot='0x07'"

check "qvm-pci attach --persistent sys-net $NIC (the e1000e behind the root port)" \
        qvm-pci attach --persistent sys-net "$NIC"
xml_of sys-net
check "...a <hostdev managed='no'> in sys-net's definition" \
        sh -c "grep -q \"<hostdev mode='subsystem' type='pci' managed='no'>\" /tmp/sys-net.xml && grep -q \"bus='0x01' slot='0x00' function='0x0'\" /tmp/sys-net.xml || { cat /tmp/sys-net.xml; false; }"
check "...qvm-pci list sys-net shows it" sh -c "qvm-pci list sys-net | grep -q '^$NIC '"
check "...it stays on its host driver while sys-net is halted" on_driver "$E1000E" e1000e
check "qvm-prefs sys-net kernelopts \"iommu=soft swiotlb=8192\"" qvm-prefs sys-net kernelopts "iommu=soft swiotlb=8192"
check "...qvm-prefs sys-net kernelopts says so" sh -c '[ "$(qvm-prefs sys-net kernelopts)" = "iommu=soft swiotlb=8192" ]'

check "qvm-start sys-net" qvm-start sys-net
started=$(now)
check "...sys-net is running" is_state sys-net Running
check "...the e1000e is on pciback in dom0" on_driver "$E1000E" pciback
check "qvm-pci: sys-net under USED BY" sh -c "qvm-pci | grep -q '^$NIC .* sys-net\$'"
if wait_domu sys-net 1 180 >/tmp/out 2>&1; then
        result ok "sys-net's domU has booted and reported" "$started"
        grep -a 'QPCI-DOMU' "$(console_of sys-net)" | tr -d '\r' | sed 's/^/# /'
        check "...its /proc/cmdline has the kernelopts" domu_has sys-net "INFO cmdline .*iommu=soft swiotlb=8192"
        check "...the e1000e is there, bound to e1000e" domu_has sys-net "INFO pci 8086:10d3 e1000e"
        check "...its link is up" domu_has sys-net "PASS net [^ ]* 8086:10d3 e1000e link"
        check "...it got a DHCP lease from QEMU's user network" domu_has sys-net "PASS net [^ ]* 8086:10d3 e1000e dhcp"
        check "...it pings the gateway 10.0.2.2" domu_has sys-net "PASS net [^ ]* 8086:10d3 e1000e ping 10.0.2.2"
else
        result fail "sys-net's domU has booted and reported" "$started"
        sed 's/^/#   /' /tmp/out
fi

# A device assigned to two VMs, used by one running VM at a time (the seed page).
check "qvm-create sys-net2" qvm-create sys-net2 --kernel "$QPCI_DOMU_KERNEL" --initrd "$QPCI_DOMU_INITRD" --memory 160
check "qvm-pci attach --persistent sys-net2 $NIC: a device may be assigned to several VMs" \
        qvm-pci attach --persistent sys-net2 "$NIC"
check "...USED BY names both" sh -c "qvm-pci | grep -q '^$NIC .* sys-net, sys-net2\$'"
check "qvm-start sys-net2 while sys-net runs is refused, naming sys-net" \
        sh -c "! qvm-start sys-net2 2>/tmp/err && grep -q 'in use by the running VM sys-net' /tmp/err"
check "...and sys-net2 stays halted" is_state sys-net2 Halted

check "qvm-shutdown --wait sys-net" qvm-shutdown --wait sys-net
down=$(now)
check "...sys-net is halted" is_state sys-net Halted
# Halted means Xen has let the domain and its devices go: libxl's teardown of the PCI backend is
# over, so that the device can be given back to the host or to another VM at once.
check "...Xen has no sys-net domain any more (xl list)" sh -c '! xl list | grep "^sys-net "'
check "...the e1000e stays on pciback (never handed back by itself)" on_driver "$E1000E" pciback
# So that what follows tests the giving back, not that race: until Xen has let it go.
i=0
while [ $i -lt 60 ] && xl list | grep -q "^sys-net "; do usleep 500000; i=$((i + 1)); done
note "Xen destroyed sys-net $(since "$down") s after qvm-shutdown --wait returned"
# Both halted, both started at once: qpci's VM lock lets exactly one have the device.
qvm-start sys-net >/tmp/start1 2>&1 &
p1=$!
qvm-start sys-net2 >/tmp/start2 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
s1=$(state_of sys-net) s2=$(state_of sys-net2)
check "two qvm-start at once of VMs sharing the e1000e: exactly one runs ($s1, $s2)" \
        sh -c "[ \"$s1/$s2\" = Running/Halted ] || [ \"$s1/$s2\" = Halted/Running ]"
check "...the other was refused by qpci, naming it" \
        sh -c "[ $r1 = 0 ] && grep -q 'in use by the running VM sys-net' /tmp/start2 ||
               { [ $r2 = 0 ] && grep -q 'in use by the running VM sys-net2' /tmp/start1; }"
winner=sys-net
[ "$s2" = Running ] && winner=sys-net2
check "qvm-shutdown --wait $winner" qvm-shutdown --wait "$winner"
check "qvm-remove sys-net2" sh -c "qvm-pci detach sys-net2 && qvm-remove sys-net2"
check "qvm-pci unhide $NIC" qvm-pci unhide "$NIC"
check "...the e1000e is back on e1000e" on_driver "$E1000E" e1000e
check "...and works in dom0: it pings 10.0.2.2" dom0_ping "$E1000E"

# What still fails on qpci bugs (tests/kernel/README.md) runs only when asked for, with the dom0
# argument qpci.e2e=open (meson's suite e2e): make check holds what passes.
if ! grep -qw 'qpci.e2e=open' /proc/cmdline; then
        note "the whole scenario: $(since "$T0") s"
        [ $failed = 0 ] || diagnose
        echo "1..$n"
        [ $failed = 0 ]
        exit
fi

# --- no-strict-reset: the e1000 on bus 00 -------------------------------------------------------
# Upstream libvirt resets every host device of a Xen domain and refuses to start one it cannot
# reset; qpci's option is the user's word that it may be used without.
check "qvm-create sys-e1000" qvm-create sys-e1000 --kernel "$QPCI_DOMU_KERNEL" --initrd "$QPCI_DOMU_INITRD" --memory 160
check "qvm-pci attach --persistent -o no-strict-reset=True sys-e1000 $ROOTNIC" \
        qvm-pci attach --persistent -o no-strict-reset=True sys-e1000 "$ROOTNIC"
check "...qvm-pci: sys-e1000 (no-strict-reset=True) under USED BY" \
        sh -c "qvm-pci | grep -q '^$ROOTNIC .* sys-e1000 (no-strict-reset=True)\$'"
check "qvm-start sys-e1000" qvm-start sys-e1000
started=$(now)
if [ "$(state_of sys-e1000)" = Running ]; then
        if wait_domu sys-e1000 1 180 >/tmp/out 2>&1; then
                result ok "sys-e1000's domU has booted and reported" "$started"
                check "...the e1000 is there, bound to e1000" domu_has sys-e1000 "INFO pci 8086:100e e1000"
                check "...it pings the gateway 10.0.2.2" domu_has sys-e1000 "PASS net [^ ]* 8086:100e e1000 ping 10.0.2.2"
        else
                result fail "sys-e1000's domU has booted and reported" "$started"
                sed 's/^/#   /' /tmp/out
        fi
        # Used without a reliable reset: tainted, and qpci says so when another VM gets it.
        check "attaching it to sys-net then warns that sys-e1000 used it without a reliable reset" \
                sh -c "qvm-pci attach --persistent -o no-strict-reset=True sys-net $ROOTNIC 2>&1 | grep -q 'was used by sys-e1000 without a reliable reset'"
else
        skip "sys-e1000's domU has booted and reported" "sys-e1000 did not start"
        skip "...the e1000 is there, bound to e1000" "sys-e1000 did not start"
        skip "...it pings the gateway 10.0.2.2" "sys-e1000 did not start"
        skip "attaching it to sys-net then warns that sys-e1000 used it without a reliable reset" "sys-e1000 did not start"
fi

note "the whole scenario: $(since "$T0") s"
[ $failed = 0 ] || diagnose
echo "1..$n"
[ $failed = 0 ]
