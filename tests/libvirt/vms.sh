#!/bin/bash
# qpci's VM tools against a real libvirt daemon (the private one of tests/libvirt/with-libvirtd):
# qvm-create, qvm-prefs (R4 and R3.2 forms), qvm-start of a VM that really boots and sees its
# kernelopts, qvm-shutdown, persistent assignments of a fixture host's devices and everything
# across a daemon restart, qvm-remove. No device of this machine is ever assigned: assignments
# name a fixture tree's devices (QPCI_ROOT), and qpci refuses to start a VM with them. TAP.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# The guest kernel is downloaded here when not cached: the namespaces have no network.
fetch_then_enter "$here/vms.sh" "$@"
bin=${QPCI_BIN:-$here/../../build/bin}
export PATH="$bin:$PATH"

work=$(mktemp -d "${TMPDIR:-/tmp}/qpci-libvirt-vms.XXXXXX")
trap 'rm -rf "$work"' EXIT

kernel=$(guest_kernel) || { echo "$kernel"; exit 1; }
guest_initrd "$work/initrd" 'QPCI-VM-CMDLINE: $(cat /proc/cmdline)'

fixture=$work/fixture
python3 "$here/../fixture/mkfixture.py" "$here/../topologies/seed-laptop.topo" "$fixture" >/dev/null ||
        bail "cannot build the fixture"
fx() { QPCI_ROOT=$fixture QPCI_PCI_IDS=$here/../data/pci.ids QPCI_HWDB=0 "$@"; }
xml() { virsh dumpxml --inactive "$1"; }
console_log() { echo "$QPCI_LIBVIRTD_DIR/log/qemu/$1-console.log"; }
wait_console() { # vm, text, seconds
        local i
        for ((i = 0; i < $3 * 10; i++)); do
                grep -aq "$2" "$(console_log "$1")" 2>/dev/null && return 0
                sleep 0.1
        done
        return 1
}

vm=sys-usb
check "qvm-create $vm" qvm-create --type qemu --kernel "$kernel" --initrd "$work/initrd" --memory 256 "$vm"
check "virsh sees it" virsh dominfo "$vm"
check "qvm-ls shows it halted with 256 MiB" bash -c "qvm-ls | grep -Eq '^$vm +Halted +256 *\$'"
expect_fail "qvm-create refuses a second $vm" "a VM named '$vm' exists already" \
        qvm-create --type qemu --kernel "$kernel" "$vm"
check "kernelopts default to nothing" test "$(qvm-prefs "$vm" kernelopts)" = ""
check "qvm-prefs sets the Assigning Devices page's DMA buffer" qvm-prefs "$vm" kernelopts "iommu=soft swiotlb=8192"
check "libvirt's cmdline has it after the console" \
        bash -c "virsh dumpxml --inactive $vm | grep -q '<cmdline>console=ttyS0 iommu=soft swiotlb=8192</cmdline>'"
check "R3.2: qvm-prefs -s VM vcpus 2" qvm-prefs -s "$vm" vcpus 2
check "R3.2: qvm-prefs -g VM vcpus says 2" test "$(qvm-prefs -g "$vm" vcpus)" = 2
check "R3.2: qvm-prefs VM -s pci_strictreset false" qvm-prefs "$vm" -s pci_strictreset false
check "the listing shows it and its defaults" bash -c "qvm-prefs $vm | grep -qx 'pci_strictreset  : False' &&
        qvm-prefs $vm | grep -qx 'maxmem           : 256 (default)'"
expect_fail "an unknown property is refused" "no such property: 'colour'" qvm-prefs "$vm" colour red
expect_fail "a bad memory size is refused" "invalid value 'lots' for memory" qvm-prefs "$vm" memory lots

# Assignments of the fixture's devices: definitions change, no device moves.
expect_fail "attach to a halted VM without -p: Qubes' message" \
        "VM not running, can only attach device with persistent flag" fx qvm-pci attach "$vm" dom0:00_1a.0
for f in 0 1 2; do
        check "qvm-pci attach -p $vm dom0:00_1a.$f" fx qvm-pci attach -p "$vm" "dom0:00_1a.$f"
done
check "the definition has three unmanaged hostdevs" test "$(xml "$vm" | grep -c "<hostdev mode='subsystem' type='pci' managed='no'>")" = 3
check "and qpci's metadata with the card's identity: its port and its device id" \
        bash -c "virsh dumpxml --inactive $vm | grep -q 'addr=\"0000:00:1a.1\" port=\"00_1a.1\" devid=\"0x8086:0x3a37::p0c0300\"'"
check "a VM with PCI devices gets no ballooning" \
        bash -c "virsh dumpxml --inactive $vm | grep -q \"<memory unit='KiB'>262144</memory>\""
