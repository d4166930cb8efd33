#!/usr/bin/env python3
"""Counts every test case that ran, across the builds of tests/run-all, and prints
'N passed, N failed'. A TAP test counts each of its 'ok'/'not ok' lines; a test without
TAP lines counts once, by its result; a build that failed counts as one failure."""
import json
import pathlib
import re
import sys

TAP = re.compile(r"^(not ok|ok)\b", re.M)


def main(results):
    passed = failed = 0
    for log in sorted(pathlib.Path(results).glob("*.json")):
        for line in log.read_text().splitlines():
            t = json.loads(line)
            cases = TAP.findall(t.get("stdout") or "")
            ok = t.get("result") == "OK"
            if cases:
                p = sum(1 for c in cases if c == "ok")
                f = len(cases) - p
                # A suite that crashed after its last TAP line still failed.
                if not ok and f == 0:
                    f = 1
                passed += p
                failed += f
            elif ok:
                passed += 1
            else:
                failed += 1
    for tap in pathlib.Path(results).glob("*.tap"):
        cases = TAP.findall(tap.read_text())
        passed += sum(1 for c in cases if c == "ok")
        failed += sum(1 for c in cases if c == "not ok")
    failed += len(list(pathlib.Path(results).glob("*.failed")))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
