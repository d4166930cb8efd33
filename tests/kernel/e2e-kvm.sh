# End to end on QEMU/KVM's side, the workflow of Qubes OS's Assigning Devices page: devices assigned
# with qpci's commands really work inside a VM. Runs in the plain guest of tests/kernel/run-guest
# --libvirt --domu (busybox sh, as root): Debian's kernel on q35 with an emulated Intel IOMMU,
# libvirtd with its QEMU driver (qemu:///system), the default topology (an e1000e at 01:00.0 behind
# the root port 1c.0, reset "pm bus", on a QEMU user network whose gateway is 10.0.2.2; a qemu-xhci
# at 00:0d.0 on the root bus, no reset method, with a usb-kbd 0627:0001). The VMs are QEMU under TCG
# inside this guest (no KVM in an emulated machine: libvirt's domain type 'qemu', the same driver
# and the same VFIO as KVM), booting $QPCI_DOMU_KERNEL and $QPCI_DOMU_INITRD
# (tests/kernel/domu-init.sh), which report on their serial console,
# /var/log/libvirt/qemu/NAME-console.log, as "QPCI-DOMU [uptime] PASS|FAIL|INFO ..." lines. Each VM
# boot costs 60 to 100 s here, so the checks share two boots: sys-net (the NIC and the xHCI), then
# sys-net2 (the NIC, then the xHCI hot-plugged).
#
# Only qpci's commands act (qvm-create, qvm-pci, qvm-prefs, qvm-start, qvm-shutdown, qvm-remove);
# virsh and sysfs only look. Prints TAP, one line per check with its wall time; after a failure,
# what libvirt and QEMU logged, the VMs' consoles and the kernel's log. Exits non-zero when a check
# failed.

