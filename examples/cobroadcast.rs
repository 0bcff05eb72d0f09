//! The seed's `cobroadcast.py`: one source, `broadcast` to three `grep`s (Part 1).
//!
//! By default each `grep` has its own printer, as in the seed's first hook-up. The three
//! printers all write through the process's one stdout, which is line-buffered, so lines
//! come out in the order they were sent: for each log line, its python match, then its ply
//! match, then its swig match.
//!
//! `--shared` runs the seed's "more disturbing variation": the three `grep`s send to *one*
//! printer. A Rust value has one owner, so sharing is explicit: `copipe::sink::Shared`
//! gives each `grep` a handle on the same printer (`Rc<RefCell<_>>` inside). The output is
//! the same. (In the seed the second `follow` is never reached, since the first one runs
//! forever; here a flag picks one.)
//!
//! The seed's Part 3 then shows why sharing is disturbing: put each `grep` in a thread,
//!
//! ```text
//! let p = Shared::new(Printer::new(io::stdout()));
//! let target = Broadcast::new(vec![
//!     Threaded::new(Grep::new("foo", p.clone())),
//!     Threaded::new(Grep::new("bar", p.clone())),
//! ]);
//! ```
//!
//! and two threads `send()` into the one printer at once, which crashes Python ("generator
//! already executing"). In Rust that program does not compile: `Threaded::new` moves its
//! stage to a worker thread, so it requires `Send`, and `Shared` holds an `Rc`, which is not
//! `Send`. rustc says:
//!
//! ```text
//! error[E0277]: `Rc<sink::SharedInner<Printer<Stdout>>>` cannot be sent between threads safely
//! ```
//!
//! The crash becomes a compile error. (A shared stage that threads can use would need a
//! `Mutex`, which makes the two senders take turns: the race is gone by construction.)
//!
//! Run: `cargo run --example cobroadcast -- access-log [--shared] [--from-start]`; Ctrl-C
//! stops.

use std::io::{self, BufWriter};
use std::process::ExitCode;

use clap::Parser;
use copipe::error::Result;
use copipe::sink::{Broadcast, Shared};
use copipe::stages::follow::{follow, FollowedFile};
use copipe::stages::grep::Grep;
use copipe::stages::printer::Printer;

/// Print each line appended to FILE that contains python, ply or swig (once per pattern it
/// contains). Ctrl-C stops.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    log: FollowedFile,
    /// Send all three greps to one shared printer (the seed's "disturbing variation").
    #[arg(long)]
    shared: bool,
}

fn run(args: Args) -> Result<()> {
    copipe::signals::stop_on_signals();
    let options = args.log.options();
    if args.shared {
        // A more disturbing variation...
        let p = Shared::new(Printer::new(BufWriter::new(io::stdout().lock())));
        // Each grep holds a handle; the last one closed closes the printer.
        let greps = vec![
            Grep::new("python", p.clone()),
            Grep::new("ply", p.clone()),
            Grep::new("swig", p),
        ];
        follow(&args.log.file, &options, &mut Broadcast::new(greps))
    } else {
        let greps = vec![
            Grep::new("python", Printer::new(io::stdout())),
            Grep::new("ply", Printer::new(io::stdout())),
            Grep::new("swig", Printer::new(io::stdout())),
        ];
        follow(&args.log.file, &options, &mut Broadcast::new(greps))
    }
}

fn main() -> ExitCode {
    copipe::run::finish("cobroadcast", run(Args::parse()))
}
