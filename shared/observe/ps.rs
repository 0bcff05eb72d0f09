//! `copipe ps`: the user's running graphs.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use super::rundir;
use crate::error::{Error, Result};

/// Prints the running graphs (stale entries of dead launchers are cleaned as a side effect):
/// a table, or one JSON object ([`super::GraphInfo`]) per line.
pub fn run(json: bool) -> Result<()> {
    let graphs = rundir::list()?;
    let mut out = std::io::stdout().lock();
    let io = |e| Error::io("writing output", e);
    if json {
        for g in &graphs {
            let line = serde_json::to_string(&g.info).map_err(|e| Error::Encode(e.to_string()))?;
            writeln!(out, "{line}").map_err(io)?;
        }
        return out.flush().map_err(io);
    }
    writeln!(
        out,
        "{:<16} {:>8} {:>9} {:>6}  SPEC",
        "ID", "PID", "RUNNING", "STAGES"
    )
    .map_err(io)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    for g in &graphs {
        let secs = now.saturating_sub(g.info.started_unix_ms) / 1000;
        writeln!(
            out,
            "{:<16} {:>8} {:>9} {:>6}  {}",
            g.info.id,
            g.info.pid,
            format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
            g.info.stages.len(),
            g.info.spec.replace('\n', "; ")
        )
        .map_err(io)?;
    }
    out.flush().map_err(io)
}
