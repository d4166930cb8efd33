# qvm-pci hide/permissive --persistent on a Xen dom0, across reboots (run three times by
# tests/kernel/xen-persist-run: run-guest --xen --udev, /etc/udev/rules.d and /var/lib/qpci on a
# disk that outlives the guest). pciback is the default stub on a dom0.
# Boot 1 hides the e1000e and the ICH9 USB trio persistently and makes the e1000e permissive
# persistently; boot 2 finds all four on pciback without their dom0 drivers ever having probed
# them, the e1000e permissive again, and unhides them; boot 3 finds them on their dom0 drivers,
# nothing permissive and no rule. Prints TAP without numbers (the runner numbers it).
check() { desc=$1; shift; if "$@" >/tmp/out 2>&1; then echo "ok - $desc"; else echo "not ok - $desc"; sed 's/^/# /' /tmp/out; fi; }
find_dev() { for d in /sys/bus/pci/devices/*; do [ "$(cat $d/vendor):$(cat $d/device)" = "$1" ] && basename $d; done; }
E=$(find_dev 0x8086:0x10d3)
U1=$(find_dev 0x8086:0x2934)
U2=$(find_dev 0x8086:0x2935)
EH=$(find_dev 0x8086:0x293a)
drv() { basename "$(readlink /sys/bus/pci/devices/$1/driver)" 2>/dev/null; }
all_on() { # driver, devices...: each is on it (names those that are not)
        ao_want=$1; shift; ao_bad=""
        for x in "$@"; do [ "$(drv $x)" = "$ao_want" ] || ao_bad="$ao_bad $x:$(drv $x)"; done
        [ -z "$ao_bad" ] || { echo "not on $ao_want:$ao_bad"; return 1; }
}
PB=/sys/bus/pci/drivers/pciback
RULES=/etc/udev/rules.d/40-qpci-hide.rules
# The kernel log lines of a driver's probe of a device ("e1000e 0000:01:00.0: ...").
probed() { dmesg | grep -E "(^|\] )$1 $2[: ]"; }
never_probed() { # driver, devices...
        np_drv=$1; shift; r=0
        for x in "$@"; do probed "$np_drv" "$x" && r=1; done
        return $r
}
seized() { for x in "$@"; do dmesg | grep -q "pciback $x: xen_pciback: seizing device" || { echo "no 'pciback $x: xen_pciback: seizing device'"; return 1; }; done; }
state() { qvm-pci list -v | grep "^dom0:$(echo "$1" | sed 's/^0000://; s/:/_/') " | grep -F "$2" || { qvm-pci list -v; return 1; }; }
boot=$(cat /persist/boot 2>/dev/null || echo 1)
echo $((boot + 1)) > /persist/boot
echo "# boot $boot: e1000e $E, uhci $U1 $U2, ehci $EH; $(cat /proc/xen/capabilities)"
case $boot in
1)
        check "boot 1: a Xen dom0 (control_d), pciback not loaded" sh -c "grep -qx control_d /proc/xen/capabilities && [ ! -d $PB ]"
        check "boot 1: udev's coldplug gave the e1000e to e1000e" all_on e1000e $E
        check "boot 1: ...the UHCIs to uhci_hcd and the EHCI to ehci-pci" eval "all_on uhci_hcd $U1 $U2 && all_on ehci-pci $EH"
        check "boot 1: hide --persistent the e1000e (pciback by default)" sh -c "qvm-pci hide --persistent $E >/tmp/h; cat /tmp/h; grep -q 'hidden on pciback' /tmp/h && grep -q 'kept hidden across reboots by /etc/udev/rules.d/40-qpci-hide.rules' /tmp/h"
        check "boot 1: hide --persistent --with-group the USB trio" sh -c "qvm-pci hide --persistent --with-group $U1 >/tmp/h; cat /tmp/h; grep -q 'kept hidden across reboots' /tmp/h"
        check "boot 1: all four are on pciback" all_on pciback $E $U1 $U2 $EH
        check "boot 1: permissive --persistent the e1000e" sh -c "qvm-pci permissive --persistent $E >/tmp/h 2>&1; cat /tmp/h; grep -q 'kept permissive whenever pciback takes it at boot' /tmp/h"
        check "boot 1: pciback's permissive lists it" grep -qx $E $PB/permissive
        check "boot 1: the rule sets driver_override=pciback for the e1000e and loads xen-pciback" \
                grep -q "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"$E\", ATTR{vendor}==\"0x8086\", ATTR{device}==\"0x10d3\", ATTR{driver_override}=\"pciback\", RUN{builtin}+=\"kmod load xen-pciback\", RUN+=\"/bin/sh -c 'echo \$kernel > /sys/bus/pci/drivers_probe'\"" $RULES
        check "boot 1: ...and for each USB function" sh -c "grep -q 'KERNEL==\"$U1\".*driver_override}=\"pciback\"' $RULES && grep -q 'KERNEL==\"$U2\".*driver_override}=\"pciback\"' $RULES && grep -q 'KERNEL==\"$EH\".*driver_override}=\"pciback\"' $RULES"
        check "boot 1: ...and writes the e1000e's permissive when pciback has it" \
                grep -q "ACTION==\"add|bind\", SUBSYSTEM==\"pci\", KERNEL==\"$E\", .*DRIVER==\"pciback\", RUN+=\"/bin/sh -c 'echo $E > /sys/bus/pci/drivers/pciback/permissive'\"" $RULES
        sed 's/^/# rules: /' $RULES
        ;;
2)
        check "boot 2: udev loaded xen-pciback" sh -c "grep -q '^xen_pciback ' /proc/modules && [ -d $PB ]"
        check "boot 2: the e1000e is on pciback after the boot" all_on pciback $E
        check "boot 2: ...and the USB trio" all_on pciback $U1 $U2 $EH
        check "boot 2: udev loaded their dom0 drivers' modules all the same" sh -c "grep -q '^e1000e ' /proc/modules && grep -q '^uhci_hcd ' /proc/modules && grep -q '^ehci_pci ' /proc/modules"
        check "boot 2: pciback seized each of them (kernel log)" seized $E $U1 $U2 $EH
        check "boot 2: e1000e never probed the e1000e (no e1000e line for it in the kernel log)" never_probed e1000e $E
        check "boot 2: uhci_hcd never probed the UHCIs" never_probed uhci_hcd $U1 $U2
        check "boot 2: ehci-pci never probed the EHCI" never_probed ehci-pci $EH
        check "boot 2: no USB bus came up on them" sh -c "! ls -d /sys/bus/pci/devices/$U1/usb* /sys/bus/pci/devices/$U2/usb* /sys/bus/pci/devices/$EH/usb* 2>/dev/null"
        check "boot 2: the e1000e has no network interface" sh -c "! ls /sys/bus/pci/devices/$E/net 2>/dev/null"
        check "boot 2: pciback's permissive lists the e1000e (the rule wrote it at boot)" grep -qx $E $PB/permissive
        check "boot 2: ...and only it" sh -c "! grep -qx $U1 $PB/permissive && ! grep -qx $U2 $PB/permissive && ! grep -qx $EH $PB/permissive"
        check "boot 2: list -v: the e1000e hidden: pciback (by qpci, from e1000e), permissive" state $E "hidden: pciback (by qpci, from e1000e), permissive"
        check "boot 2: list -v: UHCI 1 hidden: pciback (by qpci, from uhci_hcd)" state $U1 "hidden: pciback (by qpci, from uhci_hcd)"
        check "boot 2: list -v: the EHCI hidden: pciback (by qpci, from ehci-pci)" state $EH "hidden: pciback (by qpci, from ehci-pci)"
        dmesg | grep -E "pciback" | sed 's/^/# dmesg: /'
        check "boot 2: unhide the e1000e" sh -c "qvm-pci unhide $E >/tmp/h 2>&1; r=\$?; cat /tmp/h; exit \$r"
        check "boot 2: unhide the USB trio" sh -c "qvm-pci unhide $U1 $U2 $EH >/tmp/h 2>&1; r=\$?; cat /tmp/h; exit \$r"
        check "boot 2: the e1000e is on e1000e" all_on e1000e $E
        check "boot 2: the UHCIs on uhci_hcd, the EHCI on ehci-pci" eval "all_on uhci_hcd $U1 $U2 && all_on ehci-pci $EH"
        check "boot 2: pciback's permissive and slots no longer list the e1000e" sh -c "! grep -qx $E $PB/permissive && ! grep -qx $E $PB/slots"
        check "boot 2: the rule file is gone" [ ! -e $RULES ]
        ;;
3)
        check "boot 3: the e1000e came up on e1000e again" all_on e1000e $E
        check "boot 3: ...the UHCIs on uhci_hcd, the EHCI on ehci-pci" eval "all_on uhci_hcd $U1 $U2 && all_on ehci-pci $EH"
        check "boot 3: and the kernel log shows their drivers probing them (boot 2's checks can fail)" \
                sh -c "dmesg | grep -q 'e1000e $E' && dmesg | grep -q 'uhci_hcd $U1' && dmesg | grep -q 'ehci-pci $EH'"
        check "boot 3: nothing loaded xen-pciback, so nothing is permissive" sh -c "[ ! -d $PB ] || ! grep -qx $E $PB/permissive"
        check "boot 3: no rule, no record" sh -c "[ ! -e $RULES ] && ! qvm-pci list -v | grep -q 'by qpci'"
        check "boot 3: list -v: the e1000e is host: e1000e" state $E "host: e1000e"
        ;;
esac
sync
cd /
umount /persist
