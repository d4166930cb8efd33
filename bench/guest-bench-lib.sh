# shellcheck shell=sh
# What the guest benchmarks share (busybox sh, after guest-lib.sh): a clock, timed rounds, medians
# with their spread, the rounds' own ratios and a verdict against a target. run-guest-bench puts it
# beside the script, which sources it: . ./guest-bench-lib.sh

# Busybox's date has no sub-second time: /proc/uptime, in hundredths, against ops of 0.3 s and more.
ms() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}0"; }

# die MESSAGE: the benchmark cannot go on; the drivers of $DEVS say where the devices were left.
die() {
        not_ok "$*"
        for d in $DEVS; do echo "#   $d: driver '$(driver_of "$d")', override '$(override_of "$d")'"; done
        echo "1..$n"
        exit 1
}

# timed LABEL FUNCTION: runs it, appends its milliseconds to /tmp/t.LABEL, sets $took. A failure
# ends the benchmark: a move that did not happen measures nothing.
timed() {
        t0=$(ms)
        $2 || die "$1 failed in round $i"
        t1=$(ms)
        took=$((t1 - t0))
        echo $took >>/tmp/t.$1
}

# stats FILE: median, lowest, highest of a column of numbers.
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%d %d %d", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
# rstats A B [C]: the rounds' own ratios A / (B [+ C]): median, lowest, highest.
rstats() {
        if [ -n "$3" ]; then paste "$2" "$3" | awk '{ print $1 + $2 }' >/tmp/sum; set -- "$1" /tmp/sum; fi
        paste "$1" "$2" | awk '$2 > 0 { print $1 / $2 }' | sort -n |
                awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
show() { # label file
        set -- "$1" $(stats "$2")
        echo "# $1: median $2 ms (lowest $3, highest $4)"
}
# verdict RATIO TARGET DESCRIPTION: a TAP line; a missed target is a TODO, not a failure (the
# benchmark worked; the figure is what it is).
verdict() {
        if awk -v r="$1" -v t="$2" 'BEGIN { exit !(r <= t) }'; then
                ok "$3: ${1}x (target ${2}x)"
        else
                ok "$3: ${1}x (target ${2}x) # TODO target missed"
        fi
}

# The VMs of guest-start.sh and guest-trace.sh, in the guest of --libvirt --nodedev --domu (a Xen dom0
# with --xen): sys-q, qpci's, assigned the e1000e, and sys-v, the same domain for libvirt alone,
# whose <hostdev managed='yes'> makes libvirt move the device itself. start_setup defines both and
# warms both paths once (modules, QEMU's files, libvirt's caches); q_start, q_stop, v_start, v_stop
# and v_back start and stop them, home says the e1000e is back.
q_start() { qvm-start sys-q >/dev/null; }
q_stop() { qvm-shutdown --force --wait sys-q >/tmp/stop.out 2>&1 && qvm-pci unhide "$NIC" >>/tmp/stop.out 2>&1; }
v_start() { $vsh start sys-v >/dev/null; }
v_stop() { $vsh destroy sys-v >/tmp/stop.out 2>&1; }
# What libvirt did not give back at the destroy (guest-start.sh says why): nodedev-reattach, as a
# user would.
v_back() { $vsh nodedev-reattach "pci_$(echo "$NIC" | tr ':.' '__')" >>/tmp/stop.out 2>&1; }
running() {
        [ "$($vsh domstate "$1")" = running ] || die "$1 is $($vsh domstate "$1") after its start, not running"
}
home() { # who stopped last
        is_on "$NIC" e1000e && return 0
        diag </tmp/stop.out
        tail -n 5 /var/log/libvirt/libvirtd.log | diag
        die "the e1000e is not back on e1000e after $1 stopped, in round $i"
}

start_setup() {
        NIC=$E1000E
        DEVS=$NIC
        vsh="virsh -q -c $(cat .libvirt)"
        if [ "$(cat /proc/xen/capabilities 2>/dev/null)" = control_d ]; then
                side=xen
                modprobe xen-pciback || die "modprobe xen-pciback"
        else
                side=kvm
                # QEMU needs vfio_iommu_type1 for a VFIO group; busybox modprobe ignores vfio's softdep
                # on it.
                { modprobe vfio-pci && modprobe vfio_iommu_type1; } || die "modprobe vfio-pci vfio_iommu_type1"
        fi
        qvm-create sys-q --kernel "$QPCI_DOMU_KERNEL" --initrd "$QPCI_DOMU_INITRD" --memory 256 &&
                qvm-pci attach --persistent sys-q "$(ident "$NIC")" || die "qvm-create and attach sys-q"
        # The same domain for libvirt alone: qpci's definition renamed, without its uuid and qpci's
        # metadata, the NIC managed by libvirt.
        $vsh dumpxml --inactive sys-q |
                sed -e 's/sys-q/sys-v/g' -e '/<uuid>/d' -e "s/managed='no'/managed='yes'/" \
                        -e '/<metadata>/,/<\/metadata>/d' >/tmp/sys-v.xml &&
                $vsh define /tmp/sys-v.xml >/dev/null || die "virsh define sys-v"
        grep -q "managed='yes'" /tmp/sys-v.xml || die "sys-v has a managed hostdev"
        i=0
        { q_start && running sys-q && q_stop && home qpci; } || die "warming up qvm-start"
        { v_start && running sys-v && v_stop && { is_on "$NIC" e1000e || v_back; } && home virsh; } ||
                die "warming up virsh start"
}