check "R3.2: qvm-pci -a VM BB:DD.F (persistent)" fx qvm-pci -a "$vm" 00:1b.0
check "R3.2: qvm-pci -l VM lists four" test "$(fx qvm-pci -l "$vm")" = "['00:1a.0', '00:1a.1', '00:1a.2', '00:1b.0']"
check "R3.2: qvm-pci -d VM BB:DD.F" fx qvm-pci -d "$vm" 00:1b.0
check "R4.3: qvm-pci assign --required VM DEV (the same persistent assignment)" \
        fx qvm-pci assign --required "$vm" dom0:00_1b.0
check "qvm-pci -l VM lists it" test "$(fx qvm-pci -l "$vm")" = "['00:1a.0', '00:1a.1', '00:1a.2', '00:1b.0']"
check "R4.3: qvm-pci s -r -o no-strict-reset=True changes its option" \
        fx qvm-pci s -r -o no-strict-reset=True "$vm" 00:1b.0
check "the metadata has the option" \
        bash -c "virsh dumpxml --inactive $vm | grep 'addr=\"0000:00:1b.0\"' | grep -q 'no-strict-reset=\"True\"'"
expect_fail "an assign that is not required is refused with Qubes' reason" \
        "PCI devices cannot be assigned as not required" fx qvm-pci assign "$vm" 00:1b.0
check "R4.3: qvm-pci unassign VM DEV takes the assignment away" fx qvm-pci unassign "$vm" 00:1b.0
check "qvm-pci -l VM no longer lists it" test "$(fx qvm-pci -l "$vm")" = "['00:1a.0', '00:1a.1', '00:1a.2']"
xml_gone=$(mktemp); virsh dumpxml --inactive "$vm" >"$xml_gone"
sed -i "s|</devices>|<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x3e' slot='0x00' function='0x0'/></source></hostdev></devices>|" "$xml_gone"
check "an assignment of a device the host does not have (virsh define)" virsh define "$xml_gone"
check "qvm-pci list -s VM marks it missing" \
        bash -c "QPCI_ROOT=$fixture qvm-pci list -s $vm | grep -E '^dom0:3e_00.0 +any device \(missing from this host\) +\*$vm \(required\)\$'"
check "qvm-pci unassign VM DEV removes it all the same" fx qvm-pci unassign "$vm" dom0:3e_00.0
check "and only it" test "$(fx qvm-pci -l "$vm")" = "['00:1a.0', '00:1a.1', '00:1a.2']"
rm -f "$xml_gone"
check "qvm-pci shows $vm under USED BY" bash -c "QPCI_ROOT=$fixture qvm-pci | grep -E '^dom0:00_1a.1 .*  $vm\$'"

t=$(date +%s)
check "daemon restart" "$here/with-libvirtd" --restart
check "the assignments persist across it" test "$(fx qvm-pci -l "$vm")" = "['00:1a.0', '00:1a.1', '00:1a.2']"
check "the preferences too" test "$(qvm-prefs "$vm" kernelopts)" = "iommu=soft swiotlb=8192"
expect_fail "qvm-start refuses to give a fixture's devices to a VM" "qpci reads a fixture tree" fx qvm-start "$vm"
check "and the VM stays halted" test "$(virsh domstate "$vm")" = "shut off"
expect_fail "qvm-pci detach of a halted VM's required devices says to unassign them (Qubes #9373)" \
        "$vm is halted: its devices are assigned to it (required), not attached" fx qvm-pci detach "$vm"
expect_fail "and so for one of them, in R4.3's form" "to end the assignment: qvm-pci unassign $vm dom0:00_1a.1:0x8086:0x3a37::p0c0300" \
        fx qvm-pci detach "$vm" dom0:00_1a.1:0x8086:0x3a37::p0c0300
check "and changes nothing" test "$(fx qvm-pci -l "$vm")" = "['00:1a.0', '00:1a.1', '00:1a.2']"
check "R3.2: qvm-pci -d VM BB:DD.F still ends one (every R3.2 assignment was persistent)" fx qvm-pci -d "$vm" 00:1a.2
check "qvm-pci unassign $vm (all)" fx qvm-pci unassign "$vm"
check "no hostdev is left" test "$(xml "$vm" | grep -c '<hostdev')" = 0

