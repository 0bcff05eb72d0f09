//! A stage's side of `--stats`: the links it opened register their counters here, and at exit
//! [`write_stats`] leaves them in the file named by [`STATS_FILE_ENV`] (the launcher reads it).

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

/// Writes the registered links' counters to `$COPIPE_STATS_FILE`, if set.
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
            }
        })
        .collect();
    // Statistics are a courtesy: a stage that cannot leave them still did its work.
    let _ = LinkStats::write_file(path.as_ref(), &stats);
}
