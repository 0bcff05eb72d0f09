//! The agent protocol: what the launcher and a remote agent say to each other over the one
//! ssh connection, defined once for both sides.
//!
//! ```text
//! message  channel:u32le  length:u32le  payload[length]
//! ```
//!
//! Channel 0 carries [`Control`] messages, one JSON document each (they are few and small;
//! JSON keeps them readable with `ssh host copipe agent` by hand). Every other channel is a
//! byte stream: a cross-host link (its copipe frames travel untouched, header and
//! end-of-stream marker included) or a remote stage's stderr. An empty payload on a data
//! channel is its end of file.
//!
//! A data channel's sender may have at most [`WINDOW`] bytes unacknowledged: the receiver
//! queues them, writes them to their pipe and returns [`Control::Credit`] as it does. So the
//! side reading the connection never blocks on a slow pipe, and a control message (a
//! signal, an exit) always gets through, whatever the data channels are doing. That is
//! how ssh itself multiplexes channels.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

/// The protocol's version: the agent says it first; the launcher refuses another.
pub const VERSION: u32 = 1;
/// The control channel.
pub const CONTROL: u32 = 0;
/// Bytes a data channel may have in flight: large enough to keep a loopback or LAN link
/// busy while the receiver writes, small enough that memory stays bounded per channel.
pub const WINDOW: u32 = 4 << 20;
/// The largest data payload: one pipe's worth (64 KiB) twice, so a bulk stream costs one
/// message per two pipe buffers.
pub const CHUNK: usize = 128 << 10;
/// The largest control payload; a bigger length is a corrupt connection, not a message.
pub const CONTROL_MAX: usize = 1 << 20;
/// Bytes of a message header.
pub const HEADER: usize = 8;

/// A control message (channel 0).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// Agent → launcher, first: who answers.
    Hello { version: u32, host: String },
    /// Launcher → agent: ask each program `--describe` (found beside the agent's `copipe`
    /// or on its `PATH`).
    Describe { programs: Vec<String> },
    /// Agent → launcher: one answer per program asked, in order.
    Described { answers: Vec<Described> },
    /// Launcher → agent: start these stages.
    Start {
        stages: Vec<RemoteStage>,
        stats: bool,
    },
    /// Agent → launcher: every stage of `Start` is running (or why one is not; then the
    /// agent stops the ones it started).
    Started {
        pids: Vec<i32>,
        error: Option<String>,
    },
    /// Launcher → agent: send `signal` to stage `stage` (its graph position).
    Signal { stage: usize, signal: i32 },
    /// Agent → launcher: a stage ended.
    Exited(Exit),
    /// Either way: `bytes` more may be sent on `channel`.
    Credit { channel: u32, bytes: u32 },
    /// Either way: the reader of `channel` is gone; stop sending on it (its writer then
    /// sees a broken pipe, as it would locally).
    Shut { channel: u32 },
}

/// A program's answer to `--describe`, as the agent got it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Described {
    /// The program printed this (one JSON line).
    Answer(String),
    /// The program ran but gave no usable answer: left unchecked, as locally.
    Silent,
    /// No such program where the agent looked (`places` says where).
    Missing { places: String },
}

/// Where one end of a remote stage's stdin or stdout goes.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// Nothing (`/dev/null`).
    Null,
    /// A pipe to or from another stage on the same host (the graph's link index).
    Pipe(usize),
    /// A data channel of the connection (a link to another host).
    Channel(u32),
}

/// A stage the agent starts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RemoteStage {
    /// Its graph position ("stage N").
    pub position: usize,
    /// The program as named in the spec, then its arguments, exactly as written.
    pub argv: Vec<String>,
    /// True when it takes its inputs (`co-merge`) or its outputs (`co-broadcast`) as
    /// `/dev/fd/N` paths rather than as stdin or stdout.
    pub input_paths: bool,
    pub output_paths: bool,
    /// Its inputs and outputs.
    pub inputs: Vec<End>,
    pub outputs: Vec<End>,
    /// The channel its stderr goes to.
    pub stderr: u32,
}

