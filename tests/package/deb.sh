#!/bin/bash
# make deb, then the packages in a fresh minimal Debian 12 as a user gets them: apt-get installs
# them offline with their dependencies, the tools list this host's devices (/sys read-only), an
# upgrade keeps /var/lib/qpci, and a purge leaves no file behind and removes libvirt's hooks that
# qpci wrote. The minimal root (debootstrap --variant=minbase, with man-db) and the packages qpci
# needs are downloaded once into QPCI_CACHE (~/.cache/qpci); each run installs into a copy of it,
# in its own mount, PID and network namespaces.
# TAP. Usage: deb.sh SOURCEDIR BUILDDIR; needs root, debootstrap, dpkg-dev, debhelper, lintian.
set -u
src=$(cd "$1" && pwd) && build=$(cd "$2" && pwd) || exit 1
cache=${QPCI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qpci}
base=$cache/bookworm-minbase
mirror=${QPCI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
n=0
status=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { # what, details
        n=$((n + 1))
        echo "not ok $n - $1"
        printf '%s\n' "$2" | sed 's/^/# /'
        status=1
}
check() { # what, then a command that must succeed
        local what=$1 out
        shift
        if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what" "$out"; fi
}
bail() {
        echo "Bail out! $1"
        exit 1
}

# The part that runs in the namespaces: the root's /sys is this host's, read-only, and no network.
if [ "${QPCI_DEB_INSIDE:-}" ]; then
        root=$QPCI_DEB_INSIDE
        n=$QPCI_DEB_N
        mount --bind /sys "$root/sys" && mount -o remount,bind,ro "$root/sys" &&
                mount -t proc proc "$root/proc" || bail "cannot mount /sys and /proc in the root"
        in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
                DEBIAN_FRONTEND=noninteractive "$@"; }
        # Every file of the root but the package manager's own records, caches and logs.
        files() { (cd "$root" && find . -xdev \( -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache \
                -o -path ./var/log -o -path ./tmp -o -path ./proc -o -path ./sys -o -path ./dev \) -prune -o -print |
                LC_ALL=C sort); }
        hooks=$root/etc/libvirt/hooks

        files >"$root/tmp/files.before"
        check "apt-get installs qpci and libqpci0 with their dependencies, without network" \
                in_root sh -c 'apt-get install -y --no-install-recommends /tmp/debs/qpci_*.deb /tmp/debs/libqpci0_*.deb'

        # qvm-pci lists the functions of /sys/bus/pci/devices, each once, named, and says nothing else.
        in_root qvm-pci list >"$root/tmp/list.out" 2>"$root/tmp/list.err"
        got=$(cut -d' ' -f1 "$root/tmp/list.out" | LC_ALL=C sort)
        want=$(ls "$root/sys/bus/pci/devices" | awk -F: '{ print "dom0:" ($1 == "0000" ? "" : $1 "_") $2 "_" $3 }' |
                LC_ALL=C sort)
        if [ -n "$want" ] && [ "$got" = "$want" ] && [ ! -s "$root/tmp/list.err" ] &&
                ! cut -d' ' -f3- "$root/tmp/list.out" | grep -qx ''; then
                ok "qvm-pci list lists the $(echo "$want" | wc -l) PCI functions of this host's /sys, each named"
        else
                not_ok "qvm-pci list lists the PCI functions of this host's /sys, each named" \
                        "$(printf 'wanted:\n%s\ngot:\n%s\nstderr:\n' "$want" "$(cat "$root/tmp/list.out")"; cat "$root/tmp/list.err")"
        fi
        # Without the Recommends (libvirt0, libxml2), a VM command says what to install.
        out=$(in_root qvm-ls 2>&1)
        if [ $? != 0 ] && printf '%s\n' "$out" | grep -q "needs libvirt0 and libxml2 installed"; then
                ok "without libvirt0, qvm-ls says to install it"
        else
                not_ok "without libvirt0, qvm-ls says to install it" "$out"
        fi

        for page in qvm-pci qvm-prefs qvm-create qvm-start qvm-shutdown qvm-ls qvm-remove qpci; do
                check "man -w $page finds its page" in_root man -w "$page"
        done
        for tool in qvm-pci qpci; do
                check "the bash completion of $tool loads" in_root bash -c \
                        ". /usr/share/bash-completion/completions/$tool && complete -p $tool | grep -q ' $tool\$'"
        done

        # The package's /var/lib/qpci is as qpci makes it when it is missing (on a fixture host).
        check "qpci recover on a fixture host (QPCI_ROOT) makes its state there" \
                in_root sh -c 'umask 022; QPCI_ROOT=/tmp/fixture qpci recover'
        mode=$(stat -c %a:%U:%G "$root/var/lib/qpci")
        made=$(stat -c %a:%U:%G "$root/tmp/fixture/var/lib/qpci")
        check "/var/lib/qpci is there, $mode as qpci makes it" test "$mode" = "$made" -a "$mode" = 755:root:root

        check "qpci hook install writes libvirt's hooks" in_root qpci hook install
        check "the hooks run the packaged qpci" grep -qx "exec '/usr/bin/qpci' hook qemu \"\$@\"" "$hooks/qemu"

        # An upgrade keeps the state and the hooks.
        cp "$root/tmp/fixture/var/lib/qpci/state.db" "$root/var/lib/qpci/state.db"
        cp "$root/var/lib/qpci/state.db" "$root/tmp/state.db.before"
        check "apt-get upgrades to the version-bumped packages" \
                in_root sh -c 'apt-get install -y --no-install-recommends /tmp/debs/new/*.deb'
        check "the upgraded qpci is $QPCI_DEB_NEW" test "$(in_root dpkg-query -W -f='${Version}' qpci)" = "$QPCI_DEB_NEW"
        check "the upgrade keeps /var/lib/qpci/state.db as it was" cmp "$root/tmp/state.db.before" "$root/var/lib/qpci/state.db"
        check "the upgrade keeps the hooks qpci wrote" test -f "$hooks/qemu" -a -f "$hooks/libxl"
        check "the upgraded qvm-pci reads that state" in_root qvm-pci list
        check "and finds it whole" test ! -e "$root/var/lib/qpci/state.db.damaged"

        check "apt-get purge qpci libqpci0 (and what they pulled in)" \
                in_root apt-get purge -y --autoremove qpci libqpci0
        check "the purge removes the hooks qpci wrote" test ! -e "$hooks/qemu" -a ! -e "$hooks/libxl"
        files >"$root/tmp/files.after"
        check "the purge leaves no file behind (/var/lib/qpci, hooks and their folders, libraries, docs)" \
                diff "$root/tmp/files.before" "$root/tmp/files.after"

        # cockpit-qpci brings Cockpit's bridge (and systemd, whose leftovers after a purge are not
        # qpci's): the page is where the bridge looks, and goes with qpci.
        check "apt-get installs cockpit-qpci (and qpci) with Cockpit's bridge" \
                in_root sh -c 'apt-get install -y --no-install-recommends /tmp/debs/*.deb'
        check "Cockpit's bridge finds the page" \
                sh -c 'chroot "$1" cockpit-bridge --packages | grep -q "^qpci .*/usr/share/cockpit/qpci\$"' sh "$root"
        # Another program's hook is left; qpci's goes with the package.
        in_root qpci hook install >/dev/null
        printf '#!/bin/sh\n# another program\n' >"$hooks/libxl"
        check "apt-get purge qpci removes cockpit-qpci and its page" \
                sh -c 'chroot "$1" apt-get purge -y qpci && test ! -e "$1/usr/share/cockpit/qpci"' sh "$root"
        check "the purge removes the hook qpci wrote, and leaves another program's" \
                sh -c 'test ! -e "$1/qemu" && grep -q "another program" "$1/libxl"' sh "$hooks"
        echo "$n" >"$root/tmp/n"
        exit $status
