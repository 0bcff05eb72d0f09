//! co-chaos: a pass-through stage that fails on purpose.
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use copipe::args::{InputArgs, OutputArgs};
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::chaos::{run_chaos, ChaosPlan, Fault};

const INFO: StageInfo = StageInfo::new("co-chaos", Port::Any, Port::Any);

/// Pass every event on unchanged, then fail on purpose after K events: panic, abort, exit
/// with a code, or hang. For experiments with process isolation and the launcher.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-lines log | co-chaos --after 100 --abort | co-printer"
)]
#[allow(clippy::struct_excessive_bools)] // one bool per clap flag: the faults are exclusive
struct Args {
    /// Events to pass on before the fault strikes.
    #[arg(long, value_name = "K", default_value_t = 0)]
    after: u64,
    /// Panic (exit status 101).
    #[arg(long, group = "fault")]
    panic: bool,
    /// Abort (death by SIGABRT).
    #[arg(long, group = "fault")]
    abort: bool,
    /// Exit with status CODE.
    #[arg(long, group = "fault", value_name = "CODE")]
    exit: Option<u8>,
    /// Stop passing events and wait until a signal ends the stage.
    #[arg(long, group = "fault")]
    hang: bool,
    /// Sleep this many milliseconds before passing on each event.
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    sleep_ms: f64,
    /// Ignore SIGTERM and SIGINT: only SIGKILL stops the stage.
    #[arg(long)]
    ignore_term: bool,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        let fault = if args.panic {
            Some(Fault::Panic)
        } else if args.abort {
            Some(Fault::Abort)
        } else if args.hang {
            Some(Fault::Hang)
        } else {
            args.exit.map(Fault::Exit)
        };
        if !(args.sleep_ms.is_finite() && args.sleep_ms >= 0.0) {
            return Err(run::usage(
                "--sleep-ms wants a number of milliseconds, 0 or more",
            ));
        }
        let plan = ChaosPlan {
            after: args.after,
            fault,
            sleep: Duration::from_secs_f64(args.sleep_ms / 1000.0),
            ignore_term: args.ignore_term,
        };
        run_chaos(plan, &args.input, &args.output)
    })
}
