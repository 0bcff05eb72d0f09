//! The one driver every stage binary calls.
//!
//! [`stage_main`] answers `--describe`, parses the arguments (clap: `--help`, `--version`,
//! exit status 2 on a usage error), sets up signals, runs the stage, and turns the outcome
//! into an exit status and at most one line on stderr:
//!
//! * success, or a downstream that closed early (`| head -1`, a broken pipe): exit 0, quietly;
//! * a usage error found after parsing (say, frames to a terminal): `co-x: error: ...`, exit 2;
//! * anything else: `co-x: error: ...`, exit 1.
//!
//! Under the launcher, the stage leaves its link statistics at exit ([`crate::stats`]).

use std::borrow::Cow;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::error::{Error, Result};
use crate::protocol::{StageInfo, DESCRIBE_ARG};

/// Runs a stage binary: see the module documentation.
pub fn stage_main<A: Parser>(info: &StageInfo, body: impl FnOnce(A) -> Result<()>) -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    if let (Some(first), None) = (args.next(), args.next()) {
        if first == DESCRIBE_ARG {
            let mut out = std::io::stdout().lock();
            return match writeln!(out, "{}", info.to_json()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(1),
            };
        }
    }
    let name = static_name(info);
    std::panic::set_hook(Box::new(move |p| {
        eprintln!("{name}: error: internal error (a bug in copipe): {p}");
    }));
    // Name the command after the stage (not the package), for --help, --version and errors.
    let matches = A::command().name(name).bin_name(name).get_matches();
    let args = A::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let outcome = body(args);
    crate::stats::write_stats();
    finish(name, outcome)
}

/// The stage's name for the whole run: clap and the panic hook keep it. A stage's
/// [`StageInfo`] is a constant, so its name is borrowed for ever; one built at run time is
/// leaked, once per process.
fn static_name(info: &StageInfo) -> &'static str {
    match &info.name {
        Cow::Borrowed(name) => name,
        Cow::Owned(name) => name.clone().leak(),
    }
}

/// Maps a stage's outcome to an exit status and at most one line on stderr
/// ([`crate::error::exit_status`]).
pub fn finish(name: &str, outcome: Result<()>) -> ExitCode {
    crate::error::exit_status(name, outcome.map(|()| 0))
}

/// The standard `Error::Usage` for a bad argument value found after parsing.
pub fn usage(message: impl Into<String>) -> Error {
    Error::Usage(message.into())
}
