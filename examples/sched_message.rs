//! The seed's Part 7, Beyond the seed: ping-pong between tasks with Send(tid, msg) and `Recv()`.
//!
//! Run: `cargo run --example sched_message`. The scenario itself is
//! `copipe::sched::demos::message`; `tests/sched.rs` checks its output against the seed and
//! against `benches/sched/pyos.py scenario message`.

fn main() -> std::process::ExitCode {
    copipe::sched::demos::example_main("message", std::env::args().skip(1))
}
