#!/usr/bin/env python3
"""qvm-pci against lspci on generated hosts of 4,096 and 16,384 PCI functions.

Both read the same fixture tree (lspci through -A linux-sysfs -O sysfs.path=...), interleaved
round by round so that caches and machine load hit both alike: wall and CPU time (user + system)
are the medians of the rounds, each ratio the median of the rounds' own ratios (a round's load hits
both sides of it); peak RSS comes from /usr/bin/time.
Targets: list and --json at most half of lspci's time, peak RSS at most 16 MiB at 4,096
functions, and 16,384 functions at most 4.5 times 4,096. Exits 1 when a target is missed.

Beside the times, what load does not change: the system calls each command makes on the tree of
4,096 functions (strace -c -f), per function, against a target of 10 for qvm-pci (printed, met or
not; a count is the work of this build, not a race against the machine's load).
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
    """Wall time, CPU time (user + system) and peak RSS in KiB of one run, through /usr/bin/time: a
    small parent, so that the peak is the child's own, not that of a forked Python."""
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%e %U %S %M"] + cmd, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall, user, system, rss = out.read().split()[-4:]
    return float(wall), float(user) + float(system), int(rss)


def syscalls(cmd, env):
    """Every system call of cmd and its children, and the failed ones, from strace -c's summary."""
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["strace", "-c", "-f", "-o", out.name] + cmd, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        total = [line.split() for line in out if line.split()[-1:] == ["total"]][-1]
    return int(total[3]), int(total[4]) if len(total) > 5 else 0


def tree(n, cache):
    d = cache / f"host-{n}"
    if not (d / "sys" / "bus" / "pci" / "devices").is_dir():
        subprocess.run([sys.executable, str(MKFIXTURE), "--force", "--generate", str(n), str(d)], check=True)
    return d


def commands(root, qvm_pci):
    return {
        "qvm-pci": [qvm_pci],
        "qvm-pci --json": [qvm_pci, "--json"],
        "lspci -D -nn -k": ["lspci", "-A", "linux-sysfs", "-O", f"sysfs.path={root}/sys/bus/pci", "-D", "-nn", "-k"],
    }


def measure(n, cache, rounds, qvm_pci):
    """Each command's runs, interleaved round by round: {command: [(wall, cpu, rss), ...]}."""
    root = tree(n, cache)
    env = dict(os.environ, QPCI_ROOT=str(root))
    cmds = commands(root, qvm_pci)
    for c in cmds.values():  # warm the page cache for all alike
        timed(c, env)
    runs = {k: [] for k in cmds}
    for _ in range(rounds):
        for k, c in cmds.items():
            runs[k].append(timed(c, env))
    return runs


LSPCI = "lspci -D -nn -k"
# The listing at most a quarter of lspci's time; --json keeps the first target, a half.
RATIO_TARGET = {"qvm-pci": 0.25, "qvm-pci --json": 0.5}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--cache", default=os.environ.get("QPCI_BENCH_CACHE", "/var/tmp/qpci-bench"))
    ap.add_argument("--bin", default=str(ROOT / "build" / "bin" / "qvm-pci"))
    a = ap.parse_args()
    cache = pathlib.Path(a.cache)
    cache.mkdir(parents=True, exist_ok=True)

    ok = True
    root = tree(4096, cache)
    env = dict(os.environ, QPCI_ROOT=str(root))
    print(f"system calls on {root} (strace -c -f):")
    for k, c in commands(root, a.bin).items():
        calls, failed = syscalls(c, env)
        line = f"  {k:<16} {calls:>7} calls, {failed:>6} failed, {calls / 4096:5.1f} per function"
        if k == "qvm-pci":
            met = calls / 4096 <= 10
            line += f" (target <= 10: {'met' if met else 'not met'})"
        print(line)

    res = {n: measure(n, cache, a.rounds, a.bin) for n in (4096, 16384)}
    med = statistics.median
    print(f"median of {a.rounds} interleaved rounds; the ratio is the median of each round's own ratio")
    print(f"{'functions':>9}  {'command':<16} {'wall s':>7} {'cpu s':>7} {'peak RSS':>10} {'wall vs lspci':>14} {'cpu vs lspci':>13}")
    ratio = {}
    for n, r in res.items():
        for k, runs in r.items():
            wr = med([x[0] / y[0] for x, y in zip(runs, r[LSPCI])])
            cr = med([x[1] / y[1] for x, y in zip(runs, r[LSPCI])])
            ratio[n, k] = wr
            print(f"{n:>9}  {k:<16} {med([x[0] for x in runs]):>7.3f} {med([x[1] for x in runs]):>7.3f} "
                  f"{max(x[2] for x in runs) / 1024:>6.1f} MiB {wr:>13.2f}x {cr:>12.2f}x")
    for k, target in RATIO_TARGET.items():
        scale = med([x[0] for x in res[16384][k]]) / med([x[0] for x in res[4096][k]])
        rss = max(x[2] for x in res[4096][k]) / 1024
        verdict = ratio[4096, k] <= target and scale <= 4.5 and rss <= 16
        ok &= verdict
        print(f"{k}: {ratio[4096, k]:.2f}x lspci (target <= {target:.2f}), 16k/4k {scale:.2f}x (<= 4.5), "
              f"peak {rss:.1f} MiB at 4096 (<= 16): {'met' if verdict else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
