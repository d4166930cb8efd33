# qpci's host engine on a real kernel (run by tests/kernel/run-guest --script, busybox sh, as root).
# The default topology: ICH9 USB (UHCI 1a.0, 1a.1, EHCI 1a.7: one multi-function device, one
# IOMMU group), an e1000e behind the root port 1c.0, a qemu-xhci, QEMU's edu (no host driver) and
# an e1000 on the root bus. Prints TAP; exits non-zero when a check failed.

. ./guest-lib.sh
group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

default_topology

# --- a single device, alone in its IOMMU group -------------------------------------------------
check "e1000e starts on e1000e" is_on "$E1000E" e1000e
check "hide the e1000e" qvm-pci hide "$E1000E"
check "it is on vfio-pci" is_on "$E1000E" vfio-pci
check "its override says vfio-pci" [ "$(override_of "$E1000E")" = vfio-pci ]
check "/dev/vfio/N exists for its group" [ -e "/dev/vfio/$(group_of "$E1000E")" ]
check "list -v says qpci hid it from e1000e" sh -c "qvm-pci list -v | grep -q 'hidden: vfio-pci (by qpci, from e1000e)'"
check "hiding it again changes nothing" qvm-pci hide "$E1000E"
check "unhide the e1000e" sh -c "qvm-pci unhide $E1000E | grep -q 'back on the host, driver e1000e'"
check "it is on e1000e again" is_on "$E1000E" e1000e
check "its override is cleared" [ "$(override_of "$E1000E")" = "(null)" ]
check "its network interface is back" sh -c "ls /sys/bus/pci/devices/$E1000E/net/ | grep -q ."
check "unhide of a host device is refused" sh -c "! qvm-pci unhide $E1000E"

# --- the group rule: the ICH9 USB functions share one IOMMU group --------------------------------
check "hiding one USB function alone is refused" sh -c "! qvm-pci hide $UHCI1 2>/tmp/err"
check "...naming the others of its IOMMU group" sh -c "grep -q 'shares IOMMU group' /tmp/err && grep -q $EHCI /tmp/err"
check "...and nothing moved" is_on "$UHCI1" uhci_hcd
check "hide --with-group takes all three" qvm-pci hide --with-group "$UHCI1"
check "UHCI 1 on vfio-pci" is_on "$UHCI1" vfio-pci
check "UHCI 2 on vfio-pci" is_on "$UHCI2" vfio-pci
check "EHCI on vfio-pci" is_on "$EHCI" vfio-pci
check "unhide all three" qvm-pci unhide "$UHCI1" "$UHCI2" "$EHCI"
check "UHCI back on uhci_hcd (module uhci-hcd, resolved from the modalias)" is_on "$UHCI1" uhci_hcd
check "EHCI back on ehci-pci" is_on "$EHCI" ehci-pci

# --- a device with no host driver -----------------------------------------------------------------
check "edu has no driver" [ -z "$(driver_of "$EDU")" ]
check "hide edu" qvm-pci hide "$EDU"
check "edu on vfio-pci" is_on "$EDU" vfio-pci
check "unhide edu: free again, as before" qvm-pci unhide "$EDU"
check "edu has no driver again" [ -z "$(driver_of "$EDU")" ]

