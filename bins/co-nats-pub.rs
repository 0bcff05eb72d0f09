//! co-nats-pub: a link's events into a NATS subject (a `JetStream` stream).
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use copipe::args::InputArgs;
use copipe::nats::connect::NatsArgs;
use copipe::nats::publish::{run_publish, PubOptions};
use copipe::protocol::StageInfo;
use copipe::run;

const INFO: StageInfo = copipe::nats::PUB_INFO;

/// Publish the input's events to a NATS subject (a `JetStream` stream): a durable link that outlives this
/// process.
///
/// The events are stored in the stream `COPIPE_<SUBJECT>` (created if needed) under
/// `SUBJECT.<PRODUCER>`. Rerun after a crash with the same input, it resumes after the events
/// the server already holds: nothing is doubled.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example:\n  co-lines access-log | co-nats-pub logs --nats nats://host:4222\n  co-nats-sub logs --nats nats://host:4222 | co-grep python | co-printer"
)]
struct Args {
    /// The subject (dot-separated words, no wildcards).
    subject: String,
    /// This producer's name; give each of several producers into one subject its own.
    #[arg(long, value_name = "NAME", default_value = "main")]
    producer: String,
    /// Bytes the stream may hold; once full, publishing waits for consumers (back-pressure).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    max_bytes: i64,
    /// Largest message, in bytes (capped by the server's maximum payload); larger frames are split.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    message_bytes: usize,
    /// Seconds to keep retrying while the server is unreachable before failing.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    retry_for: u64,
    /// When the input breaks off (its writer died), exit without marking the stream failed:
    /// a restart of the same producer resumes it (the launcher sets this for a stage it
    /// restarts).
    #[arg(long)]
    resumable: bool,
    #[command(flatten)]
    nats: NatsArgs,
    #[command(flatten)]
    input: InputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        let opts = PubOptions {
            subject: args.subject,
            producer: args.producer,
            max_bytes: args.max_bytes,
            message_bytes: args.message_bytes,
            retry_for: Duration::from_secs(args.retry_for),
            resumable: args.resumable,
        };
        run_publish(&INFO.name, &args.nats, &opts, &args.input)
    })
}
