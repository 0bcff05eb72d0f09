"""The test vectors (tests/vectors/ at the top of the repository) in Python terms."""

import json
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VECTORS = os.path.join(ROOT, "tests", "vectors")


def event_from_json(kind, v):
    """The vectors' JSON form to the package's events (see tests/vectors.rs)."""
    if kind == "lines":
        return v
    if kind == "records":
        return {name: value for name, value in v}
    if v[0] == "start":
        return ("start", (v[1], {name: value for name, value in v[2]}))
    return (v[0], v[1])


def good():
    """``(name, kind, frames of events, stream bytes)`` for every vector."""
    out = []
    for file in sorted(os.listdir(VECTORS)):
        if not file.endswith(".json") or file == "bad.json":
            continue
        name = file[: -len(".json")]
        with open(os.path.join(VECTORS, file), encoding="utf-8") as f:
            spec = json.load(f)
        kind = spec["kind"]
        frames = [[event_from_json(kind, e) for e in frame] for frame in spec["frames"]]
        with open(os.path.join(VECTORS, name + ".bin"), "rb") as f:
            out.append((name, kind, frames, f.read()))
    return out


def bad():
    """The cases of bad.json, with ``bytes`` decoded from their hex."""
    with open(os.path.join(VECTORS, "bad.json"), encoding="utf-8") as f:
        cases = json.load(f)
    for case in cases:
        case["bytes"] = bytes.fromhex(case["hex"])
    return cases
