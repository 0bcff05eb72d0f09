//! The seed's Part 7, "System Calls": `mytid = yield GetTid()`.
//!
//! Run: `cargo run --example sched_gettid`. The scenario itself is
//! `copipe::sched::demos::gettid`; `tests/sched.rs` checks its output against the seed and
//! against `benches/sched/pyos.py scenario gettid`.

fn main() -> std::process::ExitCode {
    copipe::sched::demos::example_main("gettid", std::env::args().skip(1))
}
