//! Every way a stream can be wrong gets its own one-line error, exit status 1, no panic.
//! Run through the real co-grep and co-printer binaries.

use crate::common::{cmd, lines_stream, run_with_input};
use copipe::link::frame::{frame_header, FrameWriter, FRAME_HEADER_LEN, MAGIC, VERSION};
use copipe::EventKind;

/// Runs `stage` on `input`; asserts exit 1 and exactly one stderr line naming the stage, and
/// returns that line.
fn fails(stage: &str, args: &[&str], input: &[u8]) -> String {
    let out = run_with_input(cmd(stage, args), input);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stage} status; stderr: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with(&format!("{stage}: error: ")), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Nothing was produced before the error: at most the stream header was delivered.
    let header_only = out.stdout.len() == 8 && out.stdout.starts_with(&MAGIC);
    assert!(out.stdout.is_empty() || header_only || stage == "co-printer");
    stderr
}

/// A stream header of lines followed by one hand-made frame (with a correct checksum).
fn lines_with_frame(events: u32, payload: &[u8]) -> Vec<u8> {
    let mut s = Vec::from(&MAGIC[..]);
    s.extend_from_slice(&[VERSION, EventKind::Lines.tag(), 0]);
    s.extend_from_slice(&frame_header(events, payload));
    s.extend_from_slice(payload);
    s.extend_from_slice(&[0; FRAME_HEADER_LEN]);
    s
}

fn stream_of(kind: EventKind, events: &[&str]) -> Vec<u8> {
    let mut w = FrameWriter::new(Vec::new(), kind, "test");
    for e in events {
        w.write_event(*e).unwrap();
    }
    w.close().unwrap();
    w.into_inner()
}

#[test]
fn text_is_not_a_copipe_stream() {
    let e = fails("co-grep", &["x"], b"hello world\n");
    assert!(e.contains("not a copipe stream"), "{e}");
    assert!(e.contains("\"hello wo"), "shows what it found: {e}");
    assert!(e.contains("co-lines"), "hints at co-lines: {e}");
}

#[test]
fn empty_input_is_reported() {
    let e = fails("co-printer", &[], b"");
    assert!(e.contains("input is empty"), "{e}");
}

#[test]
fn unsupported_version() {
    let mut s = lines_stream("a\n");
    s[5] = VERSION + 7;
    let e = fails("co-grep", &["a"], &s);
    assert!(
        e.contains(&format!(
            "unsupported copipe stream version {}",
            VERSION + 7
        )),
        "{e}"
    );
}

#[test]
fn wrong_kind_names_both() {
    let s = stream_of(EventKind::Xml, &[]);
    let e = fails("co-grep", &["a"], &s);
    assert!(
        e.ends_with("co-grep expects line events, got XML events\n"),
        "{e}"
    );
}

#[test]
fn truncated_frame_gives_offset() {
    let s = lines_stream("first line\nsecond line\n");
    // Header (8) + frame header (12) + part of the payload.
    let e = fails("co-printer", &[], &s[..23]);
    assert!(e.contains("truncated frame at byte 8"), "{e}");
}

#[test]
fn missing_end_of_stream_means_upstream_failed() {
    let s = lines_stream("first line\n");
    let cut = &s[..s.len() - FRAME_HEADER_LEN];
    let out = run_with_input(cmd("co-printer", &[]), cut);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    // Everything that did arrive was still delivered.
    assert_eq!(out.stdout, b"first line\n");
    assert!(
        stderr.contains(&format!("input ended at byte {}", cut.len())),
        "{stderr}"
    );
    assert!(
        stderr.contains("without an end-of-stream marker"),
        "{stderr}"
    );
}

#[test]
fn oversized_frame_is_refused_before_allocating() {
    let mut s = Vec::from(&MAGIC[..]);
    s.extend_from_slice(&[VERSION, EventKind::Lines.tag(), 0]);
    s.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&0u32.to_le_bytes());
    let e = fails("co-grep", &["x"], &s);
    assert!(e.contains("frame at byte 8 claims 4294967280 bytes"), "{e}");
    assert!(e.contains("--max-frame"), "{e}");
}

#[test]
fn max_frame_is_configurable() {
    let s = lines_stream(&"x".repeat(1000));
    let e = fails("co-grep", &["x", "--max-frame", "100"], &s);
    assert!(e.contains("over the limit of 100 bytes"), "{e}");
    let ok = run_with_input(cmd("co-printer", &["--max-frame", "2000"]), &s);
    assert!(ok.status.success());
}

#[test]
fn undecodable_payload() {
    // One event claiming a 100-byte string, with only 3 bytes present.
    let s = lines_with_frame(1, &[100, b'a', b'b', b'c']);
    let e = fails("co-printer", &[], &s);
    assert!(e.contains("undecodable frame at byte 8"), "{e}");
}

#[test]
fn invalid_utf8_in_a_line_event() {
    let s = lines_with_frame(1, &[2, 0xff, 0xfe]);
    let e = fails("co-grep", &["x"], &s);
    assert!(e.contains("undecodable frame at byte 8"), "{e}");
}

#[test]
fn leftover_bytes_in_a_frame() {
    let s = lines_with_frame(1, &[1, b'a', 9, 9]);
    let e = fails("co-printer", &[], &s);
    assert!(e.contains("2 bytes left over"), "{e}");
}

#[test]
fn unknown_kind_byte() {
    let mut s = lines_stream("a\n");
    s[6] = 77;
    let e = fails("co-dump", &[], &s);
    assert!(e.contains("unknown event kind 77"), "{e}");
}
