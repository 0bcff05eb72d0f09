//! Where links begin and end: stdin/stdout, files and named pipes (FIFOs).
//!
//! Standard streams are used through duplicated raw descriptors, not `io::stdout()`, whose
//! line buffering would cut binary frames into extra system calls. A FIFO blocks in `open`
//! until its other end is opened too, so a stage with several FIFOs opens them all at once
//! (one thread each): opening them one by one can deadlock against a peer that opens the
//! same FIFOs in another order.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::protocol::{STDIN_LABEL, STDOUT_LABEL};
use crate::signals;

/// An opened endpoint and the name to call it in messages.
pub struct Endpoint {
    pub file: File,
    pub label: String,
}

/// `-` or nothing means the standard stream; anything else is a path.
pub fn is_std(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p == Path::new("-"))
}

/// Opens an input: standard input for `None` or `-`, else the file or FIFO at `path`.
pub fn open_input(path: Option<&Path>) -> Result<Endpoint> {
    if is_std(path) {
        let fd = io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .context_io(|| "duplicating standard input".into())?;
        return Ok(Endpoint {
            file: File::from(fd),
            label: STDIN_LABEL.into(),
        });
    }
    let path = path.expect("checked above");
    let file = File::open(path).context_io(|| format!("opening input {}", path.display()))?;
    remember_input(&file, path);
    Ok(Endpoint {
        file,
        label: path.display().to_string(),
    })
}

/// Opens an output: standard output for `None` or `-`, else the FIFO or file at `path`
/// (created or truncated). With `frames`, refuses a terminal: binary frames would only
/// garble it.
pub fn open_output(path: Option<&Path>, frames: bool) -> Result<Endpoint> {
    if is_std(path) {
        let stdout = io::stdout();
        if frames && stdout.is_terminal() {
            return Err(Error::Usage(
                "refusing to write binary frames to a terminal; pipe into co-printer or co-dump, or use --output PATH".into(),
            ));
        }
        let fd = stdout
            .as_fd()
            .try_clone_to_owned()
            .context_io(|| "duplicating standard output".into())?;
        let file = File::from(fd);
        widen_pipe(&file);
        return Ok(Endpoint {
            file,
            label: STDOUT_LABEL.into(),
        });
    }
    let path = path.expect("checked above");
    let meta = std::fs::metadata(path).ok();
    let is_fifo = meta.as_ref().is_some_and(|m| m.file_type().is_fifo());
    if let Some(input) = meta.as_ref().and_then(same_as_input) {
        return Err(Error::Usage(format!(
            "the output {} is the input {input}: writing it would destroy what is being read",
            path.display()
        )));
    }
    let file = if is_fifo {
        let file = open_fifo_for_writing(path)?;
        widen_pipe(&file);
        file
    } else {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .context_io(|| format!("opening output {}", path.display()))?
    };
    Ok(Endpoint {
        file,
        label: path.display().to_string(),
    })
}

/// The capacity asked for a pipe a stage writes frames to.
const PIPE_CAPACITY: libc::c_int = 1 << 20;

/// Asks the kernel for a pipe of `PIPE_CAPACITY` (1 MiB) when `file` is one (Linux's default
/// is 64 KiB, a single write chunk of a frame writer): with room for several chunks a writer
/// and its reader each run through many frames per wake-up instead of taking turns at every
/// chunk. Best effort: a pipe that cannot grow (`/proc/sys/fs/pipe-max-size`, the user's
/// pipe quota) works as it is, only with more hand-offs.
pub fn widen_pipe(file: &File) {
    if !is_pipe(file) {
        return;
    }
    // SAFETY: fcntl on a descriptor we own; F_SETPIPE_SZ takes an int and changes nothing but
    // the pipe's capacity (on failure, nothing at all).
    unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_CAPACITY) };
}

/// How often a writer waiting for a FIFO's reader looks again (and at the stop flag).
const FIFO_RETRY: std::time::Duration = std::time::Duration::from_millis(10);

