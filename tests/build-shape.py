#!/usr/bin/env python3
"""The shape of the build, read from the built ELF files with readelf (TAP):

- libqpci.so exports exactly what lib/libqpci.sym lists, and every function of its objects made
  visible (QPCI_EXPORT, QPCI_PRIVATE) is in it: a forgotten name would be invisible to the
  tools or the module;
- the VM module qpci-virt.so exports its table alone, holds no copy of libqpci (it links
  libqpci.so), and is not linked -Bsymbolic;
- qpci_vm_pref_names is defined once, in libqpci;
- neither the tools nor libqpci load libvirt or libxml2: only the module does.

  build-shape.py BUILDDIR SOURCEDIR
"""
import pathlib
import re
import subprocess
import sys


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], check=True, capture_output=True, text=True).stdout


def symbols(path, table):
    """(name, bind, visibility, defined) of each symbol of .dynsym or .symtab."""
    out, cur = [], None
    for line in readelf("--syms", str(path)).splitlines():
        m = re.match(r"Symbol table '(\S+)'", line)
        if m:
            cur = m.group(1)
            continue
        f = line.split()
        if cur == table and len(f) >= 8 and f[0].endswith(":"):
            out.append((f[7].split("@")[0], f[4], f[5], f[6] != "UND"))
    return out


def exported(path):
    return {n for n, bind, vis, d in symbols(path, ".dynsym")
            if d and bind in ("GLOBAL", "WEAK") and vis == "DEFAULT" and n and not n.isupper()}


def needed(path):
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", readelf("--dynamic", str(path)))


def main(build, source):
    build, source = pathlib.Path(build), pathlib.Path(source)
    lib = build / "lib" / "libqpci.so"
    module = build / "lib" / "qpci-virt.so"
    tool = build / "tools" / "qpci"
    checks = []

    def check(ok, what, detail=""):
        checks.append(ok)
        print(f"{'ok' if ok else 'not ok'} {len(checks)} - {what}")
        if not ok and detail:
            print(f"# {detail}")

    sym = (source / "lib" / "libqpci.sym").read_text()
    sym = re.sub(r"/\*.*?\*/", "", sym, flags=re.S)
    listed = {n for n in re.findall(r"^\s*([a-z_][a-z0-9_]*);", sym, flags=re.M)}
    if not lib.exists():
        check(False, "libqpci is a shared library", f"no {lib}")
    else:
        have = exported(lib)
        check(have == listed, "libqpci.so exports exactly what libqpci.sym lists",
              f"not exported: {sorted(listed - have)}; not listed: {sorted(have - listed)}")
        visible = set()
        for o in (build / "lib").glob("libqpci.so.*.p/*.o"):
            visible |= {n for n, bind, vis, d in symbols(o, ".symtab")
                        if d and bind == "GLOBAL" and vis == "DEFAULT"}
        check(bool(visible) and visible <= have, "every function libqpci's objects make visible is exported",
              f"missing from libqpci.sym: {sorted(visible - have)}")
        check(not any(re.match(r"lib(virt|xml2)\.", n) for n in needed(lib)), "libqpci.so loads no libvirt",
              " ".join(needed(lib)))
        # A hide starts without them (lib/dlib.c loads each when a command needs it).
        check(not any(re.match(r"lib(kmod|pci)\.", n) for n in needed(lib)),
              "libqpci.so links no libkmod or libpci", " ".join(needed(lib)))
    if not tool.exists():
        check(False, "the tools load no libvirt", f"no {tool}")
    else:
        check(not any(re.match(r"lib(virt|xml2)\.", n) for n in needed(tool)), "the tools load no libvirt",
              " ".join(needed(tool)))
    if module.exists():
        check(exported(module) == {"qpci_virt_module"}, "qpci-virt.so exports its table alone",
              f"exports {sorted(exported(module))}")
        own = {n for n, bind, vis, d in symbols(module, ".symtab") if d}
        copies = sorted(own & exported(lib)) if lib.exists() else ["(no libqpci.so)"]
        # The module's own VM functions carry the public names of the API they implement; what
        # may not be there is libqpci's host side.
        copies = [n for n in copies if not n.startswith(("qpci_virt_", "qpci_vm_"))
                  or n == "qpci_vm_pref_names"]
        check(not copies, "qpci-virt.so holds no copy of libqpci", f"defines {copies[:10]}")
        check("libqpci.so.0" in needed(module), "qpci-virt.so links libqpci.so", " ".join(needed(module)))
        dyn = readelf("--dynamic", str(module))
        check("SYMBOLIC" not in dyn, "qpci-virt.so is not linked -Bsymbolic")
    print(f"1..{len(checks)}")
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
