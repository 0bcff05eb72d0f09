//! co-merge: fan-in of whole events, the seed's "disturbing variation" made safe.

use crate::common;
use crate::common::Bounded;
use crate::common::{cmd, finish, lines_stream, mkfifo, spawn, Reaper};

/// Three writers send lines larger than a pipe buffer into one merge: every line arrives
/// whole, none lost, each writer's lines in its own order.
#[test]
fn interleaves_whole_events_only() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["python", "ply", "swig"];
    let mut fifos = Vec::new();
    let mut inputs = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let f = dir.path().join(name);
        mkfifo(&f);
        let text: String = (0..8)
            .map(|j| format!("{name} {j} {}\n", name.repeat(20_000 + 7_000 * (i + j))))
            .collect();
        let src = dir.path().join(format!("{name}.txt"));
        std::fs::write(&src, &text).unwrap();
        inputs.push(text);
        fifos.push((src, f));
    }
    let mut reaper = Reaper(Vec::new());
    for (src, f) in &fifos {
        reaper.0.push(spawn(cmd(
            "co-lines",
            &[src.to_str().unwrap(), "--output", f.to_str().unwrap()],
        )));
    }
    let paths: Vec<&str> = fifos.iter().map(|(_, f)| f.to_str().unwrap()).collect();
    let merge = spawn({
        let mut c = cmd("co-merge", &paths);
        c.stdin(std::process::Stdio::null());
        c
    });
    let merged = finish(merge);
    assert!(
        merged.status.success(),
        "{:?}",
        String::from_utf8_lossy(&merged.stderr)
    );
    for c in reaper.0.drain(..) {
        assert!(finish(c).status.success());
    }
    let printed = common::run_with_input(cmd("co-printer", &[]), &merged.stdout);
    let out = String::from_utf8(printed.stdout).unwrap();
    assert_eq!(out.lines().count(), 24);
    for (name, text) in names.iter().zip(&inputs) {
        let mine: Vec<&str> = out.lines().filter(|l| l.starts_with(name)).collect();
        let expected: Vec<&str> = text.lines().collect();
        assert_eq!(mine, expected, "{name}'s lines whole and in order");
    }
}

#[test]
fn ends_when_all_inputs_end_and_fails_when_one_fails() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    let bad = dir.path().join("bad");
    std::fs::write(&good, lines_stream("a\nb\n")).unwrap();
    let broken = lines_stream("c\n");
    std::fs::write(
        &bad,
        &broken[..broken.len() - copipe::link::frame::FRAME_HEADER_LEN],
    )
    .unwrap();
    let ok = cmd(
        "co-merge",
        &[good.to_str().unwrap(), good.to_str().unwrap()],
    )
    .bounded();
    assert!(ok.status.success());
    let printed = common::run_with_input(cmd("co-printer", &[]), &ok.stdout);
    assert_eq!(printed.stdout, b"a\nb\na\nb\n");
    let failed = cmd("co-merge", &[good.to_str().unwrap(), bad.to_str().unwrap()]).bounded();
    assert_eq!(failed.status.code(), Some(1));
    let e = String::from_utf8_lossy(&failed.stderr);
    assert!(
        e.starts_with(&format!(
            "co-merge: error: input {}: input ended",
            bad.display()
        )),
        "{e}"
    );
}

#[test]
fn refuses_inputs_of_different_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("lines");
    let xml = dir.path().join("xml");
    std::fs::write(&lines, lines_stream("a\n")).unwrap();
    let mut w = copipe::link::FrameWriter::new(Vec::new(), copipe::EventKind::Xml, "t");
    w.close().unwrap();
    std::fs::write(&xml, w.into_inner()).unwrap();
    let out = cmd(
        "co-merge",
        &[lines.to_str().unwrap(), xml.to_str().unwrap()],
    )
    .bounded();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    // Whichever header arrives first sets the kind; the other input is named as wrong.
    let one_way = format!(
        "input {} carries XML events, but the first input carries line events",
        xml.display()
    );
    let other_way = format!(
        "input {} carries line events, but the first input carries XML events",
        lines.display()
    );
    assert!(e.contains(&one_way) || e.contains(&other_way), "{e}");
    assert!(e.contains("all inputs must carry one kind"), "{e}");
}
