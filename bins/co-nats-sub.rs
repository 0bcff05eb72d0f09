//! co-nats-sub: the events of a NATS subject (a `JetStream` stream), through a durable consumer.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use copipe::nats::connect::NatsArgs;
use copipe::nats::subscribe::{run_subscribe, SubOptions};
use copipe::protocol::StageInfo;
use copipe::run;
use copipe::EventKind;

const INFO: StageInfo = copipe::nats::SUB_INFO;

/// Read the events co-nats-pub stored under a NATS subject (a `JetStream` stream), through a durable
/// consumer: a restart resumes after the last event written out.
///
/// A message is acknowledged only once written. Into a regular file (--output FILE) a journal
/// beside it (FILE.copipe-journal) makes a restart exact even after kill -9. The output ends
/// when every producer (--producers) has ended its stream.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example:\n  co-nats-sub logs --durable printer | co-printer\n  co-nats-sub logs --durable archive --output logs.frames"
)]
struct Args {
    /// The subject (as given to co-nats-pub).
    subject: String,
    /// The durable consumer's name: each independent reader of a subject gets its own.
    #[arg(long, value_name = "NAME", default_value = "copipe")]
    durable: String,
    /// How many producers' end markers end the output (fan-in).
    #[arg(long, value_name = "N", default_value_t = 1)]
    producers: usize,
    /// The kind of events expected (lines, xml, records); another kind is refused.
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    kind: Option<EventKind>,
    /// Messages delivered but not yet written out, at most (each at most the server's maximum payload).
    #[arg(long, value_name = "N", default_value_t = 16)]
    max_ack_pending: i64,
    /// Seconds to keep retrying while the server is unreachable before failing.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    retry_for: u64,
    /// Bytes the stream may hold, if this consumer creates it.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    max_bytes: i64,
    /// Keep what every consumer has acknowledged in the stream (by default it is removed,
    /// so the stream's --max-bytes bounds only unconsumed data).
    #[arg(long)]
    keep: bool,
    /// Read the subject from its start at every run (implies --keep): for a stage the launcher
    /// restarts, whose publisher downstream skips what it already stored.
    #[arg(long)]
    replay: bool,
    /// Write frames to PATH (a regular file is journaled) instead of standard output.
    #[arg(long, value_name = "PATH")]
    output: Option<PathBuf>,
    #[command(flatten)]
    nats: NatsArgs,
}

fn parse_kind(s: &str) -> Result<EventKind, String> {
    copipe::nats::parse_kind(s).ok_or_else(|| format!("unknown kind {s:?} (lines, xml or records)"))
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        let opts = SubOptions {
            subject: args.subject,
            durable: args.durable,
            producers: args.producers.max(1),
            kind: args.kind,
            output: args.output,
            max_ack_pending: args.max_ack_pending.max(1),
            retry_for: Duration::from_secs(args.retry_for),
            max_bytes: args.max_bytes,
            trim: !args.keep && !args.replay,
            replay: args.replay,
        };
        run_subscribe(&INFO.name, &args.nats, &opts)
    })
}
