//! The seed's Part 7, "Defining Tasks": a Task run by hand with `run()` (the seed's first Part 7 example).
//!
//! Run: `cargo run --example sched_task`. The scenario itself is
//! `copipe::sched::demos::task`; `tests/sched.rs` checks its output against the seed and
//! against `benches/sched/pyos.py scenario task`.

fn main() -> std::process::ExitCode {
    copipe::sched::demos::example_main("task", std::env::args().skip(1))
}
