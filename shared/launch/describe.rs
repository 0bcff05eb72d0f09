//! The launcher's second edge with the world: asking each program `--describe`.
//!
//! Every distinct program is asked once, all at once, and answers with its
//! [`StageInfo`] as one JSON line. A program that fails, answers something else, or takes
//! longer than [`DESCRIBE_TIMEOUT`] is left unchecked (`None`): the stream header still
//! catches a mismatch at run time. A slow one is named on stderr, and stopped with every
//! process it started (its process group).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
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
/// A program too slow to answer is named on stderr, once, and left unchecked.
pub fn describe_programs(programs: &[Located]) -> Vec<Option<StageInfo>> {
    let mut distinct: Vec<Located> = programs.to_vec();
    distinct.sort();
    distinct.dedup();
    let described = describe_all(&distinct);
    for &i in &described.slow {
        let _ = writeln!(
            std::io::stderr().lock(),
            "copipe: warning: {} did not answer --describe within {} s (it and every process it \
             started were stopped); its links are checked when it runs",
            distinct[i].program.display(),
            DESCRIBE_TIMEOUT.as_secs()
        );
    }
    let answers: BTreeMap<&Located, Option<StageInfo>> =
        distinct.iter().zip(described.infos).collect();
    programs.iter().map(|p| answers[p].clone()).collect()
}

/// The answers to `--describe`, in the order asked, and which programs were too slow.
pub struct Described {
    pub infos: Vec<Option<StageInfo>>,
    /// Indices of the programs stopped at the deadline.
    pub slow: Vec<usize>,
}

/// Asks each program `--describe`, all at once; see the module documentation. Each runs in
/// a process group of its own, and at the deadline the whole group is killed: a program
/// that started a child holding its stdout (`sleep 1000 &`) cannot keep the launcher
/// waiting, nor leave the child behind.
pub fn describe_all(programs: &[Located]) -> Described {
    let (tx, rx) = mpsc::channel();
    let mut pids = Vec::new();
    for (i, program) in programs.iter().enumerate() {
        if let Some(pid) = ask(i, program, tx.clone()) {
            pids.push((i, pid));
        }
    }
    drop(tx);
    let mut infos: Vec<Option<StageInfo>> = vec![None; programs.len()];
    let mut answered = vec![false; programs.len()];
    let mut waiting = pids.len();
    let deadline = Instant::now() + DESCRIBE_TIMEOUT;
    let mut slow = Vec::new();
    while waiting > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, info)) => {
                infos[i] = info;
                answered[i] = true;
                waiting -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                for &(i, pid) in pids.iter().filter(|&&(i, _)| !answered[i]) {
                    // SAFETY: kill(2) on the process group of a child we spawned as its
                    // leader; its waiting thread has not reaped it (no answer came), so the
                    // group id is still ours.
                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                    slow.push(i);
                }
                // Their threads end as the groups die; a process that left its group
                // (setsid) and still holds the pipe is not waited for.
                let after = Instant::now() + KILLED_SETTLE;
                while let Ok((i, _)) =
                    rx.recv_timeout(after.saturating_duration_since(Instant::now()))
                {
                    answered[i] = true;
                }
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    Described { infos, slow }
}

/// How long the threads of killed `--describe` runs are given to finish.
const KILLED_SETTLE: Duration = Duration::from_millis(500);

/// Starts `program --describe` in a process group of its own, and a thread that sends its
/// answer (the `i`-th) on `tx`. Returns its process id, or `None` if it could not start.
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
        .process_group(0)
        .spawn()
        .ok()?;
    let pid = child.id() as libc::pid_t;
    std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = stdout.take(DESCRIBE_MAX_BYTES).read_to_end(&mut out);
        }
        if out.len() as u64 >= DESCRIBE_MAX_BYTES {
            // Not an answer (`yes --describe` never stops): no need to wait for the deadline.
            // SAFETY: kill(2) on the group of our own child, not yet reaped.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        let ok = child.wait().is_ok_and(|s| s.success());
        let _ = tx.send((i, ok.then(|| StageInfo::from_json(&out)).flatten()));
    });
    Some(pid)
}
