//! The contracts between processes, each defined once and used by both sides.
//!
//! | contract | writer | reader | here |
//! |---|---|---|---|
//! | the kind of events a link carries | every frame writer (stream header byte) | every frame reader | [`EventKind`] |
//! | `--describe`: a stage's ports, one JSON line | [`crate::run::stage_main`] | the launcher ([`crate::launch::describe`]) | [`StageInfo`], [`Port`], [`DESCRIBE_ARG`] |
//! | the stats file: what a stage's links carried | [`crate::stats`] at exit | `copipe run --stats` | [`LinkStats`], [`STATS_FILE_ENV`] |
//! | what a link carries, as the launcher reports it | the launcher's kind check | `--stats`, `copipe graph` | [`Flow`] |
//! | the branch-close policy of a broadcast | `copipe run --on-branch-close` | `co-broadcast` | [`OnBranchClose`], [`ON_BRANCH_CLOSE_ARG`] |
//!
//! Every name a contract puts on the wire or in a message comes from one table: the event
//! kinds' names and nouns from [`EventKind::names`]; [`Port`] and [`Flow`] add only their
//! own non-event words. A program in another language implements a stage by reading this
//! module: the JSON shapes are those of the types' `serde` derives, shown in each test below.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The one argument a stage answers with its [`StageInfo`] as JSON, instead of running.
pub const DESCRIBE_ARG: &str = "--describe";

/// The environment variable naming the file where a stage leaves its [`LinkStats`] at exit.
pub const STATS_FILE_ENV: &str = "COPIPE_STATS_FILE";

/// The environment variable that asks a stage to keep its stats file current while it runs,
/// every so many milliseconds, and to accept taps on its outputs (`copipe top`, `copipe tap`).
pub const LIVE_MS_ENV: &str = "COPIPE_LIVE_MS";

/// The label of a link on a stage's standard input, in the stats file.
pub const STDIN_LABEL: &str = "standard input";
/// The label of a link on a stage's standard output, in the stats file.
pub const STDOUT_LABEL: &str = "standard output";

/// The kind of events a link carries, named in its stream header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Text lines without their newline.
    Lines,
    /// SAX-style XML events.
    Xml,
    /// Ordered field/value records.
    Records,
}

/// How one kind of event is written down: see [`EventKind::names`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindNames {
    /// The byte that stands for the kind in a stream header.
    pub tag: u8,
    /// The short name, in `--describe` and in the stats file.
    pub name: &'static str,
    /// The noun in messages: "co-grep expects line events, got XML events".
    pub noun: &'static str,
}

impl EventKind {
    /// Every kind, in header-tag order.
    pub const ALL: [EventKind; 3] = [EventKind::Lines, EventKind::Xml, EventKind::Records];

    /// The table of names: the only place a kind's tag, name and noun are written.
    pub const fn names(self) -> KindNames {
        let (tag, name, noun) = match self {
            EventKind::Lines => (1, "lines", "line events"),
            EventKind::Xml => (2, "xml", "XML events"),
            EventKind::Records => (3, "records", "records"),
        };
        KindNames { tag, name, noun }
    }

    /// The byte that stands for this kind in a stream header.
    pub const fn tag(self) -> u8 {
        self.names().tag
    }

    /// The kind a header byte stands for, if any.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.tag() == tag)
    }

    /// The short name used in `--describe`.
    pub const fn name(self) -> &'static str {
        self.names().name
    }

    /// The kind a short name stands for, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for EventKind {
    /// The noun, to read well in a sentence.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.names().noun)
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = Cow::<str>::deserialize(d)?;
        EventKind::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown event kind {name:?}")))
    }
}

/// What flows in or out of a stage, as `--describe` reports it. In JSON, one word:
/// `"text"`, `"any"`, `"none"`, or an event kind's name (`"lines"`, `"xml"`, `"records"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Cow<'static, str>", try_from = "String")]
pub enum Port {
    /// Plain bytes (text, XML documents), not frames.
    Text,
    /// Frames of one kind of event.
    Events(EventKind),
    /// Frames of any kind; on an output, the same kind as the input.
    Any,
    /// Nothing: a source's input or a sink's output.
    None,
}

impl Port {
    /// Line events.
    pub const LINES: Port = Port::Events(EventKind::Lines);
    /// XML events.
    pub const XML: Port = Port::Events(EventKind::Xml);
    /// Records.
    pub const RECORDS: Port = Port::Events(EventKind::Records);