# Qubes R4.3's identities at the start. A second fixture is the same laptop with another card in
# the slot behind the root port 00:1c.0; a third has the Realtek card behind root port 00:1c.4.
sed 's/^dev 0000:02:00.0 10ec:8168 /dev 0000:02:00.0 8086:10d3 /' "$here/../topologies/seed-laptop.topo" >"$work/swapped.topo"
sed -e 's/^dev 0000:02:00.0 10ec:8168 .*$/dev 0000:00:1c.4 8086:1e18 class=060400 rev=c4 driver=pcieport bridge=03-03 pcie=root_port pm msi group=11/' \
        "$here/../topologies/seed-laptop.topo" >"$work/moved.topo"
grep '^dev 0000:02:00.0 10ec:8168 ' "$here/../topologies/seed-laptop.topo" |
        sed 's/0000:02:00.0/0000:03:00.0/; s/parent=0000:00:1c.0/parent=0000:00:1c.4/; s/group=10/group=12/' >>"$work/moved.topo"
python3 "$here/../fixture/mkfixture.py" "$work/swapped.topo" "$work/swapped" >/dev/null &&
        python3 "$here/../fixture/mkfixture.py" "$work/moved.topo" "$work/moved" >/dev/null || bail "cannot build the fixtures"
in_fx() { local root=$1; shift; QPCI_ROOT=$root QPCI_PCI_IDS=$here/../data/pci.ids QPCI_HWDB=0 "$@"; }
check "qvm-create nic" qvm-create --type qemu --kernel "$kernel" --memory 128 nic
check "R4.3: qvm-pci assign -r nic by its PCI path" fx qvm-pci assign -r nic dom0:00_1c.0-00_00.0
check "recorded with its port and its device id" \
        bash -c "virsh dumpxml --inactive nic | grep -q 'port=\"00_1c.0-00_00.0\" devid=\"0x10ec:0x8168::p020000\"'" 
expect_fail "qvm-start with another card at the port: refused, naming what was assigned and what is there" \
        "dom0:00_1c.0-00_00.0 holds 0x8086:0x10d3::p020000, not the 0x10ec:0x8168::p020000 that was assigned to nic" \
        in_fx "$work/swapped" qvm-start nic
check "and nic stays halted" test "$(virsh domstate nic)" = "shut off"
check "R4.3: qvm-pci assign -r --port nic: the port, whatever is there" fx qvm-pci assign -r --port nic dom0:00_1c.0-00_00.0
check "recorded as any device" bash -c "virsh dumpxml --inactive nic | grep -q 'port=\"00_1c.0-00_00.0\" devid=\"\\*\"'"
check "qvm-pci list -s shows it as R4.3 does" \
        bash -c "QPCI_ROOT=$work/swapped qvm-pci list -s nic | grep -Eq '^dom0:00_1c.0-00_00.0 +any device +\\*nic \\(required\\)\$'"
expect_fail "qvm-start takes the other card: past every rule, to the fixture's refusal" "qpci reads a fixture tree" \
        in_fx "$work/swapped" qvm-start nic
check "R4.3: qvm-pci unassign --port nic DEV" fx qvm-pci unassign --port nic dom0:00_1c.0-00_00.0
check "R4.3: qvm-pci assign -r --device nic: the card, wherever it is" fx qvm-pci assign -r --device nic dom0:00_1c.0-00_00.0
check "recorded with any port" bash -c "virsh dumpxml --inactive nic | grep -q 'port=\"\\*\" devid=\"0x10ec:0x8168::p020000\"'"
expect_fail "qvm-start with the card behind another root port: found there, past every rule" "qpci reads a fixture tree" \
        in_fx "$work/moved" qvm-start nic
expect_fail "qvm-start with another card in its place and none of it: refused" \
        "nic is assigned the device 0x10ec:0x8168::p020000 wherever it is, but the host has none" in_fx "$work/swapped" qvm-start nic
check "R4.3: qvm-pci unassign --device nic dom0:*:DEVID" fx qvm-pci unassign --device nic 'dom0:*:0x10ec:0x8168::p020000'
check "nothing is left assigned to nic" test "$(xml nic | grep -c '<hostdev')" = 0

# An assignment recorded by an older qpci (the card's chain of BDFs, vendor and device): converted
# to a port and a device id on first use, and saved so, once.
old_xml=$(mktemp); xml nic >"$old_xml"
sed -i "s|</devices>|<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></source></hostdev></devices>|" "$old_xml"
sed -i -E 's|(<qpci:vm [^>]*)/>|\1></qpci:vm>|' "$old_xml"
sed -i 's|</qpci:vm>|<qpci:device addr="0000:02:00.0" vendor="0x10ec" device="0x8168" path="0000:00:1c.0/0000:02:00.0"/></qpci:vm>|' "$old_xml"
check "an old record (virsh define)" virsh define "$old_xml"
check "libvirt has it in the old form" bash -c "virsh dumpxml --inactive nic | grep -q 'path=\"0000:00:1c.0/0000:02:00.0\"'"
check "qvm-pci list -s nic reads it as a port and a device id" \
        bash -c "QPCI_ROOT=$fixture qvm-pci list -s nic | grep -Eq '^dom0:00_1c.0-00_00.0 +0x10ec:0x8168::\\* +\\*nic \\(required\\)\$'"
