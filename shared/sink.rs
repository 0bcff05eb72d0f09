//! The coroutine, as a Rust trait, and the seed's adapters around it.
//!
//! A seed coroutine receives items with `send()` and cleans up on `close()` (Python raises
//! `GeneratorExit` inside it). Here a stage is a value implementing [`Sink`]: `send` takes one
//! item by reference, `close` flushes, releases, and closes the stage's own target in turn.
//! There is no priming step (the seed's `@coroutine` decorator): a constructor returns a stage
//! that is ready to receive.
//!
//! Filters own their target, as `grep(pattern, target)` does in the seed, so a pipeline is a
//! nested value: `Grep::new("python", Printer::new(out))`.
//!
//! The environments of the seed's Part 3 are adapters around the same stage values:
//! inline (call `send` directly), [`Threaded`] (a bounded queue and a worker thread), or a
//! process boundary ([`crate::link::SendTo`] and [`crate::link::recv_from`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::event::{OwnedEvent, OwnedForm};

/// A stage that receives items: the seed's coroutine.
///
/// `T` is the event type: `str` for lines, `XmlEvent<'a>` or `Record<'a>`. A filter owns its
/// target and passes items on, as the seed's `grep(pattern, target)` does:
///
/// ```
/// use copipe::sink::{collect, Sink};
/// use copipe::Result;
///
/// /// The seed's `grep(pattern, target)`.
/// struct Grep<S> {
///     pattern: String,
///     target: S,
/// }
///
/// impl<S: Sink<str>> Sink<str> for Grep<S> {
///     fn send(&mut self, line: &str) -> Result<()> {
///         if line.contains(&self.pattern) {
///             self.target.send(line)?; // target.send(line)
///         }
///         Ok(())
///     }
///     fn flush(&mut self) -> Result<()> {
///         self.target.flush()
///     }
///     fn close(&mut self) -> Result<()> {
///         self.target.close() // GeneratorExit: clean up, then close the target
///     }
/// }
///
/// let mut found = Vec::new();
/// let mut g = Grep { pattern: "python".into(), target: collect(&mut found) };
/// g.send("A series of tubes")?;
/// g.send("python generators rock!")?;
/// g.close()?;
/// assert_eq!(found, ["python generators rock!"]);
/// # Ok::<(), copipe::Error>(())
/// ```
pub trait Sink<T: ?Sized> {
    /// Receives one item: the seed's `target.send(item)`.
    fn send(&mut self, item: &T) -> Result<()>;

    /// Pushes anything buffered on towards the end of the pipeline. Called when the driver is
    /// about to block waiting for input, so live pipelines stay prompt without a flush per item.
    fn flush(&mut self) -> Result<()>;

    /// No more items will come: flush, release, and close the target. The seed's `close()`
    /// (`GeneratorExit`). Calling `send` after `close` is a logic error.
    fn close(&mut self) -> Result<()>;

    /// Delivers `error` into the stage, at the point where it waits for its next item: the
    /// seed's `g.throw(RuntimeError, "You're hosed")`.
    ///
    /// A stage that knows how to recover overrides this, handles the error (logs it, resets
    /// its state, passes a marker on) and returns `Ok(())`: it goes on receiving, as a
    /// coroutine that catches the exception goes on to its next `yield`. The default catches
    /// nothing: it forwards the error back to the caller unchanged, as an exception the
    /// coroutine does not catch comes back out of `throw()`. Adapters that stand for another
    /// stage (`&mut S`, `Box<S>`, [`Shared`]) forward it to that stage.
    ///
    /// Why a method and not a `Result` the caller keeps: in a pipeline the error often starts
    /// beside the stage that can deal with it (a source that lost its file, a supervisor
    /// that wants a stage to reset), not in the stage's own `send`.
    ///
    /// ```
    /// use copipe::sink::{collect, Sink};
    /// use copipe::{Error, Result};
    ///
    /// /// Counts lines; a thrown error is logged as a line and counting goes on.
    /// struct Resilient<'v>(Vec<String>, copipe::sink::Collect<'v, String>);
    ///
    /// impl Sink<str> for Resilient<'_> {
    ///     fn send(&mut self, line: &str) -> Result<()> {
    ///         self.1.send(line)
    ///     }
    ///     fn flush(&mut self) -> Result<()> {
    ///         Ok(())
    ///     }
    ///     fn close(&mut self) -> Result<()> {
    ///         Ok(())
    ///     }
    ///     fn throw(&mut self, error: Error) -> Result<()> {
    ///         self.0.push(error.to_string()); // caught: keep going
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let mut seen = Vec::new();
    /// let mut stage = Resilient(Vec::new(), collect(&mut seen));
    /// stage.send("one")?;
    /// stage.throw(Error::Other("RuntimeError: You're hosed".into()))?;
    /// stage.send("two")?;
    /// assert_eq!(stage.0, ["RuntimeError: You're hosed"]);
    /// drop(stage);
    /// assert_eq!(seen, ["one", "two"]);
    ///
    /// // A stage that does not override `throw` hands the error straight back.
    /// let mut plain = collect::<String>(&mut seen);
    /// let back = Sink::<str>::throw(&mut plain, Error::Other("hosed".into()));
    /// assert_eq!(back.unwrap_err().to_string(), "hosed");
    /// # Ok::<(), copipe::Error>(())
    /// ```
    fn throw(&mut self, error: Error) -> Result<()> {
        Err(error)
    }
}