    /// The word in `--describe`.
    pub const fn name(self) -> &'static str {
        match self {
            Port::Text => "text",
            Port::Events(kind) => kind.name(),
            Port::Any => "any",
            Port::None => "none",
        }
    }

    /// Whether `flow` may go into a stage reading this port.
    pub fn accepts(self, flow: Flow) -> bool {
        match (self, flow) {
            (_, Flow::Unknown) | (Port::Text, Flow::Text) | (Port::Any, Flow::Events(_)) => true,
            (Port::Events(want), Flow::Events(got)) => want == got,
            _ => false,
        }
    }
}

impl fmt::Display for Port {
    /// The phrase in messages: "stage 4 reads line events".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Port::Text => f.write_str("text"),
            Port::Events(kind) => kind.fmt(f),
            Port::Any => f.write_str("events of any kind"),
            Port::None => f.write_str("nothing"),
        }
    }
}

impl From<Port> for Cow<'static, str> {
    fn from(port: Port) -> Self {
        Cow::Borrowed(port.name())
    }
}

impl TryFrom<String> for Port {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        match name.as_str() {
            "text" => Ok(Port::Text),
            "any" => Ok(Port::Any),
            "none" => Ok(Port::None),
            other => EventKind::from_name(other)
                .map(Port::Events)
                .ok_or_else(|| format!("unknown port {other:?}")),
        }
    }
}

impl From<EventKind> for Port {
    fn from(kind: EventKind) -> Self {
        Port::Events(kind)
    }
}

/// What flows on a link of a checked graph: what the launcher's kind check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Plain bytes.
    Text,
    /// Frames of one kind of event.
    Events(EventKind),
    /// Frames of a kind not known before run time, or a program that did not describe itself.
    Unknown,
    /// Nothing: the writer's output is `none`.
    Nothing,
}

impl Flow {
    /// What a stage with `output` writes when it reads `input`: an `any` output carries the
    /// kind its input carries.
    pub fn written(output: Port, input: Flow) -> Flow {
        match (output, input) {
            (Port::Text, _) => Flow::Text,
            (Port::Events(kind), _) | (Port::Any, Flow::Events(kind)) => Flow::Events(kind),
            (Port::None, _) => Flow::Nothing,
            (Port::Any, _) => Flow::Unknown,
        }
    }
}

impl fmt::Display for Flow {
    /// The phrase in messages, `copipe graph` and `--stats` ("carries").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flow::Text => f.write_str("text"),
            Flow::Events(kind) => kind.fmt(f),
            Flow::Unknown => f.write_str("unchecked"),
            Flow::Nothing => f.write_str("nothing"),
        }
    }
}

/// Who a stage is: its name (for messages) and its ports. A stage prints it as one JSON line
/// when run with the single argument [`DESCRIBE_ARG`]; the launcher reads it to check the
/// kinds on every link before anything starts. Example:
/// `{"name":"co-merge","input":"any","output":"any","many_inputs":true}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageInfo {
    /// The program's name, as messages show it.
    #[serde(default)]
    pub name: Cow<'static, str>,
    pub input: Port,
    pub output: Port,
    /// True for a stage taking its several inputs as path arguments (`co-merge`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub many_inputs: bool,
    /// True for a stage taking its several outputs as path arguments (`co-broadcast`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub many_outputs: bool,
}

impl StageInfo {
    /// A stage with one input and one output.
    pub const fn new(name: &'static str, input: Port, output: Port) -> Self {
        StageInfo {
            name: Cow::Borrowed(name),
            input,
            output,
            many_inputs: false,
            many_outputs: false,
        }
    }

    /// The same stage, taking its inputs as path arguments.
    #[must_use]
    pub const fn with_many_inputs(mut self) -> Self {
        self.many_inputs = true;
        self
    }

    /// The same stage, taking its outputs as path arguments.
    #[must_use]
    pub const fn with_many_outputs(mut self) -> Self {
        self.many_outputs = true;
        self
    }

    /// The one JSON line `--describe` prints (without its newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("StageInfo serializes")
    }

    /// Reads a `--describe` answer; `None` if it is not one.
    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// Which side of a stage a counted link is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Input,
    Output,
}

/// One link's counters, as a stage leaves them at exit. The stats file holds a JSON array
/// of them: `[{"direction":"output","label":"standard output","events":3,"bytes":61}]`. The
/// label is [`STDIN_LABEL`], [`STDOUT_LABEL`], or the path the stage was given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStats {
    pub direction: Direction,
    pub label: String,
    pub events: u64,
    pub bytes: u64,
    /// Nanoseconds this end spent waiting in the OS: writing into a full pipe, or waiting for
    /// input to read (what `copipe top` turns into back-pressure and the bottleneck mark).
    #[serde(default)]
    pub blocked_ns: u64,
}

impl LinkStats {
    /// Writes a stats file, atomically: a reader (the launcher, while the stage runs) sees
    /// the previous numbers or these, never a part.
    pub fn write_file(path: &Path, links: &[LinkStats]) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(links).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, path)
    }

    /// Reads a stats file; `None` if it is missing or not one.
    pub fn read_file(path: &Path) -> Option<Vec<LinkStats>> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }
}

