#!/usr/bin/env python3
"""The help/man-page drift check: the commands and options haywire --help
lists must be those haywire(1) documents, both ways (and haywire-bpf's
--help against haywire-bpf(8), which has options only).

usage: tests/mandrift.py PROGRAM MAN_SCD [COMPLETION]

With COMPLETION (tools/completion/haywire.bash), its "commands" and "opts"
word lists are checked against haywire --help the same way.

haywire --help: a command is the first word of a line indented by two
spaces in a section whose heading starts with "commands"; an option is any
"--name" anywhere in the text, and a short "-x" starting an indented line of
the "options" section or written "-x, --name". haywire(1) (scdoc source): a command is a "*name*"
line under "# COMMANDS", an option any "*--name*", "*-x*" or "*-x, " starting a line
under "# OPTIONS", and any --name in the page. Prints one line per
difference, naming the side that lacks it, and exits 1 if there is any.
"""
import re
import subprocess
import sys

HEADINGS = ("usage", "commands", "sources", "options", "exit", "vadd", "see")
LONG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def from_help(text):
    commands, options, section = set(), set(), ""
    for line in text.splitlines():
        if line and not line[0].isspace():
            word = line.split()[0].lower().rstrip(":")
            if word.startswith(HEADINGS):
                section = word
        m = re.match(r"  ([a-z][a-z-]*)\b", line)
        if m and section.startswith("commands"):
            commands.add(m.group(1))
        m = re.match(r"  (-[a-zA-Z])\b", line)
        if m and (section.startswith("options") or
                  re.match(r"  -[a-zA-Z], --", line)):
            options.add(m.group(1))
        options.update(LONG.findall(line))
    return commands, options


def from_man(text):
    commands, options, section = set(), set(), ""
    for line in text.splitlines():
        if line.startswith(";"):
            continue
        if line.startswith("# "):
            section = line[2:].strip()
        m = re.match(r"\*([a-z][a-z-]*)\*", line)
        if m and section == "COMMANDS":
            commands.add(m.group(1))
        if section == "OPTIONS":
            options.update(re.findall(r"^\*(-[a-zA-Z])[*,]", line))
        options.update(LONG.findall(line))
    return commands, options


def from_completion(text):
    words = {}
    for name in ("commands", "opts"):
        m = re.search(name + r"='([^']*)'", text)
        words[name] = set(m.group(1).split()) if m else set()
    return words["commands"], words["opts"]


def main():
    haywire, man = sys.argv[1], sys.argv[2]
    help_text = subprocess.run([haywire, "--help"], check=True,
                               capture_output=True, text=True).stdout
    with open(man, encoding="utf-8") as f:
        man_text = f.read()
    hc, ho = from_help(help_text)
    mc, mo = from_man(man_text)
    # A program without commands (haywire-bpf) has none on either side.
    if not ho or not mo or bool(hc) != bool(mc):
        print("mandrift: found no commands or options on one side: "
              "the parsers need updating")
        return 1
    sides = [(man, mc, mo)]
    if len(sys.argv) > 3:
        with open(sys.argv[3], encoding="utf-8") as f:
            cc, co = from_completion(f.read())
        sides.append((sys.argv[3], cc, co))
    diffs = []
    for other, oc, oo in sides:
        for kind, h, m in (("command", hc, oc), ("option", ho, oo)):
            for name in sorted(h - m):
                diffs.append(f"{kind} '{name}' is in haywire --help but not in {other}")
            for name in sorted(m - h):
                diffs.append(f"{kind} '{name}' is in {other} but not in haywire --help")
    for d in diffs:
        print(d)
    print(f"help: {len(hc)} commands, {len(ho)} options; "
          f"man page: {len(mc)} commands, {len(mo)} options; "
          f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
