//! `follow`: the seed's Python `tail -f`, as a generator and as a pipeline source.
//!
//! The seed seeks to the end of a file, then loops on `readline()`, sleeping 0.1 s whenever
//! there is nothing new. copipe keeps the idea and goes as far as `tail -F`:
//!
//! * it waits on inotify (the `notify` crate) instead of sleeping, or polls every
//!   `--poll-ms` if asked (module `watch`), never spinning;
//! * it survives log rotation (the file renamed and re-created: the old file is read to its
//!   end, then the new one from its start) and truncation (reading restarts at the new
//!   start), without losing or repeating a line (module `tailer`);
//! * a line written in pieces is sent once, whole, when its `\n` arrives. An unterminated
//!   line is sent as it is only when the file is done with: at a stop (after reading on to
//!   its newline if the file has it), before a truncation, or when a rotated file is left.
//!   That is the "nothing lost" choice for a stream of line events.
//!
//! Two shapes, as in the seed:
//!
//! * [`Follow`], the generator of Part 0: an iterator that *pulls* lines
//!   (`for line in Follow::open(path, &options)?`);
//! * [`follow`], the source of Part 1: it *pushes* each line into a [`Sink`], flushing the
//!   sink whenever it is about to wait, so a live pipeline shows each line at once.
//!
//! Both end cleanly when a stop is requested (SIGINT/SIGTERM, see [`crate::signals`]).

mod tailer;
mod watch;

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::args::OutputArgs;
use crate::error::{Error, Result};
use crate::link::{Lines, SendTo};
use crate::signals;
use crate::sink::Sink;
use crate::stages::lines::LineOptions;

use tailer::{Change, Tailer};
use watch::Waiter;

/// How to follow a file.
#[derive(Clone, Debug, Default)]
pub struct FollowOptions {
    /// Send what the file already holds first, instead of starting at its end.
    pub from_start: bool,
    /// Poll every this long instead of waiting on inotify.
    pub poll: Option<Duration>,
    /// Wait for a missing file to appear (it is then read from its start) instead of failing.
    pub wait: bool,
    /// Longest line and invalid UTF-8 handling, as for `co-lines`.
    pub lines: LineOptions,
    /// Name to prefix notices with on stderr (file truncated, replaced, awaited), as `tail`
    /// gives them; `None` keeps quiet.
    pub notices_as: Option<&'static str>,
}

/// The arguments of the seed's follow examples: the file, and whether to read what it
/// already holds first.
#[derive(Debug, Clone, clap::Args)]
pub struct FollowedFile {
    /// The file to follow (try examples/data/access-log).
    pub file: PathBuf,
    /// Read what FILE already holds first, instead of starting at its end.
    #[arg(long)]
    pub from_start: bool,
}

impl FollowedFile {
    /// Follow options for this file: defaults but for `--from-start`.
    pub fn options(&self) -> FollowOptions {
        FollowOptions {
            from_start: self.from_start,
            ..FollowOptions::default()
        }
    }
}

impl FollowOptions {
    fn notice(&self, message: std::fmt::Arguments<'_>) {
        if let Some(name) = self.notices_as {
            eprintln!("{name}: {message}");
        }
    }
}

/// Opens the file to follow, waiting for it to appear if `options.wait` says so. `None`
/// means a stop was requested while waiting.
fn open_followed(
    path: &Path,
    options: &FollowOptions,
    waiter: &mut Waiter,
) -> Result<Option<Tailer>> {
    let mut waited = false;
    loop {
        // A file that appears while we wait is all new: read it from its start.
        match Tailer::open(path, options.from_start || waited, options.lines) {
            Ok(tailer) => {
                if waited {
                    options.notice(format_args!(
                        "{} has appeared; following it",
                        path.display()
                    ));
                }
                return Ok(Some(tailer));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && options.wait => {
                if !waited {
                    options.notice(format_args!("waiting for {} to appear", path.display()));
                    waited = true;
                }
                if signals::stop_requested() {
                    return Ok(None);
                }
                waiter.wait();
            }
            Err(e) => return Err(open_error(path, options, e)),
        }
    }
}

fn open_error(path: &Path, options: &FollowOptions, e: io::Error) -> Error {
    let hint = if e.kind() == io::ErrorKind::NotFound && options.notices_as.is_some() {
        " (--wait waits for it to appear)"
    } else {
        ""
    };
    Error::Other(format!("cannot follow {}: {e}{hint}", path.display()))
}

fn announce(options: &FollowOptions, tailer: &Tailer, change: Change) {
    match change {
        Change::None => {}
        Change::Truncated => options.notice(format_args!(
            "{}: file truncated; reading from its start",
            tailer.label()
        )),
        Change::Rewritten => options.notice(format_args!(
            "{}: file rewritten in place (truncated and refilled past the old end between two looks); reading from its start",
            tailer.label()
        )),
        Change::Replaced => options.notice(format_args!(
            "{} has been replaced; following the new file",
            tailer.label()
        )),
    }
}

/// The seed's `follow(thefile, target)`: sends every line appended to `path` to `target`
/// until a stop is requested, then sends the unterminated rest (if any) and closes `target`.
///
/// `target` is flushed each time `follow` is about to wait and has sent something since the
/// last flush: lines reach the end of the pipeline at once, without a flush per line.
pub fn follow<S: Sink<str> + ?Sized>(
    path: &Path,
    options: &FollowOptions,
    target: &mut S,
) -> Result<()> {
    let (mut waiter, fallback) = Waiter::new(path, options.poll);
    if let Some(why) = fallback {
        options.notice(format_args!("{why}"));
    }
    let Some(tailer) = open_followed(path, options, &mut waiter)? else {
        return target.close();
    };
    let outcome = follow_lines(tailer, &mut waiter, options, target);
    crate::sink::deliver_then_close(outcome, target)
}

/// The loop of [`follow`], without the close: after an error, [`follow`] still delivers
/// every line sent before it.
fn follow_lines<S: Sink<str> + ?Sized>(
    mut tailer: Tailer,
    waiter: &mut Waiter,
    options: &FollowOptions,
    target: &mut S,
) -> Result<()> {
    let mut unflushed = false;
    'following: loop {
        loop {
            let mut send = |line: &str| {
                unflushed = true;
                target.send(line)
            };
            if tailer.read_chunk(&mut send)? == 0 {
                let change = tailer.check(&mut send)?;
                announce(options, &tailer, change);
                if change == Change::None {
                    break;
                }
            }
            if signals::stop_requested() {
                break 'following;
            }
        }
        if signals::stop_requested() {
            break;
        }
        if unflushed {
            target.flush()?;
            unflushed = false;
        }
        waiter.wait();
    }
    tailer.finish(&mut |line: &str| target.send(line))
}

