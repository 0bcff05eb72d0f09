//! Signals, as the design wants them: SIGINT and SIGTERM ask a *source* to stop reading and
//! close normally, so everything it already read flows down to the sinks. A stage fed by a
//! pipe ignores the terminal's SIGINT (its upstream gets the same signal and will close the
//! stream). SIGTERM stops every stage the same graceful way: a stage busy with its input
//! stops between two events and closes its output, flushing what it produced; one waiting
//! for input with nothing buffered ([`Waiting`]) exits at once.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

static STOP: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// What the main thread is doing, for the signal handler: see [`Waiting`].
static STATE: AtomicU8 = AtomicU8::new(BUSY);
const BUSY: u8 = 0;
const WAITING: u8 = 1;
const EXITING: u8 = 2;

/// The exit status of a stage stopped by a signal while it waited for input.
pub const STOPPED_WAITING: i32 = 130;

/// True once SIGINT or SIGTERM asked this process to stop.
#[inline]
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Asks this process to stop, as a signal would (for tests and embedding).
pub fn request_stop() {
    STOP.store(true, Ordering::Relaxed);
}

/// Makes SIGINT, SIGTERM and SIGHUP request a graceful stop: a stage busy with its input
/// stops at the next event and closes its output (flushing what it produced); a stage
/// waiting for input with nothing buffered ([`Waiting`]) exits at once, since a blocked read
/// would never see the request. A second signal exits at once with status 130: the user
/// insists.
pub fn stop_on_signals() {
    let installed = ctrlc::set_handler(|| {
        if SIGNALS.fetch_add(1, Ordering::SeqCst) >= 1 {
            std::process::exit(130);
        }
        STOP.store(true, Ordering::SeqCst);
        if STATE
            .compare_exchange(WAITING, EXITING, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            std::process::exit(STOPPED_WAITING);
        }
    });
    // Only fails if a handler is already installed: then the first one stands.
    let _ = installed;
}

/// Ignores SIGINT: for stages fed by a pipe, which finish when their input ends.
pub fn ignore_interrupt() {
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
}

/// When a reading loop should stop early, at a frame boundary, and close its target
/// normally: passed into [`crate::link::recv_from`] (as mini-redis passes its `Shutdown` into
/// each connection's handler) so the library never decides for the program which signals
/// mean "stop". A stage binary passes [`Shutdown::on_signals`]; a program with its own signal
/// handling makes one with [`Shutdown::new`] and calls [`Shutdown::trigger`]; a test or a
/// batch job that always reads to the end passes [`Shutdown::never`].
///
/// ```
/// use copipe::signals::Shutdown;
///
/// let shutdown = Shutdown::new();
/// let seen_by_reader = shutdown.clone();
/// assert!(!seen_by_reader.is_shutdown());
/// shutdown.trigger();
/// assert!(seen_by_reader.is_shutdown());
/// assert!(!Shutdown::never().is_shutdown());
/// ```
#[derive(Clone, Debug)]
pub struct Shutdown(Flag);

#[derive(Clone, Debug)]
enum Flag {
    Never,
    /// The process's flag, set by SIGINT and SIGTERM once [`stop_on_signals`] is installed.
    Process,
    /// A flag of the caller's own.
    Own(Arc<AtomicBool>),
}

impl Shutdown {
    /// A shutdown that never comes: read every stream to its end.
    pub fn never() -> Self {
        Shutdown(Flag::Never)
    }

    /// The process's shutdown: SIGINT or SIGTERM (see [`stop_on_signals`]), or
    /// [`request_stop`].
    pub fn on_signals() -> Self {
        Shutdown(Flag::Process)
    }

    /// A shutdown of the caller's own, triggered by [`Shutdown::trigger`] on any clone.
    pub fn new() -> Self {
        Shutdown(Flag::Own(Arc::new(AtomicBool::new(false))))
    }

    /// Asks every holder of this shutdown (or of a clone) to stop.
    pub fn trigger(&self) {
        match &self.0 {
            Flag::Never => {}
            Flag::Process => request_stop(),
            Flag::Own(flag) => flag.store(true, Ordering::Relaxed),
        }
    }

    /// True once the shutdown was asked for.
    #[inline]
    pub fn is_shutdown(&self) -> bool {
        match &self.0 {
            Flag::Never => false,
            Flag::Process => stop_requested(),
            Flag::Own(flag) => flag.load(Ordering::Relaxed),
        }
    }
}

impl Shutdown {
    /// Starts waiting for input with everything produced so far flushed; `None` if the
    /// shutdown was already asked for (then stop instead of waiting). With the process's
    /// shutdown, a stop signal during the wait ends the process at once ([`Waiting`]).
    #[must_use]
    pub fn enter_wait(&self) -> Option<Waiting> {
        match self.0 {
            Flag::Process => Waiting::enter(),
            _ if self.is_shutdown() => None,
            _ => Some(Waiting { armed: false }),
        }
    }
}

/// Held while the main thread waits for input with all its output flushed: a stop signal
/// that arrives meanwhile ends the process at once (nothing is lost, and a read blocked on
/// an idle pipe would never notice the request). Dropped when the wait is over; from then
/// on a stop is noticed between events.
pub struct Waiting {
    /// False for a wait under a shutdown of the caller's own: nothing to coordinate.
    armed: bool,
}

impl Waiting {
    /// Starts a wait; `None` if a stop was already requested (then stop instead of waiting).
    #[must_use]
    pub fn enter() -> Option<Waiting> {
        STATE.store(WAITING, Ordering::SeqCst);
        if STOP.load(Ordering::SeqCst) {
            STATE.store(BUSY, Ordering::SeqCst);
            return None;
        }
        Some(Waiting { armed: true })
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.armed
            && STATE
                .compare_exchange(WAITING, BUSY, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
        {
            // The handler is ending the process: touch nothing more.
            loop {
                std::thread::park();
            }
        }
    }
}

impl Default for Shutdown {
    /// [`Shutdown::new`].
    fn default() -> Self {
        Shutdown::new()
    }
}
