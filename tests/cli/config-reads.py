#!/usr/bin/env python3
"""Whose config space a hide and an unhide read (strace -y), on a generated host of 512 functions.

Reading config space is what sysfs makes costly (in a Xen dom0 each read took 7.5 ms), so a
command that acts on a few devices reads it only for the functions its decision looks at: the
device's own, its IOMMU group's and its slot's. Bridges are told by the kernel's
secondary_bus_number, which a 4.13 or later kernel shows for each bridge and this test adds to the
fixture. The listing still reads every function's (test `syscalls` counts its calls). The driver
moves are the kernel's, as tests/browser/driver-core.so plays them on a fixture. Prints TAP.

  config-reads.py BINDIR DRIVER_CORE_SO
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
N = 512
DEVICE = "0000:02:00.0"  # a two-function NIC with SR-IOV, in a group of its own


def add_bus_numbers(devices):
    """secondary_bus_number beside each bridge's config, as the kernel shows it."""
    for dev in devices.iterdir():
        config = (dev / "config").read_bytes()
        if len(config) >= 0x1a and config[0x0e] & 0x7f in (1, 2):
            (dev / "secondary_bus_number").write_text(f"{config[0x19]}\n")


def config_reads(argv, env, trace):
    """The functions whose config the command opened, and its exit status."""
    p = subprocess.run(["strace", "-f", "-y", "-e", "trace=openat", "-o", str(trace)] + argv, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    read = set()
    for line in trace.read_text().splitlines():
        # openat(6</.../devices/.../0000:02:00.0>, "config", ...) or through the devices folder
        m = re.search(r'openat\(\d+<([^>]*)>, "([^"]*)"', line)
        if not m or "= -1" in line:
            continue
        path = pathlib.PurePosixPath(m.group(1)) / m.group(2)
        if path.name == "config":
            read.add(path.parent.name)
    return read, p.returncode, p.stderr


def main():
    bindir = pathlib.Path(sys.argv[1])
    qvm_pci = str(bindir / "qvm-pci")
    mk = [sys.executable, str(ROOT / "tests" / "fixture" / "mkfixture.py"), "--force"]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        host = tmp / "host"
        subprocess.run(mk + ["--generate", str(N), str(host)], check=True, stdout=subprocess.DEVNULL)
        devices = host / "sys" / "bus" / "pci" / "devices"
        add_bus_numbers(devices)
        vfio = host / "sys" / "bus" / "pci" / "drivers" / "vfio-pci"
        vfio.mkdir()
        for f in ("bind", "unbind", "new_id", "remove_id"):
            (vfio / f).write_text("")
        env = dict(os.environ, QPCI_ROOT=str(host), LD_PRELOAD=sys.argv[2])
        info = json.loads(subprocess.run([qvm_pci, "info", DEVICE, "--json"], env=env, capture_output=True,
                                         text=True, check=True).stdout)
        looked_at = {DEVICE} | set(info["iommu_group_peers"]) | set(info["siblings"])
        # The sibling goes along (functions of a device move together), and with it its group.
        for sib in info["siblings"]:
            peer = json.loads(subprocess.run([qvm_pci, "info", sib, "--json"], env=env, capture_output=True,
                                             text=True, check=True).stdout)
            looked_at |= set(peer["iommu_group_peers"])
        listed, rc, err = config_reads([qvm_pci], env, tmp / "t0")
        results.append((len(listed) == N, f"the listing reads every function's config ({len(listed)} of {N})"))
        for cmd in (["hide", "--with-group", DEVICE] + info["siblings"], ["unhide", DEVICE] + info["siblings"]):
            read, rc, err = config_reads([qvm_pci] + cmd, env, tmp / "t")
            extra = sorted(read - looked_at)
            results.append((rc == 0, f"qvm-pci {' '.join(cmd)} succeeds" + (f": {err.strip()}" if rc else "")))
            results.append((not extra,
                            f"qvm-pci {cmd[0]} reads config of {len(read)} functions, all among the "
                            f"{len(looked_at)} of the device's group and slot"
                            + (f"; also {', '.join(extra[:5])}{' ...' if len(extra) > 5 else ''} ({len(extra)})"
                               if extra else "")))
    for i, (ok, what) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {what}")
    print(f"1..{len(results)}")
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
