//! The contracts between a stage and the launcher: what `--describe` prints ([`StageInfo`],
//! [`Port`]) and what a stage leaves in the stats file ([`LinkStats`], [`STATS_FILE_ENV`]).

use serde::Serialize;

use crate::event::EventKind;

/// The environment variable naming the file where a stage leaves its link statistics.
pub const STATS_FILE_ENV: &str = "COPIPE_STATS_FILE";

/// What flows in or out of a stage, as `--describe` reports it to the launcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Port {
    /// Plain bytes (text, XML documents), not frames.
    Text,
    Lines,
    Xml,
    Records,
    /// Frames of any kind; on an output, the same kind as the input.
    Any,
    /// Nothing: a source's input or a sink's output.
    None,
}

impl From<EventKind> for Port {
    fn from(kind: EventKind) -> Self {
        match kind {
            EventKind::Lines => Port::Lines,
            EventKind::Xml => Port::Xml,
            EventKind::Records => Port::Records,
        }
    }
}

/// Who a stage is: its name (for messages) and its ports (for `--describe`).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct StageInfo {
    pub name: &'static str,
    pub input: Port,
    pub output: Port,
    /// True for a stage with several inputs (`co-merge`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub many_inputs: bool,
    /// True for a stage with several outputs (`co-broadcast`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub many_outputs: bool,
}

impl StageInfo {
    pub const fn new(name: &'static str, input: Port, output: Port) -> Self {
        StageInfo {
            name,
            input,
            output,
            many_inputs: false,
            many_outputs: false,
        }
    }
}

/// One link's counters, as a stage leaves them in the stats file at exit.
#[derive(Serialize)]
pub struct LinkStats<'a> {
    pub direction: &'a str,
    pub label: &'a str,
    pub events: u64,
    pub bytes: u64,
}