impl<T: ?Sized, S: Sink<T> + ?Sized> Sink<T> for &mut S {
    fn send(&mut self, item: &T) -> Result<()> {
        (**self).send(item)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
    fn close(&mut self) -> Result<()> {
        (**self).close()
    }
    fn throw(&mut self, error: Error) -> Result<()> {
        (**self).throw(error)
    }
}

impl<T: ?Sized, S: Sink<T> + ?Sized> Sink<T> for Box<S> {
    fn send(&mut self, item: &T) -> Result<()> {
        (**self).send(item)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
    fn close(&mut self) -> Result<()> {
        (**self).close()
    }
    fn throw(&mut self, error: Error) -> Result<()> {
        (**self).throw(error)
    }
}

/// Ends a stage's run: closes `target` after a clean run; after an error, first delivers
/// everything sent before it (flush, no end-of-stream marker), so downstream handles every
/// event that came before the failure, then returns the error.
pub fn deliver_then_close<T: ?Sized, S: Sink<T> + ?Sized>(
    outcome: Result<()>,
    target: &mut S,
) -> Result<()> {
    match outcome {
        Ok(()) => target.close(),
        Err(e) => {
            // The error to report is the first one; a flush that fails too (a closed pipe)
            // has nothing more to say.
            let _ = target.flush();
            Err(e)
        }
    }
}

/// A sink made of a closure: for one-line sinks in examples and tests.
pub struct FnSink<F>(pub F);

/// Wraps a closure as a sink; `flush` and `close` do nothing.
pub fn sink_fn<T: ?Sized, F: FnMut(&T) -> Result<()>>(f: F) -> FnSink<F> {
    FnSink(f)
}

impl<T: ?Sized, F: FnMut(&T) -> Result<()>> Sink<T> for FnSink<F> {
    fn send(&mut self, item: &T) -> Result<()> {
        (self.0)(item)
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A sink that keeps an owned copy of every item in a vector.
pub struct Collect<'v, O>(&'v mut Vec<O>);

/// Collects items into `out` (`String`s for lines, `Record<'static>` for records).
pub fn collect<O>(out: &mut Vec<O>) -> Collect<'_, O> {
    Collect(out)
}

impl<T: ?Sized + OwnedEvent<Owned = O>, O> Sink<T> for Collect<'_, O> {
    fn send(&mut self, item: &T) -> Result<()> {
        self.0.push(item.to_owned_event());
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The seed's `broadcast(targets)`: sends every item to each target in turn.
///
/// Close closes every target, even when one of them fails; the first error is returned.
///
/// ```
/// use copipe::sink::{collect, Broadcast, Sink};
/// use copipe::stages::grep::Grep;
///
/// let (mut python, mut ply) = (Vec::new(), Vec::new());
/// {
///     let mut target = Broadcast::new(vec![
///         Grep::new("python", collect(&mut python)),
///         Grep::new("ply", collect(&mut ply)),
///     ]);
///     for line in ["python ply", "ply only", "neither"] {
///         target.send(line)?;
///     }
///     target.close()?;
/// }
/// assert_eq!(python, ["python ply"]);
/// assert_eq!(ply, ["python ply", "ply only"]);
/// # Ok::<(), copipe::Error>(())
/// ```
pub struct Broadcast<S> {
    targets: Vec<S>,
}

impl<S> Broadcast<S> {
    pub fn new(targets: Vec<S>) -> Self {
        Broadcast { targets }
    }
}

impl<T: ?Sized, S: Sink<T>> Sink<T> for Broadcast<S> {
    fn send(&mut self, item: &T) -> Result<()> {
        self.targets.iter_mut().try_for_each(|t| t.send(item))
    }
    fn flush(&mut self) -> Result<()> {
        self.targets.iter_mut().try_for_each(Sink::flush)
    }
    fn close(&mut self) -> Result<()> {
        let mut first = Ok(());
        for t in &mut self.targets {
            let r = t.close();
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

/// One stage shared by several upstream stages, as the seed's "disturbing variation" shares
/// one `printer()` between three `grep`s.
///
/// Single-threaded only (`Rc`), which is what makes it safe: Rust refuses to hand a `Shared`
/// to another thread, where the seed's threads crash. A re-entrant `send` (a stage sending
/// into itself through a cycle) is the seed's "`send()` on a running coroutine" and returns
/// [`Error::Reentrant`] instead of crashing. The inner stage is closed when the last handle
/// is closed; earlier closes only flush.
///
/// The seed's Part 3 "hidden danger" puts each `grep` in a thread in front of one shared
/// printer, and Python crashes with `ValueError: generator already executing`. In Rust that
/// program does not compile: [`Threaded::new`] needs a `Send` stage and a `Shared` handle is
/// not `Send` (error E0277):
///
/// ```compile_fail,E0277
/// use copipe::sink::{Shared, Threaded};
/// use copipe::stages::grep::Grep;
/// use copipe::stages::printer::Printer;
///
/// let p = Shared::new(Printer::new(std::io::stdout()));
/// let foo = Threaded::<String>::new(Grep::new("foo", p.clone()));
/// ```
///
/// What remains possible, a send that re-enters the running stage (through a cycle in the
/// pipeline), is reported as [`Error::Reentrant`]; the `cocrash` example shows both.
pub struct Shared<S> {
    inner: Rc<SharedInner<S>>,
}

struct SharedInner<S> {
    stage: RefCell<S>,
    open_handles: Cell<usize>,
}

impl<S> Shared<S> {
    pub fn new(stage: S) -> Self {
        Shared {
            inner: Rc::new(SharedInner {
                stage: RefCell::new(stage),
                open_handles: Cell::new(1),
            }),
        }
    }

    fn stage(&self) -> Result<std::cell::RefMut<'_, S>> {
        self.inner
            .stage
            .try_borrow_mut()
            .map_err(|_| Error::Reentrant)
    }
}

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        let open = &self.inner.open_handles;
        open.set(open.get() + 1);
        Shared {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<T: ?Sized, S: Sink<T>> Sink<T> for Shared<S> {
    fn send(&mut self, item: &T) -> Result<()> {
        self.stage()?.send(item)
    }
    fn flush(&mut self) -> Result<()> {
        self.stage()?.flush()
    }
    fn close(&mut self) -> Result<()> {
        let open = &self.inner.open_handles;
        open.set(open.get().saturating_sub(1));
        if open.get() == 0 {
            self.stage()?.close()
        } else {
            self.stage()?.flush()
        }
    }
    fn throw(&mut self, error: Error) -> Result<()> {
        self.stage()?.throw(error)
    }
}

enum Message<O> {
    /// A batch of items: the first `len` slots are filled.
    Batch(Vec<O>, usize),
    Flush,
    /// The sender closed: close the target. A queue that ends without it (the sender was
    /// dropped after an error) only flushes the target, so no end-of-stream is claimed.
    Close,
}

/// The seed's `threaded(target)`: items go through a bounded queue to a worker thread that
/// sends them to `target`. `close` ends the queue, waits for the worker to close its target,
/// and returns the worker's error if it had one.
///
/// The queue holds owned copies (`O` is `String` for lines, `Record<'static>` for records),
/// since the sender's borrowed items do not live long enough to cross threads. Items travel
/// in batches of [`THREADED_BATCH`] whose slots come back to the sender for reuse, so a
/// handover costs one queue operation per batch and, once warm, no allocation per item. A
/// partial batch leaves on `flush` (which the driver calls before it waits for input) and on
/// `close`, so nothing lingers.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use copipe::sink::{sink_fn, Sink, Threaded};
/// use copipe::stages::grep::Grep;
///
/// // The worker thread owns its stage; this one hands what it finds back through a mutex.
/// let found = Arc::new(Mutex::new(Vec::new()));
/// let seen = Arc::clone(&found);
/// let worker = Grep::new("python", sink_fn(move |line: &str| {
///     seen.lock().unwrap().push(line.to_owned());
///     Ok(())
/// }));
/// let mut threaded = Threaded::<String>::new(worker);
/// threaded.send("A series of tubes")?;
/// threaded.send("python generators rock!")?;
/// threaded.close()?; // ends the queue and waits for the worker to close its stage
/// assert_eq!(*found.lock().unwrap(), ["python generators rock!"]);
/// # Ok::<(), copipe::Error>(())
/// ```
pub struct Threaded<O> {
    batch: Vec<O>,
    filled: usize,
    queue: Option<SyncSender<Message<O>>>,
    empties: Receiver<Vec<O>>,
    worker: Option<JoinHandle<Result<()>>>,
}

/// Items per batch handed to a [`Threaded`] worker.
pub const THREADED_BATCH: usize = 256;
/// Batches that may wait in a [`Threaded`] queue before `send` blocks (back-pressure).
pub const THREADED_QUEUE: usize = 8;

impl<O: OwnedForm> Threaded<O> {
    /// Starts a worker thread running `target`: `Threaded::<String>::new(grep)` for lines,
    /// `Threaded::<Record<'static>>::new(filters)` for records.
    pub fn new<S>(target: S) -> Self
    where
        S: Sink<O::Event> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(THREADED_QUEUE);
        let (empties_tx, empties) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("threaded".into())
            .spawn(move || run_target(rx, empties_tx, target))
            .expect("spawning a thread");
        Threaded {
            batch: Vec::with_capacity(THREADED_BATCH),
            filled: 0,
            queue: Some(tx),
            empties,
            worker: Some(worker),
        }
    }

    fn put(&mut self, message: Message<O>) -> Result<()> {
        let delivered = match &self.queue {
            Some(q) => q.send(message).is_ok(),
            None => {
                return Err(Error::Other(
                    "send() after close() on a threaded stage".into(),
                ))
            }
        };
        if delivered {
            Ok(())
        } else {
            // The worker stopped early: its error says why.
            self.join()
        }
    }

    /// Hands the filled part of the current batch to the worker.
    fn ship(&mut self) -> Result<()> {
        if self.filled == 0 {
            return Ok(());
        }
        let fresh = self
            .empties
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(THREADED_BATCH));
        let full = std::mem::replace(&mut self.batch, fresh);
        let filled = std::mem::take(&mut self.filled);
        self.put(Message::Batch(full, filled))
    }

    /// Pushes queued items through the worker's stage (`Sink::flush`, callable without
    /// naming the item type).
    pub fn flush(&mut self) -> Result<()> {
        self.ship()?;
        self.put(Message::Flush)
    }

    /// Ends the queue, waits for the worker to close its target, and returns its error if it
    /// had one (`Sink::close`, callable without naming the item type).
    pub fn close(&mut self) -> Result<()> {
        self.ship()?;
        self.put(Message::Close)?;
        self.join()
    }

    fn join(&mut self) -> Result<()> {
        self.queue = None;
        match self.worker.take() {
            None => Ok(()),
            Some(w) => match w.join() {
                Ok(result) => result,
                Err(panic) => Err(Error::Thread(panic_message(&panic))),
            },
        }
    }
}

/// The worker: the seed's `run_target()`.
fn run_target<O: OwnedForm, S: Sink<O::Event>>(
    messages: Receiver<Message<O>>,
    empties: mpsc::Sender<Vec<O>>,
    mut target: S,
) -> Result<()> {
    for message in messages {
        match message {
            Message::Batch(items, filled) => {
                for item in &items[..filled] {
                    target.send(item.event())?;
                }
                // The sender may have gone; then the slots are simply dropped.
                let _ = empties.send(items);
            }
            Message::Flush => target.flush()?,
            // The seed's `GeneratorExit` put on the queue.
            Message::Close => return target.close(),
        }
    }
    // The sender went away without closing (it failed): deliver what came, claim no end.
    target.flush()
}

impl<T: ?Sized + OwnedEvent<Owned = O>, O: OwnedForm> Sink<T> for Threaded<O> {
    #[inline]
    fn send(&mut self, item: &T) -> Result<()> {
        match self.batch.get_mut(self.filled) {
            Some(slot) => item.clone_into_owned(slot),
            None => self.batch.push(item.to_owned_event()),
        }
        self.filled += 1;
        if self.filled == THREADED_BATCH {
            self.ship()?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        Threaded::flush(self)
    }
    fn close(&mut self) -> Result<()> {
        Threaded::close(self)
    }
}

impl<O> Drop for Threaded<O> {
    fn drop(&mut self) {
        self.queue = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// The text of a panic payload.
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}
