#!/bin/bash
# Smoke test of the private libvirt daemon (tests/libvirt/with-libvirtd): a tiny domain (TCG,
# Debian's kernel booted directly, a busybox initramfs built here) is defined, started, seen
# running, survives a daemon restart, is destroyed, keeps its definition across a daemon restart
# without being autostarted, and is undefined. TAP on stdout, timings as '#' comments.
# Run it as root: tests/libvirt/smoke.sh (it puts itself under with-libvirtd when not there yet).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# The guest kernel is downloaded here when not cached: the namespaces have no network.
fetch_then_enter "$here/smoke.sh" "$@"

t_all=$(date +%s.%N)
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

work=$(mktemp -d "${TMPDIR:-/tmp}/qpci-libvirt-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
dom=qpci-smoke

kernel=$(guest_kernel) || { echo "$kernel"; exit 1; }
[ -r "$kernel" ] || bail "cannot read the kernel $kernel"
echo "# kernel: $kernel"
guest_initrd "$work/initrd" 'QPCI-LIBVIRT-SMOKE-UP $(uname -r)'

console=$work/console.log
cat >"$work/domain.xml" <<EOF
<domain type='qemu'>
  <name>$dom</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$kernel</kernel>
    <initrd>$work/initrd</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'>
      <source path='$console'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF

state() { virsh domstate "$dom" 2>/dev/null | head -n 1; }
# (not grep -q: under pipefail, virsh could die of SIGPIPE writing its last line after grep quit)
running_listed() { virsh list --name | grep -x "$dom" >/dev/null; }
wait_marker() { # seconds
        local i
        for ((i = 0; i < $1 * 10; i++)); do
                grep -aq QPCI-LIBVIRT-SMOKE-UP "$console" 2>/dev/null && return 0
                sleep 0.1
        done
        return 1
}

# --- the tests ---------------------------------------------------------------------------------
echo "# daemon start: ${QPCI_LIBVIRTD_START_SECONDS:-?} s"

check "the default URI is qemu:///system" test "$(virsh uri)" = qemu:///system
uuid=$(virsh capabilities 2>/dev/null | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -n 1)
check "virsh reaches the private daemon (host UUID $uuid)" test "$uuid" = "${QPCI_LIBVIRTD_UUID:-none}"
check "the private daemon starts with no domain, network or pool" \
        test -z "$(virsh list --all --name; virsh net-list --all --name; virsh pool-list --all --name)"
check "define $dom (type qemu, direct kernel boot)" virsh define "$work/domain.xml"

t=$(now)
if out=$(virsh start "$dom" 2>&1); then
        ok "start $dom"
        echo "# domain start (virsh start): $(since "$t") s"
else
        not_ok "start $dom"
        printf '%s\n' "$out" | sed 's/^/#   /'
        sed 's/^/#   qemu log: /' "$QPCI_LIBVIRTD_DIR/log/qemu/$dom.log" 2>/dev/null
fi
check "$dom is running in virsh list" running_listed
if wait_marker 60; then
        ok "the guest printed its marker on the serial console"
        echo "# from virsh start to the marker: $(since "$t") s"
else
        not_ok "the guest printed its marker on the serial console"
        sed 's/^/#   console: /' "$console" 2>/dev/null | tail -n 30
fi

# The C API, as qpci will use it: virConnectOpen(NULL) goes where LIBVIRT_DEFAULT_URI says.
cprog=$work/capi
if command -v cc >/dev/null && pkg-config --exists libvirt 2>/dev/null; then
        cat >"$work/capi.c" <<'EOF'
#include <stdio.h>
#include <libvirt/libvirt.h>
int main(int argc, char **argv)
{
        virConnectPtr c = virConnectOpen(NULL);
        char *uri;
        virDomainPtr d;
        int state, reason;
        if (!c || argc < 2)
                return 2;
        uri = virConnectGetURI(c);
        d = virDomainLookupByName(c, argv[1]);
        if (!d || virDomainGetState(d, &state, &reason, 0) < 0)
                return 1;
        printf("%s %s %s\n", uri, virDomainGetName(d), state == VIR_DOMAIN_RUNNING ? "running" : "not-running");
        return 0;
}
EOF
        # shellcheck disable=SC2046
        if cc -o "$cprog" "$work/capi.c" $(pkg-config --cflags --libs libvirt) 2>"$work/cc.err"; then
                check "virConnectOpen(NULL) reaches it: qemu:///system, $dom running" \
                        test "$("$cprog" "$dom" 2>&1)" = "qemu:///system $dom running"
        else
                not_ok "a program using libvirt's C API builds (pkg-config libvirt)"
                sed 's/^/#   /' "$work/cc.err"
        fi
else
        n=$((n + 1))
        echo "ok $n - virConnectOpen(NULL) # SKIP no cc or no pkg-config libvirt (libvirt-dev)"
fi

t=$(now)
check "daemon restart" "$here/with-libvirtd" --restart
echo "# daemon restart: $(since "$t") s"
check "$dom is still running after the daemon restart" running_listed
check "destroy $dom" virsh destroy "$dom"
check "$dom is shut off" test "$(state)" = "shut off"
check "mark $dom autostart" virsh autostart "$dom"
check "daemon restart" "$here/with-libvirtd" --restart
check "the persistent definition is kept across the restart" virsh dominfo "$dom"
check "$dom is not autostarted by the private daemon" test "$(state)" = "shut off"
check "undefine $dom" virsh undefine "$dom"
check "$dom is gone" test -z "$(virsh list --all --name)"

echo "# whole smoke (inside the harness): $(since "$t_all") s"
echo "1..$n"
[ "$failed" = 0 ]
