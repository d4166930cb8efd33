# shellcheck shell=sh
# qpci's PCI paths (Qubes R4.3's port ids) against a real kernel's sysfs: run by
# tests/kernel/run-guest --script (busybox sh, as root), in any topology; kernel-paths gives it one
# with switches, bridges and a root bus other than 00. For every function the path is computed here
# the way Qubes R4.3 does it (the link into /sys/devices, each bus relative to the decimal
# secondary_bus_number of the bridge above) and compared with qvm-pci's; then qvm-pci info finds the
# function by it. Read-only. Prints TAP; exits non-zero when a check failed.

. ./guest-lib.sh

qvm-pci --json >/tmp/paths.json 2>/tmp/paths.err
check "qvm-pci --json exits 0" [ $? = 0 ]
check "qvm-pci --json says nothing on stderr" [ ! -s /tmp/paths.err ]
# One "bdf port_id" line per function, in the order listed.
awk '/"bdf":/ { gsub(/[",]/, "", $2); b = $2 } /"port_id":/ { gsub(/[",]/, "", $2); print b, $2 }' \
        /tmp/paths.json >/tmp/paths.got
deep=0
count=0
for d in /sys/bus/pci/devices/*; do
        bdf=${d##*/}
        count=$((count + 1))
        sysfs_path "$bdf"; want=$R
        got=""
        while read -r b p; do [ "$b" = "$bdf" ] && got=$p; done </tmp/paths.got
        if [ "$want" = "$got" ]; then
                ok "$bdf: port_id $want, as computed from sysfs"
        else
                not_ok "$bdf: port_id $want, as computed from sysfs"
                echo "#   got: '$got'"
        fi
        case $want in *-*-*) deep=$((deep + 1)) ;; esac
        qvm-pci info "dom0:$want" >/tmp/paths.info 2>&1
        rc=$?
        read -r first _ </tmp/paths.info
        id=${bdf#0000:}
        id=dom0:$(echo "$id" | tr : _)
        if [ "$rc $first" = "0 $id" ]; then
                ok "qvm-pci info dom0:$want is $bdf"
        else
                not_ok "qvm-pci info dom0:$want is $bdf"
                diag </tmp/paths.info
        fi
done
check "every function of sysfs is listed ($count)" [ "$(wc -l </tmp/paths.got)" -eq "$count" ]
echo "# $deep functions sit two bridges or more below their root bus"
# A topology built for this test says how deep it goes, so that a QEMU that dropped a switch fails.
min=""
for w in $(cat /proc/cmdline); do case $w in qpci.paths_min_deep=*) min=${w#*=} ;; esac; done
[ -n "$min" ] && check "at least $min of them" [ "$deep" -ge "$min" ]

echo "1..$n"
[ $failed -eq 0 ]
