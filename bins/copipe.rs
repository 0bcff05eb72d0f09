//! copipe: run a graph of stage processes described in a spec.
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args as ClapArgs, Parser, Subcommand};
use copipe::launch::{self, dot, find::Finder, supervise};
use copipe::protocol::OnBranchClose;
use copipe::remote::client::Transport;
use copipe::remote::hosts::Hosts;

/// Run coroutine pipelines as Unix processes: spawn, wire, supervise and stop a graph of
/// stage processes described in a spec.
#[derive(Parser)]
#[command(
    version,
    after_help = "Spec syntax (one statement per line, or separated by `;`):\n  \
        name = command args...     a named stage (one process, usable in several chains)\n  \
        name@host = command args   a named stage on another host, reached with ssh (--rsh)\n  \
        a | b | c                  a chain; an element is a defined name or a command\n  \
        # comment                  a line ending with `|` or `\\` continues\n\n\
        Examples:\n  copipe run examples/bus.pipe\n  \
        copipe run -e 'co-lines access-log | co-grep python | co-printer'\n  \
        copipe graph examples/broadcast.pipe --dot | dot -Tsvg > graph.svg"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a graph until it ends.
    Run(RunArgs),
    /// Show the wired graph (inserted broadcasts and merges included) without running it.
    Graph(GraphArgs),
    /// The remote agent: serves a launcher over ssh (stdin/stdout). Not for direct use.
    #[command(hide = true)]
    Agent,
    /// List your running graphs.
    Ps(PsArgs),
    /// Watch a running graph live: each stage's state, CPU, memory and event rates, each
    /// link's rates and back-pressure, the bottleneck marked.
    Top(TopArgs),
    /// Show the events flowing on one link of a running graph, as co-dump shows them.
    Tap(TapArgs),
}

#[derive(ClapArgs)]
struct PsArgs {
    /// One JSON object per graph instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(ClapArgs)]
struct TopArgs {
    /// The graph's id (or a unique prefix), as `copipe ps` shows it; the only running graph
    /// if omitted.
    #[arg(value_name = "GRAPH")]
    graph: Option<String>,
    /// One JSON object per interval on stdout instead of the live table.
    #[arg(long)]
    json: bool,
    /// Seconds between samples.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    interval: f64,
    /// Stop after N samples.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
}

#[derive(ClapArgs)]
struct TapArgs {
    /// The graph's id (or a unique prefix), as `copipe ps` shows it.
    #[arg(value_name = "GRAPH")]
    graph: String,
    /// The link, as `copipe graph` names it: `A->B` (or `A-B`) from stage A to stage B.
    #[arg(value_name = "LINK")]
    link: String,
    /// Stop after N events.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// One JSON value per event (as `co-dump --json`).
    #[arg(long)]
    json: bool,
}

#[derive(ClapArgs)]
struct SpecSource {
    /// The spec file; `-` reads standard input.
    #[arg(
        value_name = "SPEC",
        required_unless_present = "text",
        conflicts_with = "text"
    )]
    spec: Option<PathBuf>,
    /// The spec itself, given inline (it may start with `-`: `-e '--help = co-printer'`).
    #[arg(
        short = 'e',
        long = "expr",
        value_name = "TEXT",
        allow_hyphen_values = true
    )]
    text: Option<String>,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// How stages placed on other hosts (`name@host = ...`) are reached.
#[derive(ClapArgs)]
struct RemoteArgs {
    /// The remote shell command, with its options (as rsync's -e): `ssh -p 2222`,
    /// `ssh -J jumphost`. Default: `$COPIPE_RSH`, else `ssh`.
    #[arg(long, value_name = "CMD")]
    rsh: Option<String>,
    /// The directory holding copipe and the stages on the remote hosts (default: the remote
    /// PATH).
    #[arg(long, value_name = "DIR")]
    remote_dir: Option<String>,
}

impl RemoteArgs {
    fn hosts(&self) -> Result<Hosts, copipe::Error> {
        Ok(Hosts::new(Transport::new(
            self.rsh.as_deref(),
            self.remote_dir.clone(),
        )?))
    }
}

