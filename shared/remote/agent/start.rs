//! Starting the stages the launcher places on this host: same-host links as pipes, links to
//! other hosts and stderr as channels of the connection.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use super::{Agent, Running};
use crate::launch::child;
use crate::launch::spawn::extra_path;
use crate::remote::mux;
use crate::remote::wire::{Control, End, Exit, RemoteStage};

/// The pipes joining stages on this host, by graph link index.
#[derive(Default)]
struct Pipes {
    readers: HashMap<usize, io::PipeReader>,
    writers: HashMap<usize, io::PipeWriter>,
}

impl Agent {
    /// Starts `stages`; their process ids, or why one could not start.
    pub(super) fn start(
        self: &Arc<Self>,
        stages: &[RemoteStage],
        stats: bool,
    ) -> Result<Vec<i32>, String> {
        let mut pipes = Pipes::default();
        for end in stages.iter().flat_map(|s| &s.outputs) {
            if let End::Pipe(link) = *end {
                let (r, w) = io::pipe().map_err(|e| format!("creating a pipe: {e}"))?;
                pipes.readers.insert(link, r);
                pipes.writers.insert(link, w);
            }
        }
        let mut pids = Vec::with_capacity(stages.len());
        for stage in stages {
            let pid = self.start_one(stage, stats, &mut pipes).map_err(|e| {
                format!("starting stage {} ({}): {e}", stage.position, stage.argv[0])
            })?;
            pids.push(pid);
        }
        Ok(pids)
    }

    fn start_one(
        self: &Arc<Self>,
        stage: &RemoteStage,
        stats: bool,
        pipes: &mut Pipes,
    ) -> io::Result<i32> {
        let program = self.finder.find(&stage.argv[0]).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("not found {}", self.places()),
            )
        })?;
        let inputs: Vec<OwnedFd> = stage
            .inputs
            .iter()
            .map(|&end| self.input_end(end, pipes))
            .collect::<io::Result<_>>()?;
        let outputs: Vec<OwnedFd> = stage
            .outputs
            .iter()
            .map(|&end| self.output_end(end, pipes))
            .collect::<io::Result<_>>()?;
        let (err_r, err_w) = io::pipe()?;
        let mut cmd = Command::new(&program);
        cmd.arg0(&stage.argv[0]).args(&stage.argv[1..]);
        let mut extra = Vec::new();
        let single = |fds: Vec<OwnedFd>, paths: bool| -> Result<[OwnedFd; 1], Vec<OwnedFd>> {
            if paths {
                Err(fds)
            } else {
                <[OwnedFd; 1]>::try_from(fds)
            }
        };
        match single(inputs, stage.input_paths) {
            Ok([fd]) => {
                cmd.stdin(fd);
            }
            Err(many) => {
                cmd.stdin(Stdio::null());
                extra.extend(many);
            }
        }
        match single(outputs, stage.output_paths) {
            Ok([fd]) => {
                cmd.stdout(fd);
            }
            Err(many) => {
                cmd.stdout(Stdio::null());
                extra.extend(many);
            }
        }
        cmd.args((0..extra.len()).map(extra_path));
        cmd.stderr(err_w).process_group(0);
        if stats {
            cmd.env(
                crate::protocol::STATS_FILE_ENV,
                self.stats_file(stage.position),
            );
        }
        let placed = child::prepare(&mut cmd, &extra, None)?;
        // The stages table is locked across spawn and registration, so a fast exit is
        // never reaped before its stage is known.
        let mut table = self.lock_stages();
        let started = Instant::now();
        let child = cmd.spawn()?;
        // The agent's copies of the stage's pipe ends close here.
        drop(cmd);
        drop(placed);
        drop(extra);
        let pid = child.id() as libc::pid_t;
        table.insert(stage.position, Running { pid, alive: true });
        drop(table);
        mux::pump_out(Arc::clone(&self.conn), stage.stderr, err_r);
        let agent = Arc::clone(self);
        let position = stage.position;
        std::thread::spawn(move || agent.watch(position, pid, started));
        Ok(pid)
    }

    /// The descriptor a stage reads from for `end`.
    fn input_end(&self, end: End, pipes: &mut Pipes) -> io::Result<OwnedFd> {
        Ok(match end {
            End::Null => File::open("/dev/null")?.into(),
            End::Pipe(link) => pipes
                .readers
                .remove(&link)
                .ok_or_else(|| unwired(link))?
                .into(),
            End::Channel(channel) => {
                let (r, w) = io::pipe()?;
                mux::pump_in(&self.conn, channel, w);
                r.into()
            }
        })
    }

    /// The descriptor a stage writes to for `end`.
    fn output_end(&self, end: End, pipes: &mut Pipes) -> io::Result<OwnedFd> {
        Ok(match end {
            End::Null => File::options().write(true).open("/dev/null")?.into(),
            End::Pipe(link) => pipes
                .writers
                .remove(&link)
                .ok_or_else(|| unwired(link))?
                .into(),
            End::Channel(channel) => {
                let (r, w) = io::pipe()?;
                mux::pump_out(Arc::clone(&self.conn), channel, r);
                w.into()
            }
        })
    }

    /// Waits for stage `position` to end, reaps it, and reports it.
    fn watch(&self, position: usize, pid: libc::pid_t, started: Instant) {
        child::exited_unreaped(pid, true);
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid out-parameter.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        {
            let mut table = self.lock_stages();
            // SAFETY: wait4 on our child, which has exited; valid out-pointers.
            unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
            if let Some(r) = table.get_mut(&position) {
                r.alive = false;
            }
        }
        let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
        let file = self.stats_file(position);
        let stats = std::fs::read_to_string(&file).ok();
        let _ = std::fs::remove_file(&file);
        let _ = self.conn.send(&Control::Exited(Exit {
            stage: position,
            status,
            wall_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            cpu_us: micros(usage.ru_utime) + micros(usage.ru_stime),
            max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
            stats,
        }));
    }
}

fn unwired(link: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("link {link} has no stage at its other end on this host"),
    )
}
