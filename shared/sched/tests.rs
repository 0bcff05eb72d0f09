//! Kernel behaviour beyond the seed's scenarios (those are checked in `tests/sched.rs`).

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use super::*;

fn sched() -> (Scheduler, Capture) {
    let out = Capture::new();
    (Scheduler::with_output(out.clone()), out)
}

/// Sets a flag when dropped: shows a killed task's cleanup ran.
struct Guard(Rc<Cell<bool>>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn tids_count_from_one_and_new_tasks_run_before_their_parent() {
    let (mut s, out) = sched();
    let parent = s.spawn(|sys: Sys| async move {
        let child = sys
            .new_task(|sys: Sys| async move { sys.println("child runs") })
            .await;
        sys.println(format_args!("parent got {child}"));
    });
    assert_eq!(parent, Tid(1));
    assert_eq!(s.mainloop().unwrap(), Halt::AllExited);
    assert_eq!(
        out.lines(),
        [
            "child runs",
            "Task 2 terminated",
            "parent got 2",
            "Task 1 terminated"
        ]
    );
}

#[test]
fn messages_are_delivered_in_order_and_wake_a_blocked_receiver() {
    let (mut s, out) = sched();
    let receiver = s.spawn(|sys: Sys| async move {
        for _ in 0..3 {
            let m = sys.recv().await;
            sys.println(format_args!("got {m}"));
        }
    });
    s.spawn(move |sys: Sys| async move {
        // The receiver is already blocked in Recv when the first message arrives.
        assert!(sys.send(receiver, "a".into()).await);
        // These two queue in its mailbox.
        assert!(sys.send(receiver, "b".into()).await);
        assert!(sys.send(receiver, "c".into()).await);
        assert!(!sys.send(Tid(99), "nobody".into()).await);
    });
    assert_eq!(s.mainloop().unwrap(), Halt::AllExited);
    assert_eq!(
        out.lines(),
        [
            "got a",
            "got b",
            "got c",
            "Task 1 terminated",
            "Task 2 terminated"
        ]
    );
}

#[test]
fn killing_a_blocked_task_runs_its_cleanup_and_reaps_it() {
    // One victim per waiting area: Recv, WaitTask, Sleep, ReadWait.
    let (mut s, out) = sched();
    let flags: Vec<Rc<Cell<bool>>> = (0..4).map(|_| Rc::new(Cell::new(false))).collect();
    let (sock, _peer) = UnixStream::pair().unwrap();
    let f = flags.clone();
    s.spawn(move |sys: Sys| async move {
        let g0 = Guard(f[0].clone());
        let a = sys
            .new_task(move |sys: Sys| async move {
                let _g = g0;
                sys.recv().await;
            })
            .await;
        let g1 = Guard(f[1].clone());
        let b = sys
            .new_task(move |sys: Sys| async move {
                let _g = g1;
                sys.wait_task(a).await;
                sys.println("unreachable: b woke");
            })
            .await;
        let g2 = Guard(f[2].clone());
        let c = sys
            .new_task(move |sys: Sys| async move {
                let _g = g2;
                sys.sleep(Duration::from_hours(1)).await;
            })
            .await;
        let g3 = Guard(f[3].clone());
        let d = sys
            .new_task(move |sys: Sys| async move {
                let _g = g3;
                sys.read_wait(&sock).await;
            })
            .await;
        sys.yield_now().await; // let them all block
        for t in [b, a, c, d] {
            assert!(sys.kill_task(t).await);
        }
        sys.println(format_args!("cleanups ran: {}", f.iter().all(|g| g.get())));
        for t in [a, b, c, d] {
            // Killed tasks are reaped (already, since each was scheduled before us).
            assert!(!sys.wait_task(t).await);
        }
    });
    assert_eq!(s.mainloop().unwrap(), Halt::AllExited);
    assert!(flags.iter().all(|f| f.get()));
    assert_eq!(
        out.lines(),
        [
            "Task 3 terminated",
            "Task 2 terminated",
            "Task 4 terminated",
            "Task 5 terminated",
            "cleanups ran: true",
            "Task 1 terminated"
        ]
    );
}

#[test]
fn wait_for_a_missing_task_or_oneself_returns_false_at_once() {
    let (mut s, out) = sched();
    s.spawn(|sys: Sys| async move {
        let me = sys.get_tid().await;
        let missing = sys.wait_task(Tid(42)).await;
        let own = sys.wait_task(me).await;
        sys.println(format_args!("{missing} {own}"));
    });
    s.mainloop().unwrap();
    assert_eq!(out.lines(), ["false false", "Task 1 terminated"]);
}

#[test]
fn a_task_can_kill_itself() {
    let (mut s, out) = sched();
    s.spawn(|sys: Sys| async move {
        let me = sys.get_tid().await;
        sys.kill_task(me).await;
        sys.println("unreachable: still running after killing itself");
    });
    s.mainloop().unwrap();
    assert_eq!(out.lines(), ["Task 1 terminated"]);
}

#[test]
fn a_deadlock_is_reported_instead_of_hanging() {
    let (mut s, _out) = sched();
    let a = s.spawn(|sys: Sys| async move {
        sys.recv().await;
    });
    let b = s.spawn(move |sys: Sys| async move {
        sys.wait_task(a).await;
    });
    assert_eq!(s.mainloop().unwrap(), Halt::Deadlock(vec![a, b]));
    assert_eq!(s.task_count(), 2);
}

#[test]
fn sleepers_wake_in_deadline_order() {
    let (mut s, out) = sched();
    // Spawned slowest first, so FIFO order would be wrong; the gaps between the deadlines
    // (150 ms) dwarf any delay between the three Sleep calls, so the order is certain.
    for (name, ms) in [("slow", 300u64), ("mid", 150), ("fast", 1)] {
        s.spawn(move |sys: Sys| async move {
            sys.sleep(Duration::from_millis(ms)).await;
            sys.println(name);
        });
    }
    assert_eq!(s.mainloop().unwrap(), Halt::AllExited);
    let lines = out.lines();
    let names: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| !l.starts_with("Task"))
        .collect();
    assert_eq!(names, ["fast", "mid", "slow"]);
}

