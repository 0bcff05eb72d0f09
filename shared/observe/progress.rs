//! pv-style progress meters (indicatif): for a stage binary reading a file by hand
//! (`co-xml --progress big.xml`), and for `copipe run --progress` (each source's file, read
//! so far of its size, with rate and ETA; each sink's events). Both read how far a file has
//! been read from `/proc/PID/fdinfo`, so no stage's reading path is touched.
//!
//! Meters go to stderr and only when it is a terminal, unless forced; forced onto a
//! non-terminal (a log file, a test), the launcher prints a plain line every second instead,
//! since redrawing bars there would only fill the file with control codes.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{proc, rundir, GraphInfo};

const BYTES_TEMPLATE: &str =
    "{prefix:>16} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}";
const EVENTS_TEMPLATE: &str = "{prefix:>16} {pos} events ({per_sec})";

fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template(BYTES_TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// The launcher's meters; they stop when dropped.
pub struct Meters {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Meters {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One meter: a source's input file, or a sink's events.
enum Watched {
    Source { position: usize, pid: u32 },
    Sink { position: usize },
}

/// Starts meters for a running graph: on a terminal as bars, or (when `forced` and stderr is
/// not a terminal) as a plain line per second. `None` when there is nothing to show.
pub fn start(info: &GraphInfo, graph_dir: &Path, forced: bool) -> Option<Meters> {
    let terminal = std::io::stderr().is_terminal();
    if !terminal && !forced {
        return None;
    }
    let watched: Vec<Watched> = info
        .stages
        .iter()
        .filter_map(|s| {
            let has_input = info.links.iter().any(|l| l.to == s.position);
            let has_output = info.links.iter().any(|l| l.from == s.position);
            match (has_input, has_output, s.pid) {
                (false, _, Some(pid)) => Some(Watched::Source {
                    position: s.position,
                    pid,
                }),
                (true, false, _) => Some(Watched::Sink {
                    position: s.position,
                }),
                _ => None,
            }
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let (s, dir, info) = (Arc::clone(&stop), graph_dir.to_path_buf(), info.clone());
    let thread = std::thread::Builder::new()
        .name("copipe-progress".into())
        .spawn(move || {
            if terminal {
                bars(&info, &dir, &watched, &s);
            } else {
                lines(&info, &dir, &watched, &s);
            }
        })
        .ok()?;
    Some(Meters {
        stop,
        thread: Some(thread),
    })
}

fn command(info: &GraphInfo, position: usize) -> String {
    info.stages
        .iter()
        .find(|s| s.position == position)
        .map_or_else(String::new, |s| format!("{position} {}", s.command))
}

/// Events that reached a sink so far (its inputs' counters).
fn sink_events(dir: &Path, position: usize) -> u64 {
    #[derive(serde::Deserialize)]
    struct Counted {
        direction: String,
        events: u64,
    }
    let file = rundir::stats_file(&rundir::stage_dir(dir, position));
    std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<Counted>>(&b).ok())
        .map_or(0, |c| {
            c.iter()
                .filter(|c| c.direction == "input")
                .map(|c| c.events)
                .sum()
        })
}

fn bars(info: &GraphInfo, dir: &Path, watched: &[Watched], stop: &AtomicBool) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let events_style = ProgressStyle::with_template(EVENTS_TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let bars: Vec<ProgressBar> = watched
        .iter()
        .map(|w| {
            let (position, bar) = match w {
                Watched::Source { position, .. } => (
                    *position,
                    multi.add(ProgressBar::new(0).with_style(bytes_style())),
                ),
                Watched::Sink { position } => (
                    *position,
                    multi.add(ProgressBar::new_spinner().with_style(events_style.clone())),
                ),
            };
            bar.set_prefix(command(info, position));
            bar
        })
        .collect();
    while !stop.load(Ordering::Relaxed) {
        for (w, bar) in watched.iter().zip(&bars) {
            match w {
                Watched::Source { pid, .. } => {
                    if let Some(f) = proc::input_file(*pid) {
                        bar.set_length(f.size);
                        bar.set_position(f.position);
                    }
                }
                Watched::Sink { position } => bar.set_position(sink_events(dir, *position)),
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for bar in bars {
        bar.finish();
    }
}

fn lines(info: &GraphInfo, dir: &Path, watched: &[Watched], stop: &AtomicBool) {
    let started = Instant::now();
    let mut next = started + Duration::from_secs(1);
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if Instant::now() < next {
            continue;
        }
        next += Duration::from_secs(1);
        let secs = started.elapsed().as_secs_f64();
        let parts: Vec<String> = watched
            .iter()
            .map(|w| match w {
                Watched::Source { position, pid } => match proc::input_file(*pid) {
                    Some(f) => format!(
                        "{}: {} of {} bytes ({:.0}%, {:.1} MB/s)",
                        command(info, *position),
                        f.position,
                        f.size,
                        f.position as f64 * 100.0 / f.size as f64,
                        f.position as f64 / secs / 1e6
                    ),
                    None => format!("{}: reading", command(info, *position)),
                },
                Watched::Sink { position } => format!(
                    "{}: {} events",
                    command(info, *position),
                    sink_events(dir, *position)
                ),
            })
            .collect();
        let _ = writeln!(std::io::stderr(), "copipe: progress: {}", parts.join("; "));
    }
}

/// `--progress` for a stage binary reading a file by hand.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ProgressArgs {
    /// Show a progress meter on stderr while reading FILE (when stderr is a terminal):
    /// bytes read of its size, rate and ETA.
    #[arg(long)]
    pub progress: bool,
}

impl ProgressArgs {
    /// Starts the meter for `file` if asked for, stderr is a terminal and `file` is a regular
    /// file; it stops when the returned value is dropped. The meter reads how far this
    /// process has read the file from `/proc` (as the launcher's meters do), so the stage's
    /// reading is untouched.
    pub fn start(&self, file: Option<&Path>) -> Option<Meters> {
        let path = std::fs::canonicalize(file?).ok()?;
        if !self.progress || !std::io::stderr().is_terminal() || !path.is_file() {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("copipe-progress".into())
            .spawn(move || own_file_bar(&path, &s))
            .ok()?;
        Some(Meters {
            stop,
            thread: Some(thread),
        })
    }
}

fn own_file_bar(path: &Path, stop: &AtomicBool) {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    bar.set_style(bytes_style());
    bar.set_prefix(
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
    );
    while !stop.load(Ordering::Relaxed) {
        let me = std::process::id();
        if let Some(f) = proc::read_only_files(me)
            .into_iter()
            .find(|f| f.path == path)
        {
            bar.set_position(f.position);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish();
}
