# qpci's pciback path on a real Xen dom0 (run by tests/kernel/run-guest --xen --script, busybox
# sh, as root): Xen 4.17 with Debian's kernel as its PV dom0, the default topology (ICH9 USB: UHCI
# 1a.0, 1a.1, EHCI 1a.7, one multi-function device; an e1000e behind the root port 1c.0, reset
# "pm bus"; QEMU's edu, which no host driver claims). A PV dom0 sees no IOMMU (Xen owns it), so
# there are no IOMMU groups: only the USB companion rule ties functions together. Prints TAP;
# exits non-zero when a check failed.

. ./guest-lib.sh
PB=/sys/bus/pci/drivers/pciback
in_slots() { grep -qx "$1" $PB/slots; }
not_in_slots() { ! grep -qx "$1" $PB/slots; }
is_permissive() { grep -qx "$1" $PB/permissive; }
state_is() { # bdf, the STATE column qvm-pci list -v should show for it
        qvm-pci list -v >/tmp/list.out || return 1
        id="dom0:$(echo "$1" | sed 's/^0000://; s/:/_/')"
        grep "^$id " /tmp/list.out | grep -q "$2" || { grep "^$id " /tmp/list.out; return 1; }
}

default_topology

# --- the dom0 ----------------------------------------------------------------------------------
check "/proc/xen/capabilities says control_d" grep -qx control_d /proc/xen/capabilities
[ -d $PB ] && echo "# xen-pciback was loaded before qpci ran"

# --- the inventory -------------------------------------------------------------------------------
check "qvm-pci list works" sh -c "qvm-pci list >/tmp/list0"
check "it lists the ICH9 UHCI at 00:1a.0" \
        grep -q '^dom0:00_1a.0 *USB controller: Intel Corporation 82801I (ICH9 Family) USB UHCI Controller #1' /tmp/list0
check "...and its EHCI at 00:1a.7" \
        grep -q '^dom0:00_1a.7 *USB controller: Intel Corporation 82801I (ICH9 Family) USB2 EHCI Controller #1' /tmp/list0
check "list -v: UHCI 1 on its host driver" state_is "$UHCI1" "host: uhci_hcd"

# --- hide: the USB functions move together, to pciback by default ----------------------------------
check "hiding one USB function alone is refused" sh -c "! qvm-pci hide $UHCI1 2>/tmp/err"
check "...naming its companions" sh -c "grep -q 'one USB controller' /tmp/err && grep -q $EHCI /tmp/err"
check "...and nothing moved" sh -c "[ \$(basename \$(readlink /sys/bus/pci/devices/$UHCI1/driver)) = uhci_hcd ]"
check "hide --with-group (no --driver) takes all three" qvm-pci hide --with-group "$UHCI1"
check "qpci loaded xen-pciback itself: $PB exists" [ -d $PB ]
check "pciback has new_slot, remove_slot, slots, permissive" \
        sh -c "cd $PB && [ -e new_slot ] && [ -e remove_slot ] && [ -e slots ] && [ -e permissive ]"
check "UHCI 1 on pciback" is_on "$UHCI1" pciback
check "UHCI 2 on pciback" is_on "$UHCI2" pciback
check "EHCI on pciback" is_on "$EHCI" pciback
echo "# driver_override: $UHCI1 $(override_of $UHCI1), $UHCI2 $(override_of $UHCI2), $EHCI $(override_of $EHCI)"
check "pciback's slots list all three" sh -c "grep -qx $UHCI1 $PB/slots && grep -qx $UHCI2 $PB/slots && grep -qx $EHCI $PB/slots"
check "list -v: UHCI 1 hidden on pciback by qpci, from uhci_hcd" state_is "$UHCI1" "hidden: pciback (by qpci, from uhci_hcd)"
check "list -v: EHCI hidden on pciback by qpci, from ehci-pci" state_is "$EHCI" "hidden: pciback (by qpci, from ehci-pci)"
check "info says the same" sh -c "qvm-pci info $UHCI1 | grep -q 'state  *hidden: pciback (by qpci, from uhci_hcd)'"
check "hiding them again changes nothing" sh -c "qvm-pci hide --with-group $UHCI1 && [ \$(basename \$(readlink /sys/bus/pci/devices/$UHCI1/driver)) = pciback ]"

