# shellcheck shell=sh
# qpci's read-only inventory against a real kernel: run by tests/kernel/run-guest --script (busybox
# sh, as root, in the default topology). Every fact qvm-pci reports is checked against the guest's own
# sysfs; nothing is bound or unbound. Prints TAP; exits non-zero when a check failed.

. ./guest-lib.sh
# is DESCRIPTION EXPECTED GOT: one test comparing two strings, showing both when they differ.
is() {
        if [ "$2" = "$3" ]; then
                ok "$1"
        else
                not_ok "$1"
                echo "#   expected: '$2'"
                echo "#        got: '$3'"
        fi
}

# JSON to one line per value, in busybox awk (no jq, no python here): /0/bdf="0000:00:00.0",
# /0/siblings/1="0000:00:1a.7", /0/driver=null, /0/siblings=[] for an empty array. Strings keep
# their quotes and escapes, so null and "null" stay apart.
flatten() {
        awk '
        function path(   i, p) { p = ""; for (i = 1; i <= d; i++) p = p "/" key[i]; return p }
        function emit(v) { print path() "=" v }
        { buf = buf $0 "\n" }
        END {
                n = length(buf); d = 0; i = 1
                while (i <= n) {
                        c = substr(buf, i, 1)
                        if (c == "{" || c == "[") {
                                if (d > 0) empty[d] = 0
                                d++; kind[d] = c; idx[d] = 0; empty[d] = 1
                                key[d] = (c == "[") ? 0 : ""
                                i++; continue
                        }
                        if (c == "}" || c == "]") {
                                e = empty[d]; d--
                                if (e) emit(c == "]" ? "[]" : "{}")
                                i++; continue
                        }
                        if (c == ",") { if (kind[d] == "[") { idx[d]++; key[d] = idx[d] } i++; continue }
                        if (index(" \n\t\r:", c)) { i++; continue }
                        if (c == "\"") {
                                j = i + 1
                                while (j <= n) {
                                        e = substr(buf, j, 1)
                                        if (e == "\\") { j += 2; continue }
                                        if (e == "\"") break
                                        j++
                                }
                                s = substr(buf, i, j - i + 1); i = j + 1
                                k = i; while (substr(buf, k, 1) == " ") k++
                                if (kind[d] == "{" && substr(buf, k, 1) == ":") { key[d] = substr(s, 2, length(s) - 2); continue }
                                empty[d] = 0; emit(s); continue
                        }
                        j = i
                        while (j <= n && index(",]}: \n\t\r", substr(buf, j, 1)) == 0) j++
                        empty[d] = 0; emit(substr(buf, i, j - i)); i = j
                }
                if (d != 0) { print "flatten: unbalanced JSON" > "/dev/stderr"; exit 1 }
        }'
}
# Every process costs under emulation: one awk turns a flattened list into shell variables,
# J_<index>_<key> (the value as written) and A_<index>_<key> (an array of strings: sorted, unquoted,
# one space between), read with jv/ja into $R without a subshell.
shellvars() {
        awk '
        function sq(v,   r, k) {
                r = ""
                while ((k = index(v, "\047")) > 0) { r = r substr(v, 1, k - 1) "\047\\\047\047"; v = substr(v, k + 1) }
                return "\047" r v "\047"
        }
        function flush(   i, j, t, s) {
                if (cur == "") return
                for (i = 2; i <= na; i++) for (j = i; j > 1 && el[j - 1] > el[j]; j--) { t = el[j]; el[j] = el[j - 1]; el[j - 1] = t }
                s = ""; for (i = 1; i <= na; i++) s = s (i > 1 ? " " : "") el[i]
                print "A_" cur "=" sq(s); cur = ""; na = 0
        }
        {
                eq = index($0, "="); p = substr($0, 2, eq - 2); v = substr($0, eq + 1)
                n = split(p, part, "/")
                if (n == 2) {
                        flush(); name = part[1] "_" part[2]
                        if (v == "[]") print "A_" name "=\047\047"; else print "J_" name "=" sq(v)
                } else if (n == 3 && part[3] ~ /^[0-9]+$/) {
                        name = part[1] "_" part[2]
                        if (name != cur) { flush(); cur = name }
                        sub(/^"/, "", v); sub(/"$/, "", v); el[++na] = v
                }
        }
        END { flush() }'
}
jv() { eval "R=\${J_$1_$2-}"; }   # INDEX KEY
ja() { eval "R=\${A_$1_$2-}"; }   # INDEX KEY
qid() { # 0000:00:1a.0 -> dom0:00_1a.0, into $R
        R=${1#0000:}
        R=dom0:${R%%:*}_${R#*:}
}
link_name() { R=""; [ -e "$1" ] && R=$(readlink "$1") && R=${R##*/}; }
read_file() { R=""; read -r R <"$1" 2>/dev/null; }   # no process for this

# --- qvm-pci --json against /sys/bus/pci/devices -----------------------------------------------
qvm-pci --json >/tmp/list.json 2>/tmp/list.err
check "qvm-pci --json exits 0" [ $? = 0 ]
check "qvm-pci --json says nothing on stderr" [ ! -s /tmp/list.err ]
flatten </tmp/list.json >/tmp/list.flat 2>/tmp/flat.err
check "its output is well-formed JSON" [ ! -s /tmp/flat.err ]
shellvars </tmp/list.flat >/tmp/list.vars
. /tmp/list.vars
sed -n 's#^/\([0-9]*\)/bdf="\(.*\)"$#\1 \2#p' /tmp/list.flat >/tmp/index

SYS=""
for d in /sys/bus/pci/devices/*; do SYS="$SYS ${d##*/}"; done
SYS=${SYS# }
JSONBDFS=$(cut -d' ' -f2 /tmp/index | sort | tr '\n' ' ')
is "qvm-pci --json lists exactly the functions in /sys/bus/pci/devices" "$SYS" "${JSONBDFS% }"

index_of() { # BDF -> $R
        R=""
        while read -r ii bb; do [ "$bb" = "$1" ] && { R=$ii; return 0; }; done </tmp/index
        return 1
}
others() { # SELF WORDS... -> the words but SELF, into $R
        o=$1 r=""
        shift
        for w in "$@"; do [ "$w" = "$o" ] || r="$r $w"; done
        R=${r# }
}

while read -r i bdf; do
        d=/sys/bus/pci/devices/$bdf
        qid "$bdf"; id=$R
        jv "$i" id; is "$bdf: id $id" "\"$id\"" "$R"
        sysfs_path "$bdf"; want=$R
        jv "$i" port_id; is "$bdf: port_id $want, its PCI path computed from sysfs" "\"$want\"" "$R"

        if [ -e "$d/reset_method" ]; then
                read_file "$d/reset_method"; want=$R
                # In order (the arrays in $A_... are sorted): the kernel tries them in this order.
                got=$(sed -n "s#^/$i/reset_methods/[0-9]*=\"\(.*\)\"\$#\1#p" /tmp/list.flat | tr '\n' ' ')
                is "$bdf: reset_methods are the words of its reset_method" "$want" "${got% }"
        else
                set_=""
                eval "set_=\${A_${i}_reset_methods+set}"
                ja "$i" reset_methods
                is "$bdf: reset_methods [] (the kernel has no reset_method for it)" "set:" "$set_:$R"
        fi
        jv "$i" reset_source; is "$bdf: reset_source kernel" '"kernel"' "$R"

        link_name "$d/driver"; drv=$R
        jv "$i" driver; got_drv=$R
        jv "$i" state; got_state=$R
        if [ -n "$drv" ]; then
                is "$bdf: driver $drv as its driver link, state host" "\"$drv\" \"host\"" "$got_drv $got_state"
        else
                is "$bdf: driver null (no driver link), state free" 'null "free"' "$got_drv $got_state"
        fi

        # The module libkmod finds for the modalias is the one whose driver the kernel bound
        # (for loadable modules: a built-in one has no initstate).
        if [ -n "$drv" ]; then
                link_name "/sys/bus/pci/drivers/$drv/module"; mod=$R
                if [ -n "$mod" ] && [ -e "/sys/module/$mod/initstate" ]; then
                        jv "$i" module
                        is "$bdf: module $mod, the module of its driver $drv (found from its modalias)" "\"$mod\"" "$R"
                fi
        fi

        link_name "$d/iommu_group"; grp=$R
        jv "$i" iommu_group; got=$R
        if [ -n "$grp" ]; then
                is "$bdf: iommu_group $grp as its iommu_group link" "$grp" "$got"
                peers=""
                for p in /sys/kernel/iommu_groups/$grp/devices/*; do peers="$peers ${p##*/}"; done
                others "$bdf" $peers; want=$R
                ja "$i" iommu_group_peers
                is "$bdf: iommu_group_peers are the rest of /sys/kernel/iommu_groups/$grp" "$want" "$R"
        else
                is "$bdf: iommu_group null (no iommu_group link)" null "$got"
        fi

        slot=${bdf%.*}
        fns=""
        for f in $SYS; do [ "${f%.*}" = "$slot" ] && fns="$fns $f"; done
        others "$bdf" $fns; want=$R
        ja "$i" siblings
        is "$bdf: siblings are the other functions of slot $slot" "$want" "$R"
        # Multi-function: function 0's header type says so, or the slot holds several functions.
        mf=false
        [ "$fns" != " $bdf" ] && mf=true
        if [ -r "/sys/bus/pci/devices/$slot.0/config" ]; then
                ht=$(od -An -tu1 -j14 -N1 "/sys/bus/pci/devices/$slot.0/config")
                [ -n "$ht" ] && [ $ht -ge 128 ] && mf=true
        fi
        jv "$i" multifunction; is "$bdf: multifunction $mf" "$mf" "$R"

        bus=${bdf#*:}; bus=${bus%%:*}
        jv "$i" bus; is "$bdf: bus $bus" "\"$bus\"" "$R"
        parent=$(readlink -f "$d"); parent=${parent%/*}; parent=${parent##*/}
        jv "$i" root_bus; rb=$R
        jv "$i" parent
        case $parent in
        pci[0-9a-f]*:*) is "$bdf: on a root bus, no parent" "true null" "$rb $R" ;;
        *) is "$bdf: parent $parent, the bridge above it in sysfs" "false \"$parent\"" "$rb $R" ;;
        esac
        read_file "$d/class"; class=${R#0x}
        jv "$i" class; is "$bdf: class $class" "\"$class\"" "$R"
        read_file "$d/vendor"; v=${R#0x}
        read_file "$d/device"; dv=${R#0x}
        jv "$i" vendor_id; got=$R
        jv "$i" device_id
        is "$bdf: vendor:device $v:$dv" "\"$v\" \"$dv\"" "$got $R"
done </tmp/index

# --- the devices of the Assigning Devices page's laptop -----------------------------------------
find_dev() { # vendor:device -> the first such function, into $R
        R=""
        for d in /sys/bus/pci/devices/*; do
                read -r v_ <"$d/vendor"
                read -r d_ <"$d/device"
                [ "$v_:$d_" = "$1" ] && { R=${d##*/}; return 0; }
        done
        return 1
}

usbfns=""
for f in $SYS; do case $f in 0000:00:1a.*) usbfns="$usbfns $f" ;; esac; done
usbfns=${usbfns# }
is "the ICH9 USB device at 00:1a has its three functions" "0000:00:1a.0 0000:00:1a.1 0000:00:1a.7" "$usbfns"
for f in $usbfns; do
        index_of "$f"; i=$R
        jv "$i" multifunction; is "$f: multi-function" true "$R"
        others "$f" $usbfns; want=$R
        ja "$i" siblings; is "$f: its siblings are the other ICH9 USB functions" "$want" "$R"
        jv "$i" strict_reset
        is "$f: strict_reset false (no FLR, no PM reset, and a root bus has no bus reset)" false "$R"
done

find_dev 0x8086:0x10d3; E1000E=$R
index_of "$E1000E"; i=$R
check "the e1000e is there ($E1000E), off the root bus" test -n "$E1000E" -a "${E1000E#0000:00:}" = "$E1000E"
jv "$i" parent; is "e1000e: parent bridge 0000:00:1c.0" '"0000:00:1c.0"' "$R"
jv "$i" module; is "e1000e: module e1000e (libkmod, from its modalias)" '"e1000e"' "$R"
got=$(sed -n "s#^/$i/reset_methods/[0-9]*=\"\(.*\)\"\$#\1#p" /tmp/list.flat | tr '\n' ' ')
is "e1000e: reset_methods pm, bus" "pm bus" "${got% }"
jv "$i" strict_reset; is "e1000e: strict_reset true (alone behind its root port)" true "$R"
jv "$i" pcie_type; is "e1000e: a PCIe endpoint" '"endpoint"' "$R"
index_of 0000:00:1c.0; i=$R
jv "$i" bridge; got=$R
jv "$i" pcie_type; is "00:1c.0: a bridge, a root port" 'true "root port"' "$got $R"

find_dev 0x1234:0x11e8; EDU=$R
index_of "$EDU"; i=$R
check "QEMU's edu is there ($EDU)" [ -n "$EDU" ]
jv "$i" driver; a=$R
jv "$i" state; b=$R
jv "$i" module; is "edu: no driver, free, no module" 'null "free" null' "$a $b $R"
index_of 0000:00:1a.0; i=$R
jv "$i" driver; a=$R
jv "$i" module
is "00:1a.0: driver uhci_hcd, module uhci_hcd (the module found from its modalias)" '"uhci_hcd" "uhci_hcd"' "$a $R"
index_of 0000:00:1a.7; i=$R
jv "$i" driver; a=$R
jv "$i" module; is "00:1a.7: driver ehci-pci, module ehci_pci" '"ehci-pci" "ehci_pci"' "$a $R"

# --- qvm-pci, -v and info, line-based -----------------------------------------------------------
qvm-pci >/tmp/plain.out 2>&1
check "qvm-pci exits 0" [ $? = 0 ]
want=""
for f in $SYS; do qid "$f"; want="$want $R"; done
got=$(cut -d' ' -f1 /tmp/plain.out | tr '\n' ' ')
is "qvm-pci prints one line per function" "${want# }" "${got% }"
qvm-pci -v >/tmp/verbose.out 2>&1
check "qvm-pci -v exits 0" [ $? = 0 ]
for bdf in $SYS; do
        link_name "/sys/bus/pci/devices/$bdf/driver"
        want=free
        [ -n "$R" ] && want="host: $R"
        qid "$bdf"; id=$R
        line=""
        while read -r l; do case $l in "$id "*) line=$l ;; esac; done </tmp/verbose.out
        case $line in
        *"  $want  "*) ok "qvm-pci -v: $id $want" ;;
        *) not_ok "qvm-pci -v: $id $want"; echo "#   got: $line" ;;
        esac
done

for bdf in $SYS; do
        qvm-pci info "$bdf" >/tmp/info.out 2>&1
        rc=$?
        link_name "/sys/bus/pci/devices/$bdf/driver"
        want=free
        [ -n "$R" ] && want="host: $R"
        qid "$bdf"; id=$R
        first="" state=""
        while IFS= read -r l; do
                [ -z "$first" ] && first=$l
                case $l in "  state "*) state=$l ;; esac
        done </tmp/info.out
        is "qvm-pci info $bdf: exit 0, the device, its state" "0|$id  $bdf|  state         $want" "$rc|$first|$state"
