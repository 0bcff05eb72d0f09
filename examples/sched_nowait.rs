//! The seed's Part 7, "Waiting for Tasks" without `WaitTask`: main ends before its children.
//!
//! Run: `cargo run --example sched_nowait`. The scenario itself is
//! `copipe::sched::demos::nowait`; `tests/sched.rs` checks its output against the seed and
//! against `benches/sched/pyos.py scenario nowait`.

fn main() -> std::process::ExitCode {
    copipe::sched::demos::example_main("nowait", std::env::args().skip(1))
}
