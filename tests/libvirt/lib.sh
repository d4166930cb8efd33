# Sourced by the tests under tests/libvirt (bash): TAP, and what a small VM of theirs boots (the
# latter needs $work, a temporary folder).

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # description, command...: ok when the command succeeds; its output as comments if not
        local desc=$1 out
        shift
        if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc"; printf '%s\n' "$out" | sed 's/^/#   /'; fi
}
expect_fail() { # description, expected text, command...: ok when the command fails, saying that
        local desc=$1 want=$2 out
        shift 2
        if out=$("$@" 2>&1); then
                not_ok "$desc (it succeeded)"
        elif [[ $out == *"$want"* ]]; then
                ok "$desc"
        else
                not_ok "$desc"
                printf 'got: %s\nwant: %s\n' "$out" "$want" | sed 's/^/#   /'
        fi
}
bail() { echo "Bail out! $*"; exit 1; }

# guest_kernel: prints Debian's kernel as tests/kernel/run-guest caches it (the vmlinux ELF, which
# QEMU boots through its PVH entry, seconds faster under TCG than the bzImage), else downloads the
# package once. QPCI_LIBVIRT_KERNEL=FILE takes that one. The download needs the network, which the
# namespaces of with-libvirtd do not have: a test calls this before it puts itself there
# (fetch_then_enter), and inside them it finds the file it was handed, or a cached one.
guest_kernel() {
        local cache=${QPCI_KERNEL_CACHE:-/var/tmp/qpci-kernel} d pkg kdir tmp
        if [ -n "${QPCI_LIBVIRT_KERNEL:-}" ]; then echo "$QPCI_LIBVIRT_KERNEL"; return; fi
        for d in $(ls -dt "$cache"/linux-image-*/ 2>/dev/null); do
                d=${d%/}
                if [ -f "$d/vmlinux" ]; then echo "$d/vmlinux"; return; fi
                if [ -f "$d/vmlinuz" ]; then echo "$d/vmlinuz"; return; fi
        done
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
        [ -n "$pkg" ] || bail "no cached kernel in $cache and apt-cache does not know linux-image-amd64 (apt-get update)"
        kdir="$cache/libvirt-smoke/$pkg"
        if [ ! -f "$kdir/vmlinuz" ]; then
                [ -z "${QPCI_LIBVIRTD_DIR:-}" ] ||
                        bail "no guest kernel in $cache, and no network in here to download $pkg: run the test itself, which downloads it before it starts the private daemon, or set QPCI_LIBVIRT_KERNEL=FILE"
                echo "# downloading $pkg (about 70 MB, once) into $kdir" >&2
                mkdir -p "$kdir" && tmp=$(mktemp -d "$kdir/tmp.XXXXXX") || bail "cannot create $kdir"
                # shellcheck disable=SC2064 # $tmp is known now
                trap "rm -rf '$tmp'" EXIT
                (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null) ||
                        bail "apt-get download $pkg failed"
                dpkg -x "$tmp"/*.deb "$tmp/k" || bail "cannot unpack $pkg"
                cp "$(ls "$tmp"/k/boot/vmlinuz-* | head -n 1)" "$kdir/vmlinuz.new" && mv "$kdir/vmlinuz.new" "$kdir/vmlinuz" ||
                        bail "no kernel in $pkg"
                rm -rf "$tmp"
                trap - EXIT
        fi
        echo "$kdir/vmlinuz"
}

# fetch_then_enter SCRIPT ARGS...: outside the namespaces, fetches what the test needs from the
# network (the guest kernel), then runs SCRIPT under with-libvirtd with it; inside, returns.
fetch_then_enter() {
        local script=$1 k
        shift
        [ -z "${QPCI_LIBVIRTD_DIR:-}" ] || return 0
        k=$(guest_kernel) || { echo "$k"; exit 1; }
        export QPCI_LIBVIRT_KERNEL=$k
        exec "$(dirname "${BASH_SOURCE[0]}")/with-libvirtd" "$script" "$@"
}

# guest_initrd FILE LINE: writes an initramfs of static busybox whose /init mounts /dev and /proc,
# prints LINE on the console (shell words expanded there: "$(cat /proc/cmdline)"), then idles.
guest_initrd() {
        local out=$1 line=$2 busybox root=$work/initramfs
        busybox=$(command -v busybox) || bail "no busybox (Debian package busybox-static)"
        ldd "$busybox" >/dev/null 2>&1 && bail "$busybox is not static (Debian package busybox-static)"
        command -v cpio >/dev/null || bail "no cpio"
        rm -rf "$root"
        mkdir -p "$root"/{bin,dev,proc,sys}
        cp "$busybox" "$root/bin/busybox"
        ln -s busybox "$root/bin/sh"
        cat >"$root/init" <<EOF
#!/bin/sh
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t proc proc /proc
exec </dev/console >/dev/console 2>&1
export PATH=/bin
/bin/busybox --install -s /bin
echo "$line"
while :; do sleep 3600; done
EOF
        chmod 755 "$root/init"
        (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out" || bail "cpio failed"
}
