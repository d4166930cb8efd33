#!/bin/sh
# meson install into a staging folder, then the tools run from there as installed: qpci and its
# links, libqpci (found through the tools' relative rpath) and the VM module (found beside the
# installed libqpci, not in the build tree and not in the configured prefix, which does not exist).
# TAP. Usage: install.sh BUILDDIR SOURCEDIR
set -u
# meson test points LD_LIBRARY_PATH at the build tree's libqpci: the installed tools must not need it.
unset LD_LIBRARY_PATH
build=$1
src=$2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
n=0
status=0
check() { # what, then a command that must succeed
        what=$1
        shift
        n=$((n + 1))
        if out=$("$@" 2>&1); then
                echo "ok $n - $what"
        else
                echo "not ok $n - $what"
                printf '%s\n' "$out" | sed 's/^/# /'
                status=1
        fi
}

check "meson install --destdir" meson install -C "$build" --destdir "$stage/root" --no-rebuild --quiet
bin=$(find "$stage/root" -path '*/bin/qpci' | head -n 1)
bin=${bin%/qpci}
lib=$(find "$stage/root" -name 'libqpci.so.0' | head -n 1)
lib=${lib%/libqpci.so.0}
check "qpci is installed" test -x "$bin/qpci"
for link in qvm-pci qvm-prefs qvm-create qvm-ls qvm-start qvm-shutdown qvm-remove; do
        check "$link leads to qpci" test "$(readlink "$bin/$link")" = qpci
done
check "libqpci.so.0, qpci.h and qpci.pc are installed" \
        test -f "$lib/libqpci.so.0" -a -f "$lib/pkgconfig/qpci.pc" -a -n "$(find "$stage/root" -name qpci.h)"
# The man pages, when scdoc built them: each in its section.
if [ -f "$build/doc/qvm-pci.1" ]; then
        for page in qvm-pci.1 qvm-prefs.1 qvm-create.1 qvm-start.1 qvm-shutdown.1 qvm-ls.1 qvm-remove.1 qpci.8; do
                f=$(find "$stage/root" -path "*/share/man/man${page##*.}/$page" | head -n 1)
                check "man page $page is installed in man${page##*.}, as a man page of that section" \
                        grep -q "^\.TH \"${page%.*}\" \"${page##*.}\"" "${f:-/nonexistent}"
        done
fi
# Bash completion: the file and a link for each tool, where bash-completion looks them up by name.
comp=$(find "$stage/root" -path '*/bash-completion/completions/qpci' | head -n 1)
check "bash completion is installed" test -f "$comp"
for link in qvm-pci qvm-prefs qvm-create qvm-ls qvm-start qvm-shutdown qvm-remove; do
        check "$link's completion leads to qpci's" test "$(readlink "${comp%/qpci}/$link")" = qpci
done
if [ -f /usr/share/bash-completion/bash_completion ]; then
        check "bash-completion loads qvm-pci's completion by its name" \
                env BASH_COMPLETION_USER_DIR="${comp%/completions/qpci}" bash -c \
                '. /usr/share/bash-completion/bash_completion && __load_completion qvm-pci &&
                 complete -p qvm-pci | grep -q "_qpci"'
fi
check "qpci.pc gives the version" \
        test "$(PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --modversion qpci)" = "$(meson introspect --projectinfo "$build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')"

# The Cockpit page: every file index.html loads is installed beside it, and config.js names the
# folder the tools are installed in.
page=$(find "$stage/root" -path '*/cockpit/qpci/manifest.json' | head -n 1)
page=${page%/manifest.json}
if [ -n "$page" ]; then
        check "the Cockpit page is installed with every file index.html loads" sh -c '
                for f in $(sed -n "s/.*\(src\|href\)=\"\([^\"#:]*\)\".*/\2/p" "$1/index.html" | grep -v "^\.\./"); do
                        test -f "$1/$f" || { echo "missing $f"; exit 1; }
                done' sh "$page"
        check "the page's config.js names the installed tools' folder" \
                sh -c 'd=$(sed -n "s/^window.QPCI_BINDIR = \"\(.*\)\";$/\1/p" "$1/config.js") && test -x "$2$d/qpci"' sh "$page" "$stage/root"
fi

# systemd-tmpfiles reads PREFIX/lib/tmpfiles.d for /usr and /usr/local: /var/lib/qpci at boot.
check "the tmpfiles.d entry makes /var/lib/qpci" \
        grep -qx 'd /var/lib/qpci 0755 root root -' "$(dirname "$lib")/tmpfiles.d/qpci.conf"

python3 "$src/tests/fixture/mkfixture.py" "$src/tests/topologies/seed-laptop.topo" "$stage/fixture" >/dev/null
export QPCI_ROOT="$stage/fixture" QPCI_PCI_IDS="$src/tests/data/pci.ids" QPCI_HWDB=0
export LIBVIRT_DEFAULT_URI="test://$src/tests/cli/vms/none.xml"
"$build/bin/qvm-pci" -v >"$stage/built.out" 2>&1
check "the installed qvm-pci lists the fixture as the built one does" \
        sh -c '"$1/qvm-pci" -v >"$2/installed.out" 2>&1 && cmp "$2/built.out" "$2/installed.out"' sh "$bin" "$stage"
# loaded FILE LOG: the object of that name the dynamic loader's log (LD_DEBUG=libs) says it
# initialised is FILE.
loaded() {
        got=$(sed -n 's/.*calling init: \(.*\)$/\1/p' "$2" | grep "/$(basename "$1")\$" | head -n 1)
        [ -n "$got" ] && [ "$(readlink -f "$got")" = "$(readlink -f "$1")" ] || {
                echo "wanted $1, loaded ${got:-nothing}"
                return 1
        }
}
LD_DEBUG=libs "$bin/qvm-pci" >/dev/null 2>"$stage/ld-list.log"
check "the installed qvm-pci loads the installed libqpci" loaded "$lib/libqpci.so.0" "$stage/ld-list.log"
if [ -d "$build/lib/qpci-virt.so.p" ]; then
        check "the VM module is installed in LIBDIR/qpci" test -f "$lib/qpci/qpci-virt.so"
        export LIBVIRT_DEFAULT_URI=test:///default
        LD_DEBUG=libs "$bin/qvm-ls" >"$stage/ls.out" 2>"$stage/ld-ls.log"
        check "the installed qvm-ls lists the test driver's VM" grep -q "^test " "$stage/ls.out"
        check "the installed qvm-ls loads the installed module" loaded "$lib/qpci/qpci-virt.so" "$stage/ld-ls.log"
fi
echo "1..$n"
exit $status
