//! `grep(pattern, target)`: passes on the lines that contain a pattern.
//!
//! The seed tests `pattern in line`: a plain substring match. `memchr::memmem` finds it with
//! SIMD, so a filter costs little next to the link. `co-grep --regex` takes a regular
//! expression instead (the `regex` crate: found anywhere in the line, in time linear in the
//! line whatever the pattern).

use crate::signals::Shutdown;
use memchr::memmem::Finder;

use crate::args::{InputArgs, OutputArgs};
use crate::error::{Error, Result};
use crate::link::{self, Lines, SendTo};
use crate::sink::Sink;

/// The seed's `grep(pattern, target)` coroutine.
pub struct Grep<S> {
    /// The substring to find, unless `regex` is set.
    finder: Finder<'static>,
    regex: Option<regex::Regex>,
    target: S,
}

impl<S: Sink<str>> Grep<S> {
    /// Passes the lines containing `pattern`, a plain substring (the seed's grep).
    pub fn new(pattern: &str, target: S) -> Self {
        Grep {
            finder: Finder::new(pattern.as_bytes()).into_owned(),
            regex: None,
            target,
        }
    }

    /// Passes the lines in which `regex` finds a match.
    pub fn with_regex(regex: regex::Regex, target: S) -> Self {
        Grep {
            finder: Finder::new(b"").into_owned(),
            regex: Some(regex),
            target,
        }
    }
}

impl<S: Sink<str>> Sink<str> for Grep<S> {
    #[inline]
    fn send(&mut self, line: &str) -> Result<()> {
        let found = match &self.regex {
            None => self.finder.find(line.as_bytes()).is_some(),
            Some(regex) => regex.is_match(line),
        };
        if found {
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

/// `co-grep [--regex] PATTERN`: line events in, the matching ones out. A bad regular
/// expression is a usage error, reported before any input is read.
pub fn run_grep(pattern: &str, regex: bool, input: &InputArgs, output: &OutputArgs) -> Result<()> {
    let regex = regex.then(|| compile(pattern)).transpose()?;
    let mut reader = input.open()?;
    let target = SendTo::<Lines, _>::from_writer(output.open(crate::EventKind::Lines)?);
    let mut grep = match regex {
        Some(regex) => Grep::with_regex(regex, target),
        None => Grep::new(pattern, target),
    };
    link::recv_from::<Lines, _, _>(&mut reader, "co-grep", &mut grep, &Shutdown::on_signals())
}

/// Compiles a regular expression, its error on one line (the crate's span several).
fn compile(pattern: &str) -> Result<regex::Regex> {
    regex::Regex::new(pattern).map_err(|e| {
        Error::Usage(format!(
            "bad regular expression {pattern:?}: {}",
            crate::stages::filter::one_line(&e.to_string())
        ))
    })
}
