#!/usr/bin/env python3
"""buses_to_dicts: one record per <bus> element of the XML events (the seed's state machine)."""

import find_copipe  # noqa: F401  (the package, installed or from this repository)
from copipe import RECORDS, XML, coroutine, stage


@coroutine
def buses_to_dicts(target):
    while True:
        event, value = (yield)
        # Look for the start of a <bus> element
        if event == 'start' and value[0] == 'bus':
            busdict = { }
            fragments = []
            # Capture text of inner elements in a dict
            while True:
                event, value = (yield)
                if event == 'start':   fragments = []
                elif event == 'text':  fragments.append(value)
                elif event == 'end':
                    if value != 'bus':
                        busdict[value] = "".join(fragments)
                    else:
                        target.send(busdict)
                        break


if __name__ == '__main__':
    stage(buses_to_dicts, input=XML, output=RECORDS)
