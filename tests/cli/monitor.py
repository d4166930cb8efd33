#!/usr/bin/env python3
"""qpci monitor on a fixture tree (QPCI_ROOT: no udev there): changes made by other processes
are each one JSON line within a second of being made, and the monitor ends cleanly on SIGTERM and
when its reader goes away. TAP on stdout.

  monitor.py [--without-vms] BINDIR     (a build without VM support: no attach to watch)
"""
import json
import os
import pathlib
import select
import signal
import subprocess
import sys
import tempfile
import time

from tap import check, done

HERE = pathlib.Path(__file__).resolve().parent
TESTS = HERE.parent


class Monitor:
    def __init__(self, bindir, env):
        self.p = subprocess.Popen([str(bindir / "qpci"), "monitor", "--json", "--no-vms"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.buf = b""
        self.lines = []

    def next(self, timeout):
        """The next line as JSON, or None when none came within timeout seconds."""
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.p.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.p.stdout.fileno(), 4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        self.lines.append(line.decode(errors="replace"))
        return json.loads(line)

    def wait_for(self, match, timeout=1.0):
        """The first line that match() accepts within timeout seconds of now, and how long it took."""
        start = time.monotonic()
        while True:
            left = start + timeout - time.monotonic()
            ev = self.next(max(left, 0))
            if ev is None:
                return None, time.monotonic() - start
            if match(ev):
                return ev, time.monotonic() - start


def main(argv):
    without_vms = "--without-vms" in argv
    argv = [a for a in argv if a != "--without-vms"]
    bindir = pathlib.Path(argv[0]).resolve()
    with tempfile.TemporaryDirectory(prefix="qpci-monitor-") as tmp:
        root = pathlib.Path(tmp) / "root"
        subprocess.run([sys.executable, str(TESTS / "fixture" / "mkfixture.py"),
                        str(TESTS / "topologies" / "seed-laptop.topo"), str(root)], check=True, capture_output=True)
        env = dict(os.environ, QPCI_ROOT=str(root), QPCI_PCI_IDS=str(TESTS / "data" / "pci.ids"), QPCI_HWDB="0",
                   LIBVIRT_DEFAULT_URI=f"test://{HERE / 'vms' / 'seed.xml'}")
        m = Monitor(bindir, env)
        ready = m.next(10)
        check(ready == {"type": "ready"}, "the first line says the monitor is ready", ready)

        # qpci's own commands, whatever they end in (a fixture has no driver core to bind with).
        changes = [(["qvm-pci", "hide", "00:19.0"], "hide 00:19.0"),
                   (["qvm-pci", "unhide", "00:19.0"], "unhide 00:19.0")]
        if not without_vms:
            changes.append((["qvm-pci", "attach", "-p", "mei", "00:1b.0"], "attach -p mei 00:1b.0"))
        for cmd, words in changes:
            subprocess.run([str(bindir / cmd[0])] + cmd[1:], env=env, capture_output=True)
            ev, took = m.wait_for(lambda e: e.get("type") == "qpci" and words in (e.get("command") or ""))
            check(ev is not None and took < 1.0, f"{' '.join(cmd)} in another process is seen within a second "
                  f"({took:.2f} s)", "\n".join(m.lines))

        # What the kernel does to a device's folder when a driver takes it or lets it go.
        dev = root / "sys" / "bus" / "pci" / "devices" / "0000:00:19.0"
        os.unlink(dev / "driver")
        ev, took = m.wait_for(lambda e: e.get("type") == "device-unbound")
        check(ev == {"type": "device-unbound", "id": "dom0:00_19.0", "bdf": "0000:00:19.0"} and took < 1.0,
              f"a device let go by its driver is seen within a second ({took:.2f} s)", "\n".join(m.lines))
        os.symlink("../../../../bus/pci/drivers/vfio-pci", dev / "driver")
        ev, took = m.wait_for(lambda e: e.get("type") == "device-bound")
        check(ev == {"type": "device-bound", "id": "dom0:00_19.0", "bdf": "0000:00:19.0", "driver": "vfio-pci",
                     "hidden": True} and took < 1.0,
              f"a device taken by vfio-pci is seen within a second, as hidden ({took:.2f} s)", "\n".join(m.lines))

        m.p.send_signal(signal.SIGTERM)
        try:
            status = m.p.wait(2)
        except subprocess.TimeoutExpired:
            m.p.kill()
            status = "still running after 2 s"
        err = m.p.stderr.read().decode(errors="replace")
        check(status == 0 and not err, "SIGTERM ends it at once, with status 0 and nothing on stderr",
              f"status {status}\n{err}")
        lines_ok = all(isinstance(json.loads(l), dict) and "type" in json.loads(l) for l in m.lines)
        check(lines_ok and m.lines, "each line is one JSON object with a type", "\n".join(m.lines))

        # A reader that goes away: the next line cannot be written, and the monitor ends by itself.
        m = Monitor(bindir, env)
        m.next(10)
        m.p.stdout.close()
        subprocess.run([str(bindir / "qvm-pci"), "unhide", "00:19.0"], env=env, capture_output=True)
        try:
            status = m.p.wait(2)
        except subprocess.TimeoutExpired:
            m.p.kill()
            status = "still running after 2 s"
        check(status == 0, "a reader that went away ends it (SIGPIPE taken as the end), status 0", status)
    return done()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
