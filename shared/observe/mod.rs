//! Seeing inside a running graph: `copipe ps`, `copipe top`, `copipe tap`, `--progress`.
//!
//! One source of live numbers: every stage keeps its link counters (the same ones `--stats`
//! reports at exit) current in a small file of its own ([`live`]); the launcher serves them,
//! with each stage's CPU and memory from `/proc` ([`proc`]), on a control socket in the
//! graph's private directory ([`rundir`], [`control`]). `copipe top` turns successive samples
//! into rates and marks the bottleneck ([`top`]); `copipe tap` asks one stage for a live copy
//! of one output ([`tap`], and the writer's side in [`crate::link::tap`]).
//!
//! The types below are the control channel's contract: JSON, one object per line.

pub mod control;
pub mod live;
pub mod proc;
pub mod progress;
pub mod ps;
pub mod rundir;
pub mod session;
pub mod tap;
pub mod top;
pub mod top_screen;

use serde::{Deserialize, Serialize};

/// A running graph, as `copipe ps` lists it and the control channel describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphInfo {
    /// Unique among the user's graphs: the launcher's pid and start time.
    pub id: String,
    /// The launcher's pid.
    pub pid: u32,
    /// The spec's text (or its file name).
    pub spec: String,
    /// Start time, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    pub stages: Vec<StageEntry>,
    pub links: Vec<LinkEntry>,
}

/// A stage of a running graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageEntry {
    /// The stage's number, as `copipe graph` shows it (1, 2, ...).
    pub position: usize,
    /// The command line, shortened for display.
    pub command: String,
    /// True for a broadcast or merge the launcher inserted.
    pub inserted: bool,
    /// The process id, once started.
    pub pid: Option<u32>,
}

/// A link of a running graph: from one stage's output to another's input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkEntry {
    /// `"1->2"`: the name `copipe tap` takes.
    pub name: String,
    pub from: usize,
    pub to: usize,
    /// How the writer labels the link in its stats file (and names its tap socket).
    pub writer_label: String,
    /// How the reader labels the link in its stats file.
    pub reader_label: String,
    /// What it carries (`line events`, ...).
    pub carries: String,
}

/// One look at a running graph.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Milliseconds since the graph started.
    pub elapsed_ms: u64,
    pub stages: Vec<StageSample>,
    pub links: Vec<LinkSample>,
    /// True for the last sample, taken once every stage has exited: its totals are final.
    pub done: bool,
}

/// A stage's process, as `/proc` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSample {
    pub position: usize,
    /// `running`, `sleeping`, `blocked` (disk), `stopped`, `exited`, ...
    pub state: String,
    /// User and system CPU time so far, in nanoseconds.
    pub cpu_ns: u64,
    /// Resident memory, in bytes (0 once exited).
    pub rss_bytes: u64,
}

/// A link's counters, from its writer (events, bytes, time blocked writing) and its reader
/// (time waiting on reads).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSample {
    pub name: String,
    pub events: u64,
    pub bytes: u64,
    pub writer_blocked_ns: u64,
    pub reader_waiting_ns: u64,
}

/// A request on the control channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    /// Answered with the [`GraphInfo`].
    Info,
    /// Answered with one [`Sample`].
    Sample,
    /// Answered with a [`Sample`] every `interval_ms` until the graph ends, the last with
    /// `done: true`; then the connection closes.
    Watch { interval_ms: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_json_lines() {
        for r in [
            Request::Info,
            Request::Sample,
            Request::Watch { interval_ms: 250 },
        ] {
            let text = serde_json::to_string(&r).unwrap();
            assert!(!text.contains('\n'));
            assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), r);
        }
        assert_eq!(
            serde_json::to_string(&Request::Watch { interval_ms: 5 }).unwrap(),
            r#"{"op":"watch","interval_ms":5}"#
        );
    }

    #[test]
    fn samples_round_trip() {
        let s = Sample {
            elapsed_ms: 7,
            stages: vec![StageSample {
                position: 1,
                state: "running".into(),
                cpu_ns: 3,
                rss_bytes: 4096,
            }],
            links: vec![LinkSample {
                name: "1->2".into(),
                events: 9,
                bytes: 100,
                writer_blocked_ns: 1,
                reader_waiting_ns: 2,
            }],
            done: true,
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Sample>(&text).unwrap(), s);
    }
}