done
qvm-pci info "$E1000E" >/tmp/info.out 2>&1
check "qvm-pci info (e1000e): module e1000e" grep -qx '  module        e1000e' /tmp/info.out
check "qvm-pci info (e1000e): behind bridge dom0:00_1c.0" grep -q '^  bus           01, behind bridge dom0:00_1c.0,' /tmp/info.out
check "qvm-pci info (e1000e): reset pm,bus from the kernel" grep -qx '  reset         pm,bus (from the kernel)' /tmp/info.out
check "qvm-pci info (e1000e): strict reset yes" grep -q '^  strict reset  yes' /tmp/info.out
qvm-pci info dom0:00_1a.0 >/tmp/info.a 2>&1
for id in 00_1a.0 00:1a.0 0000:00:1a.0; do
        qvm-pci info "$id" >/tmp/info.b 2>&1
        check "qvm-pci info $id is qvm-pci info dom0:00_1a.0" cmp /tmp/info.a /tmp/info.b
done
check "qvm-pci info dom0:00_1a.0: its group peers and siblings" \
        sh -c "grep -qx '    group peers dom0:00_1a.1, dom0:00_1a.7' /tmp/info.a && grep -qx '  siblings      dom0:00_1a.1, dom0:00_1a.7' /tmp/info.a"
