#!/usr/bin/env python3
"""Each tool's --help and its man page (doc/*.scd) name the same options, and the same forms.

For every man page, the tool's --help is run (for qpci(8): `qpci --help`, and `qpci GROUP --help`
for each group it lists that is not a qvm-* tool of its own page), and two things compared:

- options: every option --help prints (in its usage lines, and at the head of its option lines)
  is defined in the man page's OPTIONS, and every option OPTIONS defines is printed by --help;
- forms: each usage line of --help is keyed by the program and its command words ("qvm-pci
  attach", "qpci hook install", "qvm-prefs"); the man page's SYNOPSIS has the same keys, each
  with the same options (a group without options, "qpci hook", may be there as its commands).

Prints TAP, one line per page. Usage: man-help.py BINDIR DOCDIR
"""
import pathlib
import re
import subprocess
import sys

import tap

OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")
COMMAND_WORD = re.compile(r"^\[?([a-z][a-z0-9-]*(\|[a-z][a-z0-9-]*)*)\]?$")


def plain(scd_line):
    """A line of scdoc without its formatting: bold, underline and escapes."""
    return re.sub(r"\\(.)", r"\1", re.sub(r"(?<!\\)[*_](?=\W|$)|(?<=\W)(?<!\\)[*_]|^[*_]", "", scd_line))


def form(line, prog_words):
    """A usage line to (key, options): the program and its command words, and the options."""
    words = line.split()
    key = words[:prog_words]
    for w in words[prog_words:]:
        m = COMMAND_WORD.match(w)
        if not m:
            break
        key.append(m.group(1))
    return " ".join(key), set(OPTION.findall(line))


def head(line):
    """What an option line defines: the text before the description (two spaces or more)."""
    return set(OPTION.findall(re.split(r"\s{2,}", line.strip())[0]))


def help_text(bindir, argv):
    p = subprocess.run([str(bindir / argv[0])] + argv[1:] + ["--help"], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} --help exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def parse_help(text, prog):
    """(forms, options) of one --help text of the program prog ("qvm-pci", "qpci hook")."""
    forms, options = {}, set()
    in_usage = False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("Usage:"):
            s = s[len("Usage:"):].strip()
        if s.split()[:len(prog.split())] == prog.split() and not s.startswith(prog + ":"):
            usage = re.split(r"\s{2,}", s)[0]
            key, opts = form(usage, len(prog.split()))
            forms.setdefault(key, set()).update(opts)
            options |= opts
            in_usage = True
        elif in_usage and s.startswith("["):
            # A usage line wrapped onto the next one.
            forms[key].update(OPTION.findall(s))
            options |= set(OPTION.findall(s))
        else:
            in_usage = False
            if s.startswith("-"):
                options |= head(line)
    return forms, options


def parse_man(path):
    """(forms, options its OPTIONS defines) of a man page's scdoc source."""
    section, forms, defined = None, {}, set()
    prog = path.name.split(".")[0]
    lines = [plain(l) for l in path.read_text().splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("# "):
            section = line[2:].strip()
        elif section == "SYNOPSIS" and line.strip():
            if line.split()[0] == prog:
                key, opts = form(line, 1)
                forms.setdefault(key, set()).update(opts)
            else:  # a wrapped synopsis line
                forms[key].update(OPTION.findall(line))
        elif section == "OPTIONS" and line.startswith("-"):
            defined |= set(OPTION.findall(line))
    return forms, defined


def qpci_groups(text):
    """The groups `qpci --help` lists without a tool of their own: "qpci hook (qpci-hook)" has
    its options in qpci(8), "qpci pci (qvm-pci)" in qvm-pci(1)."""
    groups = []
    for line in text.splitlines():
        m = re.match(r"\s+qpci ([a-z][a-z-]*)\s*(\((\S+)\))?", line)
        if m and not (m.group(3) or "").startswith("qvm-"):
            groups.append(m.group(1))
    return groups


def covered(key, forms):
    return any(k.startswith(key + " ") for k in forms)


def check(bindir, page):
    prog = page.name.split(".")[0]
    text = help_text(bindir, [prog])
    forms, options = parse_help(text, prog)
    if prog == "qpci":
        for group in qpci_groups(text):
            f, o = parse_help(help_text(bindir, [prog, group]), f"qpci {group}")
            for k, v in f.items():
                forms.setdefault(k, set()).update(v)
            options |= o
    man_forms, defined = parse_man(page)
    problems = []
    for opt in sorted(options - defined):
        problems.append(f"{opt} is in '{prog} --help' but not in {page.name}'s OPTIONS")
    for opt in sorted(defined - options):
        problems.append(f"{opt} is in {page.name}'s OPTIONS but not in '{prog} --help'")
    for key in sorted(set(forms) | set(man_forms)):
        # A group without options of its own ("qpci hook") is there as its commands' forms.
        if not forms.get(key, man_forms.get(key)) and (key not in man_forms and covered(key, man_forms) or
                                                     key not in forms and covered(key, forms)):
            continue
        if key not in man_forms:
            problems.append(f"'{key}' is a form of --help missing from {page.name}'s SYNOPSIS")
        elif key not in forms:
            problems.append(f"'{key}' is in {page.name}'s SYNOPSIS but not a form of --help")
        elif forms[key] != man_forms[key]:
            problems.append(f"'{key}' takes {' '.join(sorted(forms[key])) or 'no option'} in --help but "
                            f"{' '.join(sorted(man_forms[key])) or 'no option'} in {page.name}'s SYNOPSIS")
    return problems


def main():
    bindir, docdir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    pages = sorted(docdir.glob("*.[18].scd"))
    if not pages:
        tap.check(False, f"no man page in {docdir}")
    for page in pages:
        try:
            problems = check(bindir, page)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            problems = [str(e)]
        tap.check(not problems, f"{page.name[:-4]}: --help and the man page agree", "\n".join(problems))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
