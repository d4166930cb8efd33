#!/usr/bin/env python3
"""The error codes a program can get are the ones doc/json.md lists, and the reverse: every code
libqpci or a tool sets (the errno table of lib/error.c, each refusal's, the tools' own, the
findings of qvm-pci check) is in doc/json.md's list, and every code the list names is set
somewhere. Prints TAP. Usage: json-codes.py SOURCEDIR"""
import pathlib
import re
import sys

SETTERS = [
    re.compile(r'\{E[A-Z]+,\s*"([a-z][a-z-]*)"\}'),                                  # error.c's errno table
    re.compile(r'(?:log_refusal|qpci_refuse)\(\s*[^,()]+,\s*[^,()]+,\s*"([a-z][a-z-]*)"', re.S),
    re.compile(r'tool_error_code\(\s*"([a-z][a-z-]*)"'),
    re.compile(r'\badd\(fs,\s*[^,]+,\s*"([a-z][a-z-]*)"'),                        # verdict.c's findings
    re.compile(r'return "(failed)";'),                                               # the code of anything else
]


def main(argv):
    root = pathlib.Path(argv[0])
    source = "".join(p.read_text() for d in ("lib", "tools") for p in sorted((root / d).glob("*.c"))
                     if not p.name.endswith("-test.c"))
    set_codes = {m for rx in SETTERS for m in rx.findall(source)}
    readme = (root / "doc" / "json.md").read_text()
    section = readme.split("**A failure**", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"`([a-z][a-z-]*)`", section.split("one of:", 1)[1]))
    # The findings' own codes are named in the check paragraph.
    listed |= {c for c in ("goes-along", "assigned-elsewhere") if f"`{c}`" in readme}
    results = []
    for what, missing in (("every code set in lib/ and tools/ is in doc/json.md", set_codes - listed),
                          ("every code doc/json.md lists is set somewhere", listed - set_codes)):
        results.append(not missing)
        print(f"{'ok' if not missing else 'not ok'} {len(results)} - {what}")
        for c in sorted(missing):
            print(f"# {c}")
    print(f"1..{len(results)}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
