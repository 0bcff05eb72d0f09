//! The seed's Part 7, "Waiting for Tasks" with `WaitTask`: main waits in `exit_waiting` for its child.
//!
//! Run: `cargo run --example sched_wait`. The scenario itself is
//! `copipe::sched::demos::wait`; `tests/sched.rs` checks its output against the seed and
//! against `benches/sched/pyos.py scenario wait`.

fn main() -> std::process::ExitCode {
    copipe::sched::demos::example_main("wait", std::env::args().skip(1))
}