/// How a remote stage ended, with what `--stats` needs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Exit {
    pub stage: usize,
    /// The raw `wait` status.
    pub status: i32,
    pub wall_us: u64,
    pub cpu_us: u64,
    pub max_rss_kib: u64,
    /// The stage's link statistics file, as it left it.
    pub stats: Option<String>,
}

/// Writes one message: header and payload in one `write_all`, so messages written by
/// several threads under one lock never interleave. `buf` holds [`HEADER`] bytes of room
/// followed by the payload.
pub fn write_message(out: &mut impl Write, channel: u32, buf: &mut [u8]) -> io::Result<()> {
    let len = u32::try_from(buf.len() - HEADER).expect("payloads are bounded");
    buf[..4].copy_from_slice(&channel.to_le_bytes());
    buf[4..HEADER].copy_from_slice(&len.to_le_bytes());
    out.write_all(buf)
}

/// A control message as bytes ready for [`write_message`].
pub fn control_bytes(msg: &Control) -> Vec<u8> {
    let mut buf = vec![0; HEADER];
    serde_json::to_writer(&mut buf, msg).expect("control messages serialize");
    buf
}

/// Reads one message header: `None` at a clean end of the connection.
pub fn read_header(input: &mut impl Read) -> io::Result<Option<(u32, usize)>> {
    let mut header = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        match input.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let channel = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
    let len = u32::from_le_bytes(header[4..].try_into().expect("4 bytes")) as usize;
    let max = if channel == CONTROL {
        CONTROL_MAX
    } else {
        CHUNK
    };
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a message of {len} bytes on channel {channel}, over the limit of {max}: the connection carries something else"),
        ));
    }
    Ok(Some((channel, len)))
}

/// Parses a control payload.
pub fn parse_control(payload: &[u8]) -> io::Result<Control> {
    serde_json::from_slice(payload).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("undecodable control message: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(msg: &Control) -> Control {
        let mut buf = control_bytes(msg);
        let mut wire = Vec::new();
        write_message(&mut wire, CONTROL, &mut buf).unwrap();
        let mut input = &wire[..];
        let (channel, len) = read_header(&mut input).unwrap().unwrap();
        assert_eq!((channel, len), (CONTROL, wire.len() - HEADER));
        parse_control(input).unwrap()
    }

    #[test]
    fn control_messages_round_trip() {
        let messages = [
            Control::Hello {
                version: VERSION,
                host: "b".into(),
            },
            Control::Describe {
                programs: vec!["co-grep".into(), "odd 'name'\n".into()],
            },
            Control::Described {
                answers: vec![
                    Described::Answer("{\"input\":\"lines\"}".into()),
                    Described::Silent,
                    Described::Missing {
                        places: "on PATH".into(),
                    },
                ],
            },
            Control::Start {
                stages: vec![RemoteStage {
                    position: 3,
                    argv: vec!["co-grep".into(), "$(x); `y` \"z\"\n".into()],
                    input_paths: true,
                    output_paths: false,
                    inputs: vec![End::Channel(1), End::Pipe(4)],
                    outputs: vec![End::Null],
                    stderr: 2,
                }],
                stats: true,
            },
            Control::Started {
                pids: vec![12],
                error: Some("no".into()),
            },
            Control::Signal {
                stage: 3,
                signal: 9,
            },
            Control::Exited(Exit {
                stage: 3,
                status: 9,
                wall_us: 1,
                cpu_us: 2,
                max_rss_kib: 3,
                stats: Some("[]".into()),
            }),
            Control::Credit {
                channel: 7,
                bytes: WINDOW,
            },
            Control::Shut { channel: 7 },
        ];
        for msg in &messages {
            assert_eq!(&round_trip(msg), msg);
        }
    }

    #[test]
    fn an_oversized_or_cut_message_is_an_error() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&5u32.to_le_bytes());
        wire.extend_from_slice(&(CHUNK as u32 + 1).to_le_bytes());
        assert!(read_header(&mut &wire[..]).is_err());
        assert!(read_header(&mut &wire[..3]).is_err());
        assert!(read_header(&mut &[][..]).unwrap().is_none());
    }
}