#[test]
fn read_wait_wakes_when_data_arrives_from_another_task() {
    let (mut s, out) = sched();
    let (mut r, mut w) = UnixStream::pair().unwrap();
    r.set_nonblocking(true).unwrap();
    s.spawn(move |sys: Sys| async move {
        let mut buf = [0u8; 16];
        loop {
            sys.read_wait(&r).await;
            match r.read(&mut buf) {
                Ok(n) => {
                    sys.println(format_args!("read {:?}", std::str::from_utf8(&buf[..n])));
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    sys.println(format_args!("error {e}"));
                    break;
                }
            }
        }
    });
    s.spawn(move |sys: Sys| async move {
        for _ in 0..3 {
            sys.yield_now().await;
        }
        sys.println("writing");
        w.write_all(b"hi").unwrap();
    });
    assert_eq!(s.mainloop().unwrap(), Halt::AllExited);
    assert_eq!(
        out.lines(),
        [
            "writing",
            "Task 2 terminated",
            "read Ok(\"hi\")",
            "Task 1 terminated"
        ]
    );
}

#[test]
fn step_limit_and_run_until_a_task_exits() {
    let (mut s, out) = sched();
    let forever = s.spawn(|sys: Sys| async move {
        loop {
            sys.yield_now().await;
        }
    });
    let short = s.spawn(|sys: Sys| async move {
        sys.yield_now().await;
    });
    assert_eq!(s.run(Until::Steps(3)).unwrap(), Halt::StepLimit);
    assert!(s.contains(short));
    assert_eq!(s.run(Until::Exited(short)).unwrap(), Halt::Exited(short));
    assert!(s.contains(forever));
    assert_eq!(out.lines(), ["Task 2 terminated"]);
    // Dropping the scheduler closes the task that never ends.
}