#[derive(ClapArgs)]
struct RunArgs {
    #[command(flatten)]
    source: SpecSource,
    /// At exit, print each stage's status, wall and CPU time and peak memory, and each
    /// link's events and bytes, on stderr.
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "table", value_name = "FORMAT")]
    stats: Option<supervise::StatsFormat>,
    /// When a broadcast branch's consumer exits early: drop that branch and go on, or stop
    /// the graph.
    #[arg(long, value_name = "POLICY", value_enum, default_value_t = OnBranchClose::Drop)]
    on_branch_close: OnBranchClose,
    /// Seconds a drain (first Ctrl-C) may take before the stages are terminated.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    drain_timeout: f64,
    /// Seconds a stage may take to die after SIGTERM before it is killed.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    grace: f64,
    /// Progress meters on stderr (each source's file read so far, each sink's events), even
    /// when stderr is not a terminal (on a terminal they are shown anyway).
    #[arg(long)]
    progress: bool,
    /// The NATS server of the spec's nats: links, `nats://[USER:PASSWORD@]HOST:PORT`; by
    /// default `COPIPE_NATS`, else `nats://127.0.0.1:4222` (`COPIPE_NATS_CREDS` names a
    /// credentials file).
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
}

#[derive(ClapArgs)]
struct GraphArgs {
    #[command(flatten)]
    source: SpecSource,
    /// Print Graphviz DOT instead of a plain listing.
    #[arg(long)]
    dot: bool,
}

fn seconds(value: f64, flag: &str) -> Result<Duration, copipe::Error> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| copipe::Error::Usage(format!("{flag} wants a number of seconds, 0 or more")))
}

fn read_spec(source: &SpecSource) -> Result<(String, String), copipe::Error> {
    if let Some(text) = &source.text {
        return Ok((text.clone(), "-e".into()));
    }
    let path = source.spec.as_ref().expect("clap requires SPEC or -e");
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| copipe::Error::io(format!("reading {}", path.display()), e))?;
    Ok((text, path.display().to_string()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Agent => return copipe::remote::agent::main(),
        Command::Run(args) => run(args),
        Command::Graph(args) => graph(args),
        Command::Ps(args) => copipe::observe::ps::run(args.json).map(|()| 0),
        Command::Top(args) => top(&args),
        Command::Tap(args) => tap(&args),
    };
    copipe::error::exit_status("copipe", outcome)
}

fn run(args: RunArgs) -> Result<u8, copipe::Error> {
    if let Some(url) = &args.nats {
        // Before any thread starts: the inserted co-nats-pub and co-nats-sub read it.
        std::env::set_var("COPIPE_NATS", url);
    }
    let options = supervise::RunOptions {
        drain_timeout: seconds(args.drain_timeout, "--drain-timeout")?,
        grace: seconds(args.grace, "--grace")?,
        on_branch_close: args.on_branch_close,
        stats: args.stats,
        spec: String::new(),
        progress: args.progress,
    };
    let (text, source) = read_spec(&args.source)?;
    let options = supervise::RunOptions {
        spec: if source == "-e" {
            text.clone()
        } else {
            source.clone()
        },
        ..options
    };
    let mut hosts = args.source.remote.hosts()?;
    let graph = launch::load(&text, &source, &Finder::from_env(), &mut hosts)?;
    supervise::run(&graph, &options, hosts)
}

fn graph(args: GraphArgs) -> Result<u8, copipe::Error> {
    let (text, source) = read_spec(&args.source)?;
    let mut hosts = args.source.remote.hosts()?;
    let graph = launch::load(&text, &source, &Finder::from_env(), &mut hosts)?;
    hosts.close(Duration::ZERO);
    let out = if args.dot {
        dot::to_dot(&graph)
    } else {
        dot::to_text(&graph)
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| copipe::Error::io("writing the graph", e))?;
    Ok(0)
}

fn top(args: &TopArgs) -> Result<u8, copipe::Error> {
    use copipe::observe::{rundir, top};
    let interval = seconds(args.interval, "--interval")?.max(Duration::from_millis(50));
    let graph = rundir::find(args.graph.as_deref())?;
    let output = if args.json {
        top::Output::Json
    } else if std::io::stdout().is_terminal() {
        top::Output::Screen
    } else {
        return Err(copipe::Error::Usage(
            "the live table needs a terminal; use --json for a stream of samples".into(),
        ));
    };
    top::run(&graph, interval, output, args.count).map(|()| 0)
}

fn tap(args: &TapArgs) -> Result<u8, copipe::Error> {
    let missed = copipe::observe::tap::run(Some(&args.graph), &args.link, args.limit, args.json)?;
    if missed > 0 {
        eprintln!("copipe: tap: missed {missed} events (the tap was slower than the link)");
    }
    Ok(0)
}
