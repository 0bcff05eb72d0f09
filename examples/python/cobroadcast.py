#!/usr/bin/env python3
"""cobroadcast: the seed's broadcast example as a stage (one grep and printer per pattern).

Every line in goes to one grep per PATTERN (python, ply and swig by default), each with its
own printer, in that order."""

import find_copipe  # noqa: F401  (the package, installed or from this repository)
from copipe import LINES, TEXT, broadcast, stage

from grep import grep
from printer import printer


def hook_up(patterns):
    return broadcast([grep(pattern, printer()) for pattern in patterns])


def options(parser):
    parser.add_argument("patterns", nargs="*", default=["python", "ply", "swig"],
                        metavar="PATTERN", help="a text to look for (default: python ply swig)")
    return ["patterns"]


if __name__ == '__main__':
    stage(hook_up, input=LINES, output=TEXT, args=options)
