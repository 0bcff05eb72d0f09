#!/usr/bin/env python3
"""The seed's programs that read allroutes.xml, ported to Python 3: standard library only.

David Beazley's "A Curious Course on Coroutines and Concurrency", Part 2: `basicsax`
(a SAX handler that prints every call) and `cosax` (SAX events sent into a printer
coroutine). The only changes from the seed are Python 3 syntax (print(), next()).
The bus programs (buses, cothread, coprocess) print what tests/reference/buses.py prints.

Usage: seed.py basicsax FILE
       seed.py cosax FILE

The examples of the same names must print exactly what this prints (tests/examples_seed.rs).
"""

import sys
import xml.sax


def coroutine(func):
    def start(*args, **kwargs):
        cr = func(*args, **kwargs)
        next(cr)
        return cr
    return start


# basicsax.py
class MyHandler(xml.sax.ContentHandler):
    def startElement(self, name, attrs):
        print("startElement", name)

    def endElement(self, name):
        print("endElement", name)

    def characters(self, text):
        print("characters", repr(text)[:40])


# cosax.py
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
def printer():
    while True:
        event = (yield)
        print(event)


def main(argv):
    if len(argv) != 3 or argv[1] not in ("basicsax", "cosax"):
        sys.stderr.write(__doc__)
        return 2
    program, path = argv[1], argv[2]
    if program == "basicsax":
        xml.sax.parse(path, MyHandler())
    else:
        xml.sax.parse(path, EventHandler(printer()))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