fi

[ "$(id -u)" = 0 ] || bail "needs root: it runs debootstrap, chroot and namespaces"
for tool in debootstrap dpkg-buildpackage dh lintian unshare; do
        command -v "$tool" >/dev/null || bail "$tool is missing: run 'sh scripts/install-deps' as root"
done

out=$build/deb
check "make deb builds the packages and lintian finds no error and no warning" sh "$src/scripts/make-deb" "$out"
version=$(cd "$src" && dpkg-parsechangelog -S Version)
[ -f "$out/qpci_${version}_$(dpkg --print-architecture).deb" ] || bail "make deb made no qpci_$version package"
# The VM module's libraries are Recommends: the host commands work without them (checked below).
check "libqpci0 recommends libvirt0 and does not depend on it" sh -c \
        'dpkg-deb -f "$1" Recommends | grep -q "libvirt0" && ! dpkg-deb -f "$1" Depends | grep -q "libvirt0"' \
        sh "$out/libqpci0_${version}_$(dpkg --print-architecture).deb"

# Libraries libqpci loads on first use (a struct qpci_dlib, lib/dlib.c) are invisible to
# dpkg-shlibdeps: the control file must name the package of each. (Xen's, loaded only on a dom0
# that has them, are not among them.)
dlopened() {
        local deb=$1 so pkg status=0
        for so in $(sed -n 's/.*struct qpci_dlib [a-z_]* = {"\(lib[^"]*\.so\.[0-9]*\)".*/\1/p' "$src"/lib/*.c | tr -d '"' | sort -u); do
                pkg=$(dpkg -S "*/$so" 2>/dev/null | head -n 1 | cut -d: -f1)
                [ -n "$pkg" ] || { echo "no installed package has $so"; status=1; continue; }
                dpkg-deb -f "$deb" Depends | tr ',' '\n' | grep -q "^ *$pkg\b" ||
                        { echo "libqpci0 loads $so but does not depend on $pkg"; status=1; }
        done
        return $status
}
check "libqpci0 depends on the packages of the libraries it loads on first use" \
        dlopened "$out/libqpci0_${version}_$(dpkg --print-architecture).deb"

# The cached root: made once (the first run downloads about 60 MB), then only what the packages'
# dependencies add. Other runs may read it meanwhile: they copy it under a shared lock.
mkdir -p "$cache"
exec 9>"$cache/bookworm-minbase.lock"
flock -x 9
if [ ! -e "$base/.qpci-complete" ]; then
        rm -rf "$base.new"
        if debootstrap --variant=minbase --include=man-db bookworm "$base.new" "$mirror" >"$out/debootstrap.log" 2>&1; then
                rm -rf "$base" && mv "$base.new" "$base" && touch "$base/.qpci-complete"
        else
                bail "debootstrap of Debian 12 failed (its log: $out/debootstrap.log)"
        fi
fi
# What the packages need, downloaded into the root's apt cache (nothing when it is there already).
mkdir -p "$base/tmp/debs"
cp "$out"/qpci_*.deb "$out"/libqpci0_*.deb "$out"/cockpit-qpci_*.deb "$base/tmp/debs/"
chroot "$base" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        sh -c 'apt-get install -y --no-install-recommends --download-only /tmp/debs/*.deb' >"$out/download.log" 2>&1 ||
        bail "cannot download the packages' dependencies into $base (the log: $out/download.log)"
rm -rf "$base/tmp/debs"
flock -s 9

work=$(mktemp -d /var/tmp/qpci-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM
root=$work/root
cp -a "$base" "$root"
flock -u 9
mkdir -p "$root/tmp/debs/new"
cp "$out"/qpci_*.deb "$out"/libqpci0_*.deb "$out"/cockpit-qpci_*.deb "$root/tmp/debs/"
# The next version: the same packages with a higher version, as an upgrade would bring them.
new=$version+1
for deb in qpci libqpci0; do
        dpkg-deb -R "$out/${deb}_${version}_"*.deb "$work/$deb"
        sed -i "s/^Version: .*/Version: $new/; s/(= $version)/(= $new)/" "$work/$deb/DEBIAN/control"
        dpkg-deb -b "$work/$deb" "$root/tmp/debs/new/" >/dev/null || bail "cannot rebuild $deb as version $new"
done
python3 "$src/tests/fixture/mkfixture.py" "$src/tests/topologies/gpu-switch.topo" "$root/tmp/fixture" >/dev/null ||
        bail "mkfixture failed"

QPCI_DEB_INSIDE=$root QPCI_DEB_N=$n QPCI_DEB_NEW=$new unshare --mount --propagation private --net --pid --fork \
        bash "$0" "$src" "$build" || status=1
n=$(cat "$root/tmp/n" 2>/dev/null || echo "$n")
echo "1..$n"
exit $status
