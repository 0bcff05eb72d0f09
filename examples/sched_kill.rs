//! The seed's Part 7, "Task Management": `NewTask` and `KillTask`.
//!
//! Run: `cargo run --example sched_kill`. The scenario itself is
//! `copipe::sched::demos::kill`; `tests/sched.rs` checks its output against the seed and
//! against `benches/sched/pyos.py scenario kill`.

fn main() -> std::process::ExitCode {
    copipe::sched::demos::example_main("kill", std::env::args().skip(1))
}