/// The option `co-broadcast` takes its [`OnBranchClose`] policy by.
pub const ON_BRANCH_CLOSE_ARG: &str = "--on-branch-close";

/// What a broadcast does when one branch's reader exits early. On the command line (of
/// `copipe run` and `co-broadcast` alike): `drop` or `stop`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OnBranchClose {
    /// Drop that branch; the others go on.
    #[default]
    Drop,
    /// End every branch cleanly and stop.
    Stop,
}

impl OnBranchClose {
    /// The word on the command line.
    pub fn name(self) -> &'static str {
        match self {
            OnBranchClose::Drop => "drop",
            OnBranchClose::Stop => "stop",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn event_kinds_round_trip_through_tag_name_and_json() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_tag(kind.tag()), Some(kind));
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), kind);
        }
        assert_eq!(EventKind::from_tag(0), None);
        assert_eq!(EventKind::from_tag(4), None);
        assert!(serde_json::from_str::<EventKind>("\"bytes\"").is_err());
    }

    #[test]
    fn ports_are_one_word_in_json() {
        let ports = [
            Port::Text,
            Port::LINES,
            Port::XML,
            Port::RECORDS,
            Port::Any,
            Port::None,
        ];
        let words = ["text", "lines", "xml", "records", "any", "none"];
        for (port, word) in ports.into_iter().zip(words) {
            let json = serde_json::to_string(&port).unwrap();
            assert_eq!(json, format!("\"{word}\""));
            assert_eq!(serde_json::from_str::<Port>(&json).unwrap(), port);
        }
        assert!(serde_json::from_str::<Port>("\"frames\"").is_err());
    }

    #[test]
    fn stage_info_round_trips_and_reads_older_answers() {
        let merge = StageInfo::new("co-merge", Port::Any, Port::Any).with_many_inputs();
        let json = merge.to_json();
        assert_eq!(
            json,
            r#"{"name":"co-merge","input":"any","output":"any","many_inputs":true}"#
        );
        assert_eq!(StageInfo::from_json(json.as_bytes()), Some(merge));
        let grep = StageInfo::new("co-grep", Port::LINES, Port::LINES);
        assert_eq!(StageInfo::from_json(grep.to_json().as_bytes()), Some(grep));
        // A program that gives only its ports is described all the same.
        let bare = StageInfo::from_json(br#"{"input":"text","output":"xml"}"#).unwrap();
        assert_eq!(
            (bare.input, bare.output, bare.many_outputs),
            (Port::Text, Port::XML, false)
        );
        assert_eq!(StageInfo::from_json(b"usage: foo [OPTIONS]"), None);
    }

    #[test]
    fn link_stats_round_trip_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stage-1.json");
        let links = [
            LinkStats {
                direction: Direction::Input,
                label: STDIN_LABEL.into(),
                events: 7,
                bytes: 120,
                blocked_ns: 5_000,
            },
            LinkStats {
                direction: Direction::Output,
                label: "/dev/fd/3".into(),
                events: 3,
                bytes: 61,
                blocked_ns: 0,
            },
        ];
        LinkStats::write_file(&path, &links).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(r#"[{"direction":"input","label":"standard input","events":7"#),
            "{text}"
        );
        assert_eq!(LinkStats::read_file(&path).unwrap(), links);
        assert_eq!(LinkStats::read_file(&dir.path().join("missing")), None);
    }

    #[test]
    fn branch_close_policy_names_are_its_command_line_values() {
        for policy in OnBranchClose::value_variants() {
            let value = policy.to_possible_value().unwrap();
            assert_eq!(value.get_name(), policy.name());
            assert_eq!(OnBranchClose::from_str(policy.name(), false), Ok(*policy));
        }
    }

    #[test]
    fn flows_follow_ports() {
        let lines = Flow::Events(EventKind::Lines);
        assert_eq!(Flow::written(Port::Any, lines), lines);
        assert_eq!(Flow::written(Port::Any, Flow::Text), Flow::Unknown);
        assert_eq!(
            Flow::written(Port::XML, lines),
            Flow::Events(EventKind::Xml)
        );
        assert_eq!(Flow::written(Port::None, lines), Flow::Nothing);
        assert!(Port::LINES.accepts(lines));
        assert!(!Port::XML.accepts(lines));
        assert!(Port::Any.accepts(lines));
        assert!(!Port::Any.accepts(Flow::Text));
        assert!(Port::XML.accepts(Flow::Unknown));
        assert_eq!(lines.to_string(), "line events");
        assert_eq!(Port::Any.to_string(), "events of any kind");
    }
}
