#!/usr/bin/env python3
"""The seed's bus program, ported to Python 3: standard library only.

David Beazley's "A Curious Course on Coroutines and Concurrency", Part 2 and Part 3:
xml.sax feeds an EventHandler, which sends ('start', ...), ('text', ...) and ('end', ...)
events into buses_to_dicts, then filter_on_field twice, then bus_locations. The only
changes from the seed are Python 3 syntax (print(), next()) and, for testing other
queries, optional FIELD=VALUE arguments replacing the seed's two fixed filters.

Usage: buses.py FILE [FIELD=VALUE ...]   (default: route=22 "direction=North Bound")
       buses.py --dicts FILE               (every busdict as one line of JSON, for
                                            comparing records with `co-dump --json`)

copipe's co-xml | co-buses | co-filter | co-bus-locations must print exactly what this
prints, byte for byte.
"""

import json
import sys
import xml.sax


def coroutine(func):
    def start(*args, **kwargs):
        cr = func(*args, **kwargs)
        next(cr)
        return cr
    return start


class EventHandler(xml.sax.ContentHandler):
    def __init__(self, target):
        self.target = target

    def startElement(self, name, attrs):
        self.target.send(('start', (name, attrs._attrs)))

    def characters(self, text):
        self.target.send(('text', text))

    def endElement(self, name):
        self.target.send(('end', name))


@coroutine
def buses_to_dicts(target):
    while True:
        event, value = (yield)
        # Look for the start of a <bus> element
        if event == 'start' and value[0] == 'bus':
            busdict = {}
            fragments = []
            # Capture text of inner elements in a dict
            while True:
                event, value = (yield)
                if event == 'start':
                    fragments = []
                elif event == 'text':
                    fragments.append(value)
                elif event == 'end':
                    if value != 'bus':
                        busdict[value] = "".join(fragments)
                    else:
                        target.send(busdict)
                        break


@coroutine
def filter_on_field(fieldname, value, target):
    while True:
        d = (yield)
        if d.get(fieldname) == value:
            target.send(d)


@coroutine
def bus_locations():
    while True:
        bus = (yield)
        print("%(route)s,%(id)s,\"%(direction)s\","
              "%(latitude)s,%(longitude)s" % bus)


@coroutine
def dict_printer():
    """Not in the seed: prints each busdict as JSON, keys in dict order."""
    while True:
        bus = (yield)
        print(json.dumps(bus, ensure_ascii=False, separators=(",", ":")))


def main(argv):
    if len(argv) == 3 and argv[1] == "--dicts":
        xml.sax.parse(argv[2], EventHandler(buses_to_dicts(dict_printer())))
        return
    if len(argv) < 2:
        sys.exit("usage: buses.py FILE [FIELD=VALUE ...]")
    conditions = [c.split("=", 1) for c in argv[2:]] or [
        ("route", "22"), ("direction", "North Bound")]
    target = bus_locations()
    for field, value in reversed(conditions):
        target = filter_on_field(field, value, target)
    xml.sax.parse(argv[1], EventHandler(buses_to_dicts(target)))


if __name__ == "__main__":
    main(sys.argv)
