#!/usr/bin/env python3
"""A pass-through stage for the tests and benchmarks: every event out as it came in.

``--fail-after N`` raises an exception after passing N events: a Python stage crashing
inside a graph, for the tests that check it is reported like a Rust stage.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from copipe import ANY, coroutine, stage  # noqa: E402


@coroutine
def passthrough(fail_after, target):
    n = 0
    while True:
        item = (yield)
        if fail_after is not None and n == fail_after:
            raise RuntimeError("failing on purpose after %d events" % n)
        target.send(item)
        n += 1


def options(parser):
    parser.add_argument("--fail-after", type=int, metavar="N", help="raise after N events")
    return ["fail_after"]


if __name__ == "__main__":
    stage(passthrough, input=ANY, output=ANY, args=options)
