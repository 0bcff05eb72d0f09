//! Waiting areas for I/O and time: where `ReadWait`, `WriteWait` and `Sleep` park a task.
//!
//! The course's next step after the seed (Beazley's `pyos7`) keeps `read_waiting` and
//! `write_waiting` dicts and an I/O task that calls `select()`: with a zero timeout while
//! other tasks are ready, blocking when none is. The kernel here does the same from its main
//! loop (see `Scheduler::run`): it polls without blocking once per round of the ready queue,
//! and blocks in `poll(2)` (or a plain sleep, when only timers wait) when nothing is ready,
//! so an idle scheduler costs no CPU.
//!
//! `poll(2)` rather than epoll: the set of waiters changes at almost every wake-up (a task
//! waits for one event, then runs), so a level-triggered, stateless call over a small array
//! costs less bookkeeping than registering and deregistering with epoll, and a descriptor the
//! task has closed in the meantime is simply reported (`POLLNVAL`) instead of leaving a stale
//! registration behind.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::task::Tid;

/// Which readiness a task waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    Read,
    Write,
}

#[derive(Debug)]
struct Waiter {
    tid: Tid,
    fd: RawFd,
    events: libc::c_short,
}

/// Tasks waiting for descriptors, in the order they started waiting (which is the order they
/// are woken in when several become ready at once).
#[derive(Debug, Default)]
pub(crate) struct IoWaiting {
    waiters: Vec<Waiter>,
    /// Reused `pollfd` array, rebuilt from `waiters` for each poll.
    fds: Vec<libc::pollfd>,
}

impl IoWaiting {
    pub(crate) fn add(&mut self, tid: Tid, fd: RawFd, interest: Interest) {
        let events = match interest {
            Interest::Read => libc::POLLIN,
            Interest::Write => libc::POLLOUT,
        };
        self.waiters.push(Waiter { tid, fd, events });
    }

    /// Forgets a waiting task (it was killed).
    pub(crate) fn remove(&mut self, tid: Tid) {
        self.waiters.retain(|w| w.tid != tid);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// Polls the descriptors, waiting at most `timeout` (`None`: until one is ready), and
    /// calls `wake` for each task whose descriptor is ready, removing it from the area.
    /// Errors, hang-ups and invalid descriptors count as ready: the task's own read or write
    /// then reports what happened.
    pub(crate) fn poll(
        &mut self,
        timeout: Option<Duration>,
        mut wake: impl FnMut(Tid),
    ) -> io::Result<()> {
        self.fds.clear();
        self.fds.extend(self.waiters.iter().map(|w| libc::pollfd {
            fd: w.fd,
            events: w.events,
            revents: 0,
        }));
        let timeout_ms = match timeout {
            None => -1,
            // Round up: rounding a 0.4 ms wait down to 0 would spin until the deadline.
            Some(d) => d
                .as_nanos()
                .div_ceil(1_000_000)
                .min(libc::c_int::MAX as u128) as libc::c_int,
        };
        let nfds = self.fds.len() as libc::nfds_t;
        // SAFETY: `fds` is a live, exclusively borrowed Vec of `nfds` initialised pollfd
        // structs; poll(2) only writes their `revents` fields within that length. The
        // descriptors themselves need no validity guarantee: poll reports a closed one as
        // POLLNVAL.
        let n = unsafe { libc::poll(self.fds.as_mut_ptr(), nfds, timeout_ms) };
        if n < 0 {
            let err = io::Error::last_os_error();
            return if err.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(err)
            };
        }
        if n == 0 {
            return Ok(());
        }
        let mut i = 0;
        let fds = &self.fds;
        self.waiters.retain(|w| {
            let ready = fds[i].revents != 0;
            i += 1;
            if ready {
                wake(w.tid);
            }
            !ready
        });
        Ok(())
    }
}

/// Sleeping tasks, earliest deadline first.
///
/// Entries are not removed when a sleeper is killed: each carries a sequence number that
/// must match the task's `Sleeping(seq)` state to wake it, so stale entries are skipped when
/// they come due.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64, Tid)>>,
    next_seq: u64,
}

impl Timers {
    /// Adds a timer and returns its sequence number.
    pub(crate) fn add(&mut self, deadline: Instant, tid: Tid) -> u64 {
        self.next_seq += 1;
        self.heap.push(Reverse((deadline, self.next_seq, tid)));
        self.next_seq
    }

    /// The earliest deadline (possibly of a stale entry, which only makes a wait end early).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((d, _, _))| *d)
    }

    /// Pops every entry due at `now`, calling `wake(tid, seq)` for each, earliest first.
    pub(crate) fn expire(&mut self, now: Instant, mut wake: impl FnMut(Tid, u64)) {
        while let Some(Reverse((deadline, seq, tid))) = self.heap.peek().copied() {
            if deadline > now {
                break;
            }
            self.heap.pop();
            wake(tid, seq);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn wakes_only_ready_descriptors_in_wait_order() {
        let (mut a, a_peer) = UnixStream::pair().unwrap();
        let (b, _b_peer) = UnixStream::pair().unwrap();
        let mut io = IoWaiting::default();
        io.add(Tid(1), a_peer.as_raw_fd(), Interest::Read);
        io.add(Tid(2), b.as_raw_fd(), Interest::Read);
        io.add(Tid(3), b.as_raw_fd(), Interest::Write);
        let mut woken = Vec::new();
        io.poll(Some(Duration::ZERO), |t| woken.push(t)).unwrap();
        assert_eq!(woken, [Tid(3)]);
        a.write_all(b"x").unwrap();
        woken.clear();
        io.poll(None, |t| woken.push(t)).unwrap();
        assert_eq!(woken, [Tid(1)]);
        io.remove(Tid(2));
        assert!(io.is_empty());
    }

    #[test]
    fn a_closed_descriptor_counts_as_ready() {
        let (a, b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        drop(b);
        let mut io = IoWaiting::default();
        io.add(Tid(1), fd, Interest::Read);
        let mut woken = Vec::new();
        io.poll(None, |t| woken.push(t)).unwrap();
        assert_eq!(woken, [Tid(1)]);
    }

    #[test]
    fn timers_expire_in_deadline_order() {
        let now = Instant::now();
        let mut t = Timers::default();
        let s2 = t.add(now + Duration::from_millis(20), Tid(2));
        let s1 = t.add(now + Duration::from_millis(10), Tid(1));
        t.add(now + Duration::from_hours(1), Tid(3));
        assert_eq!(t.next_deadline(), Some(now + Duration::from_millis(10)));
        let mut woken = Vec::new();
        t.expire(now + Duration::from_millis(30), |tid, seq| {
            woken.push((tid, seq));
        });
        assert_eq!(woken, [(Tid(1), s1), (Tid(2), s2)]);
        assert!(!t.is_empty());
    }
}
