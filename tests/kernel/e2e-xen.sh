# End to end on Xen, the workflow of Qubes OS's Assigning Devices page: a device assigned with
# qpci's commands really works inside a VM. Runs in the dom0 of tests/kernel/run-guest --xen
# --libvirt --domu (busybox sh, as root): Xen 4.17, Debian's kernel as PV dom0, libvirtd with its
# libxl driver, the default topology (an e1000e at 01:00.0 behind the root port 1c.0, reset "pm
# bus"; an e1000 at 00:07.0 on the root bus, no reset method), each on a QEMU user network whose
# gateway is 10.0.2.2. The VMs boot $QPCI_DOMU_KERNEL and $QPCI_DOMU_INITRD
# (tests/kernel/domu-init.sh), which report on their console, /var/log/xen/console/guest-NAME.log,
# as "QPCI-DOMU [uptime] PASS|FAIL|INFO ..." lines. Four domU boots: sys-net (the e1000e), sys-net2
# (the same e1000e once sys-net is down, then hot-plugs), sys-usb (the xHCI at 00:0d.0 with its
# keyboard and the e1000, both without a reset: given through libxl, which upstream libvirt would
# refuse).
#
# Only qpci's commands act (qvm-create, qvm-pci, qvm-prefs, qvm-start, qvm-shutdown); virsh, xl
# and sysfs only look. Prints TAP, one line per check with its wall time; after a failure, what
# libvirt, libxl, Xen's console daemon and the kernel logged. Exits non-zero when a check failed.

