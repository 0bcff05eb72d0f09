//! What copipe does to every child process it starts, defined once: the launcher's stages,
//! the ssh clients it opens to other hosts, and the stages a remote agent starts there.
//!
//! * Between fork and exec, the child asks for a parent-death signal (Linux's
//!   `PR_SET_PDEATHSIG`), so a parent killed even by SIGKILL takes its children with it, and
//!   finds its extra link ends at descriptors 3, 4, ... (the `/dev/fd/N` paths it is given).
//! * The parent watches for a child's exit without reaping it (`waitid` with `WNOWAIT`), so
//!   the pid stays the child's, and cannot be reused, until the exit has been handled.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The descriptor a child finds its first extra link end at; the next ones follow.
pub const FIRST_EXTRA_FD: RawFd = 3;

/// Makes `cmd`'s child die with this process, places `extra` at [`FIRST_EXTRA_FD`], +1, ...
/// in it, and gives it the descriptor limit `fd_limit` if there is one.
///
/// Returns the copies of `extra` the child will place: keep them open until `cmd` has been
/// spawned, then drop them (and `extra`) to close the parent's copies.
pub fn prepare(
    cmd: &mut Command,
    extra: &[OwnedFd],
    fd_limit: Option<libc::rlimit>,
) -> io::Result<Vec<OwnedFd>> {
    // Copies above the numbers they go to, so placing one never overwrites another.
    let above = FIRST_EXTRA_FD + RawFd::try_from(extra.len()).unwrap_or(RawFd::MAX - 4);
    let moved: Vec<OwnedFd> = extra
        .iter()
        .map(|fd| dup_above(fd.as_raw_fd(), above))
        .collect::<io::Result<_>>()?;
    let raw: Vec<RawFd> = moved.iter().map(AsRawFd::as_raw_fd).collect();
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs in the forked child before exec and makes only
    // async-signal-safe calls (prctl, getppid, dup2, setrlimit, _exit); it does not allocate.
    unsafe {
        cmd.pre_exec(move || {
            #[cfg(target_os = "linux")]
            {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent died before the line above: nobody would stop this child.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
            }
            let _ = parent;
            for (&fd, target) in raw.iter().zip(FIRST_EXTRA_FD..) {
                if libc::dup2(fd, target) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            if let Some(limit) = fd_limit {
                libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit);
            }
            Ok(())
        });
    }
    Ok(moved)
}

/// A close-on-exec copy of `fd` at a descriptor number of at least `min`.
fn dup_above(fd: RawFd, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: fcntl on a descriptor we own; the result is a new descriptor we then own.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a freshly duplicated descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// True when our child `pid` has exited, leaving it unreaped. With `block`, waits for the
/// exit first (false then only if `pid` is not a child of ours).
pub fn exited_unreaped(pid: libc::pid_t, block: bool) -> bool {
    let flags = libc::WEXITED | libc::WNOWAIT | if block { 0 } else { libc::WNOHANG };
    loop {
        // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on our own child, without reaping it (WNOWAIT).
        let rc = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &raw mut info, flags) };
        if rc == 0 {
            // SAFETY: waitid succeeded; si_pid is 0 when the child is still running.
            return unsafe { info.si_pid() } == pid;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return false;
        }
    }
}
