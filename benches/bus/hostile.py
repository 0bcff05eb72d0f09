#!/usr/bin/env python3
"""Writes the hostile documents of issue 10 (part 3) into a directory, one file each.

Usage: hostile.py DIR

Each shape is one that used to cost a stage quadratic time or unbounded memory; `run.sh`
feeds each through `co-xml | co-buses` and prints seconds per MB, so a regression shows.
"""

import os
import sys


def write(directory, name, pieces):
    with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
        for piece in pieces:
            f.write(piece)


def many_fields(n):
    yield "<buses><bus>"
    for i in range(n):
        yield "<f%d>%d</f%d>" % (i, i, i)
    yield "</bus></buses>"


def many_attributes(n):
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    yield "<buses><bus"
    for i in range(n):
        name = "".join(letters[(i // 52 ** k) % 52] for k in (3, 2, 1, 0))
        yield " %s=''" % name
    yield "/></buses>"


def entity_chain(levels):
    """Entities each referring to the one below (no fixed depth: an explicit stack)."""
    yield '<!DOCTYPE buses [<!ENTITY e0 "<bus><route>22</route><id>7</id></bus>">\n'
    for i in range(1, levels):
        yield '<!ENTITY e%d "&e%d;">\n' % (i, i - 1)
    yield "]>\n<buses>&e%d;</buses>\n" % (levels - 1)


def main(directory):
    os.makedirs(directory, exist_ok=True)
    write(directory, "fields-80000.xml", many_fields(80_000))
    write(directory, "fields-400000.xml", many_fields(400_000))
    write(directory, "attributes-1.8M.xml", many_attributes(1_800_000))
    write(directory, "attributes-90000.xml", many_attributes(90_000))
    name = "n" * 1000
    write(directory, "long-names.xml",
          ["<buses>"] + ["<bus><%s%d>x</%s%d></bus>" % (name, i, name, i) for i in range(20_000)]
          + ["</buses>"])
    write(directory, "deep-1M.xml", ["<a>" * 1_000_000, "</a>" * 1_000_000])
    write(directory, "deep-90000.xml", ["<a>" * 90_000, "</a>" * 90_000])
    write(directory, "deep-long-names.xml", ["<%s>" % name] * 20_000)
    write(directory, "empty-elements-1M.xml", ["<buses><bus>", "<e/>" * 1_000_000, "</bus></buses>"])
    write(directory, "entity-chain-100000.xml", entity_chain(100_000))
    write(directory, "entity-chain-400000.xml", entity_chain(400_000))
    write(directory, "huge-text.xml", ["<buses><bus><t>", "x &amp; y\n" * 1_500_000, "</t></bus></buses>"])


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: hostile.py DIR")
    main(sys.argv[1])
