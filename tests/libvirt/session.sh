#!/bin/bash
# qpci's VM tools on an unprivileged libvirt, qemu:///session: a session libvirtd run by a user of
# its own (made for the test, seen only inside with-libvirtd's namespaces), with its folders
# (XDG_*) in a temporary folder. qvm-create, qvm-prefs and qvm-start of a VM without devices, which
# must boot: the session daemon can write only its own folders, so the serial console's log goes
# to the connection's own log folder, ~/.cache/libvirt/qemu/log. TAP. Run it as root.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# The guest kernel is downloaded here when not cached: the namespaces have no network.
fetch_then_enter "$here/session.sh" "$@"
bin=$(cd "${QPCI_BIN:-$here/../../build/bin}" && pwd)

user=qpci-session
# The user's folder: not under QPCI_LIBVIRTD_DIR, which only root may enter.
home=$(mktemp -d "${TMPDIR:-/tmp}/qpci-libvirt-session.XXXXXX")
work=$home/work
trap 'umount "$home/build" 2>/dev/null; rm -rf --one-file-system "$home"' EXIT
mkdir -p "$work"

# The user, in a passwd and group of this mount namespace only.
for db in passwd group; do
        cp "/etc/$db" "$work/$db"
done
uid=64200
while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
echo "$user:x:$uid:$uid:qpci session test:$home:/bin/sh" >>"$work/passwd"
echo "$user:x:$uid:" >>"$work/group"
mount --bind "$work/passwd" /etc/passwd && mount --bind "$work/group" /etc/group || bail "cannot add the user $user"

kernel=$(guest_kernel) || { echo "$kernel"; exit 1; }
# The session's QEMU runs as the user: a copy it can read.
cp "$kernel" "$work/kernel" || bail "cannot copy the kernel"
guest_initrd "$work/initrd" 'QPCI-SESSION-VM: $(cat /proc/cmdline)'
rm -rf "$work/initramfs"
# The session daemon's configuration (XDG_CONFIG_HOME/libvirt): its warnings and errors on stderr.
# Otherwise a fresh session's defaults, virtlogd included (the daemon starts it), and no log folder
# yet: libvirt makes ~/.cache/libvirt/qemu but not the log folder in it.
mkdir -p "$home/.config/libvirt" "$home/.cache" "$home/.local/share" "$home/run"
cat >"$home/.config/libvirt/libvirtd.conf" <<'EOF'
log_level = 3
log_outputs = "3:stderr"
EOF
chown -R "$uid:$uid" "$home"
chmod 700 "$home/run"
# The tools as the user reaches them: the build tree may sit where only root may enter (a
# checkout in /root), so it is mounted, in this namespace only, inside the user's own folder.
mkdir "$home/build"
mount --bind "$(dirname "$bin")" "$home/build" || bail "cannot show the build tree to $user"
bin=$home/build/bin

as_user() {
        setpriv --reuid="$uid" --regid="$uid" --clear-groups -- env -i PATH="$bin:/usr/bin:/bin:/usr/sbin:/sbin" \
                HOME="$home" USER="$user" LOGNAME="$user" XDG_RUNTIME_DIR="$home/run" \
                XDG_CONFIG_HOME="$home/.config" XDG_CACHE_HOME="$home/.cache" XDG_DATA_HOME="$home/.local/share" \
                LIBVIRT_DEFAULT_URI=qemu:///session "$@"
}

as_user setsid /usr/sbin/libvirtd </dev/null >>"$home/libvirtd.log" 2>&1 &
for ((i = 0; i < 600; i++)); do
        as_user virsh -q version >/dev/null 2>&1 && break
        sleep 0.1
done
check "a session libvirtd answers at qemu:///session, run by $user" as_user virsh uri

vm=session-vm
check "qvm-create $vm on the session daemon" \
        as_user qvm-create --type qemu --kernel "$work/kernel" --initrd "$work/initrd" --memory 256 "$vm"
check "qvm-prefs $vm kernelopts" as_user qvm-prefs "$vm" kernelopts "quiet"
console=$home/.cache/libvirt/qemu/log/$vm-console.log
logs_there() { as_user virsh dumpxml --inactive "$vm" | grep -F "<log file='$console'" >/dev/null; }
check "its console is logged in the session's own log folder" logs_there
quiet_start() { # a start that succeeds says nothing, also as a user without qpci's state folder
        local out
        out=$(as_user qvm-start "$vm" 2>&1) && [ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
}
check "qvm-start $vm, without a word" quiet_start
booted() {
        local i
        for ((i = 0; i < 900; i++)); do
                grep -aq "QPCI-SESSION-VM: console=ttyS0 quiet" "$console" 2>/dev/null && return 0
                [ "$(as_user virsh domstate "$vm" 2>/dev/null | head -n 1)" = running ] || return 1
                sleep 0.1
        done
        return 1
}
if booted; then
        ok "$vm booted, and its console log has its kernelopts"
else
        not_ok "$vm booted, and its console log has its kernelopts"
        tail -n 20 "$console" 2>/dev/null | sed 's/^/#   console: /'
        grep -v ': info : ' "$home/libvirtd.log" | tail -n 20 | sed 's/^/#   libvirtd: /'
fi
listed_running() { as_user qvm-ls | grep -E "^$vm +Running" >/dev/null; }
check "qvm-ls shows it running" listed_running
check "qvm-shutdown --force $vm" as_user qvm-shutdown --force "$vm"
check "qvm-remove $vm" as_user qvm-remove "$vm"
check "the session has no VM left" test -z "$(as_user virsh list --all --name)"
echo "1..$n"
[ "$failed" = 0 ]
