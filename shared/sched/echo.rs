//! An echo server on the coroutine OS: one task per client, nonblocking sockets, and
//! `ReadWait`/`WriteWait` as the only way to wait. The course's `pyos` echo server:
//!
//! ```python
//! def handle_client(client,addr):
//!     while True:
//!         data = yield Recv(client,65536)
//!         if not data:
//!             break
//!         yield Send(client,data)
//!     client.close()
//!
//! def server(port):
//!     sock = socket(AF_INET,SOCK_STREAM)
//!     sock.bind(("",port))
//!     sock.listen(5)
//!     while True:
//!         client,addr = yield Accept(sock)
//!         yield NewTask(handle_client(client,addr))
//! ```
//!
//! [`serve`] runs the server on the calling thread until a [`StopSignal`] fires; [`EchoServer`]
//! runs it on its own thread and stops and joins it when stopped or dropped (tests and the
//! benchmark use that). Every client task's cleanup, closing its socket, runs when the server
//! stops: dropping the scheduler closes the tasks left in it, as `close()` would.

use std::cell::Cell;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::kernel::{Scheduler, Until};
use super::syscall::Sys;

/// Counters a server keeps while it runs, returned when it stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EchoStats {
    /// Connections accepted.
    pub connections: u64,
    /// Bytes read from clients and written back.
    pub bytes: u64,
    /// The most client tasks alive at once.
    pub max_concurrent: u64,
    /// Client tasks alive now (0 once the server has stopped: stopping closes them all).
    pub active: u64,
    /// Times a client task had to wait in `WriteWait` (its peer was not reading fast enough).
    pub write_waits: u64,
}

/// Counters another thread can read while the server runs (see [`EchoServer::live`]).
#[derive(Debug, Default)]
pub struct LiveStats {
    connections: AtomicU64,
    write_waits: AtomicU64,
}

impl LiveStats {
    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// `WriteWait`s so far.
    pub fn write_waits(&self) -> u64 {
        self.write_waits.load(Ordering::Relaxed)
    }
}

/// Tells a running [`serve`] to stop: call [`Stopper::stop`], or just drop it (so a panicking
/// test still stops its server).
#[derive(Debug)]
pub struct Stopper {
    tx: UnixStream,
}

impl Stopper {
    /// Stops the server. Dropping the stopper does the same: the other end sees end of file.
    pub fn stop(self) {
        drop(self.tx);
    }
}

/// The server's end of a stop channel: becomes readable when the [`Stopper`] is dropped.
/// A descriptor, so that the server's scheduler, asleep in `poll(2)`, wakes up for it.
#[derive(Debug)]
pub struct StopSignal {
    rx: UnixStream,
}

/// A connected [`Stopper`] and [`StopSignal`].
pub fn stop_channel() -> io::Result<(Stopper, StopSignal)> {
    let (tx, rx) = UnixStream::pair()?;
    rx.set_nonblocking(true)?;
    Ok((Stopper { tx }, StopSignal { rx }))
}

/// Runs an echo server on `listener` until `stop` fires, then closes every connection and
/// returns the counters. `log` gets the kernel's `Task N terminated` lines and accept errors.
pub fn serve(
    listener: TcpListener,
    stop: StopSignal,
    log: impl Write + 'static,
) -> io::Result<EchoStats> {
    serve_observed(listener, stop, log, Arc::default())
}

/// [`serve`], also counting into `live`, which other threads may read meanwhile.
pub fn serve_observed(
    listener: TcpListener,
    stop: StopSignal,
    log: impl Write + 'static,
    live: Arc<LiveStats>,
) -> io::Result<EchoStats> {
    listener.set_nonblocking(true)?;
    let stats = Rc::new(Counters {
        stats: Cell::new(EchoStats::default()),
        live,
    });
    let mut sched: Scheduler<()> = Scheduler::with_output(log);
    let st = stats.clone();
    let main = sched.spawn(move |sys| server(sys, listener, stop, st));
    let result = sched.run(Until::Exited(main));
    // Closes the client tasks still running (their guards update `active`).
    drop(sched);
    result?;
    Ok(stats.stats.get())
}

/// The supervisor task: starts the acceptor, waits for the stop signal, kills the acceptor.
/// [`serve`] returns when this task exits.
async fn server(sys: Sys<()>, listener: TcpListener, stop: StopSignal, stats: Rc<Counters>) {
    let acceptor = sys
        .new_task(move |sys| acceptor(sys, listener, stats))
        .await;
    let mut rx = stop.rx;
    let mut byte = [0u8; 1];
    loop {
        sys.read_wait(&rx).await;
        match rx.read(&mut byte) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            // A byte, end of file (the stopper was dropped) or an error: stop.
            _ => break,
        }
    }
    sys.kill_task(acceptor).await;
}

