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

pub mod args;
pub mod error;
pub mod event;
pub mod launch;
pub mod link;
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
