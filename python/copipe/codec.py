"""Events to bytes and back: bincode 2's standard configuration, as shared/link/codec.rs uses it.

Only four shapes occur (docs/wire-format.md has the byte-level details):

* an unsigned integer is a *varint*: one byte below 251, else a marker byte (251, 252, 253)
  and 2, 4 or 8 little-endian bytes;
* a string is its UTF-8 length (varint) and its bytes;
* a sequence is its length (varint) and its elements; a struct is its fields in order;
* an enum is its variant index (varint) and the variant's fields.

Encoding takes two paths too. Lines and records are encoded a batch at a time
(``encode_batch``): when every length is below 128 and every string ASCII, a batch is one
``str.join`` over its names, length characters and values, done in C, with no per-field Python
code. Anything else (a long value, a non-ASCII text, a value that is not a ``str``) goes
through the per-event encoder, which is exact for every input and names what is wrong.

Decoding a frame takes two paths. The fast one decodes the whole payload with few checks
(an all-ASCII payload is decoded to one ``str`` once and sliced, with no per-string UTF-8
decode). If anything about the frame is off, the careful path decodes it again, byte by byte,
delivers the events before the fault and names the fault exactly as the Rust reader does.
"""

import re
import sys
from itertools import chain, compress, repeat

from . import errors
from .kinds import LINES, RECORDS, XML

U16, U32, U64, U128 = 251, 252, 253, 254
_LATIN1 = "latin-1"

# ---------------------------------------------------------------------------- encoding

_SHORT = [bytes([n]) for n in range(U16)]


def varint(n):
    """The varint encoding of ``n`` (``n >= 0``)."""
    if n < U16:
        return _SHORT[n]
    if n < 1 << 16:
        return bytes([U16]) + n.to_bytes(2, "little")
    if n < 1 << 32:
        return bytes([U32]) + n.to_bytes(4, "little")
    return bytes([U64]) + n.to_bytes(8, "little")


def _put(buf, s):
    b = s.encode()
    n = len(b)
    if n < U16:
        buf.append(n)
    else:
        buf += varint(n)
    buf += b


def _encode_line(buf, line):
    _put(buf, line)


_CHR = [chr(n) for n in range(128)]


def _encode_record(buf, record):
    # The common case in one C-level encode: every name and value ASCII and shorter than
    # 128 bytes, so each length is one ASCII character and the record one ASCII string.
    try:
        text = "".join([_CHR[len(k)] + k + _CHR[len(v)] + v for k, v in record.items()])
    except (IndexError, TypeError):
        text = None
    n = len(record)
    if text is not None and n < 128 and text.isascii():
        buf.append(n)
        buf += text.encode()
        return
    if n < U16:
        buf.append(n)
    else:
        buf += varint(n)
    for name, value in record.items():
        _put(buf, name)
        _put(buf, value)


_LENGTH_CHAR = _CHR.__getitem__
_PREFIXES = {}


def _prefixes(names):
    """What comes before each value of a record with these names: the field count with the
    first name, then each further name, each name after its length character."""
    got = _PREFIXES.get(names)
    if got is None:
        if not names:
            raise ValueError("a record without fields")  # nothing to put its count before
        got = [chr(len(n)) + n for n in names]
        got[0] = chr(len(names)) + got[0]
        if len(_PREFIXES) > 256:
            _PREFIXES.clear()
        _PREFIXES[names] = got
    return got


def _batch_records(events):
    names = list(map(tuple, events))
    prefixes = list(map(_PREFIXES.get, names))
    if None in prefixes:  # names not seen yet (rare: a stream's records share a few)
        prefixes = [got or _prefixes(n) for got, n in zip(prefixes, names)]
    values = list(chain.from_iterable(map(dict.values, events)))
    parts = [None] * (3 * len(values))
    parts[0::3] = chain.from_iterable(prefixes)
    parts[1::3] = bytes(map(len, values)).decode(_LATIN1)  # a length above 255: ValueError
    parts[2::3] = values
    return "".join(parts)


def _batch_lines(events):
    parts = [None] * (2 * len(events))
    parts[0::2] = bytes(map(len, events)).decode(_LATIN1)
    parts[1::2] = events
    return "".join(parts)


_BATCH = {LINES: _batch_lines, RECORDS: _batch_records}