/// Accepts connections and starts a client task for each: the seed's `server()`.
async fn acceptor(sys: Sys<()>, listener: TcpListener, stats: Rc<Counters>) {
    loop {
        sys.read_wait(&listener).await;
        loop {
            match listener.accept() {
                Ok((stream, _peer)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    // Small echoes should not wait for Nagle's delayed ACK.
                    let _ = stream.set_nodelay(true);
                    update(&stats, |s| s.connections += 1);
                    stats.live.connections.fetch_add(1, Ordering::Relaxed);
                    let st = stats.clone();
                    sys.new_task(move |sys| client(sys, stream, st)).await;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    // Out of descriptors, say. The listener stays readable, so waiting for it
                    // again at once would spin: back off a little instead.
                    sys.println(format_args!("echo: accept failed: {e}"));
                    sys.sleep(Duration::from_millis(10)).await;
                    break;
                }
            }
        }
    }
}

/// The server's counters: plain cells for the server's own thread, and the few that other
/// threads may watch.
struct Counters {
    stats: Cell<EchoStats>,
    live: Arc<LiveStats>,
}

fn update(counters: &Counters, f: impl FnOnce(&mut EchoStats)) {
    let mut s = counters.stats.get();
    f(&mut s);
    counters.stats.set(s);
}

/// Counts a client task as alive from creation until it is dropped, whether it returns or
/// is killed (the seed's `GeneratorExit` path).
struct Alive(Rc<Counters>);

impl Alive {
    fn new(stats: Rc<Counters>) -> Alive {
        update(&stats, |s| {
            s.active += 1;
            s.max_concurrent = s.max_concurrent.max(s.active);
        });
        Alive(stats)
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        update(&self.0, |s| s.active -= 1);
    }
}

/// One client: read what is there, write it all back, until end of file: the seed's
/// `handle_client()`.
async fn client(sys: Sys<()>, mut stream: TcpStream, stats: Rc<Counters>) {
    let _alive = Alive::new(stats.clone());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        sys.read_wait(&stream).await;
        let n = match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                continue
            }
            Err(_) => return,
        };
        let mut sent = 0;
        while sent < n {
            match stream.write(&buf[sent..n]) {
                Ok(0) => return,
                Ok(k) => sent += k,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    update(&stats, |s| s.write_waits += 1);
                    stats.live.write_waits.fetch_add(1, Ordering::Relaxed);
                    sys.write_wait(&stream).await;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
        update(&stats, |s| s.bytes += n as u64);
    }
}

/// An echo server on its own thread. Stopping it (or dropping it) fires its stop signal and
/// joins the thread, so no server outlives its owner.
#[derive(Debug)]
pub struct EchoServer {
    addr: SocketAddr,
    live: Arc<LiveStats>,
    stopper: Option<Stopper>,
    thread: Option<JoinHandle<io::Result<EchoStats>>>,
}

impl EchoServer {
    /// Starts serving on `listener` in a new thread; `log` as for [`serve`].
    pub fn start(
        listener: TcpListener,
        log: impl Write + Send + 'static,
    ) -> io::Result<EchoServer> {
        let addr = listener.local_addr()?;
        let (stopper, signal) = stop_channel()?;
        let live = Arc::new(LiveStats::default());
        let server_live = live.clone();
        let thread = std::thread::Builder::new()
            .name("echo-server".into())
            .spawn(move || serve_observed(listener, signal, log, server_live))?;
        Ok(EchoServer {
            addr,
            live,
            stopper: Some(stopper),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Counters readable while the server runs.
    pub fn live(&self) -> &LiveStats {
        &self.live
    }

    /// Stops the server, waits for its thread, and returns its counters.
    pub fn stop(mut self) -> io::Result<EchoStats> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<EchoStats> {
        if let Some(stopper) = self.stopper.take() {
            stopper.stop();
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("echo server thread panicked"))),
            None => Err(io::Error::other("echo server already stopped")),
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.shutdown();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_and_stops_with_counters() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = EchoServer::start(listener, io::sink()).unwrap();
        let mut c = TcpStream::connect(server.addr()).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        c.write_all(b"hello").unwrap();
        let mut got = [0u8; 5];
        c.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");
        drop(c);
        let stats = server.stop().unwrap();
        assert_eq!(stats.connections, 1);
        assert_eq!(stats.bytes, 5);
        assert_eq!(stats.active, 0);
    }

    #[test]
    fn stopping_closes_open_connections() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = EchoServer::start(listener, io::sink()).unwrap();
        let mut c = TcpStream::connect(server.addr()).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        c.write_all(b"x").unwrap();
        let mut got = [0u8; 1];
        c.read_exact(&mut got).unwrap();
        // The client is still connected: stopping kills its task, which closes the socket.
        let stats = server.stop().unwrap();
        assert_eq!(stats.active, 0);
        assert_eq!(stats.max_concurrent, 1);
        assert_eq!(c.read(&mut got).unwrap(), 0, "server side should be closed");
    }
}
