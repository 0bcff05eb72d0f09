//! Beyond the seed's listings, where it ends ("tasks communicate only by task id, through
//! the scheduler"): ping-pong with `Send(tid, msg)` and `Recv()`.
//!
//! ```python
//! def pong(peer):
//!     while True:
//!         msg = yield Recv()
//!         if msg == "stop":
//!             print "pong stops"
//!             break
//!         print "pong got", msg
//!         yield Send(peer, msg.replace("ping", "pong"))
//!
//! def main():
//!     me = yield GetTid()
//!     child = yield NewTask(pong(me))
//!     for i in xrange(3):
//!         yield Send(child, "ping %d" % i)
//!         reply = yield Recv()
//!         print "main got", reply
//!     yield Send(child, "stop")
//!     yield WaitTask(child)
//!     sent = yield Send(child, "anyone?")
//!     print "send to exited task:", sent
//!     print "main done"
//! ```
//!
//! (`benches/sched/pyos.py scenario message` runs this Python.)
//!
//! Run: `cargo run --example sched_message`

use std::process::ExitCode;

use clap::Parser;
use copipe::sched::{Scheduler, Sys, Tid};
use copipe::Error;

async fn pong(sys: Sys, peer: Tid) {
    loop {
        let msg = sys.recv().await;
        if msg == "stop" {
            sys.println("pong stops");
            break;
        }
        sys.println(format_args!("pong got {msg}"));
        sys.send(peer, msg.replace("ping", "pong")).await;
    }
}

async fn main_task(sys: Sys) {
    let me = sys.get_tid().await;
    let child = sys.new_task(move |sys| pong(sys, me)).await;
    for i in 0..3 {
        sys.send(child, format!("ping {i}")).await;
        let reply = sys.recv().await;
        sys.println(format_args!("main got {reply}"));
    }
    sys.send(child, "stop".to_owned()).await;
    sys.wait_task(child).await;
    let sent = sys.send(child, "anyone?".to_owned()).await;
    sys.println(format_args!("send to exited task: {sent}"));
    sys.println("main done");
}

/// Tasks exchange messages by task id, through the kernel.
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    let mut sched = Scheduler::new();
    sched.spawn(main_task);
    let outcome = sched.mainloop().map(drop).map_err(Error::writing_output);
    copipe::run::finish("sched_message", outcome)
}