def batch_encoder(kind):
    """``encode_batch(events) -> bytes | None``: the encoding of a whole list of ``kind``
    events, or ``None`` when the batch is not in the fast path's reach (then encode each
    event with ``encoder(kind)``). ``None`` for a kind without a batch path."""
    batch = _BATCH.get(kind)
    if batch is None:
        return None

    def encode_batch(events):
        # The bytes are exactly the per-event encoding when every length character is one
        # ASCII byte (a length below 128, so a one-byte varint) and every text ASCII: one
        # isascii() over the result checks both. A non-str value fails len() or join().
        try:
            text = batch(events)
        except (IndexError, TypeError, ValueError, AttributeError):
            return None
        return text.encode() if text.isascii() else None

    return encode_batch


def _encode_xml(buf, event):
    what, value = event
    if what == "start":
        name, attrs = value
        buf.append(0)
        _put(buf, name)
        buf += varint(len(attrs))
        for k, v in attrs.items():
            _put(buf, k)
            _put(buf, v)
    elif what == "text":
        buf.append(1)
        _put(buf, value)
    elif what == "end":
        buf.append(2)
        _put(buf, value)
    else:
        raise ValueError("unknown xml event %r (expected 'start', 'text' or 'end')" % (what,))


_ENCODERS = {LINES: _encode_line, XML: _encode_xml, RECORDS: _encode_record}
_SHAPES = {
    LINES: "a line is a str",
    XML: "an xml event is ('start', (name, attrs)), ('text', text) or ('end', name)",
    RECORDS: "a record is a dict of str to str",
}


def encoder(kind):
    """``encode(buf, event)``: appends the encoding of one ``kind`` event to a bytearray.
    Raises ``TypeError``, ``ValueError`` or ``AttributeError`` on an event that is not of
    the kind's shape (``encode_error`` words it), maybe after appending part of it."""
    return _ENCODERS[kind]


def encode_error(kind, event, error):
    """The one-line error for an event ``encoder(kind)`` could not encode."""
    return errors.CopipeError(
        "cannot encode event %s: %s (%s)" % (_short_repr(event), _SHAPES[kind], error)
    )


