"""Stage scripts as processes: --describe, usage errors, bad streams, a crash, a closed pipe.
Streams are made and read with the package itself (the Rust side is tested in
tests/python_stages.rs)."""

import io
import json
import os
import select
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from copipe import CopipeError, FrameReader, FrameWriter  # noqa: E402
import vectors  # noqa: E402

EXAMPLES = os.path.join(vectors.ROOT, "examples", "python")
PASSTHROUGH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "passthrough.py")
TIMEOUT = 60


def script(name):
    return os.path.join(EXAMPLES, name + ".py")


def run(argv, data=b""):
    return subprocess.run(
        [sys.executable] + argv, input=data, capture_output=True, timeout=TIMEOUT
    )


def stream(kind, events, close=True):
    out = io.BytesIO()
    w = FrameWriter(out, kind)
    for e in events:
        w.write(e)
    w.close() if close else w.flush()
    return out.getvalue()


class Describe(unittest.TestCase):
    def test_each_example_describes_its_ports(self):
        expected = {
            "grep": ("lines", "lines"),
            "buses_to_dicts": ("xml", "records"),
            "filter_on_field": ("records", "records"),
            "bus_locations": ("records", "text"),
            "printer": ("any", "text"),
            "cothread": ("xml", "text"),
            "cobroadcast": ("lines", "text"),
        }
        for name, (inp, out) in expected.items():
            with self.subTest(name):
                r = run([script(name), "--describe"])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(
                    json.loads(r.stdout),
                    {"name": name + ".py", "input": inp, "output": out},
                )

    def test_help_and_version(self):
        r = run([script("grep"), "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"pattern", r.stdout)
        r = run([script("grep"), "--version"])
        self.assertEqual((r.returncode, r.stdout), (0, b"grep.py 0.1.0\n"))
        r = run([script("cobroadcast"), "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"PATTERN", r.stdout)
        for name in ("cothread", "cobroadcast"):
            r = run([script(name), "--version"])
            self.assertEqual((r.returncode, r.stdout), (0, b"%s.py 0.1.0\n" % name.encode()))

    def test_a_missing_argument_is_a_usage_error(self):
        r = run([script("filter_on_field"), "route"])
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"filter_on_field.py: error:", r.stderr)


class Streams(unittest.TestCase):
    def test_filter_on_field_filters(self):
        records = [{"route": "22", "id": "1"}, {"route": "8", "id": "2"}, {"id": "3"}]
        r = run([script("filter_on_field"), "route", "22"], stream("records", records))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(list(FrameReader(io.BytesIO(r.stdout))), records[:1])

    def test_each_bad_stream_gives_the_rust_message_on_one_line(self):
        for case in vectors.bad():
            with self.subTest(case["name"]):
                r = run([script("printer")], case["bytes"])
                self.assertEqual(r.returncode, 1)
                self.assertEqual(
                    r.stderr.decode(), "printer.py: error: %s\n" % case["error"]
                )
                self.assertEqual(len(r.stdout.splitlines()), len(case["delivered"]))

    def test_wrong_kind_names_both(self):
        r = run([script("grep"), "x"], stream("xml", [("end", "bus")]))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, b"grep.py: error: grep.py expects line events, got XML events\n")

    def test_a_crash_delivers_what_came_before_and_no_end_marker(self):
        data = stream("lines", ["a", "b", "c", "d"])
        r = run([PASSTHROUGH, "--fail-after", "2"], data)
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(
            lines[0].startswith(
                "passthrough.py: error: RuntimeError: failing on purpose after 2 events"
            ),
            lines,
        )
        got = []
        with self.assertRaises(CopipeError) as caught:
            for e in FrameReader(io.BytesIO(r.stdout)):
                got.append(e)
        self.assertEqual(got, ["a", "b"])
        self.assertIn("without an end-of-stream marker", str(caught.exception))

    def test_a_downstream_that_exits_early_ends_the_stage_quietly(self):
        data = stream("lines", ["line %d" % i for i in range(200000)])
        p = subprocess.Popen(
            [sys.executable, script("printer")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        feeder = threading.Thread(target=self._feed, args=(p.stdin, data))
        feeder.start()
        try:
            self.assertTrue(p.stdout.readline().startswith(b"line 0"))
            p.stdout.close()  # as `| head -1` does
            err = p.stderr.read()
            self.assertEqual((p.wait(timeout=TIMEOUT), err), (0, b""))
        finally:
            p.kill()
            p.wait()
            feeder.join()
            p.stderr.close()

    @staticmethod
    def _feed(pipe, data):
        try:
            pipe.write(data)
        except BrokenPipeError:
            pass
        try:
            pipe.close()
        except BrokenPipeError:
            pass

    def test_events_pass_while_the_input_stays_open(self):
        # A live pipeline: the stage flushes whenever its next read would wait.
        for argv in ([PASSTHROUGH], [script("printer")]):
            with self.subTest(argv[0]):
                p = subprocess.Popen(
                    [sys.executable] + argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    p.stdin.write(stream("lines", ["live event"], close=False))
                    p.stdin.flush()
                    ready, _, _ = select.select([p.stdout], [], [], TIMEOUT)
                    self.assertTrue(ready, "nothing arrived while the input stayed open")
                    self.assertIn(b"live event", os.read(p.stdout.fileno(), 4096))
                finally:
                    p.kill()
                    p.wait()
                    p.stdin.close()
                    p.stdout.close()

    def test_stats_file(self):
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".stats-test.json")
        try:
            env = dict(os.environ, COPIPE_STATS_FILE=path)
            data = stream("lines", ["a", "b"])
            r = subprocess.run(
                [sys.executable, PASSTHROUGH], input=data, capture_output=True, env=env,
                timeout=TIMEOUT,
            )
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(path) as f:
                stats = json.load(f)
            frame = len(data) - 20  # one frame: all but the header (8) and the end marker (12)
            self.assertEqual(
                stats,
                [
                    {"direction": "input", "label": "standard input", "events": 2, "bytes": frame},
                    {"direction": "output", "label": "standard output", "events": 2, "bytes": frame},
                ],
            )
        finally:
            if os.path.exists(path):
                os.remove(path)


if __name__ == "__main__":
    unittest.main()
