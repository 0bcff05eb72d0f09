//! The launcher: `copipe run SPEC` turns a pipeline description into running stage
//! processes joined by pipes, propagates close from the sources to the sinks, and contains
//! failures.
//!
//! The steps, one module each; the world is touched only at the edges ([`find`],
//! [`describe`], [`spawn`], [`supervise`]), and everything between them is pure:
//!
//! 1. [`spec`]: parse the description (`name = command`, chains `a | b | c`), with
//!    line:column errors.
//! 2. [`find`]: find each stage's program (edge).
//! 3. [`describe`]: ask each program `--describe` (edge).
//! 4. [`plan`]: order the stages, refuse cycles, check the event kinds on every link,
//!    insert `co-broadcast` for fan-out and `co-merge` for fan-in: the wired [`graph`].
//!    Pure, unit-tested over tables of specs.
//! 5. [`spawn`]: start every stage, joined by anonymous pipes, each in its own process group
//!    with a parent-death signal.
//! 6. [`supervise`]: wait for the stages; report and contain failures; the Ctrl-C ladder.
//! 7. [`stats`]: `--stats`, what each stage cost and each link carried.
//!
//! [`dot`] draws the wired graph for Graphviz.
//!
//! Adding a kind of stage placement (a remote host) is a variant of [`spec::Placement`] and
//! its arms in [`find`]; adding a kind of link is a variant of [`spec::Carrier`] and its arm
//! in [`spawn`].

pub mod child;
pub mod describe;
pub mod dot;
pub mod find;
pub mod graph;
pub mod plan;
pub mod spawn;
pub mod spec;
pub mod stats;
pub mod supervise;

use crate::error::{Error, Result};
use crate::remote::hosts::Hosts;
use find::Finder;
use graph::{Graph, GraphError};
use spec::Pipeline;

/// Parses and wires a spec: `spec_name` names it in messages (a path, or `-e`). The hosts
/// the spec places stages on are connected to first (one connection each, kept for the
/// run), so their programs can be described there.
pub fn load(text: &str, spec_name: &str, finder: &Finder, hosts: &mut Hosts) -> Result<Graph> {
    let pipeline = spec::parse(text).map_err(|error| Error::Spec {
        spec: spec_name.to_owned(),
        error: Box::new(error),
    })?;
    hosts.connect(&pipeline)?;
    build(&pipeline, finder, hosts).map_err(|error| Error::Graph {
        spec: spec_name.to_owned(),
        error: Box::new(error),
    })
}

/// The wired graph of a parsed spec: programs found first (so a missing one is reported
/// before anything else), then described, then the pure [`plan`]. Nothing is started
/// except the `--describe` queries.
pub fn build(pipeline: &Pipeline, finder: &Finder, hosts: &Hosts) -> Result<Graph, GraphError> {
    let programs = finder.locate_all(pipeline)?;
    let mut infos = describe::describe_programs(&programs);
    let mut helpers = finder.helpers();
    hosts.describe(pipeline, &programs, &mut infos, &mut helpers)?;
    plan::plan(pipeline, programs, infos, &helpers)
}
