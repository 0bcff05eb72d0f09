//! The seed's Part 7, Beyond the seed: subroutines that make system calls (the course's "trampolining"), as nested async fns.
//!
//! Run: `cargo run --example sched_trampoline`. The scenario itself is
//! `copipe::sched::demos::trampoline`; `tests/sched.rs` checks its output against the seed and
//! against `benches/sched/pyos.py scenario trampoline`.

fn main() -> std::process::ExitCode {
    copipe::sched::demos::example_main("trampoline", std::env::args().skip(1))
}
