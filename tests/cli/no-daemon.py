#!/usr/bin/env python3
"""A listing on a host without a libvirt daemon: libvirt is not loaded to learn that it cannot connect.

Each case runs in a mount namespace of its own (unshare -m, as root) whose /run is an empty tmpfs, with
or without a socket file in /run/libvirt, so that the host's own libvirt neither helps nor hinders;
strace says whether libvirt's library was opened. Prints TAP.
"""
import os
import pathlib
import subprocess
import sys
import tempfile

from tap import check, done

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def listing(qvm_pci, host, sock, env_extra=None):
    """stderr of `qvm-pci -v` and the libraries it opened, with /run/libvirt holding sock (or empty)."""
    with tempfile.NamedTemporaryFile("r") as trace:
        setup = "mount -t tmpfs tmpfs /run && mkdir /run/libvirt" + (f" && : > /run/libvirt/{sock}" if sock else "")
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
               f'{setup} && exec strace -f -e trace=openat -o {trace.name} "$@"', "sh", qvm_pci, "-v"]
        env = dict(os.environ, QPCI_ROOT=str(host))
        env.pop("LIBVIRT_DEFAULT_URI", None)
        env.update(env_extra or {})
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        opened = [line for line in trace.read().splitlines() if "libvirt.so" in line and "= -1" not in line]
    return p, opened


def main():
    qvm_pci = str(pathlib.Path(sys.argv[1]) / "qvm-pci")
    with tempfile.TemporaryDirectory() as tmp:
        host = pathlib.Path(tmp) / "host"
        subprocess.run([sys.executable, str(ROOT / "tests" / "fixture" / "mkfixture.py"), "--force",
                        str(ROOT / "tests" / "topologies" / "seed-laptop.topo"), str(host)],
                       check=True, stdout=subprocess.DEVNULL)
        p, opened = listing(qvm_pci, host, None)
        check(p.returncode == 0 and "dom0:00_" in p.stdout, "without a daemon the host's devices are listed",
              p.stdout + p.stderr)
        check("no libvirt daemon on this host (no socket in /var/run/libvirt)" in p.stderr,
              "-v says that no libvirt daemon is there to ask", p.stderr)
        check(not opened, "libvirt's library is not loaded", "\n".join(opened))
        # A socket there: libvirt is asked, and says it cannot connect (a file is no listening socket).
        p, opened = listing(qvm_pci, host, "virtqemud-sock")
        check(p.returncode == 0 and "dom0:00_" in p.stdout, "with a daemon's socket the devices are listed",
              p.stdout + p.stderr)
        check(opened and "cannot reach libvirt at qemu:///system" in p.stderr,
              "with a daemon's socket libvirt is loaded and asked", p.stderr + "\n".join(opened))
        # Another URI chosen by the environment is always asked, whatever /run holds.
        p, opened = listing(qvm_pci, host, None, {"LIBVIRT_DEFAULT_URI": "test:///default"})
        check(opened and "no libvirt daemon" not in p.stderr, "LIBVIRT_DEFAULT_URI's connection is asked",
              p.stderr + "\n".join(opened))
    return done()


if __name__ == "__main__":
    sys.exit(main())