check "qvm-pci info dom0:00_1a.0: strict reset no" grep -q '^  strict reset  no: ' /tmp/info.a
sysfs_path "$E1000E"
is "the e1000e's PCI path: its root port, then 00 relative to the port's secondary bus" "00_1c.0-00_00.0" "$R"
for id in "dom0:$R" "$R" "dom0:$R:0x8086:0x10d3::p020000"; do
        qvm-pci info "$id" >/tmp/info.b 2>&1
        read -r first _ </tmp/info.b
        is "qvm-pci info $id is the e1000e" "dom0:01_00.0" "$first"
done
qvm-pci info 00:1b.7 >/tmp/info.b 2>&1
check "qvm-pci info of a function the host lacks: status 2" [ $? = 2 ]

# --- USB: the controller behind a device ------------------------------------------------------
qvm-pci usb >/tmp/usb.out 2>&1
check "qvm-pci usb exits 0" [ $? = 0 ]
ctrl_of() { # /sys/bus/usb/devices/X -> the PCI function its bus hangs off, into $R
        R=$(readlink -f "$1")
        R=${R%%/usb[0-9]*}
        R=${R##*/}
}
for u in /sys/bus/usb/devices/usb*; do
        b=${u##*/usb}
        ctrl_of "$u"; qid "$R"; c=$R
        read_file "$u/version"; v=$(echo $R)
        # The bus is listed once, under its controller's line.
        got="" cur=""
        while IFS= read -r l; do
                case $l in
                " "*) set -- $l; [ "$1" = "usb$b" ] && got="$got|$cur $*" ;;
                *) cur=${l%% *} ;;
                esac
        done </tmp/usb.out
        is "qvm-pci usb: usb$b (USB $v) under $c" "|$c usb$b (USB $v)" "$got"
