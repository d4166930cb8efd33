# Inside the real-kernel guest with --libvirt --nodedev --domu (bench/run-guest-bench start), or
# in a Xen dom0 with --xen besides (run-guest-bench xenstart): qvm-start of a VM assigned the e1000e
# against `virsh start` of the same domain whose <hostdev managed='yes'> makes libvirt move the
# device itself (to vfio-pci on KVM, to pciback through the libxl driver on Xen), each until the
# domain runs, interleaved round by round. Then each is powered off and the device given back, timed
# apart: qvm-shutdown --force --wait and qvm-pci unhide; virsh destroy, and `virsh
# nodedev-reattach` when libvirt did not give it back. It does not after a qpci round: sys-q's
# unmanaged hostdev stays in libvirt's list of inactive host devices when sys-q stops, qvm-pci
# unhide gives the device back without libvirt knowing, and at sys-v's start libvirt keeps that
# entry (managed: no) instead of its own, so at sys-v's stop it logs "Not reattaching unmanaged PCI
# device" (doc/speed.md). On KVM the VMs are QEMU under TCG inside this TCG guest, on Xen PV domUs
# of a dom0 under TCG: a start is mostly QEMU's or libxl's own, which both pay alike.
. ./guest-lib.sh
. ./guest-bench-lib.sh
ROUNDS=$(cat rounds 2>/dev/null || echo 11) # run-guest-bench puts ROUNDS there
default_topology
NIC=$E1000E
DEVS=$NIC
vsh="virsh -q -c $(cat .libvirt)"
if [ "$(cat /proc/xen/capabilities 2>/dev/null)" = control_d ]; then
        side=xen
        modprobe xen-pciback || die "modprobe xen-pciback"
else
        side=kvm
        # QEMU needs vfio_iommu_type1 for a VFIO group; busybox modprobe ignores vfio's softdep on it.
        { modprobe vfio-pci && modprobe vfio_iommu_type1; } || die "modprobe vfio-pci vfio_iommu_type1"
fi
echo "# $side: qvm-start against virsh start, $ROUNDS rounds"

qvm-create sys-q --kernel "$QPCI_DOMU_KERNEL" --initrd "$QPCI_DOMU_INITRD" --memory 256 &&
        qvm-pci attach --persistent sys-q "$(ident "$NIC")" || die "qvm-create and attach sys-q"
# The same domain for libvirt alone: qpci's definition renamed, without its uuid and qpci's
# metadata, the NIC managed by libvirt.
$vsh dumpxml --inactive sys-q | sed -e 's/sys-q/sys-v/g' -e '/<uuid>/d' -e "s/managed='no'/managed='yes'/" \
        -e '/<metadata>/,/<\/metadata>/d' >/tmp/sys-v.xml && $vsh define /tmp/sys-v.xml >/dev/null ||
        die "virsh define sys-v"
grep -q "managed='yes'" /tmp/sys-v.xml || die "sys-v has a managed hostdev"

q_start() { qvm-start sys-q >/dev/null; }
q_stop() { qvm-shutdown --force --wait sys-q >/tmp/stop.out 2>&1 && qvm-pci unhide "$NIC" >>/tmp/stop.out 2>&1; }
v_start() { $vsh start sys-v >/dev/null; }
v_stop() { $vsh destroy sys-v >/tmp/stop.out 2>&1; }
# What libvirt did not give back at the destroy (see above): nodedev-reattach, as a user would.
v_back() { $vsh nodedev-reattach "pci_$(echo "$NIC" | tr ':.' '__')" >>/tmp/stop.out 2>&1; }
running() { [ "$($vsh domstate "$1")" = running ] || die "$1 is $($vsh domstate "$1") after its start, not running"; }
home() { # who stopped last
        is_on "$NIC" e1000e && return 0
        diag </tmp/stop.out
        tail -n 5 /var/log/libvirt/libvirtd.log | diag
        die "the e1000e is not back on e1000e after $1 stopped, in round $i"
}

# Warm both paths once (modules, QEMU's files, libvirt's caches).
i=0
{ q_start && running sys-q && q_stop && home qpci; } || die "warming up qvm-start"
{ v_start && running sys-v && v_stop && { is_on "$NIC" e1000e || v_back; } && home virsh; } || die "warming up virsh start"
rm -f /tmp/t.*
backs=0
while [ $i -lt "$ROUNDS" ]; do
        i=$((i + 1))
        order="q v"
        [ $((i % 2)) = 0 ] && order="v q"
        line="# round $i:"
        for s in $order; do
                vm=sys-$s
                timed $s.start ${s}_start
                line="$line $vm start $took,"
                running $vm
                timed $s.stop ${s}_stop
                line="$line off $took,"
                if [ $s = v ] && ! is_on "$NIC" e1000e; then
                        timed v.back v_back
                        backs=$((backs + 1))
                        line="$line nodedev-reattach $took,"
                fi
                home $vm
        done
        echo "${line%,} ms"
done

echo "# load in the guest: $(cat /proc/loadavg)"
show "qvm-start" /tmp/t.q.start
show "virsh start (managed)" /tmp/t.v.start
show "qvm-shutdown --force --wait + qvm-pci unhide" /tmp/t.q.stop
show "virsh destroy (managed)" /tmp/t.v.stop
echo "# libvirt did not give the e1000e back to e1000e after $backs of $ROUNDS destroys"
[ ! -s /tmp/t.v.back ] || show "virsh nodedev-reattach after those" /tmp/t.v.back
set -- $(rstats /tmp/t.q.start /tmp/t.v.start)
echo "# qvm-start / virsh start per round: median $1x (lowest $2, highest $3)"
verdict "$1" 1.05 "$side: qvm-start against virsh start of a managed e1000e"
if [ "$backs" = 0 ]; then
        set -- $(rstats /tmp/t.q.stop /tmp/t.v.stop)
        echo "# off and given back, qpci / virsh destroy per round: median $1x (lowest $2, highest $3)"
elif [ "$backs" = "$ROUNDS" ]; then
        set -- $(rstats /tmp/t.q.stop /tmp/t.v.stop /tmp/t.v.back)
        echo "# off and given back, qpci / (virsh destroy + nodedev-reattach) per round:" \
                "median $1x (lowest $2, highest $3)"
fi
echo "1..$n"
