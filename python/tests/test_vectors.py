"""The Python reader and writer against the shared test vectors (tests/vectors/)."""

import io
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from copipe import CopipeError, FrameReader, FrameWriter  # noqa: E402
from copipe import codec  # noqa: E402
import vectors  # noqa: E402

KIND_OF_TAG = {1: "lines", 2: "xml", 3: "records"}


class GoodVectors(unittest.TestCase):
    def test_there_are_vectors_of_every_kind(self):
        kinds = {kind for _, kind, _, _ in vectors.good()}
        self.assertEqual(kinds, {"lines", "xml", "records"})

    def test_writer_writes_each_vector_byte_for_byte(self):
        for name, kind, frames, stream in vectors.good():
            with self.subTest(name):
                out = io.BytesIO()
                w = FrameWriter(out, kind)
                for frame in frames:
                    for event in frame:
                        w.write(event)
                    w.flush()
                w.close()
                self.assertEqual(out.getvalue(), stream)

    def test_reader_reads_each_vector_frame_by_frame(self):
        for name, kind, frames, stream in vectors.good():
            with self.subTest(name):
                r = FrameReader(io.BytesIO(stream))
                self.assertEqual(r.kind, kind)
                decode = codec.decoder(kind)
                got = []
                while True:
                    frame = r.next_frame()
                    if frame is None:
                        break
                    events, fault = decode(frame[2], frame[1])
                    self.assertIsNone(fault)
                    got.append(events)
                self.assertEqual(got, frames)
                self.assertEqual(r.offset, len(stream))

    def test_careful_and_fast_decoders_agree(self):
        for name, kind, frames, stream in vectors.good():
            with self.subTest(name):
                r = FrameReader(io.BytesIO(stream))
                for frame in iter(r.next_frame, None):
                    events, fault = codec.decode_careful(kind, frame[2], frame[1])
                    self.assertIsNone(fault)
                    self.assertEqual(events, codec.decoder(kind)(frame[2], frame[1])[0])


class BadVectors(unittest.TestCase):
    def test_each_bad_stream_fails_with_the_rust_message(self):
        cases = vectors.bad()
        self.assertGreaterEqual(len(cases), 20)
        for case in cases:
            with self.subTest(case["name"]):
                got = []
                with self.assertRaises(CopipeError) as caught:
                    r = FrameReader(io.BytesIO(case["bytes"]))
                    for event in r:
                        got.append(event)
                self.assertEqual(str(caught.exception), case["error"])
                tag = case["bytes"][6] if len(case["bytes"]) > 6 else 1
                kind = KIND_OF_TAG.get(tag, "lines")
                expected = [vectors.event_from_json(kind, e) for e in case["delivered"]]
                self.assertEqual(got, expected, "events delivered before the fault")


if __name__ == "__main__":
    unittest.main()