# --- permissive ---------------------------------------------------------------------------------------
check "permissive $UHCI1" sh -c "qvm-pci permissive $UHCI1 >/tmp/out 2>&1"
check "...says so, with the warning" sh -c "grep -q 'is permissive' /tmp/out && grep -q 'weakens' /tmp/out"
check "pciback's permissive lists it" is_permissive "$UHCI1"
check "...and only it" sh -c "! grep -qx $UHCI2 $PB/permissive && ! grep -qx $EHCI $PB/permissive"
check "list -v: UHCI 1 hidden on pciback, permissive" sh -c "qvm-pci list -v | grep -q '^dom0:00_1a.0 .*hidden: pciback (by qpci, from uhci_hcd), permissive'"
check "list --json: pciback_slot and pciback_permissive" sh -c "qvm-pci info --json $UHCI1 | grep -q '\"pciback_slot\": true' && qvm-pci info --json $UHCI1 | grep -q '\"pciback_permissive\": true'"
check "permissive --off: pciback no longer lists it" sh -c "qvm-pci permissive --off $UHCI1 >/dev/null && ! grep -qx $UHCI1 $PB/permissive"
check "...and it is still on pciback" is_on "$UHCI1" pciback
check "permissive again" sh -c "qvm-pci permissive $UHCI1 >/dev/null 2>&1 && grep -qx $UHCI1 $PB/permissive"
check "permissive of a device on its host driver is refused" sh -c "! qvm-pci permissive $E1000E 2>/tmp/err && grep -q 'not on pciback' /tmp/err"

# --- unhide: back to the host drivers ----------------------------------------------------------------
check "unhide all three" sh -c "qvm-pci unhide $UHCI1 $UHCI2 $EHCI >/tmp/out 2>&1"
sed 's/^/# /' /tmp/out
check "UHCI 1 back on uhci_hcd" is_on "$UHCI1" uhci_hcd
check "UHCI 2 back on uhci_hcd" is_on "$UHCI2" uhci_hcd
check "EHCI back on ehci-pci" is_on "$EHCI" ehci-pci
check "their overrides are cleared" sh -c "[ \"\$(cat /sys/bus/pci/devices/$UHCI1/driver_override)\" = '(null)' ] && [ \"\$(cat /sys/bus/pci/devices/$EHCI/driver_override)\" = '(null)' ]"
check "the EHCI's USB bus is back" sh -c "ls -d /sys/bus/pci/devices/$EHCI/usb* >/dev/null"
check "pciback's permissive no longer lists UHCI 1" sh -c "! grep -qx $UHCI1 $PB/permissive"
check "list -v: UHCI 1 on its host driver again" state_is "$UHCI1" "host: uhci_hcd"
# pciback keeps every device it took in its slot list (a probe through driver_override adds it) and
# then takes it again at the next probe, whatever driver_override says: unhide must remove_slot.
check "pciback's slots no longer list them (remove_slot)" sh -c "! grep -qx $UHCI1 $PB/slots && ! grep -qx $UHCI2 $PB/slots && ! grep -qx $EHCI $PB/slots"
cp $PB/slots /tmp/slots.after
[ -s /tmp/slots.after ] && sed 's/^/# pciback slots: /' /tmp/slots.after

# --- a device no host driver claims ------------------------------------------------------------------
check "edu has no driver" has_no_driver "$EDU"
check "hide edu" qvm-pci hide "$EDU"
check "edu on pciback" is_on "$EDU" pciback
check "permissive edu" sh -c "qvm-pci permissive $EDU >/dev/null 2>&1 && grep -qx $EDU $PB/permissive"
check "unhide edu" sh -c "qvm-pci unhide $EDU >/tmp/out 2>&1"
sed 's/^/# /' /tmp/out
check "edu has no driver again (pciback did not take it back)" has_no_driver "$EDU"
check "pciback's slots no longer list edu" not_in_slots "$EDU"
check "list -v: edu free" state_is "$EDU" "free"
# Whatever unhide did, leave edu free for what follows.
if ! has_no_driver "$EDU"; then
        dmesg | grep -E "pciback $EDU" | tail -n 6 | sed 's/^/# dmesg: /'
        echo "# pciback slots: $(cat $PB/slots | tr '\n' ' ')"
        echo "$EDU" >$PB/remove_slot 2>/dev/null
        echo "$EDU" >$PB/unbind 2>/dev/null
