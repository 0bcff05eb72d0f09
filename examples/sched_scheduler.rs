//! The seed's Part 7, "Scheduler": two never-ending tasks alternating; takes an optional STEPS (default 6, the seed's six lines).
//!
//! Run: `cargo run --example sched_scheduler [STEPS]`. The scenario itself is
//! `copipe::sched::demos::scheduler`; `tests/sched.rs` checks its output against the seed and
//! against `benches/sched/pyos.py scenario scheduler`.

fn main() -> std::process::ExitCode {
    copipe::sched::demos::example_main("scheduler", std::env::args().skip(1))
}
