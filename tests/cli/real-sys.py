#!/usr/bin/env python3
"""qvm-pci on this machine's real /sys (read-only), checked against what the kernel and lspci show.

Prints TAP. Every function lspci sees must be listed with the same ids, class and driver; the IOMMU
group and reset methods must be what sysfs says; USB buses must point at the controllers sysfs
links them to.
"""
import json
import os
import pathlib
import shlex
import subprocess
import sys

from tap import check, done

SYS = pathlib.Path("/sys/bus/pci/devices")


def main():
    bindir = pathlib.Path(sys.argv[1]).resolve()
    env = dict(os.environ, QPCI_ROOT="/", PATH=f"{bindir}:{os.environ['PATH']}")
    env.pop("QPCI_PCI_IDS", None)
    p = subprocess.run(["qvm-pci", "--json"], env=env, capture_output=True, text=True)
    check(p.returncode == 0, "qvm-pci --json runs on the real /sys", p.stderr)
    devs = {d["bdf"]: d for d in json.loads(p.stdout or "[]")}

    lspci = subprocess.run(["lspci", "-D", "-mm"], capture_output=True, text=True)
    if lspci.returncode != 0:
        check(False, "lspci runs", lspci.stderr)
    else:
        # -mm: one line per function, BDF "class [cc]" "vendor" "device" -rNN "subvendor" "subdevice"
        seen = set()
        for line in lspci.stdout.splitlines():
            if not line.strip() or line.startswith("\t"):
                continue
            f = shlex.split(line)
            bdf, vendor, product = f[0], f[2], f[3]
            seen.add(bdf)
            d = devs.get(bdf)
            if not d:
                continue
            # lspci names what pci.ids lacks "Device 1234"; qpci leaves it null and says Unknown.
            want_p = None if product == f"Device {d['device_id']}" else product
            check((d["vendor"], d["product"]) == (vendor, want_p), f"{bdf}: named as lspci names it",
                  f"lspci {vendor!r} {product!r}\nqpci {d['vendor']!r} {d['product']!r}")
        check(seen == set(devs), f"the same {len(seen)} functions as lspci", f"lspci {sorted(seen)}\nqpci {sorted(devs)}")

    text = subprocess.run(["qvm-pci"], env=env, capture_output=True, text=True).stdout.splitlines()
    check(len(text) == len(devs) and all(l.startswith("dom0:") for l in text), "the table has one row per function")
    check([l.split()[0] for l in text] == sorted(l.split()[0] for l in text), "rows are sorted by address")

    for bdf, d in sorted(devs.items()):
        node = SYS / bdf
        want = {
            "vendor_id": (node / "vendor").read_text().strip()[2:],
            "device_id": (node / "device").read_text().strip()[2:],
            "class": (node / "class").read_text().strip()[2:],
        }
        got = {k: d[k] for k in want}
        check(got == want, f"{bdf}: ids and class as sysfs says", f"want {want}\ngot {got}")
        drv = os.path.basename(os.readlink(node / "driver")) if (node / "driver").exists() else None
        check(d["driver"] == drv, f"{bdf}: driver {drv}", f"got {d['driver']}")
        grp = int(os.path.basename(os.readlink(node / "iommu_group"))) if (node / "iommu_group").exists() else None
        check(d["iommu_group"] == grp, f"{bdf}: iommu group {grp}", f"got {d['iommu_group']}")
        rm = node / "reset_method"
        if rm.exists():
            want_m = rm.read_text().split()
            check(d["reset_methods"] == want_m and d["reset_source"] == "kernel",
                  f"{bdf}: reset methods {want_m} from the kernel", f"got {d['reset_methods']}")
        else:
            check(d["strict_reset"] == bool(d["reset_methods"]) and d["strict_reset_reason"],
                  f"{bdf}: a strict-reset verdict with a reason", d)
        check(d["modalias"] == (node / "modalias").read_text().strip(), f"{bdf}: modalias as the kernel's")

    # The guard, read-only: what backs "/" and the default route, found here independently.
    def pci_of(sysfs_path):
        parts = os.path.realpath(sysfs_path).split("/")
        bdfs = [p for p in parts if p in devs]
        return bdfs[-1] if bdfs else None

    expected = {}
    for line in open("/proc/self/mountinfo"):
        f = line.split()
        if f[4] == "/":
            b = pci_of(f"/sys/dev/block/{f[2]}")
            if b:
                expected.setdefault(b, []).append("the filesystem mounted on / ")
    for line in list(open("/proc/net/route"))[1:]:
        f = line.split()
        if f[1] == "00000000":
            b = pci_of(f"/sys/class/net/{f[0]}")
            if b:
                expected.setdefault(b, []).append(f"the network interface {f[0]} of the default route")
    for bdf in sorted(devs):
        p = subprocess.run(["qvm-pci", "info", bdf], env=env, capture_output=True, text=True)
        uses = [l for l in p.stdout.splitlines() if l.strip().startswith("host uses it")]
        want = expected.get(bdf, [])
        ok = all(any(w in u for u in uses) for w in want) and bool(uses) == bool(want)
        check(ok, f"{bdf}: the host uses it for {want or 'nothing qpci guards'}", "\n".join(uses))

    usb = pathlib.Path("/sys/bus/usb/devices")
    p = subprocess.run(["qvm-pci", "usb", "--json"], env=env, capture_output=True, text=True)
    check(p.returncode == 0, "qvm-pci usb --json runs", p.stderr)
    ctrls = json.loads(p.stdout or "[]")
    buses = sorted(x.name for x in usb.iterdir() if x.name.startswith("usb")) if usb.exists() else []
    listed = sorted(f"usb{b['bus']}" for c in ctrls for b in c["buses"])
    check(listed == buses, f"every USB bus listed ({len(buses)})", f"sysfs {buses}\nqpci {listed}")
    for c in ctrls:
        for b in c["buses"]:
            parent = os.path.basename(os.path.dirname(os.path.realpath(usb / f"usb{b['bus']}")))
            check(c["bdf"] in (parent, None), f"usb{b['bus']} on {parent}", c["bdf"])

    return done()


if __name__ == "__main__":
    sys.exit(main())
