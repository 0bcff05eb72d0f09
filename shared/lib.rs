//! # copipe: coroutine pipelines as Unix processes
//!
//! David Beazley's course "A Curious Course on Coroutines and Concurrency" builds data
//! pipelines out of Python coroutines: a *source* drives the pipeline, *filters* receive an
//! item with `send()` and pass results to their target, *sinks* end it, and `close()`
//! (Python's `GeneratorExit`) lets every stage clean up. The course then shows that the same
//! stage code can run inline, in a thread, or in another process, and ends by building a small
//! cooperative operating system out of coroutines.
//!
//! copipe rebuilds those ideas in Rust:
//!
//! | seed (Python)                    | copipe                                              |
//! |----------------------------------|-----------------------------------------------------|
//! | coroutine, `send(x)`, `close()`  | [`Sink::send`], [`Sink::close`]                     |
//! | `grep(pattern, target)`          | [`stages::grep::Grep`], binary `co-grep`            |
//! | `printer()`                      | [`stages::printer::Printer`], binary `co-printer`   |
//! | `broadcast(targets)`             | [`sink::Broadcast`], binary `co-broadcast`         |
//! | `threaded(target)`               | [`sink::Threaded`]                                 |
//! | `sendto(f)` / `recvfrom(f, t)`   | [`link::SendTo`] / [`link::recv_from`]              |
//! | `Task`, `Scheduler`, syscalls    | [`sched`]                                           |
//!
//! Each pipeline stage is also its own binary (`co-lines`, `co-grep`, `co-xml`, ...). Stages
//! exchange typed events ([`event`]) over a framed, bincode-encoded link ([`link`]) on
//! stdin/stdout or named pipes, so they compose with ordinary Unix pipes:
//!
//! ```text
//! co-lines access-log | co-grep python | co-printer
//! ```
//!
//! The same stages wired inline in one process:
//!
//! ```
//! use copipe::sink::Sink;
//! use copipe::stages::grep::Grep;
//!
//! let mut found = Vec::new();
//! {
//!     let mut pipeline = Grep::new("python", copipe::sink::collect(&mut found));
//!     for line in ["Yeah, but no", "A series of tubes", "python generators rock!"] {
//!         pipeline.send(line).unwrap();
//!     }
//!     pipeline.close().unwrap();
//! }
//! assert_eq!(found, ["python generators rock!"]);
//! ```
//!
//! ## Layout
//!
//! | module | the one idea it holds |
//! |---|---|
//! | [`sink`] | the coroutine: [`Sink`] (`send`, `close`, `throw`) and its adapters (`Broadcast`, `Threaded`, `Shared`) |
//! | [`event`] | what flows: lines, [`XmlEvent`], [`Record`] |
//! | [`protocol`] | every contract between processes, defined once: event kinds, `--describe`, the stats file |
//! | [`link`] | the framed wire format: header, frames with checksums, end marker; `SendTo`/`recv_from`; taps |
//! | [`run`] | the driver every stage binary calls: arguments, signals, one-line errors, exit status |
//! | [`args`] | the clap argument groups the binaries share |
//! | [`stats`] | a stage's side of `--stats` and of the live counters |
//! | [`signals`] | SIGINT/SIGTERM manners and the `Shutdown` value |
//! | [`error`] | one error type, one mapping to exit statuses |
//! | [`stages`] | each stage's logic, one module per binary |
//! | [`launch`] | `copipe run`/`graph`: parse, find, describe, plan (pure), spawn, supervise |
//! | [`remote`] | stages on other hosts: the ssh agent, its multiplexed wire, quoting |
//! | [`observe`] | a running graph seen from outside: `ps`, `top`, `tap`, `--progress` |
//! | [`sched`] | the seed's coroutine operating system (Part 7) |

pub mod args;
pub mod error;
pub mod event;
pub mod launch;
pub mod link;
pub mod nats;
pub mod observe;
pub mod protocol;
pub mod remote;
pub mod run;
pub mod sched;
pub mod signals;
pub mod sink;
pub mod stages;
pub mod stats;

pub use error::{Error, Result};
pub use event::{EventKind, Record, XmlEvent};
pub use sink::Sink;
