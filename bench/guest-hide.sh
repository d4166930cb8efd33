# Inside the real-kernel guest (bench/run-guest-bench runs it): qvm-pci hide then unhide of the
# three-function ICH9 USB device, against a plain shell script doing the same sysfs writes in the
# same safe order, interleaved round by round. Prints each round and the ratio of the medians.
ROUNDS=${ROUNDS:-7}
U1=0000:00:1a.0 U2=0000:00:1a.1 EH=0000:00:1a.7
# Busybox's date has no nanoseconds: /proc/uptime in hundredths, against rounds of about a second.
now() { read -r up _ < /proc/uptime; echo "${up%.*}${up#*.}0000"; }

script_round() {
        # What qpci does, without its checks, journal or state: overrides and unbinds (EHCI first),
        # then probes (EHCI first); the same back.
        for d in $EH $U1 $U2; do
                echo vfio-pci > /sys/bus/pci/devices/$d/driver_override
                drv=$(basename "$(readlink /sys/bus/pci/devices/$d/driver)")
                echo $d > /sys/bus/pci/drivers/$drv/unbind
        done
        for d in $EH $U1 $U2; do echo $d > /sys/bus/pci/drivers_probe; done
        for d in $EH $U1 $U2; do
                echo > /sys/bus/pci/devices/$d/driver_override
                echo $d > /sys/bus/pci/drivers/vfio-pci/unbind
        done
        for d in $EH $U1 $U2; do echo $d > /sys/bus/pci/drivers_probe; done
}

qpci_round() {
        qvm-pci hide --with-group $U1 >/dev/null && qvm-pci unhide $U1 $U2 $EH >/dev/null
}

modprobe vfio-pci
qpci_round && script_round # warm both: modules loaded, caches filled
: > /tmp/q
: > /tmp/s
for i in $(seq $ROUNDS); do
        t0=$(now); qpci_round || { echo "not ok 1 - qvm-pci round $i failed"; exit 1; }
        t1=$(now); script_round
        t2=$(now)
        echo $(( (t1 - t0) / 1000 )) >> /tmp/q
        echo $(( (t2 - t1) / 1000 )) >> /tmp/s
        echo "# round $i: qvm-pci $(( (t1 - t0) / 1000 )) ms, script $(( (t2 - t1) / 1000 )) ms"
done
for d in $U1 $U2; do [ "$(basename "$(readlink /sys/bus/pci/devices/$d/driver)")" = uhci_hcd ] || { echo "not ok 1 - $d not back"; exit 1; }; done
median() { sort -n "$1" | sed -n "$(( (ROUNDS + 1) / 2 ))p"; }
q=$(median /tmp/q) s=$(median /tmp/s)
ratio=$(( q * 100 / s ))
echo "# median: qvm-pci $q ms, script $s ms, ratio $((ratio / 100)).$(printf %02d $((ratio % 100)))"
if [ $ratio -le 120 ]; then echo "ok 1 - qvm-pci hide+unhide within 1.2x of the plain script"; else echo "not ok 1 - qvm-pci hide+unhide $ratio% of the plain script (target <= 120%)"; fi
echo "1..1"
