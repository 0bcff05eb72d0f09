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
        // "panicked at FILE:LINE:COL:\nMESSAGE": kept on the one error line.
        let p = crate::error::one_line(&p.to_string()).into_owned();
        eprintln!("{name}: error: internal error (a bug in copipe): {p}");
    }));
    // Name the command after the stage (not the package), for --help, --version and errors.
    let parsed = A::command()
        .name(name)
        .bin_name(name)
        .try_get_matches()
        .and_then(|m| A::from_arg_matches(&m));
    let args = match parsed {
        Ok(args) => args,
        Err(e) => return usage_exit(name, &e),
    };
    crate::observe::live::start();
    let outcome = body(args);
    crate::stats::write_stats();
    crate::stats::finish_taps();
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

/// Prints `--help`/`--version` as clap does (exit 0), and a usage error as the one line the
/// README promises, `co-x: error: ...` naming the stage (exit 2), instead of clap's
/// multi-line report.
pub fn usage_exit(name: &str, e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
    }
    let _ = writeln!(
        std::io::stderr(),
        "{name}: error: {} (see {name} --help)",
        one_line(&e.to_string())
    );
    ExitCode::from(2)
}

/// Clap's message without its `error: ` prefix, usage block and hints, on one line.
fn one_line(message: &str) -> String {
    let mut lines = message.lines();
    let first = lines.next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let mut line = first.trim().to_owned();
    // "the following required arguments were not provided:" lists them on the next lines.
    if line.ends_with(':') {
        let listed: Vec<&str> = lines.map(str::trim).take_while(|l| !l.is_empty()).collect();
        line.push(' ');
        line.push_str(&listed.join(", "));
    }
    // clap puts the hint for an unexpected argument on its own `tip:` line: keep it.
    if let Some(tip) = message.lines().find_map(|l| l.trim().strip_prefix("tip: ")) {
        line.push_str("; ");
        line.push_str(tip);
    }
    line
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
