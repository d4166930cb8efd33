# Inside the real-kernel guest (bench/run-guest-bench runs it): qvm-pci hide then unhide of the
# three-function ICH9 USB device, against a plain shell script doing the same sysfs writes in the
# same safe order, interleaved round by round. Prints each round and the ratio of the medians.
# Beside them, the floor of any two-command tool here: two runs of an empty dynamically linked
# program (floor-exec), and two of one that also commits a row to SQLite (floor-sqlite), as
# qpci's journal must. Under TCG these cost what native code never does (each process translates
# the code of its randomly placed libraries anew), and the report says how much.
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

exec_round() { ./floor-exec && ./floor-exec; }
sqlite_round() { ./floor-sqlite /tmp/floor.db && ./floor-sqlite /tmp/floor.db; }

qpci_round() {
        qvm-pci hide --with-group $U1 >/dev/null && qvm-pci unhide $U1 $U2 $EH >/dev/null
}

# What each command costs beyond its sysfs writes, counted once outside the timed rounds (counts
# do not depend on the load): the libraries it loads, its system calls, and its fsyncs (SQLite's).
counts() {
        libs=$(LD_DEBUG=libs "$@" 2>&1 >/dev/null | grep -c "calling init:")
        line="# $1 $2: $libs libraries"
        if [ -x ./strace ]; then
                LD_LIBRARY_PATH=. ./strace -f -E LD_LIBRARY_PATH -o /tmp/trace "$@" >/dev/null 2>&1
                line="$line, $(grep -c '^[0-9]* *[a-z_0-9]*(' /tmp/trace) system calls, $(grep -c 'fsync(\|fdatasync(' /tmp/trace) fsyncs"
        else
                "$@" >/dev/null
        fi
        echo "$line"
}

modprobe vfio-pci
qpci_round && script_round # warm both: modules loaded, caches filled
counts qvm-pci hide --with-group $U1
counts qvm-pci unhide $U1 $U2 $EH
counts ./floor-sqlite /tmp/floor.db
counts ./floor-exec
: > /tmp/q
: > /tmp/s
: > /tmp/e
: > /tmp/f
for i in $(seq $ROUNDS); do
        t0=$(now); qpci_round || { echo "not ok 1 - qvm-pci round $i failed"; exit 1; }
        t1=$(now); script_round
        t2=$(now); exec_round || { echo "not ok 1 - floor-exec failed"; exit 1; }
        t3=$(now); sqlite_round || { echo "not ok 1 - floor-sqlite failed"; exit 1; }
        t4=$(now)
        echo $(( (t1 - t0) / 1000 )) >> /tmp/q
        echo $(( (t2 - t1) / 1000 )) >> /tmp/s
        echo $(( (t3 - t2) / 1000 )) >> /tmp/e
        echo $(( (t4 - t3) / 1000 )) >> /tmp/f
        echo "# round $i: qvm-pci $(( (t1 - t0) / 1000 )) ms, script $(( (t2 - t1) / 1000 )) ms," \
                "floor-exec x2 $(( (t3 - t2) / 1000 )) ms, floor-sqlite x2 $(( (t4 - t3) / 1000 )) ms"
done
for d in $U1 $U2; do [ "$(basename "$(readlink /sys/bus/pci/devices/$d/driver)")" = uhci_hcd ] || { echo "not ok 1 - $d not back"; exit 1; }; done
median() { sort -n "$1" | sed -n "$(( (ROUNDS + 1) / 2 ))p"; }
q=$(median /tmp/q) s=$(median /tmp/s) e=$(median /tmp/e) f=$(median /tmp/f)
pct() { echo "$(($1 / 100)).$(printf %02d $(($1 % 100)))"; }
ratio=$(( q * 100 / s ))
echo "# median: qvm-pci $q ms, script $s ms, ratio $(pct $ratio)"
echo "# floor: two empty dynamically linked commands $e ms (script + that: $(pct $(( (s + e) * 100 / s )))x)," \
        "two that commit to SQLite $f ms (script + that: $(pct $(( (s + f) * 100 / s )))x)"
if [ $ratio -le 120 ]; then echo "ok 1 - qvm-pci hide+unhide within 1.2x of the plain script"; else echo "not ok 1 - qvm-pci hide+unhide $ratio% of the plain script (target <= 120%)"; fi
echo "1..1"