# find_dev, driver_of, the timed checks, the consoles' readers and dom0_ping from guest-lib.sh.
. ./guest-lib.sh
check() { e2e_check "$@"; }
T0=$(now)
console_of() { echo "/var/log/xen/console/guest-$1.log"; }
xml_of() { virsh -c xen:///system dumpxml "$1" >/tmp/"$1".xml 2>&1; }
xl_has() { xl pci-list "$1" 2>&1 | grep -q "$2"; }

diagnose() {
        note "----- what the daemons and the kernel logged -----"
        note "xl list:"; xl list 2>&1 | sed 's/^/#   /'
        note "pciback slots: $(tr '\n' ' ' </sys/bus/pci/drivers/pciback/slots 2>/dev/null)"
        note "pciback permissive: $(tr '\n' ' ' </sys/bus/pci/drivers/pciback/permissive 2>/dev/null)"
        note "libvirtd.log (without what every start says here):"
        grep -v -E 'dmidecode|^$|: info : ' /var/log/libvirt/libvirtd.log 2>/dev/null | sed 's/^/#   /'
        note "libvirt's libxl-driver.log:"
        tail -n 40 /var/log/libvirt/libxl/libxl-driver.log 2>/dev/null | sed 's/^/#   /'
        for vm in sys-net sys-net2 sys-usb; do
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

# --- sys-net: the Assigning Devices page's workflow with the e1000e ----------------------------
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

mark_console sys-net
check "qvm-start sys-net" qvm-start sys-net
started=$(now)
check "...sys-net is running" is_state sys-net Running
check "...the e1000e is on pciback in dom0" on_driver "$E1000E" pciback
check "qvm-pci: sys-net under USED BY" sh -c "qvm-pci | grep -q '^$NIC .* sys-net\$'"
if wait_for sys-net DONE 180 >/tmp/out 2>&1; then
        result ok "sys-net's domU has booted and reported" "$started"
        show_said sys-net
        check "...its /proc/cmdline has the kernelopts" domu_has sys-net "INFO cmdline .*iommu=soft swiotlb=8192"
        check "...the e1000e is there, bound to e1000e" domu_has sys-net "INFO pci 8086:10d3 e1000e"
        check "...its link is up" domu_has sys-net "PASS net [^ ]* 8086:10d3 e1000e link"
        check "...it got a DHCP lease from QEMU's user network" domu_has sys-net "PASS net [^ ]* 8086:10d3 e1000e dhcp"
        check "...it pings the gateway 10.0.2.2" domu_has sys-net "PASS net [^ ]* 8086:10d3 e1000e ping 10.0.2.2"
else
        result fail "sys-net's domU has booted and reported" "$started"
        sed 's/^/#   /' /tmp/out
fi

# A device assigned to two VMs, used by one running VM at a time (the Assigning Devices page).
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
gone() { i=0; while [ $i -lt 60 ] && xl list | grep -q "^$1 "; do usleep 500000; i=$((i + 1)); done; }
gone sys-net
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
gone "$winner"

# Once the first is down, the second VM gets the device, and it works there.
mark_console sys-net2
check "qvm-start sys-net2 once sys-net is down" qvm-start sys-net2
started=$(now)
check "...qvm-pci: sys-net2 under USED BY" sh -c "qvm-pci | grep -q '^$NIC .* sys-net, sys-net2\$'"
if wait_for sys-net2 DONE 180 >/tmp/out 2>&1; then
        result ok "sys-net2's domU has booted and reported" "$started"
        show_said sys-net2
        check "...the e1000e is there, bound to e1000e" domu_has sys-net2 "INFO pci 8086:10d3 e1000e"
        check "...it pings the gateway 10.0.2.2" domu_has sys-net2 "PASS net [^ ]* 8086:10d3 e1000e ping 10.0.2.2"
else
        result fail "sys-net2's domU has booted and reported" "$started"
        sed 's/^/#   /' /tmp/out
fi

# --- hot-plug into the running sys-net2 -----------------------------------------------------------
# The e1000 on bus 00 has no reset: libvirt would refuse to hot-plug it into a Xen domain, so qpci
# gives it through libxl; libvirt's XML of the domain does not show it, qpci's metadata does.
check "qvm-pci attach sys-net2 $ROOTNIC (hot) without no-strict-reset is refused" \
        sh -c "! qvm-pci attach sys-net2 $ROOTNIC 2>/tmp/err && grep -q 'has no reliable reset' /tmp/err"
mark_console sys-net2
check "qvm-pci attach -o no-strict-reset=True sys-net2 $ROOTNIC: hot-plug into the running VM" \
        qvm-pci attach -o no-strict-reset=True sys-net2 "$ROOTNIC"
plugged=$(now)
check "...Xen has given it to sys-net2 (xl pci-list)" xl_has sys-net2 0000:00:07.0
check "...it is on pciback in dom0" on_driver "$E1000" pciback
check "...USED BY: sys-net2 (no-strict-reset=True)" sh -c "qvm-pci | grep -q '^$ROOTNIC .* sys-net2 (no-strict-reset=True)\$'"
check "...qvm-pci list sys-net2 shows both devices" \
        sh -c "qvm-pci list sys-net2 >/tmp/l && grep -q '^$ROOTNIC ' /tmp/l && grep -q '^$NIC ' /tmp/l || { cat /tmp/l; false; }"
if wait_for sys-net2 "PASS|FAIL net [^ ]* 8086:100e e1000 ping" 90 >/tmp/out 2>&1; then
        result ok "sys-net2's domU has found the e1000 (a hot-plug round)" "$plugged"
        show_said sys-net2
        check "...bound to e1000" domu_has sys-net2 "INFO pci 8086:100e e1000"
        check "...it pings the gateway 10.0.2.2" domu_has sys-net2 "PASS net [^ ]* 8086:100e e1000 ping 10.0.2.2"
else
        result fail "sys-net2's domU has found the e1000 (a hot-plug round)" "$plugged"
        sed 's/^/#   /' /tmp/out
fi
check "qvm-start sys-net while sys-net2 has the e1000e is still refused" \
        sh -c "! qvm-start sys-net 2>/tmp/err && grep -q 'in use by the running VM sys-net2' /tmp/err"
mark_console sys-net2
check "qvm-pci detach sys-net2 $ROOTNIC: hot-unplug" qvm-pci detach sys-net2 "$ROOTNIC"
check "...Xen has taken it back (xl pci-list)" sh -c "! xl pci-list sys-net2 | grep 0000:00:07.0"
check "...sys-net2's domU saw it go" wait_for sys-net2 "INFO gone" 30
check "...it stays on pciback" on_driver "$E1000" pciback
check "...USED BY no longer names sys-net2 for it" sh -c "! qvm-pci | grep '^$ROOTNIC .*sys-net2'"

# The e1000e, which libvirt can reset: unplugged and plugged again by libvirt.
mark_console sys-net2
check "qvm-pci detach sys-net2 $NIC: hot-unplug" qvm-pci detach sys-net2 "$NIC"
check "...Xen has taken it back (xl pci-list)" sh -c "! xl pci-list sys-net2 | grep 0000:01:00.0"
check "...sys-net2's domU saw it go" wait_for sys-net2 "INFO gone" 30
check "...it stays on pciback" on_driver "$E1000E" pciback
mark_console sys-net2
check "qvm-pci attach sys-net2 $NIC: hot-plug" qvm-pci attach sys-net2 "$NIC"
plugged=$(now)
xml_of sys-net2
check "...libvirt's XML of the running sys-net2 has it" grep -q "bus='0x01' slot='0x00' function='0x0'" /tmp/sys-net2.xml
check "...and sys-net2's definition does not (not --persistent)" \
        sh -c "virsh -c xen:///system dumpxml --inactive sys-net2 | grep -q \"<hostdev\" && exit 1 || exit 0"
check "...sys-net2's domU pings the gateway through it" wait_for sys-net2 "PASS net [^ ]* 8086:10d3 e1000e ping 10.0.2.2" 90
check "qvm-shutdown --wait sys-net2" qvm-shutdown --wait sys-net2
gone sys-net2
check "...USED BY: only sys-net has the e1000e now" sh -c "qvm-pci | grep -q '^$NIC .* sys-net\$'"
check "qvm-remove sys-net2" qvm-remove sys-net2

# --- sys-usb: the page's USB controller, with the no-strict-reset e1000 --------------------------
# Both on bus 00, with no reset method: upstream libvirt refuses to start a Xen domain with a host
# device it cannot reset; qpci's option is the user's word that it may be used without, and qpci
# gives them through libxl.
XHCI=$(find_dev 0x1b36:0x000d)
XHCIID=$(ident "$XHCI")
check "qvm-create sys-usb" qvm-create sys-usb --kernel "$QPCI_DOMU_KERNEL" --initrd "$QPCI_DOMU_INITRD" --memory 160
# Strict reset at qvm-start: a VM-wide pci_strictreset False lets the e1000 in, True again refuses.
check "qvm-prefs sys-usb pci_strictreset False, then attach --persistent $ROOTNIC without options" \
        sh -c "qvm-prefs sys-usb pci_strictreset False && qvm-pci attach --persistent sys-usb $ROOTNIC"
check "qvm-prefs sys-usb pci_strictreset True" qvm-prefs sys-usb pci_strictreset True
check "...qvm-start sys-usb is refused: no reliable reset, and what to do" \
        sh -c "! qvm-start sys-usb 2>/tmp/err && grep -q 'has no reliable reset' /tmp/err && grep -q 'no-strict-reset=True' /tmp/err || { cat /tmp/err; false; }"
check "...sys-usb stays halted" is_state sys-usb Halted
check "...the e1000 has not moved (still on pciback since sys-net2)" on_driver "$E1000" pciback
check "qvm-pci attach --persistent -o no-strict-reset=True sys-usb $ROOTNIC warns that sys-net2 used it without a reliable reset" \
        sh -c "qvm-pci attach --persistent -o no-strict-reset=True sys-usb $ROOTNIC 2>&1 | grep -q 'was used by sys-net2 without a reliable reset'"
# The keyboard on the xHCI, as lsusb prints it: which controller must sys-usb get?
kbd=""
for u in /sys/bus/usb/devices/*; do
        [ "$(cat "$u/product" 2>/dev/null)" = "QEMU USB Keyboard" ] &&
                kbd=$(printf 'Bus %03d Device %03d: ID %s:%s QEMU QEMU USB Keyboard' "$(cat "$u/busnum")" "$(cat "$u/devnum")" \
                        "$(cat "$u/idVendor")" "$(cat "$u/idProduct")")
done
note "lsusb would say: $kbd"
check "qvm-pci usb \"$kbd\" names the xHCI $XHCIID" sh -c "qvm-pci usb '$kbd' >/tmp/usb && head -n 1 /tmp/usb | grep -q '^$XHCIID ' || { cat /tmp/usb; false; }"
check "qvm-pci attach --persistent -o no-strict-reset=True -o permissive=True sys-usb $XHCIID" \
        qvm-pci attach --persistent -o no-strict-reset=True -o permissive=True sys-usb "$XHCIID"
check "...USED BY: sys-usb (no-strict-reset=True, permissive=True)" \
        sh -c "qvm-pci | grep -q '^$XHCIID .* sys-usb (no-strict-reset=True, permissive=True)\$'"
mark_console sys-usb
check "qvm-start sys-usb" qvm-start sys-usb
started=$(now)
check "...sys-usb is running" is_state sys-usb Running
check "...Xen has given it both devices (xl pci-list)" sh -c "xl pci-list sys-usb | grep -q 0000:00:07.0 && xl pci-list sys-usb | grep -q 0000:00:0d.0"
check "...the xHCI is in pciback's permissive list" grep -q 0000:00:0d.0 /sys/bus/pci/drivers/pciback/permissive
check "...the e1000 is not" sh -c "! grep 0000:00:07.0 /sys/bus/pci/drivers/pciback/permissive"
check "...USED BY: sys-usb (no-strict-reset=True) for the e1000" sh -c "qvm-pci | grep -q '^$ROOTNIC .* sys-usb (no-strict-reset=True)\$'"
# The first device is there at boot; the others are hot-plugged once its PCI frontend is up.
if wait_for sys-usb "PASS|FAIL net [^ ]* 8086:100e e1000 ping" 180 >/tmp/out 2>&1 &&
        wait_for sys-usb "INFO usb 0627:0001" 90 >>/tmp/out 2>&1; then
        result ok "sys-usb's domU has booted and reported both devices" "$started"
        show_said sys-usb
        check "...the e1000 is there, bound to e1000" domu_has sys-usb "INFO pci 8086:100e e1000"
        check "...it pings the gateway 10.0.2.2" domu_has sys-usb "PASS net [^ ]* 8086:100e e1000 ping 10.0.2.2"
        check "...the xHCI is there, bound to xhci_hcd" domu_has sys-usb "INFO pci 1b36:000d xhci_hcd"
        check "...the keyboard behind it has enumerated (0627:0001)" domu_has sys-usb "INFO usb 0627:0001"
else
        result fail "sys-usb's domU has booted and reported both devices" "$started"
        sed 's/^/#   /' /tmp/out
fi
check "another VM with the xHCI cannot start while sys-usb runs: qpci names sys-usb (libvirt does not know it has it)" \
        sh -c "qvm-pci attach -p -o no-strict-reset=True sys-net $XHCIID && ! qvm-start sys-net 2>/tmp/err && grep -q 'in use by the running VM sys-usb' /tmp/err || { cat /tmp/err; false; }"
check "...qvm-pci unassign sys-net $XHCIID" qvm-pci unassign sys-net "$XHCIID"
mark_console sys-usb
check "qvm-pci detach sys-usb $XHCIID: hot-unplug through libxl" qvm-pci detach sys-usb "$XHCIID"
check "...Xen has taken it back (xl pci-list)" sh -c "! xl pci-list sys-usb | grep 0000:00:0d.0"
check "...sys-usb's domU saw it go" wait_for sys-usb "INFO gone" 30
check "...it is no longer in pciback's permissive list (a later VM must not inherit it)" \
        sh -c "! grep 0000:00:0d.0 /sys/bus/pci/drivers/pciback/permissive"
check "...it stays on pciback" on_driver "$XHCI" pciback
check "qvm-shutdown --wait sys-usb" qvm-shutdown --wait sys-usb
check "...Xen has no sys-usb domain any more" sh -c '! xl list | grep "^sys-usb "'
check "...the e1000 stays on pciback" on_driver "$E1000" pciback

# --- giving back -----------------------------------------------------------------------------------
# Both NICs were in domains, so both are in Xen's quarantine: one unhide takes them out with one load
# of libxenctrl (it brings eight libraries, each costly to load on a PV dom0).
check "qvm-pci unhide $NIC $ROOTNIC: out of Xen's quarantine with libxenctrl loaded once" \
        sh -c "LD_DEBUG=libs qvm-pci unhide $NIC $ROOTNIC 2>/tmp/libs && [ \$(grep -c 'calling init: .*libxenctrl' /tmp/libs) = 1 ] ||
                { grep 'calling init: .*libxenctrl\|qvm-pci' /tmp/libs; false; }"
check "...the e1000e is back on e1000e" on_driver "$E1000E" e1000e
check "...the e1000 is back on e1000" on_driver "$E1000" e1000
check "...and works in dom0: it pings 10.0.2.2" dom0_ping "$E1000E"
check "qvm-pci unhide $XHCIID" qvm-pci unhide "$XHCIID"
check "...the xHCI is back on xhci_hcd" on_driver "$XHCI" xhci_hcd
check "...and the keyboard enumerates in dom0 again" sh -c 'i=0; while [ $i -lt 50 ]; do grep -qx "QEMU USB Keyboard" /sys/bus/usb/devices/*/product 2>/dev/null && exit 0; usleep 200000; i=$((i + 1)); done; exit 1'

note "the whole scenario: $(since "$T0") s"
[ $failed = 0 ] || diagnose
echo "1..$n"
[ $failed = 0 ]
