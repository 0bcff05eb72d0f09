#!/usr/bin/env python3
"""cothread: the seed's threaded example as a stage (its filters and printer in a thread).

XML events in, the locations of the northbound route 22 buses out, the two filters and the
printer running in a thread of their own (buses_to_dicts -> threaded(filter_on_field ->
filter_on_field -> bus_locations))."""

import find_copipe  # noqa: F401  (the package, installed or from this repository)
from copipe import TEXT, XML, stage, threaded

from buses_to_dicts import buses_to_dicts
from bus_locations import bus_locations
from filter_on_field import filter_on_field


def hook_up():
    # hooking things up
    return buses_to_dicts(
           threaded(
                filter_on_field("route","22",
                filter_on_field("direction","North Bound",
                bus_locations()))
           ))


if __name__ == '__main__':
    stage(hook_up, input=XML, output=TEXT)
