#!/usr/bin/env python3
"""The tree's words for users and readers: Qubes OS's documentation is named as "Qubes OS's
Assigning Devices page", and tests say what they test rather than which tracker issue asked for
them. Reads every text file of the source tree (build trees and .git left out); prints TAP."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Split so that this file does not match itself.
BANNED = [
    (re.compile(r"\bseed" + r" page|\bthe seed" + r"'s\b", re.I), "name Qubes OS's Assigning Devices page"),
    (re.compile(r"\bissue" + r" #?[0-9]+", re.I), "say what is tested, not the issue number"),
]


def files():
    for p in sorted(ROOT.rglob("*")):
        rel = p.relative_to(ROOT)
        if not p.is_file() or rel.parts[0] == ".git" or rel.parts[0].startswith("build") or \
                "subprojects" in rel.parts:
            continue
        try:
            yield rel, p.read_text()
        except (UnicodeDecodeError, OSError):
            continue  # binary data


def main():
    bad = []
    for rel, text in files():
        for n, line in enumerate(text.splitlines(), 1):
            for rx, fix in BANNED:
                if rx.search(line):
                    bad.append(f"{rel}:{n}: {fix}: {line.strip()[:100]}")
    print("ok 1 - Qubes OS's page named as such, no issue numbers in the tree" if not bad else
          "not ok 1 - words to change")
    for b in bad:
        print("# " + b)
    print("1..1")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
