# Booted with intel_iommu=off (tests/meson.build): vfio-pci cannot take a device, and qpci must say
# why before it moves anything. Prints TAP.
n=0 failed=0
check() { d=$1; shift; n=$((n + 1)); if "$@" >/tmp/out 2>&1; then echo "ok $n - $d"; else failed=$((failed + 1)); echo "not ok $n - $d"; sed 's/^/# /' /tmp/out; fi; }
for d in /sys/bus/pci/devices/*; do [ "$(cat $d/vendor):$(cat $d/device)" = 0x8086:0x10d3 ] && E=$(basename $d); done
check "no IOMMU groups with the IOMMU off" sh -c "[ ! -e /sys/bus/pci/devices/$E/iommu_group ]"
check "hide is refused" sh -c "! qvm-pci hide $E 2>/tmp/err"
check "...saying the IOMMU is off and how to turn it on" grep -q "no IOMMU group: the IOMMU is off or missing (boot with intel_iommu=on" /tmp/err
check "...and the e1000e stayed on e1000e" sh -c "[ \$(basename \$(readlink /sys/bus/pci/devices/$E/driver)) = e1000e ]"
check "...with no override left behind" sh -c "[ \$(cat /sys/bus/pci/devices/$E/driver_override) = '(null)' ]"
check "qvm-pci info says it has no IOMMU group" sh -c "qvm-pci info $E | grep -q 'iommu group   none'"
echo "1..$n"
[ $failed -eq 0 ]
