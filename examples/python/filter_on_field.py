#!/usr/bin/env python3
"""filter_on_field: pass on the records whose FIELDNAME is VALUE (the seed's filter)."""

import find_copipe  # noqa: F401  (the package, installed or from this repository)
from copipe import RECORDS, coroutine, stage


@coroutine
def filter_on_field(fieldname,value,target):
    while True:
        d = (yield)
        if d.get(fieldname) == value:
            target.send(d)


if __name__ == '__main__':
    stage(filter_on_field, input=RECORDS, output=RECORDS,
          args=[('fieldname', 'the field to test'), ('value', 'the value to keep')])
