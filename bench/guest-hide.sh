# Inside the real-kernel guest (bench/run-guest-bench runs it, on the plain guest and on a Xen dom0):
# qvm-pci hide then unhide of the e1000e and of the three-function ICH9 USB device, against the
# tools a user would otherwise type, on the same devices, interleaved round by round:
# - libvirt: virsh nodedev-detach + nodedev-reattach (one call per function; vfio-pci on KVM,
#   pciback through the libxl driver on Xen), when libvirtd has its nodedev driver (run-guest
#   --libvirt --nodedev);
# - Xen: xl pci-assignable-add + pci-assignable-remove -r (one call per function), on a dom0;
# - a plain shell script making the same sysfs writes in the same safe order, without checks,
#   journal or state: the least any tool does.
# In the same rounds, the floor any command pays: two runs of an empty dynamically linked program
# (floor-exec), two that also commit a row to SQLite as qpci's journal must (floor-sqlite), two
# runs of `virsh version` (libvirt's start-up and connection, without work). Each figure is the
# median of ROUNDS rounds with its spread (lowest and highest); each ratio the median of the rounds'
# own ratios. Under TCG every process translates the code of its libraries anew, so what a command
# loads counts far more than natively: counts() says what each loads and calls, once, untimed.
. ./guest-lib.sh
. ./guest-bench-lib.sh
ROUNDS=$(cat rounds 2>/dev/null || echo 11) # run-guest-bench puts ROUNDS there
default_topology
NIC=$E1000E
USB="$EHCI $UHCI1 $UHCI2" # EHCI first, off and on, as the kernel wants it before its companions
# The peers move one function per call, each unbound and probed before the next: a sibling is then
# on a stub while the kernel's hcd-pci walks the slot, taking the stub's driver data for a usb_hcd
# (lib/host.c). Its walks come when an EHCI is added or removed (ehci_pre_add locks the companions'
# root hubs) or a companion added (which only records the EHCI as its companion until the EHCI's
# own add sets it right). So the EHCI leaves first, with its companions still theirs, and comes
# back last.
USB_BACK="$UHCI1 $UHCI2 $EHCI"
DEVS="$NIC $USB"

if [ "$(cat /proc/xen/capabilities 2>/dev/null)" = control_d ]; then
        side=xen stub=pciback vdrv=""
        modprobe xen-pciback
else
        side=kvm stub=vfio-pci vdrv="--driver vfio"
        modprobe vfio-pci
fi
tools="qpci script"
# virsh names the daemon run-guest --libvirt started.
vsh="virsh -q -c $(cat .libvirt 2>/dev/null)"
command -v xl >/dev/null && [ $side = xen ] && tools="$tools xl"
$vsh nodedev-list --cap pci >/dev/null 2>&1 && tools="$tools virsh"
echo "# $side: $stub; hide+unhide by $tools, $ROUNDS rounds"

nodedev() { echo "pci_$1" | tr ':.' '__'; }
qpci_nic() { qvm-pci hide "$NIC" >/dev/null && qvm-pci unhide "$NIC" >/dev/null; }
qpci_usb() { qvm-pci hide --with-group "$UHCI1" >/dev/null && qvm-pci unhide $USB >/dev/null; }
virsh_on() { for d in "$@"; do $vsh nodedev-detach $vdrv "$(nodedev "$d")" >/dev/null || return 1; done; }
virsh_off() { for d in "$@"; do $vsh nodedev-reattach "$(nodedev "$d")" >/dev/null || return 1; done; }
virsh_nic() { virsh_on "$NIC" && virsh_off "$NIC"; }
virsh_usb() { virsh_on $USB && virsh_off $USB_BACK; }
xl_on() { for d in "$@"; do xl pci-assignable-add "$d" || return 1; done; }
xl_off() { for d in "$@"; do xl pci-assignable-remove -r "$d" || return 1; done; }
xl_nic() { xl_on "$NIC" && xl_off "$NIC"; }
xl_usb() { xl_on $USB && xl_off $USB_BACK; }
# What qpci does, without its checks, journal or state: overrides and unbinds, then probes; the same
# back.
script_move() {
        for d in "$@"; do
                echo $stub >/sys/bus/pci/devices/$d/driver_override
                drv=$(basename "$(readlink /sys/bus/pci/devices/$d/driver)")
                echo $d >/sys/bus/pci/drivers/$drv/unbind
        done
        for d in "$@"; do echo $d >/sys/bus/pci/drivers_probe; done
        for d in "$@"; do
                echo >/sys/bus/pci/devices/$d/driver_override
                echo $d >/sys/bus/pci/drivers/$stub/unbind
        done
        for d in "$@"; do echo $d >/sys/bus/pci/drivers_probe; done
}
script_nic() { script_move "$NIC"; }
script_usb() { script_move $USB; }
floor_exec() { ./floor-exec && ./floor-exec; }
floor_sqlite() { ./floor-sqlite /tmp/floor.db && ./floor-sqlite /tmp/floor.db; }
floor_virsh() { $vsh version >/dev/null && $vsh version >/dev/null; }

# Each op must leave the devices on their own drivers.
home() { is_on "$NIC" e1000e && is_on "$EHCI" ehci-pci && is_on "$UHCI1" uhci_hcd && is_on "$UHCI2" uhci_hcd; }

