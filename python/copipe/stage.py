"""``stage(...)``: a Python script becomes a stage like the Rust ones.

It answers ``--describe`` (so the launcher type-checks the script's links), parses the
script's arguments (``--help``, ``--version``, exit status 2 on a usage error), wires the
coroutine the script builds between standard input and standard output, and turns the
outcome into an exit status and at most one line on stderr, as shared/run.rs does:

* success, or a downstream that closed early (a broken pipe): exit 0, quietly;
* a bad stream, a failed write, an exception in the script: ``NAME: error: ...``, exit 1,
  after delivering what the stage produced before it (its output is flushed, but not
  closed: no end-of-stream marker, so the next stage reports a failed upstream);
* frames to a terminal: ``NAME: error: ...``, exit 2.

Under the launcher (``COPIPE_STATS_FILE`` set) the stage leaves its link counters at exit.
"""

import argparse
import json
import os
import signal
import stat
import sys
import traceback

from . import __version__, errors, kinds
from .threaded import close_all, drain_all
from .coroutine import _open_writers, io_lock, recvfrom, sendto, stop_on_interrupt
from .wire import DEFAULT_MAX_FRAME, FrameReader

STATS_FILE_ENV = "COPIPE_STATS_FILE"
_FRAMES = (kinds.LINES, kinds.XML, kinds.RECORDS, kinds.ANY)


def stage(build, input, output, args=(), name=None, description=None, argv=None):
    """Runs a stage script and exits.

    ``build`` makes the stage's coroutine from the script's arguments, in the seed's order:
    ``build(*args, target)`` when the stage writes frames, ``build(*args)`` when it writes
    text (a sink such as ``printer``). ``input`` and ``output`` are ports: ``'lines'``,
    ``'xml'``, ``'records'``, ``'any'`` (frames of the input's kind), ``'text'`` or ``'none'``.
    ``args`` names the positional arguments (``[('pattern', 'help text'), ...]`` or plain
    names), or is a function that adds arguments to an ``argparse`` parser and returns the
    list of attribute names to pass to ``build``.
    """
    name = name or os.path.basename(sys.argv[0] if argv is None else argv[0])
    argv = sys.argv[1:] if argv is None else argv[1:]
    _check_ports(input, output)
    if argv == ["--describe"]:
        info = {"name": name, "input": input, "output": output}
        print(json.dumps(info, separators=(",", ":")))
        sys.exit(0)
    main_doc = getattr(sys.modules.get("__main__"), "__doc__", None)
    description = description or build.__doc__ or main_doc
    options, values = _parse(name, description, args, input, output, argv)
    links = []
    try:
        code = _run(name, build, values, input, output, options, links)
    except BaseException as e:  # one line for everything, as the Rust stages do
        code = _report(name, e)
    _write_stats(links)
    _exit(code)


def _check_ports(input, output):
    for port in (input, output):
        if port not in kinds.PORTS:
            raise ValueError("unknown port %r: one of %s" % (port, ", ".join(kinds.PORTS)))


def _parse(name, description, args, input, output, argv):
    """Parses the script's arguments (argparse: exits 2 on a usage error)."""
    parser = argparse.ArgumentParser(prog=name, description=_first_line(description))
    if callable(args):
        names = args(parser)
    else:
        names = []
        for arg in args:
            arg_name, arg_help = (arg, None) if isinstance(arg, str) else arg
            parser.add_argument(arg_name, help=arg_help)
            names.append(arg_name)
    if input in _FRAMES:
        parser.add_argument("--input", metavar="PATH", help="read frames from PATH")
        parser.add_argument(
            "--max-frame",
            metavar="BYTES",
            type=int,
            default=DEFAULT_MAX_FRAME,
            help="largest frame accepted, in bytes (default: %(default)s)",
        )
    elif input == kinds.TEXT:
        parser.add_argument("--input", metavar="PATH", help="read text from PATH")
    if output != kinds.NONE:
        what = "frames" if output in _FRAMES else "text"
        parser.add_argument("--output", metavar="PATH", help="write %s to PATH" % what)
    parser.add_argument("--version", action="version", version="%s %s" % (name, __version__))
    options = parser.parse_args(argv)
    return options, [getattr(options, n) for n in names]


def _first_line(doc):
    return doc.strip().splitlines()[0] if doc and doc.strip() else None


