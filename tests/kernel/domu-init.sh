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
#   INFO gone <function, interface or USB device>       it went away (hot-unplug)
#   DONE                                                 the round is over
#   INFO poweroff asked                                  a shutdown asked from outside
# Devices that arrive or go later (hot-plug) get a round of their own, ending in another DONE. The
# console is the kernel's console= (hvc0 on Xen: xenconsoled --log=guest keeps it in
# /var/log/xen/console/guest-NAME.log; ttyS0 under QEMU, which qpci's domains log to
# /var/log/libvirt/qemu/NAME-console.log). Under QEMU inside the test guest every process this init
# starts costs about half a second (TCG inside TCG): the rounds read sysfs with the shell's own read
# rather than with cut, basename or grep.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
say() { read -r up _ </proc/uptime; echo "QPCI-DOMU [$up] $*"; }
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
# Under QEMU a shutdown asked from outside (libvirt's virDomainShutdown) is the ACPI power button,
# which the kernel only reports as a key: busybox's acpid runs /sbin/poweroff for it. (A Xen PV
# domU has no ACPI: Xen's control/shutdown runs /sbin/poweroff itself.)
if [ -d /sys/firmware/acpi/tables ]; then
	mkdir -p /etc/acpi/PWRF
	printf '#!/bin/sh\nexec /sbin/poweroff\n' >/etc/acpi/PWRF/00000080
	chmod 755 /etc/acpi/PWRF/00000080
	if modprobe -q button && modprobe -q evdev; then
		acpid -c /etc/acpi -l /dev/null -p /tmp/acpid.pid
	else
		say "INFO no ACPI power button (modules button, evdev): a shutdown will not be heard"
	fi
fi
# The kernel's warnings and errors only on the console, so that its lines do not cut into these;
# after a FAIL the end of its log follows as "QPCI-DOMU [uptime] DMESG ..." lines.
dmesg -n 4
driver_of() { if [ -e "$1/driver" ]; then l=$(readlink "$1/driver"); echo "${l##*/}"; else echo -; fi; }
# id_of DIR: "vendor:device" of a PCI function, without the 0x.
id_of() { read -r v <"$1/vendor"; read -r p <"$1/device"; echo "${v#0x}:${p#0x}"; }
mkdir -p /tmp
SEEN=" "
seen() { case $SEEN in *" $1 "*) return 0 ;; esac; return 1; }
mark() { SEEN="$SEEN$1 "; }

# PCI: each new function gets its driver, as udev would load it (EHCI before its companions).
pci_round() {
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d/class" ] && ! seen "$d" || continue
		read -r c <"$d/class"
		read -r m <"$d/modalias"
		[ "$c" = 0x0c0320 ] && modprobe -q "$m" 2>/dev/null
	done
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d/vendor" ] && ! seen "$d" || continue
		read -r m <"$d/modalias"
		# A module that matches (loaded already for a hot-plugged device) binds a moment later:
		# up to 30 s, as a first boot of a PV domU under TCG on a fresh machine took 34 s in
		# modprobe alone and the e1000e was still unbound 3 s after it.
		if [ ! -e "$d/driver" ] && modprobe -q "$m" 2>/dev/null; then
			i=0
			while [ ! -e "$d/driver" ] && [ $i -lt 300 ]; do usleep 100000; i=$((i + 1)); done
		fi
		mark "$d"
		say "INFO pci $(id_of "$d") $(driver_of "$d")"
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
		what="$ifc $(id_of "$pdev") $(driver_of "$pdev")"
		ip link set "$ifc" up
		i=0
		carrier() { c=0; read -r c <"$n/carrier" 2>/dev/null; [ "$c" = 1 ]; }
		while [ $i -lt 100 ] && ! carrier; do usleep 100000; i=$((i + 1)); done
		if carrier; then say "PASS net $what link"; else say "FAIL net $what link"; fi
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
		[ -r "$m" ] && read -r a <"$m" && modprobe -q "$a" 2>/dev/null
	done
	for u in /sys/bus/usb/devices/*; do
		[ -e "$u/idVendor" ] && ! seen "$u" || continue
		mark "$u"
		case $(basename "$u") in usb*) continue ;; esac
		read -r v <"$u/idVendor"
		read -r p <"$u/idProduct"
		prod=""
		[ -r "$u/product" ] && read -r prod <"$u/product"
		say "INFO usb $v:$p $prod"
	done
}

# The devices come through xen-pcifront on Xen (a module, not loaded by anyone else here), which
# scans its bus when the backend connects; on other hypervisors the kernel finds them itself (and
# /sys/bus/xen is there too: the kernel has Xen's guest support built in; /sys/hypervisor/type is
# only under Xen).
hv=""
[ -r /sys/hypervisor/type ] && read -r hv </sys/hypervisor/type
if [ "$hv" = xen ]; then
	modprobe xen-pcifront 2>/dev/null || say "INFO cannot load xen-pcifront"
	i=0
	while [ $i -lt 50 ] && [ -e /sys/bus/xen/devices/pci-0 ] && [ -z "$(ls /sys/bus/pci/devices 2>/dev/null)" ]; do
		usleep 100000
		i=$((i + 1))
	done
fi
# What went away (hot-unplug) is forgotten, so that it gets a round again if it comes back.
gone_round() {
	keep=" "
	for p in $SEEN; do
		if [ -e "$p" ]; then keep="$keep$p "; else say "INFO gone ${p##*/}"; fi
	done
	SEEN=$keep
}
# A round that found nothing new (what an earlier round itself brought: an interface, a USB
# device) says nothing, not even DONE.
round() {
	gone_round >/tmp/round 2>&1
	pci_round >>/tmp/round 2>&1
	net_round >>/tmp/round 2>&1
	usb_round >>/tmp/round 2>&1
	[ -s /tmp/round ] || return 0
	cat /tmp/round
	grep -q '^QPCI-DOMU \[[0-9.]*\] FAIL' /tmp/round && dmesg | tail -n 30 | while read -r l; do say "DMESG $l"; done
	say DONE
}
# Devices attached later (hot-plug): a new round whenever the set of PCI functions, interfaces or
# USB devices changes. The set is taken before each round, so that what arrives during one (seen:
# a second device given by Xen while the first round was pinging) brings another.
state() { ls /sys/bus/pci/devices /sys/class/net /sys/bus/usb/devices 2>/dev/null; }
last=$(state)
round
while :; do
	sleep 1
	now=$(state)
	[ "$now" = "$last" ] && continue
	sleep 1
	last=$(state)
	round
done
