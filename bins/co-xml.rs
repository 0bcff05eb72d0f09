//! co-xml: an XML document to XML events (the seed's SAX `EventHandler`).
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use copipe::args::OutputArgs;
use copipe::observe::progress::ProgressArgs;
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::xml::{run_xml, XmlLimits};

const INFO: StageInfo = StageInfo::new("co-xml", Port::Text, Port::XML);

/// Parse an XML document into SAX-style events: start (name and attributes), text, end.
///
/// Entities are decoded, CDATA is text, and each run of character data between two tags is
/// one text event, never trimmed. Comments and processing instructions are skipped. Memory
/// is bounded whatever the document's size: a token or a run of character data over 16 MiB
/// is an error, not an unbounded buffer. A malformed document is reported with its
/// line:column and ends the stream without an end-of-stream marker.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-xml allroutes.xml | co-buses | co-filter route=22 | co-bus-locations"
)]
struct Args {
    /// The XML file to read; `-` or nothing reads standard input.
    file: Option<PathBuf>,
    #[command(flatten)]
    limits: XmlLimits,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    progress: ProgressArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        let _meter = args.progress.start(args.file.as_deref());
        run_xml(args.file.as_deref(), args.limits, &args.output)
    })
}
