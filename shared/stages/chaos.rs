//! `co-chaos`: a pass-through stage that fails on purpose, for process-isolation experiments.
//!
//! It passes every event on unchanged, optionally sleeping before each, and after `--after K`
//! events it strikes: panics, aborts, exits with a code, or hangs. Before striking it flushes
//! what it has passed on, so the downstream sees exactly K events and then a stream that
//! ends without its end-of-stream marker: the crash the launcher and the next stage must
//! notice. The fault strikes when event K+1 arrives, or at the end of the stream if exactly
//! K events came; a shorter stream passes through untouched.

use std::time::Duration;

use crate::args::{InputArgs, OutputArgs};
use crate::error::Result;
use crate::event::EventKind;
use crate::link::{self, Lines, Records, SendTo, Xml};
use crate::signals::Shutdown;
use crate::sink::Sink;

/// How `co-chaos` fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A Rust panic (exit status 101).
    Panic,
    /// `abort()`: death by SIGABRT.
    Abort,
    /// Exit with this status.
    Exit(u8),
    /// Stop passing events and wait forever (until a signal ends it).
    Hang,
}

/// What `co-chaos` does.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChaosPlan {
    /// Events passed on before the fault.
    pub after: u64,
    pub fault: Option<Fault>,
    /// Sleep before passing on each event.
    pub sleep: Duration,
    /// Ignore SIGTERM (and SIGINT), so only SIGKILL ends the stage: tests a launcher's
    /// escalation from a polite signal to a kill.
    pub ignore_term: bool,
}

/// The stage: passes events to `target` and follows its plan.
pub struct Chaos<S> {
    plan: ChaosPlan,
    passed: u64,
    target: S,
}

impl<S> Chaos<S> {
    pub fn new(plan: ChaosPlan, target: S) -> Self {
        Chaos {
            plan,
            passed: 0,
            target,
        }
    }

    fn strike<T: ?Sized>(&mut self) -> Result<()>
    where
        S: Sink<T>,
    {
        let Some(fault) = self.plan.fault else {
            return Ok(());
        };
        if self.passed != self.plan.after {
            return Ok(());
        }
        self.target.flush()?;
        let passed = self.passed;
        match fault {
            Fault::Panic => {
                std::panic::set_hook(Box::new(|p| {
                    eprintln!("co-chaos: {}", p.payload_as_str().unwrap_or("panic"));
                }));
                panic!("panicking after {passed} events, as asked (--panic)");
            }
            Fault::Abort => {
                eprintln!("co-chaos: aborting after {passed} events, as asked (--abort)");
                std::process::abort();
            }
            Fault::Exit(code) => {
                eprintln!(
                    "co-chaos: exiting with status {code} after {passed} events, as asked (--exit)"
                );
                std::process::exit(code.into());
            }
            Fault::Hang => {
                eprintln!("co-chaos: hanging after {passed} events, as asked (--hang)");
                // Until a signal ends it: a stop request (SIGTERM, SIGINT) is re-raised with
                // its default action, so the stage dies of it as a plain program would.
                while !crate::signals::stop_requested() {
                    std::thread::sleep(Duration::from_millis(10));
                }
                // SAFETY: restoring a default disposition and raising a signal at ourselves.
                unsafe {
                    libc::signal(libc::SIGTERM, libc::SIG_DFL);
                    libc::raise(libc::SIGTERM);
                }
                unreachable!("SIGTERM ends the process");
            }
        }
    }
}

impl<T: ?Sized, S: Sink<T>> Sink<T> for Chaos<S> {
    fn send(&mut self, item: &T) -> Result<()> {
        self.strike::<T>()?;
        if !self.plan.sleep.is_zero() {
            std::thread::sleep(self.plan.sleep);
        }
        self.target.send(item)?;
        self.passed += 1;
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        self.target.flush()
    }
    fn close(&mut self) -> Result<()> {
        self.strike::<T>()?;
        self.target.close()
    }
}

/// `co-chaos`: any stream in, the same stream out, until the plan says otherwise.
pub fn run_chaos(plan: ChaosPlan, input: &InputArgs, output: &OutputArgs) -> Result<()> {
    let mut reader = input.open()?;
    if plan.ignore_term {
        // SAFETY: setting signal dispositions to SIG_IGN has no preconditions.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
            libc::signal(libc::SIGINT, libc::SIG_IGN);
        }
    }
    let kind = reader.kind();
    let writer = output.open(kind)?;
    match kind {
        EventKind::Lines => {
            let mut chaos = Chaos::new(plan, SendTo::<Lines, _>::from_writer(writer));
            link::recv_from::<Lines, _, _>(
                &mut reader,
                "co-chaos",
                &mut chaos,
                &Shutdown::on_signals(),
            )
        }
        EventKind::Xml => {
            let mut chaos = Chaos::new(plan, SendTo::<Xml, _>::from_writer(writer));
            link::recv_from::<Xml, _, _>(
                &mut reader,
                "co-chaos",
                &mut chaos,
                &Shutdown::on_signals(),
            )
        }
        EventKind::Records => {
            let mut chaos = Chaos::new(plan, SendTo::<Records, _>::from_writer(writer));
            link::recv_from::<Records, _, _>(
                &mut reader,
                "co-chaos",
                &mut chaos,
                &Shutdown::on_signals(),
            )
        }
    }
}