done

usb_dev() { # /sys/bus/usb/devices/X -> "BUS DEVNUM VID PID" into $R
        read -r b_ <"$1/busnum"; read -r n_ <"$1/devnum"
        read -r v_ <"$1/idVendor"; read -r p_ <"$1/idProduct"
        R="$b_ $n_ $v_ $p_"
}
find_usb() { # VID:PID PCI-function -> the USB device on that controller, into $R
        for u in /sys/bus/usb/devices/*; do
                [ -f "$u/idVendor" ] || continue
                read -r v_ <"$u/idVendor"; read -r p_ <"$u/idProduct"
                [ "$v_:$p_" = "$1" ] || continue
                ctrl_of "$u"
                # shellcheck disable=SC2254 # $2 is a pattern
                case $R in $2) R=$u; return 0 ;; esac
        done
        R=""
        return 1
}
find_usb 0627:0001 '0000:00:1a.[0-7]'; TABLET=$R
find_dev 0x1b36:0x000d; XHCI=$R
find_usb 0627:0001 "$XHCI"; KBD=$R
check "the usb-tablet is on the ICH9 controllers (${TABLET##*/})" [ -n "$TABLET" ]
check "the usb-kbd is on the xHCI $XHCI (${KBD##*/})" [ -n "$KBD" ]
for pair in "$TABLET|QEMU QEMU USB Tablet" "$KBD|QEMU QEMU USB Keyboard"; do
        u=${pair%%|*}
        [ -n "$u" ] || continue
        usb_dev "$u"
        set -- $R
        line=$(printf 'Bus %03d Device %03d: ID %s:%s %s' "$1" "$2" "$3" "$4" "${pair#*|}")
        ctrl_of "$u"; qid "$R"; c=$R
        qvm-pci usb "$line" >/tmp/usbq.out 2>&1
        rc=$?
        read -r first _ </tmp/usbq.out
        is "qvm-pci usb '$line': exit 0, names $c" "0 $c" "$rc $first"
        check "...marks ${u##*/} with its ids" grep -q "^  \* ${u##*/} *0627:0001 " /tmp/usbq.out
        check "...and names no other controller" sh -c "[ \$(grep -c '^[^ ]' /tmp/usbq.out) = 2 ] && tail -n 1 /tmp/usbq.out | grep -q '^Assigning the controller gives the VM everything listed above'"
        # shellcheck disable=SC2086
        qvm-pci usb $line >/tmp/usbw.out 2>&1
        check "...the same when the line comes as separate words" cmp /tmp/usbq.out /tmp/usbw.out
