//! Where running graphs are found: one private directory per user, one directory per graph.
//!
//! ```text
//! $XDG_RUNTIME_DIR/copipe/            (or $TMPDIR/copipe-<uid>/, or /tmp/copipe-<uid>/), 0700
//!   <id>/                             one running graph, 0700, removed when the graph ends
//!     info.json                       what `copipe ps` lists: GraphInfo
//!     control.sock                    the launcher's control channel (`top`, `tap`)
//!     stage-<n>/stats.json            stage n's link counters, kept current while it runs
//!     stage-<n>/tap-<k>.sock          a tap on stage n's k-th output, while one is attached
//! ```
//!
//! Only the user can enter the directories, so only the user can connect to a graph. A graph
//! whose launcher died without cleaning up (SIGKILL) is *stale*: its launcher pid is gone.
//! [`list`] removes stale graphs it meets, so nothing is left behind for long.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::GraphInfo;
use crate::error::{Error, Result};

/// The user's directory of running graphs (created 0700 if missing, refused if it belongs to
/// someone else or others may enter it).
pub fn user_dir() -> Result<PathBuf> {
    let dir = base_dir();
    let made = fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir);
    made.map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let meta =
        fs::metadata(&dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::Usage(format!(
            "{} is not private to this user (owner {}, mode {:o}); remove it",
            dir.display(),
            meta.uid(),
            meta.permissions().mode() & 0o777
        )));
    }
    Ok(dir)
}

fn base_dir() -> PathBuf {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| Path::new(d).is_dir()) {
        return PathBuf::from(runtime).join("copipe");
    }
    let tmp = std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    tmp.join(format!("copipe-{uid}"))
}

/// A running graph's directory, removed (with everything in it) when dropped.
#[derive(Debug)]
pub struct GraphDir {
    path: PathBuf,
}

impl GraphDir {
    /// Makes the directory of graph `id` and writes its `info.json`.
    pub fn create(info: &GraphInfo) -> Result<GraphDir> {
        let path = user_dir()?.join(&info.id);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        let dir = GraphDir { path };
        for stage in &info.stages {
            let stage_dir = dir.stage_dir(stage.position);
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&stage_dir)
                .map_err(|e| Error::io(format!("creating {}", stage_dir.display()), e))?;
        }
        dir.write_info(info)?;
        Ok(dir)
    }

    /// (Re)writes `info.json`.
    pub fn write_info(&self, info: &GraphInfo) -> Result<()> {
        let json = serde_json::to_vec_pretty(info).map_err(|e| Error::Encode(e.to_string()))?;
        write_atomic(&self.path.join("info.json"), &json)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory of the stage at `position` (its stats file and tap sockets).
    pub fn stage_dir(&self, position: usize) -> PathBuf {
        stage_dir(&self.path, position)
    }

    pub fn control_socket(&self) -> PathBuf {
        self.path.join("control.sock")
    }
}

impl Drop for GraphDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// The directory of the stage at `position` in the graph directory `graph`.
pub fn stage_dir(graph: &Path, position: usize) -> PathBuf {
    graph.join(format!("stage-{position}"))
}

/// The stats file a stage keeps in its directory.
#[must_use]
pub fn stats_file(stage_dir: &Path) -> PathBuf {
    stage_dir.join("stats.json")
}

/// The socket a tap on a stage's output labelled `label` (in its stats file) listens on.
pub fn tap_socket(stage_dir: &Path, label: &str) -> PathBuf {
    let name: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    stage_dir.join(format!("tap-{name}.sock"))
}

/// Writes `bytes` to `path` so that a reader sees the old content or the new, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// A graph found in the user's directory.
#[derive(Debug)]
pub struct Found {
    pub dir: PathBuf,
    pub info: GraphInfo,
}

/// The user's running graphs, oldest first. Stale ones (launcher gone) are removed.
pub fn list() -> Result<Vec<Found>> {
    let dir = user_dir()?;
    let entries =
        fs::read_dir(&dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        match read_info(&path) {
            Ok(info) if is_alive(info.pid) => found.push(Found { dir: path, info }),
            Ok(_) => remove_stale(&path),
            // A graph being created has no info.json yet; one without it for long is debris
            // of a launcher killed at start-up.
            Err(_) if is_old(&path) => remove_stale(&path),
            Err(_) => {}
        }
    }
    found.sort_by_key(|f| (f.info.started_unix_ms, f.info.id.clone()));
    Ok(found)
}

fn read_info(dir: &Path) -> io::Result<GraphInfo> {
    let bytes = fs::read(dir.join("info.json"))?;
    serde_json::from_slice(&bytes).map_err(io::Error::other)
}

fn is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn is_old(dir: &Path) -> bool {
    fs::metadata(dir)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() > 60))
}

fn remove_stale(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
}

/// Finds one running graph: by id (or a unique prefix of it), or the only one running.
pub fn find(id: Option<&str>) -> Result<Found> {
    let mut graphs = list()?;
    if let Some(id) = id {
        graphs.retain(|g| g.info.id.starts_with(id));
    }
    match graphs.len() {
        1 => Ok(graphs.remove(0)),
        0 => Err(Error::Usage(match id {
            Some(id) => format!("no running graph {id:?} (see copipe ps)"),
            None => "no graph is running (start one with copipe run)".to_owned(),
        })),
        n => Err(Error::Usage(format!(
            "{n} graphs are running: name one (ids: {})",
            graphs
                .iter()
                .map(|g| g.info.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}
