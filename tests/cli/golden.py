#!/usr/bin/env python3
r"""Golden-output tests of the command line on fixture hosts.

For each tests/cli/SCENARIO.cmds, the fixture tests/topologies/SCENARIO.topo is built into a
fresh directory, then every line of the .cmds file is run as a command (shell words, the tool on
PATH) with QPCI_ROOT pointing at it, and its stdout, stderr and exit status are compared with the
block recorded in SCENARIO.out. Prints TAP, one line per command.

The VMs the tools see come from libvirt's test driver (test:///FILE: one process's own VMs, read
from FILE at each connection, so nothing persists between commands): tests/cli/vms/none.xml, or
the file a "# vms: FILE" line of the .cmds names. A "# topology: NAME" line takes another
scenario's fixture. A "# same-verdicts-as: OTHER" line adds one check: the strict-reset verdict of
every device in this scenario's `qvm-pci --json` is the one OTHER.out records (the same host under
another kernel must get the same answers).

tests/cli is on PATH after the tools: its qpci-state-db puts qpci's state database into the states
a scenario needs (an interrupted move, a damaged page, a held lock).

In a command, $QPCI_ROOT is the fixture's directory, where boot/vmlinuz is a stand-in kernel file
and boot/fifo a FIFO, and \xHH is that byte (control characters in arguments).

Every command with a --json word must print one JSON document on stdout; when it fails, the
error object ("error", "reason", "fix", "code").

A build without VM support (meson -Dvirt=disabled) is checked with --without-vms: the scenarios
with VMs (a "# vms:" line) are left out, and those marked "# build: without-vms" run, only then.

  golden.py [--without-vms] BINDIR [SCENARIO...]          check
  golden.py --update [--without-vms] BINDIR [SCENARIO...] rewrite the .out files from what the tools print now
"""
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
TESTS = HERE.parent
MKFIXTURE = TESTS / "fixture" / "mkfixture.py"


def words(cmd, root):
    # A byte of 0x80 or more stays that byte in argv (surrogateescape), not a UTF-8 character.
    def byte(m):
        b = int(m.group(1), 16)
        return chr(b if b < 0x80 else 0xdc00 + b)
    return [re.sub(r"\\x([0-9a-fA-F]{2})", byte, w.replace("$QPCI_ROOT", root)) for w in shlex.split(cmd)]


def run_block(cmd, env):
    p = subprocess.run(words(cmd, env["QPCI_ROOT"]), env=env, capture_output=True, text=True,
                       errors="backslashreplace", timeout=60)
    # The fixture lives in a fresh temporary directory: name it the same way every run.
    stdout = p.stdout.replace(env["QPCI_ROOT"], "$QPCI_ROOT")
    stderr = p.stderr.replace(env["QPCI_ROOT"], "$QPCI_ROOT")
    out = [f"$ {cmd}"]
    out += stdout.splitlines()
    out += ["! " + line for line in stderr.splitlines()]
    out.append(f"[exit {p.returncode}]")
    return "\n".join(out) + "\n"


def parse_expected(text):
    blocks, cur = {}, None
    for line in text.splitlines(keepends=True):
        if line.startswith("$ "):
            cur = line[2:].rstrip("\n")
            blocks[cur] = line
        elif cur is not None:
            blocks[cur] += line
    return blocks


def json_stdout(block):
    lines = [l for l in block.splitlines()[1:] if not l.startswith("! ") and not l.startswith("[exit ")]
    return json.loads("\n".join(lines))