# TAP, timed checks, VM states and consoles, sysfs: guest-lib.sh.
. ./guest-lib.sh
check() { e2e_check "$@"; }
T0=$(now)
URI=qemu:///system
console_of() { echo "/var/log/libvirt/qemu/$1-console.log"; }
# usb_kbd_under BDF: the sysfs folder of the usb-kbd (0627:0001) behind that host controller.
usb_kbd_under() {
        for u in /sys/bus/usb/devices/*; do
                [ -e "$u/idVendor" ] || continue
                case $(readlink -f "$u") in */"$1"/*) ;; *) continue ;; esac
                [ "$(cat "$u/idVendor"):$(cat "$u/idProduct")" = 0627:0001 ] && { echo "$u"; return 0; }
        done
        return 1
}
# host_kbd_within BDF SECONDS: the keyboard is back on the host behind that controller.
host_kbd_within() {
        i=0
        while [ $i -lt $(($2 * 10)) ]; do
                usb_kbd_under "$1" >/dev/null && return 0
                usleep 100000
                i=$((i + 1))
        done
        echo "no 0627:0001 behind $1 after $2 s; USB devices: $(ls /sys/bus/usb/devices | tr '\n' ' ')"
        return 1
}

diagnose() {
        note "----- what the daemons and the kernel logged -----"
        note "virsh list --all:"; virsh -c $URI list --all 2>&1 | sed 's/^/#   /'
        note "libvirtd.log (without what every start says here):"
        grep -v -E 'dmidecode|^$|: info : ' /var/log/libvirt/libvirtd.log 2>/dev/null | tail -n 40 | sed 's/^/#   /'
        for vm in sys-net sys-net2; do
                if [ -f "/var/log/libvirt/qemu/$vm.log" ]; then
                        note "/var/log/libvirt/qemu/$vm.log (QEMU's command line and stderr), the end:"
                        tail -n 20 "/var/log/libvirt/qemu/$vm.log" | sed 's/^/#   /'
                fi
                if [ -f "$(console_of "$vm")" ]; then
                        note "$vm's console, the end:"
                        tail -n 25 "$(console_of "$vm")" | tr -d '\r' | sed 's/^/#   /'
                fi
                virsh -c $URI dumpxml "$vm" >/tmp/dump.xml 2>&1 &&
                        { note "virsh dumpxml $vm:"; sed 's/^/#   /' /tmp/dump.xml; }
        done
        note "the guest's kernel, the end:"
        dmesg | tail -n 25 | sed 's/^/#   /'
}
finish() {
        note "the whole scenario: $(since "$T0") s"
        [ $failed = 0 ] || diagnose
        echo "1..$n"
        [ $failed = 0 ]
        exit
}
# show_domu VM: what the VM reported, as comments.
show_domu() { grep -a 'QPCI-DOMU' "$(console_of "$1")" | tr -d '\r' | sed 's/^/# /'; }

E1000E=$(find_dev 0x8086:0x10d3)
XHCI=$(find_dev 0x1b36:0x000d)
note "e1000e $E1000E, qemu-xhci $XHCI; guest uptime $T0 s at the start"
if [ -z "$E1000E" ] || [ -z "$XHCI" ] || [ -z "$QPCI_DOMU_KERNEL" ] || ! usb_kbd_under "$XHCI" >/dev/null; then
        echo "not ok 1 - the default topology with its usb-kbd, and the VM (run-guest --libvirt --domu)"
        echo "1..1"
        exit 1
fi
NIC=$(ident "$E1000E")
USB=$(ident "$XHCI")

# --- the host -----------------------------------------------------------------------------------
check "libvirtd answers on $URI (its QEMU driver loaded)" virsh -c $URI list
check "qvm-create sys-net --kernel ... --initrd ... --memory 256, qpci choosing $URI by itself" \
        sh -c "env -u LIBVIRT_DEFAULT_URI qvm-create sys-net --kernel '$QPCI_DOMU_KERNEL' --initrd '$QPCI_DOMU_INITRD' --memory 256 &&
               virsh -c $URI domstate sys-net | grep -qx 'shut off'"
xml_of sys-net
# No /dev/kvm in an emulated machine: libvirt offers TCG only, and qpci takes what it offers.
check "...defines a q35 domain of type qemu" \
        sh -c "grep -q \"<domain type='qemu'\" /tmp/sys-net.xml && grep -q \"machine='pc-q35\" /tmp/sys-net.xml || { cat /tmp/sys-net.xml; false; }"
check "...booting that kernel and initramfs with 256 MiB" \
        sh -c "grep -q '<kernel>$QPCI_DOMU_KERNEL</kernel>' /tmp/sys-net.xml && grep -q '<initrd>$QPCI_DOMU_INITRD</initrd>' /tmp/sys-net.xml && grep -q \"<memory unit='KiB'>262144<\" /tmp/sys-net.xml || { cat /tmp/sys-net.xml; false; }"

check "qvm-pci attach --persistent sys-net $NIC (the e1000e behind the root port)" \
        qvm-pci attach --persistent sys-net "$NIC"
xml_of sys-net
check "...a <hostdev managed='no'> with VFIO in sys-net's definition" \
        sh -c "grep -q \"<hostdev mode='subsystem' type='pci' managed='no'>\" /tmp/sys-net.xml && grep -q \"<driver name='vfio'/>\" /tmp/sys-net.xml && grep -q \"bus='0x01' slot='0x00' function='0x0'\" /tmp/sys-net.xml || { cat /tmp/sys-net.xml; false; }"
check "...it stays on its host driver while sys-net is halted" on_driver "$E1000E" e1000e
# quiet: the VM's serial port is emulated twice over; a kernel that prints its whole boot there
# takes seconds longer.
check "qvm-prefs sys-net kernelopts \"iommu=soft swiotlb=8192 quiet\"" qvm-prefs sys-net kernelopts "iommu=soft swiotlb=8192 quiet"

# The USB controller, found from a line of lsusb as a user would paste it (no lsusb here: the line
# is made from the keyboard's sysfs folder, as lsusb makes it).
kbd=$(usb_kbd_under "$XHCI")
line=$(printf 'Bus %03d Device %03d: ID 0627:0001 %s %s' "$(cat "$kbd/busnum")" "$(cat "$kbd/devnum")" \
        "$(cat "$kbd/manufacturer" 2>/dev/null)" "$(cat "$kbd/product" 2>/dev/null)")
note "lsusb: $line"
check "qvm-pci usb \"$line\" names the qemu-xhci $USB" \
        sh -c "qvm-pci usb '$line' >/tmp/usb && head -n 1 /tmp/usb | grep -q '^$USB ' && grep -q '^ *\* .*0627:0001' /tmp/usb || { cat /tmp/usb; false; }"

# On the root bus with no reset method: qpci's strict-reset rule (libvirt would not refuse it with
# VFIO, which leaves resets to the kernel).
t=$(now)
if qvm-pci attach --persistent sys-net "$USB" >/tmp/refused 2>&1; then
        result fail "attaching the xHCI on bus 00 without no-strict-reset is refused" "$t"
        sed 's/^/#   /' /tmp/refused
else
        result ok "attaching the xHCI on bus 00 without no-strict-reset is refused" "$t"
fi
check "...saying why: no reliable reset" grep -q 'has no reliable reset' /tmp/refused
check "...and what to do: -o no-strict-reset=True" grep -q 'no-strict-reset=True' /tmp/refused
xml_of sys-net
check "...and sys-net has not got it" has_not /tmp/sys-net.xml "bus='0x00' slot='0x0d'"
check "qvm-pci attach --persistent -o no-strict-reset=True sys-net $USB is accepted" \
        qvm-pci attach --persistent -o no-strict-reset=True sys-net "$USB"
check "...qvm-pci: sys-net (no-strict-reset=True) under USED BY" \
        sh -c "qvm-pci >/tmp/list && grep -q '^$USB .* sys-net (no-strict-reset=True)\$' /tmp/list || { cat /tmp/list; false; }"
check "...qvm-prefs sys-net kernelopts kept" sh -c '[ "$(qvm-prefs sys-net kernelopts)" = "iommu=soft swiotlb=8192 quiet" ]'

check "qvm-start sys-net" qvm-start sys-net
started=$(now)
check "...sys-net is running" is_state sys-net Running
check "...the e1000e is on vfio-pci in the guest" on_driver "$E1000E" vfio-pci
check "...the xHCI is on vfio-pci in the guest" on_driver "$XHCI" vfio-pci
# QEMU cannot use a VFIO group without an IOMMU backend ("No available IOMMU models"); nothing here
# loads vfio_iommu_type1 but qpci's load of vfio-pci through libkmod, which follows vfio's softdep
# as modprobe does (busybox's modprobe would not).
check "...vfio_iommu_type1 is loaded (vfio's softdep, followed by qpci's module load)" test -d /sys/module/vfio_iommu_type1
check "qvm-pci: sys-net under USED BY of the e1000e" sh -c "qvm-pci | grep -q '^$NIC .* sys-net\$'"

# While sys-net boots: a second VM with the same NIC (the Assigning Devices page: one running VM at
# a time).
check "qvm-create sys-net2" qvm-create sys-net2 --kernel "$QPCI_DOMU_KERNEL" --initrd "$QPCI_DOMU_INITRD" --memory 256
check "qvm-pci attach --persistent sys-net2 $NIC: a device may be assigned to several VMs" \
        qvm-pci attach --persistent sys-net2 "$NIC"
check "qvm-prefs sys-net2 kernelopts \"iommu=soft swiotlb=8192 quiet\"" qvm-prefs sys-net2 kernelopts "iommu=soft swiotlb=8192 quiet"
check "qvm-start sys-net2 while sys-net runs is refused, naming sys-net" \
        sh -c "! qvm-start sys-net2 2>/tmp/err && grep -q 'in use by the running VM sys-net' /tmp/err || { cat /tmp/err; false; }"
check "...and sys-net2 stays halted" is_state sys-net2 Halted

if wait_domu sys-net 1 360 >/tmp/out 2>&1; then
        result ok "sys-net has booted and reported" "$started"
        show_domu sys-net
        check "...its /proc/cmdline has the kernelopts" domu_has sys-net "INFO cmdline .*iommu=soft swiotlb=8192"
        check_domu_nic sys-net
        check "...the xHCI is there, bound to xhci_hcd" domu_has sys-net "INFO pci 1b36:000d xhci_hcd"
        check "...and the keyboard behind it enumerates (0627:0001)" domu_has sys-net "INFO usb 0627:0001"
else
        result fail "sys-net has booted and reported" "$started"
        sed 's/^/#   /' /tmp/out
fi

check "qvm-shutdown --wait sys-net" qvm-shutdown --wait sys-net
check "...sys-net is halted" is_state sys-net Halted
check "...QEMU is gone (virsh: shut off)" sh -c "virsh -c $URI domstate sys-net | grep -qx 'shut off'"
check "...the e1000e stays on vfio-pci (never handed back by itself)" on_driver "$E1000E" vfio-pci
check "...so does the xHCI" on_driver "$XHCI" vfio-pci

check "qvm-start sys-net2, now that sys-net is halted" qvm-start sys-net2
started=$(now)
check "...sys-net2 is running" is_state sys-net2 Running
check "...the e1000e is on vfio-pci" on_driver "$E1000E" vfio-pci
check "qvm-pci: sys-net2 among USED BY of the e1000e" sh -c "qvm-pci | grep -q '^$NIC .*sys-net2'"
if wait_domu sys-net2 1 360 >/tmp/out 2>&1; then
        result ok "sys-net2 has booted and reported" "$started"
        show_domu sys-net2
        check_domu_nic sys-net2
        # qpci's domains have no emulated USB controller: an xHCI in the VM is the one given to it.
        check "...and has no xHCI and no keyboard yet" \
                sh -c "! grep -a -e 'INFO pci 1b36:000d' -e 'INFO usb 0627:0001' '$(console_of sys-net2)'"

        # Hot-plug into the running VM: no -p, the xHCI only for this run of sys-net2.
        check "qvm-pci attach -o no-strict-reset=True sys-net2 $USB (sys-net2 running)" \
                qvm-pci attach -o no-strict-reset=True sys-net2 "$USB"
        plugged=$(now)
        check "...the running sys-net2 has it" has_hostdev sys-net2 00 0d
        check "...its definition has not (not persistent)" \
                sh -c "virsh -c $URI dumpxml --inactive sys-net2 >/tmp/def.xml && ! grep \"bus='0x00' slot='0x0d'\" /tmp/def.xml"
        if wait_domu sys-net2 2 180 >/tmp/out 2>&1; then
                result ok "sys-net2 saw the xHCI arrive and reported again" "$plugged"
                check "...bound to xhci_hcd" sh -c "grep -a 'QPCI-DOMU' '$(console_of sys-net2)' | sed -n '/DONE/,\$p' | grep -q 'INFO pci 1b36:000d xhci_hcd'"
                check "...and the keyboard behind it enumerates (0627:0001)" domu_has sys-net2 "INFO usb 0627:0001"
        else
                result fail "sys-net2 saw the xHCI arrive and reported again" "$plugged"
                sed 's/^/#   /' /tmp/out
        fi
        check "qvm-pci detach sys-net2 $USB (hot unplug)" qvm-pci detach sys-net2 "$USB"
        check "...sys-net2 has let it go" gone_within sys-net2 00 0d 60
        unplugged=$(now)
        if wait_domu sys-net2 3 120 >/tmp/out 2>&1; then
                result ok "sys-net2 saw it go and reported again" "$unplugged"
                check "...its PCI function is gone from the VM" wait_for sys-net2 "INFO gone 0000:" 60
        else
                result fail "sys-net2 saw it go and reported again" "$unplugged"
                sed 's/^/#   /' /tmp/out
        fi
        check "...the xHCI stays on vfio-pci" on_driver "$XHCI" vfio-pci
else
        result fail "sys-net2 has booted and reported" "$started"
        sed 's/^/#   /' /tmp/out
fi
check "qvm-shutdown --wait sys-net2" qvm-shutdown --wait sys-net2
check "...sys-net2 is halted" is_state sys-net2 Halted

# --- back to the host ---------------------------------------------------------------------------
check "qvm-pci detach of the halted sys-net2 says to unassign, and changes nothing" \
        sh -c "! qvm-pci detach sys-net2 2>/tmp/err && grep -q 'qvm-pci unassign sys-net2' /tmp/err && qvm-pci -l sys-net2 | grep -q '[0-9a-f]' || { cat /tmp/err; false; }"
check "qvm-pci unassign sys-net2, qvm-remove sys-net2" sh -c "qvm-pci unassign sys-net2 && qvm-remove sys-net2"
check "qvm-pci unassign sys-net (both devices)" qvm-pci unassign sys-net
check "...qvm-pci: nothing under USED BY" sh -c "qvm-pci >/tmp/list && ! grep -E '^($NIC|$USB) .*sys-net' /tmp/list || { cat /tmp/list; false; }"
check "qvm-pci unhide $NIC" qvm-pci unhide "$NIC"
check "...the e1000e is back on e1000e" on_driver "$E1000E" e1000e
check "...and works in the guest: it pings 10.0.2.2" dom0_ping "$E1000E"
check "qvm-pci unhide $USB" qvm-pci unhide "$USB"
check "...the xHCI is back on xhci_hcd" on_driver "$XHCI" xhci_hcd
check "...and its keyboard is the guest's again" host_kbd_within "$XHCI" 15
finish
