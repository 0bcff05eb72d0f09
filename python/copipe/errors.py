"""Errors, worded exactly as the Rust stages word them (shared/error.rs).

A stage prints one of these on one line after ``NAME: error: ``; the tests compare the text
with what the Rust stages print for the same bad stream, so keep the wording in step.
"""


class CopipeError(Exception):
    """Anything wrong with a link or a stage: exit status 1."""

    exit_code = 1


class UsageError(CopipeError):
    """Wrong use of a command (a terminal as frame output, say): exit status 2."""

    exit_code = 2


def empty_input():
    return CopipeError(
        "input is empty: no copipe stream header (did the upstream stage fail to start?)"
    )


def not_copipe(head):
    return CopipeError(
        'input is not a copipe stream (it starts with "%s"); '
        "convert text to line events with co-lines first" % escape_ascii(head)
    )


def version(found, supported):
    return CopipeError(
        "unsupported copipe stream version %d (this build reads version %d)" % (found, supported)
    )


def unknown_kind(found):
    return CopipeError("unknown event kind %d in the stream header at byte 6" % found)


def wrong_kind(stage, expected, found):
    from .kinds import display

    return CopipeError("%s expects %s, got %s" % (stage, display(expected), display(found)))


def truncated(offset):
    return CopipeError(
        "truncated frame at byte %d: the input ended mid-frame "
        "(the upstream stage died while writing)" % offset
    )


def frame_too_large(offset, length, limit):
    return CopipeError(
        "frame at byte %d claims %d bytes, over the limit of %d bytes "
        "(raise it with --max-frame if the stream is genuine)" % (offset, length, limit)
    )


def event_too_large(length, limit):
    return CopipeError("an event of %d bytes is over the frame limit of %d bytes" % (length, limit))


def reserved(offset, found):
    return CopipeError(
        "reserved header byte at byte %d is %d, not 0 (a stream from a newer copipe?)"
        % (offset, found)
    )


def after_end(offset, head):
    return CopipeError(
        "unexpected bytes after the end-of-stream marker at byte %d (they start with %s); "
        "only another stream of the same kind may follow" % (offset, '"%s"' % escape_ascii(head))
    )


def appended_kind(offset, expected, found):
    from .kinds import display

    return CopipeError(
        "a stream of %s follows the end of the stream of %s at byte %d; "
        "concatenated streams must carry one kind" % (display(found), display(expected), offset)
    )


def checksum(offset, expected, found):
    return CopipeError(
        "corrupt frame at byte %d: checksum 0x%08x does not match 0x%08x in its header "
        "(the stream was damaged in storage or transit)" % (offset, found, expected)
    )


def undecodable(offset, message):
    return CopipeError("undecodable frame at byte %d: %s" % (offset, message))


def missing_end(offset):
    return CopipeError(
        "input ended at byte %d without an end-of-stream marker: "
        "the upstream stage failed or was killed" % offset
    )


def io_error(context, err):
    """``reading standard input: Broken pipe (os error 32)``, as Rust's io::Error prints."""
    if err.errno is not None and err.strerror:
        return CopipeError("%s: %s (os error %d)" % (context, err.strerror, err.errno))
    return CopipeError("%s: %s" % (context, err))


def escape_ascii(data):
    """Rust's ``<[u8]>::escape_ascii``: how a bad header is quoted in the message."""
    out = []
    for b in data:
        if b == 0x09:
            out.append("\\t")
        elif b == 0x0A:
            out.append("\\n")
        elif b == 0x0D:
            out.append("\\r")
        elif b in (0x22, 0x27, 0x5C):
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return "".join(out)
