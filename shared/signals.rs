//! Signals, as the design wants them: SIGINT and SIGTERM ask a *source* to stop reading and
//! close normally, so everything it already read flows down to the sinks. A stage fed by a
//! pipe ignores the terminal's SIGINT (its upstream gets the same signal and will close the
//! stream) and keeps the default SIGTERM, so a launcher can still stop it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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
