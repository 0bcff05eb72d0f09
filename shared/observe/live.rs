//! A stage's live side: under a launcher that asks for it ([`LIVE_MS_ENV`]), a background
//! thread keeps the stage's stats file current and attaches taps to its outputs.
//!
//! The stage's own hot path is untouched: counters are atomics it updates per frame anyway,
//! and the thread wakes a few times a second to copy them into a file. A tap is attached when
//! `copipe tap` has put a socket at [`rundir::tap_socket`] in the stage's directory (the
//! directory of its stats file); see [`crate::link::tap`] for how copies are sent.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::rundir;
use crate::protocol::{LIVE_MS_ENV, STATS_FILE_ENV};
use crate::stats;

/// Starts the live thread if the launcher asked for one. Call once, early in `main`.
pub fn start() {
    let Some(stats_file) = std::env::var_os(STATS_FILE_ENV).map(PathBuf::from) else {
        return;
    };
    let Some(ms) = std::env::var(LIVE_MS_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    let Some(dir) = stats_file.parent().map(Path::to_path_buf) else {
        return;
    };
    let interval = Duration::from_millis(ms.clamp(10, 10_000));
    let _ = std::thread::Builder::new()
        .name("copipe-live".into())
        .spawn(move || loop {
            std::thread::sleep(interval);
            attach_taps(&dir);
            stats::write_stats();
        });
}

/// Attaches a tap to each output that has a tap socket waiting and no tap yet, and passes
/// queued copies on to the taps already attached.
fn attach_taps(dir: &Path) {
    for (label, out) in &stats::outputs() {
        if out.tap.is_active() {
            out.tap.pump();
            continue;
        }
        let socket = rundir::tap_socket(dir, label);
        if !socket.exists() {
            continue;
        }
        let Some(header) = out.header.get() else {
            continue;
        };
        if let Ok(stream) = UnixStream::connect(&socket) {
            // The tap owns the socket file; removing it says "taken" (a second tap on the
            // same output waits for its own turn).
            let _ = std::fs::remove_file(&socket);
            out.tap.attach(stream, header);
        }
    }
}