# What a command loads and calls, counted once, untimed: its libraries, the cycles its dynamic loader
# took and the relocations it made (LD_DEBUG=statistics), its system calls and fsyncs (strace, taken
# into the guest). probe MODE WORDS: one run of the command under MODE, and what MODE counts.
probe() {
        mode=$1
        shift
        case $mode in
        libs) echo "$(LD_DEBUG=libs "$@" 2>&1 >/dev/null | grep -c "calling init:") libraries" ;;
        ld) LD_DEBUG=statistics "$@" 2>&1 >/dev/null | awk '
                /total startup time in dynamic loader/ { c += $(NF - 1) } /number of relocations:/ { r += $NF }
                END { printf "%.1f M loader cycles, %d relocations", c / 1e6, r }' ;;
        sys)
                LD_LIBRARY_PATH=. ./strace -f -E LD_LIBRARY_PATH -o /tmp/trace "$@" >/dev/null 2>&1
                echo "$(grep -c '^[0-9]* *[a-z_0-9]*(' /tmp/trace) system calls, $(grep -c 'fsync(\|fdatasync(' /tmp/trace) fsyncs" ;;
        esac
}
# counts "ON" ["OFF"]: each mode runs ON then OFF (which undoes it), so that each count is of a
# real move and the devices end where they started.
counts() {
        a="" b=""
        for mode in libs ld sys; do
                [ $mode != sys ] || [ -x ./strace ] || continue
                a="$a, $(probe $mode $1)"
                [ -z "$2" ] || b="$b, $(probe $mode $2)"
        done
        echo "# $1: ${a#, }"
        [ -z "$2" ] || echo "# $2: ${b#, }"
}

home || die "the devices start on their own drivers"
# Warm every path once (modules loaded, caches filled).
for t in $tools; do
        ${t}_nic && ${t}_usb || die "warming up $t"
done
home || die "warming up left a device off its driver"

counts "qvm-pci hide $NIC" "qvm-pci unhide $NIC"
counts "qvm-pci hide --with-group $UHCI1" "qvm-pci unhide $USB"
case " $tools " in *" xl "*) counts "xl pci-assignable-add $NIC" "xl pci-assignable-remove -r $NIC" ;; esac
case " $tools " in *" virsh "*)
        counts "$vsh nodedev-detach $vdrv $(nodedev "$NIC")" "$vsh nodedev-reattach $(nodedev "$NIC")"
        counts "$vsh version"
        ;;
esac
counts "./floor-sqlite /tmp/floor.db"
counts ./floor-exec
# What reading a function's config space costs here (qpci's inventory reads each function's 256
# bytes), against its uevent: one head -c 256 of every function's file, ten times over.
files() { for k in 1 2 3 4 5 6 7 8 9 10; do for d in /sys/bus/pci/devices/*; do echo "$d/$1"; done; done; }
nf=$(files config | wc -l)
t0=$(ms); head -c 256 $(files uevent) >/dev/null; t1=$(ms); head -c 256 $(files config) >/dev/null; t2=$(ms)
echo "# $nf reads of config (256 bytes each): $((t2 - t1)) ms; of uevent: $((t1 - t0)) ms"
home || die "the counts left a device off its driver"

rm -f /tmp/t.*
floors="floor_exec floor_sqlite"
case " $tools " in *" virsh "*) floors="$floors floor_virsh" ;; esac
i=0
while [ $i -lt "$ROUNDS" ]; do
        i=$((i + 1))
        # Each round starts with another tool, so none always follows the same one.
        set -- $tools
        k=$(((i - 1) % $#))
        while [ $k -gt 0 ]; do t=$1; shift; set -- "$@" "$t"; k=$((k - 1)); done
        line="# round $i:"
        for dev in nic usb; do
                for t in "$@"; do
                        timed $dev.$t ${t}_$dev
                        home || die "$t left a device of the $dev off its driver in round $i"
                        line="$line $dev $t $took,"
                done
        done
        for f in $floors; do
                timed $f $f
                line="$line $f $took,"
        done
        echo "${line%,} ms"
done
home || die "the devices end on their own drivers"

echo "# load in the guest: $(cat /proc/loadavg)"
for f in $floors; do show "$f x2" /tmp/t.$f; done
for dev in nic usb; do
        for t in $tools; do show "$side $dev $t" /tmp/t.$dev.$t; done
        set -- $(rstats /tmp/t.$dev.qpci /tmp/t.$dev.script /tmp/t.floor_sqlite)
        echo "# $side $dev: qpci / (script + floor-sqlite x2) per round: median $1x (lowest $2, highest $3)"
        verdict "$1" 1.15 "$side $dev: qpci within 1.15x of the script plus two SQLite commits"
        for t in xl virsh; do
                case " $tools " in *" $t "*) ;; *) continue ;; esac
                target=0.5
                [ $t = xl ] && target=0.8
                set -- $(rstats /tmp/t.$dev.qpci /tmp/t.$dev.$t)
                echo "# $side $dev: qpci / $t per round: median $1x (lowest $2, highest $3)"
                verdict "$1" $target "$side $dev: qpci against $t"
        done
done
echo "1..$n"