#[test]
fn a_subroutine_three_calls_deep_traps_into_the_kernel() {
    async fn depth3(sys: &Sys) -> Tid {
        sys.yield_now().await;
        sys.get_tid().await
    }
    async fn depth2(sys: &Sys) -> Tid {
        depth3(sys).await
    }
    async fn depth1(sys: &Sys) -> u64 {
        depth2(sys).await.0 * 10
    }
    let (mut s, out) = sched();
    for _ in 0..2 {
        s.spawn(|sys: Sys| async move {
            let v = depth1(&sys).await;
            sys.println(v);
        });
    }
    s.mainloop().unwrap();
    assert_eq!(
        out.lines(),
        // Each task prints and returns in the run that receives its GetTid reply.
        ["10", "Task 1 terminated", "20", "Task 2 terminated"]
    );
}

#[test]
fn two_calls_polled_in_one_run_each_get_their_own_reply() {
    // A hand-written join: both calls trap in the same run; the kernel takes one request per
    // run, and tickets keep the replies apart.
    let (mut s, out) = sched();
    s.spawn(|sys: Sys| async move {
        let other = sys.new_task(|_sys: Sys| async {}).await;
        let mut a = Box::pin(sys.get_tid());
        let mut b = Box::pin(sys.kill_task(other));
        let (mut ra, mut rb) = (None, None);
        poll_fn(|cx| {
            if ra.is_none() {
                if let Poll::Ready(v) = a.as_mut().poll(cx) {
                    ra = Some(v);
                }
            }
            if rb.is_none() {
                if let Poll::Ready(v) = b.as_mut().poll(cx) {
                    rb = Some(v);
                }
            }
            if ra.is_some() && rb.is_some() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        sys.println(format_args!("{ra:?} {rb:?}"));
    });
    s.mainloop().unwrap();
    assert_eq!(
        out.lines(),
        [
            "Task 2 terminated",
            "Some(Tid(1)) Some(false)",
            "Task 1 terminated"
        ]
    );
}

#[test]
fn a_console_write_error_stops_the_scheduler() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let runs = Rc::new(Cell::new(0u32));
    let r = runs.clone();
    let mut s: Scheduler = Scheduler::with_output(Broken);
    s.spawn(move |sys: Sys| async move {
        loop {
            r.set(r.get() + 1);
            sys.println("I'm foo");
            sys.yield_now().await;
        }
    });
    let err = s.mainloop().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    assert_eq!(runs.get(), 1);
}

#[test]
fn typed_messages() {
    #[derive(Debug, PartialEq)]
    enum Msg {
        Add(i32),
        Total(Tid),
    }
    let total = Rc::new(RefCell::new(Vec::new()));
    let t = total.clone();
    let mut s: Scheduler<Msg> = Scheduler::with_output(io::sink());
    let acc = s.spawn(move |sys: Sys<Msg>| async move {
        let mut sum = 0;
        loop {
            match sys.recv().await {
                Msg::Add(n) => sum += n,
                Msg::Total(_) => {
                    t.borrow_mut().push(sum);
                    break;
                }
            }
        }
    });
    s.spawn(move |sys: Sys<Msg>| async move {
        for n in 1..=4 {
            sys.send(acc, Msg::Add(n)).await;
        }
        let me = sys.get_tid().await;
        sys.send(acc, Msg::Total(me)).await;
    });
    s.mainloop().unwrap();
    assert_eq!(*total.borrow(), [10]);
}

#[test]
fn a_pending_foreign_future_is_treated_as_a_bare_yield() {
    // A future pending on something that is not a system call is rescheduled, not lost.
    let (mut s, out) = sched();
    s.spawn(|sys: Sys| async move {
        let mut polls = 0;
        poll_fn(|_| {
            polls += 1;
            if polls < 3 {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        sys.println(format_args!("polled {polls} times"));
    });
    s.mainloop().unwrap();
    assert_eq!(out.lines(), ["polled 3 times", "Task 1 terminated"]);
}