fi

# --- reset ------------------------------------------------------------------------------------------------
check "e1000e starts on e1000e" is_on "$E1000E" e1000e
check "reset the e1000e on its host driver, and say how" sh -c "qvm-pci reset $E1000E | grep -Eq 'reset with (pm|bus|flr)'"
check "reset_method is the kernel's list again" [ "$(cat /sys/bus/pci/devices/$E1000E/reset_method)" = "pm bus" ]
check "hide the e1000e (alone: no IOMMU groups in a PV dom0)" qvm-pci hide "$E1000E"
check "it is on pciback" is_on "$E1000E" pciback
check "list -v: hidden on pciback by qpci, from e1000e" state_is "$E1000E" "hidden: pciback (by qpci, from e1000e)"
check "reset it on pciback" sh -c "qvm-pci reset $E1000E | grep -Eq 'reset with (pm|bus|flr)'"
check "reset_method is the kernel's list again" [ "$(cat /sys/bus/pci/devices/$E1000E/reset_method)" = "pm bus" ]
check "it is still on pciback" is_on "$E1000E" pciback
check "reset of a USB function on the root bus is refused (no method)" sh -c "! qvm-pci reset $UHCI1"
check "unhide the e1000e" sh -c "qvm-pci unhide $E1000E | grep -q 'back on the host, driver e1000e'"
check "it is on e1000e again" is_on "$E1000E" e1000e
check "its network interface is back" sh -c "ls /sys/bus/pci/devices/$E1000E/net/ | grep -q ."
check "unhide of a host device is refused" sh -c "! qvm-pci unhide $E1000E"
# A host driver whose module is not loaded when the device comes back (as after a boot with the
# device hidden): unhide loads it from the modalias, unless pciback takes the device back first.
qvm-pci hide "$E1000E" >/dev/null 2>&1
rmmod e1000e 2>/dev/null
check "e1000e hidden again, its module unloaded" sh -c "[ \$(basename \$(readlink /sys/bus/pci/devices/$E1000E/driver)) = pciback ] && ! grep -q '^e1000e ' /proc/modules"
check "unhide loads e1000e from the modalias" sh -c "qvm-pci unhide $E1000E >/tmp/out 2>&1 && grep -q '^e1000e ' /proc/modules"
sed 's/^/# /' /tmp/out
check "it is on e1000e again" is_on "$E1000E" e1000e
if ! is_on "$E1000E" e1000e; then
        echo "$E1000E" >$PB/remove_slot 2>/dev/null
        echo "$E1000E" >$PB/unbind 2>/dev/null
        modprobe e1000e
        echo "$E1000E" >/sys/bus/pci/drivers_probe 2>/dev/null
fi

# --- killed mid-move: the next command puts everything back ------------------------------------------
kill_hides pciback 0 20000 80000 160000 320000 640000
echo "# $recovered of $i kills landed mid-move and were recovered"
# One that surely lands mid-move: killed as soon as qpci's first write (the EHCI's override) shows.
qvm-pci hide --with-group "$UHCI1" >/dev/null 2>&1 &
pid=$!
while [ "$(override_of "$EHCI")" != pciback ] && kill -0 $pid 2>/dev/null; do :; done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
check "killed right after its first write, the hide is put back by the next command" \
        sh -c "qvm-pci list 2>&1 >/dev/null | grep -q 'interrupted: putting 3 device(s) back'"
check "...all three on their host drivers, no override left" sh -c "is_on() { [ \"\$(basename \"\$(readlink /sys/bus/pci/devices/\$1/driver)\")\" = \$2 ]; };
        is_on $UHCI1 uhci_hcd && is_on $UHCI2 uhci_hcd && is_on $EHCI ehci-pci && [ \"\$(cat /sys/bus/pci/devices/$EHCI/driver_override)\" = '(null)' ]"
check "no device is left recorded as hidden by qpci" sh -c "! qvm-pci list -v | grep -q 'by qpci'"

echo "1..$n"
[ $failed -eq 0 ]
