//! `grep(pattern, target)`: passes on the lines that contain a pattern.
//!
//! The seed tests `pattern in line`: a plain substring match, no regular expressions.
//! `memchr::memmem` finds it with SIMD, so a filter costs little next to the link.

use crate::signals::Shutdown;
use memchr::memmem::Finder;

use crate::args::{InputArgs, OutputArgs};
use crate::error::Result;
use crate::link::{self, Lines, SendTo};
use crate::sink::Sink;

/// The seed's `grep(pattern, target)` coroutine.
pub struct Grep<S> {
    finder: Finder<'static>,
    target: S,
}

impl<S: Sink<str>> Grep<S> {
    pub fn new(pattern: &str, target: S) -> Self {
        Grep {
            finder: Finder::new(pattern.as_bytes()).into_owned(),
            target,
        }
    }
}

impl<S: Sink<str>> Sink<str> for Grep<S> {
    #[inline]
    fn send(&mut self, line: &str) -> Result<()> {
        if self.finder.find(line.as_bytes()).is_some() {
            self.target.send(line)?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        self.target.flush()
    }
    fn close(&mut self) -> Result<()> {
        self.target.close()
    }
}

/// `co-grep PATTERN`: line events in, the matching ones out.
pub fn run_grep(pattern: &str, input: &InputArgs, output: &OutputArgs) -> Result<()> {
    let mut reader = input.open()?;
    let writer = output.open(crate::EventKind::Lines)?;
    let mut grep = Grep::new(pattern, SendTo::<Lines, _>::from_writer(writer));
    link::recv_from::<Lines, _, _>(&mut reader, "co-grep", &mut grep, &Shutdown::on_signals())
}
