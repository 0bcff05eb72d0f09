"""copipe links from Python: the course's coroutines as stages of a copipe graph.

    from copipe import coroutine, stage, RECORDS

    @coroutine
    def filter_on_field(fieldname, value, target):
        while True:
            d = (yield)
            if d.get(fieldname) == value:
                target.send(d)

    if __name__ == '__main__':
        stage(filter_on_field, input=RECORDS, output=RECORDS, args=['fieldname', 'value'])

Standard library only; the byte format is in docs/wire-format.md.
"""

__version__ = "0.1.0"

from .errors import CopipeError, UsageError  # noqa: E402
from .kinds import ANY, LINES, NONE, RECORDS, TEXT, XML  # noqa: E402
from .wire import FrameReader, FrameWriter  # noqa: E402
from .coroutine import broadcast, coroutine, recvfrom, sendto  # noqa: E402
from .threaded import threaded  # noqa: E402
from .stage import stage  # noqa: E402

__all__ = [
    "ANY",
    "LINES",
    "NONE",
    "RECORDS",
    "TEXT",
    "XML",
    "CopipeError",
    "FrameReader",
    "FrameWriter",
    "UsageError",
    "broadcast",
    "coroutine",
    "recvfrom",
    "sendto",
    "stage",
    "threaded",
]
