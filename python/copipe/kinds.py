"""The three kinds of events a link carries, and the port names ``--describe`` uses.

In Python the events are the seed's own values:

* ``lines``: a ``str`` (a line without its newline);
* ``xml``: ``('start', (name, {attr: value}))``, ``('text', text)``, ``('end', name)``;
* ``records``: a ``dict`` of ``str`` to ``str``, in field order.
"""

LINES = "lines"
XML = "xml"
RECORDS = "records"
KINDS = (LINES, XML, RECORDS)

#: Ports that are not frames of one kind (``--describe`` vocabulary, shared/protocol.rs).
TEXT = "text"
ANY = "any"
NONE = "none"
PORTS = (TEXT, LINES, XML, RECORDS, ANY, NONE)

_TAGS = {LINES: 1, XML: 2, RECORDS: 3}
_BY_TAG = {tag: kind for kind, tag in _TAGS.items()}
_DISPLAY = {LINES: "line events", XML: "XML events", RECORDS: "records"}


def tag(kind):
    """The header byte that stands for ``kind``."""
    return _TAGS[kind]


def from_tag(byte):
    """The kind a header byte stands for, or ``None``."""
    return _BY_TAG.get(byte)


def display(kind):
    """How a kind reads in a sentence: ``co-grep expects line events, got XML events``."""
    return _DISPLAY[kind]
