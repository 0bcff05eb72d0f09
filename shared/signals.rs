//! Signals, as the design wants them: SIGINT and SIGTERM ask a *source* to stop reading and
//! close normally, so everything it already read flows down to the sinks. A stage fed by a
//! pipe ignores the terminal's SIGINT (its upstream gets the same signal and will close the
//! stream) and keeps the default SIGTERM, so a launcher can still stop it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

static STOP: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// True once SIGINT or SIGTERM asked this process to stop.
#[inline]
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Asks this process to stop, as a signal would (for tests and embedding).
pub fn request_stop() {
    STOP.store(true, Ordering::Relaxed);
}

/// Makes SIGINT and SIGTERM request a graceful stop. A second signal exits at once with
/// status 130: the user insists.
pub fn stop_on_signals() {
    let installed = ctrlc::set_handler(|| {
        if SIGNALS.fetch_add(1, Ordering::SeqCst) >= 1 {
            std::process::exit(130);
        }
        request_stop();
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

impl Default for Shutdown {
    /// [`Shutdown::new`].
    fn default() -> Self {
        Shutdown::new()
    }
}