def _run(name, build, values, input, output, options, links):
    """Opens the links, builds the coroutine, runs it; returns the exit status."""
    unraised = _catch_unraisable()
    reader = None
    if input in _FRAMES:
        fd, label = _open_input(getattr(options, "input", None))
        _signal_manners(fd)
        reader = FrameReader(fd, label, options.max_frame)
        links.append(("input", reader))
    if output in _FRAMES:
        kind = reader.kind if output == kinds.ANY else output
        fd, label = _open_output(getattr(options, "output", None))
        target = sendto(fd, kind, label)
        links.append(("output", _open_writers[-1]))
        pipeline = build(*values, target)
    else:
        if output == kinds.TEXT:
            _text_output(getattr(options, "output", None))
        pipeline = build(*values)
    if reader is not None:
        expected = None if input == kinds.ANY else input
        recvfrom(reader, pipeline, expected, name)
    elif pipeline is not None:
        pipeline.close()
    close_all()
    if unraised:
        raise unraised[0]
    sys.stdout.flush()
    return 0


def _catch_unraisable():
    """The seed's coroutines do not close their targets: closing one lets the garbage
    collector finalise the next, which closes it (so ``sendto`` still writes its end marker).
    An exception raised there (a ``threaded`` target's failure, a write that fails) would be
    printed as "Exception ignored" and lost; kept instead, it is raised once the input has
    ended, and reported on one line like any other. Returns the list they are kept in."""
    unraised = []

    def keep(unraisable):
        if unraisable.exc_value is not None:
            unraised.append(unraisable.exc_value)

    sys.unraisablehook = keep
    return unraised


def _text_output(path):
    """Text goes out as UTF-8 with ``\n`` line ends whatever the locale, as the Rust stages
    write it, buffered (the driver flushes when it is about to wait for input)."""
    if path not in (None, "-"):
        sys.stdout = open(path, "w", encoding="utf-8", newline="\n")
    else:
        sys.stdout.reconfigure(encoding="utf-8", newline="\n", line_buffering=False)


def _open_input(path):
    if path in (None, "-"):
        return 0, "standard input"
    try:
        return os.open(path, os.O_RDONLY), path
    except OSError as e:
        raise errors.io_error("opening input %s" % path, e) from None


def _open_output(path):
    if path in (None, "-"):
        if os.isatty(1):
            raise errors.UsageError(
                "refusing to write binary frames to a terminal; "
                "pipe into co-printer or co-dump, or use --output PATH"
            )
        return 1, "standard output"
    flags = os.O_WRONLY
    try:
        if not stat.S_ISFIFO(os.stat(path).st_mode):
            flags |= os.O_CREAT | os.O_TRUNC
    except FileNotFoundError:
        flags |= os.O_CREAT | os.O_TRUNC
    try:
        return os.open(path, flags, 0o666), path
    except OSError as e:
        raise errors.io_error("opening output %s" % path, e) from None


def _signal_manners(fd):
    """Fed by a pipe, a stage ignores SIGINT (its upstream decides when the stream ends);
    reading a file, it is a source and stops cleanly on SIGINT (shared/args.rs)."""
    mode = os.fstat(fd).st_mode
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        stop_on_interrupt()


def _report(name, e):
    """Prints the one line an exception calls for; returns the exit status."""
    if isinstance(e, SystemExit):
        return e.code if isinstance(e.code, int) else 1
    if isinstance(e, BrokenPipeError):
        with io_lock:
            for writer in _open_writers:
                writer.abandon()
        return 0
    try:
        drain_all()  # what threaded stages had queued reaches the writers too
    except BaseException:
        pass
    with io_lock:
        for writer in list(_open_writers):
            try:
                writer.flush(skip_bad=True)  # deliver what was produced before the failure,
            except BaseException:
                pass
            writer.abandon()  # but no end-of-stream marker: the next stage reports the failure
    if isinstance(e, errors.CopipeError):
        message, code = str(e), e.exit_code
    elif isinstance(e, KeyboardInterrupt):
        return 130
    else:
        message, code = _describe_exception(e), 1
        if os.environ.get("COPIPE_TRACEBACK"):
            traceback.print_exc()
    sys.stderr.write("%s: error: %s\n" % (name, message))
    sys.stderr.flush()
    return code


def _describe_exception(e):
    """``KeyError: 'route' (bus_locations.py line 12, in bus_locations)``: a bug in a script,
    on one line, with where it happened."""
    text = "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__
    frames = traceback.extract_tb(e.__traceback__)
    if frames:
        last = frames[-1]
        text += " (%s line %d, in %s)" % (os.path.basename(last.filename), last.lineno, last.name)
    return text.replace("\n", " ")


def _write_stats(links):
    """Leaves the link counters where the launcher reads them (shared/protocol.rs LinkStats)."""
    path = os.environ.get(STATS_FILE_ENV)
    if not path:
        return
    stats = [
        {"direction": d, "label": link.label, "events": link.events, "bytes": link.bytes}
        for d, link in links
    ]
    try:
        with open(path, "w") as f:
            json.dump(stats, f)
    except OSError:
        pass


def _exit(code):
    """Exits at once: nothing is left to flush (the links were flushed or closed above), and
    Python's own clean-up would only try again to write to a pipe that may be closed."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(code)