check "and saved it so: libvirt has today's form" \
        bash -c "virsh dumpxml --inactive nic | grep -q 'addr=\"0000:02:00.0\" port=\"00_1c.0-00_00.0\" devid=\"0x10ec:0x8168::\\*\"' && ! virsh dumpxml --inactive nic | grep -q 'path='"
expect_fail "the converted record keeps the identity rule" "not the 0x10ec:0x8168::* that was assigned to nic" \
        in_fx "$work/swapped" qvm-start nic
check "qvm-pci unassign nic by the port" fx qvm-pci unassign nic dom0:00_1c.0-00_00.0
rm -f "$old_xml"
check "qvm-remove nic" qvm-remove nic

# libvirt's hook: a start from virsh passes the same rules. Installed for the fixture (the hook
# then keeps QPCI_ROOT, so it never touches this machine's devices) and copied where the private
# daemon looks; libvirtd reads hooks when it starts.
check "qpci hook install (for the fixture)" fx qpci hook install
check "the hook keeps the fixture root" grep -q "^export QPCI_ROOT='$fixture'" "$fixture/etc/libvirt/hooks/qemu"
mkdir -p /etc/libvirt/hooks && cp "$fixture"/etc/libvirt/hooks/* /etc/libvirt/hooks/
check "daemon restart (it reads hooks when it starts)" "$here/with-libvirtd" --restart
check "qvm-create mei (the MEI controller: no reliable reset)" \
        qvm-create --type qemu --kernel "$kernel" --initrd "$work/initrd" --memory 128 mei
expect_fail "attaching it without no-strict-reset is refused" "has no reliable reset" \
        fx qvm-pci attach -p mei dom0:00_16.0
check "attach it with -o no-strict-reset=True" fx qvm-pci attach -p -o no-strict-reset=True mei dom0:00_16.0
expect_fail "virsh start: the hook refuses the fixture's device with qpci's reason" \
        "qpci reads a fixture tree" virsh start mei
check "and mei stays halted" test "$(virsh domstate mei)" = "shut off"
check "qvm-pci unassign mei" fx qvm-pci unassign mei
check "no hostdev is left in mei" test "$(xml mei | grep -c '<hostdev')" = 0
xml_1a0=$(mktemp); virsh dumpxml --inactive mei >"$xml_1a0"
sed -i "s|</devices>|<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x00' slot='0x1a' function='0x0'/></source></hostdev></devices>|" "$xml_1a0"
check "a hostdev added by virsh define, as virt-manager would" virsh define "$xml_1a0"
expect_fail "virsh start: the hook applies the multi-function rule" \
        "is a function of a multi-function device whose dom0:00_1a.1 is on the host" virsh start mei
rm -f "$xml_1a0"
check "qvm-remove mei" qvm-remove mei

# A VM that really runs: TCG, the console logged where libvirt keeps its logs.
t=$(date +%s.%N)
check "qvm-start $vm (the hook runs too, and lets a VM without devices through)" qvm-start "$vm"
check "qvm-ls shows it running" bash -c "qvm-ls | grep -Eq '^$vm +Running'"
if wait_console "$vm" QPCI-VM-CMDLINE 90; then
        ok "the guest booted; its console log says so"
        echo "# qvm-start to the guest's first line: $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
else
        not_ok "the guest booted; its console log says so"
        tail -n 20 "$(console_log "$vm")" 2>/dev/null | sed 's/^/#   /'
fi
check "the guest's /proc/cmdline has the kernelopts" grep -aq "QPCI-VM-CMDLINE: console=ttyS0 iommu=soft swiotlb=8192" "$(console_log "$vm")"
expect_fail "qvm-start of a running VM" "$vm is running already" qvm-start "$vm"
expect_fail "qvm-remove of a running VM" "shut it down first" qvm-remove "$vm"
check "qvm-shutdown --force" qvm-shutdown --force "$vm"
check "halted" test "$(virsh domstate "$vm")" = "shut off"
expect_fail "qvm-shutdown of a halted VM" "$vm is not running" qvm-shutdown "$vm"
check "qvm-remove" qvm-remove "$vm"
check "gone" test -z "$(virsh list --all --name)"
expect_fail "no such VM" "no such VM: '$vm'" qvm-prefs "$vm"
echo "1..$n"
[ "$failed" = 0 ]
