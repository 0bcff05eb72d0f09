//! What Linux's `/proc` tells about a stage's process: state, CPU time, resident memory, and
//! how far it has read the files it has open (for `--progress`).

use std::fs;
use std::path::PathBuf;

/// A process's state, CPU time and resident memory; `None` once it is gone.
pub fn stat(pid: u32) -> Option<(String, u64, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything: parse after it.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let state = state_name(fields.first()?);
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let rss_pages: u64 = fields.get(21)?.parse().ok()?;
    Some((
        state.to_owned(),
        ticks * (1_000_000_000 / clock_ticks()),
        rss_pages * page_size(),
    ))
}

fn state_name(code: &str) -> &'static str {
    match code {
        "R" => "running",
        "S" => "sleeping",
        "D" => "disk wait",
        "T" | "t" => "stopped",
        "Z" => "exited",
        _ => "other",
    }
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|&t| t > 0).unwrap_or(100)
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p).ok().filter(|&p| p > 0).unwrap_or(4096)
}

/// A regular file a process has open for reading, and how far it has read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenFile {
    pub path: PathBuf,
    pub position: u64,
    pub size: u64,
}

/// The largest regular file `pid` has open read-only, with its read position: a source's
/// input, for a progress meter. `None` if it has none (or is gone).
pub fn input_file(pid: u32) -> Option<OpenFile> {
    read_only_files(pid).into_iter().max_by_key(|f| f.size)
}

/// The non-empty regular files `pid` has open read-only, with their read positions.
pub fn read_only_files(pid: u32) -> Vec<OpenFile> {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for fd in fds.flatten() {
        let Ok(path) = fs::read_link(fd.path()) else {
            continue;
        };
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() || meta.len() == 0 {
            continue;
        }
        let name = fd.file_name();
        let Some((position, flags)) = fdinfo(pid, &name.to_string_lossy()) else {
            continue;
        };
        if flags & 0o3 != 0 {
            continue; // open for writing: an output, not the input
        }
        found.push(OpenFile {
            path,
            position,
            size: meta.len(),
        });
    }
    found
}

/// (pos, flags) from `/proc/<pid>/fdinfo/<fd>`.
fn fdinfo(pid: u32, fd: &str) -> Option<(u64, u32)> {
    let text = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let mut pos = None;
    let mut flags = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("pos:") {
            pos = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("flags:") {
            flags = u32::from_str_radix(v.trim(), 8).ok();
        }
    }
    Some((pos?, flags?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn our_own_process_is_alive_with_memory_and_a_gone_one_is_none() {
        let (state, _cpu, rss) = stat(std::process::id()).unwrap();
        // The harness's main thread (whose state /proc/PID/stat shows) waits for this one.
        assert!(state == "running" || state == "sleeping", "{state}");
        assert!(rss > 0);
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert_eq!(stat(pid), None);
    }

    #[test]
    fn a_file_being_read_shows_its_position() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, &[b'x'; 10_000]).unwrap();
        let mut reader = fs::File::open(f.path()).unwrap();
        let mut buf = [0; 1234];
        reader.read_exact(&mut buf).unwrap();
        let open = read_only_files(std::process::id());
        let open = open.iter().find(|o| o.path == f.path()).unwrap();
        assert_eq!(open.size, 10_000);
        assert_eq!(open.position, 1234);
    }
}
