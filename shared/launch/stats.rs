//! `copipe run --stats`: what each stage cost and what each link carried, at exit.
//!
//! Stage figures come from the kernel (`wait4`'s resource usage: CPU time, peak resident
//! memory) and the launcher's clock (wall time from spawn to exit). Link figures come from
//! the stages themselves: each leaves the events and bytes that crossed its links in the file
//! named by [`crate::protocol::STATS_FILE_ENV`] ([`LinkStats`]). A link is counted by its writer, or by its reader when the
//! writer is a program that keeps no counts; text links are not counted (`-`).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::graph::Graph;
use super::spawn::{extra_path, stats_file};
use crate::protocol::{Direction, Flow, LinkStats, STDIN_LABEL, STDOUT_LABEL};

/// How a stage ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(i32),
}

impl Ended {
    /// From a `wait` status.
    pub fn from_wait_status(status: libc::c_int) -> Self {
        if libc::WIFSIGNALED(status) {
            Ended::Signaled(libc::WTERMSIG(status))
        } else {
            Ended::Exited(libc::WEXITSTATUS(status))
        }
    }

    /// The exit status a shell would report for it: the code, or 128 + the signal.
    pub fn code(self) -> u8 {
        match self {
            Ended::Exited(code) => code as u8,
            Ended::Signaled(signal) => (128 + signal).min(255) as u8,
        }
    }

    /// `exited with status 1`, `died with signal 9 (SIGKILL)`.
    pub fn describe(self) -> String {
        match self {
            Ended::Exited(code) => format!("exited with status {code}"),
            Ended::Signaled(signal) => {
                format!("died with signal {signal} ({})", signal_name(signal))
            }
        }
    }

    fn short(self) -> String {
        match self {
            Ended::Exited(code) => code.to_string(),
            Ended::Signaled(signal) => signal_name(signal),
        }
    }
}

/// `SIGKILL` for 9, and so on.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}

/// One stage's figures.
#[derive(Clone, Debug, Default)]
pub struct StageFigures {
    pub ended: Option<Ended>,
    pub wall: Duration,
    pub cpu: Duration,
    /// Peak resident memory, bytes.
    pub peak_rss: u64,
    /// Times the launcher restarted it (`restart=on-failure`); the other figures are its
    /// last run's.
    pub restarts: u32,
}

impl StageFigures {
    /// The figures `wait4` reports.
    pub fn from_rusage(ended: Ended, wall: Duration, usage: &libc::rusage) -> Self {
        let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        StageFigures {
            ended: Some(ended),
            wall,
            cpu: time(usage.ru_utime) + time(usage.ru_stime),
            // Linux reports kibibytes.
            peak_rss: usage.ru_maxrss as u64 * 1024,
            restarts: 0,
        }
    }
}

#[derive(Serialize)]
struct StageJson<'a> {
    position: usize,
    stage: &'a str,
    exit_code: Option<i32>,
    signal: Option<i32>,
    wall_seconds: f64,
    cpu_seconds: f64,
    peak_rss_bytes: u64,
    restarts: u32,
}

#[derive(Serialize)]
struct LinkJson {
    from: usize,
    to: usize,
    carries: String,
    events: Option<u64>,
    bytes: Option<u64>,
}

/// What each link carried: (events, bytes), `None` where nobody counted.
pub fn link_counts(graph: &Graph, dir: &Path) -> Vec<Option<(u64, u64)>> {
    let files: Vec<Vec<LinkStats>> = graph
        .nodes
        .iter()
        .map(|n| LinkStats::read_file(&stats_file(dir, n.position)).unwrap_or_default())
        .collect();
    let lookup = |node: usize, direction: Direction, label: &str| {
        files[node]
            .iter()
            .find(|c| c.direction == direction && c.label == label)
            .map(|c| (c.events, c.bytes))
    };
    graph
        .links
        .iter()
        .enumerate()
        .map(|(l, link)| {
            if link.flow == Flow::Text {
                return None;
            }
            let (out_label, in_label) = link_labels(graph, l);
            lookup(link.from, Direction::Output, &out_label)
                .or_else(|| lookup(link.to, Direction::Input, &in_label))
        })
        .collect()
}

