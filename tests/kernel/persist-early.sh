# Before coldplug on every boot of the persistence test: the disk that carries /etc/udev/rules.d and
# /var/lib/qpci from one boot to the next, as a host's root filesystem would.
modprobe virtio_pci
modprobe virtio_blk
modprobe ext4
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
mkdir -p /persist
mount -t ext2 /dev/vda /persist 2>/dev/null || { mke2fs -q /dev/vda >/dev/null && mount -t ext2 /dev/vda /persist; }
mkdir -p /persist/rules /persist/qpci /etc/udev /var/lib
rm -rf /etc/udev/rules.d
ln -s /persist/rules /etc/udev/rules.d
ln -s /persist/qpci /var/lib/qpci
