//! The launcher's second edge with the world: asking each program `--describe`.
//!
//! Every distinct program is asked once, all at once, and answers with its
//! [`StageInfo`] as one JSON line. A program that fails, answers something else, or takes
//! longer than [`DESCRIBE_TIMEOUT`] is left unchecked (`None`): the stream header still
//! catches a mismatch at run time.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::find::Located;
use crate::protocol::{StageInfo, DESCRIBE_ARG};

/// How long a program may take to answer `--describe` before it is left unchecked.
pub const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(5);
/// `--describe` answers are one short JSON line; anything longer is not one.
const DESCRIBE_MAX_BYTES: u64 = 4096;

/// What each of `programs` says of itself, in order; each distinct program is asked once.
pub fn describe_programs(programs: &[Located]) -> Vec<Option<StageInfo>> {
    let mut distinct: Vec<Located> = programs.to_vec();
    distinct.sort();
    distinct.dedup();
    let answers: BTreeMap<&Located, Option<StageInfo>> =
        distinct.iter().zip(describe_all(&distinct)).collect();
    programs.iter().map(|p| answers[p].clone()).collect()
}

/// Asks each program `--describe`, all at once; see the module documentation.
pub fn describe_all(programs: &[Located]) -> Vec<Option<StageInfo>> {
    let (tx, rx) = mpsc::channel();
    let mut pids = Vec::new();
    for (i, program) in programs.iter().enumerate() {
        if let Some(pid) = ask(i, program, tx.clone()) {
            pids.push((i, pid));
        }
    }
    drop(tx);
    let mut answers: Vec<Option<StageInfo>> = vec![None; programs.len()];
    let mut waiting = pids.len();
    let deadline = Instant::now() + DESCRIBE_TIMEOUT;
    while waiting > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, info)) => {
                answers[i] = info;
                waiting -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Too slow to be a stage answering --describe: stop it, leave it unchecked.
                for &(i, pid) in &pids {
                    if answers[i].is_none() {
                        // SAFETY: kill(2) on a child we spawned; its waiting thread has not
                        // reaped it, since no answer came.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
                for (i, _) in &rx {
                    answers[i] = None;
                }
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    answers
}

/// Starts `program --describe`, and a thread that sends its answer (the `i`-th) on `tx`.
/// Returns its process id, or `None` if it could not start.
fn ask(
    i: usize,
    program: &Located,
    tx: mpsc::Sender<(usize, Option<StageInfo>)>,
) -> Option<libc::pid_t> {
    let argv0 = program.program.to_string_lossy();
    // A program on another host is asked by its agent (crate::remote).
    let mut child = program
        .command(&argv0)?
        .arg(DESCRIBE_ARG)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let pid = child.id() as libc::pid_t;
    std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = stdout.take(DESCRIBE_MAX_BYTES).read_to_end(&mut out);
        }
        let ok = child.wait().is_ok_and(|s| s.success());
        let _ = tx.send((i, ok.then(|| StageInfo::from_json(&out)).flatten()));
    });
    Some(pid)
}
