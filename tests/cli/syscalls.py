#!/usr/bin/env python3
"""What listing a function costs in system calls (strace -c -f), which no load changes.

qvm-pci on a generated host of 512 functions against the same on a host without PCI: the difference
per function is the inventory's own, start-up (libraries, libvirt) aside. 11.4 today (bench/run counts
the same on 4,096 functions); above 11.8 a change added a look-up per function somewhere, or its
descriptors are no longer closed in batches. Prints TAP.
"""
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BUDGET = 11.8
N = 512


def calls(qvm_pci, root, out):
    env = dict(os.environ, QPCI_ROOT=str(root))
    subprocess.run(["strace", "-c", "-f", "-o", str(out), qvm_pci], env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    total = [line.split() for line in out.read_text().splitlines() if line.split()[-1:] == ["total"]][-1]
    return int(total[3])


def main():
    qvm_pci = str(pathlib.Path(sys.argv[1]) / "qvm-pci")
    mk = [sys.executable, str(ROOT / "tests" / "fixture" / "mkfixture.py"), "--force"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        subprocess.run(mk + ["--generate", str(N), str(tmp / "host")], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(mk + [str(ROOT / "tests" / "topologies" / "empty.topo"), str(tmp / "empty")], check=True,
                       stdout=subprocess.DEVNULL)
        per = (calls(qvm_pci, tmp / "host", tmp / "c") - calls(qvm_pci, tmp / "empty", tmp / "c")) / N
    ok = per <= BUDGET
    print(f"{'ok' if ok else 'not ok'} 1 - qvm-pci lists a function in {per:.1f} system calls (at most {BUDGET})")
    print("1..1")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
