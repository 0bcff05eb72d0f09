#!/usr/bin/env python3
"""The SAX events Python's expat gives for a document, as co-xml | co-printer prints them.

Usage: sax_events.py FILE

Prints one line per event in the seed's tuple notation (adjacent character data joined into
one text event, as co-xml sends it). A document expat rejects prints what came before, then
`error LINE:COLUMN MESSAGE` on stderr, and exits 1. Standard library only.
"""

import sys
import xml.sax


class EventHandler(xml.sax.ContentHandler):
    def __init__(self):
        super().__init__()
        self.text = []

    def flush_text(self):
        if self.text:
            print(repr(('text', "".join(self.text))))
            self.text = []

    def startElement(self, name, attrs):
        self.flush_text()
        print(repr(('start', (name, dict(attrs._attrs)))))

    def characters(self, text):
        self.text.append(text)

    def endElement(self, name):
        self.flush_text()
        print(repr(('end', name)))


def main(path):
    handler = EventHandler()
    try:
        xml.sax.parse(path, handler)
    except xml.sax.SAXParseException as e:
        handler.flush_text()
        sys.stdout.flush()
        print("error %d:%d %s" % (e.getLineNumber(), e.getColumnNumber(), e.getMessage()),
              file=sys.stderr)
        sys.exit(1)
    except (LookupError, ValueError) as e:
        # An encoding expat does not know is refused before parsing starts.
        handler.flush_text()
        sys.stdout.flush()
        print("error 1:0 %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
