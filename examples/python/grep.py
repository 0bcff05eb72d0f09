#!/usr/bin/env python3
"""grep: pass on the lines that contain PATTERN (the seed's grep filter, as a stage)."""

import find_copipe  # noqa: F401  (the package, installed or from this repository)
from copipe import LINES, coroutine, stage


@coroutine
def grep(pattern, target):
    while True:
        line = (yield)           # Receive a line
        if pattern in line:
            target.send(line)    # Send to next stage


if __name__ == '__main__':
    stage(grep, input=LINES, output=LINES, args=[('pattern', 'the text to look for')])
