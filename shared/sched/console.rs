//! The scheduler's console: one writer shared by the kernel and its tasks.
//!
//! In the seed, the scheduler's `exit()` and the tasks both `print` to the same stdout, so
//! the lines interleave in exactly the order the code runs. [`Console`] keeps that property
//! for any writer (stdout by default, an in-memory [`Capture`] in tests): the kernel writes
//! `Task N terminated` through it and tasks write through [`Sys::println`], so a test can
//! compare the whole interleaving line for line.
//!
//! [`Sys::println`]: super::Sys::println

use std::cell::RefCell;
use std::fmt::Display;
use std::io::{self, Write};
use std::rc::Rc;

/// A shared, line-oriented writer: the seed's `print` for the kernel and its tasks.
///
/// Cloning is cheap (a reference count); every clone writes to the same place.
///
/// A write error does not panic and does not stop the writer's owner at once: the first error
/// is kept (later lines are dropped) and the scheduler stops at its next step and returns it,
/// the way a process writing to a closed pipe gets `EPIPE` and ends.
#[derive(Clone)]
pub struct Console {
    inner: Rc<RefCell<Inner>>,
}

struct Inner {
    out: Box<dyn Write>,
    error: Option<io::Error>,
}

impl Console {
    /// A console writing to `out`.
    pub fn new(out: impl Write + 'static) -> Console {
        Console {
            inner: Rc::new(RefCell::new(Inner {
                out: Box::new(out),
                error: None,
            })),
        }
    }

    /// A console writing to standard output (the seed's `print`).
    pub fn stdout() -> Console {
        Console::new(io::stdout())
    }

    /// Writes `line` and a newline. After a write error this does nothing; see
    /// [`Console::take_error`].
    pub fn println(&self, line: impl Display) {
        // `try_borrow_mut` cannot fail here (nothing holds the borrow across a call), but a
        // failed borrow must not panic a task: the line is dropped instead.
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            if inner.error.is_none() {
                if let Err(e) = writeln!(inner.out, "{line}") {
                    inner.error = Some(e);
                }
            }
        }
    }

    /// Flushes the writer, recording an error as `println` does.
    pub fn flush(&self) {
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            if inner.error.is_none() {
                if let Err(e) = inner.out.flush() {
                    inner.error = Some(e);
                }
            }
        }
    }

    /// Whether a write has failed.
    pub fn failed(&self) -> bool {
        self.inner
            .try_borrow()
            .is_ok_and(|inner| inner.error.is_some())
    }

    /// Takes the first write error, if there was one.
    pub fn take_error(&self) -> Option<io::Error> {
        self.inner.try_borrow_mut().ok()?.error.take()
    }
}

impl Default for Console {
    fn default() -> Self {
        Console::stdout()
    }
}

/// An in-memory writer whose clones share one buffer: give one clone to a [`Console`], read
/// the lines back from another. For tests and for comparing scenario outputs.
#[derive(Clone, Default)]
pub struct Capture {
    buf: Rc<RefCell<Vec<u8>>>,
}

impl Capture {
    /// An empty capture.
    pub fn new() -> Capture {
        Capture::default()
    }

    /// Everything written so far, as text (invalid UTF-8 is replaced).
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.buf.borrow()).into_owned()
    }

    /// Everything written so far, one string per line.
    pub fn lines(&self) -> Vec<String> {
        self.contents().lines().map(str::to_owned).collect()
    }
}

impl Write for Capture {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.borrow_mut().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn clones_share_one_writer() {
        let cap = Capture::new();
        let a = Console::new(cap.clone());
        let b = a.clone();
        a.println("one");
        b.println(2);
        assert_eq!(cap.lines(), ["one", "2"]);
    }

    #[test]
    fn keeps_the_first_error_and_drops_later_lines() {
        let c = Console::new(Broken);
        assert!(!c.failed());
        c.println("x");
        c.println("y");
        assert!(c.failed());
        assert_eq!(
            c.take_error().map(|e| e.kind()),
            Some(io::ErrorKind::BrokenPipe)
        );
        assert!(c.take_error().is_none());
    }
}