# --- every device of the topology, round trip (with its group) ----------------------------------
for dev in /sys/bus/pci/devices/*; do
        bdf=$(basename "$dev")
        cls=$(cat "$dev/class")
        case "$cls" in 0x0600*|0x0604*) continue ;; esac # host bridge and bridges stay with the host
        grp=$(group_of "$bdf")
        before=""
        for m in /sys/kernel/iommu_groups/$grp/devices/*; do before="$before $(basename $m)=$(driver_of $(basename $m))"; done
        if ! qvm-pci hide --with-group "$bdf" >/tmp/out 2>&1; then
                not_ok "round trip $bdf: hide --with-group"; sed 's/^/# /' /tmp/out; continue
        fi
        all=1
        for m in /sys/kernel/iommu_groups/$grp/devices/*; do
                b=$(basename $m)
                case "$(cat $m/class)" in 0x0604*) continue ;; esac
                is_on "$b" vfio-pci || all=0
        done
        ids=$(for m in /sys/kernel/iommu_groups/$grp/devices/*; do case "$(cat $m/class)" in 0x0604*) ;; *) basename $m ;; esac; done)
        qvm-pci unhide $ids >/tmp/out 2>&1 || all=0
        after=""
        for m in /sys/kernel/iommu_groups/$grp/devices/*; do after="$after $(basename $m)=$(driver_of $(basename $m))"; done
        if [ $all = 1 ] && [ "$before" = "$after" ]; then
                ok "round trip $bdf (group $grp): all to vfio-pci and back to$before"
        else
                not_ok "round trip $bdf (group $grp): before$before, after$after"
                sed 's/^/# /' /tmp/out
        fi
done

# --- failures for real ----------------------------------------------------------------------------
check "pciback outside Xen: refused with the kernel's reason, nothing moved" \
        sh -c "! qvm-pci hide --driver pciback $E1000E 2>/tmp/err && grep -q xen-pciback /tmp/err && [ \$(basename \$(readlink /sys/bus/pci/devices/$E1000E/driver)) = e1000e ]"
check "reset the e1000e, and say how" sh -c "qvm-pci reset $E1000E | grep -Eq 'reset with (pm|bus|flr)'"
check "reset_method is the kernel's list again" [ "$(cat /sys/bus/pci/devices/$E1000E/reset_method)" = "pm bus" ]
check "reset of a USB function on the root bus is refused" sh -c "! qvm-pci reset $UHCI1"
qvm-pci hide "$E1000E" >/dev/null
check "permissive on vfio-pci is refused" sh -c "! qvm-pci permissive $E1000E 2>/tmp/err"
check "...saying it does not apply to VFIO" grep -q "does not apply to VFIO" /tmp/err
check "unhide after it" qvm-pci unhide "$E1000E"
check "(and it went back)" is_on "$E1000E" e1000e

# --- killed at many points: the next command puts everything back ---------------------------------
kill_hides vfio-pci 0 2000 5000 10000 20000 40000 80000 160000 240000 320000 480000 640000 960000 1280000
check "some kills landed mid-move and were recovered ($recovered of $i)" [ $recovered -gt 0 ]

# --- concurrent commands serialize --------------------------------------------------------------------
for k in 1 2 3; do
        qvm-pci hide "$E1000E" >/dev/null 2>&1 &
        qvm-pci hide --with-group "$UHCI1" >/dev/null 2>&1 &
        qvm-pci hide "$EDU" >/dev/null 2>&1 &
        wait
done
check "three concurrent hides, three times: all hidden" \
        sh -c "[ \$(basename \$(readlink /sys/bus/pci/devices/$E1000E/driver)) = vfio-pci ] && [ \$(basename \$(readlink /sys/bus/pci/devices/$EHCI/driver)) = vfio-pci ] && [ \$(basename \$(readlink /sys/bus/pci/devices/$EDU/driver)) = vfio-pci ]"
qvm-pci unhide "$E1000E" >/dev/null 2>&1 &
qvm-pci unhide "$UHCI1" "$UHCI2" "$EHCI" >/dev/null 2>&1 &
qvm-pci unhide "$EDU" >/dev/null 2>&1 &
wait
check "three concurrent unhides: all back" \
        sh -c "[ \$(basename \$(readlink /sys/bus/pci/devices/$E1000E/driver)) = e1000e ] && [ \$(basename \$(readlink /sys/bus/pci/devices/$EHCI/driver)) = ehci-pci ] && [ ! -e /sys/bus/pci/devices/$EDU/driver ]"
check "no device is left recorded as hidden by qpci" sh -c "! qvm-pci list -v | grep -q 'by qpci'"

echo "1..$n"
[ $failed -eq 0 ]
