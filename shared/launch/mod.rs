//! The launcher: `copipe run SPEC` turns a pipeline description into running stage
//! processes joined by pipes, propagates close from the sources to the sinks, and contains
//! failures.
//!
//! The steps, one module each:
//!
//! 1. [`spec`]: parse the description (`name = command`, chains `a | b | c`), with
//!    line:column errors.
//! 2. [`graph`]: find each program, ask it `--describe`, check the event kinds on every link,
//!    insert `co-broadcast` for fan-out and `co-merge` for fan-in. Nothing runs yet.
//! 3. [`spawn`]: start every stage, joined by anonymous pipes, each in its own process group
//!    with a parent-death signal.
//! 4. [`supervise`]: wait for the stages; report and contain failures; the Ctrl-C ladder.
//! 5. [`stats`]: `--stats`, what each stage cost and each link carried.
//!
//! [`dot`] draws the wired graph for Graphviz.

pub mod dot;
pub mod graph;
pub mod spawn;
pub mod spec;
pub mod stats;
pub mod supervise;

use crate::error::{Error, Result};

/// Parses and wires a spec: `source` names it in messages (a path, or `-e`).
pub fn load(text: &str, source: &str, finder: &graph::Finder) -> Result<graph::Graph> {
    let pipeline = spec::parse(text).map_err(|e| Error::Usage(format!("{source}:{e}")))?;
    graph::build(&pipeline, source, finder)
}
