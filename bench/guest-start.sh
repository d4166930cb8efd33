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
start_setup
echo "# $side: qvm-start against virsh start, $ROUNDS rounds"
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
