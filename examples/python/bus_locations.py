#!/usr/bin/env python3
"""bus_locations: print route,id,"direction",latitude,longitude of every bus record (the seed's sink)."""

import find_copipe  # noqa: F401  (the package, installed or from this repository)
from copipe import RECORDS, TEXT, coroutine, stage


@coroutine
def bus_locations():
    while True:
        bus = (yield)
        print("%(route)s,%(id)s,\"%(direction)s\","\
              "%(latitude)s,%(longitude)s" % bus)


if __name__ == '__main__':
    stage(bus_locations, input=RECORDS, output=TEXT)