def _short_repr(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------- decoding


class _Fault(Exception):
    """A fault inside a frame, worded as shared/link/codec.rs words it."""


class _Cursor:
    """The careful decoder: every read checked, every fault named."""

    def __init__(self, payload):
        self.p = payload
        self.i = 0

    def take(self, n):
        left = len(self.p) - self.i
        if n > left:
            raise _Fault(
                "an event runs past the end of its frame (%d more bytes needed)" % (n - left)
            )
        out = self.p[self.i : self.i + n]
        self.i += n
        return out

    # What a varint is read as, which bincode names in its errors.
    VARIANT, LENGTH, COUNT = "U32", "U64", "Usize"

    def varint(self, what):
        """A varint read as ``what``: a variant index (``VARIANT``: 32 bits), a string's
        length (``LENGTH``) or a sequence's length (``COUNT``), both up to 64 bits."""
        room = len(self.p) - self.i
        b = self.take(1)[0]
        if b < U16:
            return b
        if b == U16:
            return int.from_bytes(self.take(2), "little")
        if b == U32:
            return int.from_bytes(self.take(4), "little")
        if b == U64 and what != self.VARIANT:
            return int.from_bytes(self.take(8), "little")
        # bincode 2.0.1's words, quirks included: a string's length is decoded as a u64,
        # whose fast path (9 bytes or more left) names the expected type U32 and whose slow
        # path U64; a sequence's length is always named Usize, a variant index U32.
        expected = "U32" if what == self.LENGTH and room >= 9 else what
        found = {U64: "U64", U128: "U128"}.get(b, "Reserved")
        raise _Fault("InvalidIntegerType { expected: %s, found: %s }" % (expected, found))

    def text(self):
        raw = self.take(self.varint(self.LENGTH))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _Fault(
                "text is not valid UTF-8 (bad byte %d bytes into a string)" % e.start
            ) from None

    def pairs(self):
        out = {}
        for _ in range(self.varint(self.COUNT)):
            name = self.text()
            out[name] = self.text()
        return out


def _careful_line(c):
    return c.text()


def _careful_record(c):
    return c.pairs()


def _careful_xml(c):
    variant = c.varint(c.VARIANT)
    if variant == 0:
        name = c.text()
        return ("start", (name, c.pairs()))
    if variant == 1:
        return ("text", c.text())
    if variant == 2:
        return ("end", c.text())
    # What bincode's serde path says (shared/link/codec.rs passes it through).
    raise _Fault(
        "unknown event variant %d" % variant
    )


_CAREFUL = {LINES: _careful_line, XML: _careful_xml, RECORDS: _careful_record}


def decode_careful(kind, payload, count):
    """Decodes ``count`` events; returns ``(events, fault)``, ``fault`` being ``None`` or the
    message for the first thing wrong (the events are those before it)."""
    one = _CAREFUL[kind]
    c = _Cursor(payload)
    out = []
    try:
        for _ in range(count):
            out.append(one(c))
    except _Fault as f:
        return out, str(f)
    left = len(payload) - c.i
    if left:
        return out, "%d bytes left over after the frame's events" % left
    return out, None


def _long(p, i):
    """A varint at ``p[i]`` of 251 or more: ``(value, index after it)``."""
    b = p[i]
    if b == U16:
        return int.from_bytes(p[i + 1 : i + 3], "little"), i + 3
    if b == U32:
        return int.from_bytes(p[i + 1 : i + 5], "little"), i + 5
    if b == U64:
        return int.from_bytes(p[i + 1 : i + 9], "little"), i + 9
    raise ValueError("varint")


def _fast_lines(p, count, _shapes):
    out = []
    add = out.append
    i = 0
    if p.isascii():
        t = p.decode("ascii")
        for _ in range(count):
            j = i + 1 + p[i]
            add(t[i + 1 : j])
            i = j
        return out, i
    for _ in range(count):
        n = p[i]
        if n < U16:
            i += 1
        else:
            n, i = _long(p, i)
        j = i + n
        add(p[i:j].decode())
        i = j
    return out, i


def _fast_records(p, count, shapes):
    if p.isascii():
        return _ascii_records(p, count, shapes)
    out = []
    c = _Cursor(p)
    for _ in range(count):
        out.append(c.pairs())
    return out, c.i


_USUAL = None  # the key in ``shapes`` of the shape that took most of the last frame


def _ascii_records(p, count, shapes):
    """Every string ASCII: the frame is decoded to one ``str`` once and split, in C, by the
    pattern of its first record's names (``_Shape``): one ``re.split`` returns the value
    and length character of every record of that shape in one flat list, with the text
    between matches (records of other shapes) as gaps. One comparison for the whole frame
    checks every length character against its value (a match is taken only if every run
    is exactly the value its length says: then it is what the careful decoder reads); the
    records are made by the shape's own constructor, mapped over the values in C. Gaps,
    rare in a stream whose records share their names, are decoded record by record
    (``_ascii_gap``). Raises ``ValueError`` or ``IndexError`` on anything off (the careful
    decoder then names it)."""
    t = p.decode("ascii")
    if not t:
        return [], 0
    # The shape that took most of the last frame, else the first record's: a frame that
    # starts with one of the stream's rarer records is still split by the usual pattern.
    shape = shapes.get(_USUAL) or shapes.get(t[0])
    if shape is None:  # a stream's first record, or a count not seen yet: learn its shape
        _ascii_record(t, 0, shapes)
        shape = shapes.get(t[0])
        if shape is None:  # a record no pattern can take: record by record
            return _ascii_gap(t, shapes, None), len(t)
    width = 2 * shape.k + 1
    pieces = shape.pattern.split(t)
    gaps = pieces[0::width]
    del pieces[0::width]  # now length character, value, length character, value, ...
    values = pieces[1::2]
    # The lengths say whether each run is exactly its value. One that is not holds a
    # control character, or the stream is damaged: then record by record.
    if "".join(pieces[0::2]) != bytes(map(len, values)).decode(_LATIN1):
        return _ascii_gap(t, shapes, None), len(t)
    records = list(map(shape.make, *[iter(values)] * shape.k))
    if 2 * len(records) >= count:
        shapes[_USUAL] = shape
    else:
        shapes.pop(_USUAL, None)
    if any(gaps):
        records = _with_gaps(records, gaps, shapes, shape)
    return records, len(t)


def _with_gaps(records, gaps, shapes, shape):
    """``records`` with the records of each nonempty gap decoded and put in their place
    (``gaps[i]`` comes before ``records[i]``)."""
    out = []
    at = 0
    for i in compress(range(len(gaps)), gaps):
        out += records[at:i]
        out += _ascii_gap(gaps[i], shapes, shape)
        at = i
    out += records[at:]
    return out


def _ascii_gap(g, shapes, split_by):
    """The records of ``g`` (ASCII text holding whole records), one by one: each matched by
    the pattern of its count's shape, else decoded field by field (learning its shape).
    ``split_by``, the shape ``g`` was split out by, matches nowhere in ``g``."""
    out = []
    i = 0
    end = len(g)
    while i < end:
        shape = shapes.get(g[i])
        found = shape.pattern.match(g, i) if shape and shape is not split_by else None
        if found:
            lengths_and_values = found.groups()
            values = lengths_and_values[1::2]
            if "".join(lengths_and_values[0::2]) == bytes(map(len, values)).decode(_LATIN1):
                out.append(shape.make(*values))
                i = found.end()
                continue
        # No pattern, or a value its pattern does not take whole: field by field.
        record, i = _ascii_record(g, i, shapes)
        out.append(record)
    if i != end:
        raise ValueError("a record runs past its frame")
    return out


def _ascii_record(t, i, shapes):
    """Decodes the record at ``t[i]`` field by field; learns its shape. Returns the record
    and where the next one starts."""
    d = {}
    nf = ord(t[i])
    start = i
    i += 1
    for _ in range(nf):
        j = i + 1 + ord(t[i])
        k = j + 1 + ord(t[j])
        if k > len(t):
            raise ValueError("a record runs past its frame")
        d[t[i + 1 : j]] = t[j + 1 : k]
        i = k
    if len(d) == nf and _Shape.fits(d):
        if len(shapes) > 64:
            shapes.clear()
        shapes[t[start]] = _Shape.of(tuple(d))
    return d, i


# A value's length character and its printable run. The run never gives back a character (a
# control character ends it, and what follows in the pattern starts with one), so where `*+`
# is known (Python 3.11) it is possessive: the matcher keeps no state to back off with
# (2.9% fewer instructions decoding the bus records).
_FIELD = "(.)([ -~]*+)" if sys.version_info >= (3, 11) else "(.)([ -~]*)"


class _Shape:
    """What the fast decoder knows about records with these names: the pattern of such a
    record (its field count, then per field the name's length and the name, and a group
    for the value's length and one for the value, a run checked against that length; see
    ``_pattern``) and a function that makes the record from its values (a dict display, which
    CPython builds at its final size, unlike ``dict(zip(...))``)."""

    __slots__ = ("names", "k", "pattern", "make")
    _known = {}

    @staticmethod
    def fits(record):
        """Only records of 1 to 31 fields with names of 1 to 31 characters get a pattern:
        then every count and name length is a control character, which no value run
        crosses, so a pattern matches in one pass with no backtracking, in linear time."""
        return 0 < len(record) < 32 and all(0 < len(n) < 32 for n in record)

    @classmethod
    def of(cls, names):
        shape = cls._known.get(names)
        if shape is None:
            if len(cls._known) > 256:
                cls._known.clear()
            shape = cls._known[names] = cls(names)
        return shape

    @staticmethod
    def _pattern(names):
        """Each value is a printable run: one that holds a control character ends early and
        fails the check of its length. (A run up to the next name's length character alone
        would be 4% cheaper, but could cross record boundaries: quadratic on a hostile frame.
        A printable run stops at every count and name length, so matching stays linear.)"""
        fields = "".join(re.escape(chr(len(n)) + n) + _FIELD for n in names)
        return re.escape(chr(len(names))) + fields

    def __init__(self, names):
        self.names = names
        self.k = len(names)
        self.pattern = re.compile(self._pattern(names), re.DOTALL)
        args = ", ".join("v%d" % n for n in range(self.k))
        display = ", ".join("%r: v%d" % (name, n) for n, name in enumerate(names))
        self.make = eval("lambda %s: {%s}" % (args, display))  # noqa: S307 (names by repr)


def _fast_xml(p, count, _shapes):
    c = _Cursor(p)
    out = [_careful_xml(c) for _ in range(count)]
    return out, c.i


_FAST = {LINES: _fast_lines, XML: _fast_xml, RECORDS: _fast_records}


def decoder(kind):
    """``decode(payload, count) -> (events, fault)``: the events of one frame's payload, and
    ``None`` or the message for what is wrong with it (then the events are those before the
    fault, which a reader still delivers)."""
    fast = _FAST[kind]
    shapes = {}  # what _ascii_records learns about this stream's records

    def decode(payload, count):
        try:
            events, end = fast(payload, count, shapes)
            if end == len(payload) and len(events) == count:
                return events, None
        except (IndexError, ValueError, UnicodeDecodeError, _Fault):
            pass
        return decode_careful(kind, payload, count)

    return decode
