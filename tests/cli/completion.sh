#!/bin/bash
# The bash completion (completion/qpci) driven as bash drives it: COMP_WORDS and COMP_CWORD set, the
# function called, COMPREPLY checked, over fixture hosts (QPCI_ROOT) and libvirt's test driver. A
# fake lsusb prints the lsusb lines of the seed laptop. TAP.
# Usage: completion.sh BINDIR SOURCEDIR
set -u
bin=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'kill $hang_pid 2>/dev/null; rm -rf "$tmp"' EXIT
hang_pid=
n=0
status=0

python3 "$src/tests/fixture/mkfixture.py" "$src/tests/topologies/seed-laptop.topo" "$tmp/laptop" >/dev/null
python3 "$src/tests/fixture/mkfixture.py" "$src/tests/topologies/gpu-switch.topo" "$tmp/switch" >/dev/null
mkdir "$tmp/path"
cat >"$tmp/path/lsusb" <<'LSUSB'
#!/bin/sh
echo 'Bus 003 Device 003: ID 413c:818d Dell Computer Corp.'
echo 'Bus 003 Device 002: ID 8087:0024 Intel Corp. Integrated Rate Matching Hub'
LSUSB
chmod +x "$tmp/path/lsusb"
export PATH="$tmp/path:$PATH"
export QPCI_ROOT="$tmp/laptop" QPCI_PCI_IDS="$src/tests/data/pci.ids" QPCI_HWDB=0
export LIBVIRT_DEFAULT_URI="test://$src/tests/cli/vms/seed.xml"
COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'

# shellcheck source=../../completion/qpci
. "$src/completion/qpci"

