//! A stage's side of `--stats`: the links it opened register their counters here, and
//! [`write_stats`] leaves them in the file named by [`STATS_FILE_ENV`] (the launcher reads it):
//! at exit, and every few hundred milliseconds while the stage runs when the launcher asks for
//! live numbers ([`crate::observe::live`]).

use std::sync::{Arc, Mutex};

use crate::link::frame::LinkCounters;
use crate::protocol::{Direction, LinkStats, STATS_FILE_ENV};

struct Registered {
    direction: Direction,
    label: String,
    counters: Arc<LinkCounters>,
}

static LINKS: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

/// Records a link's counters for the statistics written at exit.
pub fn register(direction: Direction, label: &str, counters: Arc<LinkCounters>) {
    if let Ok(mut links) = LINKS.lock() {
        links.push(Registered {
            direction,
            label: label.to_owned(),
            counters,
        });
    }
}

/// The registered outputs: label and counters.
pub fn outputs() -> Vec<(String, Arc<LinkCounters>)> {
    LINKS.lock().map_or_else(
        |_| Vec::new(),
        |links| {
            links
                .iter()
                .filter(|l| l.direction == Direction::Output)
                .map(|l| (l.label.clone(), Arc::clone(&l.counters)))
                .collect()
        },
    )
}

/// At exit: hands every attached tap what is still queued for it (briefly: a stopped tap is
/// never waited for).
pub fn finish_taps() {
    for (_, out) in outputs() {
        out.tap.finish();
    }
}

/// Writes the registered links' counters to `$COPIPE_STATS_FILE`, if set. Writers hold the
/// registry's lock while they write, so the file never goes back to older numbers.
pub fn write_stats() {
    let Some(path) = std::env::var_os(STATS_FILE_ENV) else {
        return;
    };
    let Ok(links) = LINKS.lock() else { return };
    let stats: Vec<LinkStats> = links
        .iter()
        .map(|l| {
            let (events, bytes) = l.counters.get();
            LinkStats {
                direction: l.direction,
                label: l.label.clone(),
                events,
                bytes,
                blocked_ns: l.counters.blocked_ns(),
            }
        })
        .collect();
    // Statistics are a courtesy: a stage that cannot leave them still did its work.
    let _ = LinkStats::write_file(path.as_ref(), &stats);
}
