//! The seed's Part 7, "Task Exit": tasks that finish are reported `Task N terminated`.
//!
//! Run: `cargo run --example sched_exit`. The scenario itself is
//! `copipe::sched::demos::exit`; `tests/sched.rs` checks its output against the seed and
//! against `benches/sched/pyos.py scenario exit`.

fn main() -> std::process::ExitCode {
    copipe::sched::demos::example_main("exit", std::env::args().skip(1))
}
