//! Waiting for a followed file to change, without a busy loop.
//!
//! The seed sleeps 0.1 s whenever `readline()` comes back empty. Here the kernel says when
//! to look: an inotify watch (through the `notify` crate) on the file's *directory*, which
//! also sees the file being renamed away, removed and re-created, as log rotation does. A
//! watch on the file itself would follow the old inode and miss the new file.
//!
//! A wait also ends every [`RECHECK`] without an event (a safety net for what inotify cannot
//! see: a network file system, a rotated file moved to another directory, a symlink's
//! target) and checks for a stop request every [`STOP_CHECK`]. With `--poll-ms`, or when
//! inotify cannot be set up, it simply sleeps that long, as the seed does.

use std::ffi::OsString;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::signals;

/// How often a wait looks at the stop flag (SIGINT/SIGTERM).
pub const STOP_CHECK: Duration = Duration::from_millis(100);
/// Longest wait on inotify before looking at the file anyway.
pub const RECHECK: Duration = Duration::from_secs(1);
/// Polling interval when inotify is not available and none was asked for.
pub const DEFAULT_POLL: Duration = Duration::from_millis(100);

/// How a follower waits for its file to change.
pub enum Waiter {
    /// Woken by inotify events on the file's directory.
    Inotify {
        /// Kept alive for as long as the watch is wanted.
        _watcher: RecommendedWatcher,
        wake: Receiver<()>,
    },
    /// Looks at the file every interval.
    Poll(Duration),
}

/// The inotify callback: one pending wake-up at most, so a burst of writes costs one look
/// at the file and memory never grows with the number of events.
struct Wake {
    /// The followed file's name, and its symlink target's if it is a link.
    names: Vec<OsString>,
    signal: SyncSender<()>,
}

impl notify::EventHandler for Wake {
    fn handle_event(&mut self, event: notify::Result<notify::Event>) {
        let relevant = match &event {
            // A lost event (queue overflow): look, to be safe.
            Err(_) => true,
            // Our file changed, or some name in the directory changed (a rotation renames
            // our file away and creates a new one).
            Ok(event) => {
                matches!(event.kind, EventKind::Create(_) | EventKind::Remove(_))
                    || matches!(
                        event.kind,
                        EventKind::Modify(notify::event::ModifyKind::Name(_))
                    )
                    || event.need_rescan()
                    || event.paths.iter().any(|p| {
                        p.file_name()
                            .is_some_and(|n| self.names.iter().any(|name| name == n))
                    })
            }
        };
        if relevant {
            let _ = self.signal.try_send(());
        }
    }
}

impl Waiter {
    /// A waiter for `path`: polling every `poll` if given, else inotify on the file's
    /// directory. When inotify cannot be set up, falls back to polling and says why.
    pub fn new(path: &Path, poll: Option<Duration>) -> (Self, Option<String>) {
        if let Some(interval) = poll {
            return (Waiter::Poll(interval), None);
        }
        match Self::inotify(path) {
            Ok(waiter) => (waiter, None),
            Err(e) => (
                Waiter::Poll(DEFAULT_POLL),
                Some(format!(
                    "cannot watch {} with inotify ({e}); polling every {} ms instead",
                    path.display(),
                    DEFAULT_POLL.as_millis()
                )),
            ),
        }
    }

    fn inotify(path: &Path) -> notify::Result<Self> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut names: Vec<OsString> = path
            .file_name()
            .map(std::borrow::ToOwned::to_owned)
            .into_iter()
            .collect();
        // A symlink's target may have another name, in another directory whose events the
        // link's directory does not see: listen for that name, and watch that directory.
        let real = std::fs::canonicalize(path).ok();
        let real_name = real.as_deref().and_then(Path::file_name);
        if let Some(name) = real_name.filter(|&n| Some(n) != path.file_name()) {
            names.push(name.to_owned());
        }
        let real_dir = real.as_deref().and_then(Path::parent);
        let other_dir = real_dir.filter(|&d| Some(d) != std::fs::canonicalize(dir).ok().as_deref());
        let (signal, wake) = mpsc::sync_channel(1);
        let mut watcher = notify::recommended_watcher(Wake { names, signal })?;
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
        if let Some(other_dir) = other_dir {
            // Best effort: the link's own directory is watched in any case.
            let _ = watcher.watch(other_dir, RecursiveMode::NonRecursive);
        }
        Ok(Waiter::Inotify {
            _watcher: watcher,
            wake,
        })
    }

    /// Waits until the file may have changed, the recheck interval passed, or a stop was
    /// requested.
    pub fn wait(&mut self) {
        let limit = match self {
            Waiter::Inotify { .. } => RECHECK,
            Waiter::Poll(interval) => *interval,
        };
        let deadline = Instant::now() + limit;
        loop {
            if signals::stop_requested() {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            let slice = left.min(STOP_CHECK);
            match self {
                Waiter::Inotify { wake, .. } => match wake.recv_timeout(slice) {
                    Ok(()) => {
                        // Take a wake-up that raced in while we were returning, too.
                        let _ = wake.try_recv();
                        return;
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => {
                        // The watcher's thread is gone: poll from now on.
                        *self = Waiter::Poll(DEFAULT_POLL);
                        return;
                    }
                },
                Waiter::Poll(_) => std::thread::sleep(slice),
            }
        }
    }
}
