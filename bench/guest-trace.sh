# Inside the real-kernel guest (bench/run-guest-bench trace or xentrace): where the time of a
# qvm-start and of a hide + unhide goes, measured rather than timed, for doc/speed.md. What it
# records goes out as a tar on the disk /dev/vda, which run-guest-bench unpacks (the plain guest),
# or without that disk (the dom0) the RPCs and the light traces on the output:
# - start.{q,v}.N.strace: qvm-start sys-q and virsh start sys-v (managed e1000e), each under
#   `strace -f -ttt -T` (round 1: every call; the other rounds: only the calls that mark a phase,
#   through seccomp, which costs the untraced calls nothing), with libvirtd's debug log of the same
#   starts (libvirtd.{q,v}.N.log, by virt-admin, every message with its time: the RPCs each client
#   made and what libvirtd did in them);
# - times: the same starts untraced, and each traced one, in ms;
# - perf.{hide,floor}.data (where ./perf came along): `perf record -e cpu-clock --call-graph dwarf` of five qvm-pci hide +
#   unhide of the e1000e, and of ten runs of floor-sqlite (the two per hide + unhide that the
#   floor counts), with /proc/kallsyms for the kernel's symbols.
. ./guest-lib.sh
. ./guest-bench-lib.sh
ROUNDS=$(cat rounds 2>/dev/null || echo 3) # rounds of each kind; run-guest-bench puts ROUNDS there
default_topology
out=/tmp/out
mkdir -p $out
cat /proc/kallsyms >$out/kallsyms
start_setup
echo "# $side: qvm-start and virsh start traced"
lib() { LD_LIBRARY_PATH=. "$@"; }
log_on() { # FILE: libvirtd's debug messages into it, every category but the event loop's and RPC's
        lib ./virt-admin -q daemon-log-filters "3:remote 4:event 3:util.json 3:rpc 3:util.object 1:*" &&
                lib ./virt-admin -q daemon-log-outputs "1:file:$1 3:file:/var/log/libvirt/libvirtd.log"
}
log_off() {
        lib ./virt-admin -q daemon-log-filters "" &&
                lib ./virt-admin -q daemon-log-outputs "3:file:/var/log/libvirt/libvirtd.log"
}
# The calls that mark qvm-start's phases: the sysfs writes of the hide and the RPCs sent to libvirtd
# (write), the journal's commits (pwrite64, fsync), the connection; libvirtd's log has the rest.
marks="execve,connect,write,pwrite64,fsync,fdatasync,exit_group"
strace_of() { # FILE ROUND CMD...: one run under strace, every call in round 1, the marks after
        f=$1 r=$2
        shift 2
        if [ "$r" = 1 ]; then
                lib ./strace -f -ttt -T -E LD_LIBRARY_PATH -o "$f" "$@"
        else
                lib ./strace -f -ttt -T --seccomp-bpf -e trace=$marks -E LD_LIBRARY_PATH -o "$f" "$@"
        fi
}
stop_both() { # VM
        if [ "$1" = q ]; then q_stop; else v_stop && { is_on "$NIC" e1000e || v_back; }; fi
        home "sys-$1"
}
i=0
while [ $i -lt "$ROUNDS" ]; do
        i=$((i + 1))
        for s in q v; do
                timed $s.plain ${s}_start
                echo "$s plain $i $took" >>$out/times
                running sys-$s
                stop_both $s
        done
done
i=0
while [ $i -lt "$ROUNDS" ]; do
        i=$((i + 1))
        for s in q v; do
                log_on /tmp/libvirtd.$s.$i.log || die "virt-admin could not set libvirtd's log"
                if [ $s = q ]; then
                        t0=$(ms); strace_of $out/start.q.$i.strace $i qvm-start sys-q >/dev/null; rc=$?; t1=$(ms)
                else
                        t0=$(ms); strace_of $out/start.v.$i.strace $i $vsh start sys-v >/dev/null; rc=$?; t1=$(ms)
                fi
                log_off
                mv /tmp/libvirtd.$s.$i.log $out/
                [ $rc = 0 ] || die "traced start of sys-$s failed in round $i"
                echo "$s traced $i $((t1 - t0))" >>$out/times
                running sys-$s
                stop_both $s
        done
done
sed 's/^/# /' $out/times

# Without the disk (QEMU under Xen fell over twice with one): the RPCs' times and the host-device
# lines of libvirtd's logs, and the light traces, on the output.
if [ ! -b /dev/vda ]; then
        for f in $out/libvirtd.*.log; do
                echo "## $(basename "$f")"
                grep -E 'is now running job|finished job|PreparePCIDevices|Detaching managed|Preparing host devices' "$f"
        done
        for f in $out/start.*.strace; do
                case $f in *.1.strace) continue ;; esac
                echo "## $(basename "$f")"
                cat "$f"
        done
fi
[ -x ./perf ] || { [ ! -b /dev/vda ] || tar cf /dev/vda -C /tmp out; ok "$side: traces written, no profile"; echo "1..$n"; exit 0; }
# The hide + unhide profile (cpu-clock: the guest's own clock, so what TCG spends translating a
# block lands on the guest code that ran it first).
prof() { # NAME CMD: perf record of CMD, a shell loop (without perf's LD_LIBRARY_PATH)
        lib ./perf record -q -e cpu-clock -F 2000 --call-graph dwarf,16384 -o $out/perf.$1.data -- \
                env -u LD_LIBRARY_PATH sh -c "$2" ||
                die "perf record $1"
}
t0=$(ms)
prof hide "for k in 1 2 3 4 5; do qvm-pci hide $NIC >/dev/null && qvm-pci unhide $NIC >/dev/null || exit 1; done"
t1=$(ms)
prof floor "for k in 1 2 3 4 5 6 7 8 9 10; do ./floor-sqlite /tmp/floor.db || exit 1; done"
t2=$(ms)
echo "hide-profiled $((t1 - t0)) floor-profiled $((t2 - t1))" >>$out/times
home qpci
t0=$(ms)
for k in 1 2 3 4 5; do qvm-pci hide $NIC >/dev/null && qvm-pci unhide $NIC >/dev/null || die "hide"; done
t1=$(ms)
for k in 1 2 3 4 5 6 7 8 9 10; do ./floor-sqlite /tmp/floor.db || die "floor"; done
t2=$(ms)
echo "hide-plain-x5 $((t1 - t0)) floor-plain-x10 $((t2 - t1))" >>$out/times
tail -n 2 $out/times | sed 's/^/# /'
echo "# load in the guest: $(cat /proc/loadavg)"
[ -b /dev/vda ] || die "no /dev/vda to write the traces to"
tar cf /dev/vda -C /tmp out || die "tar to /dev/vda"
sync
ok "$side: traces written ($(du -sk $out | cut -f1) KiB)"
echo "1..$n"