/// Opens a FIFO for writing without blocking in `open(2)`, where no signal handler could
/// stop the wait: a non-blocking open fails with ENXIO until a reader is there, so it is
/// retried until one is, or until SIGINT/SIGTERM asks the stage to stop. The descriptor is
/// then made blocking again for ordinary writes.
fn open_fifo_for_writing(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let context = || format!("opening output {}", path.display());
    loop {
        match OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        {
            Ok(file) => {
                set_blocking(&file).context_io(context)?;
                return Ok(file);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if signals::stop_requested() {
                    return Err(Error::io(
                        format!("waiting for a reader of {}", path.display()),
                        io::Error::from(io::ErrorKind::Interrupted),
                    ));
                }
                std::thread::sleep(FIFO_RETRY);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(context(), e)),
        }
    }
}

/// Clears `O_NONBLOCK` on `file`.
fn set_blocking(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, reading and then setting its status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The regular files this process opened as inputs (device, inode, path), so an output that
/// would truncate one of them is refused before it is opened.
static INPUTS: std::sync::Mutex<Vec<(u64, u64, PathBuf)>> = std::sync::Mutex::new(Vec::new());

fn remember_input(file: &File, path: &Path) {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(m), Ok(mut inputs)) = (file.metadata(), INPUTS.lock()) {
        if m.file_type().is_file() {
            inputs.push((m.dev(), m.ino(), path.to_owned()));
        }
    }
}

/// The input path that `output` (a file's metadata) is the same file as, if any.
fn same_as_input(output: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let inputs = INPUTS.lock().ok()?;
    inputs
        .iter()
        .find(|(dev, ino, _)| *dev == output.dev() && *ino == output.ino())
        .map(|(_, _, p)| p.display().to_string())
}

/// Opens several endpoints at once, one thread each, so FIFOs cannot deadlock on open order.
pub fn open_all(
    paths: &[PathBuf],
    open: fn(Option<&Path>) -> Result<Endpoint>,
) -> Result<Vec<Endpoint>> {
    if paths.len() <= 1 {
        return paths.iter().map(|p| open(Some(p))).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .iter()
            .map(|p| scope.spawn(move || open(Some(p))))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Other("open thread panicked".into())))
            })
            .collect()
    })
}

/// Opens several outputs at once (see [`open_all`]); `-` is standard output.
pub fn open_outputs(paths: &[PathBuf]) -> Result<Vec<Endpoint>> {
    open_all(paths, |p| open_output(p, true))
}

/// Opens several inputs at once (see [`open_all`]); `-` is standard input.
pub fn open_inputs(paths: &[PathBuf]) -> Result<Vec<Endpoint>> {
    open_all(paths, open_input)
}

/// True when `file` is a pipe or FIFO: then an upstream process feeds it.
pub fn is_pipe(file: &File) -> bool {
    file.metadata()
        .is_ok_and(|m| m.file_type().is_fifo() || m.file_type().is_socket())
}

/// A reader for sources that must notice a stop request while waiting for input (a
/// terminal, a pipe that has gone quiet): before each read it waits until the descriptor is
/// readable, checking the stop flag every 100 ms, and reports end of input once asked to stop.
pub struct StopAwareReader<R> {
    inner: R,
}

impl<R: Read + AsRawFd> StopAwareReader<R> {
    pub fn new(inner: R) -> Self {
        StopAwareReader { inner }
    }
}

impl<R: Read + AsRawFd> Read for StopAwareReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if signals::stop_requested() {
                return Ok(0);
            }
            if wait_readable(self.inner.as_raw_fd(), 100)? {
                return self.inner.read(buf);
            }
        }
    }
}

/// Waits up to `timeout_ms` for `fd` to be readable (or at end of file, or in error);
/// returns whether it is.
pub fn wait_readable(fd: std::os::fd::RawFd, timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, count 1.
    let n = unsafe { libc::poll(&raw mut pfd, 1, timeout_ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(e);
    }
    Ok(n > 0)
}
