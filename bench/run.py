#!/usr/bin/env python3
"""qvm-pci against lspci on generated hosts of 4,096 and 16,384 PCI functions.

Both read the same fixture tree (lspci through -A linux-sysfs -O sysfs.path=...), interleaved
round by round so that caches and machine load hit both alike. Wall time is the median of the
rounds; peak RSS comes from /usr/bin/time (a small parent, so the child's peak is its own).
Targets: list and --json at most half of lspci's time, peak RSS at most 16 MiB at 4,096
functions, and 16,384 functions at most 4.5 times 4,096. Exits 1 when a target is missed.
"""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
MKFIXTURE = ROOT / "tests" / "fixture" / "mkfixture.py"


def timed(cmd, env):
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%e %M"] + cmd, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall, rss = out.read().split()[-2:]
    return float(wall), int(rss)


def tree(n, cache):
    d = cache / f"host-{n}"
    if not (d / "sys" / "bus" / "pci" / "devices").is_dir():
        subprocess.run([sys.executable, str(MKFIXTURE), "--force", "--generate", str(n), str(d)], check=True)
    return d


def measure(n, cache, rounds, qvm_pci):
    root = tree(n, cache)
    env = dict(os.environ, QPCI_ROOT=str(root))
    cmds = {
        "qvm-pci": [qvm_pci],
        "qvm-pci --json": [qvm_pci, "--json"],
        "lspci -D -nn -k": ["lspci", "-A", "linux-sysfs", "-O", f"sysfs.path={root}/sys/bus/pci", "-D", "-nn", "-k"],
    }
    for c in cmds.values():  # warm the page cache for all alike
        timed(c, env)
    walls = {k: [] for k in cmds}
    rss = {k: 0 for k in cmds}
    for _ in range(rounds):
        for k, c in cmds.items():
            w, r = timed(c, env)
            walls[k].append(w)
            rss[k] = max(rss[k], r)
    return {k: (statistics.median(v), rss[k]) for k, v in walls.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--cache", default=os.environ.get("QPCI_BENCH_CACHE", "/var/tmp/qpci-bench"))
    ap.add_argument("--bin", default=str(ROOT / "build" / "bin" / "qvm-pci"))
    a = ap.parse_args()
    cache = pathlib.Path(a.cache)
    cache.mkdir(parents=True, exist_ok=True)

    res = {n: measure(n, cache, a.rounds, a.bin) for n in (4096, 16384)}
    ok = True
    print(f"{'functions':>9}  {'command':<16} {'median s':>9} {'peak RSS':>10} {'vs lspci':>9}")
    for n, r in res.items():
        base = r["lspci -D -nn -k"][0]
        for k, (w, m) in r.items():
            print(f"{n:>9}  {k:<16} {w:>9.3f} {m / 1024:>7.1f} MiB {w / base:>8.2f}x")
    for k in ("qvm-pci", "qvm-pci --json"):
        ratio = res[4096][k][0] / res[4096]["lspci -D -nn -k"][0]
        scale = res[16384][k][0] / res[4096][k][0]
        rss = res[4096][k][1] / 1024
        verdict = ratio <= 0.5 and scale <= 4.5 and rss <= 16
        ok &= verdict
        print(f"{k}: {ratio:.2f}x lspci (target <= 0.50), 16k/4k {scale:.2f}x (<= 4.5), "
              f"peak {rss:.1f} MiB at 4096 (<= 16): {'met' if verdict else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