# complete WORD... : COMPREPLY for the line of these words (as bash splits it), the last being
# completed; printed space-separated.
complete_words() {
        COMP_WORDS=("$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        _qpci
        printf '%s\n' "${COMPREPLY[*]}"
}

# expect WHAT 'WORDS' 'EXPECTED': the completion of WORDS (split at spaces; '' is an empty last
# word) is EXPECTED.
expect() {
        local what=$1 got
        local -a w
        read -ra w <<<"$2"
        [[ $2 == *" ''" ]] && w[${#w[@]} - 1]=''
        got=$(complete_words "${w[@]}")
        n=$((n + 1))
        if [[ $got == "$3" ]]; then
                echo "ok $n - $what"
        else
                echo "not ok $n - $what"
                echo "# $2"
                echo "#   expected: $3"
                echo "#   got:      $got"
                status=1
        fi
}

ok() { # what, then a command that must succeed
        local what=$1
        shift
        n=$((n + 1))
        if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; status=1; fi
}

q=$bin/qvm-pci
# Every function of the seed laptop but its root port 00_1c.0, a bridge.
laptop_ids='dom0:00_00.0 dom0:00_02.0 dom0:00_14.0 dom0:00_16.0 dom0:00_19.0 dom0:00_1a.0 dom0:00_1a.1 dom0:00_1a.2 dom0:00_1b.0 dom0:00_1d.0 dom0:00_1f.0 dom0:00_1f.2 dom0:00_1f.3 dom0:02_00.0'
vms='backup-net by-id by-port gone mei mei-nsr moved new-gone new-moved sys-net sys-usb usb-half usb-nsr'

expect "qvm-pci: its commands" "$q ''" 'list attach assign unassign check detach info usb hide unhide reset permissive'
expect "check: a VM, then devices" "$q check sys-usb dom0 : 00_1a.0 dom0 : 00_1a.1 dom0 : 00_1a.2" '00_1a.2'
expect "qvm-pci: a command begun" "$q un" 'unassign unhide'
expect "attach: VM names from libvirt" "$q attach ''" "$vms"
expect "check: VM names from libvirt" "$q check ''" "$vms"
expect "attach: device ids as qvm-pci lists them, bridges left out" "$q attach sys-usb ''" "$laptop_ids"
expect "attach: not the root port, a bridge" "$q attach sys-usb dom0 : 00_1c" ''
expect "info: the root port too" "$q info dom0 : 00_1c" '00_1c.0'
expect "attach: dom0:BB_DD.F begun (bash split it at ':')" "$q attach sys-usb dom0 : 00_1a" '00_1a.0 00_1a.1 00_1a.2'
expect "attach: BB:DD.F begun" "$q attach sys-usb 00 : 1a" '1a.0 1a.1 1a.2'
expect "attach: BB_DD.F begun" "$q attach sys-usb 00_1d" '00_1d.0'
expect "attach: SSSS:BB:DD.F begun" "$q attach sys-usb 0000 : 00 : 1f" '1f.0 1f.2 1f.3'
expect "the alias at, and R3.2's -a" "$q at sys-usb 00 : 1b" '1b.0'
expect "R3.2's -a VM BB:DD.F" "$q -a sys-usb 00 : 1b" '1b.0'
expect "attach: its options" "$q attach --" '--verbose --quiet --json --help --persistent --option --connect'
expect "attach -o: Qubes' options" "$q attach -o ''" \
        'no-strict-reset=True permissive=True no-strict-reset=False permissive=False'
expect "attach -o: the value after '='" "$q attach -o no-strict-reset = ''" 'True False'
expect "attach --option: begun" "$q attach --option per" 'permissive=True permissive=False'
expect "assign: R4.3's options" "$q assign --" \
        '--verbose --quiet --json --help --required --option --connect --port --only-port --device --only-device --ask --ask-to-attach --ro'
expect "hide --driver: the stubs" "$q hide --driver ''" 'vfio-pci pciback'
expect "unhide: only hidden devices (none here)" "$q unhide ''" ''
expect "usb: the lines lsusb prints" "$q usb B" \
        'Bus\ 003\ Device\ 003:\ ID\ 413c:818d\ Dell\ Computer\ Corp. Bus\ 003\ Device\ 002:\ ID\ 8087:0024\ Intel\ Corp.\ Integrated\ Rate\ Matching\ Hub'
expect "usb: a VID:PID begun" "$q usb 41" '413c:818d'
expect "list: VM names" "$q list sys-" 'sys-net sys-usb'
expect "list --exclude: VM names" "$q list --all --exclude m" 'mei mei-nsr moved'
expect "qvm-prefs: VM names" "$bin/qvm-prefs us" 'usb-half usb-nsr'
expect "qvm-prefs VM: its preferences" "$bin/qvm-prefs sys-usb ''" \
        'kernel initrd kernelopts memory maxmem vcpus pci_strictreset'
expect "qvm-prefs VM pci_strictreset: True or False" "$bin/qvm-prefs sys-usb pci_strictreset ''" 'True False'
expect "qvm-prefs -s VM PROP (R3.2)" "$bin/qvm-prefs -s sys-usb ker" 'kernel kernelopts'
expect "qvm-prefs VM kernelopts: the DMA buffer" "$bin/qvm-prefs sys-usb kernelopts ''" \
        "'iommu=soft swiotlb=8192' 'iommu=soft swiotlb=2048'"
expect "qvm-start: halted VMs only" "$bin/qvm-start s" 'sys-usb'
expect "qvm-shutdown: running VMs only" "$bin/qvm-shutdown ''" 'sys-net'
expect "qvm-shutdown: its options" "$bin/qvm-shutdown -" '--wait --timeout -f --force -c --connect --json -h --help'
expect "qvm-create --type" "$bin/qvm-create --type ''" 'kvm qemu xen'
expect "qvm-remove: VM names" "$bin/qvm-remove usb" 'usb-half usb-nsr'
expect "qvm-ls: VM names" "$bin/qvm-ls mei" 'mei mei-nsr'
expect "qpci: its groups" "$bin/qpci ''" 'pci prefs create ls start shutdown remove hook recover manager monitor'
expect "qpci hook" "$bin/qpci hook ''" 'install uninstall -h --help'
expect "qpci monitor: its options" "$bin/qpci monitor -" '--json -c --connect --no-vms -v --verbose -h --help'
expect "qpci pci: qvm-pci's completion" "$bin/qpci pci attach sys-usb dom0 : 00_1a.1" '00_1a.1'
expect "qpci start: qvm-start's" "$bin/qpci start ''" 'backup-net by-id by-port gone mei mei-nsr moved new-gone new-moved sys-usb usb-half usb-nsr'
expect "qpci recover --forget: device ids" "$bin/qpci recover --forget dom0 : 00_14" '00_14.0'

# Without ':' in COMP_WORDBREAKS (some users take it out), bash gives the id whole.
COMP_WORDBREAKS=$' \t\n"\'><=;|&('
expect "without ':' in COMP_WORDBREAKS, whole ids" "$q info dom0:00_1f" 'dom0:00_1f.0 dom0:00_1f.2 dom0:00_1f.3'
COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'

# PCI paths, behind a PCIe switch, once a '-' is typed.
QPCI_ROOT="$tmp/switch" expect "info: PCI paths once '-' is typed" "$q info dom0 : 00_01.0-00_00.0-00_00.0-" \
        '00_01.0-00_00.0-00_00.0-00_00.0 00_01.0-00_00.0-00_00.0-00_00.1'
QPCI_ROOT="$tmp/switch" expect "info: PCI paths without dom0:" "$q info 00_01.0-00_00.0-00_01.0-" \
        '00_01.0-00_00.0-00_01.0-00_00.0'
QPCI_ROOT="$tmp/switch" expect "info: BDFs behind the switch" "$q info dom0 : 03" '03_00.0 03_00.1'

# Every option --help prints is offered somewhere, and nothing else.
options_of_help() { # TOOL [ARGS]: the options its --help prints, sorted, as man-help.py reads them
        python3 - "$src/tests/cli/man-help.py" "$@" <<'PY'
import importlib.util, pathlib, sys
sys.path.insert(0, str(pathlib.Path(sys.argv[1]).parent))  # its tap.py
spec = importlib.util.spec_from_file_location("man_help", sys.argv[1])
mh = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mh)
tool = pathlib.Path(sys.argv[2])
text = mh.help_text(tool.parent, [tool.name] + sys.argv[3:])
print("\n".join(sorted(mh.parse_help(text, " ".join([tool.name] + sys.argv[3:]))[1])))
PY
}
offered() { # WORDS...: every option offered after them, over each context given as WORDS
        local ctx
        for ctx in "$@"; do
                local -a w
                read -ra w <<<"$ctx -"
                complete_words "${w[@]}" | tr ' ' '\n'
        done | sort -u
}
same_options() { # TOOL-WORDS HELP-ARGS CONTEXTS...
        local tool=$1 help=$2
        shift 2
        local want got
        # shellcheck disable=SC2086
        want=$(options_of_help $tool $help)
        got=$(offered "$@")
        [[ $want == "$got" ]] || { diff <(echo "$want") <(echo "$got") | sed 's/^/# /'; return 1; }
}
pci_contexts=("$q" "$q list" "$q attach" "$q assign" "$q unassign" "$q check" "$q detach" "$q info" "$q usb"
        "$q hide" "$q unhide" "$q reset" "$q permissive")
ok "qvm-pci: the options offered are those --help prints" same_options "$q" "" "${pci_contexts[@]}"
for t in qvm-prefs qvm-create qvm-start qvm-shutdown qvm-ls qvm-remove; do
        ok "$t: the options offered are those --help prints" same_options "$bin/$t" "" "$bin/$t"
done
ok "qpci recover: the options offered are those --help prints" same_options "$bin/qpci" recover "$bin/qpci recover"
ok "qpci manager: the options offered are those --help prints" same_options "$bin/qpci" manager "$bin/qpci manager"
# qvm-pci's commands: those its --help gives a form of.
same_commands() {
        [[ $("$q" --help | sed -n 's/^\(Usage:\)\? *qvm-pci \[\?\([a-z]\+\).*/\2/p' | sort) == \
                $(complete_words "$q" '' | tr ' ' '\n' | sort) ]]
}
ok "qvm-pci: the commands offered are those --help gives" same_commands
same_groups() {
        [[ $("$bin/qpci" --help | sed -n 's/^  qpci \([a-z][a-z-]*\).*/\1/p' | sort) == \
                $(complete_words "$bin/qpci" '' | tr ' ' '\n' | sort) ]]
}
ok "qpci: the groups offered are those --help lists" same_groups

# Speed: device ids are typed interactively.
start=$(date +%s%N)
complete_words "$q" attach sys-usb dom0 : 00 >/dev/null
ms=$((($(date +%s%N) - start) / 1000000))
echo "# device ids of the seed laptop completed in $ms ms"

# libvirt down: no daemon socket, so no VM name and no call at all (a qpci beside the tool that
# records its calls).
mkdir "$tmp/logged"
printf '#!/bin/sh\necho "$*" >>"%s/calls"\nexec "%s/qpci" "$@"\n' "$tmp" "$bin" >"$tmp/logged/qpci"
chmod +x "$tmp/logged/qpci"
ln -s qpci "$tmp/logged/qvm-start"
if [[ -S /run/libvirt/libvirt-sock || -S /run/libvirt/virtqemud-sock || -S /run/libvirt/virtxend-sock ]]; then
        n=$((n + 1))
        echo "ok $n # SKIP this machine runs a system libvirt daemon: its VMs would be listed"
else
        LIBVIRT_DEFAULT_URI= expect "libvirt down: no VM names" "$tmp/logged/qvm-start ''" ''
        ok "libvirt down: qvm-ls is not even run" test ! -e "$tmp/calls"
fi
# A daemon that accepts and never answers: the names give up after 2 s. (Under ASan, libvirt's
# remote driver crashes at its first message, in virNetMessageEncodeHeader, before any wait.)
if [[ -n ${QPCI_SANITIZED-} ]]; then
        n=$((n + 1))
        echo "ok $n # SKIP a hung libvirt: under a sanitizer libvirt's remote client crashes before it waits"
        echo "1..$n"
        exit $status
fi
python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); c=s.accept(); time.sleep(60)' \
        "$tmp/hung.sock" &
hang_pid=$!
for ((i = 0; i < 100; i++)); do [[ -S $tmp/hung.sock ]] && break; sleep 0.1; done
ok "a daemon that never answers listens" test -S "$tmp/hung.sock"
start=$(date +%s%N)
LIBVIRT_DEFAULT_URI="qemu+unix:///system?socket=$tmp/hung.sock" expect "a hung libvirt: no VM names" \
        "$bin/qvm-start ''" ''
ms=$((($(date +%s%N) - start) / 1000000))
echo "# a hung libvirt: the VM names gave up after $ms ms"
ok "a hung libvirt costs at most 2.5 s" test "$ms" -lt 2500

echo "1..$n"
exit $status
