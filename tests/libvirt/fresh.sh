#!/bin/bash
# A fresh machine's first run of the libvirt tests: no guest kernel cached, so smoke.sh downloads
# Debian's. It must do so before it enters with-libvirtd's namespaces, whose network has only a
# loopback. Here apt-get and apt-cache are stand-ins: apt-get download fails as apt does without a
# network ("Temporary failure resolving") when it runs in another network namespace than this
# test's, and otherwise hands out a package made here around a real kernel. smoke.sh then runs
# with an empty kernel cache and an empty capabilities cache, and must pass. TAP. Run it as root.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/qpci-libvirt-fresh.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A real kernel to wrap (the machine's cached one, downloaded here if need be: outside any
# namespace), as Debian's package holds it: boot/vmlinuz-VERSION.
src=$(guest_kernel) || { echo "$src"; exit 1; }
pkg=linux-image-qpci-fresh-test
mkdir -p "$work/deb/boot" "$work/deb/DEBIAN" "$work/stubs" "$work/cache" "$work/caps"
cp "$src" "$work/deb/boot/vmlinuz-6.1.0-qpci-fresh-test" || bail "cannot copy $src"
cat >"$work/deb/DEBIAN/control" <<EOF
Package: $pkg
Version: 1
Architecture: amd64
Maintainer: qpci tests <root@localhost>
Description: a kernel for tests/libvirt/fresh.sh
EOF
dpkg-deb -Znone --build "$work/deb" "$work/${pkg}_1_amd64.deb" >/dev/null || bail "dpkg-deb failed"

cat >"$work/stubs/apt-cache" <<EOF
#!/bin/sh
# apt-cache depends linux-image-amd64, as a Debian machine with package lists answers it.
[ "\$1 \$2" = "depends linux-image-amd64" ] || { echo "E: apt-cache \$* is not stubbed" >&2; exit 100; }
printf 'linux-image-amd64\n  Depends: $pkg\n'
EOF
cat >"$work/stubs/apt-get" <<EOF
#!/bin/sh
# apt-get download PKG: the network is there only in the test's own network namespace.
echo "apt-get \$* (network namespace \$(readlink /proc/self/ns/net))" >>"$work/apt-get.log"
if [ "\$(readlink /proc/self/ns/net)" != "$(readlink /proc/self/ns/net)" ]; then
        echo "Err:1 http://deb.debian.org/debian bookworm/main amd64 $pkg amd64 1" >&2
        echo "  Temporary failure resolving 'deb.debian.org'" >&2
        echo "E: Failed to fetch http://deb.debian.org/debian/pool/main/l/linux/${pkg}_1_amd64.deb  Temporary failure resolving 'deb.debian.org'" >&2
        exit 100
fi
case " \$* " in *" download "*" $pkg "*) cp "$work/${pkg}_1_amd64.deb" . ;; *) echo "E: apt-get \$* is not stubbed" >&2; exit 100 ;; esac
EOF
chmod 755 "$work/stubs/apt-get" "$work/stubs/apt-cache"

# Only what a fresh machine has: the stand-ins first in PATH, no kernel handed over, empty caches.
if out=$(env -u QPCI_LIBVIRT_KERNEL -u QPCI_LIBVIRTD_DIR PATH="$work/stubs:$PATH" QPCI_KERNEL_CACHE="$work/cache" \
        QPCI_LIBVIRTD_CAPS_CACHE="$work/caps" "$here/smoke.sh" 2>&1); then
        ok "smoke.sh passes with empty caches and a network outside the namespaces only"
else
        not_ok "smoke.sh passes with empty caches and a network outside the namespaces only"
        printf '%s\n' "$out" | grep -v '^ok ' | sed 's/^/#   /'
fi
check "the kernel package was downloaded once, outside the namespaces" \
        test "$(grep -c . "$work/apt-get.log" 2>/dev/null)" = 1 -a "$(grep -cF "network namespace $(readlink /proc/self/ns/net)" "$work/apt-get.log" 2>/dev/null)" = 1
check "and kept in the cache for the next run" cmp -s "$work/cache/libvirt-smoke/$pkg/vmlinuz" "$src"
echo "1..$n"
[ "$failed" = 0 ]
