#!/usr/bin/env python3
"""printer: print every event (the seed's printer sink, as a stage)."""

import find_copipe  # noqa: F401  (the package, installed or from this repository)
from copipe import ANY, TEXT, coroutine, stage


@coroutine
def printer():
    while True:
        line = (yield)
        print(line)


if __name__ == '__main__':
    stage(printer, input=ANY, output=TEXT)
