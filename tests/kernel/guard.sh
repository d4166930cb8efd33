# The host-critical guard on a real kernel (run by tests/kernel/guard-run): a virtio disk holding a
# mounted filesystem, then active swap, and the NIC of the default route. Prints TAP. The same on
# a Xen dom0 (guard-run --xen), where qpci hides to pciback.
n=0 failed=0
check() { d=$1; shift; n=$((n + 1)); if "$@" >/tmp/out 2>&1; then echo "ok $n - $d"; else failed=$((failed + 1)); echo "not ok $n - $d"; sed 's/^/# /' /tmp/out; fi; }
find_dev() { # vendor:device...
        for d in /sys/bus/pci/devices/*; do
                for id in "$@"; do [ "$(cat $d/vendor):$(cat $d/device)" = "$id" ] && { basename $d; return; }; done
        done
}
drv() { basename "$(readlink /sys/bus/pci/devices/$1/driver)"; }
STUB=vfio-pci
[ "$(cat /proc/xen/capabilities 2>/dev/null)" = control_d ] && STUB=pciback
BLK=$(find_dev 0x1af4:0x1001 0x1af4:0x1042)
E=$(find_dev 0x8086:0x10d3)
DISK=/dev/$(ls /sys/bus/pci/devices/$BLK/virtio*/block/)
IF=$(ls /sys/bus/pci/devices/$E/net/)
echo "# virtio-blk $BLK ($DISK), e1000e $E ($IF); hiding to $STUB"
[ -n "$BLK" ] && [ -n "$E" ] || { echo "not ok 1 - the topology has a virtio disk and an e1000e"; exit 1; }
modprobe ext4

mke2fs -q "$DISK" >/dev/null && mkdir -p /mnt/d && mount -t ext2 "$DISK" /mnt/d
check "a filesystem is mounted from the virtio disk" grep -q "^$DISK /mnt/d" /proc/mounts
check "hiding its controller is refused" sh -c "! qvm-pci hide $BLK 2>/tmp/err"
check "...naming the mount" grep -q "backs the filesystem mounted on /mnt/d (ext2 $DISK)" /tmp/err
check "...and the disk stayed with the host" [ "$(drv $BLK)" = virtio-pci ]
check "info says the host uses it" sh -c "qvm-pci info $BLK | grep -q 'host uses it  the filesystem mounted on /mnt/d'"
umount /mnt/d
mkswap "$DISK" >/dev/null && swapon "$DISK"
check "with swap on it, hiding is refused" sh -c "! qvm-pci hide $BLK 2>/tmp/err"
check "...naming the swap" grep -q "backs active swap on $DISK" /tmp/err
swapoff "$DISK"
check "unused, the disk's controller hides" qvm-pci hide "$BLK"
check "...on $STUB" [ "$(drv $BLK)" = $STUB ]
check "...and comes back" qvm-pci unhide "$BLK"
check "...to virtio-pci" [ "$(drv $BLK)" = virtio-pci ]

ip link set "$IF" up && ip addr add 10.0.2.15/24 dev "$IF" && ip route add default via 10.0.2.2
check "the default route goes out through the e1000e" grep -q "^$IF	00000000" /proc/net/route
check "hiding the e1000e is refused" sh -c "! qvm-pci hide $E 2>/tmp/err"
check "...naming the interface of the default route" grep -q "backs the network interface $IF of the default route" /tmp/err
check "--force hides it all the same" qvm-pci hide --force "$E"
check "...on $STUB" [ "$(drv $E)" = $STUB ]
check "unhide gives it back" qvm-pci unhide "$E"
check "...to e1000e" [ "$(drv $E)" = e1000e ]
echo "1..$n"
[ $failed -eq 0 ]
