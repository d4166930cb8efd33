#!/bin/sh
# /init of the small VM that tests/kernel/run-guest --domu builds (busybox sh): the PV domU (or any
# VM) that devices are given to. It says on its console what it sees, one line each, and then
# idles: a domU that powers itself off makes libxl wait 10 s per PCI device, so whoever started it
# shuts it down (a shutdown asked from outside powers it off at once) or destroys it.
# Each line is "QPCI-DOMU [<uptime>] ...":
#   INFO cmdline <the kernel command line>
#   INFO pci <vendor>:<device> <driver or ->            each PCI function, with the driver it got
#   PASS|FAIL net <if> <vendor:device> <driver> link    each NIC: the link came up (carrier)
#   PASS|FAIL net <if> <vendor:device> <driver> dhcp <address>     a lease from QEMU's user network
#   INFO net <if> <vendor:device> <driver> static 10.0.2.15/24     (when there was none)
#   PASS|FAIL net <if> <vendor:device> <driver> ping 10.0.2.2 ...  QEMU's user-network gateway
#   INFO usb <idVendor>:<idProduct> <product>           each USB device but the root hubs
#   DMESG <line>                                         the kernel's log, after a FAIL
#   DONE                                                 the round is over
#   INFO poweroff asked                                  a shutdown asked from outside
# Devices that arrive later (hot-plug) get a round of their own, ending in another DONE. The
# console is the kernel's console= (hvc0 on Xen: xenconsoled --log=guest keeps it in
# /var/log/xen/console/guest-NAME.log).
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
say() { echo "QPCI-DOMU [$(cut -d' ' -f1 /proc/uptime)] $*"; }
# A shutdown asked from outside (Xen's control/shutdown, ACPI) runs the kernel's poweroff_cmd,
# /sbin/poweroff, which must power off by itself: this init is no init that busybox's poweroff
# could signal.
mkdir -p /sbin
for cmd in poweroff reboot; do
	cat >/sbin/$cmd <<EOF
#!/bin/sh
echo "QPCI-DOMU [\$(cut -d' ' -f1 /proc/uptime)] INFO $cmd asked" >/dev/console
sync
exec /bin/busybox $cmd -f
EOF
done
chmod 755 /sbin/poweroff /sbin/reboot

say "INFO cmdline $(cat /proc/cmdline)"
# The kernel's warnings and errors only on the console, so that its lines do not cut into these;
# after a FAIL the end of its log follows as "QPCI-DOMU [uptime] DMESG ..." lines.
dmesg -n 4
driver_of() { if [ -e "$1/driver" ]; then basename "$(readlink "$1/driver")"; else echo -; fi; }
mkdir -p /tmp
touch /tmp/seen
seen() { grep -qxF "$1" /tmp/seen; }
mark() { echo "$1" >>/tmp/seen; }

# PCI: each new function gets its driver, as udev would load it (EHCI before its companions).
pci_round() {
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d/class" ] && [ "$(cat "$d/class")" = 0x0c0320 ] && ! seen "$d" &&
			modprobe -q "$(cat "$d/modalias")" 2>/dev/null
	done
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d/vendor" ] && ! seen "$d" || continue
		[ -e "$d/driver" ] || modprobe -q "$(cat "$d/modalias")" 2>/dev/null
		mark "$d"
		say "INFO pci $(cut -c3- "$d/vendor"):$(cut -c3- "$d/device") $(driver_of "$d")"
	done
}