/// The seed's generator `follow(thefile)`: an iterator over the lines appended to a file.
///
/// `next()` blocks until a line is there (waiting as [`follow`] does) and returns `None` once
/// a stop is requested and every line read has been handed out. Each line is a new `String`:
/// the price of pulling (a pushed line is lent to the sink straight from the read buffer).
pub struct Follow {
    /// `None` once done: stopped, or failed.
    tailer: Option<Tailer>,
    waiter: Waiter,
    options: FollowOptions,
    ready: VecDeque<String>,
}

/// The parts of a [`Follow`] that [`Follow::fill`] uses beside its tailer.
struct FollowState<'f> {
    ready: &'f mut VecDeque<String>,
    waiter: &'f mut Waiter,
    options: &'f FollowOptions,
}

impl Follow {
    /// Starts following `path` (at its end unless `options.from_start`).
    pub fn open(path: impl AsRef<Path>, options: &FollowOptions) -> Result<Self> {
        let path = path.as_ref();
        let (mut waiter, fallback) = Waiter::new(path, options.poll);
        if let Some(why) = fallback {
            options.notice(format_args!("{why}"));
        }
        // `None`: a stop came while waiting for the file; the iterator is then empty.
        let tailer = open_followed(path, options, &mut waiter)?;
        Ok(Follow {
            tailer,
            waiter,
            options: options.clone(),
            ready: VecDeque::new(),
        })
    }

    /// Reads what is there into `ready`, or waits if nothing is.
    fn fill(tailer: &mut Tailer, follow: &mut FollowState<'_>) -> Result<()> {
        let ready = &mut *follow.ready;
        let mut keep = |line: &str| {
            ready.push_back(line.to_owned());
            Ok(())
        };
        // One chunk at a time, so memory stays bounded by the chunk size.
        if tailer.read_chunk(&mut keep)? == 0 {
            let change = tailer.check(&mut keep)?;
            announce(follow.options, tailer, change);
            if change == Change::None && follow.ready.is_empty() {
                follow.waiter.wait();
            }
        }
        Ok(())
    }
}

impl Iterator for Follow {
    type Item = Result<String>;

    fn next(&mut self) -> Option<Result<String>> {
        loop {
            if let Some(line) = self.ready.pop_front() {
                return Some(Ok(line));
            }
            let tailer = self.tailer.as_mut()?;
            let outcome = if signals::stop_requested() {
                let ready = &mut self.ready;
                let finished = tailer.finish(&mut |line: &str| {
                    ready.push_back(line.to_owned());
                    Ok(())
                });
                self.tailer = None;
                finished
            } else {
                let mut state = FollowState {
                    ready: &mut self.ready,
                    waiter: &mut self.waiter,
                    options: &self.options,
                };
                Follow::fill(tailer, &mut state)
            };
            if let Err(e) = outcome {
                self.tailer = None;
                return Some(Err(e));
            }
        }
    }
}

/// `co-follow FILE`: the lines appended to FILE, as line events, until SIGINT or SIGTERM.
pub fn run_follow(path: &Path, options: &FollowOptions, output: &OutputArgs) -> Result<()> {
    signals::stop_on_signals();
    let writer = output.open(crate::EventKind::Lines)?;
    let mut sink = SendTo::<Lines, File>::from_writer(writer);
    follow(path, options, &mut sink)
}