done
ctrl_of "$TABLET"
case $R in
0000:00:1a.[0-7]) ok "the tablet's controller is one of the ICH9 functions 00:1a.x ($R)" ;;
*) not_ok "the tablet's controller is one of the ICH9 functions 00:1a.x ($R)" ;;
esac
check "qvm-pci usb: the ICH9 functions go along with each other" grep -q '^  also goes along: dom0:00_1a.1, dom0:00_1a.7 (functions of the same device)$' /tmp/usb.out

xbuses=""
for u in /sys/bus/usb/devices/usb*; do ctrl_of "$u"; [ "$R" = "$XHCI" ] && xbuses="$xbuses ${u##*/usb}"; done
xbuses=${xbuses# }
set -- $xbuses
is "the xHCI ($XHCI) owns two USB buses in sysfs" 2 "$#"
qvm-pci usb --json >/tmp/usb.json 2>&1
check "qvm-pci usb --json exits 0" [ $? = 0 ]
flatten </tmp/usb.json >/tmp/usb.flat 2>/tmp/flat.err
check "its output is well-formed JSON" [ ! -s /tmp/flat.err ]
xi=$(sed -n "s#^/\([0-9]*\)/bdf=\"$XHCI\"\$#\1#p" /tmp/usb.flat)
got=$(sed -n "s#^/$xi/buses/[0-9]*/bus=##p" /tmp/usb.flat | sort -n | tr '\n' ' ')
is "qvm-pci usb --json: the xHCI owns buses $xbuses" "$xbuses" "${got% }"
# The kernel numbers USB buses 1 to 64 (USB_MAXBUS): 63 is a bus this guest does not have, 99
# cannot be one.
qvm-pci usb 63 >/tmp/usbq.out 2>&1
check "qvm-pci usb 63 (no such bus): status 1" [ $? = 1 ]
qvm-pci usb 99 >/tmp/usbq.out 2>&1
check "qvm-pci usb 99 (not a USB bus number): status 2" [ $? = 2 ]

echo "1..$n"
[ $failed -eq 0 ]