# The network: each new interface on a PCI device. A DHCP lease, else QEMU's usual address.
cat >/bin/dhcp-event <<'EOF'
#!/bin/sh
case $1 in bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	echo "$ip" >/tmp/lease ;;
esac
EOF
chmod 755 /bin/dhcp-event
ip link set lo up
net_round() {
	for n in /sys/class/net/*; do
		[ -e "$n/device" ] && ! seen "$n" || continue
		mark "$n"
		ifc=$(basename "$n")
		pdev=$(readlink -f "$n/device")
		what="$ifc $(cut -c3- "$pdev/vendor"):$(cut -c3- "$pdev/device") $(driver_of "$pdev")"
		ip link set "$ifc" up
		i=0
		while [ $i -lt 100 ] && [ "$(cat "$n/carrier" 2>/dev/null)" != 1 ]; do usleep 100000; i=$((i + 1)); done
		if [ "$(cat "$n/carrier" 2>/dev/null)" = 1 ]; then say "PASS net $what link"; else say "FAIL net $what link"; fi
		rm -f /tmp/lease
		if udhcpc -i "$ifc" -n -q -t 4 -T 2 -s /bin/dhcp-event >/tmp/udhcpc.log 2>&1 && [ -s /tmp/lease ]; then
			say "PASS net $what dhcp $(cat /tmp/lease)"
		else
			say "FAIL net $what dhcp $(tail -n 1 /tmp/udhcpc.log)"
			ip addr add 10.0.2.15/24 dev "$ifc"
			say "INFO net $what static 10.0.2.15/24"
		fi
		if ping -c 3 -W 2 -I "$ifc" 10.0.2.2 >/tmp/ping.log 2>&1; then
			say "PASS net $what ping 10.0.2.2 $(grep -o 'time=[0-9.]* ms' /tmp/ping.log | tail -n 1)"
		else
			say "FAIL net $what ping 10.0.2.2 $(tail -n 1 /tmp/ping.log)"
		fi
	done
}

# USB: once the buses stop changing, the drivers of what enumerated (HID), then each new device
# but the root hubs.
usb_round() {
	[ -d /sys/bus/usb/devices ] || return 0
	prev="" same=0 i=0
	while [ $i -lt 60 ] && [ $same -lt 6 ]; do
		cur=$(ls /sys/bus/usb/devices)
		if [ "$cur" = "$prev" ]; then same=$((same + 1)); else same=0 prev=$cur; fi
		usleep 100000
		i=$((i + 1))
	done
	for m in /sys/bus/usb/devices/*/modalias /sys/bus/hid/devices/*/modalias; do
		[ -r "$m" ] && modprobe -q "$(cat "$m")" 2>/dev/null
	done
	for u in /sys/bus/usb/devices/*; do
		[ -e "$u/idVendor" ] && ! seen "$u" || continue
		mark "$u"
		case $(basename "$u") in usb*) continue ;; esac
		say "INFO usb $(cat "$u/idVendor"):$(cat "$u/idProduct") $(cat "$u/product" 2>/dev/null)"
	done
}

# The devices come through xen-pcifront on Xen (a module, not loaded by anyone else here), which
# scans its bus when the backend connects; on other hypervisors the kernel finds them itself.
if [ -d /sys/bus/xen ]; then
	modprobe xen-pcifront 2>/dev/null || say "INFO cannot load xen-pcifront"
	i=0
	while [ $i -lt 50 ] && [ -e /sys/bus/xen/devices/pci-0 ] && [ -z "$(ls /sys/bus/pci/devices 2>/dev/null)" ]; do
		usleep 100000
		i=$((i + 1))
	done
fi
round() {
	pci_round >/tmp/round 2>&1
	net_round >>/tmp/round 2>&1
	usb_round >>/tmp/round 2>&1
	cat /tmp/round
	grep -q '^QPCI-DOMU \[[0-9.]*\] FAIL' /tmp/round && dmesg | tail -n 30 | while read -r l; do say "DMESG $l"; done
	say DONE
}
round
# Devices attached later (hot-plug): a new round whenever the set of PCI functions, interfaces or
# USB devices changes.
state() { ls /sys/bus/pci/devices /sys/class/net /sys/bus/usb/devices 2>/dev/null; }
last=$(state)
while :; do
	sleep 1
	now=$(state)
	[ "$now" = "$last" ] && continue
	sleep 1
	round
	last=$(state)
done