def json_problem(block):
    """What is wrong with the output of a --json command: None when stdout is one JSON document, and
    a failure's is the error object (a string "error" and "code", "reason" and "fix" strings or
    null)."""
    try:
        doc = json_stdout(block)
    except ValueError as e:
        return f"stdout is not JSON: {e}"
    status = int(block.rstrip().splitlines()[-1][len("[exit "):-1])
    if status == 0:
        return None
    if not isinstance(doc, dict):
        return "a failure printed something else than the error object"
    for key in ("error", "code"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            return f"the error object has no {key}"
    for key in ("reason", "fix"):
        if key not in doc or not (doc[key] is None or isinstance(doc[key], str)):
            return f"the error object's {key} is neither a string nor null"
    return None


def verdicts(block):
    return {d["bdf"]: d["strict_reset"] for d in json_stdout(block)}


def main(argv):
    update = "--update" in argv
    without_vms = "--without-vms" in argv
    argv = [a for a in argv if a not in ("--update", "--without-vms")]
    bindir = pathlib.Path(argv[0]).resolve()
    names = argv[1:] or sorted(p.stem for p in HERE.glob("*.cmds"))
    results = []
    for name in names:
        lines = (HERE / f"{name}.cmds").read_text().splitlines()
        cmds = [l.strip() for l in lines if l.strip() and not l.startswith("#")]
        header = dict(l[1:].split(":", 1) for l in lines if l.startswith("#") and ":" in l)
        header = {k.strip(): v.strip() for k, v in header.items()}
        only_without_vms = header.get("build") == "without-vms"
        if (without_vms and "vms" in header) or (only_without_vms and not without_vms):
            continue
        topology = header.get("topology", name)
        vms = HERE / "vms" / header.get("vms", "none.xml")
        with tempfile.TemporaryDirectory(prefix=f"qpci-{name}-") as tmp:
            root = pathlib.Path(tmp) / "root"
            subprocess.run([sys.executable, str(MKFIXTURE), str(TESTS / "topologies" / f"{topology}.topo"),
                            str(root)], check=True, capture_output=True)
            (root / "boot").mkdir()
            (root / "boot" / "vmlinuz").write_bytes(b"MZ not a kernel: qvm-create only checks it is a file\n")
            os.mkfifo(root / "boot" / "fifo")
            env = dict(os.environ, QPCI_ROOT=str(root), QPCI_PCI_IDS=str(TESTS / "data" / "pci.ids"),
                       QPCI_HWDB="0", PATH=f"{bindir}:{HERE}:{os.environ['PATH']}")
            env["LIBVIRT_DEFAULT_URI"] = f"test://{vms}"
            got = {c: run_block(c, env) for c in cmds}
        expfile = HERE / f"{name}.out"
        if update:
            expfile.write_text("".join(got[c] for c in cmds))
            continue
        expected = parse_expected(expfile.read_text()) if expfile.exists() else {}
        for c in cmds:
            ok = expected.get(c) == got[c]
            results.append(ok)
            print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}: {c}")
            if not ok:
                print("# expected:")
                for line in (expected.get(c) or "(nothing recorded)\n").splitlines():
                    print("#   " + line)
                print("# got:")
                for line in got[c].splitlines():
                    print("#   " + line)
        # Every --json output, whatever the .out recorded, must parse (hostile strings included).
        for c in cmds:
            if "--json" not in shlex.split(c):
                continue
            problem = json_problem(got[c])
            results.append(problem is None)
            print(f"{'ok' if problem is None else 'not ok'} {len(results)} - {name}: {c}: valid JSON")
            if problem:
                print(f"# {problem}")
        other = header.get("same-verdicts-as")
        if other:
            cmd = "qvm-pci --json"
            theirs = parse_expected((HERE / f"{other}.out").read_text()).get(cmd)
            mine = verdicts(got[cmd]) if cmd in got else {}
            theirs = verdicts(theirs) if theirs else {}
            ok = bool(mine) and mine == theirs
            results.append(ok)
            print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}: same strict-reset verdicts as {other}")
            for bdf in sorted(set(mine) | set(theirs)):
                if mine.get(bdf) != theirs.get(bdf):
                    print(f"# {bdf}: {mine.get(bdf)} here, {theirs.get(bdf)} in {other}")
    if not update:
        print(f"1..{len(results)}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
