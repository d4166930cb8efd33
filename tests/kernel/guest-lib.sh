# shellcheck shell=sh
# What the guest scripts share (busybox sh): TAP, and a PCI function's facts from sysfs. run-guest
# puts it beside every script, which sources it: . ./guest-lib.sh

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/#   /'; }
# check DESCRIPTION COMMAND...: one test passing when the command does; its output when it fails.
check() {
        d=$1
        shift
        if "$@" >/tmp/check.out 2>&1; then ok "$d"; else not_ok "$d"; diag </tmp/check.out; fi
}

# Devices by vendor:device: QEMU may number slots differently from one version to the next.
find_dev() {
        for d in /sys/bus/pci/devices/*; do
                if [ "$(cat "$d/vendor"):$(cat "$d/device")" = "$1" ]; then
                        basename "$d"
                        return 0
                fi
        done
        return 1
}
driver_of() { [ -e "/sys/bus/pci/devices/$1/driver" ] && basename "$(readlink "/sys/bus/pci/devices/$1/driver")"; }
override_of() { cat "/sys/bus/pci/devices/$1/driver_override"; }
is_on() { [ "$(driver_of "$1")" = "$2" ]; }
has_no_driver() { [ ! -e "/sys/bus/pci/devices/$1/driver" ]; }

# default_topology: E1000E, UHCI1, UHCI2, EHCI, EDU from run-guest's default devices; a script
# without all of them stops at once, failing.
default_topology() {
        E1000E=$(find_dev 0x8086:0x10d3)
        UHCI1=$(find_dev 0x8086:0x2934)
        UHCI2=$(find_dev 0x8086:0x2935)
        EHCI=$(find_dev 0x8086:0x293a)
        EDU=$(find_dev 0x1234:0x11e8)
        echo "# e1000e $E1000E, uhci $UHCI1 $UHCI2, ehci $EHCI, edu $EDU"
        [ -n "$E1000E" ] && [ -n "$UHCI1" ] && [ -n "$UHCI2" ] && [ -n "$EHCI" ] && [ -n "$EDU" ] ||
                { echo "not ok 1 - default topology"; echo "1..1"; exit 1; }
}

# kill_hides STUB DELAY...: the USB trio's hide (UHCI1, UHCI2, EHCI) killed with SIGKILL after each
# delay (microseconds); after each, the next command must leave all three hidden on STUB, or all
# three on their host drivers with no override. Sets $i (kills) and $recovered (those that landed
# mid-move, put back by the next command).
kill_hides() {
        stub=$1
        shift
        i=0
        recovered=0
        for delay in "$@"; do
                qvm-pci hide --with-group "$UHCI1" >/dev/null 2>&1 &
                pid=$!
                usleep "$delay"
                kill -9 $pid 2>/dev/null
                wait $pid 2>/dev/null
                qvm-pci list >/dev/null 2>/tmp/recovery
                how="it had not begun moving"
                if grep -q "interrupted: putting 3 device(s) back" /tmp/recovery; then
                        how="the next command put them back"
                        recovered=$((recovered + 1))
                fi
                a=$(driver_of "$UHCI1") b=$(driver_of "$UHCI2") c=$(driver_of "$EHCI")
                if [ "$a/$b/$c" = "$stub/$stub/$stub" ]; then
                        ok "killed after ${delay}us: the hide had finished, all three on $stub"
                        qvm-pci unhide "$UHCI1" "$UHCI2" "$EHCI" >/dev/null || not_ok "unhide after the kill"
                elif [ "$a/$b/$c" = uhci_hcd/uhci_hcd/ehci-pci ] && [ "$(override_of "$UHCI1")" = "(null)" ]; then
                        ok "killed after ${delay}us: all three on their host drivers ($how)"
                else
                        not_ok "killed after ${delay}us: half-moved ($a/$b/$c)"
                        diag </tmp/recovery
                fi
                i=$((i + 1))
        done
}

# --- the end-to-end scripts (e2e-*.sh): each check timed, VMs and their consoles ----------------
# A script defines console_of VM (the file its VM's console is logged to) and, to time its checks,
# check() { e2e_check "$@"; }.
now() { cut -d' ' -f1 /proc/uptime; }
since() { echo "$1 $(now)" | awk '{ printf "%.1f", $2 - $1 }'; }
result() { # ok|fail, description, start time
        n=$((n + 1))
        if [ "$1" = ok ]; then
                echo "ok $n - $2 ($(since "$3") s)"
        else
                failed=$((failed + 1))
                echo "not ok $n - $2 ($(since "$3") s)"
        fi
}
# e2e_check DESCRIPTION COMMAND...: the command's output goes to /tmp/out, shown after a failure.
e2e_check() {
        d=$1 t=$(now)
        shift
        if "$@" >/tmp/out 2>&1; then result ok "$d" "$t"; else result fail "$d" "$t"; sed 's/^/#   /' /tmp/out; fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
note() { echo "# $*"; }

on_driver() { is_on "$1" "$2" || { echo "$1 is on '$(driver_of "$1")', not $2"; return 1; }; }
ident() { echo "dom0:$(echo "$1" | sed 's/^0000://; s/:/_/')"; }
has_not() { ! grep -E "$2" "$1"; }
state_of() { qvm-ls | awk -v vm="$1" '$1 == vm { print $2 }'; }
is_state() { [ "$(state_of "$1")" = "$2" ] || { qvm-ls; return 1; }; }
# What a VM said (its console, without QEMU's carriage returns), since mark_console VM if that was
# called: a domain's console file keeps every boot of it.
mark_console() { echo $(($(cat "$(console_of "$1")" 2>/dev/null | wc -l))) >"/tmp/mark-$1"; }
said() { tail -n +$(($(cat "/tmp/mark-$1" 2>/dev/null || echo 0) + 1)) "$(console_of "$1")" 2>/dev/null | tr -d '\r'; }
show_said() { said "$1" | grep -a 'QPCI-DOMU' | sed 's/^/# /'; }
# wait_domu VM N SECONDS: until the VM has said its Nth DONE (a round of checks over).
wait_domu() {
        i=0
        while [ $i -lt $(($3 * 2)) ]; do
                [ "$(said "$1" | grep -ac 'QPCI-DOMU .* DONE')" -ge "$2" ] && return 0
                usleep 500000
                i=$((i + 1))
        done
        echo "no DONE from $1 within $3 s; its console:"
        said "$1"
        return 1
}
# wait_for VM ERE SECONDS: until the VM says a line "QPCI-DOMU [uptime] ERE...".
wait_for() {
        i=0
        while [ $i -lt $(($3 * 2)) ]; do
                said "$1" | grep -aqE "^QPCI-DOMU \[[0-9.]*\] $2" && return 0
                usleep 500000
                i=$((i + 1))
        done
        echo "no /$2/ from $1 within $3 s; what it said:"
        said "$1"
        return 1
}
# The VM's XML (live when it runs) in /tmp/VM.xml, from libvirt at $URI (the script sets it).
xml_of() { virsh -c "$URI" dumpxml "$1" >/tmp/"$1".xml 2>&1; }
# has_hostdev VM BUS SLOT: the VM's XML gives it the host's function at that address.
has_hostdev() { xml_of "$1" && grep -qE "<address domain='0x0000' bus='0x$2' slot='0x$3' function='0x0'/>" /tmp/"$1".xml; }
# gone_within VM BUS SLOT SECONDS: until the running VM's XML no longer has that device (a hot
# unplug ends when the VM's kernel has let the device go).
gone_within() {
        i=0
        while [ $i -lt $(($4 * 2)) ]; do
                has_hostdev "$1" "$2" "$3" || return 0
                usleep 500000
                i=$((i + 1))
        done
        echo "$1 still has $2:$3 after $4 s:"
        cat /tmp/"$1".xml
        return 1
}
domu_has() { # VM, extended regular expression after "QPCI-DOMU [uptime] "
        said "$1" | grep -aqE "^QPCI-DOMU \[[0-9.]*\] $2" && return 0
        echo "no /$2/ from $1:"
        said "$1" | grep -a 'QPCI-DOMU'
        return 1
}
# check_domu_nic VM: the e1000e (8086:10d3) works in a VM that has reported (domu-init.sh): bound to
# e1000e, its link up, a DHCP lease from QEMU's user network, and the gateway 10.0.2.2 answers.
check_domu_nic() {
        check "...the e1000e is there, bound to e1000e" domu_has "$1" "INFO pci 8086:10d3 e1000e"
        check "...its link is up" domu_has "$1" "PASS net [^ ]* 8086:10d3 e1000e link"
        check "...it got a DHCP lease from QEMU's user network" domu_has "$1" "PASS net [^ ]* 8086:10d3 e1000e dhcp"
        check "...it pings the gateway 10.0.2.2" domu_has "$1" "PASS net [^ ]* 8086:10d3 e1000e ping 10.0.2.2"
}
# dom0_ping BDF: the NIC's interface on the host (the guest, or Xen's dom0), up with QEMU's usual
# address, pings its gateway.
dom0_ping() {
        ifc=$(ls "/sys/bus/pci/devices/$1/net" 2>/dev/null | head -n 1)
        [ -n "$ifc" ] || { echo "$1 has no network interface on the host"; return 1; }
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

# sysfs_path BDF -> $R: the function's PCI path (Qubes R4.3's port id) from /sys alone, the way
# Qubes computes it: the chain of functions in its /sys/devices link, the first with its own bus,
# each other with its bus relative to the decimal secondary_bus_number of the one above; SSSS_
# first on a segment other than 0000.
# (Under $QPCI_ROOT when set, to check it on fixture trees too.)
sysfs_path() {
        sp_sys=${QPCI_ROOT-}/sys
        sp_full=$(readlink -f "$sp_sys/bus/pci/devices/$1")
        sp_rest=${sp_full#"$sp_sys"/devices/pci}
        sp_seg=${sp_rest%%:*}
        sp_rest=${sp_rest#*/}
        R="" sp_off=0
        sp_ifs=$IFS
        IFS=/
        for sp_comp in $sp_rest; do
                IFS=$sp_ifs
                sp_bdf=${sp_comp#*:}
                R="$R${R:+-}$(printf '%02x_%s' $((0x${sp_bdf%%:*} - sp_off)) "${sp_bdf#*:}")"
                sp_off=-1
                [ -e "$sp_sys/bus/pci/devices/$sp_comp/secondary_bus_number" ] &&
                        read -r sp_off <"$sp_sys/bus/pci/devices/$sp_comp/secondary_bus_number"
                IFS=/
        done
        IFS=$sp_ifs
        [ "$sp_seg" = 0000 ] || R="${sp_seg}_$R"
}
