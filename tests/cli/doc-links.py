#!/usr/bin/env python3
"""Every relative link of the README and doc/*.md leads to a file of the tree, and every man page
the README names has its source in doc/. Prints TAP. Usage: doc-links.py SOURCEDIR"""
import pathlib
import re
import sys

from tap import check, done


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    pages = [root / "README.md"] + sorted((root / "doc").glob("*.md"))
    for page in pages:
        bad = []
        text = page.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (page.parent / target.split("#")[0]).exists():
                bad.append(f"{target} does not exist")
        for name, section in re.findall(r"\b(q(?:vm|pci)[a-z-]*)\(([18])\)", text):
            if not (root / "doc" / f"{name}.{section}.scd").exists():
                bad.append(f"{name}({section}) has no doc/{name}.{section}.scd")
        check(not bad, f"{page.relative_to(root)}: its links and man pages exist", "\n".join(bad))
    return done()


if __name__ == "__main__":
    sys.exit(main())
