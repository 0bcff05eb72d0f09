//! The seed's "hidden danger" (Part 3): two threads send into one coroutine at once.
//!
//! ```python
//! from cobroadcast import *
//! from cothread import threaded
//!
//! p = printer()
//! target = broadcast([threaded(grep('foo',p)),
//!                     threaded(grep('bar',p))])
//!
//! # Adjust the count if this doesn't cause a crash
//! for i in xrange(10):
//!     target.send("foo is nice\n")
//!     target.send("bar is bad\n")
//!
//! del target
//! del p
//! ```
//!
//! In Python the two worker threads may call `p.send()` while `p` is running, and the program
//! dies with `ValueError: generator already executing`, or not, depending on timing.
//!
//! **At compile time**, Rust refuses the program as written. Sharing one stage between
//! several senders is [`Shared`], and a `Shared` handle holds an `Rc`, which is not `Send`;
//! [`Threaded::new`] moves its stage to a worker thread, so it requires `Send`:
//!
//! ```text
//! let p = Shared::new(Printer::new(io::stdout()));
//! let target = Broadcast::new(vec![
//!     Threaded::<String>::new(Grep::new("foo", p.clone())),
//!     Threaded::<String>::new(Grep::new("bar", p.clone())),
//! ]);
//! error[E0277]: `Rc<SharedInner<Printer<Stdout>>>` cannot be sent between threads safely
//! ```
//!
//! (The `compile_fail` doctest on [`Shared`] keeps that claim checked.) To share a stage
//! between threads you have to say how they take turns: here a `Mutex` ([`Locked`]). Then
//! the program runs, and prints its twenty lines in the order the threads reach the lock.
//!
//! **At run time**, one way to send into a running stage is left, without threads: a
//! pipeline that loops back into a stage that is still inside its own `send`. Python raises
//! `ValueError: generator already executing` there too; `Shared` finds the stage busy and
//! returns [`Error::Reentrant`] instead of corrupting it. The second half shows that.
//!
//! Run: `cargo run --example cocrash`

use std::cell::RefCell;
use std::io::{self, Write};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};

use clap::Parser;
use copipe::error::{Error, Result};
use copipe::sink::{Broadcast, Shared, Threaded};
use copipe::stages::grep::Grep;
use copipe::stages::printer::Printer;
use copipe::Sink;

/// One stage shared by threads, taking turns behind a mutex: what `Shared` would have to be
/// for the seed's program to compile.
struct Locked<S>(Arc<Mutex<S>>);

impl<S> Clone for Locked<S> {
    fn clone(&self) -> Self {
        Locked(Arc::clone(&self.0))
    }
}

impl<S: Sink<str>> Sink<str> for Locked<S> {
    fn send(&mut self, line: &str) -> Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(line)
    }
    fn flush(&mut self) -> Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
    /// Each sender's close only flushes: the printer outlives them all.
    fn close(&mut self) -> Result<()> {
        self.flush()
    }
}

/// The seed's program with the printer behind a mutex: it compiles, and cannot crash.
fn threads_take_turns() -> Result<()> {
    let p = Locked(Arc::new(Mutex::new(Printer::new(io::stdout()))));
    let mut target = Broadcast::new(vec![
        Threaded::<String>::new(Grep::new("foo", p.clone())),
        Threaded::<String>::new(Grep::new("bar", p.clone())),
    ]);
    for _ in 0..10 {
        target.send("foo is nice")?;
        target.send("bar is bad")?;
    }
    Sink::<str>::close(&mut target) // del target: each thread finishes its queue, then ends
}

/// A stage that prints each line, then sends it back into the head of its own pipeline.
struct Loop {
    head: Rc<RefCell<Option<Shared<Loop>>>>,
}

impl Sink<str> for Loop {
    fn send(&mut self, line: &str) -> Result<()> {
        say(line)?;
        let head = self.head.borrow().clone();
        match head {
            Some(mut head) => head.send(line), // re-enters this very stage
            None => Ok(()),
        }
    }
    fn flush(&mut self) -> Result<()> {
        io::stdout().flush().map_err(Error::writing_output)
    }
    fn close(&mut self) -> Result<()> {
        self.flush()
    }
}

/// A send into a stage that is running, without threads: `Shared` reports it.
fn send_into_a_running_stage() -> Result<()> {
    let head = Rc::new(RefCell::new(None));
    let mut p = Shared::new(Loop {
        head: Rc::clone(&head),
    });
    *head.borrow_mut() = Some(p.clone());
    let outcome = p.send("foo is nice");
    head.borrow_mut().take(); // break the cycle, so the stage is freed
    match outcome {
        Err(e @ Error::Reentrant) => say(format_args!("Error::Reentrant: {e}")),
        Err(e) => Err(e),
        Ok(()) => say("(the loop went unnoticed)"),
    }
}

fn say(line: impl std::fmt::Display) -> Result<()> {
    writeln!(io::stdout(), "{line}").map_err(Error::writing_output)
}

fn run() -> Result<()> {
    threads_take_turns()?;
    send_into_a_running_stage()
}

/// Run the seed's hidden danger: threads sharing one stage, and a re-entrant send.
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    copipe::run::finish("cocrash", run())
}
