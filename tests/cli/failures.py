#!/usr/bin/env python3
"""A VM whose definition libvirt cannot give (libvirt-fail.so preloaded) is a failure in every
tool: one line on stderr, a non-zero exit, and no answer on stdout that would read as "no devices"
(R3.2's '-l' printed [] and exited 0). Prints TAP.

  failures.py BINDIR PRELOAD
"""
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
TESTS = HERE.parent

CASES = [
    "qvm-pci -l sys-usb",
    "qvm-pci list sys-usb",
    "qvm-pci",
    "qvm-ls",
    "qvm-prefs sys-usb",
    "qvm-prefs sys-usb kernelopts",
]


def main(argv):
    bindir, preload = pathlib.Path(argv[0]).resolve(), pathlib.Path(argv[1]).resolve()
    n = 0
    ok_all = True
    with tempfile.TemporaryDirectory(prefix="qpci-failures-") as tmp:
        root = pathlib.Path(tmp) / "root"
        subprocess.run([sys.executable, str(TESTS / "fixture" / "mkfixture.py"),
                        str(TESTS / "topologies" / "seed-laptop.topo"), str(root)], check=True, capture_output=True)
        env = dict(os.environ, QPCI_ROOT=str(root), QPCI_PCI_IDS=str(TESTS / "data" / "pci.ids"), QPCI_HWDB="0",
                   LIBVIRT_DEFAULT_URI=f"test://{HERE / 'vms' / 'seed.xml'}", LD_PRELOAD=str(preload))
        for cmd in CASES:
            words = cmd.split()
            p = subprocess.run([str(bindir / words[0])] + words[1:], env=env, capture_output=True, text=True,
                               timeout=60)
            errs = p.stderr.splitlines()
            ok = p.returncode == 1 and p.stdout == "" and len(errs) == 1 and "cannot read the definition" in errs[0]
            n += 1
            ok_all &= ok
            print(f"{'ok' if ok else 'not ok'} {n} - {cmd}: one line, exit 1, nothing on stdout")
            if not ok:
                print(f"#   exit {p.returncode}")
                for line in p.stdout.splitlines():
                    print(f"#   stdout: {line}")
                for line in errs:
                    print(f"#   stderr: {line}")
    print(f"1..{n}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