/// How link `l`'s writer and reader label it in their stats files: standard output and
/// input, or the `/dev/fd/N` path of a stage that takes several.
pub fn link_labels(graph: &Graph, l: usize) -> (String, String) {
    let link = &graph.links[l];
    let writer = &graph.nodes[link.from];
    let out_label = if writer.many_outputs() {
        extra_path(writer.outputs.iter().position(|&o| o == l).unwrap_or(0))
    } else {
        STDOUT_LABEL.into()
    };
    let reader = &graph.nodes[link.to];
    let in_label = if reader.many_inputs() {
        extra_path(reader.inputs.iter().position(|&i| i == l).unwrap_or(0))
    } else {
        STDIN_LABEL.into()
    };
    (out_label, in_label)
}

/// Link indices in graph order: by writer, then by reader.
fn in_order(graph: &Graph) -> Vec<usize> {
    let mut order: Vec<usize> = (0..graph.links.len()).collect();
    order.sort_by_key(|&l| (graph.links[l].from, graph.links[l].to));
    order
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

fn bytes_text(bytes: u64) -> String {
    if bytes < 10 << 10 {
        format!("{bytes} B")
    } else if bytes < 10 << 20 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        mib(bytes)
    }
}

/// The human table, for stderr.
pub fn table(graph: &Graph, stages: &[StageFigures], links: &[Option<(u64, u64)>]) -> String {
    let mut out = String::from("copipe: statistics\n");
    let width = graph
        .nodes
        .iter()
        .map(|n| n.title().len())
        .max()
        .unwrap_or(5)
        .min(60);
    let _ = writeln!(
        out,
        "  {:<width$}  {:>7}  {:>9}  {:>9}  {:>10}",
        "stage", "exit", "wall", "cpu", "peak mem"
    );
    for (node, f) in graph.nodes.iter().zip(stages) {
        let exit = f.ended.map_or_else(|| "-".into(), Ended::short);
        let _ = writeln!(
            out,
            "  {:<width$}  {:>7}  {:>7.3} s  {:>7.3} s  {:>10}",
            node.title(),
            exit,
            f.wall.as_secs_f64(),
            f.cpu.as_secs_f64(),
            mib(f.peak_rss)
        );
        if f.restarts > 0 {
            let _ = writeln!(out, "  {:<width$}  restarts: {}", "", f.restarts);
        }
    }
    let _ = writeln!(
        out,
        "  {:<24}  {:<12}  {:>12}  {:>10}",
        "link", "carries", "events", "bytes"
    );
    for l in in_order(graph) {
        let (link, counts) = (&graph.links[l], &links[l]);
        let name = format!(
            "{} -> {}",
            graph.nodes[link.from].position, graph.nodes[link.to].position
        );
        let (events, bytes) = match counts {
            Some((e, b)) => (e.to_string(), bytes_text(*b)),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "  {name:<24}  {:<12}  {events:>12}  {bytes:>10}",
            link.flow.to_string()
        );
    }
    out
}

/// The same figures as one JSON object, for tools.
pub fn json(graph: &Graph, stages: &[StageFigures], links: &[Option<(u64, u64)>]) -> String {
    #[derive(Serialize)]
    struct Report<'a> {
        stages: Vec<StageJson<'a>>,
        links: Vec<LinkJson>,
    }
    let titles: Vec<String> = graph.nodes.iter().map(super::graph::Node::title).collect();
    let stages: Vec<StageJson> = graph
        .nodes
        .iter()
        .zip(stages)
        .zip(&titles)
        .map(|((node, f), title)| StageJson {
            position: node.position,
            stage: title,
            exit_code: match f.ended {
                Some(Ended::Exited(c)) => Some(c),
                _ => None,
            },
            signal: match f.ended {
                Some(Ended::Signaled(s)) => Some(s),
                _ => None,
            },
            wall_seconds: f.wall.as_secs_f64(),
            cpu_seconds: f.cpu.as_secs_f64(),
            peak_rss_bytes: f.peak_rss,
            restarts: f.restarts,
        })
        .collect();
    let links: Vec<LinkJson> = in_order(graph)
        .into_iter()
        .map(|l| (&graph.links[l], links[l]))
        .map(|(link, counts)| LinkJson {
            from: graph.nodes[link.from].position,
            to: graph.nodes[link.to].position,
            carries: link.flow.to_string(),
            events: counts.map(|c| c.0),
            bytes: counts.map(|c| c.1),
        })
        .collect();
    serde_json::to_string(&Report { stages, links }).expect("plain data serializes")
}
