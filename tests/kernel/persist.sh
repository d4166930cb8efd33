# qvm-pci hide --persistent across reboots (run three times by tests/kernel/persist-run, with udev
# doing the coldplug and /etc/udev/rules.d and /var/lib/qpci on a disk that outlives the guest).
# Boot 1 hides the e1000e persistently; boot 2 finds it on vfio-pci without e1000e ever having
# probed it, and unhides it; boot 3 finds it on e1000e again. Prints TAP without numbers.
check() { d=$1; shift; if "$@" >/tmp/out 2>&1; then echo "ok - $d"; else echo "not ok - $d"; sed 's/^/# /' /tmp/out; fi; }
for d in /sys/bus/pci/devices/*; do [ "$(cat $d/vendor):$(cat $d/device)" = 0x8086:0x10d3 ] && E=$(basename $d); done
drv() { basename "$(readlink /sys/bus/pci/devices/$1/driver)" 2>/dev/null; }
RULES=/etc/udev/rules.d/40-qpci-hide.rules
boot=$(cat /persist/boot 2>/dev/null || echo 1)
echo $((boot + 1)) > /persist/boot
case $boot in
1)
        check "boot 1: the e1000e came up on e1000e (udev coldplug)" [ "$(drv $E)" = e1000e ]
        check "boot 1: hide --persistent" sh -c "qvm-pci hide --persistent $E | grep -q 'kept hidden across reboots by /etc/udev/rules.d/40-qpci-hide.rules'"
        check "boot 1: it is on vfio-pci" [ "$(drv $E)" = vfio-pci ]
        check "boot 1: the rule names it and its ids" grep -q "KERNEL==\"$E\", ATTR{vendor}==\"0x8086\", ATTR{device}==\"0x10d3\", ATTR{driver_override}=\"vfio-pci\"" $RULES
        ;;
2)
        check "boot 2: the e1000e is on vfio-pci after the boot" [ "$(drv $E)" = vfio-pci ]
        check "boot 2: udev loaded e1000e's module all the same" grep -q "^e1000e " /proc/modules
        check "boot 2: e1000e never took the device (no probe in the kernel log)" sh -c "! dmesg | grep -q 'e1000e $E'"
        check "boot 2: list -v says qpci hid it, from e1000e" sh -c "qvm-pci list -v | grep dom0:01_00.0 | grep -q 'hidden: vfio-pci (by qpci, from e1000e)'"
        check "boot 2: unhide" qvm-pci unhide "$E"
        check "boot 2: it is on e1000e" [ "$(drv $E)" = e1000e ]
        check "boot 2: the rule file is gone" [ ! -e $RULES ]
        ;;
3)
        check "boot 3: the e1000e came up on e1000e again" [ "$(drv $E)" = e1000e ]
        check "boot 3: and the kernel log shows e1000e probing it (boot 2's check can fail)" sh -c "dmesg | grep -q 'e1000e $E'"
        check "boot 3: no rule, no record" sh -c "[ ! -e $RULES ] && ! qvm-pci list -v | grep -q 'by qpci'"
        ;;
esac
sync
cd /
umount /persist
